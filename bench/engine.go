package main

import (
	"context"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The engine with nothing of escalate's: the yardstick every figure is
// divided by. Its workflow has the shape of a case (it stays open, answers
// updates, and passes one deadline) with no work in it: an update or a
// deadline runs one activity that does nothing.

const (
	engineQueue    = "bench-engine"
	engineWorkflow = "BenchEngine"
	engineUpdate   = "touch"
	engineActivity = "BenchNoop"
)

// EngineInput says whether the workflow waits for a deadline.
type EngineInput struct {
	// DueAt: when set, the workflow runs the no-op activity at that
	// instant (the storm's yardstick).
	DueAt *time.Time
}

// TouchInput says whether an update runs the no-op activity (the same
// shape as an escalate action, whose handler records through an
// activity) or nothing (a raw update).
type TouchInput struct {
	Activity bool
}

// engineFired counts the deadlines the engine's workflows have passed.
var engineFired atomic.Int64

func engineWorkflowFn(ctx workflow.Context, in EngineInput) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	if err := workflow.SetUpdateHandler(ctx, engineUpdate, func(ctx workflow.Context, t TouchInput) error {
		if t.Activity {
			return workflow.ExecuteActivity(actx, engineActivity, false).Get(ctx, nil)
		}
		return nil
	}); err != nil {
		return err
	}
	if in.DueAt != nil {
		if d := in.DueAt.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return err
			}
		}
		if err := workflow.ExecuteActivity(actx, engineActivity, true).Get(ctx, nil); err != nil {
			return err
		}
	}
	// Open until the dev server is thrown away, as a case stays open.
	return workflow.Await(ctx, func() bool { return false })
}

func engineNoop(_ context.Context, fired bool) error {
	if fired {
		engineFired.Add(1)
	}
	return nil
}

// newEngineWorker serves the engine's workflow with the options escalate's
// worker runs with, so the two differ only in what runs inside.
func newEngineWorker(c client.Client) sdkworker.Worker {
	w := sdkworker.New(c, engineQueue, workerOptions())
	w.RegisterWorkflowWithOptions(engineWorkflowFn, workflow.RegisterOptions{Name: engineWorkflow})
	w.RegisterActivityWithOptions(engineNoop, activity.RegisterOptions{Name: engineActivity})
	return w
}
