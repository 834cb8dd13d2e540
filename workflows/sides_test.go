package workflows_test

import (
	"strings"
	"testing"
	"time"

	"escalate/workflows"
)

// A party names contacts for their own side only. Issue 10: the raiser
// named a colleague of their own agency as the respondent's contact, who
// then confirmed the raiser's own proposal; the respondent named someone as
// the raiser's contact, who then withdrew the case. The partnership and
// admins (ForEitherSide, set by the API's access rule) may name either.
func TestContactsOnlyForTheCallersOwnSide(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	colleague := workflows.Person{Name: "Cal Colleague", Email: "cal@nhft.example", Agency: "nhft", Role: "practitioner"}
	accomplice := workflows.Person{Name: "Ace Complice", Email: "ace@nct.example", Agency: "nct", Role: "practitioner"}
	raiserForOther := h.at(time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRaiser, Side: workflows.SideRespondent,
		Name: colleague.Name, Email: colleague.Email, Role: "Health visitor"})
	respondentForOther := h.at(time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRespondent, Side: workflows.SideRaiser,
		Name: accomplice.Name, Email: accomplice.Email, Role: "Social worker"})
	strangerForAny := h.at(time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asStranger, Side: workflows.SideRaiser,
		Name: "Any One", Email: "any@elsewhere.example", Role: "x"})
	h.at(2*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "No further action"})
	colleagueConfirms := h.at(3*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: colleague})
	accompliceWithdraws := h.at(3*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: accomplice, Reason: "not needed"})
	ownSide := h.at(4*time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRaiser, Side: workflows.SideRaiser,
		Name: colleague.Name, Email: colleague.Email, Role: "Line manager"})
	// Now a raiser's-side contact: still not the other side.
	colleagueConfirmsAgain := h.at(5*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: colleague})
	partnershipForRespondent := h.at(5*time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asPartnership, Side: workflows.SideRespondent,
		Name: asManager.Name, Email: asManager.Email, Role: "Team manager", ForEitherSide: true})
	partnershipWithoutRight := h.at(5*time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asPartnership, Side: workflows.SideRaiser,
		Name: "Lee Lead", Email: "lee@nhft.example", Role: "Safeguarding lead"})
	confirm := h.at(6*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asManager})
	h.run()

	wantRejected(t, "raiser names the respondent's contact", raiserForOther, workflows.ErrConflict)
	wantRejected(t, "respondent names the raiser's contact", respondentForOther, workflows.ErrConflict)
	wantRejected(t, "a stranger names a contact", strangerForAny, workflows.ErrConflict)
	wantRejected(t, "the raiser's colleague confirms", colleagueConfirms, workflows.ErrConflict)
	wantRejected(t, "the respondent's accomplice withdraws", accompliceWithdraws, workflows.ErrConflict)
	c := wantDone(t, "raiser names their own side's contact", ownSide)
	if len(c.Contacts) != 1 || c.Contacts[0].Side != workflows.SideRaiser || c.Contacts[0].Agency != raiser.Agency {
		t.Fatalf("contacts %+v", c.Contacts)
	}
	wantRejected(t, "a contact of the proposing side confirms", colleagueConfirmsAgain, workflows.ErrConflict)
	wantRejected(t, "partnership without the access rule's leave", partnershipWithoutRight, workflows.ErrConflict)
	c = wantDone(t, "partnership names the respondent's contact", partnershipForRespondent)
	if got := c.Contacts[len(c.Contacts)-1]; got.Side != workflows.SideRespondent || got.Agency != respondent.Agency {
		t.Errorf("partnership's contact %+v", got)
	}
	if c := wantDone(t, "the respondent's contact confirms", confirm); c.Status != workflows.StatusResolved {
		t.Errorf("status %s", c.Status)
	}
	h.finished()
}

