package cases

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.temporal.io/api/serviceerror"

	"escalate/policies"
	"escalate/workflows"
)

// A partnership's closures (one-off bank holidays) reach its cases two
// ways: a case starting takes those recorded from today on in its policy
// snapshot, and every open case is sent each closure when it is recorded
// (the admin route) and, once, those recorded while it was starting.

// closureSendTimeout bounds sending a closure to the open cases.
const closureSendTimeout = temporalTimeout

// SnapshotPolicy is the policy a case starting now runs under: its bank
// holidays resolved into dates and the partnership's closures from today
// on (policies.Snapshot).
func (s *Service) SnapshotPolicy(ctx context.Context, pol policies.Policy, now time.Time) (policies.Policy, error) {
	cs, err := s.store.Closures(ctx, pol.ID, localDay(pol, now))
	if err != nil {
		return policies.Policy{}, err
	}
	dates := make([]string, 0, len(cs))
	for _, cl := range cs {
		dates = append(dates, cl.Date)
	}
	return policies.Snapshot(pol, now, dates)
}

// SendClosure sends a closure to each case; a case closed since it was
// listed is neither sent nor failed. notSent are the cases Temporal did
// not take it for (repeating the closure's request sends it again).
func (s *Service) SendClosure(ctx context.Context, refs []string, in workflows.ClosureInput) (sent, notSent []string) {
	sent, notSent = []string{}, []string{}
	ctx, cancel := context.WithTimeout(ctx, closureSendTimeout)
	defer cancel()
	for _, ref := range refs {
		err := s.temporal.SignalWorkflow(ctx, ref, "", workflows.SignalClosure, in)
		var gone *serviceerror.NotFound
		switch {
		case err == nil:
			sent = append(sent, ref)
		case errors.As(err, &gone):
			// Closed since PostgreSQL was read: nothing to move.
		default:
			s.log.WarnContext(ctx, "closure not sent to a case", "request_id", requestID(ctx), "ref", ref, "date", in.Date, "error", err)
			notSent = append(notSent, ref)
		}
	}
	return sent, notSent
}

// SendClosuresMissed sends a case that has just opened the closures
// recorded after its snapshot was read: a closure recorded while the case
// was starting may have listed the open cases before this one was
// recorded, and then only this reaches it. A closure sent twice is applied
// once, so overlapping with that request's own sending is harmless. A
// failure is logged: the case stands, and repeating the closure's request
// sends it again.
func (s *Service) SendClosuresMissed(ctx context.Context, ref string, snap policies.Policy, now time.Time) {
	cs, err := s.store.Closures(ctx, snap.ID, localDay(snap, now))
	if err != nil {
		s.log.WarnContext(ctx, "closures recorded during the start not checked", "request_id", requestID(ctx), "ref", ref, "error", err)
		return
	}
	for _, cl := range cs {
		if slices.Contains(snap.Closures, cl.Date) {
			continue
		}
		_, notSent := s.SendClosure(ctx, []string{ref}, workflows.ClosureInput{Date: cl.Date, Reason: cl.Reason,
			By: workflows.Person{Name: cl.RecordedBy, Email: cl.RecordedByEmail}})
		s.log.InfoContext(ctx, "closure recorded during the start sent to the new case", "request_id", requestID(ctx), "ref", ref,
			"date", cl.Date, "sent", len(notSent) == 0)
	}
}

// LocalNow is now in the policy's time zone (UTC if its clock cannot be
// built): what "today" and "this year" mean for the policy.
func LocalNow(pol policies.Policy, now time.Time) time.Time {
	loc := time.UTC
	if clock, err := pol.Clock(); err == nil {
		loc = clock.Location
	}
	return now.In(loc)
}

// localDay is the date now is in the policy's time zone, yyyy-mm-dd.
func localDay(pol policies.Policy, now time.Time) string {
	return LocalNow(pol, now).Format(time.DateOnly)
}
