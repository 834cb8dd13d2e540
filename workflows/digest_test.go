package workflows_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"escalate/policies"
	"escalate/workflows"
)

// The digest runs its one activity with the instant it was started, which
// fixes the pack's period for every retry, and returns what was sent; a
// mail that fails is retried; a policy with no business office is not.
func TestDigestWorkflow(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
	attempts := 0
	var got workflows.SendDigestInput
	env.RegisterActivityWithOptions(func(_ context.Context, in workflows.SendDigestInput) (workflows.DigestResult, error) {
		attempts++
		got = in
		if attempts == 1 {
			return workflows.DigestResult{}, temporal.NewApplicationError("mail server down", "smtp")
		}
		return workflows.DigestResult{To: in.Policy.BusinessOffice.Email, Raised: 3, MessageID: "digest." + in.RunID + "@escalate"}, nil
	}, activity.RegisterOptions{Name: workflows.ActivitySendDigest})
	pol := policies.Policy{ID: "pa", BusinessOffice: policies.Contact{Name: "Office", Email: "office@pa.example"}}
	env.ExecuteWorkflow(workflows.DigestWorkflowName, workflows.DigestInput{Policy: pol, Reason: workflows.DigestMonthly})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res workflows.DigestResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || res.To != "office@pa.example" || res.Raised != 3 || res.MessageID == "digest.@escalate" {
		t.Errorf("attempts %d, result %+v", attempts, res)
	}
	if !got.At.Equal(start) || got.Reason != workflows.DigestMonthly || got.Policy.ID != "pa" || got.RunID == "" {
		t.Errorf("activity input %+v", got)
	}

	env = suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
	attempts = 0
	env.RegisterActivityWithOptions(func(_ context.Context, in workflows.SendDigestInput) (workflows.DigestResult, error) {
		attempts++
		return workflows.DigestResult{}, temporal.NewNonRetryableApplicationError("no business office", workflows.ErrNoBusinessOffice, nil)
	}, activity.RegisterOptions{Name: workflows.ActivitySendDigest})
	env.ExecuteWorkflow(workflows.DigestWorkflowName, workflows.DigestInput{Policy: policies.Policy{ID: "pb"}})
	if env.GetWorkflowError() == nil || attempts != 1 {
		t.Errorf("no business office: error %v after %d attempts, want a failure after 1", env.GetWorkflowError(), attempts)
	}
}
