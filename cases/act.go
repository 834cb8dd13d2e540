package cases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"escalate/store"
	"escalate/workflows"
)

// Action is one thing a person does to a case: the workflow update it
// sends, who may send it (the contract's access rule), and its argument,
// which may depend on the case as read.
type Action struct {
	// Update is the workflow update's name (workflows/names.go).
	Update string
	// Allowed is the access rule: CanAct, or PartnershipOf.
	Allowed func(Principal, workflows.Case) bool
	// Arg builds the update's argument from the case as read.
	Arg func(workflows.Case) any
}

// Result is an action's answer: the case as recorded after it, and the
// JSON API's answer body (kept with an Idempotency-Key and replayed to a
// retry, with Replayed set; Case is then empty).
type Result struct {
	Case     workflows.Case
	Body     []byte
	Replayed bool
}

// Act checks that me may take the action on case ref, sends it to the
// case's workflow, whose validators apply the procedure's rules, and
// answers once it is recorded. With a key, a retry replays the first
// answer and never records twice; the same key with another request is a
// Conflict.
func (s *Service) Act(ctx context.Context, me Principal, ref string, a Action, key string) (Result, error) {
	cs, err := s.Load(ctx, me, ref, a.Allowed)
	if err != nil {
		return Result{}, err
	}
	arg := a.Arg(cs)
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	var updateID string
	owner := strings.ToLower(me.Email)
	if key != "" {
		// Bound to this request the first time; a retry replays the first
		// answer, or (if that answer was lost) sends the same update again,
		// which Temporal recognises by its ID and does not apply twice.
		k, err := s.store.ClaimActionKey(ctx, owner, key, cs.Ref, a.Update, actionHash(cs.Ref, a.Update, arg))
		if errors.Is(err, store.ErrIdempotencyMismatch) {
			return Result{}, ConflictError("this Idempotency-Key was used with a different request")
		}
		if err != nil {
			return Result{}, err
		}
		if k.Response != nil {
			return Result{Body: k.Response, Replayed: true}, nil
		}
		updateID = actionUpdateID(owner, key)
	}
	if cs.Closed() {
		return Result{}, ConflictError("the case is closed (%s)", cs.Status)
	}
	release, err := s.Admit(ctx)
	if err != nil {
		return Result{}, err
	}
	defer release()
	if err := s.TemporalReachable(ctx); err != nil {
		return Result{}, err
	}
	uctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	handle, err := s.temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID:   cs.Ref,
		UpdateID:     updateID,
		UpdateName:   a.Update,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(uctx, nil)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return Result{}, ConflictError("the case is closed")
	}
	if err != nil && (TimedOut(err) || TemporalUnavailable(err)) {
		s.log.WarnContext(ctx, "case action not confirmed", "request_id", requestID(ctx), "ref", cs.Ref, "action", a.Update, "error", err)
		if key != "" {
			return Result{}, outcomeUnknown("Temporal did not confirm in time whether the change to case %s was recorded. "+
				"Repeat the request with the same Idempotency-Key: it is recorded once whatever happened", cs.Ref)
		}
		return Result{}, outcomeUnknown("Temporal did not confirm in time whether the change to case %s was recorded. "+
			"Read the case (GET /v1/cases/%s) before trying again, so that it is not recorded twice; "+
			"an Idempotency-Key makes repeating a request safe", cs.Ref, cs.Ref)
	}
	if err != nil {
		if e, ok := AsError(err); ok {
			if e.Kind == RecordRefused {
				s.log.ErrorContext(ctx, "record refused a value", "request_id", requestID(ctx), "ref", cs.Ref, "action", a.Update, "error", err)
			}
			return Result{}, e
		}
		return Result{}, err
	}
	s.log.Info("case action", "request_id", requestID(ctx), "ref", cs.Ref, "action", a.Update, "by", me.TokenID)
	updated, err := s.store.GetCase(ctx, cs.Ref)
	if err != nil {
		if store.IsUnavailable(err) || TimedOut(err) {
			s.log.WarnContext(ctx, "case action recorded but not read back", "request_id", requestID(ctx), "ref", cs.Ref, "error", err)
			return Result{}, outcomeUnknown("the change to case %s was recorded but the case could not be read back: "+
				"read it (GET /v1/cases/%s); do not repeat the change", cs.Ref, cs.Ref)
		}
		return Result{}, err
	}
	body, err := json.Marshal(updated)
	if err != nil {
		return Result{}, err
	}
	if key != "" {
		if err := s.store.AnswerActionKey(context.WithoutCancel(ctx), owner, key, body); err != nil {
			// The change is recorded; a retry sends the same update ID,
			// which Temporal does not apply twice.
			s.log.WarnContext(ctx, "idempotent answer not kept", "request_id", requestID(ctx), "ref", cs.Ref, "error", err)
		}
	}
	return Result{Case: updated, Body: body}, nil
}

// actionHash names an action request: the case, the action and what it
// carries (the caller included).
func actionHash(ref, update string, arg any) []byte {
	body, _ := json.Marshal(arg)
	h := sha256.New()
	for _, part := range [][]byte{[]byte(ref), []byte(update), body} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		h.Write(part)
	}
	return h.Sum(nil)
}

// actionUpdateID is the Temporal update ID of a keyed action: the same for
// every retry with the key, so Temporal applies it once.
func actionUpdateID(owner, key string) string {
	sum := sha256.Sum256([]byte(owner + "\x00" + key))
	return "key-" + hex.EncodeToString(sum[:16])
}

// ---- the actions ----

