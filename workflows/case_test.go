package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"escalate/policies"
	"escalate/workflows"
)

// fakeActivities stands in for the PostgreSQL activities: it keeps what the
// workflow asked to record, in order, like the events table would.
type fakeActivities struct {
	mu        sync.Mutex
	events    []workflows.Event
	notices   map[int][]workflows.Recipient
	mails     map[int][]workflows.Recipient
	snapshots []workflows.Case
	delivered []int
	// dispatched: events whose notifications the record was asked to mark
	// for the worker's dispatcher (RecordEventsInput.Dispatch).
	dispatched []int
	// refuse, when set, makes RecordEvents refuse a batch it matches, as
	// PostgreSQL refuses a value it cannot store.
	refuse  func(workflows.RecordEventsInput) bool
	settled []int
	// opening is how the opening was recorded: by which activity, with
	// which policy snapshot or hash.
	opening struct {
		activity string
		in       workflows.RecordEventsInput
	}
}

// RecordOpening is RecordEvents for an opening that names its policy
// snapshot by hash, as the record's is.
func (f *fakeActivities) RecordOpening(ctx context.Context, in workflows.RecordEventsInput) (workflows.RecordEventsResult, error) {
	res, err := f.RecordEvents(ctx, in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opening.activity = workflows.ActivityRecordOpening
	return res, err
}

func (f *fakeActivities) SettleNotifications(_ context.Context, in workflows.SettleNotificationsInput) (workflows.SettleNotificationsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settled = append(f.settled, in.Seqs...)
	return workflows.SettleNotificationsResult{Failed: int64(len(in.Seqs))}, nil
}

func (f *fakeActivities) RecordEvents(_ context.Context, in workflows.RecordEventsInput) (workflows.RecordEventsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil && f.refuse(in) {
		return workflows.RecordEventsResult{}, temporal.NewNonRetryableApplicationError(
			"a value of this change cannot be recorded (SQLSTATE 22021)", workflows.ErrRecordRefused, nil)
	}
	if len(in.Events) > 0 && in.Events[0].Type == workflows.EventOpened {
		f.opening.activity, f.opening.in = workflows.ActivityRecordEvents, in
	}
	f.events = append(f.events, in.Events...)
	if in.Dispatch {
		for _, ev := range in.Events {
			f.dispatched = append(f.dispatched, ev.Seq)
		}
	}
	// notices: who is told of each event, whether by a notification of its
	// own or by one that tells of it too (Recipient.Also); mails: the
	// notifications themselves, by the event they are recorded on.
	for _, n := range in.Notices {
		f.mails[n.Seq] = n.Recipients
		f.notices[n.Seq] = append(f.notices[n.Seq], n.Recipients...)
		for _, r := range n.Recipients {
			for _, also := range r.Also {
				f.notices[also] = append(f.notices[also], r)
			}
		}
	}
	f.snapshots = append(f.snapshots, in.Case)
	return workflows.RecordEventsResult{Inserted: len(in.Events)}, nil
}

func (f *fakeActivities) DeliverNotifications(_ context.Context, in workflows.DeliverNotificationsInput) (workflows.DeliverNotificationsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered = append(f.delivered, in.Seqs...)
	return workflows.DeliverNotificationsResult{Logged: len(in.Seqs)}, nil
}

func (f *fakeActivities) Cancellation(_ context.Context, in workflows.CancellationInput) (workflows.CancellationResult, error) {
	return workflows.CancellationResult{Identity: "ops@escalate-admin", Reason: "Raised in error: duplicate of " + in.Ref}, nil
}

func (f *fakeActivities) RecordedSeq(_ context.Context, in workflows.RecordedSeqInput) (workflows.RecordedSeqResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return workflows.RecordedSeqResult{Seq: len(f.events)}, nil
}

// recorded is the case as the record holds it once the change that took
// it to version is written: that change's snapshot, with the events up to
// it as its history, which is how the API reads a case from PostgreSQL.
func (f *fakeActivities) recorded(version int) (workflows.Case, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.snapshots) - 1; i >= 0; i-- {
		if f.snapshots[i].Version != version {
			continue
		}
		c := f.snapshots[i]
		c.History = f.historyLocked(version)
		return c, true
	}
	return workflows.Case{}, false
}

