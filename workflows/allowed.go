package workflows

import (
	"time"

	"escalate/policies"
)

// Allowed says whether by may send the update now to the case as
// recorded, by the workflow's own validators run over the recorded case
// (nil if so, else their refusal): the pages show a person only the
// actions this allows, and the workflow checks them again when one is
// sent. The values of the check's input are stand-ins that pass the
// validators' checks of what a person types (a reason, a date), so only
// the case's state, the procedure and the person decide. forEitherSide:
// by may name a contact for either side (the partnership, an admin).
func Allowed(c Case, pol policies.Policy, update string, by Person, forEitherSide bool, now time.Time) error {
	s := &caseState{policy: pol, c: c, opened: true, decisions: true}
	if clock, err := pol.Clock(); err == nil {
		s.clock = clock
	}
	const text = "-"
	no := false
	switch update {
	case UpdateNote:
		return s.validateNote(NoteInput{By: by, Text: text})
	case UpdateContact:
		side := s.sideOf(by.Email)
		if side == "" && forEitherSide {
			side = SideRaiser
		}
		return s.validateContact(ContactInput{By: by, Side: side, ForEitherSide: forEitherSide})
	case UpdateEscalate:
		return s.validateEscalate(EscalateInput{By: by, Reason: text, Evidence: text})
	case UpdateDeadline:
		return s.validateDeadlineAt(now, DeadlineInput{By: by, DueAt: now.Add(time.Minute), Reason: text})
	case UpdateConfirmDeadline:
		return s.validateConfirmDeadlineAt(now, ConfirmDeadlineInput{By: by})
	case UpdateProposeAgreement:
		return s.validatePropose(ProposeAgreementInput{By: by, Outcome: text})
	case UpdateConfirmAgreement:
		return s.validateConfirm(ConfirmAgreementInput{By: by})
	case UpdateRejectAgreement:
		return s.validateReject(RejectAgreementInput{By: by, Reason: text})
	case UpdateWithdraw:
		return s.validateWithdraw(WithdrawInput{By: by, Reason: text})
	case UpdateOutcome:
		return s.validateOutcome(OutcomeInput{By: by, Outcome: text, CaseReviewConsidered: &no})
	case UpdateReview:
		return s.validateReview(ReviewInput{By: by, Followed: true, NextSteps: text})
	case UpdateMeeting:
		return s.validateMeeting(MeetingInput{By: by, At: now})
	}
	return conflict("%s is not an action on a case", update)
}
