package integration

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"escalate/store"
	"escalate/workflows"
)

func (s *system) caseCount(t *testing.T) int {
	t.Helper()
	cases, _, err := s.store.ListCases(context.Background(), store.Viewer{Role: "admin"}, store.ListFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(cases)
}

func (s *system) eventCount(t *testing.T, ref string) int {
	t.Helper()
	evs, err := s.store.Events(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// Every route refuses every caller the contract does not allow, with the
// contract's status, and writes nothing when it refuses.
func TestAuthorizationMatrix(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	contact := s.token("Mo Manager", "mo@nct.example", "nct", "manager")
	readingManager := s.token("Rita Reader", "rita@nhft.example", "nhft", "manager")
	otherManager := s.token("Otto Other", "otto@police.example", "northants-police", "manager")
	stranger := s.token("Stan Ger", "stan@police.example", "northants-police", "practitioner")
	partnership := s.token("Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")
	otherPartnership := s.token("Dee Von", "dee@devon.example", "devon", "partnership")
	// A token revoked through the API, and one that expires.
	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	s.call("POST", "/v1/admin/tokens", adminToken, map[string]string{"name": "Tmp", "email": "tmp@x.example", "agency": "x", "role": "admin"}, &tok)
	if code := s.call("DELETE", "/v1/admin/tokens/"+tok.ID, adminToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	revoked := tok.Token
	var exp struct {
		Token string `json:"token"`
	}
	if code := s.call("POST", "/v1/admin/tokens", adminToken, map[string]string{"name": "Exp", "email": "exp@x.example", "agency": "x",
		"role": "admin", "expires_at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)}, &exp); code != 201 {
		t.Fatalf("expiring token: %d", code)
	}
	expired := exp.Token

	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "AUTH/1",
		"category": "communication", "summary": "Matrix", "respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	ref := c.Ref
	if code := s.call("POST", "/v1/cases/"+ref+"/contacts", respondent, map[string]string{"side": "respondent", "name": "Mo Manager", "email": "mo@nct.example", "role": "Team manager"}, nil); code != 200 {
		t.Fatalf("contact: %d", code)
	}
	time.Sleep(2 * time.Second) // let the expiring token expire

	p := "/v1/cases/" + ref
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", p, nil},
		{"POST", p + "/notes", map[string]string{"text": "n"}},
		{"POST", p + "/contacts", map[string]string{"side": "raiser", "name": "X", "email": "x@nhft.example", "role": "r"}},
		{"POST", p + "/escalations", map[string]string{"reason": "r", "evidence": "e"}},
		{"POST", p + "/deadline", map[string]string{"due_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "reason": "r"}},
		{"POST", p + "/agreement", map[string]string{"outcome": "o"}},
		{"POST", p + "/agreement/confirm", map[string]string{}},
		{"POST", p + "/agreement/reject", map[string]string{"reason": "r"}},
		{"POST", p + "/withdrawal", map[string]string{"reason": "r"}},
		{"POST", p + "/outcome", map[string]any{"resolved": true, "outcome": "o"}},
		{"POST", p + "/review", map[string]any{"followed": true, "next_steps": "n"}},
		{"POST", p + "/meetings", map[string]string{"at": "2026-12-01T10:00:00Z"}},
	}
	callers := []struct {
		name, token string
		// status for GET, for the party actions, for outcome/review (partnership only)
		read, act, partnershipOnly int
	}{
		{"no token", "", 401, 401, 401},
		{"bad token", "esc_not-a-token", 401, 401, 401},
		{"revoked token", revoked, 401, 401, 401},
		{"expired token", expired, 401, 401, 401},
		{"stranger", stranger, 404, 404, 404},
		{"other agency's manager", otherManager, 404, 404, 404},
		{"manager of the raiser's agency (reads only)", readingManager, 200, 403, 403},
		{"partnership of another policy", otherPartnership, 404, 404, 404},
	}
	before := s.eventCount(t, ref)
	for _, cl := range callers {
		for _, r := range routes {
			want := cl.act
			switch {
			case r.method == "GET":
				want = cl.read
			case r.path == p+"/outcome" || r.path == p+"/review":
				want = cl.partnershipOnly
			}
			var eb errorBody
			var out any = &eb
			if want == 200 {
				out = nil
			}
			if got := s.call(r.method, r.path, cl.token, r.body, out); got != want {
				t.Errorf("%s %s by %s: %d, want %d", r.method, r.path, cl.name, got, want)
			}
			if want != 200 && eb.Error.Code == "" {
				t.Errorf("%s %s by %s: no error body", r.method, r.path, cl.name)
			}
		}
		// Starting a case and the admin routes.
		wantCreate, wantAdmin := 400, 403
		if cl.act == 401 {
			wantCreate, wantAdmin = 401, 401
		}
		if got := s.call("POST", "/v1/cases", cl.token, map[string]string{}, nil); got != wantCreate {
			t.Errorf("POST /v1/cases by %s: %d, want %d", cl.name, got, wantCreate)
		}
		if got := s.call("POST", "/v1/admin/tokens", cl.token, map[string]string{"name": "A", "email": "a@b.example", "agency": "x", "role": "admin"}, nil); got != wantAdmin {
			t.Errorf("POST /v1/admin/tokens by %s: %d, want %d", cl.name, got, wantAdmin)
		}
		if got := s.call("DELETE", "/v1/admin/tokens/"+tok.ID, cl.token, nil, nil); got != wantAdmin {
			t.Errorf("DELETE /v1/admin/tokens by %s: %d, want %d", cl.name, got, wantAdmin)
		}
	}
	if after := s.eventCount(t, ref); after != before {
		t.Fatalf("refused requests wrote %d events", after-before)
	}
	if n := s.caseCount(t); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}

	// Those who may act: a note from each works; outcome and review are the
	// partnership's alone (409 here: the case is not at a partnership stage).
	for _, who := range []struct{ name, token string }{{"raiser", raiser}, {"respondent", respondent}, {"contact", contact}, {"partnership", partnership}, {"admin", adminToken}} {
		if got := s.call("POST", p+"/notes", who.token, map[string]string{"text": "by " + who.name}, nil); got != 200 {
			t.Errorf("note by %s: %d", who.name, got)
		}
	}
	for _, who := range []struct{ name, token string }{{"raiser", raiser}, {"admin", adminToken}} {
		if got := s.call("POST", p+"/outcome", who.token, map[string]any{"resolved": true, "outcome": "o"}, nil); got != 403 {
			t.Errorf("outcome by %s: %d, want 403", who.name, got)
		}
	}
	if got := s.call("POST", p+"/outcome", partnership, map[string]any{"resolved": true, "outcome": "o"}, nil); got != 409 {
		t.Errorf("outcome by the partnership at stage 1: %d, want 409", got)
	}
	// Lists show only what the caller may read.
	for _, cl := range []struct {
		name, token string
		n           int
	}{{"raiser", raiser, 1}, {"contact", contact, 1}, {"reading manager", readingManager, 1}, {"stranger", stranger, 0},
		{"other manager", otherManager, 0}, {"partnership", partnership, 1}, {"other partnership", otherPartnership, 0}} {
		var list struct {
			Cases []workflows.Case `json:"cases"`
		}
		if got := s.call("GET", "/v1/cases", cl.token, nil, &list); got != 200 || len(list.Cases) != cl.n {
			t.Errorf("list by %s: %d with %d cases, want %d", cl.name, got, len(list.Cases), cl.n)
		}
	}
}

// Fifty simultaneous requests with one Idempotency-Key make one case; the
// key with another body is a 409.
func TestConcurrentDuplicateCreates(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire", "child_ref": "DUP/1", "category": "communication", "summary": "Once",
		"respondent": map[string]string{"name": "Sam", "email": "sam@nct.example", "agency": "nct"}}
	var wg sync.WaitGroup
	refs := make([]string, 50)
	codes := make([]int, 50)
	for i := range refs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var c workflows.Case
			codes[i] = s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "dup-key-1", body, &c)
			refs[i] = c.Ref
		}(i)
	}
	wg.Wait()
	for i := range refs {
		if codes[i] != 201 || refs[i] != refs[0] {
			t.Fatalf("request %d: %d %q, want 201 %q", i, codes[i], refs[i], refs[0])
		}
	}
	if n := s.caseCount(t); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}
	evs, _ := s.store.Events(context.Background(), refs[0])
	opened := 0
	for _, e := range evs {
		if e.Type == workflows.EventOpened {
			opened++
		}
	}
	if opened != 1 {
		t.Fatalf("%d case_opened events", opened)
	}
	body["summary"] = "Different"
	var eb errorBody
	if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "dup-key-1", body, &eb); code != 409 || eb.Error.Code != "conflict" {
		t.Fatalf("same key, other body: %d %+v", code, eb)
	}
}