// history is the recorded events up to version.
func (f *fakeActivities) history(version int) []workflows.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.historyLocked(version)
}

func (f *fakeActivities) historyLocked(version int) []workflows.Event {
	var out []workflows.Event
	for _, ev := range f.events {
		if ev.Seq <= version {
			out = append(out, ev)
		}
	}
	return out
}

func (f *fakeActivities) types() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.events))
	for i, e := range f.events {
		out[i] = e.Type
	}
	return out
}

var london = mustLocation("Europe/London")

func mustLocation(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func northamptonshire(t *testing.T) policies.Policy {
	t.Helper()
	r, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Get("northamptonshire")
	if !ok {
		t.Fatal("northamptonshire policy missing")
	}
	return p
}

var (
	raiser     = workflows.Party{Name: "Hana Visitor", Email: "hana@nhft.example", Agency: "nhft"}
	respondent = workflows.Party{Name: "Sam Social", Email: "Sam@NCT.example", Agency: "nct"}
	asRaiser   = workflows.Person{Name: raiser.Name, Email: raiser.Email, Agency: raiser.Agency, Role: "practitioner"}
	// Emails match case-insensitively.
	asRespondent  = workflows.Person{Name: respondent.Name, Email: "sam@nct.example", Agency: respondent.Agency, Role: "practitioner"}
	asManager     = workflows.Person{Name: "Mo Manager", Email: "mo@nct.example", Agency: "nct", Role: "manager"}
	asPartnership = workflows.Person{Name: "Pat Lead", Email: "pat@nscp.example", Agency: "northamptonshire", Role: "partnership"}
	asStranger    = workflows.Person{Name: "Stra Nger", Email: "x@elsewhere.example", Agency: "police", Role: "practitioner"}
)

// harness runs one case workflow in the time-skipping test environment.
type harness struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	acts *fakeActivities
	in   workflows.CaseInput
	// old: the case runs as cases started before the lean state did
	// (beforeLean).
	old bool
}

// beforeLean makes the case run as one started before the workflow's state
// was kept lean: history in the state, the whole case in every answer.
func (h *harness) beforeLean() {
	h.old = true
	// Started before the one marker for every change too: it asks for
	// each, and is told lean-state is not on.
	h.env.OnGetVersion("current-case", workflow.DefaultVersion, 3).Return(workflow.DefaultVersion)
	h.env.OnGetVersion("lean-state", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
}

func newHarness(t *testing.T, start time.Time, mutate ...func(*workflows.CaseInput)) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	acts := &fakeActivities{notices: map[int][]workflows.Recipient{}, mails: map[int][]workflows.Recipient{}}
	env.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
	env.RegisterActivity(acts)
	in := workflows.CaseInput{
		Ref: "NSCP-2026-00001", Policy: northamptonshire(t), ChildRef: "NCT/123",
		Category: "threshold-csc-assessment", Summary: "Referral judged below threshold",
		Raiser: raiser, Respondent: respondent,
	}
	for _, m := range mutate {
		m(&in)
	}
	return &harness{t: t, env: env, acts: acts, in: in}
}

// result of one update sent during the run.
type updateResult struct {
	done     bool
	rejected error
	err      error
	// res is the update's result; c the case as recorded by the change
	// the result names.
	res workflows.ActionResult
	c   workflows.Case
}

// answered checks an update's small result against the record and returns
// the case as recorded by the change it names.
func (h *harness) answered(name string, res workflows.ActionResult) workflows.Case {
	if h.old {
		if res.Case.Version == 0 || len(res.Case.History) != res.Case.Version || res.Seq != 0 {
			h.t.Errorf("%s in a case started before the lean state answered %+v", name, res)
		}
		return res.Case
	}
	if res.Case.Version != 0 || len(res.Case.History) != 0 {
		h.t.Errorf("%s answered with the whole case (version %d, %d events of history)", name, res.Case.Version, len(res.Case.History))
	}
	if res.Seq == 0 || res.Version != res.Seq || res.Status == "" || res.Stage == 0 {
		h.t.Errorf("%s answered %+v, want its sequence number, version, status and stage", name, res)
	}
	c, ok := h.acts.recorded(res.Version)
	if !ok {
		h.t.Errorf("%s answered version %d, which no recorded change has", name, res.Version)
		return c
	}
	if c.Status != res.Status || c.Stage.Number != res.Stage {
		h.t.Errorf("%s answered status %s at stage %d; the record has %s at stage %d", name, res.Status, res.Stage, c.Status, c.Stage.Number)
	}
	if n := len(c.History); n == 0 || c.History[n-1].Seq != res.Seq {
		h.t.Errorf("%s answered seq %d, the record's last event up to it is not that", name, res.Seq)
	}
	return c
}

