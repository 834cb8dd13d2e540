package workflows_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"escalate/workflows"
)

// Every event type is described in the vocabulary, every kind of move is
// listed once.
func TestVocabularyDescribesEveryEventType(t *testing.T) {
	for _, typ := range workflows.EventTypes {
		if m, ok := workflows.Vocabulary[typ]; !ok || m.Means == "" {
			t.Errorf("%s: not described in the vocabulary", typ)
		}
	}
	if len(workflows.Vocabulary) != len(workflows.EventTypes) {
		t.Errorf("the vocabulary describes %d types, EventTypes has %d", len(workflows.Vocabulary), len(workflows.EventTypes))
	}
	seen := map[string]bool{}
	for _, m := range workflows.Moves {
		if seen[m] || m == "" {
			t.Errorf("move %q listed twice or empty", m)
		}
		seen[m] = true
	}
}

// setFields names the structured fields an event carries.
func setFields(e workflows.Event) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"from_stage", e.FromStage != 0}, {"to_stage", e.ToStage != 0}, {"move", e.Move != ""}, {"step", e.Step != 0},
		{"level", e.Level != 0}, {"due_at", e.DueAt != nil}, {"agreed", e.Agreed}, {"resolved", e.Resolved != nil},
		{"closed_status", e.ClosedStatus != ""},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// moves writes the recorded events that carry a move or close the case,
// one a line, and checks every event carries only fields the vocabulary
// gives its type.
func moves(t *testing.T, acts *fakeActivities) string {
	t.Helper()
	acts.mu.Lock()
	defer acts.mu.Unlock()
	var lines []string
	for _, e := range acts.events {
		for _, f := range setFields(e) {
			if !slices.Contains(workflows.Vocabulary[e.Type].Fields, f) {
				t.Errorf("event %d (%s) carries %s, which the vocabulary does not give it", e.Seq, e.Type, f)
			}
		}
		if e.Move != "" && !slices.Contains(workflows.Moves, e.Move) {
			t.Errorf("event %d: unknown move %q", e.Seq, e.Move)
		}
		switch {
		case e.Move != "":
			l := fmt.Sprintf("%s %d>%d %s", e.Type, e.FromStage, e.ToStage, e.Move)
			if e.Step != 0 {
				l += fmt.Sprintf(" step %d", e.Step)
			}
			if e.Level != 0 {
				l += fmt.Sprintf(" level %d", e.Level)
			}
			if e.EntersStage() && e.DueAt == nil {
				l += " NO DEADLINE"
			}
			if e.Agreed {
				l += " agreed"
			}
			lines = append(lines, l)
		case e.ClosedStatus != "":
			lines = append(lines, fmt.Sprintf("%s %s resolved=%v", e.Type, e.ClosedStatus, e.Resolved != nil && *e.Resolved))
		case e.Type == workflows.EventStageEntered || e.Type == workflows.EventStepEntered ||
			e.Type == workflows.EventEscalated || e.Type == workflows.EventSentBack:
			lines = append(lines, fmt.Sprintf("%s at stage %d WITHOUT A MOVE", e.Type, e.Stage))
		}
	}
	return strings.Join(lines, "\n")
}

