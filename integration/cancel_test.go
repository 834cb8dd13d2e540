package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"escalate/workflows"
)

// A case cancelled in Temporal, as an operator does from the Web UI with a
// reason (issue 14: a ghost, CANCELED in Temporal and open everywhere else,
// refusing every write with 409), closes as cancelled: the API, the record
// (who and why, chain intact) and the metrics all say so.
func TestCaseCancelledInTemporal(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "CAN/1",
		"category": "communication", "summary": "Raised twice by mistake",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.temporal.WorkflowService().RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
		Namespace:         "default",
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: c.Ref},
		Identity:          "ops-oncall@webui",
		Reason:            "Duplicate of an earlier case\x00 raised by mistake",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got workflows.Case
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if code := s.call("GET", "/v1/cases/"+c.Ref, raiser, nil, &got); code == 200 && got.Status == workflows.StatusCancelled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case still %s after the cancel request", got.Status)
		}
	}
	if got.ClosedAt == nil {
		t.Error("cancelled case has no closed_at")
	}
	last := got.History[len(got.History)-1]
	if last.Type != workflows.EventCancelled || last.By != "ops-oncall@webui" ||
		!strings.Contains(last.Text, "Reason: Duplicate of an earlier case raised by mistake") {
		t.Errorf("last event %+v", last)
	}
	s.checkRecord(t, c.Ref, raiser, len(got.History))
	var eb errorBody
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "x"}, &eb); code != 409 || !strings.Contains(eb.Error.Message, "cancelled") {
		t.Errorf("note on a cancelled case: %d %+v", code, eb)
	}
	if m := s.metrics(); !strings.Contains(m, `escalate_cases{policy="northamptonshire",status="cancelled"} 1`) {
		t.Errorf("metrics do not count the cancelled case:\n%s", m)
	}
	// The workflow ends cancelled once the notifications have gone.
	if err := s.temporal.GetWorkflow(ctx, c.Ref, "").Get(ctx, nil); !temporal.IsCanceledError(err) {
		t.Errorf("workflow ended with %v, want cancelled", err)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, c.Ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus().String(); st != "Canceled" {
		t.Errorf("Temporal status %s, want Canceled", st)
	}
	recordHistory(t, s.temporal, c.Ref, "northamptonshire-cancelled-in-temporal")
}