// at sends an update after d of workflow time and keeps what came back.
func (h *harness) at(d time.Duration, name string, arg any) *updateResult {
	return h.atThen(d, name, arg, func() {})
}

// atThen is at, running accepted once the update is accepted (while its
// handler runs).
func (h *harness) atThen(d time.Duration, name string, arg any, accepted func()) *updateResult {
	return h.atWithID(d, name, "", arg, accepted)
}

// atWithID is atThen with the update's ID ("": a new one).
func (h *harness) atWithID(d time.Duration, name, id string, arg any, accepted func()) *updateResult {
	r := &updateResult{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: accepted,
			OnReject: func(err error) { r.done, r.rejected = true, err },
			OnComplete: func(v any, err error) {
				r.done, r.err = true, err
				if res, ok := v.(workflows.ActionResult); ok && err == nil {
					r.res = res
					r.c = h.answered(name, res)
				}
			},
		}, arg)
	}, d)
	return r
}

// query reads the state after d of workflow time.
func (h *harness) query(d time.Duration, into *workflows.Case) {
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryState)
		if err != nil {
			h.t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(into); err != nil {
			h.t.Errorf("query decode: %v", err)
		}
		if h.old {
			if len(into.History) != into.Version {
				h.t.Errorf("a case started before the lean state: the query has %d events of history at version %d", len(into.History), into.Version)
			}
			return
		}
		if len(into.History) != 0 {
			h.t.Errorf("the workflow's state holds %d events of history", len(into.History))
		}
		// The history is the record's, as the API serves it.
		into.History = h.acts.history(into.Version)
	}, d)
}

func (h *harness) run() {
	h.env.ExecuteWorkflow(workflows.CaseWorkflowName, h.in)
}

// finished asserts the workflow completed and returns its final case.
func (h *harness) finished() workflows.Case {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var res workflows.CaseResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	if h.old {
		return res.Case
	}
	if len(res.Case.History) != 0 {
		h.t.Errorf("the workflow's result holds %d events of history", len(res.Case.History))
	}
	res.Case.History = h.acts.history(res.Case.Version)
	return res.Case
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	if err == nil {
		return ""
	}
	return "untyped: " + err.Error()
}

func wantRejected(t *testing.T, what string, r *updateResult, typ string) {
	t.Helper()
	if !r.done {
		t.Fatalf("%s: update never answered", what)
	}
	if r.rejected == nil {
		t.Fatalf("%s: accepted, want rejected with %s", what, typ)
	}
	if got := errType(r.rejected); got != typ {
		t.Fatalf("%s: rejected with %q (%v), want %q", what, got, r.rejected, typ)
	}
}

func wantDone(t *testing.T, what string, r *updateResult) workflows.Case {
	t.Helper()
	if !r.done || r.rejected != nil || r.err != nil {
		t.Fatalf("%s: done=%v rejected=%v err=%v", what, r.done, r.rejected, r.err)
	}
	return r.c
}

func local(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, london)
}

