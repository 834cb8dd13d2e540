// Package worker runs case workflows and their activities on the task queue.
package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"escalate/activities"
	"escalate/workflows"
)

// New builds a worker for the case task queue with the workflow and the
// activities registered under the names in workflows/names.go, and with
// the dispatcher that delivers the notifications the record marks for it
// (WithDispatcher).
func New(c client.Client, acts *activities.Activities) sdkworker.Worker {
	sdkworker.SetStickyWorkflowCacheSize(StickyCacheSize)
	w := sdkworker.New(c, workflows.TaskQueue, Options())
	Register(w, acts)
	return WithDispatcher(w, acts)
}

// WithDispatcher runs an activities.Dispatcher for acts while w runs: it
// starts with w and stops (after what it is sending) when w stops. Every
// process that runs case workflows runs one, since cases started with
// current-case version 3 leave their notifications to it.
func WithDispatcher(w sdkworker.Worker, acts *activities.Activities) sdkworker.Worker {
	return &dispatching{Worker: w, acts: acts}
}

type dispatching struct {
	sdkworker.Worker
	acts *activities.Activities
	mu   sync.Mutex
	stop func()
}

func (d *dispatching) startDispatcher() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop == nil {
		d.stop = activities.StartDispatcher(d.acts)
	}
}

func (d *dispatching) stopDispatcher() {
	d.mu.Lock()
	stop := d.stop
	d.stop = nil
	d.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (d *dispatching) Start() error {
	if err := d.Worker.Start(); err != nil {
		return err
	}
	d.startDispatcher()
	return nil
}

func (d *dispatching) Run(interruptCh <-chan interface{}) error {
	d.startDispatcher()
	defer d.stopDispatcher()
	return d.Worker.Run(interruptCh)
}

func (d *dispatching) Stop() {
	d.Worker.Stop()
	d.stopDispatcher()
}

// Options are the worker's settings (docs/performance.md measures them
// with `make bench`). The SDK's pollers, task slots and sticky
// schedule-to-start timeout are kept: the bench found Temporal, not the
// worker, the limit on every load it ran (the worker, API and load
// generator together used about a quarter of the dev server's CPU per case
// start), so more pollers would only ask a saturated server for tasks more
// often. At 64 clients, where starts collapsed, the SDK's metrics and the
// histories showed no sticky task timing out (one workflow task timed out
// in 640 histories, an engine workflow's) and no sticky cache miss: tasks
// waited in the dev server's queue (schedule-to-start p99 16-66 s for the
// engine's tasks and escalate's alike), and the API's failed starts were
// its 20-second wait for Temporal running out, so a longer sticky timeout
// or more task slots would change nothing that was measured.
func Options() sdkworker.Options {
	return sdkworker.Options{}
}

// StickyCacheSize is how many cases a worker process keeps in memory
// between their workflow tasks (the SDK's default is 10,000). make bench
// measured the worker at 88 MiB with 300 open cases all cached and 64 MiB
// with 100 of them cached: about 0.1 MiB a cached case (its policy
// snapshot, its state and its handlers' coroutines). At the default a
// worker with 10,000 open cases would pass 1 GiB; at 1,000 it stays near
// 150 MiB however many cases are open. A case not in the cache is rebuilt
// from its history at its next task, which for cases that wake a few
// times a day costs little. The SDK's cache is per process: set before
// the first worker starts.
const StickyCacheSize = 1000

// Register adds the case workflow and activities to any registry (a worker,
// a replayer or a test environment).
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
	r.RegisterActivity(acts)
}

// EnsureSearchAttributes registers the custom search attributes operators
// filter on in the Web UI, if the namespace does not have them yet.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	want := map[string]enumspb.IndexedValueType{}
	for _, k := range workflows.SearchAttributeKeys() {
		var t enumspb.IndexedValueType
		switch k.GetValueType() {
		case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			t = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		case enumspb.INDEXED_VALUE_TYPE_INT:
			t = enumspb.INDEXED_VALUE_TYPE_INT
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			t = enumspb.INDEXED_VALUE_TYPE_DATETIME
		case enumspb.INDEXED_VALUE_TYPE_BOOL:
			t = enumspb.INDEXED_VALUE_TYPE_BOOL
		default:
			return fmt.Errorf("search attribute %s: unsupported type %v", k.GetName(), k.GetValueType())
		}
		want[k.GetName()] = t
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, t := range want {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = t
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "already") {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}
