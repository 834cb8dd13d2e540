package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"escalate/policies"
)

// CaseWorkflow runs one disagreement from its opening to its written outcome.
// Each stage waits for its deadline; when it passes, the stage's on_timeout
// acts. Every action arrives as an update and is answered once recorded.
func CaseWorkflow(ctx workflow.Context, in CaseInput) (CaseResult, error) {
	s, err := setup(ctx, in)
	if err != nil {
		return CaseResult{}, err
	}
	return s.run(ctx)
}

// caseState is the private state of one case workflow.
type caseState struct {
	policy policies.Policy
	clock  policies.Clock
	c      Case
	// epoch changes whenever the current stage or its deadline changes, so
	// the stage wait restarts with the new deadline.
	epoch int
	// opened is true once the opening is recorded.
	opened bool
	// delivering counts notification deliveries still running.
	delivering int
	runID      string
	// startDue is the stage-1 deadline agreed when the case was raised.
	startDue *time.Time
}

func setup(ctx workflow.Context, in CaseInput) (*caseState, error) {
	if in.Ref == "" || len(in.Policy.Stages) == 0 {
		return nil, temporal.NewNonRetryableApplicationError("case input needs a ref and a policy with stages", "invalid_input", nil)
	}
	clock, err := in.Policy.Clock()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("policy snapshot: "+err.Error(), "invalid_input", nil)
	}
	s := &caseState{
		policy:   in.Policy,
		clock:    clock,
		startDue: in.DueAt,
		runID:    workflow.GetInfo(ctx).WorkflowExecution.RunID,
		c: Case{
			Ref:          in.Ref,
			Policy:       in.Policy.ID,
			Status:       StatusOpen,
			ChildRef:     in.ChildRef,
			Category:     in.Category,
			Summary:      in.Summary,
			Urgent:       in.Urgent,
			CreatedAt:    workflow.Now(ctx),
			Raiser:       in.Raiser,
			Respondent:   in.Respondent,
			Contacts:     []Contact{},
			SafetyNotice: in.Policy.SafetyNotice,
		},
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Case, error) { return s.c, nil }); err != nil {
		return nil, err
	}
	handlers := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateOpened, s.handleOpened, s.validateOpened},
		{UpdateNote, s.handleNote, s.validateNote},
		{UpdateContact, s.handleContact, s.validateContact},
		{UpdateEscalate, s.handleEscalate, s.validateEscalate},
		{UpdateDeadline, s.handleDeadline, s.validateDeadline},
		{UpdateProposeAgreement, s.handlePropose, s.validatePropose},
		{UpdateConfirmAgreement, s.handleConfirm, s.validateConfirm},
		{UpdateRejectAgreement, s.handleReject, s.validateReject},
		{UpdateWithdraw, s.handleWithdraw, s.validateWithdraw},
		{UpdateOutcome, s.handleOutcome, s.validateOutcome},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler,
			workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *caseState) run(ctx workflow.Context) (CaseResult, error) {
	log := workflow.GetLogger(ctx)
	first, _ := s.policy.Stage(1)
	start := s.c.CreatedAt
	opened := s.event(ctx, EventOpened, 1, Person{Name: s.c.Raiser.Name, Email: s.c.Raiser.Email},
		fmt.Sprintf("Disagreement raised by %s (%s) with %s (%s). Category: %s.",
			s.c.Raiser.Name, s.c.Raiser.Agency, s.c.Respondent.Name, s.c.Respondent.Agency, s.categoryLabel()))
	entered := s.enterStage(ctx, first.Number, start, s.agreedStartDeadline(ctx, start))
	if err := s.commit(ctx, opened, entered); err != nil {
		return CaseResult{}, err
	}
	s.opened = true
	log.Info("case opened", "ref", s.c.Ref, "policy", s.policy.ID, "due", s.c.Stage.DueAt)

	for !s.c.Closed() {
		epoch := s.epoch
		changed := func() bool { return s.c.Closed() || s.epoch != epoch }
		if s.c.Stage.Overdue {
			// notify has acted: the stage stays open until someone acts.
			if err := workflow.Await(ctx, changed); err != nil {
				return CaseResult{}, err
			}
			continue
		}
		wait := s.c.Stage.DueAt.Sub(workflow.Now(ctx))
		if wait > 0 {
			ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout: wait,
				TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("stage %d deadline %s",
					s.c.Stage.Number, s.localTime(s.c.Stage.DueAt))},
			}, changed)
			if err != nil {
				return CaseResult{}, err
			}
			if ok {
				continue
			}
		}
		if err := s.deadlinePassed(ctx); err != nil {
			return CaseResult{}, err
		}
	}

	// Let every update finish answering and every notification go out
	// before the workflow completes.
	if err := workflow.Await(ctx, func() bool {
		return s.delivering == 0 && workflow.AllHandlersFinished(ctx)
	}); err != nil {
		return CaseResult{}, err
	}
	log.Info("case closed", "ref", s.c.Ref, "status", s.c.Status)
	return CaseResult{Case: s.c}, nil
}

