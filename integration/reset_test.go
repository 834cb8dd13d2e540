package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"escalate/workflows"
)

// A case reset in Temporal to an earlier point (issue 14: a reset run's
// events must not collide with the first run's) goes on from that point;
// its first new step is numbered after everything already recorded, with
// an event saying so, and the record stays whole: the first run's later
// events stay, nothing is refused, nothing is dropped.
func TestResetRunNumbersAfterTheRecord(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "RESET/1",
		"category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	opened := len(c.History)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The reset point: the workflow task that completed once the opening
	// was recorded.
	var resetAt int64
	iter := s.temporal.GetWorkflowHistory(ctx, c.Ref, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	recorded := false
	for iter.HasNext() && resetAt == 0 {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			recorded = true
		case recorded && ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			resetAt = ev.GetEventId()
		}
	}
	if resetAt == 0 {
		t.Fatal("no workflow task after the opening was recorded")
	}
	for _, text := range []string{"First call", "Second call"} {
		if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": text}, &c); code != 200 {
			t.Fatalf("note: %d", code)
		}
	}
	before := s.eventCount(t, c.Ref)
	// The reset run is the case's current run before anyone acts on it.
	s.reset(t, ctx, c.Ref, "", resetAt, "reset-test-1")
	var answer struct {
		workflows.Case
		Error struct{ Code, Message string } `json:"error"`
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "Third call, after the reset"}, &answer); code != 200 {
		t.Fatalf("note after the reset: %d %s: %s", code, answer.Error.Code, answer.Error.Message)
	}
	after := answer.Case
	n := len(after.History)
	if n != before+2 || after.Version != n {
		t.Fatalf("after the reset: %d events, version %d; want %d", n, after.Version, before+2)
	}
	reset, note := after.History[n-2], after.History[n-1]
	if reset.Type != workflows.EventReset || reset.Seq != before+1 ||
		!strings.Contains(reset.Text, "Events 3 to 4 were recorded before the reset") {
		t.Errorf("reset event %+v", reset)
	}
	// Its structured fields say where the case goes on from: the record
	// page starts a row there, with the deadline as it stood.
	if reset.Move != workflows.MoveReset || reset.ToStage != 1 || reset.DueAt == nil || !reset.EntersStage() {
		t.Errorf("reset event's fields: move %q to stage %d due %v", reset.Move, reset.ToStage, reset.DueAt)
	}
	if note.Type != workflows.EventNote || note.Seq != before+2 || note.Text != "Third call, after the reset" {
		t.Errorf("note after the reset %+v", note)
	}
	if after.History[opened].Text != "First call" || after.History[opened+1].Text != "Second call" {
		t.Errorf("the first run's notes: %+v", after.History[opened:opened+2])
	}
	var rec struct {
		Verification struct {
			Intact bool   `json:"intact"`
			Keyed  bool   `json:"keyed"`
			Reason string `json:"reason"`
		} `json:"verification"`
	}
	if code := s.call("GET", "/v1/cases/"+c.Ref+"/record", raiser, nil, &rec); code != 200 || !rec.Verification.Intact || !rec.Verification.Keyed {
		t.Errorf("record after the reset: %d %+v", code, rec)
	}
	// The reset run goes on: the next step numbers on without another
	// look at the record.
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/withdrawal", raiser, map[string]string{"reason": "Resolved"}, &after); code != 200 ||
		after.Version != before+3 || after.Status != workflows.StatusWithdrawn {
		t.Fatalf("withdraw after the reset: %d version %d %s", code, after.Version, after.Status)
	}
	if w := after.History[len(after.History)-1]; w.ClosedStatus != workflows.StatusWithdrawn || w.Resolved == nil || *w.Resolved {
		t.Errorf("the withdrawal's closing fields: %+v", w)
	}
	recordHistory(t, s.temporal, c.Ref, "reset-run-numbers-after-the-record")
}
