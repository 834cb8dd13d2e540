package cases

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// Start raises a disagreement for me (the raiser is always the caller)
// and answers with the case once its opening is recorded. With a key (an
// Idempotency-Key, or a page's draft), the same key and request answer
// the same case, never a second one; the same key with another request is
// a Conflict.
func (s *Service) Start(ctx context.Context, me Principal, req StartRequest, key string) (workflows.Case, error) {
	if err := Check(req); err != nil {
		return workflows.Case{}, err
	}
	pol, ok := s.Policy(req.Policy)
	if !ok {
		return workflows.Case{}, InvalidField("policy", "unknown policy; GET /v1/policies lists them")
	}
	if err := CheckCategory(pol, req.Category, req.CategoryDetail); err != nil {
		return workflows.Case{}, err
	}
	if err := CheckRespondent(me, req.Respondent.Email); err != nil {
		return workflows.Case{}, err
	}
	if lm := req.RaiserLineManager; lm != nil {
		switch email := strings.TrimSpace(lm.Email); {
		case strings.EqualFold(email, me.Email):
			return workflows.Case{}, RuleViolation("your line manager acts for your side at stage 2: name them, not yourself",
				map[string]string{"raiser_line_manager.email": "must not be your own"})
		case strings.EqualFold(email, strings.TrimSpace(req.Respondent.Email)):
			return workflows.Case{}, RuleViolation("your line manager acts for your side; the respondent is on the other side",
				map[string]string{"raiser_line_manager.email": "must not be the respondent's"})
		}
	}
	now := s.now()
	var due *time.Time
	if req.DueAt != "" {
		t, err := parseTime("due_at", req.DueAt)
		if err != nil {
			return workflows.Case{}, err
		}
		if !t.After(now) {
			return workflows.Case{}, InvalidField("due_at", "must be in the future")
		}
		step := 0
		if first, _ := pol.Stage(1); len(first.Steps) > 0 {
			step = 1
		}
		max, bounded, err := pol.MaxDue(1, step, req.Urgent, now)
		if err != nil {
			return workflows.Case{}, err
		}
		if bounded && t.After(max) {
			return workflows.Case{}, RuleViolation("due_at is later than the policy's maximum for stage 1",
				map[string]string{"due_at": "must be no later than " + max.Format(time.RFC3339)})
		}
		due = &t
	}
	year := LocalNow(pol, now).Year()
	if err := checkKey(key); err != nil {
		return workflows.Case{}, err
	}
	// Room at Temporal, then Temporal itself: while it is busy or down
	// nothing is written and no reference is used.
	release, err := s.Admit(ctx)
	if err != nil {
		return workflows.Case{}, err
	}
	defer release()
	if err := s.TemporalReachable(ctx); err != nil {
		return workflows.Case{}, err
	}
	// The case runs under a snapshot: bank holidays as dates, closures.
	pol, err = s.SnapshotPolicy(ctx, pol, now)
	if err != nil {
		return workflows.Case{}, err
	}
	// The record keeps the snapshot now, by its hash: the case's opening
	// names it by that rather than carrying it through Temporal a second
	// time. A snapshot kept for a case that then fails to start is kept
	// for the next case under it (many cases share one).
	polHash, err := s.store.KeepPolicySnapshot(ctx, pol)
	if err != nil {
		return workflows.Case{}, err
	}
	owner := strings.ToLower(me.Email)
	var ref string
	claimed := false // this request bound key to ref
	if key != "" {
		canonical, _ := json.Marshal(req)
		sum := sha256.Sum256(canonical)
		r, existing, err := s.store.ClaimRef(ctx, owner, key, sum[:], pol.RefPrefix, year)
		if errors.Is(err, store.ErrIdempotencyMismatch) {
			return workflows.Case{}, ConflictError("this Idempotency-Key was used with a different body")
		}
		if err != nil {
			return workflows.Case{}, err
		}
		ref, claimed = r, !existing
		if existing {
			// An earlier request with this key got the reference. Its case
			// is recorded, or about to be (a retry racing the first
			// request): wait a moment for it rather than joining the start,
			// which sends the workflow one more update. Not recorded by
			// then, the earlier start failed or its answer was lost: start
			// it under the same reference, which joins it if it was started.
			if cs, ok := s.awaitCase(ctx, ref, duplicateWait); ok {
				return cs, nil
			}
		}
	} else {
		r, err := s.store.NextRef(ctx, pol.RefPrefix, year)
		if err != nil {
			return workflows.Case{}, err
		}
		ref = r
	}

	// The workflow carries which request started it (memo), so a retry
	// joins its own case and never another's.
	request := newRequestID(owner, key, req)
	for attempt := 1; ; attempt++ {
		var err error
		if claimed || key == "" {
			// A reference fresh from the counter may still be taken: the
			// database was restored from a backup, or Temporal kept cases
			// of an earlier database.
			exists, xerr := s.store.CaseExists(ctx, ref)
			if xerr != nil {
				return workflows.Case{}, xerr
			}
			if exists {
				err = errRefTaken
			}
		}
		if err == nil {
			err = s.startCase(ctx, ref, request, pol, polHash, req, due, me)
		}
		if !errors.Is(err, errRefTaken) {
			if err != nil {
				return workflows.Case{}, s.StartFailed(ctx, err, owner, key, ref, claimed)
			}
			break
		}
		if attempt == maxRefAttempts {
			s.log.ErrorContext(ctx, "no free case reference", "request_id", requestID(ctx), "last", ref)
			return workflows.Case{}, errors.New("no free case reference")
		}
		next, err := s.store.NextRef(ctx, pol.RefPrefix, year)
		if err != nil {
			return workflows.Case{}, err
		}
		s.log.WarnContext(ctx, "case reference already used; taking the next", "request_id", requestID(ctx), "taken", ref, "next", next)
		if key != "" {
			if err := s.store.RebindRef(ctx, owner, key, ref, next); err != nil {
				return workflows.Case{}, err
			}
			claimed = true
		}
		ref = next
	}
	s.log.Info("case opened", "request_id", requestID(ctx), "ref", ref, "policy", pol.ID)
	s.SendClosuresMissed(ctx, ref, pol, now)
	cs, err := s.store.GetCase(ctx, ref)
	if err != nil {
		if store.IsUnavailable(err) || TimedOut(err) {
			s.log.WarnContext(ctx, "case started but not read back", "request_id", requestID(ctx), "ref", ref, "error", err)
			return workflows.Case{}, outcomeUnknown("case %s was started but could not be read back: read it (GET /v1/cases/%s) "+
				"or repeat the request with the same Idempotency-Key; do not start it again without one", ref, ref)
		}
		return workflows.Case{}, err
	}
	return cs, nil
}

