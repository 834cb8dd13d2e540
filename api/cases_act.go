package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"escalate/store"
	"escalate/workflows"
)

// The actions on a case: POST /v1/cases/{ref}/..., each an update of its
// workflow, answered once recorded, safe to retry with an Idempotency-Key.

// act authorises the caller on the case, sends the update and answers with
// the case as recorded once the update has completed.
func (s *Server) act(c *gin.Context, allowed func(principal, workflows.Case) bool, update string, arg any) error {
	return s.actOn(c, allowed, update, func(workflows.Case) any { return arg })
}

// actOn is act with an update argument that depends on the case as read,
// e.g. on whether the caller is the partnership of its policy.
func (s *Server) actOn(c *gin.Context, allowed func(principal, workflows.Case) bool, update string, build func(workflows.Case) any) error {
	cs, err := s.loadCase(c, allowed)
	if err != nil {
		return err
	}
	arg := build(cs)
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var updateID string
	owner := strings.ToLower(caller(c).Email)
	if key != "" {
		// Bound to this request the first time; a retry replays the first
		// answer, or (if that answer was lost) sends the same update again,
		// which Temporal recognises by its ID and does not apply twice.
		k, err := s.store.ClaimActionKey(c.Request.Context(), owner, key, cs.Ref, update, actionHash(cs.Ref, update, arg))
		if errors.Is(err, store.ErrIdempotencyMismatch) {
			return conflict("this Idempotency-Key was used with a different request")
		}
		if err != nil {
			return err
		}
		if k.Response != nil {
			c.Header("Idempotent-Replayed", "true")
			c.Data(http.StatusOK, "application/json; charset=utf-8", k.Response)
			return nil
		}
		updateID = actionUpdateID(owner, key)
	}
	if cs.Closed() {
		return conflict(fmt.Sprintf("the case is closed (%s)", cs.Status))
	}
	if err := s.temporalReachable(c); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), temporalTimeout)
	defer cancel()
	handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   cs.Ref,
		UpdateID:     updateID,
		UpdateName:   update,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, nil)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return conflict("the case is closed")
	}
	if err != nil && (timedOut(err) || isUnavailable(err)) {
		s.log.WarnContext(c.Request.Context(), "case action not confirmed", "request_id", requestID(c), "ref", cs.Ref, "action", update, "error", err)
		if key != "" {
			return outcomeUnknown(fmt.Sprintf("Temporal did not confirm in time whether the change to case %s was recorded. "+
				"Repeat the request with the same Idempotency-Key: it is recorded once whatever happened", cs.Ref))
		}
		return outcomeUnknown(fmt.Sprintf("Temporal did not confirm in time whether the change to case %s was recorded. "+
			"Read the case (GET /v1/cases/%s) before trying again, so that it is not recorded twice; "+
			"an Idempotency-Key makes repeating a request safe", cs.Ref, cs.Ref))
	}
	if err != nil {
		return err
	}
	s.log.Info("case action", "request_id", requestID(c), "ref", cs.Ref, "action", update, "by", caller(c).TokenID)
	updated, err := s.store.GetCase(c.Request.Context(), cs.Ref)
	if err != nil {
		if store.IsUnavailable(err) || timedOut(err) {
			s.log.WarnContext(c.Request.Context(), "case action recorded but not read back", "request_id", requestID(c), "ref", cs.Ref, "error", err)
			return outcomeUnknown(fmt.Sprintf("the change to case %s was recorded but the case could not be read back: "+
				"read it (GET /v1/cases/%s); do not repeat the change", cs.Ref, cs.Ref))
		}
		return err
	}
	body, err := json.Marshal(updated)
	if err != nil {
		return err
	}
	if key != "" {
		if err := s.store.AnswerActionKey(context.WithoutCancel(c.Request.Context()), owner, key, body); err != nil {
			// The change is recorded; a retry sends the same update ID,
			// which Temporal does not apply twice.
			s.log.WarnContext(c.Request.Context(), "idempotent answer not kept", "request_id", requestID(c), "ref", cs.Ref, "error", err)
		}
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	return nil
}

// idempotencyKey is the request's Idempotency-Key header ("" if none).
func idempotencyKey(c *gin.Context) (string, error) {
	key := c.GetHeader("Idempotency-Key")
	if why := idempotencyKeyProblem(key); why != "" {
		return "", invalidField("Idempotency-Key", why)
	}
	return key, nil
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

type noteRequest struct {
	Text string `json:"text" binding:"required,notblank,text,max=10000"`
}

func (s *Server) addNote(c *gin.Context) error {
	var req noteRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return s.act(c, canAct, workflows.UpdateNote, workflows.NoteInput{By: caller(c).Person(), Text: req.Text})
}

type contactRequest struct {
	Side  string `json:"side" binding:"required,singleline,oneof=raiser respondent"`
	Name  string `json:"name" binding:"required,notblank,singleline,max=200"`
	Email string `json:"email" binding:"required,singleline,email,max=254"`
	Role  string `json:"role" binding:"required,notblank,singleline,max=200"`
}

func (s *Server) addContact(c *gin.Context) error {
	var req contactRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	me := caller(c)
	return s.actOn(c, canAct, workflows.UpdateContact, func(cs workflows.Case) any {
		return workflows.ContactInput{
			By: me.Person(), Side: req.Side, Name: strings.TrimSpace(req.Name), Email: strings.TrimSpace(req.Email),
			Role: strings.TrimSpace(req.Role), ForEitherSide: actsForEitherSide(me, cs)}
	})
}

type escalationRequest struct {
	Reason    string `json:"reason" binding:"required,notblank,text,max=10000"`
	Evidence  string `json:"evidence" binding:"text,max=10000"`
	ToStage   int    `json:"to_stage" binding:"min=0,max=99"`
	NextLevel bool   `json:"next_level"`
}

func (s *Server) escalate(c *gin.Context) error {
	var req escalationRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return s.act(c, canAct, workflows.UpdateEscalate, workflows.EscalateInput{
		By: caller(c).Person(), Reason: req.Reason, Evidence: req.Evidence, ToStage: req.ToStage, NextLevel: req.NextLevel})
}

type deadlineRequest struct {
	DueAt  string `json:"due_at" binding:"required,singleline"`
	Reason string `json:"reason" binding:"required,notblank,text,max=10000"`
}

func (s *Server) agreeDeadline(c *gin.Context) error {
	var req deadlineRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	due, err := parseTime("due_at", req.DueAt)
	if err != nil {
		return err
	}
	if !due.After(s.now()) {
		return invalidField("due_at", "must be in the future")
	}
	return s.act(c, canAct, workflows.UpdateDeadline, workflows.DeadlineInput{By: caller(c).Person(), DueAt: due, Reason: req.Reason})
}

// confirmDeadline is the other side confirming the deadline one side
// proposed, where the policy's deadlines are agreed by both sides.
func (s *Server) confirmDeadline(c *gin.Context) error {
	var req confirmRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, canAct, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: caller(c).Person()})
}

