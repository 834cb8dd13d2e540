package workflows_test

import (
	"strings"
	"testing"
	"time"

	"escalate/workflows"
)

// Each test here names the rule of a source document (shared/seeds/) or of
// the contract (shared/spec/api.md) it holds the workflow to.

// Contract v1.1, "Categories": "Every policy has a category other; a case
// with it needs category_detail (1-200 characters), shown wherever the
// category is." The documents' lists are examples only (northamptonshire-
// escalating-for-the-right-outcome.txt, "Areas of Conflict": "this is by no
// means an exhaustive list"), so the record says what an "other"
// disagreement is about.
func TestCategoryOtherShowsItsDetail(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start, func(in *workflows.CaseInput) {
		in.Category = "other"
		in.CategoryDetail = "School transport plan for a child in care"
	})
	h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Sorted"})
	h.run()
	c := h.finished()
	if c.Category != "other" || c.CategoryDetail != "School transport plan for a child in care" {
		t.Errorf("case category %q detail %q", c.Category, c.CategoryDetail)
	}
	opened := eventsOf(h.acts, workflows.EventOpened)
	if len(opened) != 1 || !strings.Contains(opened[0].Text, "Category: Other: School transport plan for a child in care.") {
		t.Errorf("opening event: %+v", opened)
	}
}

// Contract v1.1, "Agreed deadlines": "Where the policy says deadlines are
// agreed by both sides, POST /v1/cases/{ref}/deadline proposes and the other
// side's POST /v1/cases/{ref}/deadline/confirm {} makes it take effect (409
// from the proposing side); the case shows a pending proposal."
// Northamptonshire asks for "a mutually agreed plan of action, including
// timescales" (northamptonshire-escalating-for-the-right-outcome.txt, Stage
// 1 and Stage 2). The partnership cannot agree for a side; a proposal can be
// answered by a counter-proposal; it lapses when the stage moves.
func TestDeadlineAgreedByBothSides(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday; stage 1 due Wed 25 17:00
	h := newHarness(t, start)
	byPartnership := h.at(time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asPartnership, DueAt: local(2026, 11, 24, 12, 0), Reason: "r"})
	nothingPending := h.at(time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRespondent})
	proposed := h.at(2*time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRaiser, DueAt: local(2026, 11, 24, 12, 0), Reason: "Visit on Tuesday"})
	ownSide := h.at(3*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRaiser})
	partnershipConfirms := h.at(3*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asPartnership})
	counter := h.at(4*time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRespondent, DueAt: local(2026, 11, 24, 16, 0), Reason: "Visit runs late"})
	h.at(5*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "No plan", Evidence: "Two calls"})
	var atStage2 workflows.Case
	h.query(5*time.Hour+time.Minute, &atStage2)
	lapsed := h.at(6*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRaiser})
	h.at(7*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
	h.run()

	wantRejected(t, "the partnership agrees for a side", byPartnership, workflows.ErrConflict)
	wantRejected(t, "confirm with nothing proposed", nothingPending, workflows.ErrConflict)
	c := wantDone(t, "proposal", proposed)
	p := c.PendingDeadline
	if p == nil || !p.DueAt.Equal(local(2026, 11, 24, 12, 0)) || p.ProposedBy != raiser.Name || p.ProposedBySide != workflows.SideRaiser || p.Reason != "Visit on Tuesday" || p.Stage != 1 {
		t.Errorf("pending deadline %+v", p)
	}
	if c.Stage.Agreed || !c.Stage.DueAt.Equal(local(2026, 11, 25, 17, 0)) {
		t.Errorf("a proposal changed the deadline: %+v", c.Stage)
	}
	ev := c.History[len(c.History)-1]
	if ev.Type != workflows.EventDeadlineProposed || ev.DueAt != nil {
		t.Errorf("proposal record: %+v", ev)
	}
	// Told: the stage's people of the other side (the proposer never is).
	if rs := h.acts.notices[ev.Seq]; len(rs) != 1 || !hasRecipient(rs, respondent.Email) {
		t.Errorf("proposal told %+v", rs)
	}
	wantRejected(t, "the proposing side confirms", ownSide, workflows.ErrConflict)
	wantRejected(t, "the partnership confirms for a side", partnershipConfirms, workflows.ErrConflict)
	c = wantDone(t, "counter-proposal", counter)
	if p := c.PendingDeadline; p == nil || p.ProposedBySide != workflows.SideRespondent || !p.DueAt.Equal(local(2026, 11, 24, 16, 0)) ||
		!strings.Contains(c.History[len(c.History)-1].Text, "replaces the deadline of") {
		t.Errorf("counter-proposal: %+v %q", p, c.History[len(c.History)-1].Text)
	}
	if atStage2.Stage.Number != 2 || atStage2.PendingDeadline != nil || atStage2.Stage.Agreed {
		t.Errorf("stage 2: %+v pending %+v", atStage2.Stage, atStage2.PendingDeadline)
	}
	if entered := lastOf(t, h.acts, workflows.EventStageEntered, 2); !strings.Contains(entered.Text, "lapses") {
		t.Errorf("the record does not say the proposal lapsed: %q", entered.Text)
	}
	wantRejected(t, "confirm a lapsed proposal", lapsed, workflows.ErrConflict)
	h.finished()
}
