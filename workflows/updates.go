package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"escalate/policies"
)

// Validators only read state; they reject with conflict (409) when the
// case's state does not allow the action and rule_violation (422) when a
// procedure rule says no. Handlers change state before their first blocking
// call, then answer once the change is recorded.

func (s *caseState) validateOpen() error {
	if !s.opened {
		return conflict("the case is still being opened; try again in a moment")
	}
	if s.c.Closed() {
		return conflict("the case is closed (%s)", s.c.Status)
	}
	return nil
}

// answer is an update's result: where the action left the case. Cases
// started before the state was kept lean answer with the whole case.
func (s *caseState) answer() (ActionResult, error) {
	if !s.lean {
		return ActionResult{Case: s.c}, nil
	}
	return ActionResult{Seq: s.c.Version, Version: s.c.Version, Status: s.c.Status, Stage: s.c.Stage.Number}, nil
}

func (s *caseState) validateOpened(OpenedInput) error { return nil }

func (s *caseState) handleOpened(ctx workflow.Context, _ OpenedInput) (ActionResult, error) {
	if err := workflow.Await(ctx, func() bool { return s.opened || s.openErr != nil }); err != nil {
		return ActionResult{}, err
	}
	if s.openErr != nil {
		return ActionResult{}, s.openErr
	}
	return s.answer()
}

func (s *caseState) validateNote(in NoteInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if strings.TrimSpace(in.Text) == "" {
		return ruleViolation("a note needs text")
	}
	return nil
}

