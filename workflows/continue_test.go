package workflows_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"escalate/workflows"
)

// continuedInput is the input of the run a workflow continued as new in,
// from the error it ended with.
func continuedInput(t *testing.T, err error) workflows.CaseInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("the run ended with %v, want it to continue as new", err)
	}
	if can.WorkflowType.Name != workflows.CaseWorkflowName {
		t.Fatalf("continued as %q", can.WorkflowType.Name)
	}
	for _, p := range can.Input.GetPayloads() {
		if strings.Contains(string(p.GetData()), `"history"`) {
			t.Errorf("the carried input holds a history: %d bytes", len(p.GetData()))
		}
	}
	var next workflows.CaseInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

// continued starts the run a case continued in, at start, on the same
// record.
func continued(t *testing.T, acts *fakeActivities, start time.Time, in workflows.CaseInput) *harness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
	env.RegisterActivity(acts)
	return &harness{t: t, env: env, acts: acts, in: in}
}

// Temporal suggests continuing as new in the middle of stage 1, after its
// reminder and while a note is being recorded: the note is answered and
// recorded first, then the case continues with its state, and in the new
// run the reminder does not come again, the deadline fires once (its climb
// counts the notes of the first run as the stage's evidence), the numbers
// go on with no gap, and the case closes as usual.
//
// Cases started now leave their notifications to the worker's dispatcher
// in both runs; cases started before current-case version 3 deliver them
// by activity, and a note recorded as the suggestion came is delivered by
// the next run.
func TestContinueAsNewInTheMiddleOfAStage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  workflow.Version // current-case; 0: the workflow's own
		dispatch bool
	}{
		{name: "dispatched", dispatch: true},
		{name: "delivered by the workflow", version: 2},
	} {
		t.Run(tc.name, func(t *testing.T) { continueInTheMiddleOfAStage(t, tc.version, tc.dispatch) })
	}
}

