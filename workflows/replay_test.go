package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"escalate/workflows"
)

// Histories recorded from real runs (make record-histories) must replay
// against today's workflow code: a change that would break running cases
// fails here and needs workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want at least 2 recorded histories in testdata/, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			file, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			hist, err := client.HistoryFromJSON(file, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
			opts := worker.ReplayWorkflowHistoryOptions{}
			// A run made by a reset knows it is one by its own run ID, which
			// the replayer would otherwise take from the original run.
			opts.OriginalExecution.RunID = resetRunID(hist)
			if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, opts); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// resetRunID is the run ID of a history made by a reset, "" otherwise.
func resetRunID(h *historypb.History) string {
	for _, ev := range h.GetEvents() {
		a := ev.GetWorkflowTaskFailedEventAttributes()
		if a != nil && a.GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
			return a.GetNewRunId()
		}
	}
	return ""
}