type actionRequest struct {
	What string `json:"what" binding:"required,notblank,text,max=2000"`
	Who  string `json:"who" binding:"required,notblank,singleline,max=200"`
	By   string `json:"by" binding:"required,singleline"`
}

type agreementRequest struct {
	Outcome  string          `json:"outcome" binding:"required,notblank,text,max=10000"`
	Actions  []actionRequest `json:"actions" binding:"max=50,dive"`
	Learning string          `json:"learning" binding:"text,max=10000"`
}

func (s *Server) proposeAgreement(c *gin.Context) error {
	var req agreementRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	actions := make([]workflows.Action, 0, len(req.Actions))
	for i, a := range req.Actions {
		by, err := parseTime(fmt.Sprintf("actions[%d].by", i), a.By)
		if err != nil {
			return err
		}
		actions = append(actions, workflows.Action{What: a.What, Who: a.Who, By: by})
	}
	return s.act(c, canAct, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{
		By: caller(c).Person(), Outcome: req.Outcome, Actions: actions, Learning: req.Learning})
}

type confirmRequest struct{}

func (s *Server) confirmAgreement(c *gin.Context) error {
	var req confirmRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, canAct, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: caller(c).Person()})
}

type reasonRequest struct {
	Reason string `json:"reason" binding:"required,notblank,text,max=10000"`
}

func (s *Server) rejectAgreement(c *gin.Context) error {
	var req reasonRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return s.act(c, canAct, workflows.UpdateRejectAgreement, workflows.RejectAgreementInput{By: caller(c).Person(), Reason: req.Reason})
}

func (s *Server) withdraw(c *gin.Context) error {
	var req reasonRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return s.act(c, canAct, workflows.UpdateWithdraw, workflows.WithdrawInput{By: caller(c).Person(), Reason: req.Reason})
}

type outcomeRequest struct {
	Resolved             *bool  `json:"resolved" binding:"required"`
	Outcome              string `json:"outcome" binding:"required,notblank,text,max=10000"`
	Learning             string `json:"learning" binding:"text,max=10000"`
	CaseReviewConsidered *bool  `json:"case_review_considered"`
}

func (s *Server) recordOutcome(c *gin.Context) error {
	var req outcomeRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return s.act(c, partnershipOf, workflows.UpdateOutcome, workflows.OutcomeInput{
		By: caller(c).Person(), Resolved: *req.Resolved, Outcome: req.Outcome, Learning: req.Learning,
		CaseReviewConsidered: req.CaseReviewConsidered})
}

type reviewRequest struct {
	Followed   *bool  `json:"followed" binding:"required"`
	SendBackTo int    `json:"send_back_to" binding:"min=0,max=99"`
	NextSteps  string `json:"next_steps" binding:"required,notblank,text,max=10000"`
}

// review is the partnership's check, on entry to a review stage, that the
// earlier stages were followed.
func (s *Server) review(c *gin.Context) error {
	var req reviewRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	return s.act(c, partnershipOf, workflows.UpdateReview, workflows.ReviewInput{
		By: caller(c).Person(), Followed: *req.Followed, SendBackTo: req.SendBackTo, NextSteps: req.NextSteps})
}

type facilitatorRequest struct {
	Name  string `json:"name" binding:"required,notblank,singleline,max=200"`
	Email string `json:"email" binding:"required,singleline,email,max=254"`
}

type meetingRequest struct {
	At          string              `json:"at" binding:"required,singleline"`
	Purpose     string              `json:"purpose" binding:"text,max=2000"`
	Facilitator *facilitatorRequest `json:"facilitator"`
	// Declined: the meeting (the mediation) was offered for At and the
	// parties declined it.
	Declined bool `json:"declined"`
}

func (s *Server) recordMeeting(c *gin.Context) error {
	var req meetingRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	at, err := parseTime("at", req.At)
	if err != nil {
		return err
	}
	in := workflows.MeetingInput{By: caller(c).Person(), At: at, Purpose: req.Purpose, Declined: req.Declined}
	if req.Facilitator != nil {
		in.Facilitator = &workflows.Party{Name: strings.TrimSpace(req.Facilitator.Name), Email: strings.TrimSpace(req.Facilitator.Email)}
	}
	return s.act(c, canAct, workflows.UpdateMeeting, in)
}
