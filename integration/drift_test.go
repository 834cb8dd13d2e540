package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"escalate/ops"
	"escalate/workflows"
)

// escalate drift (issue 14): a case terminated in Temporal stays open in
// PostgreSQL, where nobody can act on it; drift finds it, and repair
// closes its record with who ended it and why, chained like any event. A
// case workflow running in Temporal with no record is reported, not
// touched; a healthy case is not reported at all.
func TestDriftFoundAndRepaired(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	open := func(child string) workflows.Case {
		var c workflows.Case
		if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": child,
			"category": "communication", "summary": "s",
			"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
			t.Fatalf("create: %d", code)
		}
		return c
	}
	healthy, ended := open("DRIFT/1"), open("DRIFT/2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.temporal.TerminateWorkflow(ctx, ended.Ref, "", "Opened against the wrong child\x00 record"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "GHOST-2026-00001", TaskQueue: "nobody-polls"},
		workflows.CaseWorkflowName, workflows.CaseInput{}); err != nil {
		t.Fatal(err)
	}

	drifts, err := ops.Find(ctx, s.store, s.temporal, "default")
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]ops.Drift{}
	for _, d := range drifts {
		byRef[d.Ref] = d
	}
	if _, ok := byRef[healthy.Ref]; ok || len(drifts) != 2 {
		t.Fatalf("drifts %+v, want the terminated case and the ghost only", drifts)
	}
	if d := byRef[ended.Ref]; d.Temporal != "terminated" || d.Record != "open" || !d.Repairable {
		t.Errorf("terminated case: %+v", d)
	}
	if d := byRef["GHOST-2026-00001"]; d.Temporal != "running" || d.Record != "" || d.Repairable {
		t.Errorf("ghost: %+v", d)
	}

	if err := ops.Repair(ctx, s.store, drifts, time.Now()); err != nil {
		t.Fatal(err)
	}
	var got workflows.Case
	if code := s.call("GET", "/v1/cases/"+ended.Ref, raiser, nil, &got); code != 200 || got.Status != workflows.StatusCancelled || got.ClosedAt == nil {
		t.Fatalf("repaired case: %d %s", code, got.Status)
	}
	last := got.History[len(got.History)-1]
	if last.Type != workflows.EventCancelled || last.Seq != len(got.History) ||
		!strings.Contains(last.Text, "terminated in Temporal") || !strings.Contains(last.Text, "Reason: Opened against the wrong child record") {
		t.Errorf("closing event %+v", last)
	}
	var rec struct {
		Verification struct {
			Intact bool `json:"intact"`
		} `json:"verification"`
	}
	if code := s.call("GET", "/v1/cases/"+ended.Ref+"/record", raiser, nil, &rec); code != 200 || !rec.Verification.Intact {
		t.Errorf("record after repair: %d %+v", code, rec)
	}
	again, err := ops.Find(ctx, s.store, s.temporal, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Ref != "GHOST-2026-00001" {
		t.Errorf("after repair: %+v", again)
	}
	// Repairing twice changes nothing.
	n := s.eventCount(t, ended.Ref)
	if err := ops.Repair(ctx, s.store, drifts, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s.eventCount(t, ended.Ref) != n {
		t.Error("a second repair wrote again")
	}
}