// With nobody acting, the case climbs every stage at its working-day
// deadline, is referred for mediation from stage 4, and is marked overdue at
// stage 5 without closing; the partnership then records the outcome.
func TestEveryStageTimesOutUpTheLadder(t *testing.T) {
	start := local(2026, 12, 24, 14, 0) // Thursday before Christmas
	h := newHarness(t, start)
	// The expected deadlines, computed by hand from the 2026-27 England and
	// Wales bank holidays (25 Dec, 28 Dec substitute Boxing Day, 1 Jan):
	wantDue := []time.Time{
		local(2026, 12, 30, 17, 0), // stage 1: 2 working days: 29, 30 Dec
		local(2027, 1, 7, 17, 0),   // stage 2: 5 working days from 30 Dec: 31, 4, 5, 6, 7 Jan
		local(2027, 1, 14, 17, 0),  // stage 3: 8, 11, 12, 13, 14 Jan
		local(2027, 1, 18, 17, 0),  // stage 4: 2 working days: 15, 18 Jan
		local(2027, 1, 25, 17, 0),  // stage 5: 19, 20, 21, 22, 25 Jan
	}
	var seen [5]workflows.Case
	for i, due := range wantDue {
		// Just before each deadline the case is at that stage.
		h.query(due.Add(-time.Minute).Sub(start), &seen[i])
	}
	var overdue workflows.Case
	h.query(wantDue[4].Add(time.Hour).Sub(start), &overdue)
	// Stage 5's outcome follows the mediation a Strategic Lead offers: here
	// the offer was declined.
	h.at(wantDue[4].Add(47*time.Hour).Sub(start), workflows.UpdateMeeting, workflows.MeetingInput{By: asPartnership, At: wantDue[4].Add(24 * time.Hour),
		Purpose: "Mediation offered by a Strategic Lead", Declined: true})
	outcome := h.at(wantDue[4].Add(48*time.Hour).Sub(start), workflows.UpdateOutcome,
		workflows.OutcomeInput{By: asPartnership, Resolved: false, Outcome: "Mediation offered; no agreement", Learning: "Earlier manager contact"})
	h.run()

	for i, c := range seen {
		if c.Stage.Number != i+1 {
			t.Fatalf("before deadline %d: at stage %d", i+1, c.Stage.Number)
		}
		if !c.Stage.DueAt.Equal(wantDue[i]) {
			t.Errorf("stage %d due %v, want %v", i+1, c.Stage.DueAt.In(london), wantDue[i])
		}
		if c.Status != workflows.StatusOpen || c.Stage.Overdue {
			t.Errorf("stage %d: status %s overdue %v", i+1, c.Status, c.Stage.Overdue)
		}
	}
	if !seen[1].Stage.StartedAt.Equal(wantDue[0]) {
		t.Errorf("stage 2 started %v, want at stage 1's deadline %v", seen[1].Stage.StartedAt, wantDue[0])
	}
	if overdue.Stage.Number != 5 || !overdue.Stage.Overdue || overdue.Status != workflows.StatusOpen {
		t.Errorf("after the last deadline: stage %d overdue %v status %s; want 5, true, open", overdue.Stage.Number, overdue.Stage.Overdue, overdue.Status)
	}
	final := h.finished()
	wantDone(t, "outcome", outcome)
	if final.Status != workflows.StatusUnresolved || final.ClosedAt == nil || final.Learning == "" {
		t.Errorf("final: %s closed %v learning %q", final.Status, final.ClosedAt, final.Learning)
	}
	got := strings.Join(h.acts.types(), ",")
	// Each stage reminds its people half-way, then times out.
	want := strings.Join([]string{
		workflows.EventOpened, workflows.EventStageEntered, workflows.EventReminder,
		workflows.EventDeadlinePassed, workflows.EventEscalated, workflows.EventStageEntered, workflows.EventReminder,
		workflows.EventDeadlinePassed, workflows.EventEscalated, workflows.EventStageEntered, workflows.EventReminder,
		workflows.EventDeadlinePassed, workflows.EventEscalated, workflows.EventStageEntered, workflows.EventReminder,
		workflows.EventDeadlinePassed, workflows.EventEscalated, workflows.EventStageEntered, workflows.EventReminder,
		workflows.EventDeadlinePassed, workflows.EventMeeting, workflows.EventOutcome,
	}, ",")
	if got != want {
		t.Errorf("recorded events:\n got %s\nwant %s", got, want)
	}
	// Stage 1 runs from 14:00 Thu 24 Dec to 17:00 Wed 30 Dec 2026 (147
	// hours): its reminder is half-way, at 15:30 on Sunday 27 December.
	for _, e := range h.acts.events {
		if e.Type == workflows.EventReminder && e.Stage == 1 {
			if want := local(2026, 12, 27, 15, 30); !e.At.Equal(want) {
				t.Errorf("stage 1 reminder at %v, want %v", e.At.In(london), want)
			}
			if !hasRecipient(h.acts.notices[e.Seq], raiser.Email) || !hasRecipient(h.acts.notices[e.Seq], respondent.Email) {
				t.Errorf("stage 1 reminder recipients %+v", h.acts.notices[e.Seq])
			}
		}
	}
	// Stage 4 runs out into mediation, not a plain escalation.
	for _, e := range h.acts.events {
		if e.Type == workflows.EventEscalated && e.Stage == 4 && !strings.Contains(e.Text, "mediation") {
			t.Errorf("stage 4 timeout text %q does not say mediation", e.Text)
		}
	}
	// The business office is told when the case reaches the partnership
	// stage and when it is overdue there; the parties are told of every event.
	var reached, overdueSeq int
	for _, e := range h.acts.events {
		if e.Type == workflows.EventStageEntered && e.Stage == 5 {
			reached = e.Seq
		}
		if e.Type == workflows.EventDeadlinePassed && e.Stage == 5 {
			overdueSeq = e.Seq
		}
	}
	for _, seq := range []int{reached, overdueSeq} {
		if !hasRecipient(h.acts.notices[seq], "business.office@nscp.example.org") {
			t.Errorf("event %d: business office not told: %+v", seq, h.acts.notices[seq])
		}
	}
	if hasRecipient(h.acts.notices[1], "business.office@nscp.example.org") {
		t.Error("business office told of a stage-1 opening")
	}
	for _, e := range h.acts.events {
		rs := h.acts.notices[e.Seq]
		if e.Type == workflows.EventReminder && e.Stage >= 2 && e.Stage <= 4 {
			// Nobody is named at the managers' stages: each side's
			// escalation contact is reminded in place of its practitioner.
			if !hasRecipient(rs, "safeguarding.nhft@nscp.example.org") || !hasRecipient(rs, "safeguarding.nct@nscp.example.org") ||
				hasRecipient(rs, raiser.Email) || hasRecipient(rs, respondent.Email) {
				t.Errorf("event %d reminder at stage %d: %+v", e.Seq, e.Stage, rs)
			}
			continue
		}
		if e.ByEmail == "" && (!hasRecipient(rs, raiser.Email) || !hasRecipient(rs, respondent.Email)) {
			t.Errorf("event %d %s: parties not all told: %+v", e.Seq, e.Type, rs)
		}
	}
	// A case started now leaves every event's notifications to the
	// worker's dispatcher, and runs no delivery of its own.
	if len(h.acts.dispatched) != len(h.acts.events) || len(h.acts.delivered) != 0 {
		t.Errorf("recorded %d events, %d for the dispatcher; %d delivered by the workflow, want none",
			len(h.acts.events), len(h.acts.dispatched), len(h.acts.delivered))
	}
}

