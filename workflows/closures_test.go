package workflows_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"escalate/policies"
	"escalate/workflows"
)

// snapshotAt is the input's policy as the API snapshots it at start: bank
// holidays resolved into dates, with the recorded closures.
func snapshotAt(t *testing.T, start time.Time, closures ...string) func(*workflows.CaseInput) {
	return func(in *workflows.CaseInput) {
		p, err := policies.Snapshot(in.Policy, start, closures)
		if err != nil {
			t.Fatal(err)
		}
		in.Policy = p
	}
}

// closureAt sends the case a partnership closure after d of workflow time.
func (h *harness) closureAt(d time.Duration, date, reason string) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalClosure, workflows.ClosureInput{Date: date, Reason: reason, By: asPartnership})
	}, d)
}

// stageEntered is when each stage (by number) was entered and the deadline
// it was given.
func stageEntered(acts *fakeActivities) map[int]workflows.Event {
	out := map[int]workflows.Event{}
	for _, e := range eventsOf(acts, workflows.EventStageEntered) {
		out[e.Stage] = e
	}
	return out
}

// A closure inside the running stage moves its deadline later by exactly
// one working day, recomputed from the stage's start: the record says so
// (new due time, the date, the reason), everyone involved is told, the
// stage times out at the new deadline and not the old one, and the half-way
// reminder goes once. Later stages count with the closure too.
func TestClosureMovesTheRunningDeadlineLaterByOneWorkingDay(t *testing.T) {
	for _, snap := range []bool{true, false} {
		name := "snapshot with dates"
		if !snap {
			name = "snapshot recorded before dates (calendar name)"
		}
		t.Run(name, func(t *testing.T) {
			start := local(2026, 6, 8, 10, 0) // Monday; stage 1: 2 working days, due Wed 10 Jun 17:00
			var mutate []func(*workflows.CaseInput)
			if snap {
				mutate = append(mutate, snapshotAt(t, start))
			}
			h := newHarness(t, start, mutate...)
			var before, after workflows.Case
			h.query(30*time.Minute, &before)
			h.closureAt(time.Hour, "2026-06-09", "State occasion")
			h.query(2*time.Hour, &after)
			h.at(20*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "resolved elsewhere"})
			h.run()
			h.finished()

			if want := local(2026, 6, 10, 17, 0); !before.Stage.DueAt.Equal(want) {
				t.Fatalf("before the closure: due %v, want %v", before.Stage.DueAt.In(london), want)
			}
			want := local(2026, 6, 11, 17, 0) // Tue 9 closed: 10, 11 Jun
			if !after.Stage.DueAt.Equal(want) || after.Stage.Agreed {
				t.Fatalf("after the closure: due %v agreed %v, want %v", after.Stage.DueAt.In(london), after.Stage.Agreed, want)
			}
			moved := eventsOf(h.acts, workflows.EventDeadlineMoved)
			if len(moved) != 1 {
				t.Fatalf("%d deadline_moved events, want 1: %v", len(moved), h.acts.types())
			}
			ev := moved[0]
			if ev.Stage != 1 || ev.DueAt == nil || !ev.DueAt.Equal(want) {
				t.Errorf("event: stage %d due %v", ev.Stage, ev.DueAt)
			}
			for _, s := range []string{"17:00 Wed 10 Jun 2026 BST", "17:00 Thu 11 Jun 2026 BST", "Tue 9 Jun 2026", "State occasion"} {
				if !strings.Contains(ev.Text, s) {
					t.Errorf("event text lacks %q: %s", s, ev.Text)
				}
			}
			if ev.By != asPartnership.Name || ev.ByEmail != asPartnership.Email {
				t.Errorf("event by %s <%s>", ev.By, ev.ByEmail)
			}
			var told []string
			for _, r := range h.acts.notices[ev.Seq] {
				told = append(told, strings.ToLower(r.Email))
			}
			for _, who := range []string{raiser.Email, respondent.Email} {
				if !slices.Contains(told, strings.ToLower(who)) {
					t.Errorf("%s not told of the moved deadline (told: %v)", who, told)
				}
			}
			// Stage 1 ran to the new deadline.
			st := stageEntered(h.acts)
			if st[2].At.IsZero() || !st[2].At.Equal(want) {
				t.Errorf("stage 2 entered at %v, want the moved deadline %v", st[2].At.In(london), want)
			}
			// Stage 2 (5 working days from Thu 11 Jun) knows nothing to skip:
			// 12, 15, 16, 17, 18 Jun.
			if d := st[2].DueAt; d == nil || !d.Equal(local(2026, 6, 18, 17, 0)) {
				t.Errorf("stage 2 due %v", d)
			}
			reminders := 0
			for _, e := range eventsOf(h.acts, workflows.EventReminder) {
				if e.Stage == 1 {
					reminders++
				}
			}
			if reminders != 1 {
				t.Errorf("%d stage-1 reminders, want 1", reminders)
			}
		})
	}
}

