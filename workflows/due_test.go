package workflows_test

import (
	"testing"
	"time"

	"escalate/workflows"
)

// Every event that sets a deadline carries it: each stage entered, and an
// agreed deadline (once both sides agree it); no other event does, a
// proposal included.
func TestEventsCarryTheDeadlineTheySet(t *testing.T) {
	start := local(2026, 12, 24, 14, 0) // Thursday before Christmas
	h := newHarness(t, start)
	agreed := local(2026, 12, 29, 12, 0) // shorter than the 2 working days
	h.at(time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRespondent, DueAt: agreed, Reason: "child seen on 29 December"})
	h.at(2*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRaiser})
	h.at(20*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "done"})
	h.run()
	h.finished()
	want := map[int]time.Time{} // seq -> deadline
	var stage1, stage2, agreedSeq int
	for _, e := range h.acts.events {
		switch {
		case e.Type == workflows.EventStageEntered && e.Stage == 1:
			stage1 = e.Seq
			want[e.Seq] = local(2026, 12, 30, 17, 0) // 2 working days: 29, 30 Dec
		case e.Type == workflows.EventDeadlineChanged:
			agreedSeq = e.Seq
			want[e.Seq] = agreed
		case e.Type == workflows.EventStageEntered && e.Stage == 2:
			stage2 = e.Seq
			want[e.Seq] = local(2027, 1, 6, 17, 0) // 5 working days from 29 Dec: 30, 31, 4, 5, 6
		case e.Type == workflows.EventStageEntered && e.Stage == 3:
			want[e.Seq] = local(2027, 1, 13, 17, 0) // 7, 8, 11, 12, 13 Jan
		}
	}
	if stage1 == 0 || stage2 == 0 || agreedSeq == 0 {
		t.Fatalf("events: %v", h.acts.types())
	}
	for _, e := range h.acts.events {
		w, ok := want[e.Seq]
		switch {
		case ok && (e.DueAt == nil || !e.DueAt.Equal(w)):
			t.Errorf("event %d %s: deadline %v, want %v", e.Seq, e.Type, e.DueAt, w.In(london))
		case !ok && e.DueAt != nil:
			t.Errorf("event %d %s carries a deadline %v", e.Seq, e.Type, e.DueAt)
		}
	}
}