// Each builds the Action for a request, after its field rules (Check) and
// the parsing of its times; the procedure's rules are the workflow's
// validators'.

func fixed(arg any) func(workflows.Case) any { return func(workflows.Case) any { return arg } }

// Note records a discussion or decision.
func (s *Service) Note(me Principal, req NoteRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	return Action{Update: workflows.UpdateNote, Allowed: CanAct, Arg: fixed(workflows.NoteInput{By: me.Person(), Text: req.Text})}, nil
}

// Contact names the person acting for a side at the current stage.
func (s *Service) Contact(me Principal, req ContactRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	return Action{Update: workflows.UpdateContact, Allowed: CanAct, Arg: func(cs workflows.Case) any {
		return workflows.ContactInput{
			By: me.Person(), Side: req.Side, Name: strings.TrimSpace(req.Name), Email: strings.TrimSpace(req.Email),
			Role: strings.TrimSpace(req.Role), ForEitherSide: ActsForEitherSide(me, cs)}
	}}, nil
}

// Escalate climbs now.
func (s *Service) Escalate(me Principal, req EscalationRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	return Action{Update: workflows.UpdateEscalate, Allowed: CanAct, Arg: fixed(workflows.EscalateInput{
		By: me.Person(), Reason: req.Reason, Evidence: req.Evidence, ToStage: req.ToStage, NextLevel: req.NextLevel})}, nil
}

// Deadline agrees (or, where both sides agree deadlines, proposes) a
// shorter deadline for the current stage.
func (s *Service) Deadline(me Principal, req DeadlineRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	due, err := parseTime("due_at", req.DueAt)
	if err != nil {
		return Action{}, err
	}
	if !due.After(s.now()) {
		return Action{}, InvalidField("due_at", "must be in the future")
	}
	return Action{Update: workflows.UpdateDeadline, Allowed: CanAct, Arg: fixed(workflows.DeadlineInput{By: me.Person(), DueAt: due, Reason: req.Reason})}, nil
}

// ConfirmDeadline is the other side confirming a proposed deadline.
func (s *Service) ConfirmDeadline(me Principal) Action {
	return Action{Update: workflows.UpdateConfirmDeadline, Allowed: CanAct, Arg: fixed(workflows.ConfirmDeadlineInput{By: me.Person()})}
}

// ProposeAgreement proposes the written outcome with its actions.
func (s *Service) ProposeAgreement(me Principal, req AgreementRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	actions := make([]workflows.Action, 0, len(req.Actions))
	for i, a := range req.Actions {
		by, err := parseTime(fmt.Sprintf("actions[%d].by", i), a.By)
		if err != nil {
			return Action{}, err
		}
		actions = append(actions, workflows.Action{What: a.What, Who: a.Who, By: by})
	}
	return Action{Update: workflows.UpdateProposeAgreement, Allowed: CanAct, Arg: fixed(workflows.ProposeAgreementInput{
		By: me.Person(), Outcome: req.Outcome, Actions: actions, Learning: req.Learning})}, nil
}

// ConfirmAgreement is the other side confirming the proposed outcome.
func (s *Service) ConfirmAgreement(me Principal) Action {
	return Action{Update: workflows.UpdateConfirmAgreement, Allowed: CanAct, Arg: fixed(workflows.ConfirmAgreementInput{By: me.Person()})}
}

// RejectAgreement sends the proposed outcome back.
func (s *Service) RejectAgreement(me Principal, req ReasonRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	return Action{Update: workflows.UpdateRejectAgreement, Allowed: CanAct, Arg: fixed(workflows.RejectAgreementInput{By: me.Person(), Reason: req.Reason})}, nil
}

// Withdraw is the raiser's side withdrawing.
func (s *Service) Withdraw(me Principal, req ReasonRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	return Action{Update: workflows.UpdateWithdraw, Allowed: CanAct, Arg: fixed(workflows.WithdrawInput{By: me.Person(), Reason: req.Reason})}, nil
}

// Outcome is the partnership's outcome at the partnership stage.
func (s *Service) Outcome(me Principal, req OutcomeRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	return Action{Update: workflows.UpdateOutcome, Allowed: PartnershipOf, Arg: fixed(workflows.OutcomeInput{
		By: me.Person(), Resolved: *req.Resolved, Outcome: req.Outcome, Learning: req.Learning,
		CaseReviewConsidered: req.CaseReviewConsidered})}, nil
}

// Review is the partnership's check, on entry to a review stage, that the
// earlier stages were followed.
func (s *Service) Review(me Principal, req ReviewRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	return Action{Update: workflows.UpdateReview, Allowed: PartnershipOf, Arg: fixed(workflows.ReviewInput{
		By: me.Person(), Followed: *req.Followed, SendBackTo: req.SendBackTo, NextSteps: req.NextSteps})}, nil
}

// Meeting records a stage's meeting (held, or offered and declined).
func (s *Service) Meeting(me Principal, req MeetingRequest) (Action, error) {
	if err := Check(req); err != nil {
		return Action{}, err
	}
	at, err := parseTime("at", req.At)
	if err != nil {
		return Action{}, err
	}
	in := workflows.MeetingInput{By: me.Person(), At: at, Purpose: req.Purpose, Declined: req.Declined}
	if req.Facilitator != nil {
		in.Facilitator = &workflows.Party{Name: strings.TrimSpace(req.Facilitator.Name), Email: strings.TrimSpace(req.Facilitator.Email)}
	}
	return Action{Update: workflows.UpdateMeeting, Allowed: CanAct, Arg: fixed(in)}, nil
}
