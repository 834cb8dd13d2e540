package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"escalate/api"
	"escalate/policies"
	"escalate/workflows"
)

// More changes than the API sends Temporal at once: the one that waited
// its whole turn is answered the contract's 503 (unavailable, Retry-After,
// nothing was changed) and truly changed nothing — no case, no reference
// key bound, no note — and once there is room the same requests succeed.
func TestBusyRefusesWithNothingChanged(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "BUSY/1", "category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam", "email": "sam@nct.example", "agency": "nct"}}
	var open workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body, &open); code != http.StatusCreated {
		t.Fatalf("open: %d", code)
	}

	pols, err := policies.Load("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	gated := api.New(api.Config{Store: s.store, Temporal: s.temporal, Policies: pols, AdminToken: adminToken, Log: quietSlog(),
		MaxInFlight: 1, AdmitWait: 300 * time.Millisecond})
	srv := httptest.NewServer(gated.Handler())
	t.Cleanup(srv.Close)
	g := &system{t: t, url: srv.URL}
	release, err := gated.Cases().Admit(context.Background()) // the one change in flight
	if err != nil {
		t.Fatal(err)
	}

	cases, events := s.caseCount(t), s.eventCount(t, open.Ref)
	body["child_ref"] = "BUSY/2"
	for _, r := range []struct{ path, key string }{{"/v1/cases", "busy-start"}, {"/v1/cases/" + open.Ref + "/notes", "busy-note"}} {
		var b any = body
		if strings.HasSuffix(r.path, "/notes") {
			b = map[string]string{"text": "sent while busy"}
		}
		code, hdr, eb := g.rawCall("POST", r.path, raiser, r.key, b)
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || eb.Error.Code != "unavailable" ||
			!strings.Contains(eb.Error.Message, "nothing was changed") || !strings.Contains(eb.Error.Message, "busy") {
			t.Errorf("POST %s while busy: %d Retry-After %q %+v", r.path, code, hdr.Get("Retry-After"), eb)
		}
	}
	if n := s.caseCount(t); n != cases {
		t.Errorf("cases %d before, %d after a refused start", cases, n)
	}
	if n := s.eventCount(t, open.Ref); n != events {
		t.Errorf("events %d before, %d after a refused note", events, n)
	}
	var bound int
	if err := s.adminConn(t).QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE key = 'busy-start'`).Scan(&bound); err != nil {
		t.Fatal(err)
	}
	if bound != 0 {
		t.Error("the refused start bound its Idempotency-Key")
	}
	if st := gated.Cases().Gate(); st.Refused != 2 || st.InFlight != 1 || st.Waiting != 0 {
		t.Errorf("gate after two refusals: %+v", st)
	}

	// Room again: the same requests go through.
	release()
	var started workflows.Case
	if code := g.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "busy-start", body, &started); code != http.StatusCreated {
		t.Errorf("start once there is room: %d", code)
	}
	if code := g.callWithHeader("POST", "/v1/cases/"+open.Ref+"/notes", raiser, "Idempotency-Key", "busy-note",
		map[string]string{"text": "sent while busy"}, nil); code != http.StatusOK {
		t.Errorf("note once there is room: %d", code)
	}
	if st := gated.Cases().Gate(); st.InFlight != 0 {
		t.Errorf("changes answered still hold room: %+v", st)
	}
}
