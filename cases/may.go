package cases

import (
	"context"
	"errors"
	"strings"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// What a person may do to a case now, for the pages to offer only those
// actions: the contract's access rule (CanAct, PartnershipOf, StepInSide)
// and then the case workflow's own validators over the case as recorded
// (workflows.Allowed). Nothing here restates a procedure rule.

// Actions a person may take, by update name (workflows/names.go), plus
// StepIn.
const StepIn = "step_in"

// access is the access rule of each action.
var access = map[string]func(Principal, workflows.Case) bool{
	workflows.UpdateNote:             CanAct,
	workflows.UpdateContact:          CanAct,
	workflows.UpdateEscalate:         CanAct,
	workflows.UpdateDeadline:         CanAct,
	workflows.UpdateConfirmDeadline:  CanAct,
	workflows.UpdateProposeAgreement: CanAct,
	workflows.UpdateConfirmAgreement: CanAct,
	workflows.UpdateRejectAgreement:  CanAct,
	workflows.UpdateWithdraw:         CanAct,
	workflows.UpdateMeeting:          CanAct,
	workflows.UpdateOutcome:          PartnershipOf,
	workflows.UpdateReview:           PartnershipOf,
}

// May reports, for each action, whether me may take it now on cs, under
// the policy the case runs under (the snapshot taken when it opened, as
// its workflow has it; the loaded policy for a case opened before
// snapshots were kept).
func (s *Service) May(ctx context.Context, me Principal, cs workflows.Case) map[string]bool {
	out := map[string]bool{}
	if cs.Closed() {
		return out
	}
	pol, ok := s.casePolicy(ctx, cs)
	if !ok {
		return out
	}
	now := s.now()
	for update, allowed := range access {
		if !allowed(me, cs) {
			continue
		}
		out[update] = workflows.Allowed(cs, pol, update, me.Person(), ActsForEitherSide(me, cs), now) == nil
	}
	if side := StepInSide(me, cs); side != "" {
		out[StepIn] = workflows.Allowed(cs, pol, workflows.UpdateContact, me.Person(), true, now) == nil
	}
	return out
}

// casePolicy is the policy case cs runs under.
func (s *Service) casePolicy(ctx context.Context, cs workflows.Case) (policies.Policy, bool) {
	if s.store != nil {
		cp, err := s.store.CasePolicy(ctx, cs.Ref)
		if err == nil {
			return cp.Policy, true
		}
		if !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(ctx, "case policy not read; using the loaded policy", "request_id", requestID(ctx), "ref", cs.Ref, "error", err)
		}
	}
	return s.Policy(cs.Policy)
}

// StepInSide is the side a manager may step in for as that side's contact
// at the current stage ("I am the line manager for this side"): a manager
// of the agency of exactly one side who is not yet a party of the case.
// "" if they may not.
func StepInSide(p Principal, c workflows.Case) string {
	if p.Role != RoleManager || p.Agency == "" || IsParty(p, c) || !inScope(p, c) {
		return ""
	}
	raiser, respondent := p.Agency == c.Raiser.Agency, p.Agency == c.Respondent.Agency
	switch {
	case raiser && !respondent:
		return workflows.SideRaiser
	case respondent && !raiser:
		return workflows.SideRespondent
	}
	return "" // both sides are their agency's: the partnership names the contact
}

// StepInRole is the role a manager who steps in is recorded with.
const StepInRole = "Line manager"

// StepIn records me, a manager of one side's agency, as that side's
// contact for the current stage: the same contact event the API records
// when a party names one.
func (s *Service) StepIn(me Principal) Action {
	return Action{Update: workflows.UpdateContact,
		Allowed: func(p Principal, c workflows.Case) bool { return StepInSide(p, c) != "" },
		Arg: func(cs workflows.Case) any {
			return workflows.ContactInput{By: me.Person(), Side: StepInSide(me, cs), Name: strings.TrimSpace(me.Name),
				Email: strings.TrimSpace(me.Email), Role: StepInRole, ForEitherSide: true}
		}}
}

// Read is Load for reading (CanRead).
func (s *Service) Read(ctx context.Context, me Principal, ref string) (workflows.Case, error) {
	return s.Load(ctx, me, ref, CanRead)
}
