package workflows

import (
	"errors"
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
	res, err := s.run(ctx)
	if errors.Is(err, errContinue) {
		return CaseResult{}, s.continueAsNew(ctx, in)
	}
	return res, err
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
	// reminded is the epoch whose reminder has gone.
	reminded int
	// serial: actions and deadlines take turns to change and record the
	// case (writing is true while one has the turn); false only for cases
	// started before that, which replay as they ran.
	serial  bool
	writing bool
	// decisions: the case follows the documents' decision rules (see
	// setup); false only for cases started before them.
	decisions bool
	// openErr is why the opening could not be recorded, if it could not.
	openErr error
	// reset: this run was made by resetting the case's workflow in
	// Temporal to an earlier point; resynced once its first new step has
	// learnt how far the record goes (the run before the reset may have
	// recorded events past that point).
	reset, resynced bool
	// lineManager is the raiser's line manager named when raising, if any.
	lineManager *Party
	// lapsed is the proposed deadline the last stage move dropped, until
	// the move's record says so (lapseNote).
	lapsed *PendingDeadline
	// closures are the partnership closures the case received while it
	// ran (closures.go), in the order they came; their dates are in
	// policy.Closures and clock.Closures too. Part of the case's state:
	// whatever carries the state to a new run must carry them.
	closures []Closure
	// closureCh receives the closures sent to the case, and
	// applyingClosure counts the ones being applied: the workflow does not
	// continue as new while either is non-empty.
	closureCh       workflow.ReceiveChannel
	applyingClosure int
	// warnedPast is the epoch whose deadline was logged as lying past the
	// snapshot's resolved bank holidays.
	warnedPast int
	// lean: the state holds no history (PostgreSQL is the record; the
	// evidence of a stage is counted in stageRun), updates answer with a
	// small result, and the workflow continues as new when Temporal
	// suggests it; false only for cases started before, which replay as
	// they ran.
	lean     bool
	stageRun StageRun
	// runs counts the runs this case continued through before this one.
	runs int
	// deferred are the events whose notifications wait for the next run
	// (the workflow is about to continue as new) or the case's close.
	deferred []int
	// applied are the latest updates applied, this run's and earlier
	// runs', carried to the next run (see CarriedState.Applied).
	applied []AppliedUpdate
	// current: the case started with every versioned change at once
	// (setup).
	current bool
	// dispatch: the record marks the case's notifications for the worker's
	// dispatcher (current-case version 3); the workflow never delivers.
	dispatch bool
	// openByHash: the case started when its opening could name its policy
	// snapshot by hash (current-case version 2); policyHash is the hash the
	// API says it kept the snapshot under (CaseInput.PolicyHash).
	openByHash bool
	policyHash string
	// published is what a current case last upserted (publish).
	published string
}

// keepApplied is how many applied updates a run carries to the next: far
// more than can be retried while a run continues as new.
const keepApplied = 100

// appliedBefore is the answer to an update this case applied already, in
// an earlier run, if the update in ctx is one.
func (s *caseState) appliedBefore(ctx workflow.Context) (ActionResult, bool) {
	if !s.lean || len(s.applied) == 0 {
		return ActionResult{}, false
	}
	id := workflow.GetCurrentUpdateInfo(ctx).ID
	for _, a := range s.applied {
		if a.ID == id {
			return a.Result, true
		}
	}
	return ActionResult{}, false
}

// remember keeps an applied update's answer, the latest keepApplied.
func (s *caseState) remember(ctx workflow.Context, res ActionResult) {
	if !s.lean {
		return
	}
	s.applied = append(s.applied, AppliedUpdate{ID: workflow.GetCurrentUpdateInfo(ctx).ID, Result: res})
	if n := len(s.applied); n > keepApplied {
		s.applied = append([]AppliedUpdate(nil), s.applied[n-keepApplied:]...)
	}
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
		policy:      in.Policy,
		lineManager: in.RaiserLineManager,
		clock:       clock,
		startDue:    in.DueAt,
		reminded:    -1,
		runID:       workflow.GetInfo(ctx).WorkflowExecution.RunID,
		policyHash:  in.PolicyHash,
		reset:       isResetRun(workflow.GetInfo(ctx)),
		c: Case{
			Ref:            in.Ref,
			Policy:         in.Policy.ID,
			Status:         StatusOpen,
			ChildRef:       in.ChildRef,
			Category:       in.Category,
			CategoryDetail: in.CategoryDetail,
			Summary:        in.Summary,
			Urgent:         in.Urgent,
			CreatedAt:      workflow.Now(ctx),
			Raiser:         in.Raiser,
			Respondent:     in.Respondent,
			Contacts:       []Contact{},
			Advisers:       []Adviser{},
			Meetings:       []Meeting{},
			SafetyNotice:   in.Policy.SafetyNotice,
		},
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Case, error) { return s.c, nil }); err != nil {
		return nil, err
	}
	if in.Carry != nil {
		// A run the case continued as new in: it goes on from the state
		// the last run carried, under the rules that run had.
		s.carried(*in.Carry)
	} else {
		// Cases started from here have every change below at once: one
		// version marker (and one search-attribute upsert, which the SDK
		// makes with each marker) where there were six. Cases started
		// before it find no marker and ask for each change as they always
		// did, so their histories replay unchanged (docs/performance.md).
		// A change for cases already running asks for its own marker; one
		// for new cases only raises this marker's version. Version 2: the
		// opening names the policy snapshot by hash (commit); cases that
		// recorded version 1 replay with the whole snapshot in the opening.
		current := workflow.GetVersion(ctx, "current-case", workflow.DefaultVersion, 3)
		s.current = current >= 1
		s.openByHash = current >= 2
		// Version 3: the record marks the case's notifications for the
		// worker's dispatcher, which delivers them (commit); cases that
		// recorded an earlier version deliver them by activity, as their
		// histories say.
		s.dispatch = current >= 3
		// Cases started before writes were serialised run as they always
		// did, so their recorded histories replay unchanged.
		s.serial = s.current || workflow.GetVersion(ctx, "serial-writes", workflow.DefaultVersion, 1) >= 1
		// Cases started before the documents' decision rules (Devon's
		// parties decide, Northamptonshire's outcome after the mediation
		// offer, the four-stage case review only where unresolved or with
		// lessons) keep the rules they were accepted under, so their
		// updates replay.
		s.decisions = s.current || workflow.GetVersion(ctx, "procedure-decisions", workflow.DefaultVersion, 1) >= 1
		// Cases started before the state was kept lean carry their history
		// in the state and answer updates with the whole case, as they
		// did; they never continue as new.
		s.lean = s.current || workflow.GetVersion(ctx, "lean-state", workflow.DefaultVersion, 1) >= 1
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateOpened, s.handleOpened,
		workflow.UpdateHandlerOptions{Validator: s.validateOpened}); err != nil {
		return nil, err
	}
	for _, err := range []error{
		register(ctx, s, UpdateNote, s.handleNote, anyTime(s.validateNote)),
		register(ctx, s, UpdateContact, s.handleContact, anyTime(s.validateContact)),
		register(ctx, s, UpdateEscalate, s.handleEscalate, anyTime(s.validateEscalate)),
		register(ctx, s, UpdateDeadline, s.handleDeadline, s.validateDeadline),
		register(ctx, s, UpdateConfirmDeadline, s.handleConfirmDeadline, s.validateConfirmDeadline),
		register(ctx, s, UpdateProposeAgreement, s.handlePropose, anyTime(s.validatePropose)),
		register(ctx, s, UpdateConfirmAgreement, s.handleConfirm, anyTime(s.validateConfirm)),
		register(ctx, s, UpdateRejectAgreement, s.handleReject, anyTime(s.validateReject)),
		register(ctx, s, UpdateWithdraw, s.handleWithdraw, anyTime(s.validateWithdraw)),
		register(ctx, s, UpdateOutcome, s.handleOutcome, anyTime(s.validateOutcome)),
		register(ctx, s, UpdateReview, s.handleReview, anyTime(s.validateReview)),
		register(ctx, s, UpdateMeeting, s.handleMeeting, anyTime(s.validateMeeting)),
	} {
		if err != nil {
			return nil, err
		}
	}
	s.listenForClosures(ctx)
	return s, nil
}

