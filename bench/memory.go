package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"escalate/activities"
	"escalate/store"
	"escalate/worker"
	"escalate/workflows"
)

// memoryWithin, if set, bounds how long the memory phase opens escalate's
// cases: it measures with as many as opened by then, and the engine with
// as many (a shared machine may open cases far slower than a server).
var memoryWithin time.Duration

func init() {
	flag.DurationVar(&memoryWithin, "memory-within", 0, "stop opening escalate's cases for the memory phase after this long and measure with those opened (0: open all -memory)")
}

// memoryPhase: the resident memory of escalate's worker, in a process of
// its own, with n open cases that have each run at least one workflow
// task in it (their first, which records the opening), beside the
// engine's worker with n open workflows of the yardstick; each read idle,
// every tenth of the way, and once all are open.
func (b *bench) memoryPhase(ctx context.Context, o options, rep *report) error {
	n := o.memory
	fmt.Printf("worker memory: %d open cases, seeded %s\n", n, seedVia)
	b.sys.stopWorker()
	defer func() { _ = b.sys.startWorker() }()
	ours, err := b.childRSS(ctx, o, "worker", n, func(every int, at func(int)) (seedStats, error) {
		if err := b.checkDirect(ctx, nil); err != nil {
			return seedStats{}, err
		}
		refs, st, err := b.seedCasesWithin(ctx, n, memoryWithin, every, at)
		if len(refs) < n && err == nil {
			fmt.Printf("  %d of %d cases opened within %v: the engine gets as many\n", len(refs), n, memoryWithin)
			n = len(refs)
		}
		return st, err
	})
	if err != nil {
		return err
	}
	b.sys.engine.Stop()
	defer func() { _ = b.sys.startEngineWorker() }()
	engine, err := b.childRSS(ctx, o, "engine-worker", n, func(every int, at func(int)) (seedStats, error) {
		_, st, err := b.seedEngine(ctx, n, nil, every, at)
		return st, err
	})
	if err != nil {
		return err
	}
	rep.note("worker RSS: escalate %.0f MiB idle, %.0f MiB with %d open cases (peak %.0f; at each tenth %s); engine %.0f idle, %.0f with %d (peak %.0f; %s)",
		ours.idle, ours.loaded, n, ours.peak, ours.curve, engine.idle, engine.loaded, n, engine.peak, engine.curve)
	rep.note("memory %d: seeded escalate %s at %.1f cases/s, the engine at %.1f/s", n, seedVia, ours.seed.rate(), engine.seed.rate())
	if ours.heap != "" {
		rep.note("escalate worker heap with %d open: %s", n, ours.heap)
	}
	if engine.heap != "" {
		rep.note("engine worker heap with %d open: %s", n, engine.heap)
	}
	rep.ratio(fmt.Sprintf("worker RSS with %d open: escalate÷engine", n), ours.loaded/engine.loaded)
	rep.ratio(fmt.Sprintf("worker RSS growth per open case: escalate÷engine (%d)", n), (ours.loaded-ours.idle)/(engine.loaded-engine.idle))
	if ours.tenthAt > 0 && engine.tenthAt > 0 && ours.tenthAt < n && engine.tenthAt < n {
		// Past the first tenth (the sticky cache full, at full size): what
		// each further open case costs.
		o := (ours.loaded - ours.tenth) / float64(n-ours.tenthAt)
		e := (engine.loaded - engine.tenth) / float64(n-engine.tenthAt)
		rep.note("RSS growth per further open case: escalate %.4f MiB (from %d to %d open), engine %.4f MiB (from %d)", o, ours.tenthAt, n, e, engine.tenthAt)
		rep.ratio(fmt.Sprintf("worker RSS growth per case past the first tenth: escalate÷engine (%d)", n), o/e)
	}
	rep.Results = append(rep.Results,
		result{Name: fmt.Sprintf("escalate worker RSS MiB idle/%d open/peak", n), OK: n, P50ms: ours.idle, P99ms: ours.loaded, MaxMs: ours.peak},
		result{Name: fmt.Sprintf("engine worker RSS MiB idle/%d open/peak", n), OK: n, P50ms: engine.idle, P99ms: engine.loaded, MaxMs: engine.peak})
	return nil
}

// rss is a worker's resident memory (MiB): idle, with a tenth of the
// workflows open, with all open, and its peak; the readings at each tenth;
// and the Go heap's figures once all are open.
type rss struct {
	idle, tenth, loaded, peak float64
	tenthAt                   int
	curve, heap               string
	seed                      seedStats
}