func hasRecipient(rs []workflows.Recipient, email string) bool {
	for _, r := range rs {
		if strings.EqualFold(r.Email, email) {
			return true
		}
	}
	return false
}

// Agreement reached at stage 1: one side proposes, the same side cannot
// confirm, the other side confirms, and the case closes resolved.
func TestAgreementAtStageOne(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	note := h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Called Sam; discussed the referral"})
	propose := h.at(2*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{
		By: asRespondent, Outcome: "Assessment will proceed",
		Actions: []workflows.Action{{What: "Start assessment", Who: "Sam Social", By: local(2026, 11, 27, 17, 0)}},
	})
	again := h.at(2*time.Hour+time.Minute, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "Other"})
	sameSide := h.at(3*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRespondent})
	stranger := h.at(3*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asStranger})
	confirm := h.at(4*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRaiser})
	h.run()

	if c := wantDone(t, "note", note); len(c.History) != 3 || c.History[2].Text != "Called Sam; discussed the referral" {
		t.Errorf("note not in history: %+v", c.History)
	}
	if c := wantDone(t, "propose", propose); c.Status != workflows.StatusAgreementProposed || c.Agreement.ProposedBySide != workflows.SideRespondent {
		t.Errorf("after propose: %s %+v", c.Status, c.Agreement)
	}
	wantRejected(t, "second proposal", again, workflows.ErrConflict)
	wantRejected(t, "confirm by proposing side", sameSide, workflows.ErrConflict)
	wantRejected(t, "confirm by a stranger", stranger, workflows.ErrConflict)
	c := wantDone(t, "confirm", confirm)
	if c.Status != workflows.StatusResolved || c.Agreement.ConfirmedBy != raiser.Name || c.Agreement.At == nil {
		t.Errorf("after confirm: %s %+v", c.Status, c.Agreement)
	}
	final := h.finished()
	if final.Stage.Number != 1 || final.Status != workflows.StatusResolved {
		t.Errorf("final: stage %d %s", final.Stage.Number, final.Status)
	}
	want := "case_opened,stage_entered,note,agreement_proposed,agreement_confirmed"
	if got := strings.Join(h.acts.types(), ","); got != want {
		t.Errorf("events %s, want %s", got, want)
	}
}

