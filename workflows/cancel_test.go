package workflows_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"escalate/workflows"
)

// An operator who cancels a case's workflow in Temporal (issue 14: the case
// stayed open for ever in the API, the record and the metrics while
// Temporal said CANCELED) closes it as cancelled, with who and why as its
// last event; no deadline fires after it, and the workflow ends cancelled.
func TestCancelledInTemporalClosesTheCase(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Called Sam"})
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 2*time.Hour)
	h.run()

	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not end")
	}
	if err := h.env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("workflow error %v, want cancelled", err)
	}
	evs := h.acts.events
	last := evs[len(evs)-1]
	if last.Type != workflows.EventCancelled || last.Seq != len(evs) || last.By != "ops@escalate-admin" ||
		!strings.Contains(last.Text, "Reason: Raised in error: duplicate of NSCP-2026-00001") || !last.At.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("last event %+v", last)
	}
	snap := h.acts.snapshots[len(h.acts.snapshots)-1]
	if snap.Status != workflows.StatusCancelled || snap.ClosedAt == nil || !snap.Closed() {
		t.Errorf("snapshot status %s closed %v", snap.Status, snap.ClosedAt)
	}
	for _, ev := range evs {
		if ev.Type == workflows.EventDeadlinePassed || ev.Type == workflows.EventEscalated {
			t.Errorf("after cancellation: %s", ev.Type)
		}
	}
	if got := strings.Join(h.acts.types(), ","); got != "case_opened,stage_entered,note,case_cancelled" {
		t.Errorf("events %s", got)
	}
}
