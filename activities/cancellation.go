package activities

import (
	"context"
	"errors"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"escalate/internal/oneline"
	"escalate/workflows"
)

// maxCancelText bounds the identity and reason an operator's cancel request
// puts on the record.
const maxCancelText = 500

// Cancellation reads, from the case workflow's history, who asked Temporal
// to cancel it and why (the Web UI's or the CLI's reason), so the record
// can say so. The text is the operator's: control characters are dropped
// and it is cut to a sensible length before it reaches the record.
func (a *Activities) Cancellation(ctx context.Context, in workflows.CancellationInput) (workflows.CancellationResult, error) {
	if a.Temporal == nil {
		return workflows.CancellationResult{}, temporal.NewNonRetryableApplicationError("no Temporal client in this worker", "not_configured", nil)
	}
	ns := activity.GetInfo(ctx).WorkflowNamespace
	var token []byte
	for page := 0; page < 20; page++ {
		resp, err := a.Temporal.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
			Namespace:       ns,
			Execution:       &commonpb.WorkflowExecution{WorkflowId: in.Ref, RunId: in.RunID},
			MaximumPageSize: 100,
			NextPageToken:   token,
		})
		if err != nil {
			return workflows.CancellationResult{}, err
		}
		for _, ev := range resp.GetHistory().GetEvents() {
			if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED {
				attrs := ev.GetWorkflowExecutionCancelRequestedEventAttributes()
				return workflows.CancellationResult{Identity: oneline.Clean(attrs.GetIdentity(), maxCancelText), Reason: oneline.Clean(attrs.GetCause(), maxCancelText)}, nil
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return workflows.CancellationResult{}, temporal.NewNonRetryableApplicationError("no cancel request in the history", "not_found", errors.New(in.Ref))
}

// RecordedSeq says how far a case's record goes, for a workflow run made
// by a reset that must number its events after the ones already recorded.
func (a *Activities) RecordedSeq(ctx context.Context, in workflows.RecordedSeqInput) (workflows.RecordedSeqResult, error) {
	n, err := a.Store.LastSeq(ctx, in.Ref)
	if err != nil {
		return workflows.RecordedSeqResult{}, err
	}
	return workflows.RecordedSeqResult{Seq: n}, nil
}

// SettleNotifications marks what is still undelivered of the given events
// failed, once Temporal has no attempt left for their delivery.
func (a *Activities) SettleNotifications(ctx context.Context, in workflows.SettleNotificationsInput) (workflows.SettleNotificationsResult, error) {
	n, err := a.Store.SettleNotifications(ctx, in.Ref, in.Seqs)
	if err != nil {
		return workflows.SettleNotificationsResult{}, err
	}
	if n > 0 {
		a.logger().Warn("notifications failed for good", "ref", in.Ref, "seqs", in.Seqs, "count", n)
	}
	return workflows.SettleNotificationsResult{Failed: n}, nil
}