// register sets an action's update handler and validator. The handler
// holds the case's write turn from before it changes anything until its
// record is durable, so actions and deadlines are recorded one at a time,
// in the order of their sequence numbers; it checks the action again once
// it has the turn (the case may have moved while it waited); and if the
// record refuses the change, the case is left exactly as it was, with no
// gap in its sequence.
func register[I any](ctx workflow.Context, s *caseState, name string,
	handle func(workflow.Context, I) (ActionResult, error), validate func(workflow.Context, I) error) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, in I) (ActionResult, error) {
			if res, ok := s.appliedBefore(ctx); ok {
				// Applied by an earlier run: answered, not applied again.
				return res, nil
			}
			if !s.serial {
				return handle(ctx, in)
			}
			release, err := s.writeTurn(ctx)
			if err != nil {
				return ActionResult{}, err
			}
			defer release()
			if err := validate(ctx, in); err != nil {
				return ActionResult{}, err
			}
			saved := s.save()
			res, err := handle(ctx, in)
			if err != nil {
				s.restore(saved)
				return res, err
			}
			s.remember(ctx, res)
			return res, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in I) error {
			if _, ok := s.appliedBefore(ctx); ok {
				return nil
			}
			return validate(ctx, in)
		}})
}

// anyTime adapts a validator that does not need the workflow's clock.
func anyTime[I any](v func(I) error) func(workflow.Context, I) error {
	return func(_ workflow.Context, in I) error { return v(in) }
}

// writeTurn waits until no other action or deadline is being recorded and
// takes the turn; release gives it back.
func (s *caseState) writeTurn(ctx workflow.Context) (release func(), err error) {
	if err := workflow.Await(ctx, func() bool { return !s.writing }); err != nil {
		return nil, err
	}
	s.writing = true
	return func() { s.writing = false }, nil
}

// saved is the part of the state an action may change before its record
// is durable.
type saved struct {
	c        Case
	epoch    int
	reminded int
	resynced bool
	stageRun StageRun
}

// save copies the state deeply enough that restore undoes anything a
// handler changes: slices are cut to their length (appends then copy) and
// the agreement, the one thing changed in place, is copied.
func (s *caseState) save() saved {
	c := s.c
	c.History = c.History[:len(c.History):len(c.History)]
	c.Contacts = c.Contacts[:len(c.Contacts):len(c.Contacts)]
	c.Advisers = c.Advisers[:len(c.Advisers):len(c.Advisers)]
	c.Meetings = c.Meetings[:len(c.Meetings):len(c.Meetings)]
	if c.Agreement != nil {
		a := *c.Agreement
		c.Agreement = &a
	}
	return saved{c: c, epoch: s.epoch, reminded: s.reminded, resynced: s.resynced, stageRun: s.stageRun.clone()}
}

func (s *caseState) restore(v saved) {
	s.c, s.epoch, s.reminded, s.resynced, s.stageRun = v.c, v.epoch, v.reminded, v.resynced, v.stageRun
	s.lapsed = nil
}

// clone copies the run's counts, which events change in place.
func (r StageRun) clone() StageRun {
	if r.Counts != nil {
		counts := make(map[string]int, len(r.Counts))
		for _, k := range evidenceKinds {
			if n, ok := r.Counts[k.typ]; ok {
				counts[k.typ] = n
			}
		}
		r.Counts = counts
	}
	return r
}

func (s *caseState) run(ctx workflow.Context) (CaseResult, error) {
	log := workflow.GetLogger(ctx)
	if s.opened {
		// Continued as new: the opening is on the record. What operators
		// see of the case in words belongs to the run, so it is said again.
		workflow.SetCurrentDetails(ctx, s.details())
		log.Info("case continued as new", "ref", s.c.Ref, "runs", s.runs, "version", s.c.Version, "stage", s.c.Stage.Number, "due", s.c.Stage.DueAt)
		return s.goOn(ctx)
	}
	first, _ := s.policy.Stage(1)
	start := s.c.CreatedAt
	opened := s.event(ctx, EventOpened, 1, Person{Name: s.c.Raiser.Name, Email: s.c.Raiser.Email},
		fmt.Sprintf("Disagreement raised by %s (%s) with %s (%s). Category: %s.",
			s.c.Raiser.Name, s.c.Raiser.Agency, s.c.Respondent.Name, s.c.Respondent.Agency, s.categoryLabel()))
	var entered []Event
	if lm, ok := s.raiserLineManager(); ok {
		s.c.Contacts = append(s.c.Contacts, Contact{Party: lm, Side: SideRaiser, Stage: lineManagerStage})
		entered = append(entered, s.event(ctx, EventContact, 1, Person{Name: s.c.Raiser.Name, Email: s.c.Raiser.Email},
			fmt.Sprintf("%s (%s, %s) will act for the raiser's side at stage %d, named by the raiser when raising the disagreement.",
				lm.Name, lm.Role, lm.Email, lineManagerStage)))
	}
	if s.policy.DeadlinesNeedBothSides() {
		// The raiser alone cannot agree a deadline: the one given when
		// raising is proposed, for the respondent's side to confirm.
		entered = append(entered, s.moved(0, MoveOpened, s.enterStage(ctx, first.Number, start, nil)...)...)
		if ev, ok := s.proposeStartDeadline(ctx, start); ok {
			entered = append(entered, ev)
		}
	} else {
		entered = append(entered, s.moved(0, MoveOpened, s.enterStage(ctx, first.Number, start, s.agreedStartDeadline(ctx, start))...)...)
	}
	if err := s.commit(ctx, append([]Event{opened}, entered...)...); err != nil {
		// The opener (update-with-start) is told why; the case never
		// existed, so the workflow ends failed once it has answered.
		s.openErr = err
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		return CaseResult{}, err
	}
	s.opened = true
	log.Info("case opened", "ref", s.c.Ref, "policy", s.policy.ID, "due", s.c.Stage.DueAt)
	return s.goOn(ctx)
}