func continueInTheMiddleOfAStage(t *testing.T, version workflow.Version, dispatch bool) {
	start := local(2026, 11, 2, 9, 0) // Monday; stage 1 due 17:00 Wednesday, reminded half-way
	h := newHarness(t, start)
	if version != 0 {
		h.env.OnGetVersion("current-case", workflow.DefaultVersion, 3).Return(version)
	}
	first := h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Phoned Sam"})
	// Tuesday 15:00, after the reminder (Tuesday 13:00): the suggestion
	// comes while a note arrives.
	mid := local(2026, 11, 3, 15, 0).Sub(start)
	second := h.atThen(mid, workflows.UpdateNote, workflows.NoteInput{By: asRespondent, Text: "Sent the minutes"},
		func() { h.env.SetContinueAsNewSuggested(true) })
	h.run()
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("the first run did not end")
	}
	next := continuedInput(t, h.env.GetWorkflowError())
	wantDone(t, "note before", first)
	if c := wantDone(t, "note as the suggestion comes", second); c.Version != second.res.Seq {
		t.Fatalf("note answered %+v", second.res)
	}
	firstRun := len(h.acts.events)
	if got := h.acts.types(); strings.Join(got[len(got)-2:], ",") != workflows.EventReminder+","+workflows.EventNote {
		t.Fatalf("first run recorded %v, want the reminder then the last note at its end", got)
	}
	carry := next.Carry
	if carry == nil || next.Ref != h.in.Ref || next.Policy.ID != h.in.Policy.ID || next.RequestID != h.in.RequestID {
		t.Fatalf("continued with %+v", next)
	}
	if carry.Case.Version != firstRun || carry.Case.Stage.Number != 1 || len(carry.Case.History) != 0 || carry.Runs != 1 ||
		carry.Reminded != carry.Epoch || !carry.Serial || !carry.Decisions {
		t.Fatalf("carried %+v", carry)
	}
	if carry.StageRun.Stage != 1 || carry.StageRun.Counts[workflows.EventNote] != 2 {
		t.Fatalf("carried stage run %+v, want 2 notes at stage 1", carry.StageRun)
	}
	if carry.Dispatch != dispatch {
		t.Fatalf("carried dispatch %v, want %v", carry.Dispatch, dispatch)
	}
	if dispatch {
		// Nothing is delivered by the workflow, so nothing is carried.
		if len(carry.Deliver) != 0 || len(h.acts.delivered) != 0 {
			t.Fatalf("carried deliveries %v, delivered %v; want none", carry.Deliver, h.acts.delivered)
		}
	} else if len(carry.Deliver) != 1 || carry.Deliver[0] != second.res.Seq || slices.Contains(h.acts.delivered, second.res.Seq) {
		// The note recorded once the suggestion came is not delivered by
		// the first run, which ends with no delivery in flight: the next
		// run sends it.
		t.Fatalf("carried deliveries %v (delivered %v), want the last note's %d", carry.Deliver, h.acts.delivered, second.res.Seq)
	}

	at := start.Add(mid)
	h2 := continued(t, h.acts, at, next)
	var before workflows.Case
	h2.query(time.Minute, &before)
	// Wednesday 10:00, still stage 1: the next note takes the next number.
	note := h2.at(local(2026, 11, 4, 10, 0).Sub(at), workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Agreed to meet"})
	var atStage2 workflows.Case
	h2.query(local(2026, 11, 4, 17, 1).Sub(at), &atStage2)
	withdraw := h2.at(local(2026, 11, 5, 9, 0).Sub(at), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "resolved informally"})
	h2.run()
	final := h2.finished()

	if before.Version != firstRun || before.Stage.Number != 1 || !before.Stage.DueAt.Equal(local(2026, 11, 4, 17, 0)) {
		t.Fatalf("the continued run starts at version %d, stage %d due %v", before.Version, before.Stage.Number, before.Stage.DueAt)
	}
	if n := wantDone(t, "note in the continued run", note); note.res.Seq != firstRun+1 || n.Stage.Number != 1 {
		t.Fatalf("note in the continued run numbered %d, want %d", note.res.Seq, firstRun+1)
	}
	if atStage2.Stage.Number != 2 {
		t.Fatalf("after stage 1's deadline the case is at stage %d", atStage2.Stage.Number)
	}
	wantDone(t, "withdraw", withdraw)
	if final.Status != workflows.StatusWithdrawn {
		t.Fatalf("final status %s", final.Status)
	}
	for _, ev := range h.acts.events {
		delivered, dispatched := countOf(h.acts.delivered, ev.Seq), countOf(h.acts.dispatched, ev.Seq)
		if dispatch && (dispatched != 1 || delivered != 0) || !dispatch && (delivered != 1 || dispatched != 0) {
			t.Errorf("event %d (%s): delivered by the workflow %d times, left to the dispatcher %d times (dispatch %v)",
				ev.Seq, ev.Type, delivered, dispatched, dispatch)
		}
	}
	reminders, passed := 0, 0
	var climb workflows.Event
	for i, ev := range h.acts.events {
		if ev.Seq != i+1 {
			t.Fatalf("the record has a gap or a repeat: event %d has seq %d", i+1, ev.Seq)
		}
		switch {
		case ev.Type == workflows.EventReminder && ev.Stage == 1:
			reminders++
		case ev.Type == workflows.EventDeadlinePassed && ev.Stage == 1:
			passed++
		case ev.Type == workflows.EventEscalated && ev.Stage == 1:
			climb = ev
		}
	}
	if reminders != 1 || passed != 1 {
		t.Fatalf("stage 1: %d reminders and %d deadlines passed, want one each", reminders, passed)
	}
	if !strings.Contains(climb.Text, "recorded at stage 1: 3 notes") {
		t.Errorf("the climb's evidence does not count the notes of both runs: %q", climb.Text)
	}
}

// A case does not continue as new while it is closed or in the middle of a
// change: closed, it ends as usual even if Temporal suggests continuing.
func TestClosedCaseDoesNotContinue(t *testing.T) {
	start := local(2026, 11, 2, 9, 0)
	h := newHarness(t, start)
	withdraw := h.atThen(2*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "raised in error"},
		func() { h.env.SetContinueAsNewSuggested(true) })
	h.run()
	wantDone(t, "withdraw", withdraw)
	if c := h.finished(); c.Status != workflows.StatusWithdrawn {
		t.Fatalf("status %s", c.Status)
	}
}

// An update's result is small and does not carry the case: measured as
// Temporal's payload converter encodes it.
func TestUpdateResultPayloadIsSmall(t *testing.T) {
	start := local(2026, 11, 2, 9, 0)
	h := newHarness(t, start)
	var notes []*updateResult
	for i := 0; i < 30; i++ {
		notes = append(notes, h.at(time.Duration(i+1)*time.Minute, workflows.UpdateNote,
			workflows.NoteInput{By: asRaiser, Text: strings.Repeat("A long note about the referral. ", 20)}))
	}
	h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "done"})
	h.run()
	h.finished()
	var sizes []int
	for i, n := range notes {
		wantDone(t, "note", n)
		p, err := converter.GetDefaultDataConverter().ToPayload(n.res)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(p.GetData()), `"case"`) {
			t.Fatalf("note %d answered with the case: %s", i, p.GetData())
		}
		sizes = append(sizes, len(p.GetData()))
	}
	// The last answer is as small as the first: it does not grow with the
	// notes (before, it held every note so far).
	if sizes[len(sizes)-1] > 100 || sizes[len(sizes)-1] > sizes[0]+2 {
		t.Fatalf("update result payload sizes %v bytes", sizes)
	}
}

