package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"escalate/api"
	"escalate/ops"
	"escalate/policies"
	"escalate/workflows"
)

// continueLimit is the history length at which the dev server of the
// continue-as-new test suggests continuing as new: a handful of notes.
const continueLimit = 60

// A case whose history Temporal finds long continues as new in the middle
// of a stage, several times, on the real server: nothing is lost (every
// note is on the record, in order, with no gap or repeat), the stage's
// reminder goes once and its deadline fires once, in the last run, with
// the evidence of every run's notes; the workflow ID, its memo and search
// attributes carry over, so the API, the record and the drift check still
// find the case, and it closes as usual.
func TestContinueAsNewMidStageLosesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "halfminute.yaml"), []byte(
		"id: northamptonshire-halfminute\nref_prefix: HALF\ndrill_of: northamptonshire\ndrill_within: 30 seconds\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pols, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := startSystemWith(t, systemOptions{
		devServerArgs: []string{"--dynamic-config-value", fmt.Sprintf("limit.historyCount.suggestContinueAsNew=%d", continueLimit)},
	}, func(c *api.Config) { c.Policies = pols })
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")

	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire-halfminute", "child_ref": "CAN/1",
		"category": "communication", "summary": "Minutes not shared",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	opened := time.Now()
	due := c.Stage.DueAt
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, c.Ref, "")
	if err != nil {
		t.Fatal(err)
	}
	firstRun := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	memo := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()["escalate_request"]
	if memo == nil {
		t.Fatal("the case's workflow has no escalate_request memo")
	}

	// 20 notes in stage 1, from both sides, well before its deadline.
	const notes = 20
	for i := 1; i <= notes; i++ {
		who := raiser
		if i%2 == 0 {
			who = respondent
		}
		var after workflows.Case
		if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", who, map[string]string{"text": fmt.Sprintf("Note %d", i)}, &after); code != 200 {
			t.Fatalf("note %d: %d", i, code)
		}
		if after.Stage.Number != 1 {
			t.Fatalf("note %d answered at stage %d: the test ran past stage 1's deadline (%v after opening)", i, after.Stage.Number, time.Since(opened))
		}
		if last := after.History[len(after.History)-1]; last.Type != workflows.EventNote || last.Text != fmt.Sprintf("Note %d", i) || last.Seq != after.Version {
			t.Fatalf("note %d: the case shows %+v last, version %d", i, last, after.Version)
		}
	}
	runs := s.runs(t, ctx, c.Ref)
	if len(runs) < 3 {
		t.Fatalf("after %d notes the case ran in %d runs, want it to have continued as new at least twice (limit %d events)", notes, len(runs), continueLimit)
	}
	for _, r := range runs[1:] {
		if r.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			t.Fatalf("an earlier run ended %s, want continued as new", r.GetStatus())
		}
	}
	t.Logf("%d notes: %d runs before stage 1's deadline", notes, len(runs))

	// Stage 1's deadline fires once, in the current run, and the case
	// climbs to stage 2 on its own.
	var got workflows.Case
	for deadline := due.Add(45 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if code := s.call("GET", "/v1/cases/"+c.Ref, raiser, nil, &got); code == 200 && got.Stage.Number == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stage 1 was due at %v; at %v the case is at stage %d", due, time.Now(), got.Stage.Number)
		}
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/withdrawal", raiser, map[string]string{"reason": "Resolved"}, &got); code != 200 || got.Status != workflows.StatusWithdrawn {
		t.Fatalf("withdraw: %d %s", code, got.Status)
	}

	// The workflow ends once the withdrawal's notifications are out
	// (followed from the first run through every run it continued in).
	if err := s.temporal.GetWorkflow(ctx, c.Ref, firstRun).Get(ctx, nil); err != nil {
		t.Fatalf("the case's workflow: %v", err)
	}

	var seen []string
	reminders, passed := 0, 0
	var climb workflows.Event
	for i, ev := range got.History {
		if ev.Seq != i+1 {
			t.Fatalf("the record has a gap or a repeat at %d: seq %d", i+1, ev.Seq)
		}
		switch {
		case ev.Type == workflows.EventNote:
			seen = append(seen, ev.Text)
		case ev.Type == workflows.EventReminder && ev.Stage == 1:
			reminders++
		case ev.Type == workflows.EventDeadlinePassed && ev.Stage == 1:
			passed++
		case ev.Type == workflows.EventEscalated && ev.Stage == 1:
			climb = ev
		}
	}
	if len(seen) != notes || seen[0] != "Note 1" || seen[notes-1] != fmt.Sprintf("Note %d", notes) {
		t.Fatalf("the record holds notes %v", seen)
	}
	if reminders != 1 || passed != 1 {
		t.Fatalf("stage 1: %d reminders and %d deadlines passed on the record, want one each", reminders, passed)
	}
	if want := fmt.Sprintf("recorded at stage 1: %d notes", notes); !strings.Contains(climb.Text, want) {
		t.Errorf("the climb's evidence %q lacks %q", climb.Text, want)
	}
	// Every notification went out once, those a run put off for the next
	// included.
	sent := s.delivered(t, c.Ref)
	told := map[int]bool{}
	for _, n := range sent {
		told[n.Seq] = true
		if n.Status != "sent" || n.Attempts != 1 {
			t.Errorf("notification of event %d to %s: %s after %d attempts", n.Seq, n.Target, n.Status, n.Attempts)
		}
	}
	for i := 1; i <= notes; i++ {
		if !told[got.History[len(got.History)-1].Seq] || !told[findNote(t, got.History, fmt.Sprintf("Note %d", i))] {
			t.Errorf("note %d told no one", i)
		}
	}
	s.checkRecord(t, c.Ref, raiser, len(got.History))

	// The workflow ID is the reference throughout; the last run has the
	// first run's memo and the case's search attributes, and its own
	// current details.
	desc, err = s.temporal.DescribeWorkflowExecution(ctx, c.Ref, "")
	if err != nil {
		t.Fatal(err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetExecution().GetRunId() == firstRun {
		t.Fatal("the case never left its first run")
	}
	if m := info.GetMemo().GetFields()["escalate_request"]; m == nil || string(m.GetData()) != string(memo.GetData()) {
		t.Errorf("memo escalate_request not carried: %v", m)
	}
	sa := info.GetSearchAttributes().GetIndexedFields()
	for _, k := range []string{"EscalatePolicy", "EscalateRaisingAgency", "EscalateCategory", "EscalateStatus", "EscalateStage"} {
		if sa[k] == nil {
			t.Errorf("search attribute %s not carried", k)
		}
	}
	if v := string(sa["EscalateStatus"].GetData()); !strings.Contains(v, workflows.StatusWithdrawn) {
		t.Errorf("EscalateStatus %s", v)
	}
	// Every run but the last ended continuing as new; the case's runs are
	// found by its reference.
	runs = s.runs(t, ctx, c.Ref)
	if runs[0].GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("last run %s", runs[0].GetStatus())
	}
	drifts, err := ops.Find(ctx, s.store, s.temporal, "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drifts {
		if d.Ref == c.Ref {
			t.Errorf("drift after continuing as new: %+v", d)
		}
	}
	// A run the case continued in is not taken for a reset: no reset
	// event on the record.
	for _, ev := range got.History {
		if ev.Type == workflows.EventReset {
			t.Errorf("a continued run took itself for a reset: %+v", ev)
		}
	}
	if dir := os.Getenv("ESCALATE_RECORD_HISTORY"); dir != "" {
		recordRun(t, s.temporal, c.Ref, runs[len(runs)-1].GetExecution().GetRunId(), filepath.Join(dir, "continue-as-new-first-run.json"))
		recordRun(t, s.temporal, c.Ref, runs[len(runs)/2].GetExecution().GetRunId(), filepath.Join(dir, "continue-as-new-middle-run.json"))
		recordRun(t, s.temporal, c.Ref, runs[0].GetExecution().GetRunId(), filepath.Join(dir, "continue-as-new-last-run.json"))
	}
}

