package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"escalate/policies"
)

// DigestInput is what the digest's schedule starts DigestWorkflow with: the
// policy as it was when the schedule was last brought in step (setup, or
// the meeting dates changing), and why this run.
type DigestInput struct {
	Policy policies.Policy `json:"policy"`
	// Reason is "meeting" (before the meeting of NextMeeting) or "monthly".
	Reason      string `json:"reason"`
	NextMeeting string `json:"next_meeting,omitempty"`
}

// Digest reasons.
const (
	DigestBeforeMeeting = "meeting"
	DigestMonthly       = "monthly"
)

// DigestResult says what was sent.
type DigestResult struct {
	To     string `json:"to"`
	From   string `json:"from"` // the pack's period, local dates
	Until  string `json:"until"`
	Raised int    `json:"raised"`
	// MessageID is the mail's, the same for every retry of one run.
	MessageID string `json:"message_id"`
}

// SendDigestInput is the activity's input: the digest's, with the instant
// the run was scheduled, which fixes the pack's period for every retry.
type SendDigestInput struct {
	DigestInput
	At    time.Time `json:"at"`
	RunID string    `json:"run_id"`
}

// ErrNoBusinessOffice: the policy names no business office to mail.
const ErrNoBusinessOffice = "no_business_office"

var digestOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		MaximumAttempts: 8, NonRetryableErrorTypes: []string{ErrNoBusinessOffice}},
}

// DigestWorkflow mails the business office the pack's link and headline
// figures, once.
func DigestWorkflow(ctx workflow.Context, in DigestInput) (DigestResult, error) {
	info := workflow.GetInfo(ctx)
	var res DigestResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, digestOptions), ActivitySendDigest,
		SendDigestInput{DigestInput: in, At: workflow.Now(ctx), RunID: info.WorkflowExecution.RunID}).Get(ctx, &res)
	return res, err
}