// agreedStartDeadline is the stage-1 deadline agreed at start, if it is valid
// now: in the future and no later than the policy's maximum.
func (s *caseState) agreedStartDeadline(ctx workflow.Context, start time.Time) *time.Time {
	if s.startDue == nil || !s.startDue.After(start) {
		return nil
	}
	return s.startDue
}

// deadlinePassed applies the current stage's on_timeout.
func (s *caseState) deadlinePassed(ctx workflow.Context) error {
	cur, _ := s.policy.Stage(s.c.Stage.Number)
	now := workflow.Now(ctx)
	system := Person{Name: "escalate", Email: ""}
	due := s.localTime(s.c.Stage.DueAt)
	action := cur.OnTimeout
	target := 0
	switch action {
	case policies.OnTimeoutEscalate:
		target = cur.Number + 1
	case policies.OnTimeoutMediation:
		target = s.policy.PartnershipStage()
	}
	if target == 0 || target <= cur.Number {
		action = policies.OnTimeoutNotify
	}
	if action == policies.OnTimeoutNotify {
		s.c.Stage.Overdue = true
		ev := s.event(ctx, EventDeadlinePassed, cur.Number, system,
			fmt.Sprintf("Stage %d (%s) passed its deadline of %s without a written outcome. The stage stays open; the parties and the partnership are told it is overdue.",
				cur.Number, cur.Name, due))
		return s.commit(ctx, ev)
	}
	next, _ := s.policy.Stage(target)
	verb := "escalated automatically"
	if action == policies.OnTimeoutMediation {
		verb = "referred to the partnership for mediation"
	}
	passed := s.event(ctx, EventDeadlinePassed, cur.Number, system,
		fmt.Sprintf("Stage %d (%s) passed its deadline of %s without a written outcome; the case is %s.", cur.Number, cur.Name, due, verb))
	esc := s.event(ctx, EventEscalated, cur.Number, system,
		fmt.Sprintf("Stage %d deadline passed: %s to stage %d (%s).", cur.Number, verb, next.Number, next.Name))
	entered := s.enterStage(ctx, next.Number, now, nil)
	return s.commit(ctx, passed, esc, entered)
}

// enterStage moves the case to stage n, started at start, due at the
// policy's maximum or the agreed deadline, and returns its event.
func (s *caseState) enterStage(ctx workflow.Context, n int, start time.Time, agreed *time.Time) Event {
	st, _ := s.policy.Stage(n)
	due, err := st.Timescale.DueAt(start, s.clock)
	if err != nil {
		// Policies are validated at load; a snapshot that cannot give a
		// deadline would be a bug, so fail the task and let it be fixed.
		panic(fmt.Sprintf("stage %d deadline: %v", n, err))
	}
	s.c.Stage = StageState{Number: n, Name: st.Name, StartedAt: start, DueAt: due, Within: st.Within}
	if agreed != nil && agreed.Before(due) {
		s.c.Stage.DueAt = *agreed
		s.c.Stage.Agreed = true
	}
	s.epoch++
	text := fmt.Sprintf("Stage %d: %s. Who: %s. Due by %s (%s).", n, st.Name, st.Who, s.localTime(s.c.Stage.DueAt), st.Within)
	if s.c.Stage.Agreed {
		text = fmt.Sprintf("Stage %d: %s. Who: %s. Due by %s (agreed; the maximum is %s).", n, st.Name, st.Who, s.localTime(s.c.Stage.DueAt), st.Within)
	}
	return s.event(ctx, EventStageEntered, n, Person{Name: "escalate"}, text)
}

// event appends an event to the history and returns it.
func (s *caseState) event(ctx workflow.Context, typ string, stage int, by Person, text string) Event {
	s.c.Version++
	ev := Event{Seq: s.c.Version, At: workflow.Now(ctx), Type: typ, Stage: stage, By: by.Name, ByEmail: by.Email, Text: text}
	s.c.History = append(s.c.History, ev)
	return ev
}

