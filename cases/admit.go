package cases

import (
	"context"
	"sync/atomic"
	"time"
)

// Changes in flight. A case start or an action waits on Temporal: its
// update runs the case's workflow, which records in PostgreSQL before it
// answers. When more of them arrive than Temporal completes, every one
// waits longer, until they outlive the wait for Temporal (temporalTimeout)
// and are answered "not confirmed" while Temporal may still apply them.
// The gate keeps at most MaxInFlight of one process's changes at Temporal
// and queues the rest, first come first served, for up to AdmitWait: a
// change admitted is one Temporal has room for, and one refused was
// never sent (503, nothing was changed, try again). Measured with 200
// clients against 1,000 cases (make chaos, docs/reliability.md).
const (
	// DefaultMaxInFlight is MaxInFlight when the configuration leaves it
	// at 0: enough to keep a Temporal cluster's frontend and history
	// busy, few enough that none waits long behind the others.
	DefaultMaxInFlight = 16
	// DefaultAdmitWait is AdmitWait when left at 0. With temporalTimeout
	// it stays within the HTTP server's 60-second write timeout.
	DefaultAdmitWait = 30 * time.Second
)

// ErrBusy: more changes are waiting for Temporal than this process takes
// at once, and this one waited its turn in vain. Nothing was sent.
var ErrBusy = &Error{Kind: Unavailable, Message: "escalate is busy with other changes; nothing was changed, please try again in a few seconds"}

// gate is the queue of changes waiting for Temporal.
type gate struct {
	slots   chan struct{}
	wait    time.Duration
	waiting atomic.Int64
	refused atomic.Int64
}

func newGate(max int, wait time.Duration) *gate {
	if max < 0 {
		return nil
	}
	if max == 0 {
		max = DefaultMaxInFlight
	}
	if wait <= 0 {
		wait = DefaultAdmitWait
	}
	return &gate{slots: make(chan struct{}, max), wait: wait}
}

// Admit waits for room at Temporal for one change and returns the
// function that gives the room back; Start and Act hold it until they
// answer. It is ErrBusy when none came free within the admit wait or the
// caller gave up first: in both cases nothing was sent.
func (s *Service) Admit(ctx context.Context) (release func(), err error) {
	g := s.gate
	if g == nil {
		return func() {}, nil
	}
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-t.C:
	case <-ctx.Done():
	}
	g.refused.Add(1)
	s.log.WarnContext(ctx, "change refused: too many waiting for Temporal", "request_id", requestID(ctx),
		"in_flight", len(g.slots), "waiting", g.waiting.Load())
	return nil, ErrBusy
}

// GateStats is what the gate holds now, for metrics.
type GateStats struct {
	// InFlight are the changes admitted and not yet answered; Waiting
	// those queued; Refused counts the changes refused since the start.
	InFlight, Waiting int
	Refused           int64
	// Max is the most admitted at once (0: no gate).
	Max int
}

// Gate reports the gate's state.
func (s *Service) Gate() GateStats {
	g := s.gate
	if g == nil {
		return GateStats{}
	}
	return GateStats{InFlight: len(g.slots), Waiting: int(g.waiting.Load()), Refused: g.refused.Load(), Max: cap(g.slots)}
}