// goOn runs the opened case until it closes (or continues as new).
func (s *caseState) goOn(ctx workflow.Context) (CaseResult, error) {
	log := workflow.GetLogger(ctx)
	// Notifications the last run put off go out now.
	s.sendDeferred(ctx)
	if err := s.loop(ctx); err != nil {
		if errors.Is(err, errContinue) {
			return CaseResult{}, err
		}
		if ctx.Err() != nil {
			return s.cancelled(ctx)
		}
		return CaseResult{}, err
	}

	// Let every update finish answering and every notification go out
	// before the workflow completes.
	s.sendDeferred(ctx)
	if err := workflow.Await(ctx, func() bool {
		return s.delivering == 0 && workflow.AllHandlersFinished(ctx)
	}); err != nil {
		return CaseResult{}, err
	}
	log.Info("case closed", "ref", s.c.Ref, "status", s.c.Status)
	return CaseResult{Case: s.c}, nil
}

// loop waits out each stage until the case closes: for the deadline (and
// the reminder before it), or for an action that changes the stage.
func (s *caseState) loop(ctx workflow.Context) error {
	for !s.c.Closed() {
		s.warnPastCalendar(ctx)
		if s.continueDue(ctx) {
			return errContinue
		}
		epoch := s.epoch
		changed := func() bool { return s.c.Closed() || s.epoch != epoch }
		// The waits also end when the workflow should continue as new and
		// safely can; the loop then starts again and continues.
		wake := func() bool { return changed() || s.continueDue(ctx) }
		if s.c.Stage.Overdue {
			// notify has acted: the stage stays open until someone acts.
			if err := workflow.Await(ctx, wake); err != nil {
				return err
			}
			continue
		}
		if remindAt, ok := s.reminderDue(); ok && s.remindsBeforeDeadline(ctx) {
			// Wait for the reminder first.
			fired, err := s.waitUntil(ctx, remindAt, fmt.Sprintf("stage %d reminder", s.c.Stage.Number), wake)
			if err == nil && fired {
				err = s.onTurn(ctx, changed, s.remind)
			}
			if err != nil {
				return err
			}
			continue
		}
		fired, err := s.waitUntil(ctx, s.c.Stage.DueAt, fmt.Sprintf("stage %d deadline %s", s.c.Stage.Number, s.localTime(s.c.Stage.DueAt)), wake)
		if err == nil && fired {
			err = s.onTurn(ctx, changed, s.deadlinePassed)
		}
		if err != nil {
			return err
		}
	}

	return nil
}

// remindsBeforeDeadline: the case waits for a stage's reminder before its
// deadline. Asked only when a reminder is due: GetVersion marks the change
// for cases that started before reminders existed, at the first one.
func (s *caseState) remindsBeforeDeadline(ctx workflow.Context) bool {
	return s.current || workflow.GetVersion(ctx, "stage-reminders", workflow.DefaultVersion, 1) == 1
}

// cancelled closes a case whose workflow an operator cancelled in Temporal
// (the Web UI, the CLI): it records who and why as the case's last event,
// with status cancelled, so the API, the record, reports and metrics show
// it closed rather than open for ever, and then ends the workflow as
// cancelled. It works on a context the cancellation does not reach.
func (s *caseState) cancelled(ctx workflow.Context) (CaseResult, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	log := workflow.GetLogger(dctx)
	if s.serial {
		release, err := s.writeTurn(dctx)
		if err != nil {
			return CaseResult{}, err
		}
		defer release()
	}
	var who CancellationResult
	actx := workflow.WithActivityOptions(dctx, cancellationOptions)
	if err := workflow.ExecuteActivity(actx, ActivityCancellation, CancellationInput{Ref: s.c.Ref, RunID: s.runID}).Get(dctx, &who); err != nil {
		log.Warn("who cancelled the case is not known", "ref", s.c.Ref, "error", err)
	}
	stage := s.c.Stage.Number
	s.close(dctx, StatusCancelled)
	by := Person{Name: "Temporal operator"}
	text := fmt.Sprintf("The case was cancelled in Temporal by an operator and is closed at stage %d (%s).", stage, s.stageLabel())
	if who.Identity != "" {
		by.Name = who.Identity
		text = fmt.Sprintf("The case was cancelled in Temporal by an operator (%s) and is closed at stage %d (%s).", who.Identity, stage, s.stageLabel())
	}
	if who.Reason != "" {
		text += " Reason: " + who.Reason
	} else {
		text += " No reason was given."
	}
	if err := s.commit(dctx, s.closing(s.event(dctx, EventCancelled, stage, by, text), false)); err != nil {
		return CaseResult{}, err
	}
	s.sendDeferred(dctx)
	if err := workflow.Await(dctx, func() bool {
		return s.delivering == 0 && workflow.AllHandlersFinished(dctx)
	}); err != nil {
		return CaseResult{}, err
	}
	log.Info("case cancelled", "ref", s.c.Ref, "by", who.Identity)
	return CaseResult{Case: s.c}, ctx.Err()
}

// errContinue ends a run's loop when the workflow should continue as new.
var errContinue = errors.New("continue as new")

// continueDue: Temporal suggests continuing as new (the history is long or
// large) and this is a safe point to: the case is open and opened, nothing
// holds the write turn, no update is still being handled (a validated one
// would be lost) and no notification is still being delivered (its
// settling would be lost; once the suggestion has come, commit puts new
// deliveries off to the next run, so the ones in flight soon end).
func (s *caseState) continueDue(ctx workflow.Context) bool {
	return s.lean && s.opened && !s.c.Closed() && !s.writing && s.delivering == 0 && s.lapsed == nil &&
		s.closuresIdle() && // a closure received or being applied is not lost
		ctx.Err() == nil && // a cancel request is acted on, not left behind
		workflow.GetInfo(ctx).GetContinueAsNewSuggested() && workflow.AllHandlersFinished(ctx)
}

// continueAsNew ends this run and starts the next with the case's state:
// the same input with the policy snapshot as it stands and the carried
// state. The workflow ID stays the case's reference; the memo and search
// attributes go with it.
func (s *caseState) continueAsNew(ctx workflow.Context, in CaseInput) error {
	in.Policy = s.policy
	c := s.c
	c.History = nil
	in.Carry = &CarriedState{
		Case:      c,
		Epoch:     s.epoch,
		Reminded:  s.reminded,
		StageRun:  s.stageRun.clone(),
		Serial:    s.serial,
		Decisions: s.decisions,
		Resync:    s.reset && !s.resynced,
		Runs:      s.runs + 1,
		Deliver:   s.deferred,
		Applied:   s.applied,
		Closures:  s.closures,
		Current:   s.current,
		Dispatch:  s.dispatch,
	}
	info := workflow.GetInfo(ctx)
	workflow.GetLogger(ctx).Info("case continues as new", "ref", s.c.Ref, "version", s.c.Version,
		"history_events", info.GetCurrentHistoryLength(), "history_bytes", info.GetCurrentHistorySize(), "runs", s.runs+1)
	return workflow.NewContinueAsNewError(ctx, CaseWorkflowName, in)
}