// CheckCategory is the procedure's rule for a case's category: one of the
// policy's, not one it sends elsewhere, with the detail it asks for.
func CheckCategory(pol policies.Policy, category, detail string) error {
	if o, out := pol.OutOfScopeCategory(category); out {
		return RuleViolation(o.Label+" is outside this procedure: "+o.Pointer, map[string]string{"category": "out of scope of this procedure"})
	}
	cat, ok := pol.Category(category)
	if !ok {
		return InvalidField("category", "not a category of policy "+pol.ID)
	}
	return categoryDetailProblem(cat, detail)
}

// CheckRespondent: the respondent is the other professional, never the
// raiser.
func CheckRespondent(me Principal, email string) error {
	if strings.EqualFold(strings.TrimSpace(email), me.Email) {
		return RuleViolation("the respondent is the other professional, not you", map[string]string{"respondent.email": "must not be your own"})
	}
	return nil
}

// categoryDetailProblem checks category_detail against the category: a
// category that needs one (other) and has none breaks the procedure's rule
// (422); a detail that is malformed, too long, or given to a category that
// takes none is a bad value (400).
func categoryDetailProblem(cat policies.Category, detail string) error {
	err := cat.CheckDetail(detail)
	if err == nil {
		return nil
	}
	if cat.NeedsDetail && strings.TrimSpace(detail) == "" {
		return RuleViolation(err.Error(), map[string]string{"category_detail": "required for category " + cat.ID})
	}
	return InvalidField("category_detail", err.Error())
}

// duplicateWait is how long a request whose Idempotency-Key another
// request has just used waits for that request's case to be recorded.
const duplicateWait = 3 * time.Second

