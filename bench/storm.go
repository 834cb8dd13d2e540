package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"escalate/worker"
	"escalate/workflows"
)

// Worker settings the storm tries beside -wf-pollers, -act-pollers and
// -cache (0 leaves escalate's own), and how many histories it reads to
// say where a storm's time went.
var (
	tryActExec, tryWFExec int
	tryActPerSec          float64
	tryStickyTimeout      time.Duration
	stormTraceN           int
	stormReadRate         float64
	stormWithin           time.Duration
)

func init() {
	flag.IntVar(&tryActExec, "act-exec", 0, "try this MaxConcurrentActivityExecutionSize in the storm (0: escalate's setting)")
	flag.IntVar(&tryWFExec, "wf-exec", 0, "try this MaxConcurrentWorkflowTaskExecutionSize in the storm (0: escalate's setting)")
	flag.DurationVar(&tryStickyTimeout, "sticky-timeout", 0, "try this StickyScheduleToStartTimeout in the storm (0: escalate's setting)")
	flag.Float64Var(&tryActPerSec, "act-per-sec", 0, "try this TaskQueueActivitiesPerSecond in the storm (0: escalate's setting)")
	flag.Float64Var(&stormReadRate, "storm-reads", 20, "API reads a second before and during the storm")
	flag.DurationVar(&stormWithin, "storm-within", 25*time.Minute, "the storm's deadline is at most this far after seeding starts; the cases opened by then are the storm")
	flag.IntVar(&stormTraceN, "storm-trace", 100, "histories of storm cases (and engine workflows) read afterwards to say where the time went")
}

// stormOptions are the worker options the storm runs with: escalate's, or
// the ones tried.
func stormOptions() sdkworker.Options {
	o := workerOptions()
	if tryActExec > 0 {
		o.MaxConcurrentActivityExecutionSize = tryActExec
	}
	if tryWFExec > 0 {
		o.MaxConcurrentWorkflowTaskExecutionSize = tryWFExec
	}
	if tryActPerSec > 0 {
		o.TaskQueueActivitiesPerSecond = tryActPerSec
	}
	if tryStickyTimeout > 0 {
		o.StickyScheduleToStartTimeout = tryStickyTimeout
	}
	return o
}

// settingsLine says which worker settings a run used.
func settingsLine() string {
	o := stormOptions()
	cache := worker.StickyCacheSize
	if tryCache > 0 {
		cache = tryCache
	}
	d := func(v int, def string) string {
		if v == 0 {
			return def
		}
		return fmt.Sprint(v)
	}
	aps := "SDK default"
	if o.TaskQueueActivitiesPerSecond > 0 {
		aps = fmt.Sprint(o.TaskQueueActivitiesPerSecond)
	}
	sticky := "SDK default (5s)"
	if o.StickyScheduleToStartTimeout > 0 {
		sticky = o.StickyScheduleToStartTimeout.String()
	}
	return fmt.Sprintf("workflow pollers %s, activity pollers %s, workflow tasks at once %s, activities at once %s, task-queue activities/s %s, sticky cache %d, sticky schedule-to-start timeout %s",
		d(o.MaxConcurrentWorkflowTaskPollers, "SDK default (2)"), d(o.MaxConcurrentActivityTaskPollers, "SDK default (2)"),
		d(o.MaxConcurrentWorkflowTaskExecutionSize, "SDK default (1000)"), d(o.MaxConcurrentActivityExecutionSize, "SDK default (1000)"), aps, cache, sticky)
}

// retune restarts escalate's worker and the engine's with stormOptions
// when any storm-only setting is tried.
func (b *bench) retune() error {
	if tryActExec == 0 && tryWFExec == 0 && tryActPerSec == 0 && tryStickyTimeout == 0 {
		return nil
	}
	b.sys.stopWorker()
	w := sdkworker.New(b.sys.temporal, workflows.TaskQueue, stormOptions())
	worker.Register(w, b.sys.acts)
	w = worker.WithDispatcher(w, b.sys.acts)
	if err := w.Start(); err != nil {
		return err
	}
	b.sys.worker = w
	b.sys.engine.Stop()
	e := sdkworker.New(b.sys.temporal, engineQueue, stormOptions())
	e.RegisterWorkflowWithOptions(engineWorkflowFn, workflow.RegisterOptions{Name: engineWorkflow})
	e.RegisterActivityWithOptions(engineNoop, activity.RegisterOptions{Name: engineActivity})
	if err := e.Start(); err != nil {
		return err
	}
	b.sys.engine = e
	return nil
}

