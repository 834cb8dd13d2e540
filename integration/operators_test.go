package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"

	"escalate/workflows"
)

// Operators find cases in the Temporal Web UI by what they ask (issue 14):
// every overdue stage-5 case involving an agency, by search attributes
// that hold no personal data and follow the case; and each case says in
// words where it stands.
func TestOperatorsFindCasesInTemporal(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "OPS/1",
		"category": "communication", "summary": "Zebediah Quux is four", "urgent": true,
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	// The 2-second drill climbs to stage 5, whose deadline only notifies:
	// the case is then overdue there.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if code := s.call("GET", "/v1/cases/"+c.Ref, raiser, nil, &c); code == 200 && c.Stage.Number == 5 && countType(t, s, c.Ref, workflows.EventDeadlinePassed) >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case at stage %d, not overdue at stage 5", c.Stage.Number)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	query := `EscalateOverdue = true AND EscalateStage = 5 AND (EscalateRaisingAgency = "nct" OR EscalateRespondingAgency = "nct")` +
		` AND EscalateCategory = "communication" AND EscalateUrgent = true AND EscalatePolicy = "northamptonshire-fastdrill"`
	var found []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query})
		if err != nil {
			t.Fatal(err)
		}
		found = found[:0]
		for _, e := range resp.GetExecutions() {
			found = append(found, e.GetExecution().GetWorkflowId())
		}
		if len(found) == 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(found) != 1 || found[0] != c.Ref {
		t.Fatalf("query %s found %v, want [%s]", query, found, c.Ref)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, c.Ref, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields() {
		if v := string(p.GetData()); strings.Contains(v, "Zebediah") || strings.Contains(v, "@") || strings.Contains(v, "Hana") {
			t.Errorf("search attribute %s holds personal data: %s", name, v)
		}
	}
	v, err := s.temporal.QueryWorkflow(ctx, c.Ref, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Stage 5 of 5, %s, OVERDUE since", c.Stage.Name)
	if d := meta.GetCurrentDetails(); !strings.HasPrefix(d, want) || !strings.Contains(d, "waiting for") {
		t.Errorf("current details %q, want %q...", d, want)
	}

	// /metrics (prometheus/client_golang): requests by route and status
	// with their latency, open cases by stage and overdue, and the SDK's
	// worker metrics (task slots, schedule-to-start latency).
	m := s.metrics()
	for _, want := range []string{
		`escalate_http_requests_total{method="POST",route="/v1/cases",status="201"} 1`,
		`escalate_http_request_duration_seconds_bucket{method="GET",route="/v1/cases/:ref",le="+Inf"}`,
		`escalate_cases_open{overdue="true",policy="northamptonshire-fastdrill",stage="5"} 1`,
		`escalate_store_up 1`,
		`temporal_worker_task_slots_available{`,
		`temporal_activity_schedule_to_start_latency_seconds_bucket{`,
		`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", m)
	}

	// Cleared when the case moves on: withdrawn, it is no longer overdue.
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/withdrawal", raiser, map[string]string{"reason": "Resolved by phone"}, nil); code != 200 {
		t.Fatalf("withdraw: %d", code)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
			Query: `EscalateOverdue = false AND EscalateStatus = "withdrawn"`})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetExecutions()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("withdrawn case still listed as overdue")
		}
	}
}
