package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// stormPhase: n open cases whose stage-1 deadline falls at one instant (as
// real cases' deadlines all fall at 17:00 on a working day), and the time
// until every one is escalated, recorded and its people notified, beside
// the engine passing the same number of deadlines that each run one no-op
// activity. API reads run throughout; their p99 is set beside the same
// reads' p99 before the storm.
func (b *bench) stormPhase(ctx context.Context, o options, rep *report, apiRate float64) error {
	n := o.storm
	fmt.Printf("deadline storm: %d cases\n", n)
	if apiRate <= 0 {
		apiRate = 5
	}
	// Time enough to open every case at well under the rate measured.
	budget := time.Duration(float64(n)/(0.5*apiRate)*float64(time.Second)) + 20*time.Second
	due := time.Now().Add(budget).Truncate(time.Second)
	refs, err := b.seed(ctx, n, func(ctx context.Context, i int) (string, error) {
		c, err := b.startCase(ctx, i, &due)
		return c.Ref, err
	})
	if err != nil {
		return err
	}
	if left := time.Until(due); left < 5*time.Second {
		return fmt.Errorf("opening %d cases took until %v before their deadline: run with a smaller -storm", n, left)
	}
	// Reads before the storm: the baseline.
	idle := rep.add(b.reads(ctx, "API read before the storm", refs, 4, minDur(10*time.Second, time.Until(due)-2*time.Second)))
	time.Sleep(time.Until(due))

	readCtx, stopReads := context.WithCancel(ctx)
	readRes := make(chan result, 1)
	go func() { readRes <- b.reads(readCtx, "API read during the storm", refs, 4, time.Hour) }()
	done := measure()
	took, err := b.waitStorm(ctx, refs, due)
	stopReads()
	during := <-readRes
	done(&during)
	rep.add(during)
	if err != nil {
		return err
	}

	// The engine: the same number of deadlines at one instant.
	engineFired.Store(0)
	edue := time.Now().Add(budget).Truncate(time.Second)
	if _, err := b.seed(ctx, n, func(ctx context.Context, i int) (string, error) { return b.engineStart(ctx, &edue) }); err != nil {
		return err
	}
	time.Sleep(time.Until(edue))
	var etook time.Duration
	for engineFired.Load() < int64(n) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	etook = time.Since(edue)
	rep.note("storm of %d: escalated, recorded and notified in %.1f s; the engine's %d deadlines in %.1f s", n, took.Seconds(), n, etook.Seconds())
	rep.ratio(fmt.Sprintf("storm %d: time API÷engine", n), took.Seconds()/etook.Seconds())
	rep.ratio(fmt.Sprintf("storm %d: read p99 during÷before", n), during.P99ms/idle.P99ms)
	rep.Results = append(rep.Results, result{Name: fmt.Sprintf("storm %d escalated+recorded+notified", n), Seconds: took.Seconds(), OK: n},
		result{Name: fmt.Sprintf("storm %d engine deadlines", n), Seconds: etook.Seconds(), OK: n})
	return nil
}

func minDur(a, b time.Duration) time.Duration {
	if b < a {
		return max(b, time.Second)
	}
	return a
}

// seed opens n cases (or engine workflows) from 32 clients.
func (b *bench) seed(ctx context.Context, n int, open func(ctx context.Context, i int) (string, error)) ([]string, error) {
	refs := make([]string, n)
	var next int
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				stop := i >= n || first != nil
				mu.Unlock()
				if stop {
					return
				}
				ref, err := open(ctx, c)
				if err != nil {
					// A start that failed under load is tried again.
					if ref, err = open(ctx, c); err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						return
					}
				}
				refs[i] = ref
			}
		}(c)
	}
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("seeding: %w", first)
	}
	return refs, ctx.Err()
}

// reads reads random cases of refs from clients clients until d passes or
// ctx ends.
func (b *bench) reads(ctx context.Context, name string, refs []string, clients int, d time.Duration) result {
	rec := &recorder{}
	start := time.Now()
	runClosed(ctx, clients, start.Add(d), func(ctx context.Context, i int) error { return b.getCase(ctx, refs[rand.IntN(len(refs))]) }, rec)
	res := rec.result(name, time.Since(start))
	res.Clients = clients
	return res
}

// waitStorm polls the record until every case has left stage 1 and every
// notification of its escalation has gone, and returns how long after due
// that was.
func (b *bench) waitStorm(ctx context.Context, refs []string, due time.Time) (time.Duration, error) {
	db := b.sys.db
	for {
		var moved, escalations, pending int
		err := db.QueryRow(ctx, `
SELECT (SELECT count(*) FROM cases WHERE ref = ANY($1) AND stage >= 2),
       (SELECT count(*) FROM events WHERE ref = ANY($1) AND type = 'escalated'),
       (SELECT count(*) FROM notifications n JOIN events e ON e.ref = n.ref AND e.seq = n.seq
         WHERE n.ref = ANY($1) AND e.type IN ('escalated', 'stage_entered', 'deadline_passed') AND e.stage >= 1
           AND e.at >= $2 AND n.status NOT IN ('sent', 'logged'))`, refs, due.Add(-time.Second)).Scan(&moved, &escalations, &pending)
		if err != nil {
			return 0, err
		}
		if moved == len(refs) && escalations >= len(refs) && pending == 0 {
			return time.Since(due), nil
		}
		if time.Since(due) > 30*time.Minute {
			return 0, fmt.Errorf("storm: after 30 minutes %d of %d cases moved, %d notifications pending", moved, len(refs), pending)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
