package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/workflows"
)

// A PostgreSQL that accepts connections but answers nothing costs a request
// seconds, not minutes: reads and writes answer the contract's 503 with
// Retry-After well within 15 seconds. Once it answers again everything
// works, and nothing was half-written: no case was started, no key bound,
// and the running case's record holds every event once, sealed and whole.
func TestDatabaseStopsAnswering(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "HANG/1", "category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam", "email": "sam@nct.example", "agency": "nct"}}
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	cases := s.workflowCount(t)

	// The case's 2-second stages pass while PostgreSQL hangs: the worker's
	// writes time out too, and are retried.
	s.pg.Hang()
	hungAt := time.Now()
	body["child_ref"] = "HANG/2"
	requests := []struct {
		method, path string
		key          string
		body         any
	}{
		{"GET", "/v1/cases/" + c.Ref, "", nil},
		{"POST", "/v1/cases/" + c.Ref + "/notes", "", map[string]string{"text": "Written while PostgreSQL hung"}},
		{"POST", "/v1/cases", "while-hung", body},
	}
	var wg sync.WaitGroup
	for _, r := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			code, hdr, eb := s.rawCall(r.method, r.path, raiser, r.key, r.body)
			took := time.Since(start)
			// None of them got as far as changing anything: each says so.
			if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || eb.Error.Code != "unavailable" ||
				!strings.Contains(eb.Error.Message, "nothing was changed") {
				t.Errorf("%s %s with PostgreSQL hung: %d Retry-After %q %+v, want 503 unavailable with Retry-After",
					r.method, r.path, code, hdr.Get("Retry-After"), eb)
			}
			if took > 15*time.Second {
				t.Errorf("%s %s with PostgreSQL hung took %v, want under 15s", r.method, r.path, took)
			}
			t.Logf("%s %s with PostgreSQL hung: %d in %v: %s", r.method, r.path, code, took.Round(100*time.Millisecond), eb.Error.Message)
		}()
	}
	wg.Wait()
	if hung := time.Since(hungAt); hung < 8*time.Second {
		time.Sleep(8*time.Second - hung)
	}
	s.pg.Up()

	// Everything works again, soon.
	var after workflows.Case
	for end := time.Now().Add(30 * time.Second); s.call("GET", "/v1/cases/"+c.Ref, raiser, nil, &after) != 200; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the API did not answer again after PostgreSQL did")
		}
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "After the hang"}, &after); code != 200 {
		t.Fatalf("note after the hang: %d", code)
	}

	// Nothing half-written: no case started, no key bound, no note from
	// the hung request; the running case recorded its climb once PostgreSQL
	// answered, each event once, the record whole and sealed.
	if n := s.workflowCount(t); n != cases {
		t.Errorf("%d workflows, want %d: a case started while PostgreSQL hung", n, cases)
	}
	db, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var bound int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE key = 'while-hung' AND ref <> ''`).Scan(&bound); err != nil {
		t.Fatal(err)
	}
	if bound != 0 {
		t.Errorf("the Idempotency-Key of a request refused while PostgreSQL hung is bound to a case")
	}
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		evs, err := s.store.Events(context.Background(), c.Ref)
		if err != nil {
			t.Fatal(err)
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
		if time.Now().After(end) {
			t.Fatalf("the case did not record its climb after PostgreSQL answered again")
		}
	}
	entries, v, err := s.store.Record(context.Background(), c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || !v.Keyed {
		t.Errorf("record after the hang: %+v", v)
	}
	seen := map[string]int{}
	for i, e := range entries {
		if e.Seq != i+1 {
			t.Fatalf("event %d has seq %d: a gap or a double", i+1, e.Seq)
		}
		seen[e.Type+" "+e.Text]++
		if strings.Contains(e.Text, "while PostgreSQL hung") {
			t.Errorf("event %d: the note refused while PostgreSQL hung was recorded", e.Seq)
		}
	}
	if seen[workflows.EventNote+" After the hang"] != 1 {
		t.Errorf("the note made after the hang is recorded %d times", seen[workflows.EventNote+" After the hang"])
	}
}

// rawCall is call with the response's status, headers and error body, and
// an optional Idempotency-Key.
func (s *system) rawCall(method, path, token, key string, body any) (int, http.Header, errorBody) {
	var eb errorBody
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Errorf("encode: %v", err)
			return -1, nil, eb
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return -1, nil, eb
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return -1, nil, eb
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &eb)
	return resp.StatusCode, resp.Header, eb
}