// A rejected proposal returns the case to open at the same stage, and a
// later proposal can then be confirmed by a contact of the other side.
func TestRejectThenAgreeThroughAContact(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	h.at(time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "No further action"})
	reject := h.at(2*time.Hour, workflows.UpdateRejectAgreement, workflows.RejectAgreementInput{By: asRespondent, Reason: "Risk not addressed"})
	// Stage 1 (2 working days) ends at 17:00 Wed 25 Nov; escalate with
	// evidence before then.
	noEvidence := h.at(3*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "No agreement"})
	esc := h.at(4*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "No agreement", Evidence: "Two calls on 23 Nov"})
	contact := h.at(5*time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRespondent, Side: workflows.SideRespondent, Name: asManager.Name, Email: asManager.Email, Role: "Team manager"})
	dup := h.at(5*time.Hour+time.Minute, workflows.UpdateContact, workflows.ContactInput{By: asRespondent, Side: workflows.SideRespondent, Name: asManager.Name, Email: asManager.Email, Role: "Team manager"})
	crossSide := h.at(5*time.Hour+2*time.Minute, workflows.UpdateContact, workflows.ContactInput{By: asRaiser, Side: workflows.SideRaiser, Name: asManager.Name, Email: asManager.Email, Role: "Team manager"})
	h.at(6*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "Strategy discussion today", Learning: "Talk sooner"})
	confirm := h.at(7*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asManager})
	h.run()

	if c := wantDone(t, "reject", reject); c.Status != workflows.StatusOpen || c.Agreement != nil || c.Stage.Number != 1 {
		t.Errorf("after reject: %s %+v stage %d", c.Status, c.Agreement, c.Stage.Number)
	}
	wantRejected(t, "escalate to stage 2 without evidence", noEvidence, workflows.ErrRuleViolation)
	c := wantDone(t, "escalate", esc)
	if c.Stage.Number != 2 || !c.Stage.StartedAt.Equal(start.Add(4*time.Hour)) {
		t.Errorf("after escalate: stage %d started %v", c.Stage.Number, c.Stage.StartedAt)
	}
	// 5 working days from Monday 23 Nov 13:00: Tue 24 .. Mon 30 Nov.
	if want := local(2026, 11, 30, 17, 0); !c.Stage.DueAt.Equal(want) {
		t.Errorf("stage 2 due %v, want %v", c.Stage.DueAt.In(london), want)
	}
	c = wantDone(t, "contact", contact)
	if len(c.Contacts) != 1 || c.Contacts[0].Side != workflows.SideRespondent || c.Contacts[0].Stage != 2 || c.Contacts[0].Agency != "nct" {
		t.Errorf("contacts: %+v", c.Contacts)
	}
	wantRejected(t, "same contact twice", dup, workflows.ErrConflict)
	wantRejected(t, "contact on both sides", crossSide, workflows.ErrConflict)
	c = wantDone(t, "confirm by respondent's contact", confirm)
	if c.Status != workflows.StatusResolved || c.Learning != "Talk sooner" || c.Stage.Number != 2 {
		t.Errorf("final: %s learning %q stage %d", c.Status, c.Learning, c.Stage.Number)
	}
	h.finished()
}