// carried sets the state a continued run goes on from.
func (s *caseState) carried(c CarriedState) {
	s.c = c.Case
	s.c.History = nil
	if s.c.Contacts == nil {
		s.c.Contacts = []Contact{}
	}
	if s.c.Advisers == nil {
		s.c.Advisers = []Adviser{}
	}
	if s.c.Meetings == nil {
		s.c.Meetings = []Meeting{}
	}
	s.epoch, s.reminded = c.Epoch, c.Reminded
	s.stageRun = c.StageRun.clone()
	s.serial, s.decisions, s.lean = c.Serial, c.Decisions, true
	s.reset = s.reset || c.Resync
	s.runs = c.Runs
	s.deferred = c.Deliver
	s.applied = c.Applied
	s.closures = c.Closures
	s.current = c.Current
	s.dispatch = c.Dispatch
	s.opened = true
}

// onTurn runs a change the clock makes (a reminder, a passed deadline) in
// its write turn, unless an action that had the turn meanwhile changed the
// stage or closed the case, which makes the change moot.
func (s *caseState) onTurn(ctx workflow.Context, changed func() bool, change func(workflow.Context) error) error {
	if !s.serial {
		return change(ctx)
	}
	release, err := s.writeTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	if changed() {
		return nil
	}
	return change(ctx)
}

// waitUntil waits for the instant or for changed, whichever comes first;
// fired is true when the instant came.
func (s *caseState) waitUntil(ctx workflow.Context, at time.Time, summary string, changed func() bool) (fired bool, err error) {
	wait := at.Sub(workflow.Now(ctx))
	if wait <= 0 {
		return true, nil
	}
	ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      wait,
		TimerOptions: workflow.TimerOptions{Summary: summary},
	}, changed)
	return !ok && err == nil, err
}

// reminderDue is when the current stage's reminder goes, if the policy has
// one and it has not gone yet for this stage and deadline.
func (s *caseState) reminderDue() (time.Time, bool) {
	f := s.policy.ReminderFraction()
	if f == 0 || s.reminded == s.epoch {
		return time.Time{}, false
	}
	span := s.c.Stage.DueAt.Sub(s.c.Stage.StartedAt)
	if span <= 0 {
		return time.Time{}, false
	}
	return s.c.Stage.StartedAt.Add(time.Duration(float64(span) * f)), true
}

// remind tells the current stage's people the deadline is coming.
func (s *caseState) remind(ctx workflow.Context) error {
	s.reminded = s.epoch
	ev := s.event(ctx, EventReminder, s.c.Stage.Number, Person{Name: "escalate"},
		fmt.Sprintf("Reminder: stage %d (%s) is due by %s.", s.c.Stage.Number, s.stageLabel(), s.localTime(s.c.Stage.DueAt)))
	return s.commit(ctx, ev)
}

// agreedStartDeadline is the stage-1 deadline agreed at start, if it is valid
// now: in the future and no later than the policy's maximum.
func (s *caseState) agreedStartDeadline(ctx workflow.Context, start time.Time) *time.Time {
	if s.startDue == nil || !s.startDue.After(start) {
		return nil
	}
	return s.startDue
}

// lineManagerStage is the stage at which the raiser's line manager, named
// when raising, acts for the raiser's side.
const lineManagerStage = 2

// raiserLineManager is the line manager the raiser named when raising, if
// any and if the policy has a stage for them; never the raiser or the
// respondent (the API refuses them; the workflow does not trust it).
func (s *caseState) raiserLineManager() (Party, bool) {
	lm := s.lineManager
	if lm == nil || strings.TrimSpace(lm.Email) == "" || s.policy.LastStage() < lineManagerStage {
		return Party{}, false
	}
	if strings.EqualFold(lm.Email, s.c.Raiser.Email) || strings.EqualFold(lm.Email, s.c.Respondent.Email) {
		return Party{}, false
	}
	p := Party{Name: lm.Name, Email: lm.Email, Agency: s.c.Raiser.Agency, Role: lm.Role}
	if p.Role == "" {
		p.Role = "line manager"
	}
	return p, true
}

// awaitingContact are the sides that have named nobody to act for them at
// the current stage (step), where people above the practitioners act.
func (s *caseState) awaitingContact() []string {
	if !s.policy.UsesEscalationContacts(s.c.Stage.Number, s.c.Stage.Step) {
		return nil
	}
	var out []string
	for _, side := range []string{SideRaiser, SideRespondent} {
		if !s.hasContactAt(side, s.c.Stage.Number) {
			out = append(out, side)
		}
	}
	return out
}

func (s *caseState) hasContactAt(side string, stage int) bool {
	for _, c := range s.c.Contacts {
		if c.Side == side && c.Stage == stage {
			return true
		}
	}
	return false
}

// agencyOf is the agency of a side.
func (s *caseState) agencyOf(side string) string {
	if side == SideRaiser {
		return s.c.Raiser.Agency
	}
	return s.c.Respondent.Agency
}

// awaitingNote sets which sides are asked to name their person for the
// stage (step) just entered and says so for the record, with who is told
// meanwhile and, where the business office helps find a side's contact,
// that it is asked to.
func (s *caseState) awaitingNote() string {
	s.c.Stage.AwaitingContact = s.awaitingContact()
	var text string
	for _, side := range s.c.Stage.AwaitingContact {
		text += fmt.Sprintf(" Nobody is named yet to act for the %s's side at this stage: that side is asked to name the person who does", side)
		if ec, ok := s.policy.EscalationContact(s.agencyOf(side)); ok {
			text += fmt.Sprintf("; until then its agency's escalation contact (%s) is told.", ec.Name)
		} else {
			text += "."
		}
	}
	if s.officeHelpsFind() {
		for _, side := range []string{SideRaiser, SideRespondent} {
			for _, role := range s.policy.MissingContacts(s.c.Stage.Number, s.agencyOf(side)) {
				text += fmt.Sprintf(" The escalation contacts table has no %s for %s (the %s's side): the %s is asked to help find them.",
					role, s.agencyOf(side), side, s.policy.BusinessOffice.Name)
			}
		}
	}
	return text
}

// officeHelpsFind: at the current stage the business office helps find a
// side's contact the escalation contacts table does not have.
func (s *caseState) officeHelpsFind() bool {
	st, _ := s.policy.Stage(s.c.Stage.Number)
	if !st.OfficeHelpsFindContacts {
		return false
	}
	return len(s.policy.MissingContacts(st.Number, s.c.Raiser.Agency))+len(s.policy.MissingContacts(st.Number, s.c.Respondent.Agency)) > 0
}

// proposeStartDeadline proposes the stage-1 deadline given when the case
// was raised, where deadlines are agreed by both sides, if it is valid now:
// in the future and no later than the policy's maximum.
func (s *caseState) proposeStartDeadline(ctx workflow.Context, start time.Time) (Event, bool) {
	due := s.startDue
	if due == nil || !due.After(start) {
		return Event{}, false
	}
	if max, bounded, err := s.policy.MaxDue(s.c.Stage.Number, s.c.Stage.Step, s.c.Urgent, start); err != nil || (bounded && due.After(max)) {
		return Event{}, false
	}
	s.c.PendingDeadline = &PendingDeadline{DueAt: *due, Reason: "given when the disagreement was raised",
		ProposedBy: s.c.Raiser.Name, ProposedBySide: SideRaiser, ProposedAt: start, Stage: s.c.Stage.Number}
	return s.event(ctx, EventDeadlineProposed, s.c.Stage.Number, Person{Name: s.c.Raiser.Name, Email: s.c.Raiser.Email},
		fmt.Sprintf("Stage %d deadline of %s proposed by %s for the raiser's side when raising the disagreement; it takes effect when the respondent's side confirms it (deadlines are agreed by both sides).",
			s.c.Stage.Number, s.localTime(*due), s.c.Raiser.Name)), true
}