// With PostgreSQL or Temporal down the API answers 503 and does nothing by
// halves; a case whose deadline passes while PostgreSQL is down records it
// once PostgreSQL is back, with no event lost or doubled.
func TestDependenciesDown(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "DOWN/1", "category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam", "email": "sam@nct.example", "agency": "nct"}}
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}

	// PostgreSQL down for longer than a stage: the API says 503 and starts
	// nothing; the running case keeps its timers and records when it can.
	s.pg.Down()
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	if code := s.call("GET", "/readyz", "", nil, &ready); code != 503 || ready.Checks["postgres"] != "unavailable" || ready.Checks["temporal"] != "ok" {
		t.Errorf("readyz with PostgreSQL down: %d %v", code, ready.Checks)
	}
	var eb errorBody
	if code := s.call("POST", "/v1/cases", adminToken, body, &eb); code != 503 || eb.Error.Code != "unavailable" {
		t.Errorf("create with PostgreSQL down: %d %+v", code, eb)
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", adminToken, map[string]string{"text": "x"}, &eb); code != 503 {
		t.Errorf("note with PostgreSQL down: %d", code)
	}
	time.Sleep(5 * time.Second)
	s.pg.Up()
	if n := s.workflowCount(t); n != 1 {
		t.Errorf("%d workflows, want 1: nothing may start while PostgreSQL is down", n)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		evs, err := s.store.Events(context.Background(), c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range evs {
			if e.Seq != i+1 {
				t.Fatalf("event %d has seq %d: a gap or a double", i+1, e.Seq)
			}
		}
		var st int
		for _, e := range evs {
			if e.Type == workflows.EventStageEntered {
				st = e.Stage
			}
		}
		if st >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the case did not record its climb after PostgreSQL came back: %d events", len(evs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := s.call("GET", "/readyz", "", nil, nil); code != 200 {
		t.Errorf("readyz after PostgreSQL came back: %d", code)
	}

	// Temporal down: 503 and no case row without its workflow.
	before := s.caseCount(t)
	s.dev.Stop()
	if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "while-down", body, &eb); code != 503 || eb.Error.Code != "unavailable" {
		t.Errorf("create with Temporal down: %d %+v", code, eb)
	}
	if code := s.call("GET", "/readyz", "", nil, &ready); code != 503 || ready.Checks["temporal"] != "unavailable" {
		t.Errorf("readyz with Temporal down: %d %v", code, ready.Checks)
	}
	if after := s.caseCount(t); after != before {
		t.Errorf("a case row was written without its workflow: %d -> %d", before, after)
	}
}

func (s *system) workflowCount(t *testing.T) int {
	t.Helper()
	resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.GetExecutions())
}
