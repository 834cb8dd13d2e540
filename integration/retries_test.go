package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"escalate/workflows"
)

// keyed sends an action with an Idempotency-Key and returns the status,
// whether the answer was a replay, and the body.
func (s *system) keyed(t *testing.T, path, token, key string, body any) (int, bool, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", path, err)
		return -1, false, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", raw
}

// Every action accepts Idempotency-Key (contract v1.1, "Retries"; issue 13:
// a client retrying after "outcome unknown" recorded its note twice): the
// same key and body replay the first answer and never record twice, even
// when the first answer was lost or many retries race; the same key with
// another body, or on another case, is 409.
func TestActionRetriesWithIdempotencyKey(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	open := func(child string) string {
		var c workflows.Case
		if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": child,
			"category": "communication", "summary": "s",
			"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
			t.Fatalf("create: %d", code)
		}
		return c.Ref
	}
	ref, other := open("KEY/1"), open("KEY/2")
	note := map[string]string{"text": "Phoned Sam at 10:00"}
	before := s.eventCount(t, ref)

	code, replayed, first := s.keyed(t, "/v1/cases/"+ref+"/notes", raiser, "note-1", note)
	if code != 200 || replayed {
		t.Fatalf("first: %d replayed %v", code, replayed)
	}
	code, replayed, again := s.keyed(t, "/v1/cases/"+ref+"/notes", raiser, "note-1", note)
	if code != 200 || !replayed || !bytes.Equal(first, again) {
		t.Fatalf("retry: %d replayed %v, same answer %v", code, replayed, bytes.Equal(first, again))
	}
	if got := s.eventCount(t, ref); got != before+1 {
		t.Fatalf("%d events recorded for one keyed note", got-before)
	}
	if code, _, _ := s.keyed(t, "/v1/cases/"+ref+"/notes", raiser, "note-1", map[string]string{"text": "Another note"}); code != 409 {
		t.Errorf("same key, other body: %d, want 409", code)
	}
	if code, _, _ := s.keyed(t, "/v1/cases/"+other+"/notes", raiser, "note-1", note); code != 409 {
		t.Errorf("same key, other case: %d, want 409", code)
	}

	// The first answer lost (the API stopped after Temporal recorded the
	// note, before it kept the answer): the retry sends the same update,
	// which Temporal does not apply twice.
	code, _, _ = s.keyed(t, "/v1/cases/"+ref+"/notes", raiser, "note-2", map[string]string{"text": "Second call"})
	if code != 200 {
		t.Fatalf("note-2: %d", code)
	}
	db, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if _, err := db.Exec(context.Background(), `UPDATE action_keys SET response = NULL WHERE key = 'note-2'`); err != nil {
		t.Fatal(err)
	}
	code, replayed, _ = s.keyed(t, "/v1/cases/"+ref+"/notes", raiser, "note-2", map[string]string{"text": "Second call"})
	if code != 200 || replayed {
		t.Fatalf("retry after a lost answer: %d replayed %v", code, replayed)
	}
	if got := s.eventCount(t, ref); got != before+2 {
		t.Fatalf("%d events after two keyed notes and their retries, want 2", got-before)
	}

	// Ten retries at once: one note.
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = s.keyed(t, "/v1/cases/"+ref+"/notes", raiser, "note-3", map[string]string{"text": "Third call"})
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("concurrent retry %d: %d", i, c)
		}
	}
	if got := s.eventCount(t, ref); got != before+3 {
		t.Fatalf("%d events after three keyed notes, want 3", got-before)
	}

	// A keyed confirm that closed the case replays its 200, not a 409.
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	if code := s.call("POST", "/v1/cases/"+other+"/agreement", raiser, map[string]any{"outcome": "Agreed"}, nil); code != 200 {
		t.Fatalf("propose: %d", code)
	}
	for i := 0; i < 2; i++ {
		code, replayed, body := s.keyed(t, "/v1/cases/"+other+"/agreement/confirm", respondent, "confirm-1", map[string]any{})
		var c workflows.Case
		_ = json.Unmarshal(body, &c)
		if code != 200 || c.Status != workflows.StatusResolved || replayed != (i == 1) {
			t.Fatalf("confirm attempt %d: %d %s replayed %v", i+1, code, c.Status, replayed)
		}
	}
}
