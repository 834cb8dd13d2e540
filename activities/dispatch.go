package activities

import (
	"context"
	"sync"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// Dispatcher delivers the notifications the record marked for it (cases
// started with current-case version 3): the record writes them in the
// same transaction as the events they tell of, and the dispatcher, running
// beside the worker, claims them, sends each once and marks it, retrying
// a failed one with backoff up to workflows.DeliverMaxAttempts attempts
// and then leaving it failed, visible on the case and in /metrics, as the
// DeliverNotifications activity does for older cases. No workflow task or
// activity is spent on it. It wakes when a record commits notifications
// (LISTEN) and looks every Poll besides, for retries that have come due
// and in case a wake-up was lost.
type Dispatcher struct {
	Acts *Activities
	// Parallel is how many notifications one claim takes, all sent at
	// once; Poll how long it waits with nothing to do.
	Parallel int
	Poll     time.Duration
	// RetryIn is how long after its attempt-th failed attempt a
	// notification is due again (nil: DispatchRetryIn).
	RetryIn func(attempt int) time.Duration
}

// Dispatcher defaults.
const (
	DefaultDispatchParallel = 16
	DefaultDispatchPoll     = 2 * time.Second
)

// dispatchLease is how long a claimed notification is the dispatcher's
// that claimed it: its send is bounded by sendTimeout, and its mark
// normally takes milliseconds. A dispatcher that dies leaves its claims
// to be taken again when their lease ends.
const dispatchLease = sendTimeout + 40*time.Second

func (d *Dispatcher) parallel() int {
	if d.Parallel > 0 {
		return d.Parallel
	}
	return DefaultDispatchParallel
}

func (d *Dispatcher) poll() time.Duration {
	if d.Poll > 0 {
		return d.Poll
	}
	return DefaultDispatchPoll
}

// Run dispatches until ctx ends. What is being sent when it ends is sent
// and marked first (each send is bounded by sendTimeout).
func (d *Dispatcher) Run(ctx context.Context) {
	log := d.Acts.logger()
	var listener *store.DispatchListener
	defer func() {
		if listener != nil {
			listener.Close()
		}
	}()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if listener == nil {
			l, err := d.Acts.Store.ListenDispatch(ctx)
			if err != nil && ctx.Err() == nil {
				log.Warn("dispatcher cannot listen for notifications; looking every poll instead", "poll", d.poll(), "error", err)
			}
			listener = l
		}
		n, err := d.dispatchOnce(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			log.Warn("dispatcher cannot claim notifications; trying again", "in", backoff, "error", err)
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		if n == d.parallel() {
			continue // there may be more due now
		}
		if listener == nil {
			sleep(ctx, d.poll())
			continue
		}
		if _, err := listener.Wait(ctx, d.poll()); err != nil {
			if ctx.Err() == nil {
				log.Warn("dispatcher's listening connection failed; listening again", "error", err)
			}
			listener.Close()
			listener = nil
		}
	}
}

// dispatchOnce claims up to Parallel due notifications and delivers them, and
// says how many it claimed.
func (d *Dispatcher) dispatchOnce(ctx context.Context) (int, error) {
	claimed, err := d.Acts.Store.ClaimNotifications(ctx, d.parallel(), dispatchLease)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	// Sends finish and are marked even as the dispatcher stops: a
	// notification sent and not marked would be sent again.
	sendCtx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for _, n := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.dispatch(sendCtx, ctx, n)
		}()
	}
	wg.Wait()
	return len(claimed), nil
}

// dispatch sends one notification and marks how it went. A mark that
// cannot be written (PostgreSQL away) is retried until it is: this
// dispatcher claims nothing more meanwhile (dispatchOnce waits for its
// batch), so it does not take the notification again when the claim's
// lease runs out, and a mail that went is not sent twice. A stopping
// process tries once more and gives up (it has seconds, not minutes); the
// notification is then claimed and sent again after the lease, which is
// as much as any delivery can promise when what it sent cannot be
// recorded. So can another worker's dispatcher, once the lease is over,
// while PostgreSQL was away for longer than that.
func (d *Dispatcher) dispatch(ctx, stopping context.Context, n store.Notification) {
	log := d.Acts.logger()
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	status, sendErr := d.Acts.deliver(sctx, n)
	cancel()
	attempt := n.Attempts + 1
	var retryIn time.Duration
	if sendErr != nil {
		status = statusAfterFailure(int32(attempt))
		retryIn = DispatchRetryIn(attempt)
		if d.RetryIn != nil {
			retryIn = d.RetryIn(attempt)
		}
		log.Warn("notification not delivered", "ref", n.Ref, "seq", n.Seq, "channel", n.Channel, "to", n.Target,
			"attempt", attempt, "of", workflows.DeliverMaxAttempts, "now", status, "error", sendErr)
	}
	wait := time.Second
	for {
		err := d.Acts.Store.MarkDispatched(ctx, n.ID, status, sendErr, retryIn)
		if err == nil {
			return
		}
		if stopping.Err() != nil {
			log.Error("notification's delivery not marked as the dispatcher stops; it will be claimed again when its lease ends",
				"ref", n.Ref, "seq", n.Seq, "channel", n.Channel, "status", status, "error", err)
			return
		}
		log.Warn("notification's delivery not marked yet; trying again", "ref", n.Ref, "seq", n.Seq, "in", wait, "error", err)
		sleep(stopping, wait)
		wait = min(2*wait, 10*time.Second)
	}
}

// DispatchRetryIn is how long after its attempt-th failed attempt a
// notification is tried again: 5 s, doubling, at most 5 minutes (the
// DeliverNotifications activity's retry policy).
func DispatchRetryIn(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// StartDispatcher runs a Dispatcher for acts until the returned stop is
// called; stop waits for what is being sent.
func StartDispatcher(acts *Activities) (stop func()) {
	return (&Dispatcher{Acts: acts}).Start()
}

// Start runs the dispatcher until the returned stop is called; stop waits
// for what is being sent.
func (d *Dispatcher) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
