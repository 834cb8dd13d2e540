package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"escalate/policies"
)

// A partnership closure is a one-off non-working day of a partnership (a
// bank holiday for a state occasion, say), recorded through the API after
// cases have started. Each open case of the partnership is sent it
// (SignalClosure); a case started later has it in its snapshot. The date
// joins the case's calendar, and the running stage's deadline, recomputed
// from the stage's start, moves later if the closure falls within it; it
// never moves earlier.

// ClosureInput is a partnership closure sent to a case (SignalClosure).
type ClosureInput struct {
	// Date is the closed day, yyyy-mm-dd, a local date of the policy's
	// time zone.
	Date   string `json:"date"`
	Reason string `json:"reason"`
	// By is who recorded the closure (an admin, or a partnership person of
	// the case's policy).
	By Person `json:"by"`
}

// Closure is a partnership closure a case received while it ran, kept in
// the workflow's state (caseState.closures) so that it survives with the
// case: its date is also in the case's calendar (the policy snapshot's
// closures and the clock's).
type Closure struct {
	Date   string `json:"date"`
	Reason string `json:"reason"`
}

// listenForClosures receives the closures sent to the case, one at a time,
// for as long as the workflow runs. Receiving produces no command, so
// histories recorded before closures existed replay unchanged.
func (s *caseState) listenForClosures(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalClosure)
	s.closureCh = ch
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var in ClosureInput
			if more := ch.Receive(ctx, &in); !more {
				return
			}
			s.applyingClosure++
			s.applyClosure(ctx, in)
			s.applyingClosure--
		}
	})
}

// closuresIdle: no closure is waiting in the signal channel or being
// applied, so continuing as new loses none (the next run listens again).
func (s *caseState) closuresIdle() bool {
	return s.applyingClosure == 0 && (s.closureCh == nil || s.closureCh.Len() == 0)
}

// applyClosure adds a closure to the case's calendar and moves the running
// stage's deadline if the closure delays it. A closure the case already
// has (sent twice, or in its snapshot) changes nothing.
func (s *caseState) applyClosure(ctx workflow.Context, in ClosureInput) {
	log := workflow.GetLogger(ctx)
	// Cases started before closures existed take them too: the marker is
	// written when the first closure arrives (a current case has it from
	// its start).
	if !s.current && workflow.GetVersion(ctx, "partnership-closures", workflow.DefaultVersion, 1) < 1 {
		return
	}
	if !policies.IsDate(in.Date) {
		log.Warn("closure ignored: not a date", "ref", s.c.Ref, "date", in.Date)
		return
	}
	// Wait for the opening to be recorded (a closure can arrive first).
	if err := workflow.Await(ctx, func() bool { return s.opened || s.openErr != nil }); err != nil || s.openErr != nil {
		return
	}
	if s.serial {
		release, err := s.writeTurn(ctx)
		if err != nil {
			return
		}
		defer release()
	}
	if s.hasClosure(in.Date) {
		log.Info("closure already applied", "ref", s.c.Ref, "date", in.Date)
		return
	}
	if s.c.Closed() {
		log.Info("closure not applied: the case is closed", "ref", s.c.Ref, "date", in.Date)
		return
	}
	saved := s.save()
	policy, clock, closures := s.policy, s.clock, s.closures
	s.addClosure(Closure{Date: in.Date, Reason: in.Reason})
	ev, moved := s.moveDeadlineForClosure(ctx, in)
	if !moved {
		log.Info("closure added to the case's calendar; the deadline does not move", "ref", s.c.Ref, "date", in.Date,
			"stage", s.c.Stage.Number, "due", s.c.Stage.DueAt)
		return
	}
	if err := s.commit(ctx, ev); err != nil {
		// Not recorded: the case stays exactly as it was, without the
		// closure, so that sending it again applies it.
		s.restore(saved)
		s.policy, s.clock, s.closures = policy, clock, closures
		log.Error("closure not applied: its record failed", "ref", s.c.Ref, "date", in.Date, "error", err)
		return
	}
	log.Info("deadline moved by a partnership closure", "ref", s.c.Ref, "date", in.Date, "due", s.c.Stage.DueAt)
}

// hasClosure: the date is already a closure of the case's calendar.
func (s *caseState) hasClosure(date string) bool {
	return slices.Contains(s.policy.Closures, date)
}

// addClosure puts a closure into the case's calendar: the state's list of
// closures received, the policy snapshot's closures (which MaxDue and any
// later stage count with) and the clock's. New slices each time: the old
// ones may be shared with a saved copy.
func (s *caseState) addClosure(c Closure) {
	s.closures = append(slices.Clip(s.closures), c)
	s.policy.Closures = policies.MergeClosures(s.policy.Closures, c.Date)
	s.clock.Closures = policies.MergeClosures(s.clock.Closures, c.Date)
}

// moveDeadlineForClosure recomputes the running stage's (step's, level's)
// deadline from its start with the closure in the calendar; if that is
// later, the deadline moves there (the stage wait restarts: the epoch
// changes) and the event saying so is returned. It never moves earlier,
// and leaves alone a deadline the parties agreed (an instant they chose)
// and one already passed.
func (s *caseState) moveDeadlineForClosure(ctx workflow.Context, in ClosureInput) (Event, bool) {
	cur := s.c.Stage
	if cur.Agreed || cur.Overdue || !cur.DueAt.After(workflow.Now(ctx)) {
		return Event{}, false
	}
	st, ok := s.policy.Stage(cur.Number)
	if !ok {
		return Event{}, false
	}
	due, err := st.StepTimescale(cur.Step, s.c.Urgent).DueAt(cur.StartedAt, s.clock)
	if err != nil || !due.After(cur.DueAt) {
		return Event{}, false
	}
	// A reminder already sent for this deadline is not sent again.
	if s.reminded == s.epoch {
		s.reminded = s.epoch + 1
	}
	s.c.Stage.DueAt = due
	s.epoch++
	text := fmt.Sprintf("Stage %d deadline moved from %s to %s: %s is a partnership closure (%s), not a working day.",
		cur.Number, s.localTime(cur.DueAt), s.localTime(due), closureDay(in.Date), in.Reason)
	return s.withDue(s.event(ctx, EventDeadlineMoved, cur.Number, in.By, text), due), true
}

// closureDay renders a closure date as people read it: "Mon 10 May 2027".
func closureDay(date string) string {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return date
	}
	return d.Format("Mon 2 Jan 2006")
}

// warnPastCalendar logs, once per deadline, that the running stage's
// deadline lies past the dates the case's snapshot resolved its bank
// holidays for: there only weekends and closures are not working days.
func (s *caseState) warnPastCalendar(ctx workflow.Context) {
	if s.c.Closed() || s.warnedPast == s.epoch || s.clock.Covers(s.c.Stage.DueAt) {
		return
	}
	s.warnedPast = s.epoch
	workflow.GetLogger(ctx).Warn("deadline past the case's resolved bank holidays: counted with weekends and closures only",
		"ref", s.c.Ref, "stage", s.c.Stage.Number, "due", s.c.Stage.DueAt, "holidays_to", s.clock.Holidays.To)
}