// runs are the workflow runs of a case, newest first, as visibility lists
// them (it may lag a moment behind).
func (s *system) runs(t *testing.T, ctx context.Context, ref string) []*workflowpb.WorkflowExecutionInfo {
	t.Helper()
	var out []*workflowpb.WorkflowExecutionInfo
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
			Query: fmt.Sprintf("WorkflowId = %q", ref)})
		if err != nil {
			t.Fatal(err)
		}
		out = resp.GetExecutions()
		current, err := s.temporal.DescribeWorkflowExecution(ctx, ref, "")
		if err != nil {
			t.Fatal(err)
		}
		// Visibility has caught up when it lists the current run.
		if len(out) > 0 && out[0].GetExecution().GetRunId() == current.GetWorkflowExecutionInfo().GetExecution().GetRunId() &&
			out[0].GetStatus() == current.GetWorkflowExecutionInfo().GetStatus() {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility does not list the current run of %s", ref)
		}
	}
}

// reset resets the case's run runID ("" for the current run) to the
// workflow task that finished at event resetAt, updates and signals not
// reapplied, and waits until the new run is the case's running current run
// (before anyone acts on it). It returns the new run's ID.
func (s *system) reset(t *testing.T, ctx context.Context, ref, runID string, resetAt int64, requestID string) string {
	t.Helper()
	resp, err := s.temporal.WorkflowService().ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: ref, RunId: runID},
		Reason: "restore after a fault", WorkflowTaskFinishEventId: resetAt, RequestId: requestID,
		ResetReapplyExcludeTypes: []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE,
			enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL},
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		d, err := s.temporal.DescribeWorkflowExecution(ctx, ref, "")
		if err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() == resp.GetRunId() &&
			d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return resp.GetRunId()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reset run %s is not the current run: %v", resp.GetRunId(), err)
		}
	}
}

