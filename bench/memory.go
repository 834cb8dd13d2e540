package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"escalate/activities"
	"escalate/store"
	"escalate/worker"
	"escalate/workflows"
)

// memoryPhase: the resident memory of escalate's worker, in a process of
// its own, with n open cases in its cache, beside the engine's worker
// with n open workflows of the yardstick; each read before and after.
func (b *bench) memoryPhase(ctx context.Context, o options, rep *report) error {
	n := o.memory
	fmt.Printf("worker memory: %d open cases\n", n)
	b.sys.stopWorker()
	defer func() { _ = b.sys.startWorker() }()
	ours, err := b.childRSS(ctx, "worker", n, func(ctx context.Context, i int) (string, error) {
		c, err := b.startCase(ctx, i, nil)
		return c.Ref, err
	})
	if err != nil {
		return err
	}
	b.sys.engine.Stop()
	defer func() { _ = b.sys.startEngineWorker() }()
	engine, err := b.childRSS(ctx, "engine-worker", n, func(ctx context.Context, i int) (string, error) { return b.engineStart(ctx, nil) })
	if err != nil {
		return err
	}
	rep.note("worker RSS: escalate %.0f MiB idle, %.0f MiB with %d open cases (peak %.0f); engine %.0f idle, %.0f with %d (peak %.0f)",
		ours[0], ours[1], n, ours[2], engine[0], engine[1], n, engine[2])
	rep.ratio(fmt.Sprintf("worker RSS with %d open: escalate÷engine", n), ours[1]/engine[1])
	rep.ratio(fmt.Sprintf("worker RSS growth per open case: escalate÷engine (%d)", n), (ours[1]-ours[0])/(engine[1]-engine[0]))
	rep.Results = append(rep.Results,
		result{Name: fmt.Sprintf("escalate worker RSS MiB idle/%d open/peak", n), OK: n, P50ms: ours[0], P99ms: ours[1], MaxMs: ours[2]},
		result{Name: fmt.Sprintf("engine worker RSS MiB idle/%d open/peak", n), OK: n, P50ms: engine[0], P99ms: engine[1], MaxMs: engine[2]})
	return nil
}

// childRSS runs role in a child process, reads its RSS idle, opens n
// workflows it serves, and reads it again once they are all open: idle,
// loaded, peak (MiB).
func (b *bench) childRSS(ctx context.Context, role string, n int, open func(ctx context.Context, i int) (string, error)) ([3]float64, error) {
	self, err := os.Executable()
	if err != nil {
		return [3]float64{}, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "ESCALATE_BENCH_ROLE="+role,
		"BENCH_TEMPORAL="+b.sys.dev.FrontendHostPort(), "BENCH_DSN="+b.sys.appDSN, "RECORD_KEY="+b.sys.key,
		"BENCH_SMTP="+b.sys.smtp.Addr(), fmt.Sprintf("BENCH_CACHE=%d", tryCache))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return [3]float64{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(5 * time.Second)
	idle, _ := procRSS(cmd.Process.Pid)
	if _, err := b.seed(ctx, n, open); err != nil {
		return [3]float64{}, err
	}
	time.Sleep(10 * time.Second) // notifications out, the cache settled
	loaded, peak := procRSS(cmd.Process.Pid)
	return [3]float64{idle, loaded, peak}, nil
}

// runRole is the child process: escalate's worker as `escalate worker`
// builds it, or the engine's.
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
		w = sdkworker.New(tc, workflows.TaskQueue, workerOptions())
		worker.Register(w, &activities.Activities{Store: st, Temporal: tc, Mailer: mailer,
			Webhooks: activities.NewWebhookPoster(false), PublicURL: "http://escalate.bench",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	case "engine-worker":
		w = newEngineWorker(tc)
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	runtime.GC()
	return w.Run(sdkworker.InterruptCh())
}
