package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"escalate/workflows"
)

// A partnership closure recorded through the API reaches a running case on
// the real system: the case's deadline, read through GET /v1/cases/{ref},
// moves later by exactly one working day, and its record has the
// deadline_moved event with the new deadline; sending the same closure
// again changes nothing. The case's policy snapshot carries its bank
// holidays as dates.
func TestClosureMovesARunningCasesDeadline(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	partnership := s.token("Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")
	other := s.token("Devon Lead", "lead@devon.example", "devon", "partnership")

	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "NCT/88",
		"category": "communication", "summary": "Information not shared",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	ctx := context.Background()
	snap, err := s.store.CasePolicy(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Policy.Holidays == nil || len(snap.Policy.Holidays.Dates) == 0 {
		t.Fatalf("the case's snapshot has no resolved bank holidays: %+v", snap.Policy.Holidays)
	}
	clock, err := snap.Policy.Clock()
	if err != nil {
		t.Fatal(err)
	}
	// Stage 1 is 2 working days: close the first of them.
	start := c.Stage.StartedAt.In(clock.Location)
	first := start
	for {
		first = first.AddDate(0, 0, 1)
		if clock.IsWorkingDay(first.Date()) {
			break
		}
	}
	closed := first.Format("2006-01-02")
	if want := clock.AddWorkingDays(c.Stage.StartedAt, 2); !c.Stage.DueAt.Equal(want) {
		t.Fatalf("stage 1 due %v, want %v", c.Stage.DueAt, want)
	}
	clock.Closures = []string{closed}
	wantDue := clock.AddWorkingDays(c.Stage.StartedAt, 2)
	if !wantDue.After(c.Stage.DueAt) {
		t.Fatalf("test setup: %s does not delay %v", closed, c.Stage.DueAt)
	}

	path := "/v1/admin/policies/northamptonshire/closures"
	var eb errorBody
	if code := s.call("POST", path, other, map[string]string{"date": closed, "reason": "State occasion"}, &eb); code != http.StatusForbidden {
		t.Fatalf("another partnership: %d", code)
	}
	if code := s.call("POST", path, partnership, map[string]string{"date": "2020-01-01", "reason": "State occasion"}, &eb); code != http.StatusBadRequest || eb.Error.Fields["date"] == "" {
		t.Fatalf("past date: %d %+v", code, eb)
	}
	var added struct {
		Created bool     `json:"created"`
		SentTo  []string `json:"sent_to"`
		NotSent []string `json:"not_sent"`
	}
	if code := s.call("POST", path, partnership, map[string]string{"date": closed, "reason": "State occasion"}, &added); code != http.StatusCreated ||
		!added.Created || len(added.SentTo) != 1 || added.SentTo[0] != c.Ref || len(added.NotSent) != 0 {
		t.Fatalf("closure: %d %+v", code, added)
	}

	// The signal is applied by the worker: wait for the case to show it.
	var now workflows.Case
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code := s.call("GET", "/v1/cases/"+c.Ref, raiser, nil, &now); code != http.StatusOK {
			t.Fatalf("read: %d", code)
		}
		if !now.Stage.DueAt.Equal(c.Stage.DueAt) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !now.Stage.DueAt.Equal(wantDue) || now.Stage.Number != 1 {
		t.Fatalf("after the closure: stage %d due %v, want %v (was %v)", now.Stage.Number, now.Stage.DueAt, wantDue, c.Stage.DueAt)
	}
	events, err := s.store.Events(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var moved []workflows.Event
	for _, e := range events {
		if e.Type == workflows.EventDeadlineMoved {
			moved = append(moved, e)
		}
	}
	if len(moved) != 1 || moved[0].DueAt == nil || !moved[0].DueAt.Equal(wantDue) || moved[0].By != "Pat Lead" {
		t.Fatalf("deadline_moved events: %+v", moved)
	}

	// Again: recorded once, sent again, applied once.
	if code := s.call("POST", path, partnership, map[string]string{"date": closed, "reason": "Said twice"}, &added); code != http.StatusOK || added.Created {
		t.Fatalf("again: %d %+v", code, added)
	}
	// A note after it is recorded after anything the repeat could have
	// recorded (the workflow handles them in turn).
	var after workflows.Case
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "Noted the closure"}, &after); code != http.StatusOK {
		t.Fatalf("note: %d", code)
	}
	events, err = s.store.Events(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Type == workflows.EventDeadlineMoved {
			n++
		}
	}
	if n != 1 || !after.Stage.DueAt.Equal(wantDue) {
		t.Errorf("after sending it again: %d deadline_moved events, due %v", n, after.Stage.DueAt)
	}
	var list struct {
		Closures []struct {
			Date   string `json:"date"`
			Reason string `json:"reason"`
		} `json:"closures"`
	}
	if code := s.call("GET", path, partnership, nil, &list); code != http.StatusOK || len(list.Closures) != 1 ||
		list.Closures[0].Date != closed || list.Closures[0].Reason != "State occasion" {
		t.Errorf("list: %d %+v", code, list)
	}
	// Closed, for a whole history the replay tests can use.
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/withdrawal", raiser, map[string]string{"reason": "Agreed on the phone"}, &after); code != http.StatusOK {
		t.Fatalf("withdraw: %d", code)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.temporal.GetWorkflow(wctx, c.Ref, "").Get(wctx, nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	recordHistory(t, s.temporal, c.Ref, "closure-moves-working-day-deadline")
}