// lapseNote says on the record that the stage move just made dropped a
// proposed deadline, or is "".
func (s *caseState) lapseNote() string {
	p := s.lapsed
	if p == nil {
		return ""
	}
	s.lapsed = nil
	return fmt.Sprintf(" The deadline of %s proposed by %s for stage %d lapses: the stage moved before the other side confirmed it.",
		s.localTime(p.DueAt), p.ProposedBy, p.Stage)
}

// deadlinePassed moves to the stage's next step if it has one left, else
// applies the stage's on_timeout.
func (s *caseState) deadlinePassed(ctx workflow.Context) error {
	cur, _ := s.policy.Stage(s.c.Stage.Number)
	now := workflow.Now(ctx)
	system := Person{Name: "escalate"}
	due := s.localTime(s.c.Stage.DueAt)
	if s.c.Stage.Step >= 1 && s.c.Stage.Step < len(cur.Steps) {
		passed := s.move(s.event(ctx, EventDeadlinePassed, cur.Number, system,
			fmt.Sprintf("Stage %d, %s, passed its deadline of %s without a written outcome; it moves to the next step.", cur.Number, s.c.Stage.StepName, due)), cur.Number, cur.Number, MoveDeadlineNextStep)
		return s.commit(ctx, passed, s.moved(cur.Number, MoveDeadlineNextStep, s.enterStep(ctx, s.c.Stage.Step+1, now))[0])
	}
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
	verb, kind := "escalated automatically", MoveDeadlinePassed
	if action == policies.OnTimeoutMediation {
		verb, kind = "referred to the partnership for mediation", MoveDeadlineMediation
	}
	passed := s.move(s.event(ctx, EventDeadlinePassed, cur.Number, system,
		fmt.Sprintf("Stage %d (%s) passed its deadline of %s without a written outcome; the case is %s.", cur.Number, cur.Name, due, verb)), cur.Number, next.Number, kind)
	evidence, nothing := s.stageEvidence(cur.Number, next.Number, due)
	esc := s.move(s.event(ctx, EventEscalated, cur.Number, system,
		fmt.Sprintf("Stage %d deadline passed: %s to stage %d (%s). %s", cur.Number, verb, next.Number, next.Name, evidence)), cur.Number, next.Number, kind)
	entered := s.moved(cur.Number, kind, s.enterStage(ctx, next.Number, now, nil)...)
	if nothing {
		s.c.Stage.RecordMissingFrom = cur.Number
	}
	return s.commit(ctx, append([]Event{passed, esc}, entered...)...)
}

// evidenceKinds are what people record at a stage that shows it was
// followed, in the order the record names them: kinds and counts only,
// never what anyone wrote.
var evidenceKinds = []struct{ typ, one, many string }{
	{EventNote, "note", "notes"},
	{EventContact, "contact named", "contacts named"},
	{EventMeeting, "meeting", "meetings"},
	{EventDeadlineProposed, "deadline proposed", "deadlines proposed"},
	{EventDeadlineChanged, "deadline agreed", "deadlines agreed"},
	{EventAgreementProposed, "outcome proposed", "outcomes proposed"},
	{EventAgreementRejected, "proposed outcome rejected", "proposed outcomes rejected"},
	{EventEscalated, "escalation to its next step or level", "escalations to its next step or level"},
}

// isEvidence: people recording an event of this type at a stage show it
// was followed.
func isEvidence(typ string) bool {
	for _, k := range evidenceKinds {
		if k.typ == typ {
			return true
		}
	}
	return false
}

// stageEvidence is the evidence the record holds that stage cur was
// followed, for a climb its deadline forces to stage next: that it ran its
// full time unresolved, and what the people involved recorded there (each
// kind of record counted, nothing anyone wrote). nothing is true when they
// recorded nothing there. The Northamptonshire and Devon procedures ask
// for evidence that the previous stage was followed before a case moves on.
func (s *caseState) stageEvidence(cur, next int, due string) (text string, nothing bool) {
	// The current stage's events are the last ones of the history: every
	// event since the case entered it carries its number.
	start := s.c.Stage.StartedAt
	counts := map[string]int{}
	if s.lean && s.stageRun.Stage == cur {
		counts = s.stageRun.Counts
		if !s.stageRun.Start.IsZero() {
			start = s.stageRun.Start
		}
	}
	for i := len(s.c.History) - 1; !s.lean && i >= 0 && s.c.History[i].Stage == cur; i-- {
		e := s.c.History[i]
		if e.Type == EventStageEntered {
			start = e.At
		}
		if e.ByEmail != "" {
			counts[e.Type]++
		}
	}
	var parts []string
	for _, k := range evidenceKinds {
		switch n := counts[k.typ]; {
		case n == 1:
			parts = append(parts, "1 "+k.one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, k.many))
		}
	}
	text = fmt.Sprintf("Evidence from the record: stage %d ran its full time, from %s to its deadline of %s, without a written outcome;", cur, s.localTime(start), due)
	if len(parts) == 0 {
		return text + fmt.Sprintf(" nothing was recorded at stage %d by the people involved. Before anything else, the people of stage %d are asked to record what happened at stage %d.", cur, next, cur), true
	}
	return text + fmt.Sprintf(" recorded at stage %d: %s.", cur, strings.Join(parts, ", ")), false
}

// enterStage moves the case to stage n (its first step or level), started
// at start, due at the policy's timescale or the agreed deadline if
// earlier, and returns its events: the stage entered, and any parties who
// join the case at this stage.
func (s *caseState) enterStage(ctx workflow.Context, n int, start time.Time, agreed *time.Time) []Event {
	st, _ := s.policy.Stage(n)
	s.c.Stage = StageState{Number: n, Name: st.Name, Who: st.Who, Within: st.Within}
	if len(st.Steps) > 0 {
		s.c.Stage.Step = 1
		s.c.Stage.StepName = st.Steps[0].Name
		s.c.Stage.Who = st.Steps[0].Who
	}
	if st.Repeat {
		s.c.Stage.Level = 1
	}
	if st.Review {
		s.c.Stage.Phase = PhaseAwaitingReview
	}
	s.startClock(start, agreed)
	text := fmt.Sprintf("Stage %d: %s. Who: %s. Due by %s (%s).", n, s.stageLabel(), s.c.Stage.Who, s.localTime(s.c.Stage.DueAt), s.c.Stage.Within)
	if s.c.Stage.Agreed {
		text = fmt.Sprintf("Stage %d: %s. Who: %s. Due by %s (agreed; the policy allows %s).", n, s.stageLabel(), s.c.Stage.Who, s.localTime(s.c.Stage.DueAt), s.c.Stage.Within)
	}
	if st.Review {
		text += " The partnership checks that the earlier stages were followed."
	}
	text += s.lapseNote()
	// The stage's own event comes first; the parties who join with it are
	// known before its text is final, so it can say who is still to be
	// named.
	entered := s.event(ctx, EventStageEntered, n, Person{Name: "escalate"}, "")
	joined := s.joinParties(ctx, n)
	entered.Text = text + s.awaitingNote()
	due := s.c.Stage.DueAt
	entered.DueAt = &due
	return append([]Event{s.amend(entered)}, joined...)
}