// Escalation rules: evidence where the next stage needs it, no skipping
// unless urgent, nothing beyond the last stage.
func TestEscalationRules(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	t.Run("non-urgent cannot skip", func(t *testing.T) {
		h := newHarness(t, start)
		skip := h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e", ToStage: 4})
		backwards := h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e", ToStage: 1})
		noReason := h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Evidence: "e"})
		h.at(2*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "done"})
		h.run()
		wantRejected(t, "skip", skip, workflows.ErrRuleViolation)
		wantRejected(t, "backwards", backwards, workflows.ErrRuleViolation)
		wantRejected(t, "no reason", noReason, workflows.ErrRuleViolation)
		h.finished()
	})
	t.Run("urgent may skip, then the last stage cannot climb", func(t *testing.T) {
		h := newHarness(t, start, func(in *workflows.CaseInput) { in.Urgent = true })
		skip := h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Child at risk tonight", Evidence: "Manager unavailable", ToStage: 5})
		beyond := h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
		h.at(2*time.Hour+30*time.Minute, workflows.UpdateMeeting, workflows.MeetingInput{By: asPartnership, At: local(2026, 11, 23, 12, 0),
			Facilitator: &workflows.Party{Name: "Sol Strategic", Email: "sol@nscp.example"}})
		notPartner := h.at(3*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "Mediated"})
		h.run()
		c := wantDone(t, "skip to 5", skip)
		if c.Stage.Number != 5 || !c.Urgent {
			t.Fatalf("stage %d urgent %v", c.Stage.Number, c.Urgent)
		}
		wantRejected(t, "beyond last stage", beyond, workflows.ErrConflict)
		if c := wantDone(t, "partnership outcome", notPartner); c.Status != workflows.StatusResolved {
			t.Errorf("status %s", c.Status)
		}
		h.finished()
	})
}

// Only the raiser's side withdraws; a withdrawn case takes no more actions.
func TestWithdrawal(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	byRespondent := h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRespondent, Reason: "no"})
	outcomeTooEarly := h.at(time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "x"})
	ok := h.at(2*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Resolved informally by phone"})
	h.run()
	wantRejected(t, "withdraw by respondent", byRespondent, workflows.ErrConflict)
	wantRejected(t, "outcome at stage 1", outcomeTooEarly, workflows.ErrConflict)
	c := wantDone(t, "withdraw", ok)
	if c.Status != workflows.StatusWithdrawn || c.ClosedAt == nil || !c.ClosedAt.Equal(start.Add(2*time.Hour)) {
		t.Errorf("after withdraw: %s %v", c.Status, c.ClosedAt)
	}
	final := h.finished()
	if final.Status != workflows.StatusWithdrawn {
		t.Errorf("final %s", final.Status)
	}
}

// A shorter agreed deadline replaces the stage's timer; one later than the
// policy's maximum or in the past is refused. Northamptonshire agrees
// deadlines by both sides ("a mutually agreed plan of action, including
// timescales", northamptonshire-escalating-for-the-right-outcome.txt, Stage
// 1): the deadline given when raising and each later one take effect when
// the other side confirms them.
func TestAgreedDeadlines(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	agreedAtStart := local(2026, 11, 24, 12, 0)
	h := newHarness(t, start, func(in *workflows.CaseInput) { in.DueAt = &agreedAtStart })
	var first, confirmedFirst workflows.Case
	h.query(time.Minute, &first)
	h.at(30*time.Minute, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRespondent})
	h.query(31*time.Minute, &confirmedFirst)
	tooLate := h.at(time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRaiser, DueAt: local(2026, 11, 25, 17, 1), Reason: "r"})
	past := h.at(time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRaiser, DueAt: start, Reason: "r"})
	shorter := h.at(2*time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRespondent, DueAt: local(2026, 11, 23, 15, 0), Reason: "Child seen tomorrow"})
	confirmed := h.at(2*time.Hour+30*time.Minute, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRaiser})
	var after workflows.Case
	h.query(6*time.Hour+time.Minute, &after) // 15:01
	h.at(7*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end of test"})
	h.run()

	if first.Stage.Agreed || first.PendingDeadline == nil || !first.PendingDeadline.DueAt.Equal(agreedAtStart) || first.PendingDeadline.ProposedBySide != workflows.SideRaiser {
		t.Errorf("the deadline given when raising is proposed, not agreed: %+v pending %+v", first.Stage, first.PendingDeadline)
	}
	if !confirmedFirst.Stage.DueAt.Equal(agreedAtStart) || !confirmedFirst.Stage.Agreed || confirmedFirst.PendingDeadline != nil {
		t.Errorf("confirmed by the respondent: %+v pending %+v", confirmedFirst.Stage, confirmedFirst.PendingDeadline)
	}
	wantRejected(t, "later than the maximum", tooLate, workflows.ErrRuleViolation)
	wantRejected(t, "in the past", past, workflows.ErrRuleViolation)
	c := wantDone(t, "shorter", shorter)
	if !c.Stage.DueAt.Equal(agreedAtStart) || c.PendingDeadline == nil || !c.PendingDeadline.DueAt.Equal(local(2026, 11, 23, 15, 0)) {
		t.Errorf("proposed, not yet agreed: due %v pending %+v", c.Stage.DueAt, c.PendingDeadline)
	}
	c = wantDone(t, "confirm the shorter", confirmed)
	if !c.Stage.DueAt.Equal(local(2026, 11, 23, 15, 0)) || c.PendingDeadline != nil {
		t.Errorf("agreed due %v pending %+v", c.Stage.DueAt, c.PendingDeadline)
	}
	if last := c.History[len(c.History)-1]; last.Type != workflows.EventDeadlineChanged || !strings.Contains(last.Text, "by both sides") {
		t.Errorf("agreement record: %+v", last)
	}
	// The agreed deadline passed at 15:00 and the case escalated to stage 2.
	if after.Stage.Number != 2 || !after.Stage.StartedAt.Equal(local(2026, 11, 23, 15, 0)) {
		t.Errorf("after agreed deadline: stage %d started %v", after.Stage.Number, after.Stage.StartedAt.In(london))
	}
	h.finished()
}