// childRSS runs role in a child process, reads its RSS idle, has seed
// open the workflows it serves (reading the RSS every tenth), and reads
// it again once they are all open and settled. The child writes a heap
// profile then (into -profile's directory, or the system's temporary
// one).
func (b *bench) childRSS(ctx context.Context, o options, role string, n int, seed func(every int, at func(int)) (seedStats, error)) (rss, error) {
	var r rss
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	dir := o.profile
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	heapFile := filepath.Join(dir, fmt.Sprintf("%s-heap-%d.pprof", role, n))
	statsFile := heapFile + ".txt"
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "ESCALATE_BENCH_ROLE="+role,
		"BENCH_TEMPORAL="+b.sys.temporalAddr, "BENCH_DSN="+b.sys.appDSN, "RECORD_KEY="+b.sys.key,
		"BENCH_SMTP="+b.sys.smtp.Addr(), fmt.Sprintf("BENCH_CACHE=%d", tryCache), "BENCH_HEAP="+heapFile)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(5 * time.Second)
	r.idle, _ = procRSS(cmd.Process.Pid)
	every := max(n/10, 1)
	r.curve = fmt.Sprintf("%.0f", r.idle)
	r.seed, err = seed(every, func(opened int) {
		now, _ := procRSS(cmd.Process.Pid)
		if opened == every {
			r.tenth, r.tenthAt = now, opened
		}
		r.curve += fmt.Sprintf(" %.0f", now)
		fmt.Printf("    %s RSS with %d open: %.0f MiB\n", role, opened, now)
	})
	if err != nil {
		return r, err
	}
	time.Sleep(10 * time.Second) // notifications out, the cache settled
	r.loaded, r.peak = procRSS(cmd.Process.Pid)
	// The heap, as the Go runtime sees it, once everything is open.
	_ = os.Remove(statsFile)
	if err := cmd.Process.Signal(syscall.SIGUSR1); err == nil {
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if raw, err := os.ReadFile(statsFile); err == nil && len(raw) > 0 {
				r.heap = string(raw) + " (profile " + heapFile + ")"
				break
			}
		}
	}
	return r, nil
}

// runRole is the child process: escalate's worker as `escalate worker`
// builds it, or the engine's. SIGUSR1 makes it write a heap profile and
// its heap's figures.
func runRole(role string) error {
	ctx := context.Background()
	tc, err := client.Dial(client.Options{HostPort: os.Getenv("BENCH_TEMPORAL"), Namespace: "default", Logger: quietSDKLog{}})
	if err != nil {
		return err
	}
	defer tc.Close()
	sdkworker.SetStickyWorkflowCacheSize(worker.StickyCacheSize)
	if n, _ := strconv.Atoi(os.Getenv("BENCH_CACHE")); n > 0 {
		sdkworker.SetStickyWorkflowCacheSize(n)
	}
	var w sdkworker.Worker
	switch role {
	case "worker":
		keys, err := store.ParseRecordKeys(os.Getenv("RECORD_KEY"))
		if err != nil {
			return err
		}
		st, err := store.Open(ctx, os.Getenv("BENCH_DSN"), store.Options{Keys: keys})
		if err != nil {
			return err
		}
		defer st.Close()
		mailer, err := activities.NewSMTPMailer("smtp://"+os.Getenv("BENCH_SMTP"), "escalate@bench.example")
		if err != nil {
			return err
		}
		acts := &activities.Activities{Store: st, Temporal: tc, Mailer: mailer,
			Webhooks: activities.NewWebhookPoster(false), PublicURL: "http://escalate.bench",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		w = sdkworker.New(tc, workflows.TaskQueue, workerOptions())
		worker.Register(w, acts)
		w = worker.WithDispatcher(w, acts)
	case "engine-worker":
		w = newEngineWorker(tc)
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	if path := os.Getenv("BENCH_HEAP"); path != "" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGUSR1)
		go func() {
			for range sig {
				writeHeap(path)
			}
		}()
	}
	runtime.GC()
	return w.Run(sdkworker.InterruptCh())
}

// writeHeap writes a heap profile to path and the heap's figures to
// path.txt.
func writeHeap(path string) {
	runtime.GC()
	if f, err := os.Create(path); err == nil {
		_ = pprof.Lookup("heap").WriteTo(f, 0)
		_ = f.Close()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	_ = os.WriteFile(path+".txt", []byte(fmt.Sprintf("Go heap in use %.0f MiB, stacks %.0f MiB, runtime total %.0f MiB, %d goroutines",
		mib(m.HeapInuse), mib(m.StackInuse), mib(m.Sys), runtime.NumGoroutine())), 0o644)
}