// enterStep moves to step k of the current stage.
func (s *caseState) enterStep(ctx workflow.Context, k int, start time.Time) Event {
	st, _ := s.policy.Stage(s.c.Stage.Number)
	s.c.Stage.Step = k
	s.c.Stage.StepName = st.Steps[k-1].Name
	s.c.Stage.Who = st.Steps[k-1].Who
	s.startClock(start, nil)
	return s.withDue(s.event(ctx, EventStepEntered, st.Number, Person{Name: "escalate"},
		fmt.Sprintf("Stage %d, step %d: %s. Who: %s. Due by %s (%s).", st.Number, k, s.c.Stage.StepName, s.c.Stage.Who, s.localTime(s.c.Stage.DueAt), s.c.Stage.Within)+s.lapseNote()+s.awaitingNote()), s.c.Stage.DueAt)
}

// startClock starts the current stage's (step's, level's) deadline.
func (s *caseState) startClock(start time.Time, agreed *time.Time) {
	st, _ := s.policy.Stage(s.c.Stage.Number)
	ts := st.StepTimescale(s.c.Stage.Step, s.c.Urgent)
	due, err := ts.DueAt(start, s.clock)
	if err != nil {
		// Policies are validated at load; a snapshot that cannot give a
		// deadline is a bug: fail the task so it can be fixed and retried.
		panic(fmt.Sprintf("stage %d deadline: %v", st.Number, err))
	}
	if s.c.PendingDeadline != nil {
		// A proposed deadline was for the stage (step, level) that ends here.
		s.lapsed, s.c.PendingDeadline = s.c.PendingDeadline, nil
	}
	s.c.Stage.StartedAt = start
	s.c.Stage.DueAt = due
	s.c.Stage.Agreed = false
	s.c.Stage.Overdue = false
	s.c.Stage.Within = ts.String()
	if st.Timescale.Unit == policies.UnitAgreed {
		s.c.Stage.Within = "agreed per case (default " + ts.String() + ")"
	}
	if agreed != nil && (agreed.Before(due) || st.Timescale.Unit == policies.UnitAgreed) {
		if max, ok, _ := s.policy.MaxDue(st.Number, s.c.Stage.Step, s.c.Urgent, start); !ok || !agreed.After(max) {
			s.c.Stage.DueAt = *agreed
			s.c.Stage.Agreed = true
		}
	}
	s.epoch++
}

// joinParties adds the people who join at stage n: category parties (the
// CAF/TAC officer in a threshold dispute) and the directory's contacts for
// the stage's roles in both agencies.
func (s *caseState) joinParties(ctx workflow.Context, n int) []Event {
	var events []Event
	system := Person{Name: "escalate"}
	for _, cp := range s.policy.CategoryParties {
		if cp.Category != s.c.Category || n < cp.FromStage || s.isAdviser(cp.Email) {
			continue
		}
		s.c.Advisers = append(s.c.Advisers, Adviser{Party: Party{Name: cp.Name, Email: cp.Email, Role: cp.Role, Agency: s.policy.ID}, Stage: n, Why: cp.Role})
		events = append(events, s.event(ctx, EventPartyJoined, n, system,
			fmt.Sprintf("%s (%s) joins the case from stage %d, as the procedure asks for this kind of disagreement.", cp.Name, cp.Role, n)))
	}
	st, _ := s.policy.Stage(n)
	for _, role := range st.NotifyRoles {
		for _, side := range []struct {
			name   string
			agency string
		}{{SideRaiser, s.c.Raiser.Agency}, {SideRespondent, s.c.Respondent.Agency}} {
			for _, d := range s.policy.Directory {
				if d.Agency != side.agency || d.Role != role || s.sideOf(d.Email) != "" {
					continue
				}
				s.c.Contacts = append(s.c.Contacts, Contact{Party: Party{Name: d.Name, Email: d.Email, Agency: d.Agency, Role: d.Role}, Side: side.name, Stage: n})
				events = append(events, s.event(ctx, EventContact, n, system,
					fmt.Sprintf("%s (%s, %s) acts for the %s's side from stage %d, from the escalation contacts table.", d.Name, d.Role, d.Agency, side.name, n)))
			}
		}
	}
	return events
}

func (s *caseState) isAdviser(email string) bool {
	for _, a := range s.c.Advisers {
		if strings.EqualFold(a.Email, email) {
			return true
		}
	}
	return false
}

// stageLabel names the stage, with its step or level.
func (s *caseState) stageLabel() string {
	switch {
	case s.c.Stage.StepName != "":
		return s.c.Stage.Name + ", " + s.c.Stage.StepName
	case s.c.Stage.Level > 1:
		return fmt.Sprintf("%s, level %d", s.c.Stage.Name, s.c.Stage.Level)
	}
	return s.c.Stage.Name
}

// withDue records the deadline ev set, on ev and, in a case that keeps
// its history in the state, on its copy there, which event has just
// appended.
func (s *caseState) withDue(ev Event, due time.Time) Event {
	ev.DueAt = &due
	if !s.lean {
		s.c.History[len(s.c.History)-1].DueAt = &due
	}
	return ev
}

// move marks ev, the event that causes a stage move (an escalation, a
// deadline passing, a send-back), as a move of kind from stage from to
// stage to.
func (s *caseState) move(ev Event, from, to int, kind string) Event {
	ev.FromStage, ev.ToStage, ev.Move = from, to, kind
	return s.amend(ev)
}

// moved marks the first of evs, the event of the stage (step, level) just
// entered, as a move of kind from stage from (0 for none) to where the case
// now stands, with its step, level and whether its deadline is agreed.
func (s *caseState) moved(from int, kind string, evs ...Event) []Event {
	ev := evs[0]
	ev.FromStage, ev.ToStage, ev.Move = from, s.c.Stage.Number, kind
	ev.Step, ev.Level, ev.Agreed = s.c.Stage.Step, s.c.Stage.Level, s.c.Stage.Agreed
	evs[0] = s.amend(ev)
	return evs
}

// closing marks ev as the event that closed the case, with the status it
// closed with (close has set it) and whether it was resolved.
func (s *caseState) closing(ev Event, resolved bool) Event {
	ev.Resolved, ev.ClosedStatus = &resolved, s.c.Status
	return s.amend(ev)
}

// amend puts ev's structured fields on its copy in the history. Only a
// case started before lean cases keeps its history in the state; a lean
// one has none to amend.
func (s *caseState) amend(ev Event) Event {
	if s.lean {
		return ev
	}
	for i := len(s.c.History) - 1; i >= 0; i-- {
		if s.c.History[i].Seq == ev.Seq {
			s.c.History[i] = ev
			break
		}
	}
	return ev
}

