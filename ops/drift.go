// Package ops holds what operators run against a deployment: finding and
// repairing drift between PostgreSQL (the record) and Temporal (the running
// cases).
package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"escalate/internal/oneline"
	"escalate/store"
	"escalate/workflows"
)

// Drift is one case whose record and workflow disagree.
type Drift struct {
	Ref string
	// Record is the case's status in PostgreSQL ("" if it has none);
	// Temporal its workflow's ("" if Temporal has none).
	Record, Temporal string
	// Problem says what is wrong, in words.
	Problem string
	// Repairable: Repair can close the record to match Temporal.
	Repairable bool
	// Repaired is set by Repair when it did.
	Repaired bool
	runID    string
	who, why string
}

// Find compares every case open in PostgreSQL with its workflow, and every
// case workflow running in Temporal with its record.
func Find(ctx context.Context, st *store.Store, tc client.Client, namespace string) ([]Drift, error) {
	open, err := st.OpenCaseRefs(ctx)
	if err != nil {
		return nil, fmt.Errorf("open cases in PostgreSQL: %w", err)
	}
	var out []Drift
	isOpen := map[string]bool{}
	for _, ref := range open {
		isOpen[ref] = true
		d, err := check(ctx, tc, namespace, ref)
		if err != nil {
			return nil, err
		}
		if d != nil {
			out = append(out, *d)
		}
	}
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, NextPageToken: token,
			Query: fmt.Sprintf(`WorkflowType = %q AND ExecutionStatus = "Running"`, workflows.CaseWorkflowName)})
		if err != nil {
			return nil, fmt.Errorf("running cases in Temporal: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			ref := e.GetExecution().GetWorkflowId()
			if isOpen[ref] {
				continue
			}
			d := Drift{Ref: ref, Temporal: "running"}
			cs, err := st.GetCase(ctx, ref)
			switch {
			case errors.Is(err, store.ErrNotFound):
				d.Problem = "running in Temporal, but PostgreSQL has no case: its opening was never recorded (or the database was restored from an older backup); cancel it in Temporal if it should not run"
			case err != nil:
				return nil, err
			default:
				d.Record = cs.Status
				d.Problem = "closed in PostgreSQL (" + cs.Status + ") but still running in Temporal; cancel it in Temporal"
			}
			out = append(out, d)
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return out, nil
}

// check compares one case open in PostgreSQL with its workflow.
func check(ctx context.Context, tc client.Client, namespace, ref string) (*Drift, error) {
	desc, err := tc.DescribeWorkflowExecution(ctx, ref, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &Drift{Ref: ref, Record: "open", Problem: "open in PostgreSQL, but Temporal has no workflow for it (its history is past retention, or it ran on another Temporal): nothing will move it; close it by hand"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	status := info.GetStatus()
	if status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, nil
	}
	d := &Drift{Ref: ref, Record: "open", Temporal: strings.ToLower(strings.TrimPrefix(status.String(), "WORKFLOW_EXECUTION_STATUS_")),
		runID: info.GetExecution().GetRunId()}
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		d.who, d.why = closer(ctx, tc, namespace, ref, d.runID)
		d.Problem = fmt.Sprintf("%s in Temporal, open in PostgreSQL: no one can act on it", d.Temporal)
		d.Repairable = true
	default:
		d.Problem = fmt.Sprintf("%s in Temporal, open in PostgreSQL", d.Temporal)
	}
	return d, nil
}

// closer reads who ended the workflow and why, from its last events.
func closer(ctx context.Context, tc client.Client, namespace, ref, runID string) (who, why string) {
	resp, err := tc.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace: namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: ref, RunId: runID}, MaximumPageSize: 20})
	if err != nil {
		return "", ""
	}
	for _, ev := range resp.GetHistory().GetEvents() {
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			return oneline.Clean(a.GetIdentity(), 500), oneline.Clean(a.GetReason(), 500)
		}
		if a := ev.GetWorkflowExecutionCancelRequestedEventAttributes(); a != nil {
			return oneline.Clean(a.GetIdentity(), 500), oneline.Clean(a.GetCause(), 500)
		}
		if a := ev.GetWorkflowExecutionFailedEventAttributes(); a != nil {
			return "", oneline.Clean(a.GetFailure().GetMessage(), 500)
		}
	}
	return "", ""
}

// Repair closes each repairable case's record as Temporal has it: a last
// event saying who ended the workflow in Temporal and why, and the status
// cancelled, written like any event (chained, in one transaction). Others
// are left for a person.
func Repair(ctx context.Context, st *store.Store, drifts []Drift, now time.Time) error {
	for i := range drifts {
		d := &drifts[i]
		if !d.Repairable {
			continue
		}
		cs, err := st.GetCase(ctx, d.Ref)
		if err != nil {
			return err
		}
		if cs.Closed() {
			continue
		}
		who := d.who
		if who == "" {
			who = "Temporal operator"
		}
		text := fmt.Sprintf("The case's workflow was %s in Temporal and can no longer run; escalate drift closed the case at stage %d (%s).",
			d.Temporal, cs.Stage.Number, cs.Stage.Name)
		if d.who != "" {
			text += " Ended by: " + d.who + "."
		}
		if d.why != "" {
			text += " Reason: " + d.why
		} else {
			text += " No reason was given."
		}
		closed := now
		cs.History = nil
		cs.Status, cs.ClosedAt = workflows.StatusCancelled, &closed
		cs.Version++
		notResolved := false
		ev := workflows.Event{Seq: cs.Version, At: now, Type: workflows.EventCancelled, Stage: cs.Stage.Number, By: who, Text: text,
			Resolved: &notResolved, ClosedStatus: workflows.StatusCancelled}
		_, err = st.RecordEvents(ctx, workflows.RecordEventsInput{Ref: d.Ref, RunID: d.runID, Case: cs, Events: []workflows.Event{ev},
			Timezone: "UTC"}, silent{})
		if err != nil {
			return fmt.Errorf("repair %s: %w", d.Ref, err)
		}
		d.Repaired = true
	}
	return nil
}

// silent renders nothing: a repair tells no one (there are no notices).
type silent struct{}

func (silent) Mail(workflows.Event, workflows.Recipient) store.Mail { return store.Mail{} }
func (silent) Webhook(workflows.Event, string) ([]byte, error)      { return nil, nil }