func countOf(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// The lean state counts a stage's evidence instead of reading it from a
// history in the state: cases run with it record exactly what cases run
// as before record (every event, with its text, and every snapshot),
// through levels, steps, line managers named when raising, timed-out
// climbs with and without evidence, and a review that sends the case back.
func TestLeanStateRecordsWhatTheHistoryDid(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	at := func(y int, m time.Month, d, hh int) time.Duration { return local(y, m, d, hh, 0).Sub(start) }
	lineManager := func(in *workflows.CaseInput) {
		in.RaiserLineManager = &workflows.Party{Name: "Lena Lead", Email: "lena@nhft.example", Role: "line manager"}
	}
	devonPartner := workflows.Person{Name: "Devon SCP Manager", Email: "manager@devon.example", Agency: "devon", Role: "partnership"}
	for _, sc := range []struct {
		name   string
		mutate []func(*workflows.CaseInput)
		acts   func(h *harness)
	}{
		{"northamptonshire levels and timeouts", []func(*workflows.CaseInput){lineManager}, func(h *harness) {
			h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Phoned Sam"})
			h.at(2*time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRespondent, Text: "Replied"})
			// Stage 1 times out Wednesday 17:00.
			h.at(at(2026, 11, 26, 10), workflows.UpdateContact, workflows.ContactInput{By: asRespondent, Side: workflows.SideRespondent, Name: "Mo Manager", Email: "mo@nct.example", Role: "manager"})
			h.at(at(2026, 11, 26, 11), workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
			h.at(at(2026, 11, 26, 12), workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "At stage 3"})
			h.at(at(2026, 11, 26, 13), workflows.UpdateEscalate, workflows.EscalateInput{By: asRespondent, Reason: "Seniors disagree", NextLevel: true})
			h.at(at(2026, 11, 26, 14), workflows.UpdateNote, workflows.NoteInput{By: asRespondent, Text: "Level 2"})
			// Level 2 and stage 4 time out; stage 5 is the partnership's.
			h.at(at(2026, 12, 10, 9), workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "At the partnership"})
			h.at(at(2026, 12, 10, 10), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
		}},
		{"four-stage steps", []func(*workflows.CaseInput){withPolicy(t, "four-stage", "threshold-csc-assessment")}, func(h *harness) {
			h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Step 1"})
			h.at(at(2026, 11, 25, 9), workflows.UpdateNote, workflows.NoteInput{By: asRespondent, Text: "Step 2"})
			h.at(at(2026, 11, 30, 9), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
		}},
		{"devon sent back", []func(*workflows.CaseInput){withPolicy(t, "devon", "provision-of-services"), func(in *workflows.CaseInput) { in.Urgent = true }}, func(h *harness) {
			h.at(time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Before the climb"})
			h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "Manager unavailable", ToStage: 5})
			h.at(3*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: false, SendBackTo: 2, NextSteps: "Managers to meet first"})
			h.at(4*time.Hour, workflows.UpdateNote, workflows.NoteInput{By: asRespondent, Text: "Back at stage 2"})
			h.at(at(2026, 12, 7, 9), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			var recorded [2][]byte
			for i, old := range []bool{false, true} {
				h := newHarness(t, start, sc.mutate...)
				if old {
					h.beforeLean()
				}
				sc.acts(h)
				h.run()
				h.finished()
				b, err := json.Marshal(struct {
					Events    []workflows.Event
					Snapshots []workflows.Case
				}{h.acts.events, h.acts.snapshots})
				if err != nil {
					t.Fatal(err)
				}
				recorded[i] = b
				if !old && !strings.Contains(strings.Join(h.acts.types(), ","), workflows.EventDeadlinePassed) {
					t.Fatalf("no deadline passed in this scenario: %v", h.acts.types())
				}
			}
			if string(recorded[0]) != string(recorded[1]) {
				t.Errorf("the lean state records differently:\nlean   %s\nbefore %s", recorded[0], recorded[1])
			}
		})
	}
}