// event numbers a new event and returns it: a lean case counts it for its
// stage's evidence; an older one appends it to the history in its state.
func (s *caseState) event(ctx workflow.Context, typ string, stage int, by Person, text string) Event {
	s.c.Version++
	ev := Event{Seq: s.c.Version, At: workflow.Now(ctx), Type: typ, Stage: stage, By: by.Name, ByEmail: by.Email, Text: text}
	if s.lean {
		s.stageRun.count(ev)
	} else {
		s.c.History = append(s.c.History, ev)
	}
	return ev
}

// count adds ev to what was recorded at its stage. The events of a stage
// follow one another (every event since the case entered it carries its
// number): an event of another stage starts a new run.
func (r *StageRun) count(ev Event) {
	if ev.Stage != r.Stage {
		*r = StageRun{Stage: ev.Stage}
	}
	if ev.Type == EventStageEntered && r.Start.IsZero() {
		r.Start = ev.At
	}
	if ev.ByEmail != "" && isEvidence(ev.Type) {
		if r.Counts == nil {
			r.Counts = map[string]int{}
		}
		r.Counts[ev.Type]++
	}
}

// commit records events with the case snapshot and their notifications,
// waits until that is durable, then sends the notifications in the background.
func (s *caseState) commit(ctx workflow.Context, events ...Event) error {
	events, err := s.resyncAfterReset(ctx, events)
	if err != nil {
		return err
	}
	snapshot := s.c
	snapshot.History = nil
	in := RecordEventsInput{
		Ref:      s.c.Ref,
		RunID:    s.runID,
		Case:     snapshot,
		Events:   events,
		Timezone: s.clock.Location.String(),
	}
	activity := ActivityRecordEvents
	if events[0].Type == EventOpened {
		if hash, ok := s.keptPolicy(); ok {
			// The snapshot is in the workflow's input already: the record
			// copies it from where the API kept it, by its hash, rather
			// than have it sent through Temporal again (about half of a
			// new case's history; docs/performance.md).
			in.PolicyHash, activity = hash, ActivityRecordOpening
		} else {
			pol := s.policy
			in.Policy = &pol
		}
	}
	seqs := make([]int, 0, len(events))
	for _, ev := range events {
		seqs = append(seqs, ev.Seq)
	}
	in.Notices = s.notices(events)
	in.Dispatch = s.dispatch
	s.publish(ctx)
	if err := s.record(ctx, activity, in); err != nil {
		var refused *temporal.ApplicationError
		if errors.As(err, &refused) && refused.Type() == ErrRecordRefused {
			return temporal.NewNonRetryableApplicationError(refused.Message(), ErrRecordRefused, nil)
		}
		return err
	}
	if s.dispatch {
		// The notifications are on the record, marked for the worker's
		// dispatcher, which sends them once they are committed: nothing
		// more for Temporal to run, and nothing in flight when the run
		// continues as new or the case closes.
		return nil
	}
	if s.lean && !s.c.Closed() && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
		// The workflow is to continue as new at its next safe point: these
		// notifications go out from the next run (or when the case closes),
		// so that no delivery is in flight when this run ends.
		s.deferred = append(s.deferred, seqs...)
		return nil
	}
	s.deliver(ctx, seqs)
	return nil
}

// sendDeferred sends the notifications whose delivery was put off.
func (s *caseState) sendDeferred(ctx workflow.Context) {
	if len(s.deferred) == 0 {
		return
	}
	seqs := s.deferred
	s.deferred = nil
	s.deliver(ctx, seqs)
}

// deliver sends the recorded notifications of the events seqs in the
// background; delivering counts the deliveries still running.
func (s *caseState) deliver(ctx workflow.Context, seqs []int) {
	s.delivering++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { s.delivering-- }()
		dctx := workflow.WithActivityOptions(ctx, deliverOptions)
		var res DeliverNotificationsResult
		if err := workflow.ExecuteActivity(dctx, ActivityDeliverNotifications,
			DeliverNotificationsInput{Ref: s.c.Ref, Seqs: seqs}).Get(ctx, &res); err != nil {
			// A failing mailbox never blocks the case. Every attempt is
			// over: whatever the last one left (it may have timed out
			// before it could mark anything), what was not delivered is
			// now failed for good, for the partnership and operators.
			workflow.GetLogger(ctx).Warn("notification delivery failed", "ref", s.c.Ref, "seqs", seqs, "error", err)
			if s.current || workflow.GetVersion(ctx, "settle-deliveries", workflow.DefaultVersion, 1) >= 1 {
				sctx := workflow.WithActivityOptions(ctx, settleOptions)
				if err := workflow.ExecuteActivity(sctx, ActivitySettleNotifications,
					SettleNotificationsInput{Ref: s.c.Ref, Seqs: seqs}).Get(ctx, nil); err != nil {
					workflow.GetLogger(ctx).Error("undelivered notifications not marked failed", "ref", s.c.Ref, "seqs", seqs, "error", err)
				}
			}
		}
	})
}

// record writes events to PostgreSQL in a regular activity, whose input
// (the events, with their times) is in the history: a worker that dies
// after writing leaves the retry the very same events to write, which the
// record recognises. A local activity would save an activity task and a
// workflow task, but its retry runs in a new workflow task with a new
// clock, and its events would differ from those already written
// (docs/performance.md: measured, and refused for that).
func (s *caseState) record(ctx workflow.Context, activity string, in RecordEventsInput) error {
	actx := workflow.WithActivityOptions(ctx, recordOptions)
	return workflow.ExecuteActivity(actx, activity, in).Get(ctx, nil)
}

// keptPolicy is the hash the API kept the case's policy snapshot under,
// if the opening may name it by that: the case started with the change
// (openByHash) and the API kept it (an API from before kept none). The
// API keeps the very snapshot it starts the case with; the record copies
// it only if its content has that hash (store.KeepPolicySnapshot), and
// refuses the opening if it has no such snapshot.
func (s *caseState) keptPolicy() (string, bool) {
	return s.policyHash, s.openByHash && s.policyHash != ""
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
			NonRetryableErrorTypes: []string{"invalid_input", ErrRecordRefused},
		},
		Summary: "record in PostgreSQL",
	}
	// Who cancelled a case is looked up once or twice; the cancellation is
	// recorded whether or not the answer comes.
	cancellationOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
		Summary:             "who cancelled the case",
	}
	// Marking what was not delivered as failed is a small write, retried
	// like the record while PostgreSQL is away.
	settleOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		Summary:             "mark undelivered notifications failed",
	}
	// Notifications are retried a bounded number of times, then left as
	// failed on the record.
	deliverOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		// The activity reports after each notification, so one that hangs
		// is noticed long before the whole attempt's time is up.
		HeartbeatTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    DeliverMaxAttempts,
		},
		Summary: "notify the parties",
	}
)

// isResetRun: the run was made by resetting the workflow in Temporal (its
// original run is another); a continued or retried run is not.
func isResetRun(info *workflow.Info) bool {
	return info.OriginalRunID != "" && info.OriginalRunID != info.WorkflowExecution.RunID
}