// checkRecord asserts the case's record verifies: its hash chain intact
// and holding exactly events events.
func (s *system) checkRecord(t *testing.T, ref, token string, events int) {
	t.Helper()
	var rec struct {
		Verification struct {
			Intact bool `json:"intact"`
			Events int  `json:"events"`
		} `json:"verification"`
	}
	if code := s.call("GET", "/v1/cases/"+ref+"/record", token, nil, &rec); code != 200 || !rec.Verification.Intact || rec.Verification.Events != events {
		t.Errorf("record: %d %+v", code, rec)
	}
}

// recordRun saves one run's history (runID "" for the current run) for the
// replay tests. Saved decrypted: the replay tests read them with the
// default converter, and testdata holds no real data.
func recordRun(t *testing.T, c client.Client, id, runID, file string) {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historyJSON
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if err := decodePayloads(ev); err != nil {
			t.Fatal(err)
		}
		b, err := protojson.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, b)
	}
	b, err := json.MarshalIndent(hist, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// findNote is the sequence number of the note with text.
func findNote(t *testing.T, history []workflows.Event, text string) int {
	t.Helper()
	for _, ev := range history {
		if ev.Type == workflows.EventNote && ev.Text == text {
			return ev.Seq
		}
	}
	t.Fatalf("no note %q on the record", text)
	return 0
}

// A run the case continued in can be reset and cancelled like its first:
// a reset of the current run to its first step numbers the next change
// after the record (with the reset event first), and a cancel request to
// the case's reference closes it with who and why, the record intact.
func TestResetAndCancelAfterContinueAsNew(t *testing.T) {
	s := startSystemWith(t, systemOptions{
		devServerArgs: []string{"--dynamic-config-value", fmt.Sprintf("limit.historyCount.suggestContinueAsNew=%d", continueLimit)},
	})
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "CAN/2",
		"category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Notes until the case has continued as new once.
	var after workflows.Case
	for i := 1; len(s.runs(t, ctx, c.Ref)) < 2; i++ {
		if i > 30 {
			t.Fatal("30 notes and the case has not continued as new")
		}
		if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": fmt.Sprintf("Note %d", i)}, &after); code != 200 {
			t.Fatalf("note %d: %d", i, code)
		}
	}
	current := s.runs(t, ctx, c.Ref)[0].GetExecution().GetRunId()
	// The reset point: the continued run's first completed workflow task
	// (its first task may wait a moment: Temporal spaces runs that follow
	// one another within a second).
	var resetAt int64
	for deadline := time.Now().Add(10 * time.Second); resetAt == 0; time.Sleep(100 * time.Millisecond) {
		iter := s.temporal.GetWorkflowHistory(ctx, c.Ref, current, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() && resetAt == 0 {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				resetAt = ev.GetEventId()
			}
		}
		if resetAt == 0 && time.Now().After(deadline) {
			t.Fatalf("no completed workflow task in run %s", current)
		}
	}
	for _, text := range []string{"After continuing 1", "After continuing 2"} {
		if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": text}, &after); code != 200 {
			t.Fatalf("note: %d", code)
		}
	}
	if got := s.runs(t, ctx, c.Ref)[0].GetExecution().GetRunId(); got != current {
		t.Fatalf("the case continued again before the reset (limit %d events too low for this test)", continueLimit)
	}
	before := s.eventCount(t, c.Ref)
	resetRun := s.reset(t, ctx, c.Ref, current, resetAt, "reset-continued-1")
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "After the reset"}, &after); code != 200 {
		t.Fatalf("note after the reset: %d", code)
	}
	n := len(after.History)
	if n != before+2 || after.Version != n {
		t.Fatalf("after the reset: %d events, version %d; want %d", n, after.Version, before+2)
	}
	// The reset run goes on from the state of its first step: the two
	// notes since (and whatever that step had not yet recorded) stay on the
	// record before it.
	reset := after.History[n-2]
	var from, to int
	if i := strings.Index(reset.Text, "Events "); i >= 0 {
		_, _ = fmt.Sscanf(reset.Text[i:], "Events %d to %d were recorded before the reset", &from, &to)
	}
	if reset.Type != workflows.EventReset || reset.Seq != before+1 || to != before || from < 1 || from > before-1 {
		t.Errorf("reset event %+v", reset)
	}
	if note := after.History[n-1]; note.Type != workflows.EventNote || note.Seq != before+2 {
		t.Errorf("note after the reset %+v", note)
	}

	_, err := s.temporal.WorkflowService().RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: c.Ref},
		Identity: "ops-oncall@webui", Reason: "Raised in error",
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
	last := got.History[len(got.History)-1]
	if last.Type != workflows.EventCancelled || last.By != "ops-oncall@webui" || last.Seq != before+3 || !strings.Contains(last.Text, "Reason: Raised in error") {
		t.Errorf("last event %+v", last)
	}
	for i, ev := range got.History {
		if ev.Seq != i+1 {
			t.Fatalf("the record has a gap or a repeat at %d: seq %d", i+1, ev.Seq)
		}
	}
	s.checkRecord(t, c.Ref, raiser, len(got.History))
	if dir := os.Getenv("ESCALATE_RECORD_HISTORY"); dir != "" {
		if err := s.temporal.GetWorkflow(ctx, c.Ref, resetRun).Get(ctx, nil); err == nil {
			t.Fatal("the cancelled case's workflow ended without an error")
		}
		recordRun(t, s.temporal, c.Ref, resetRun, filepath.Join(dir, "continue-as-new-then-reset-and-cancelled.json"))
	}
}