// Temporal recognises a repeated update ID within one run only: an update
// repeated after the case continued as new (a client whose answer was
// lost, retrying with its Idempotency-Key) is answered as the first time
// and changes nothing, even where the change could not be made again.
func TestUpdateRepeatedAfterContinueAsNewIsAnsweredOnce(t *testing.T) {
	start := local(2026, 11, 2, 9, 0)
	h := newHarness(t, start)
	note := workflows.NoteInput{By: asRaiser, Text: "Phoned Sam"}
	propose := workflows.ProposeAgreementInput{By: asRaiser, Outcome: "Assessment to go ahead"}
	firstNote := h.atWithID(time.Hour, workflows.UpdateNote, "key-note", note, func() {})
	firstPropose := h.atWithID(2*time.Hour, workflows.UpdateProposeAgreement, "key-propose", propose,
		func() { h.env.SetContinueAsNewSuggested(true) })
	h.run()
	next := continuedInput(t, h.env.GetWorkflowError())
	wantDone(t, "note", firstNote)
	wantDone(t, "proposal", firstPropose)
	recorded := len(h.acts.events)

	at := start.Add(2 * time.Hour)
	h2 := continued(t, h.acts, at, next)
	againNote := h2.atWithID(time.Hour, workflows.UpdateNote, "key-note", note, func() {})
	againPropose := h2.atWithID(2*time.Hour, workflows.UpdateProposeAgreement, "key-propose", propose, func() {})
	otherPropose := h2.atWithID(3*time.Hour, workflows.UpdateProposeAgreement, "key-other", propose, func() {})
	confirm := h2.at(4*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRespondent})
	h2.run()
	h2.finished()
	wantDone(t, "note repeated", againNote)
	wantDone(t, "proposal repeated", againPropose)
	if !reflect.DeepEqual(againNote.res, firstNote.res) || !reflect.DeepEqual(againPropose.res, firstPropose.res) {
		t.Errorf("repeated updates answered %+v and %+v, want the first answers %+v and %+v", againNote.res, againPropose.res, firstNote.res, firstPropose.res)
	}
	// A new proposal (another ID) is checked as usual: one is pending.
	wantRejected(t, "another proposal", otherPropose, workflows.ErrConflict)
	if c := wantDone(t, "confirm", confirm); c.Status != workflows.StatusResolved || c.Version != recorded+1 {
		t.Fatalf("confirmed: %s at version %d, want resolved at %d (nothing recorded twice)", c.Status, c.Version, recorded+1)
	}
	if n := len(eventsOf(h.acts, workflows.EventNote)); n != 1 {
		t.Errorf("%d notes recorded, want 1", n)
	}
}

// A partnership closure applied just before Temporal suggests continuing
// as new is carried to the next run: the closure in the case's state and calendar, and
// the deadline it moved.
func TestClosureAppliedBeforeContinueAsNewIsCarried(t *testing.T) {
	start := local(2026, 11, 2, 9, 0) // Monday; stage 1 due 17:00 Wednesday
	h := newHarness(t, start)
	// The suggestion comes a second after the closure is received.
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalClosure, workflows.ClosureInput{Date: "2026-11-03", Reason: "State occasion", By: asPartnership})
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, time.Hour+time.Second)
	h.run()
	next := continuedInput(t, h.env.GetWorkflowError())
	if got := h.acts.types(); got[len(got)-1] != workflows.EventDeadlineMoved {
		t.Fatalf("first run recorded %v, want the deadline moved by the closure last", got)
	}
	carry := next.Carry
	if carry == nil || len(carry.Closures) != 1 || carry.Closures[0].Date != "2026-11-03" || !slices.Contains(next.Policy.Closures, "2026-11-03") {
		t.Fatalf("continued without the closure: carry %+v, policy closures %v", carry, next.Policy.Closures)
	}
	thursday := local(2026, 11, 5, 17, 0)
	if !carry.Case.Stage.DueAt.Equal(thursday) {
		t.Fatalf("carried deadline %v, want %v (a day later for the closure)", carry.Case.Stage.DueAt, thursday)
	}
	at := start.Add(time.Hour + time.Second)
	h2 := continued(t, h.acts, at, next)
	var c workflows.Case
	h2.query(time.Minute, &c)
	var atDue workflows.Case
	h2.query(thursday.Add(-time.Minute).Sub(at), &atDue)
	h2.env.RegisterDelayedCallback(func() { h2.env.CancelWorkflow() }, thursday.Add(time.Hour).Sub(at))
	h2.run()
	if !c.Stage.DueAt.Equal(thursday) || atDue.Stage.Number != 1 || atDue.Stage.Overdue {
		t.Fatalf("the next run's stage 1 is due %v and at Thursday 16:59 stands at stage %d (overdue %v)", c.Stage.DueAt, atDue.Stage.Number, atDue.Stage.Overdue)
	}
}
