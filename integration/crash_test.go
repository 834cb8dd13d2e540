package integration

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"escalate/activities"
	"escalate/store"
	"escalate/workflows"
)

// crashingActivities write the record like the real ones, then kill their
// own process as soon as a note is written: the write is in PostgreSQL but
// Temporal never hears that the activity finished.
type crashingActivities struct {
	*activities.Activities
}

func (c *crashingActivities) RecordEvents(ctx context.Context, in workflows.RecordEventsInput) (workflows.RecordEventsResult, error) {
	res, err := c.Activities.RecordEvents(ctx, in)
	if err == nil {
		for _, ev := range in.Events {
			if ev.Type == workflows.EventNote {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
	}
	return res, err
}

// childWorkerDeps opens, for a worker run as a child process of the test
// binary, the store (keyed from RECORD_KEY) and the Temporal client with
// the payload codec.
func childWorkerDeps(t *testing.T, temporalAddr, dsn string) (*store.Store, client.Client) {
	t.Helper()
	keys, err := store.ParseRecordKeys(os.Getenv("RECORD_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), dsn, store.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.Dial(*withCodec(&client.Options{HostPort: temporalAddr, Namespace: "default", Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	return st, tc
}

// TestHelperCrashingWorker is not a test: TestWorkerKilledAfterWrite runs
// the test binary again as this worker process, which it kills.
func TestHelperCrashingWorker(t *testing.T) {
	addr := os.Getenv("ESCALATE_CRASH_WORKER_TEMPORAL")
	if addr == "" {
		return // run only as the child process
	}
	st, tc := childWorkerDeps(t, addr, os.Getenv("ESCALATE_CRASH_WORKER_DSN"))
	w := sdkworker.New(tc, workflows.TaskQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
	w.RegisterActivity(&crashingActivities{&activities.Activities{Store: st, Log: quietSlog()}})
	if err := w.Run(sdkworker.InterruptCh()); err != nil {
		t.Fatal(err)
	}
}

// A worker killed between writing an event and telling Temporal the
// activity finished: Temporal runs the activity again on another worker,
// and the record holds the event once, its hash chain intact.
func TestWorkerKilledAfterWrite(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{
		"policy": "northamptonshire", "child_ref": "NCT/2026/0099", "category": "communication",
		"summary":    "Minutes not shared.",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}, &c); code != http.StatusCreated {
		t.Fatalf("create case: %d", code)
	}

	// Only the crashing worker runs now.
	s.stopWorker()
	child := exec.Command(os.Args[0], "-test.run=^TestHelperCrashingWorker$", "-test.count=1")
	child.Env = append(os.Environ(), "ESCALATE_CRASH_WORKER_TEMPORAL="+s.dev.FrontendHostPort(), "ESCALATE_CRASH_WORKER_DSN="+s.appDSN, "RECORD_KEY="+s.recordKey)
	child.Stdout, child.Stderr = io.Discard, io.Discard
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { _ = child.Process.Kill() })

	noted := make(chan int, 1)
	go func() {
		// The caller waits for the note to be recorded; it is, but the
		// worker dies before it can answer.
		noted <- s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "Called Sam; no answer."}, nil)
	}()
	select {
	case err := <-exited:
		if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the crashing worker ended without being killed: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the crashing worker was never killed")
	}
	ctx := context.Background()
	if n := countType(t, s, c.Ref, workflows.EventNote); n != 1 {
		t.Fatalf("after the kill: %d note events in PostgreSQL, want the one written before it", n)
	}

	// Another worker takes over: once the killed attempt times out, the
	// activity runs again and writes nothing twice.
	s.startWorker()
	code := <-noted
	if code != http.StatusOK && code != http.StatusServiceUnavailable {
		t.Fatalf("note while the worker died: %d, want 200 or 503 (outcome unknown)", code)
	}
	// Once the killed attempt times out, the activity runs again, on the
	// new worker, and completes.
	for deadline := time.Now().Add(90 * time.Second); !(activityRetried(t, s, c.Ref) && recordCompleted(t, s, c.Ref)); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the note's record activity was never retried to completion")
		}
	}
	if n := countType(t, s, c.Ref, workflows.EventNote); n != 1 {
		t.Errorf("after the retry: %d note events, want 1", n)
	}
	entries, v, err := s.store.Record(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || !v.Keyed || v.Events != len(entries) {
		t.Errorf("record after the crash: %+v", v)
	}
	for i, e := range entries {
		if e.Seq != i+1 {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
	}
	notes, err := s.store.Notifications(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	perRecipient := map[string]int{}
	for _, n := range notes {
		if e := entries[n.Seq-1]; e.Type == workflows.EventNote {
			perRecipient[n.Channel+" "+n.Target]++
		}
	}
	for who, n := range perRecipient {
		if n != 1 {
			t.Errorf("note notification to %s recorded %d times", who, n)
		}
	}
	if len(perRecipient) == 0 {
		t.Error("nobody was told of the note")
	}
}

func countType(t *testing.T, s *system, ref, typ string) int {
	t.Helper()
	evs, err := s.store.Events(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// activityRetried reports whether a RecordEvents activity of the case ran
// a second attempt.
func activityRetried(t *testing.T, s *system, ref string) bool {
	t.Helper()
	it := s.temporal.GetWorkflowHistory(context.Background(), ref, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			return true
		}
	}
	return false
}

// recordCompleted reports whether every RecordEvents activity scheduled so
// far has completed.
func recordCompleted(t *testing.T, s *system, ref string) bool {
	t.Helper()
	scheduled := map[int64]bool{}
	it := s.temporal.GetWorkflowHistory(context.Background(), ref, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflows.ActivityRecordEvents {
			scheduled[ev.GetEventId()] = true
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			delete(scheduled, a.GetScheduledEventId())
		}
	}
	return len(scheduled) == 0
}