// A policy that lets one side agree a deadline alone (deadlines_agreed_by:
// either), and a case whose policy snapshot predates the setting, agree it
// at once, as cases always did.
func TestDeadlineAgreedByEitherSide(t *testing.T) {
	for _, by := range []string{policies.DeadlinesAgreedByEither, ""} {
		start := local(2026, 11, 23, 9, 0)
		agreedAtStart := local(2026, 11, 24, 12, 0)
		h := newHarness(t, start, func(in *workflows.CaseInput) {
			in.DueAt = &agreedAtStart
			in.Policy.DeadlinesAgreedBy = by
		})
		var first workflows.Case
		h.query(time.Minute, &first)
		shorter := h.at(2*time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asPartnership, DueAt: local(2026, 11, 23, 15, 0), Reason: "Child seen tomorrow"})
		nothing := h.at(3*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRaiser})
		h.at(4*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end of test"})
		h.run()
		if !first.Stage.DueAt.Equal(agreedAtStart) || !first.Stage.Agreed || first.PendingDeadline != nil {
			t.Errorf("%q: agreed at start: %+v pending %+v", by, first.Stage, first.PendingDeadline)
		}
		if c := wantDone(t, "shorter", shorter); !c.Stage.DueAt.Equal(local(2026, 11, 23, 15, 0)) || !c.Stage.Agreed {
			t.Errorf("%q: agreed due %v", by, c.Stage.DueAt)
		}
		wantRejected(t, "confirm with nothing proposed", nothing, workflows.ErrConflict)
		h.finished()
	}
}

// An agreed start deadline later than the policy's maximum is ignored in
// favour of the maximum (the API refuses it; the workflow never trusts it).
func TestStartDeadlineNeverBeyondMaximum(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	late := local(2026, 12, 25, 9, 0)
	h := newHarness(t, start, func(in *workflows.CaseInput) { in.DueAt = &late })
	var first workflows.Case
	h.query(time.Minute, &first)
	h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
	h.run()
	if want := local(2026, 11, 25, 17, 0); !first.Stage.DueAt.Equal(want) || first.Stage.Agreed {
		t.Errorf("due %v agreed %v, want %v", first.Stage.DueAt, first.Stage.Agreed, want)
	}
	h.finished()
}

// A closed case accepts nothing more.
func TestClosedCaseRefusesActions(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start)
	h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "x"})
	note := h.at(time.Hour+time.Second, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "late"})
	h.run()
	if note.done && note.rejected == nil && note.err == nil {
		t.Fatal("a note was accepted on a withdrawn case")
	}
	h.finished()
	for _, ty := range h.acts.types() {
		if ty == workflows.EventNote {
			t.Fatal("note recorded after withdrawal")
		}
	}
}