// resyncAfterReset runs once in a reset run, at its first step past the
// point it was reset to: the run before the reset may have recorded events
// after that point, with the numbers this run would give its own. It asks
// the record how far it goes and numbers this step's events after that,
// with an event saying the case was reset first; the earlier run's events
// stay on the record. The steps replayed from before the reset point find
// no version marker and pass through unchanged; the change id names the
// step, so replaying this run finds its marker at the same step.
func (s *caseState) resyncAfterReset(ctx workflow.Context, events []Event) ([]Event, error) {
	if !s.reset || s.resynced || len(events) == 0 {
		return events, nil
	}
	first := events[0].Seq
	if workflow.GetVersion(ctx, fmt.Sprintf("resync-after-reset-%d", first), workflow.DefaultVersion, 1) != 1 {
		return events, nil
	}
	var last RecordedSeqResult
	actx := workflow.WithActivityOptions(ctx, recordOptions)
	if err := workflow.ExecuteActivity(actx, ActivityRecordedSeq, RecordedSeqInput{Ref: s.c.Ref}).Get(ctx, &last); err != nil {
		return nil, err
	}
	s.resynced = true
	if s.lean {
		return s.renumber(ctx, events, last.Seq), nil
	}
	n := len(events)
	mine := append([]Event(nil), s.c.History[len(s.c.History)-n:]...)
	s.c.History = s.c.History[:len(s.c.History)-n]
	if last.Seq > first-1 {
		s.c.Version = last.Seq
	} else {
		s.c.Version = first - 1
	}
	text := fmt.Sprintf("The case's workflow was reset in Temporal to an earlier point: it goes on from stage %d (%s) as it stood then.",
		s.c.Stage.Number, s.stageLabel())
	if last.Seq >= first {
		text += fmt.Sprintf(" Events %d to %d were recorded before the reset and stay on the record.", first, last.Seq)
	}
	out := s.moved(0, MoveReset, s.withDue(s.event(ctx, EventReset, s.c.Stage.Number, Person{Name: "escalate"}, text), s.c.Stage.DueAt))
	for i := range mine {
		s.c.Version++
		mine[i].Seq = s.c.Version
		events[i].Seq = s.c.Version
		s.c.History = append(s.c.History, mine[i])
		out = append(out, events[i])
	}
	workflow.GetLogger(ctx).Warn("case reset in Temporal: numbering after the record", "ref", s.c.Ref, "recorded", last.Seq, "next", out[0].Seq)
	return out, nil
}

// renumber numbers a lean case's step after the record, which goes to
// recorded, with the reset event first (see resyncAfterReset).
func (s *caseState) renumber(ctx workflow.Context, events []Event, recorded int) []Event {
	first := events[0].Seq
	s.c.Version = max(recorded, first-1)
	text := fmt.Sprintf("The case's workflow was reset in Temporal to an earlier point: it goes on from stage %d (%s) as it stood then.",
		s.c.Stage.Number, s.stageLabel())
	if recorded >= first {
		text += fmt.Sprintf(" Events %d to %d were recorded before the reset and stay on the record.", first, recorded)
	}
	// The step's events are counted already; the reset event, the
	// system's, adds nothing to the stage's evidence.
	run := s.stageRun.clone()
	out := s.moved(0, MoveReset, s.withDue(s.event(ctx, EventReset, s.c.Stage.Number, Person{Name: "escalate"}, text), s.c.Stage.DueAt))
	s.stageRun = run
	for _, ev := range events {
		s.c.Version++
		ev.Seq = s.c.Version
		out = append(out, ev)
	}
	workflow.GetLogger(ctx).Warn("case reset in Temporal: numbering after the record", "ref", s.c.Ref, "recorded", recorded, "next", out[0].Seq)
	return out
}

// publish updates what operators see of the case in the Temporal Web UI:
// the search attributes they filter on and the case's current details in
// words.
func (s *caseState) publish(ctx workflow.Context) {
	// A current case upserts only when a value changed: a note or a
	// contact changes none, and each upsert is an event in the history
	// and a write to Temporal's visibility store (docs/performance.md).
	if s.current {
		key := fmt.Sprint(s.c.Policy, "|", s.c.Status, "|", s.c.Stage.Number, "|", s.c.Stage.DueAt.UnixNano(), "|",
			s.c.Raiser.Agency, "|", s.c.Respondent.Agency, "|", s.c.Category, "|", s.c.Urgent, "|", s.c.Stage.Overdue && !s.c.Closed())
		if key == s.published {
			workflow.SetCurrentDetails(ctx, s.details())
			return
		}
		s.published = key
	}
	updates := []temporal.SearchAttributeUpdate{
		SearchPolicy.ValueSet(s.c.Policy),
		SearchStatus.ValueSet(s.c.Status),
		SearchStage.ValueSet(int64(s.c.Stage.Number)),
		SearchDueAt.ValueSet(s.c.Stage.DueAt),
	}
	// Cases started before the other attributes existed upsert as they
	// did, so their histories replay.
	if s.current || workflow.GetVersion(ctx, "operator-search-attributes", workflow.DefaultVersion, 1) >= 1 {
		updates = append(updates,
			SearchRaisingAgency.ValueSet(s.c.Raiser.Agency),
			SearchRespondingAgency.ValueSet(s.c.Respondent.Agency),
			SearchCategory.ValueSet(s.c.Category),
			SearchUrgent.ValueSet(s.c.Urgent),
			SearchOverdue.ValueSet(s.c.Stage.Overdue && !s.c.Closed()),
		)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
	workflow.SetCurrentDetails(ctx, s.details())
}

// details says where the case stands in one line, for operators: "Stage 2
// of 5, Direct manager to manager discussion, due 17:00 Tue 8 Dec 2026 GMT;
// waiting for each practitioner's line manager".
func (s *caseState) details() string {
	st := s.c.Stage
	where := fmt.Sprintf("Stage %d of %d, %s", st.Number, s.policy.LastStage(), s.stageLabel())
	switch {
	case s.c.Closed():
		return fmt.Sprintf("Closed %s at stage %d of %d, %s.", s.c.Status, st.Number, s.policy.LastStage(), s.stageLabel())
	case s.c.Status == StatusAgreementProposed && s.c.Agreement != nil:
		return fmt.Sprintf("%s, due %s; an agreed outcome is proposed by the %s's side, waiting for the other side to confirm it.",
			where, s.localTime(st.DueAt), s.c.Agreement.ProposedBySide)
	case st.Phase == PhaseAwaitingReview:
		return fmt.Sprintf("%s, due %s; waiting for the partnership to check that the earlier stages were followed.", where, s.localTime(st.DueAt))
	case st.Overdue:
		return fmt.Sprintf("%s, OVERDUE since %s; waiting for %s.", where, s.localTime(st.DueAt), st.Who)
	}
	return fmt.Sprintf("%s, due %s; waiting for %s.", where, s.localTime(st.DueAt), st.Who)
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

// categoryLabel is the case's category as people read it, with its detail
// where the category asks for one ("Other: School transport plan").
func (s *caseState) categoryLabel() string {
	if c, ok := s.policy.Category(s.c.Category); ok {
		return c.Shown(s.c.CategoryDetail)
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