// commit records events with the case snapshot and their notifications,
// waits until that is durable, then sends the notifications in the background.
func (s *caseState) commit(ctx workflow.Context, events ...Event) error {
	snapshot := s.c
	snapshot.History = nil
	in := RecordEventsInput{
		Ref:      s.c.Ref,
		RunID:    s.runID,
		Case:     snapshot,
		Events:   events,
		Timezone: s.clock.Location.String(),
	}
	seqs := make([]int, 0, len(events))
	for _, ev := range events {
		in.Notices = append(in.Notices, Notice{Seq: ev.Seq, Recipients: s.recipients(ev)})
		seqs = append(seqs, ev.Seq)
	}
	s.publish(ctx)
	actx := workflow.WithActivityOptions(ctx, recordOptions)
	if err := workflow.ExecuteActivity(actx, ActivityRecordEvents, in).Get(ctx, nil); err != nil {
		return err
	}
	s.delivering++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { s.delivering-- }()
		dctx := workflow.WithActivityOptions(ctx, deliverOptions)
		var res DeliverNotificationsResult
		if err := workflow.ExecuteActivity(dctx, ActivityDeliverNotifications,
			DeliverNotificationsInput{Ref: s.c.Ref, Seqs: seqs}).Get(ctx, &res); err != nil {
			// A failing mailbox never blocks the case; the notification
			// rows keep their failed status for operators.
			workflow.GetLogger(ctx).Warn("notification delivery failed", "ref", s.c.Ref, "seqs", seqs, "error", err)
		}
	})
	return nil
}

var (
	// The record must never be lost: retry for as long as it takes
	// (PostgreSQL may be down for a while), backing off to a minute.
	recordOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{"invalid_input"},
		},
		Summary: "record in PostgreSQL",
	}
	// Notifications are retried a bounded number of times, then left as
	// failed on the record.
	deliverOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    6,
		},
		Summary: "notify the parties",
	}
)

// publish updates the search attributes operators filter on.
func (s *caseState) publish(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		SearchPolicy.ValueSet(s.c.Policy),
		SearchStatus.ValueSet(s.c.Status),
		SearchStage.ValueSet(int64(s.c.Stage.Number)),
		SearchDueAt.ValueSet(s.c.Stage.DueAt),
	)
	if err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// recipients are the people told of an event: every party except the one
// who acted, and the partnership's business office when the case reaches
// the partnership stage or passes a deadline there.
func (s *caseState) recipients(ev Event) []Recipient {
	var out []Recipient
	seen := map[string]bool{strings.ToLower(ev.ByEmail): true}
	add := func(name, email, why string) {
		key := strings.ToLower(email)
		if email == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Recipient{Name: name, Email: email, Why: why})
	}
	add(s.c.Raiser.Name, s.c.Raiser.Email, "raised the disagreement")
	add(s.c.Respondent.Name, s.c.Respondent.Email, "respondent")
	for _, c := range s.c.Contacts {
		add(c.Name, c.Email, fmt.Sprintf("acts for the %s's side at stage %d", c.Side, c.Stage))
	}
	partnership := s.policy.PartnershipStage()
	if partnership != 0 && ev.Stage == partnership &&
		(ev.Type == EventStageEntered || ev.Type == EventDeadlinePassed) {
		add(s.policy.BusinessOffice.Name, s.policy.BusinessOffice.Email, "partnership business office")
	}
	if ev.Type == EventDeadlinePassed && s.c.Stage.Overdue {
		add(s.policy.BusinessOffice.Name, s.policy.BusinessOffice.Email, "partnership business office")
	}
	return out
}

// sideOf is the side a person acts for, matched by email case-insensitively,
// or "" if they are not a party.
func (s *caseState) sideOf(email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return ""
	}
	switch e {
	case strings.ToLower(s.c.Raiser.Email):
		return SideRaiser
	case strings.ToLower(s.c.Respondent.Email):
		return SideRespondent
	}
	for _, c := range s.c.Contacts {
		if strings.ToLower(c.Email) == e {
			return c.Side
		}
	}
	return ""
}

func (s *caseState) categoryLabel() string {
	if c, ok := s.policy.Category(s.c.Category); ok {
		return c.Label
	}
	return s.c.Category
}

// localTime renders a deadline in the policy's time zone; seconds only
// when they matter (drill policies).
func (s *caseState) localTime(t time.Time) string {
	t = t.In(s.clock.Location)
	if t.Second() != 0 {
		return t.Format("15:04:05 Mon 2 Jan 2006 MST")
	}
	return t.Format("15:04 Mon 2 Jan 2006 MST")
}

func conflict(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrConflict)
}

func ruleViolation(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrRuleViolation)
}