// stormPhase: n open cases whose stage-1 deadline falls at one instant (as
// real cases' deadlines all fall at 17:00 on a working day), and the time
// until every one is escalated, recorded and its people notified, beside
// the engine passing the same number of deadlines that each run one no-op
// activity. API reads run throughout; their p99 is set beside the same
// reads' p99 before the storm.
func (b *bench) stormPhase(ctx context.Context, o options, rep *report, _ float64) error {
	n := o.storm
	if err := b.retune(); err != nil {
		return err
	}
	fmt.Printf("deadline storm: %d cases, seeded %s; %s\n", n, seedVia, settingsLine())
	rep.note("storm settings: %s", settingsLine())
	if err := b.checkDirect(ctx, nil); err != nil {
		return err
	}
	// A pilot says how fast cases open now, so the deadline leaves time
	// enough to open them all and no more.
	pilot := min(40, max(20, n/20))
	_, pst, err := b.seedCases(ctx, pilot, nil, 0, nil)
	if err != nil {
		return err
	}
	budget := min(time.Duration(float64(n)/pst.rate()*1.4*float64(time.Second))+40*time.Second, stormWithin)
	due := time.Now().Add(budget).Truncate(time.Second)
	fmt.Printf("  pilot: %d cases opened at %.1f/s; the storm's deadline in %v\n", pilot, pst.rate(), time.Until(due).Round(time.Second))
	loadSeed := loadavg()
	refs, st, err := b.seedCases(ctx, n, &due, 0, nil)
	if err != nil {
		return err
	}
	if len(refs) < n {
		rep.note("storm: only %d of %d cases opened before their deadline: the storm is of %d", len(refs), n, len(refs))
		n = len(refs)
	}
	rep.note("storm %d: seeded %s from %d at once, %.1f cases/s (%d retried), load %s to %s", n, seedVia, seedWindow, st.rate(), st.retries, loadSeed, loadavg())
	rep.Results = append(rep.Results, result{Name: fmt.Sprintf("storm %d seeding (%s)", n, seedVia), OK: n, Seconds: st.took.Seconds(), PerSecond: st.rate()})
	if left := time.Until(due); left < 5*time.Second {
		return fmt.Errorf("opening %d cases took until %v before their deadline: run with a smaller -storm", n, left)
	}
	// Reads before the storm: the baseline.
	idle := rep.add(b.reads(ctx, "API read before the storm", refs, stormReadRate, minDur(20*time.Second, time.Until(due)-2*time.Second)))
	time.Sleep(time.Until(due))

	loadStorm := loadavg()
	readCtx, stopReads := context.WithCancel(ctx)
	readRes := make(chan result, 1)
	go func() { readRes <- b.reads(readCtx, "API read during the storm", refs, stormReadRate, time.Hour) }()
	cpu0 := meter.sample()
	took, err := b.waitStorm(ctx, refs, due)
	cpu1 := meter.sample()
	stopReads()
	during := <-readRes
	rep.add(during)
	if err != nil {
		return err
	}
	rep.note("storm %d: escalated, recorded and notified in %.1f s (%.1f a second), load %s to %s; CPU per escalation: dev server %.1f ms, bench process (worker, API, reads) %.1f ms",
		n, took.Seconds(), float64(n)/took.Seconds(), loadStorm, loadavg(),
		perOp(cpu1.dev-cpu0.dev, n), perOp(cpu1.self-cpu0.self, n))
	ours, err := b.traceStorm(ctx, refs, due)
	if err != nil {
		return err
	}
	rep.note("storm %d, escalate (%s)", n, ours)

	// The engine: the same number of deadlines at one instant.
	engineFired.Store(0)
	_, ep, err := b.seedEngine(ctx, min(40, max(20, n/20)), nil, 0, nil)
	if err != nil {
		return err
	}
	ebudget := min(time.Duration(float64(n)/ep.rate()*1.4*float64(time.Second))+40*time.Second, stormWithin)
	edue := time.Now().Add(ebudget).Truncate(time.Second)
	ids, est, err := b.seedEngine(ctx, n, &edue, 0, nil)
	if err != nil {
		return err
	}
	if len(ids) < n {
		return fmt.Errorf("engine storm: only %d of %d workflows opened before their deadline", len(ids), n)
	}
	rep.note("engine %d: seeded (update-with-start of an update running nothing) at %.1f/s", n, est.rate())
	time.Sleep(time.Until(edue))
	loadEngine := loadavg()
	ecpu0 := meter.sample()
	for engineFired.Load() < int64(n) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(edue) > 30*time.Minute {
			return fmt.Errorf("engine storm: %d of %d deadlines after 30 minutes", engineFired.Load(), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	etook := time.Since(edue)
	ecpu1 := meter.sample()
	rep.note("engine storm %d: %d deadlines in %.1f s (%.1f a second), load %s to %s; CPU per deadline: dev server %.1f ms, bench process %.1f ms",
		n, n, etook.Seconds(), float64(n)/etook.Seconds(), loadEngine, loadavg(), perOp(ecpu1.dev-ecpu0.dev, n), perOp(ecpu1.self-ecpu0.self, n))
	theirs, err := b.traceStorm(ctx, ids, edue)
	if err != nil {
		return err
	}
	rep.note("storm %d, engine (%s)", n, theirs)
	rep.ratio(fmt.Sprintf("storm %d: time API÷engine", n), took.Seconds()/etook.Seconds())
	rep.ratio(fmt.Sprintf("storm %d: dev CPU per deadline API÷engine", n), float64(cpu1.dev-cpu0.dev)/float64(ecpu1.dev-ecpu0.dev))
	rep.ratio(fmt.Sprintf("storm %d: read p99 during÷before", n), during.P99ms/idle.P99ms)
	rep.Results = append(rep.Results, result{Name: fmt.Sprintf("storm %d escalated+recorded+notified", n), Seconds: took.Seconds(), OK: n,
		PerSecond: float64(n) / took.Seconds(), DevCPUms: perOp(cpu1.dev-cpu0.dev, n), SelfCPUms: perOp(cpu1.self-cpu0.self, n)},
		result{Name: fmt.Sprintf("storm %d engine deadlines", n), Seconds: etook.Seconds(), OK: n,
			PerSecond: float64(n) / etook.Seconds(), DevCPUms: perOp(ecpu1.dev-ecpu0.dev, n), SelfCPUms: perOp(ecpu1.self-ecpu0.self, n)})
	return nil
}

func perOp(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

// seedEngine opens n engine workflows (deadline due, if set), window at
// a time, each answered once its first workflow task has run.
func (b *bench) seedEngine(ctx context.Context, n int, due *time.Time, every int, at func(int)) ([]string, seedStats, error) {
	start := time.Now()
	var stopBy time.Time
	if due != nil {
		stopBy = due.Add(-20 * time.Second)
	}
	ids, err := b.seedWindowed(ctx, n, seedWindow, stopBy, func(ctx context.Context, i int) (string, error) { return b.engineOpen(ctx, due, false) }, every, at)
	return ids, seedStats{n: len(ids), took: time.Since(start)}, err
}

func minDur(a, b time.Duration) time.Duration {
	if b < a {
		return max(b, time.Second)
	}
	return a
}

// reads reads random cases of refs at rate a second (each read on its own,
// so a slow answer delays none behind it) until d passes or ctx ends.
// People reading their cases arrive at their own pace whatever the
// server is doing; a closed loop of readers would instead take the CPU
// the storm needs on a small machine and measure that.
func (b *bench) reads(ctx context.Context, name string, refs []string, rate float64, d time.Duration) result {
	rec := &recorder{}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; ctx.Err() == nil && time.Since(start) < d; i++ {
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(start.Add(time.Duration(i) * interval))):
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				rec.run(context.WithoutCancel(ctx), func(ctx context.Context, _ int) error { return b.getCase(ctx, refs[rand.IntN(len(refs))]) }, i)
			}(i)
		}
	}
	wg.Wait()
	res := rec.result(name, time.Since(start))
	res.Rate = rate
	return res
}

