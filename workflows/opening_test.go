package workflows_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"escalate/workflows"
)

// A new case whose API kept its policy snapshot names it by hash in its
// opening record (RecordOpening, no snapshot in the activity's input); a
// case the API kept no snapshot for, or that started before the change
// (current-case version 1), carries the whole snapshot in its opening
// record, as before.
func TestOpeningNamesTheKeptPolicySnapshotByHash(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name    string
		hash    string
		version workflow.Version // current-case; 0: the workflow's own
		byHash  bool
	}{
		{name: "kept", hash: hash, byHash: true},
		{name: "not kept", hash: ""},
		{name: "started before the change", hash: hash, version: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, start, func(in *workflows.CaseInput) { in.PolicyHash = tc.hash })
			if tc.version != 0 {
				h.env.OnGetVersion("current-case", workflow.DefaultVersion, 3).Return(tc.version)
			}
			opened := h.at(time.Minute, workflows.UpdateOpened, workflows.OpenedInput{})
			withdrawn := h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Resolved by phone"})
			h.run()
			wantDone(t, "opening", opened)
			wantDone(t, "withdrawal", withdrawn)
			h.finished()
			got := h.acts.opening
			if tc.byHash {
				if got.activity != workflows.ActivityRecordOpening || got.in.PolicyHash != hash || got.in.Policy != nil {
					t.Fatalf("opening recorded by %s with hash %q and snapshot %v, want %s by hash only",
						got.activity, got.in.PolicyHash, got.in.Policy != nil, workflows.ActivityRecordOpening)
				}
				return
			}
			if got.activity != workflows.ActivityRecordEvents || got.in.PolicyHash != "" || got.in.Policy == nil || got.in.Policy.ID != "northamptonshire" {
				t.Fatalf("opening recorded by %s with hash %q and snapshot %v, want %s with the snapshot",
					got.activity, got.in.PolicyHash, got.in.Policy != nil, workflows.ActivityRecordEvents)
			}
		})
	}
}