func wantMoves(t *testing.T, acts *fakeActivities, want ...string) {
	t.Helper()
	if got := moves(t, acts); got != strings.Join(want, "\n") {
		t.Errorf("moves recorded:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// A person's escalations, to the next stage and to the next level of a
// repeating one, and the agreement that resolves the case.
func TestEventFieldsOfEscalationsAndLevels(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(3*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(4*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRespondent, Reason: "Senior managers disagree", NextLevel: true})
	h.at(5*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(7*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRespondent, Outcome: "Plan agreed"})
	h.at(8*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRaiser})
	h.run()
	h.finished()
	wantMoves(t, h.acts,
		"stage_entered 0>1 opened",
		"escalated 1>2 escalated",
		"stage_entered 1>2 escalated",
		"escalated 2>3 escalated",
		"stage_entered 2>3 escalated level 1",
		"escalated 3>3 next_level",
		"stage_entered 3>3 next_level level 2",
		"escalated 3>4 escalated",
		"stage_entered 3>4 escalated",
		"agreement_confirmed resolved resolved=true",
	)
}

// Deadlines: a step's deadline moves to the next step, a stage's escalates
// to the next stage; the partnership's outcome closes the case unresolved.
func TestEventFieldsOfDeadlinesAndSteps(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start, withPolicy(t, "four-stage", "threshold-csc-assessment"))
	h.at(local(2026, 11, 26, 9, 0).Sub(start), workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(local(2026, 11, 26, 10, 0).Sub(start), workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	considered := true
	h.at(local(2026, 11, 26, 12, 0).Sub(start), workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: false,
		Outcome: "No agreement", CaseReviewConsidered: &considered})
	h.run()
	h.finished()
	wantMoves(t, h.acts,
		"stage_entered 0>1 opened step 1",
		"deadline_passed 1>1 deadline_next_step",
		"step_entered 1>1 deadline_next_step step 2",
		"deadline_passed 1>2 deadline_passed",
		"escalated 1>2 deadline_passed",
		"stage_entered 1>2 deadline_passed",
		"escalated 2>3 escalated",
		"stage_entered 2>3 escalated",
		"escalated 3>4 escalated",
		"stage_entered 3>4 escalated",
		"outcome_recorded unresolved resolved=false",
	)
}

// A stage that runs out into mediation, a deadline that leaves the stage
// open and overdue (no move), and a review that sends the case back.
func TestEventFieldsOfMediationAndSendBack(t *testing.T) {
	start := local(2026, 12, 24, 14, 0)
	h := newHarness(t, start)
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(3*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	// Stage 4 runs out into mediation at stage 5, which runs out overdue.
	h.at(60*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Agreed in the end"})
	h.run()
	h.finished()
	got := moves(t, h.acts)
	for _, want := range []string{
		"deadline_passed 4>5 deadline_mediation\nescalated 4>5 deadline_mediation\nstage_entered 4>5 deadline_mediation",
		"withdrawn withdrawn resolved=false",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("moves lack %q:\n%s", want, got)
		}
	}
	// The stage-5 deadline passed with no move: the stage stayed open.
	passed := eventsOf(h.acts, workflows.EventDeadlinePassed)
	if last := passed[len(passed)-1]; last.Stage != 5 || last.Move != "" || last.ToStage != 0 {
		t.Errorf("the overdue stage's deadline event: %+v", last)
	}

	devonPartner := workflows.Person{Name: "Devon SCP Manager", Email: "manager@devon.example", Agency: "devon", Role: "partnership"}
	h = newHarness(t, start, withPolicy(t, "devon", "provision-of-services"), func(in *workflows.CaseInput) { in.Urgent = true })
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "Manager unavailable", ToStage: 5})
	h.at(3*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: false, SendBackTo: 2, NextSteps: "Managers to meet first"})
	h.at(4*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Resolved between managers"})
	h.run()
	h.finished()
	wantMoves(t, h.acts,
		"stage_entered 0>1 opened",
		"escalated 1>5 escalated",
		"stage_entered 1>5 escalated",
		"sent_back 5>2 sent_back",
		"stage_entered 5>2 sent_back",
		"withdrawn withdrawn resolved=false",
	)
}

// The vocabulary's names are on the record, in the API (openapi.json) and
// in the README: they never change. This is the one place the tests spell
// them.
func TestVocabularyWireNames(t *testing.T) {
	for _, n := range [][2]string{
		{workflows.EventOpened, "case_opened"}, {workflows.EventStageEntered, "stage_entered"}, {workflows.EventNote, "note"},
		{workflows.EventContact, "contact_added"}, {workflows.EventEscalated, "escalated"}, {workflows.EventDeadlineChanged, "deadline_agreed"},
		{workflows.EventDeadlineProposed, "deadline_proposed"}, {workflows.EventDeadlinePassed, "deadline_passed"},
		{workflows.EventAgreementProposed, "agreement_proposed"}, {workflows.EventAgreementConfirm, "agreement_confirmed"},
		{workflows.EventAgreementRejected, "agreement_rejected"}, {workflows.EventWithdrawn, "withdrawn"}, {workflows.EventOutcome, "outcome_recorded"},
		{workflows.EventReminder, "reminder"}, {workflows.EventStepEntered, "step_entered"}, {workflows.EventPartyJoined, "party_joined"},
		{workflows.EventSentBack, "sent_back"}, {workflows.EventReviewConfirmed, "review_confirmed"}, {workflows.EventMeeting, "meeting_recorded"},
		{workflows.EventCancelled, "case_cancelled"}, {workflows.EventReset, "case_reset"}, {workflows.EventDeadlineMoved, "deadline_moved"},
		{workflows.MoveOpened, "opened"}, {workflows.MoveEscalated, "escalated"}, {workflows.MoveNextStep, "next_step"},
		{workflows.MoveNextLevel, "next_level"}, {workflows.MoveDeadlinePassed, "deadline_passed"},
		{workflows.MoveDeadlineNextStep, "deadline_next_step"}, {workflows.MoveDeadlineMediation, "deadline_mediation"},
		{workflows.MoveSentBack, "sent_back"}, {workflows.MoveReset, "reset"},
	} {
		if got, want := n[0], n[1]; got != want {
			t.Errorf("%q was renamed %q", want, got)
		}
	}
}