// A reminder already sent is not sent again when the deadline moves.
func TestClosureAfterTheReminderSendsNoSecondOne(t *testing.T) {
	start := local(2026, 6, 8, 10, 0) // due Wed 10 Jun 17:00; reminder half-way, Tue 9 Jun
	h := newHarness(t, start, snapshotAt(t, start))
	h.closureAt(local(2026, 6, 10, 9, 0).Sub(start), "2026-06-10", "Local election count")
	h.at(20*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
	h.run()
	h.finished()
	if n := len(eventsOf(h.acts, workflows.EventDeadlineMoved)); n != 1 {
		t.Fatalf("%d moves: %v", n, h.acts.types())
	}
	reminders := 0
	for _, e := range eventsOf(h.acts, workflows.EventReminder) {
		if e.Stage == 1 {
			reminders++
		}
	}
	if reminders != 1 {
		t.Errorf("%d stage-1 reminders, want 1", reminders)
	}
	if st := stageEntered(h.acts); !st[2].At.Equal(local(2026, 6, 11, 17, 0)) {
		t.Errorf("stage 2 entered %v", st[2].At.In(london))
	}
}

// Closures that do not delay the running stage change nothing on the
// record and leave its deadline alone: one after the deadline (it joins the
// calendar, so the next stage counts with it), one on a weekend, one on a
// bank holiday, one already in the snapshot, and the same one sent again.
func TestClosuresThatDoNotDelayTheStage(t *testing.T) {
	start := local(2026, 6, 8, 10, 0) // stage 1 due Wed 10 Jun 17:00
	for _, tc := range []struct {
		why       string
		snapshot  []string // closures recorded before the case started
		dates     []string // sent while stage 1 runs
		wantMoves int
		wantDue1  time.Time
		wantDue2  time.Time // stage 2: 5 working days from stage 1's deadline
	}{
		{"after the stage's deadline: the next stage counts with it", nil, []string{"2026-06-15"}, 0,
			local(2026, 6, 10, 17, 0), local(2026, 6, 18, 17, 0)}, // 11, 12, (15), 16, 17, 18
		{"on a Saturday", nil, []string{"2026-06-13"}, 0,
			local(2026, 6, 10, 17, 0), local(2026, 6, 17, 17, 0)},
		{"in the snapshot already", []string{"2026-06-09"}, []string{"2026-06-09"}, 0,
			local(2026, 6, 11, 17, 0), local(2026, 6, 18, 17, 0)},
		{"sent three times: applied once", nil, []string{"2026-06-09", "2026-06-09", "2026-06-09"}, 1,
			local(2026, 6, 11, 17, 0), local(2026, 6, 18, 17, 0)},
		{"two different closures: each moves it", nil, []string{"2026-06-09", "2026-06-10"}, 2,
			local(2026, 6, 12, 17, 0), local(2026, 6, 19, 17, 0)},
		{"before the stage started", nil, []string{"2026-06-08"}, 0,
			local(2026, 6, 10, 17, 0), local(2026, 6, 17, 17, 0)},
	} {
		t.Run(tc.why, func(t *testing.T) {
			h := newHarness(t, start, snapshotAt(t, start, tc.snapshot...))
			for i, d := range tc.dates {
				h.closureAt(time.Duration(i+1)*time.Hour, d, "Closed")
			}
			var during workflows.Case
			h.query(6*time.Hour, &during)
			h.at(20*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
			h.run()
			h.finished()
			if n := len(eventsOf(h.acts, workflows.EventDeadlineMoved)); n != tc.wantMoves {
				t.Errorf("%d deadline_moved events, want %d", n, tc.wantMoves)
			}
			if !during.Stage.DueAt.Equal(tc.wantDue1) {
				t.Errorf("stage 1 due %v, want %v", during.Stage.DueAt.In(london), tc.wantDue1)
			}
			st := stageEntered(h.acts)
			if !st[2].At.Equal(tc.wantDue1) {
				t.Errorf("stage 2 entered %v, want %v", st[2].At.In(london), tc.wantDue1)
			}
			if d := st[2].DueAt; d == nil || !d.Equal(tc.wantDue2) {
				t.Errorf("stage 2 due %v, want %v", d, tc.wantDue2)
			}
		})
	}
}

// A deadline never moves earlier, and one the parties agreed is theirs: a
// closure within the stage's default span leaves a later agreed deadline
// where it is (Nottingham: agreed per case, default 2 working days).
func TestClosureNeverMovesADeadlineEarlierOrAnAgreedOne(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)  // Monday
	agreed := local(2026, 12, 2, 12, 0) // later than the 2-day default
	h := newHarness(t, start, withPolicy(t, "nottingham-nottinghamshire", "thresholds"), func(in *workflows.CaseInput) {
		in.Raiser.Agency = "schools"
		in.Respondent.Agency = "nottingham-city-csc"
		in.DueAt = &agreed
	}, snapshotAt(t, start))
	h.at(30*time.Second, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRespondent})
	h.closureAt(time.Hour, "2026-11-24", "Closed")
	h.closureAt(2*time.Hour, "2026-12-02", "Closed on the agreed day")
	var after workflows.Case
	h.query(3*time.Hour, &after)
	h.at(4*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
	h.run()
	h.finished()
	if !after.Stage.DueAt.Equal(agreed) || !after.Stage.Agreed {
		t.Errorf("agreed deadline became %v (agreed %v)", after.Stage.DueAt.In(london), after.Stage.Agreed)
	}
	if n := len(eventsOf(h.acts, workflows.EventDeadlineMoved)); n != 0 {
		t.Errorf("%d deadline_moved events, want none", n)
	}
}

// A stage already overdue (its deadline passed, on_timeout notify) is not
// revived by a closure of today.
func TestClosureLeavesAPassedDeadlineAlone(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday; Nottingham stage 1 due Wed 25 Nov 17:00
	h := newHarness(t, start, withPolicy(t, "nottingham-nottinghamshire", "thresholds"), func(in *workflows.CaseInput) {
		in.Raiser.Agency = "schools"
		in.Respondent.Agency = "nottingham-city-csc"
	}, snapshotAt(t, start))
	// Stage Two (the last) runs out and stays overdue; then a closure of
	// a day inside it arrives.
	var before, after workflows.Case
	h.query(local(2026, 12, 8, 9, 0).Sub(start), &before)
	h.closureAt(local(2026, 12, 8, 10, 0).Sub(start), "2026-12-08", "Closed today")
	h.query(local(2026, 12, 8, 11, 0).Sub(start), &after)
	h.at(local(2026, 12, 9, 9, 0).Sub(start), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
	h.run()
	h.finished()
	if !before.Stage.Overdue {
		t.Fatalf("stage %d not overdue before the closure: due %v", before.Stage.Number, before.Stage.DueAt.In(london))
	}
	if !after.Stage.Overdue || !after.Stage.DueAt.Equal(before.Stage.DueAt) {
		t.Errorf("closure revived an overdue stage: due %v overdue %v", after.Stage.DueAt.In(london), after.Stage.Overdue)
	}
	if n := len(eventsOf(h.acts, workflows.EventDeadlineMoved)); n != 0 {
		t.Errorf("%d deadline_moved events, want none", n)
	}
}

// The workflow counts with exactly the dates its snapshot carries, not with
// the calendar's code: dates recorded by another version (a bank holiday
// missing, another present) are what its deadlines follow.
func TestWorkflowCountsWithTheSnapshotsDates(t *testing.T) {
	start := local(2026, 5, 22, 10, 0) // Friday before the Spring bank holiday, Mon 25 May
	h := newHarness(t, start, snapshotAt(t, start), func(in *workflows.CaseInput) {
		h := *in.Policy.Holidays
		h.Dates = slices.DeleteFunc(slices.Clone(h.Dates), func(d policies.Holiday) bool { return d.Date == "2026-05-25" })
		h.Dates = append(h.Dates, policies.Holiday{Date: "2026-05-26", Name: "as an older version had it"})
		slices.SortFunc(h.Dates, func(a, b policies.Holiday) int { return strings.Compare(a.Date, b.Date) })
		in.Policy.Holidays = &h
	})
	h.at(20*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
	h.run()
	h.finished()
	// 2 working days: Mon 25 (a working day in these dates), Wed 27 (Tue 26 is not).
	if d := stageEntered(h.acts)[1].DueAt; d == nil || !d.Equal(local(2026, 5, 27, 17, 0)) {
		t.Errorf("stage 1 due %v, want 17:00 Wed 27 May", d)
	}
}

// A closure that is not a date is ignored (the API never sends one).
func TestClosureNotADateIsIgnored(t *testing.T) {
	start := local(2026, 6, 8, 10, 0)
	h := newHarness(t, start, snapshotAt(t, start))
	h.closureAt(time.Hour, "9 June 2026", "Closed")
	h.closureAt(2*time.Hour, "2026-06-31", "Closed")
	var after workflows.Case
	h.query(3*time.Hour, &after)
	h.at(20*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
	h.run()
	h.finished()
	if !after.Stage.DueAt.Equal(local(2026, 6, 10, 17, 0)) || len(eventsOf(h.acts, workflows.EventDeadlineMoved)) != 0 {
		t.Errorf("due %v, events %v", after.Stage.DueAt.In(london), h.acts.types())
	}
}

// warnings keeps the workflow's warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Debug(string, ...any) {}
func (w *warnings) Info(string, ...any)  {}
func (w *warnings) Error(string, ...any) {}
func (w *warnings) Warn(msg string, kv ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, fmt.Sprint(append([]any{msg}, kv...)...))
}

// A deadline past the span the snapshot resolved its bank holidays for is
// counted with weekends and closures only, and the worker says so in a
// warning naming the case, once per deadline; within the span, nothing is
// logged.
func TestDeadlinePastTheResolvedHolidaysIsLogged(t *testing.T) {
	for _, tc := range []struct {
		why  string
		to   string // last day the snapshot's dates cover
		warn bool
	}{
		{"deadline within the span", "2028-12-31", false},
		{"deadline past the span", "2026-06-09", true},
	} {
		t.Run(tc.why, func(t *testing.T) {
			start := local(2026, 6, 8, 10, 0) // stage 1 due Wed 10 Jun 17:00
			logs := &warnings{}
			var suite testsuite.WorkflowTestSuite
			suite.SetLogger(logs)
			env := suite.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			acts := &fakeActivities{notices: map[int][]workflows.Recipient{}, mails: map[int][]workflows.Recipient{}}
			env.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
			env.RegisterActivity(acts)
			h := &harness{t: t, env: env, acts: acts, in: workflows.CaseInput{
				Ref: "NSCP-2026-00001", Policy: northamptonshire(t), ChildRef: "NCT/123",
				Category: "threshold-csc-assessment", Summary: "Referral judged below threshold",
				Raiser: raiser, Respondent: respondent,
			}}
			snapshotAt(t, start)(&h.in)
			hol := *h.in.Policy.Holidays
			hol.To = tc.to
			h.in.Policy.Holidays = &hol
			h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
			h.run()
			h.finished()
			n := 0
			for _, m := range logs.msgs {
				if strings.Contains(m, "past the case's resolved bank holidays") && strings.Contains(m, h.in.Ref) {
					n++
				}
			}
			if tc.warn && n != 1 || !tc.warn && n != 0 {
				t.Errorf("%d warnings, want warned=%v: %v", n, tc.warn, logs.msgs)
			}
		})
	}
}

// A move the record refuses is undone, closure included: the deadline
// stays, nothing is recorded, and the same closure sent again applies.
func TestClosureWhoseRecordFailsIsUndone(t *testing.T) {
	start := local(2026, 6, 8, 10, 0) // stage 1 due Wed 10 Jun 17:00
	h := newHarness(t, start, snapshotAt(t, start))
	refused := 0
	h.acts.refuse = func(in workflows.RecordEventsInput) bool {
		if in.Events[0].Type == workflows.EventDeadlineMoved && refused == 0 {
			refused++
			return true
		}
		return false
	}
	h.closureAt(time.Hour, "2026-06-09", "State occasion")
	var between, after workflows.Case
	h.query(2*time.Hour, &between)
	h.closureAt(3*time.Hour, "2026-06-09", "State occasion")
	h.query(4*time.Hour, &after)
	h.at(20*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "r"})
	h.run()
	h.finished()
	if refused != 1 {
		t.Fatalf("refused %d records", refused)
	}
	if !between.Stage.DueAt.Equal(local(2026, 6, 10, 17, 0)) {
		t.Errorf("after the refused record: due %v, want it unchanged", between.Stage.DueAt.In(london))
	}
	for _, e := range between.History {
		if e.Type == workflows.EventDeadlineMoved {
			t.Errorf("the refused event stayed in the state: %+v", e)
		}
	}
	if !after.Stage.DueAt.Equal(local(2026, 6, 11, 17, 0)) || len(eventsOf(h.acts, workflows.EventDeadlineMoved)) != 1 {
		t.Errorf("sent again: due %v, %d moves", after.Stage.DueAt.In(london), len(eventsOf(h.acts, workflows.EventDeadlineMoved)))
	}
}