// awaitCase reads the case ref until it is recorded, for at most d.
func (s *Service) awaitCase(ctx context.Context, ref string, d time.Duration) (workflows.Case, bool) {
	deadline := time.Now().Add(d)
	for {
		if cs, err := s.store.GetCase(ctx, ref); err == nil {
			return cs, true
		}
		if !time.Now().Before(deadline) {
			return workflows.Case{}, false
		}
		select {
		case <-ctx.Done():
			return workflows.Case{}, false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// maxRefAttempts bounds how many references a start tries when the
// ones it is given are taken.
const maxRefAttempts = 5

// errRefTaken: the reference belongs to another case (a workflow that is
// not this request's, or a case already recorded).
var errRefTaken = errors.New("case reference taken")

// requestMemo is the memo key naming the request that started a case.
const requestMemo = "escalate_request"

// newRequestID names the request that starts a case: with an
// Idempotency-Key, the same for every retry of it; without, unique.
func newRequestID(owner, key string, req StartRequest) string {
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return "r-" + hex.EncodeToString(b[:])
	}
	body, _ := json.Marshal(req)
	sum := sha256.Sum256([]byte(owner + "\x00" + key + "\x00" + string(body)))
	return "k-" + hex.EncodeToString(sum[:16])
}

// startCase starts the case's workflow under ref and waits until its
// opening is recorded. A workflow that already has the ID (running, or
// closed and still retained) is joined only if this request started it;
// otherwise the reference is taken (errRefTaken).
func (s *Service) startCase(ctx context.Context, ref, request string, pol policies.Policy, polHash string, req StartRequest, due *time.Time, me Principal) error {
	in := workflows.CaseInput{
		Ref: ref, Policy: pol, PolicyHash: polHash, ChildRef: req.ChildRef, Category: req.Category,
		CategoryDetail: strings.TrimSpace(req.CategoryDetail), Summary: req.Summary,
		Urgent: req.Urgent, DueAt: due, RequestID: request,
		Raiser: workflows.Party{Name: me.Name, Email: me.Email, Agency: me.Agency, Role: me.Role},
		Respondent: workflows.Party{Name: strings.TrimSpace(req.Respondent.Name), Email: strings.TrimSpace(req.Respondent.Email),
			Agency: strings.TrimSpace(req.Respondent.Agency)},
	}
	if lm := req.RaiserLineManager; lm != nil {
		in.RaiserLineManager = &workflows.Party{Name: strings.TrimSpace(lm.Name), Email: strings.TrimSpace(lm.Email), Agency: me.Agency, Role: "line manager"}
	}
	ctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	opened := client.UpdateWorkflowOptions{
		WorkflowID:   ref,
		UpdateName:   workflows.UpdateOpened,
		Args:         []any{workflows.OpenedInput{}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	start := s.temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       ref,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:            fmt.Sprintf("%s · %s · child ref %s", pol.Name, req.Category, req.ChildRef),
		TypedSearchAttributes:    workflows.StartSearchAttributes(in),
		Memo:                     map[string]any{requestMemo: request},
	}, workflows.CaseWorkflowName, in)
	handle, err := s.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions:          opened,
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		mine, derr := s.startedBy(ctx, ref, request)
		if derr != nil {
			return derr
		}
		if !mine {
			return errRefTaken
		}
		handle, err = s.temporal.UpdateWorkflow(ctx, opened)
	}
	if err == nil {
		err = handle.Get(ctx, nil)
	}
	return err
}

// startedBy reports whether the workflow ref was started by request, from
// its memo (read without the worker: a workflow no worker serves answers
// too).
func (s *Service) startedBy(ctx context.Context, ref, request string) (bool, error) {
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, ref, "")
	if err != nil {
		return false, err
	}
	p, ok := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[requestMemo]
	if !ok {
		return false, nil
	}
	var got string
	if err := s.dc.FromPayload(p, &got); err != nil {
		return false, nil
	}
	return got == request, nil
}

// StartFailed answers a start that Temporal did not confirm. Refused
// outright, the start recorded nothing: the key's claim is released so that
// a retry starts afresh (the reference's number is not reused: a gap in the
// numbering). Not answered in time, it may have been accepted: the key stays
// bound to the reference, so a retry with it finds or starts that one case.
func (s *Service) StartFailed(ctx context.Context, err error, owner, key, ref string, claimed bool) error {
	switch {
	case NotAccepted(err), recordRefused(err):
		if claimed {
			if rerr := s.store.ReleaseRef(context.WithoutCancel(ctx), owner, key, ref); rerr != nil {
				s.log.ErrorContext(ctx, "idempotency key not released", "request_id", requestID(ctx), "ref", ref, "error", rerr)
			}
		}
		if e, ok := AsError(err); ok {
			return e
		}
		return err
	case TimedOut(err), TemporalUnavailable(err):
		s.log.WarnContext(ctx, "case start not confirmed", "request_id", requestID(ctx), "ref", ref, "error", err)
		if key != "" {
			return outcomeUnknown("Temporal did not confirm in time whether case %s was started. "+
				"Repeat the request with the same Idempotency-Key: it answers with that case, starting it if it was not", ref)
		}
		return outcomeUnknown("Temporal did not confirm in time whether case %s was started. "+
			"Read it (GET /v1/cases/%s) in a minute before starting it again; an Idempotency-Key makes repeating a request safe", ref, ref)
	}
	if e, ok := AsError(err); ok {
		return e
	}
	return err
}