// waitStorm polls the record until every case has left stage 1 and every
// notification of its escalation has gone, and returns how long after due
// that was. It prints how far the storm is every 10 seconds.
func (b *bench) waitStorm(ctx context.Context, refs []string, due time.Time) (time.Duration, error) {
	db := b.sys.db
	lastPrint, lastMoved, lastDev := time.Now(), 0, procCPU(meter.devPid)
	lastSeen, lastChange := 0, time.Now()
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
		if moved != lastSeen {
			lastSeen, lastChange = moved, time.Now()
		}
		if time.Since(due) > 45*time.Minute || time.Since(lastChange) > 3*time.Minute {
			return 0, fmt.Errorf("storm: %v after the deadline %d of %d cases moved, none for %v, %d notifications pending (is the dev server answering? see its log)",
				time.Since(due).Round(time.Second), moved, len(refs), time.Since(lastChange).Round(time.Second), pending)
		}
		if since := time.Since(lastPrint); since >= 10*time.Second {
			dev := procCPU(meter.devPid)
			fmt.Printf("    +%3.0f s: %d of %d escalated (%.1f/s), %d notifications to go; dev server %.0f%% of a core, load %s\n",
				time.Since(due).Seconds(), moved, len(refs), float64(moved-lastMoved)/since.Seconds(), pending,
				100*float64(dev-lastDev)/float64(since), loadavg())
			lastPrint, lastMoved, lastDev = time.Now(), moved, dev
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// traceStorm reads the histories of up to stormTraceN of ids and says
// where each one's time after due went, from the dev server's own
// timestamps: the timer firing late, workflow tasks waiting in their
// queue (for a poller) and running (in the worker), activities waiting
// and running, and how many workflow tasks went to the normal queue
// rather than the worker's sticky one (a case not in the worker's cache
// or a sticky task that waited past its timeout: the whole history is
// sent and replayed).
func (b *bench) traceStorm(ctx context.Context, ids []string, due time.Time) (string, error) {
	sample := append([]string(nil), ids...)
	rand.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	sample = sample[:min(len(sample), stormTraceN)]
	var lag, wftWait, wftRun, actWait, actRun, end []time.Duration
	var wfts, acts, normal, timedOut int
	for _, id := range sample {
		t, err := b.traceOne(ctx, id, due)
		if err != nil {
			return "", err
		}
		if !t.fired {
			continue
		}
		lag, end = append(lag, t.lag), append(end, t.end)
		wftWait, wftRun = append(wftWait, t.wftWait), append(wftRun, t.wftRun)
		actWait, actRun = append(actWait, t.actWait), append(actRun, t.actRun)
		wfts, acts, normal, timedOut = wfts+t.wfts, acts+t.acts, normal+t.normal, timedOut+t.timedOut
	}
	k := len(lag)
	if k == 0 {
		return "no sampled history had its deadline fire", nil
	}
	q := func(ds []time.Duration) string {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return fmt.Sprintf("p50 %.1f s, p99 %.1f s", ds[k/2].Seconds(), ds[min(k-1, k*99/100)].Seconds())
	}
	return fmt.Sprintf("%d histories: done %s after the deadline; timer fired %s late; per deadline %.1f workflow tasks (%.0f%% on the normal queue, not the sticky one; %.2f a deadline timed out waiting on the sticky queue), "+
		"waiting in all %s, running in all %s; %.1f activities waiting in all %s, running in all %s",
		k, q(end), q(lag), float64(wfts)/float64(k), 100*float64(normal)/float64(max(wfts, 1)), float64(timedOut)/float64(k), q(wftWait), q(wftRun),
		float64(acts)/float64(k), q(actWait), q(actRun)), nil
}

type trace struct {
	fired                                      bool
	lag, end, wftWait, wftRun, actWait, actRun time.Duration
	wfts, acts, normal, timedOut               int
}

// traceOne is one workflow's time after due (see traceStorm).
func (b *bench) traceOne(ctx context.Context, id string, due time.Time) (trace, error) {
	var t trace
	it := b.sys.temporal.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	at := map[int64]time.Time{}
	var fired time.Time
	var last time.Time
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return t, err
		}
		when := ev.GetEventTime().AsTime()
		at[ev.GetEventId()] = when
		if fired.IsZero() {
			if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED && !when.Before(due.Add(-time.Second)) {
				fired = when
				t.fired, t.lag = true, when.Sub(due)
			}
			continue
		}
		last = when
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			t.wfts++
			if ev.GetWorkflowTaskScheduledEventAttributes().GetTaskQueue().GetKind() != enumspb.TASK_QUEUE_KIND_STICKY {
				t.normal++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			t.wftWait += when.Sub(at[ev.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()])
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			if started, ok := at[startedOf(ev)]; ok && startedOf(ev) != 0 {
				t.wftRun += when.Sub(started)
			} else {
				// A sticky task no poller took within its
				// schedule-to-start timeout: its wait is counted here.
				t.timedOut++
				t.wftWait += when.Sub(at[ev.GetWorkflowTaskTimedOutEventAttributes().GetScheduledEventId()])
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			t.acts++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			t.actWait += when.Sub(at[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()])
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			t.actRun += when.Sub(at[ev.GetActivityTaskCompletedEventAttributes().GetStartedEventId()])
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			t.actRun += when.Sub(at[ev.GetActivityTaskFailedEventAttributes().GetStartedEventId()])
		}
	}
	if t.fired {
		t.end = last.Sub(due)
	}
	return t, nil
}

func startedOf(ev *historypb.HistoryEvent) int64 {
	switch {
	case ev.GetWorkflowTaskCompletedEventAttributes() != nil:
		return ev.GetWorkflowTaskCompletedEventAttributes().GetStartedEventId()
	case ev.GetWorkflowTaskFailedEventAttributes() != nil:
		return ev.GetWorkflowTaskFailedEventAttributes().GetStartedEventId()
	case ev.GetWorkflowTaskTimedOutEventAttributes() != nil:
		return ev.GetWorkflowTaskTimedOutEventAttributes().GetStartedEventId()
	}
	return 0
}