// A change whose record PostgreSQL refuses (issue 10: a NUL in a note;
// SQLSTATE 22021) fails its update cleanly: the case is left as it was,
// with no gap in its sequence, and goes on taking actions and deadlines.
func TestRefusedRecordLeavesTheCaseAsItWas(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	h.acts.refuse = func(in workflows.RecordEventsInput) bool {
		for _, ev := range in.Events {
			if strings.ContainsRune(ev.Text, 0) {
				return true
			}
		}
		return false
	}
	poison := h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "a\x00b"})
	poisonPropose := h.at(2*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "x\x00"})
	note := h.at(3*time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Called Sam"})
	propose := h.at(4*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "Assessment"})
	var mid workflows.Case
	h.query(2*time.Hour+time.Minute, &mid)
	confirm := h.at(5*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRespondent})
	h.run()

	if !poison.done || errType(poison.err) != workflows.ErrRecordRefused {
		t.Fatalf("poisoned note: done %v err %v", poison.done, poison.err)
	}
	if !poisonPropose.done || errType(poisonPropose.err) != workflows.ErrRecordRefused {
		t.Fatalf("poisoned proposal: done %v err %v", poisonPropose.done, poisonPropose.err)
	}
	if mid.Status != workflows.StatusOpen || mid.Agreement != nil || mid.Version != 2 || len(mid.History) != 2 {
		t.Errorf("after the refusals the case changed: status %s agreement %+v version %d history %d",
			mid.Status, mid.Agreement, mid.Version, len(mid.History))
	}
	if c := wantDone(t, "note", note); c.Version != 3 || c.History[2].Seq != 3 {
		t.Errorf("note after the refusal: version %d", c.Version)
	}
	wantDone(t, "propose", propose)
	if c := wantDone(t, "confirm", confirm); c.Status != workflows.StatusResolved {
		t.Errorf("status %s", c.Status)
	}
	h.finished()
	for i, ev := range h.acts.events {
		if ev.Seq != i+1 {
			t.Fatalf("recorded seqs have a gap: event %d has seq %d", i, ev.Seq)
		}
	}
}

// Actions that arrive together are recorded one at a time, in the order of
// their sequence numbers, so the record's chain of events is never written
// out of order; one that waited is checked again when its turn comes.
func TestConcurrentActionsAreRecordedInOrder(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	var notes []*updateResult
	for i := 0; i < 5; i++ {
		notes = append(notes, h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "note " + string(rune('a'+i))}))
	}
	propose := h.at(time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "A"})
	second := h.at(time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRespondent, Outcome: "B"})
	h.at(2*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "done"})
	h.run()
	for i, n := range notes {
		wantDone(t, "note "+string(rune('a'+i)), n)
	}
	// Both proposals passed the validator together; whichever comes second
	// is checked again in its turn and refused, as if it had come later.
	outcome := func(r *updateResult) string {
		if !r.done {
			return "unanswered"
		}
		if r.err == nil && r.rejected == nil {
			return "done"
		}
		return errType(r.err) + errType(r.rejected)
	}
	got := []string{outcome(propose), outcome(second)}
	if !(got[0] == "done" && got[1] == workflows.ErrConflict) && !(got[1] == "done" && got[0] == workflows.ErrConflict) {
		t.Fatalf("proposals: %v, want one done and one conflict", got)
	}
	h.finished()
	for i, ev := range h.acts.events {
		if ev.Seq != i+1 {
			t.Fatalf("event %d recorded with seq %d: out of order", i, ev.Seq)
		}
	}
}

// An opening the record refuses (issue 10: a NUL in the summary, which
// the snapshot cannot store) answers the opener with the refusal at once,
// rather than retrying for ever while the opener times out; the workflow
// then ends, failed, with nothing recorded.
func TestRefusedOpeningAnswersTheOpener(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start, func(in *workflows.CaseInput) { in.Summary = "a\x00b" })
	h.acts.refuse = func(in workflows.RecordEventsInput) bool { return strings.ContainsRune(in.Case.Summary, 0) }
	opened := h.at(0, workflows.UpdateOpened, workflows.OpenedInput{})
	h.run()
	if !opened.done || errType(opened.err) != workflows.ErrRecordRefused {
		t.Fatalf("opener: done %v err %v rejected %v", opened.done, opened.err, opened.rejected)
	}
	if !h.env.IsWorkflowCompleted() || errType(h.env.GetWorkflowError()) != workflows.ErrRecordRefused {
		t.Fatalf("workflow: completed %v err %v", h.env.IsWorkflowCompleted(), h.env.GetWorkflowError())
	}
	if len(h.acts.events) != 0 {
		t.Errorf("recorded %d events", len(h.acts.events))
	}
}