func (s *caseState) handleNote(ctx workflow.Context, in NoteInput) (ActionResult, error) {
	// A note is what the stage's people were asked to record first when
	// the previous stage left nothing on the record.
	s.c.Stage.RecordMissingFrom = 0
	ev := s.event(ctx, EventNote, s.c.Stage.Number, in.By, in.Text)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateContact(in ContactInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if in.Side != SideRaiser && in.Side != SideRespondent {
		return ruleViolation("side must be %q or %q", SideRaiser, SideRespondent)
	}
	// A party acts for their own side only: naming the other side's contact
	// would let them confirm their own proposal or withdraw the other
	// side's case through someone they chose.
	if mine := s.sideOf(in.By.Email); !in.ForEitherSide && mine != in.Side {
		if mine == "" {
			return conflict("only a party of one side, the partnership or an admin can name a side's contact")
		}
		return conflict("you act for the %s's side: you can name a contact for your own side only", mine)
	}
	for _, c := range s.c.Contacts {
		if strings.EqualFold(c.Email, in.Email) && c.Stage == s.c.Stage.Number && c.Side == in.Side {
			return conflict("%s is already recorded for the %s's side at stage %d", in.Email, in.Side, c.Stage)
		}
	}
	if other := s.sideOf(in.Email); other != "" && other != in.Side {
		return conflict("%s already acts for the %s's side", in.Email, other)
	}
	return nil
}

func (s *caseState) handleContact(ctx workflow.Context, in ContactInput) (ActionResult, error) {
	c := Contact{Party: Party{Name: in.Name, Email: in.Email, Role: in.Role}, Side: in.Side, Stage: s.c.Stage.Number}
	if in.Side == SideRaiser {
		c.Agency = s.c.Raiser.Agency
	} else {
		c.Agency = s.c.Respondent.Agency
	}
	s.c.Contacts = append(s.c.Contacts, c)
	s.c.Stage.AwaitingContact = s.awaitingContact()
	ev := s.event(ctx, EventContact, s.c.Stage.Number, in.By,
		fmt.Sprintf("%s (%s, %s) now acts for the %s's side at stage %d.", in.Name, in.Role, in.Email, in.Side, s.c.Stage.Number))
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

// escalationTarget is the stage an escalation climbs to: to_stage, else
// the next stage (a next step or level stays in the current stage).
func (s *caseState) escalationTarget(in EscalateInput) int {
	if in.ToStage != 0 {
		return in.ToStage
	}
	if in.NextLevel || s.hasNextStep() {
		return s.c.Stage.Number
	}
	return s.c.Stage.Number + 1
}

// hasNextStep: the current stage has steps left.
func (s *caseState) hasNextStep() bool {
	st, _ := s.policy.Stage(s.c.Stage.Number)
	return s.c.Stage.Step >= 1 && s.c.Stage.Step < len(st.Steps)
}

func (s *caseState) validateEscalate(in EscalateInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	cur := s.c.Stage.Number
	st, _ := s.policy.Stage(cur)
	if strings.TrimSpace(in.Reason) == "" {
		return ruleViolation("an escalation needs a reason")
	}
	if in.NextLevel {
		if !st.Repeat {
			return conflict("stage %d (%s) does not repeat level by level; escalate to the next stage instead", cur, st.Name)
		}
		if in.ToStage != 0 {
			return ruleViolation("give next_level or to_stage, not both")
		}
		return nil
	}
	if in.ToStage == 0 && s.hasNextStep() {
		return nil
	}
	if cur >= s.policy.LastStage() {
		return conflict("the case is at the last stage (%d); there is no stage to escalate to", cur)
	}
	target := s.escalationTarget(in)
	if in.ToStage != 0 {
		if in.ToStage <= cur || in.ToStage > s.policy.LastStage() {
			return ruleViolation("to_stage must be a later stage of this policy (%d to %d)", cur+1, s.policy.LastStage())
		}
		if in.ToStage != cur+1 && !s.c.Urgent {
			return ruleViolation("only urgent cases may skip stages; escalate to stage %d", cur+1)
		}
	}
	next, _ := s.policy.Stage(target)
	if next.EvidenceRequired && strings.TrimSpace(in.Evidence) == "" {
		return ruleViolation("stage %d (%s) needs evidence that stage %d was tried and exhausted", next.Number, next.Name, cur)
	}
	return nil
}

func (s *caseState) handleEscalate(ctx workflow.Context, in EscalateInput) (ActionResult, error) {
	cur := s.c.Stage.Number
	now := workflow.Now(ctx)
	withEvidence := func(text string) string {
		if strings.TrimSpace(in.Evidence) != "" {
			if !strings.HasSuffix(strings.TrimSpace(text), ".") {
				text += "."
			}
			text += " Evidence that the previous stage was exhausted: " + in.Evidence
		}
		return text
	}
	var events []Event
	switch target := s.escalationTarget(in); {
	case in.NextLevel:
		s.c.Stage.Level++
		events = append(events, s.move(s.event(ctx, EventEscalated, cur, in.By, withEvidence(fmt.Sprintf(
			"Escalated to the next management level: stage %d, level %d. Reason: %s", cur, s.c.Stage.Level, in.Reason))), cur, cur, MoveNextLevel))
		s.startClock(now, nil)
		events = append(events, s.moved(cur, MoveNextLevel, s.withDue(s.event(ctx, EventStageEntered, cur, Person{Name: "escalate"}, fmt.Sprintf(
			"Stage %d: %s. Who: the next managers up. Due by %s (%s).", cur, s.stageLabel(), s.localTime(s.c.Stage.DueAt), s.c.Stage.Within)+s.lapseNote()), s.c.Stage.DueAt))...)
	case target == cur:
		events = append(events, s.move(s.event(ctx, EventEscalated, cur, in.By, withEvidence(fmt.Sprintf(
			"Escalated to the next step of stage %d. Reason: %s", cur, in.Reason))), cur, cur, MoveNextStep))
		events = append(events, s.moved(cur, MoveNextStep, s.enterStep(ctx, s.c.Stage.Step+1, now))...)
	default:
		next, _ := s.policy.Stage(target)
		events = append(events, s.move(s.event(ctx, EventEscalated, cur, in.By, withEvidence(fmt.Sprintf(
			"Escalated from stage %d to stage %d (%s). Reason: %s", cur, target, next.Name, in.Reason))), cur, target, MoveEscalated))
		events = append(events, s.moved(cur, MoveEscalated, s.enterStage(ctx, target, now, nil)...)...)
	}
	if err := s.commit(ctx, events...); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateDeadline(ctx workflow.Context, in DeadlineInput) error {
	return s.validateDeadlineAt(workflow.Now(ctx), in)
}

func (s *caseState) validateDeadlineAt(now time.Time, in DeadlineInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if s.policy.DeadlinesNeedBothSides() && s.sideOf(in.By.Email) == "" {
		return conflict("in this procedure a deadline is agreed by both sides: a party of one side proposes it and the other side confirms it; the partnership and admins cannot agree it for a side")
	}
	if !in.DueAt.After(now) {
		return ruleViolation("due_at is in the past")
	}
	if strings.TrimSpace(in.Reason) == "" {
		return ruleViolation("an agreed deadline needs a reason")
	}
	max, bounded, err := s.policy.MaxDue(s.c.Stage.Number, s.c.Stage.Step, s.c.Urgent, s.c.Stage.StartedAt)
	if err != nil {
		return ruleViolation("stage %d has no maximum deadline", s.c.Stage.Number)
	}
	if bounded && in.DueAt.After(max) {
		return ruleViolation("due_at is later than the policy's maximum for stage %d (%s)", s.c.Stage.Number, s.localTime(max))
	}
	return nil
}

func (s *caseState) handleDeadline(ctx workflow.Context, in DeadlineInput) (ActionResult, error) {
	if s.policy.DeadlinesNeedBothSides() {
		return s.proposeDeadline(ctx, in)
	}
	s.c.Stage.DueAt = in.DueAt
	s.c.Stage.Agreed = true
	s.c.Stage.Overdue = false
	s.epoch++
	ev := s.withDue(s.event(ctx, EventDeadlineChanged, s.c.Stage.Number, in.By,
		fmt.Sprintf("Stage %d deadline agreed as %s. Reason: %s", s.c.Stage.Number, s.localTime(in.DueAt), in.Reason)), in.DueAt)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

// proposeDeadline records one side's proposed deadline for the current
// stage; it replaces any earlier proposal and takes effect when the other
// side confirms it.
func (s *caseState) proposeDeadline(ctx workflow.Context, in DeadlineInput) (ActionResult, error) {
	side := s.sideOf(in.By.Email)
	text := fmt.Sprintf("Stage %d deadline of %s proposed by %s for the %s's side; it takes effect when the other side confirms it (deadlines are agreed by both sides).",
		s.c.Stage.Number, s.localTime(in.DueAt), in.By.Name, side)
	if p := s.c.PendingDeadline; p != nil {
		text += fmt.Sprintf(" It replaces the deadline of %s proposed by %s.", s.localTime(p.DueAt), p.ProposedBy)
	}
	text += " Reason: " + in.Reason
	s.c.PendingDeadline = &PendingDeadline{DueAt: in.DueAt, Reason: in.Reason, ProposedBy: in.By.Name, ProposedBySide: side,
		ProposedAt: workflow.Now(ctx), Stage: s.c.Stage.Number}
	ev := s.event(ctx, EventDeadlineProposed, s.c.Stage.Number, in.By, text)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateConfirmDeadline(ctx workflow.Context, in ConfirmDeadlineInput) error {
	return s.validateConfirmDeadlineAt(workflow.Now(ctx), in)
}

func (s *caseState) validateConfirmDeadlineAt(now time.Time, in ConfirmDeadlineInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	p := s.c.PendingDeadline
	if p == nil {
		return conflict("no deadline is proposed at stage %d", s.c.Stage.Number)
	}
	side := s.sideOf(in.By.Email)
	if side == "" {
		return conflict("only a party of the other side can confirm the proposed deadline; the partnership and admins cannot agree it for a side")
	}
	if side == p.ProposedBySide {
		return conflict("the %s's side proposed this deadline; the other side confirms it", side)
	}
	if !p.DueAt.After(now) {
		return ruleViolation("the proposed deadline (%s) has passed; propose another (POST /v1/cases/{ref}/deadline)", s.localTime(p.DueAt))
	}
	return nil
}

func (s *caseState) handleConfirmDeadline(ctx workflow.Context, in ConfirmDeadlineInput) (ActionResult, error) {
	p := s.c.PendingDeadline
	s.c.PendingDeadline = nil
	s.c.Stage.DueAt = p.DueAt
	s.c.Stage.Agreed = true
	s.c.Stage.Overdue = false
	s.epoch++
	ev := s.withDue(s.event(ctx, EventDeadlineChanged, s.c.Stage.Number, in.By,
		fmt.Sprintf("Stage %d deadline agreed as %s by both sides: proposed by %s for the %s's side, confirmed by %s for the %s's side. Reason: %s",
			s.c.Stage.Number, s.localTime(p.DueAt), p.ProposedBy, p.ProposedBySide, in.By.Name, s.sideOf(in.By.Email), p.Reason)), p.DueAt)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validatePropose(in ProposeAgreementInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if s.c.Status == StatusAgreementProposed {
		return conflict("an agreement is already proposed; confirm or reject it first")
	}
	if s.sideOf(in.By.Email) == "" {
		return conflict("only a party on one side of the disagreement can propose the agreed outcome")
	}
	if strings.TrimSpace(in.Outcome) == "" {
		return ruleViolation("the agreement needs a written outcome")
	}
	return nil
}

func (s *caseState) handlePropose(ctx workflow.Context, in ProposeAgreementInput) (ActionResult, error) {
	actions := in.Actions
	if actions == nil {
		actions = []Action{}
	}
	s.c.Agreement = &Agreement{
		ProposedBy:     in.By.Name,
		ProposedBySide: s.sideOf(in.By.Email),
		Outcome:        in.Outcome,
		Actions:        actions,
		Learning:       in.Learning,
		ProposedAt:     workflow.Now(ctx),
	}
	s.c.Status = StatusAgreementProposed
	text := "Agreed outcome proposed: " + in.Outcome
	for _, a := range actions {
		text += fmt.Sprintf("\n- %s (who: %s; by %s)", a.What, a.Who, s.localTime(a.By))
	}
	ev := s.event(ctx, EventAgreementProposed, s.c.Stage.Number, in.By, text)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateConfirm(in ConfirmAgreementInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if s.c.Status != StatusAgreementProposed || s.c.Agreement == nil {
		return conflict("no agreement is proposed")
	}
	side := s.sideOf(in.By.Email)
	if side == "" {
		return conflict("only a party of the other side can confirm the agreement")
	}
	if side == s.c.Agreement.ProposedBySide {
		return conflict("the %s's side proposed this agreement; the other side confirms it", side)
	}
	return nil
}

func (s *caseState) handleConfirm(ctx workflow.Context, in ConfirmAgreementInput) (ActionResult, error) {
	now := workflow.Now(ctx)
	s.c.Agreement.ConfirmedBy = in.By.Name
	s.c.Agreement.At = &now
	s.c.Learning = s.c.Agreement.Learning
	s.c.Outcome = s.c.Agreement.Outcome
	s.close(ctx, StatusResolved)
	ev := s.closing(s.event(ctx, EventAgreementConfirm, s.c.Stage.Number, in.By,
		fmt.Sprintf("Agreement confirmed by %s: the disagreement is resolved at stage %d.", in.By.Name, s.c.Stage.Number)), true)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateReject(in RejectAgreementInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if s.c.Status != StatusAgreementProposed || s.c.Agreement == nil {
		return conflict("no agreement is proposed")
	}
	if s.sideOf(in.By.Email) == "" {
		return conflict("only a party of the case can reject the proposed agreement")
	}
	if strings.TrimSpace(in.Reason) == "" {
		return ruleViolation("a rejection needs a reason")
	}
	return nil
}

func (s *caseState) handleReject(ctx workflow.Context, in RejectAgreementInput) (ActionResult, error) {
	s.c.Agreement = nil
	s.c.Status = StatusOpen
	ev := s.event(ctx, EventAgreementRejected, s.c.Stage.Number, in.By,
		fmt.Sprintf("Proposed agreement rejected; the case stays open at stage %d. Reason: %s", s.c.Stage.Number, in.Reason))
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateWithdraw(in WithdrawInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if s.sideOf(in.By.Email) != SideRaiser {
		return conflict("only the raiser's side can withdraw the disagreement")
	}
	if strings.TrimSpace(in.Reason) == "" {
		return ruleViolation("a withdrawal needs a reason")
	}
	return nil
}

func (s *caseState) handleWithdraw(ctx workflow.Context, in WithdrawInput) (ActionResult, error) {
	s.close(ctx, StatusWithdrawn)
	ev := s.closing(s.event(ctx, EventWithdrawn, s.c.Stage.Number, in.By, "Withdrawn by the raiser's side. Reason: "+in.Reason), false)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateOutcome(in OutcomeInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if p := s.policy.PartnershipStage(); p == 0 || s.c.Stage.Number != p {
		return conflict("the partnership records an outcome only at the partnership stage; the case is at stage %d", s.c.Stage.Number)
	}
	if strings.TrimSpace(in.Outcome) == "" {
		return ruleViolation("the outcome needs text")
	}
	if s.c.Stage.Phase == PhaseAwaitingReview {
		return conflict("the partnership first checks that the earlier stages were followed (review)")
	}
	st, _ := s.policy.Stage(s.c.Stage.Number)
	if st.Review && st.Meeting != "" && !s.heldMeeting(st.Number) {
		return conflict("record the %s first (POST /v1/cases/{ref}/meetings): at stage %d the outcome follows it", st.Meeting, st.Number)
	}
	if !s.decisions {
		if st.RecordCaseReview && in.CaseReviewConsidered == nil {
			return ruleViolation("say whether a multi-agency case review was considered (case_review_considered)")
		}
		return nil
	}
	if st.OutcomeAfterMeeting && !s.heldMeeting(st.Number) {
		return conflict("the %s is offered first: record it (POST /v1/cases/{ref}/meetings), or record that the offer was declined (declined: true); at stage %d the outcome follows it",
			st.Meeting, st.Number)
	}
	if s.policy.OutcomeBy == policies.OutcomeByParties && in.Resolved {
		return ruleViolation("in this procedure the partnership never decides a case (\"no-one from the Business Group, including the chair can be a case decision-maker\"): " +
			"the parties resolve it by a written agreement (POST /v1/cases/{ref}/agreement, confirmed by the other side); " +
			"record the recommendations with resolved false to close it unresolved, or as a note to keep it open")
	}
	if st.RecordCaseReview && in.CaseReviewConsidered == nil && (!in.Resolved || strings.TrimSpace(in.Learning) != "") {
		return ruleViolation("the case ends unresolved or with lessons to learn: say whether a multi-agency case review was considered (case_review_considered)")
	}
	return nil
}

func (s *caseState) handleOutcome(ctx workflow.Context, in OutcomeInput) (ActionResult, error) {
	status := StatusUnresolved
	verb := "unresolved"
	if in.Resolved {
		status, verb = StatusResolved, "resolved"
	}
	s.c.Outcome = in.Outcome
	s.c.Learning = in.Learning
	s.c.DecidedBy = s.policy.OutcomeBy
	s.c.CaseReviewConsidered = in.CaseReviewConsidered
	s.close(ctx, status)
	text := fmt.Sprintf("Partnership outcome recorded by %s; the case is closed %s. Outcome: %s", in.By.Name, verb, in.Outcome)
	switch {
	case s.policy.OutcomeBy == policies.OutcomeByParties && s.decisions:
		// The validator allows only unresolved here: the partnership
		// records its recommendations, never a decision.
		s.c.Recommendations = in.Outcome
		text = fmt.Sprintf("Recommendations recorded by %s for the partnership, which does not decide cases (the decision is the shared responsibility of those involved); "+
			"the parties reached no written agreement and the case is closed %s. Recommendations: %s", in.By.Name, verb, in.Outcome)
	case s.policy.OutcomeBy == policies.OutcomeByParties:
		text = fmt.Sprintf("Outcome recorded by %s as the parties' decision (the partnership does not decide cases); the case is closed %s. Outcome: %s", in.By.Name, verb, in.Outcome)
	}
	if in.CaseReviewConsidered != nil {
		if *in.CaseReviewConsidered {
			text += " A multi-agency case review was considered."
		} else {
			text += " A multi-agency case review was not considered."
		}
	}
	if in.Learning != "" {
		text += " Learning (for the partnership's learning group): " + in.Learning
	}
	ev := s.closing(s.event(ctx, EventOutcome, s.c.Stage.Number, in.By, text), in.Resolved)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) close(ctx workflow.Context, status string) {
	now := workflow.Now(ctx)
	s.c.Status = status
	s.c.ClosedAt = &now
	s.c.PendingDeadline = nil
	s.epoch++
}

func (s *caseState) validateReview(in ReviewInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	if s.c.Stage.Phase != PhaseAwaitingReview {
		return conflict("stage %d is not awaiting a review", s.c.Stage.Number)
	}
	if strings.TrimSpace(in.NextSteps) == "" {
		return ruleViolation("say what happens next (next_steps)")
	}
	if !in.Followed && (in.SendBackTo < 1 || in.SendBackTo >= s.c.Stage.Number) {
		return ruleViolation("send_back_to must be the earlier stage that was not followed (1 to %d)", s.c.Stage.Number-1)
	}
	return nil
}

func (s *caseState) handleReview(ctx workflow.Context, in ReviewInput) (ActionResult, error) {
	cur := s.c.Stage.Number
	var events []Event
	if in.Followed {
		s.c.Stage.Phase = PhaseAwaitingBusinessGroup
		events = append(events, s.event(ctx, EventReviewConfirmed, cur, in.By,
			"The partnership confirmed the earlier stages were followed; the case awaits the Business Group. Next steps: "+in.NextSteps))
	} else {
		back, _ := s.policy.Stage(in.SendBackTo)
		events = append(events, s.move(s.event(ctx, EventSentBack, cur, in.By, fmt.Sprintf(
			"Sent back to stage %d (%s): the earlier stages were not all followed. Next steps: %s", back.Number, back.Name, in.NextSteps)), cur, back.Number, MoveSentBack))
		events = append(events, s.moved(cur, MoveSentBack, s.enterStage(ctx, back.Number, workflow.Now(ctx), nil)...)...)
	}
	if err := s.commit(ctx, events...); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}

func (s *caseState) validateMeeting(in MeetingInput) error {
	if err := s.validateOpen(); err != nil {
		return err
	}
	st, _ := s.policy.Stage(s.c.Stage.Number)
	if st.Meeting == "" {
		return conflict("stage %d (%s) holds no meeting in this procedure", st.Number, st.Name)
	}
	if s.c.Stage.Phase == PhaseAwaitingReview {
		return conflict("the %s comes after the partnership's review: first record whether the earlier stages were followed (POST /v1/cases/{ref}/review)", st.Meeting)
	}
	if in.At.IsZero() {
		return ruleViolation("give the meeting's date and time (at)")
	}
	if in.Facilitator != nil && st.FacilitatorIndependent {
		title := strings.ToLower(facilitatorTitle(st))
		email := strings.TrimSpace(in.Facilitator.Email)
		if email == "" {
			return ruleViolation("give the %s's email address (facilitator.email), so that their independence of the case can be checked", title)
		}
		if side := s.sideOf(email); side != "" {
			return conflict("%s acts for the %s's side of this case; the %s must be someone not involved in the case", email, side, title)
		}
		if s.isAdviser(email) {
			return conflict("%s has joined this case as an adviser; the %s must be someone not involved in the case", email, title)
		}
	}
	return nil
}

// facilitatorTitle is what the record calls a stage meeting's facilitator.
func facilitatorTitle(st policies.Stage) string {
	if st.FacilitatorRole != "" {
		return st.FacilitatorRole
	}
	return "Restorative facilitator"
}

// heldMeeting reports whether a meeting of stage n is recorded, held or
// offered and declined.
func (s *caseState) heldMeeting(n int) bool {
	for _, m := range s.c.Meetings {
		if m.Stage == n {
			return true
		}
	}
	return false
}

func (s *caseState) handleMeeting(ctx workflow.Context, in MeetingInput) (ActionResult, error) {
	st, _ := s.policy.Stage(s.c.Stage.Number)
	purpose := in.Purpose
	if strings.TrimSpace(purpose) == "" {
		purpose = st.Meeting
	}
	s.c.Meetings = append(s.c.Meetings, Meeting{At: in.At, Stage: st.Number, Purpose: purpose, Facilitator: in.Facilitator, RecordedBy: in.By.Name, Declined: in.Declined})
	text := fmt.Sprintf("%s recorded for %s: %s.", st.Meeting, s.localTime(in.At), purpose)
	if in.Declined {
		text = fmt.Sprintf("%s offered for %s and declined by the parties: %s.", st.Meeting, s.localTime(in.At), purpose)
	}
	if in.Facilitator != nil {
		// facilitatorTitle is "Restorative facilitator" unless the policy
		// names the role, so cases started before facilitator_role existed
		// record the same text as before.
		text += fmt.Sprintf(" %s: %s.", facilitatorTitle(st), in.Facilitator.Name)
	}
	ev := s.event(ctx, EventMeeting, st.Number, in.By, text)
	if err := s.commit(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	return s.answer()
}
