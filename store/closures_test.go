package store_test

import (
	"context"
	"slices"
	"testing"

	"escalate/store"
	"escalate/workflows"
)

// A closure is recorded once per policy and date: the second time changes
// nothing and answers with the first; lists are per policy, by date, from
// a date.
func TestClosures(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	add := func(policy, date, reason string) (store.Closure, bool) {
		t.Helper()
		c, created, err := st.AddClosure(ctx, store.Closure{Policy: policy, Date: date, Reason: reason, RecordedBy: "Pat Lead", RecordedByEmail: "pat@nscp.example"})
		if err != nil {
			t.Fatal(err)
		}
		return c, created
	}
	first, created := add("northamptonshire", "2027-05-10", "State occasion")
	if !created || first.Date != "2027-05-10" || first.Reason != "State occasion" || first.RecordedBy != "Pat Lead" || first.RecordedAt.IsZero() {
		t.Fatalf("first: %+v created %v", first, created)
	}
	again, created := add("northamptonshire", "2027-05-10", "Another reason")
	if created || again.Reason != "State occasion" || !again.RecordedAt.Equal(first.RecordedAt) {
		t.Errorf("again: %+v created %v, want the first unchanged", again, created)
	}
	add("northamptonshire", "2026-12-24", "Christmas Eve closure")
	add("devon", "2027-05-10", "Devon's own")

	dates := func(policy, from string) []string {
		t.Helper()
		cs, err := st.Closures(ctx, policy, from)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			if c.Policy != policy {
				t.Errorf("closure of %s listed for %s", c.Policy, policy)
			}
			out = append(out, c.Date)
		}
		return out
	}
	if got := dates("northamptonshire", ""); !slices.Equal(got, []string{"2026-12-24", "2027-05-10"}) {
		t.Errorf("northamptonshire: %v", got)
	}
	if got := dates("northamptonshire", "2027-01-01"); !slices.Equal(got, []string{"2027-05-10"}) {
		t.Errorf("from 2027: %v", got)
	}
	if got := dates("devon", ""); !slices.Equal(got, []string{"2027-05-10"}) {
		t.Errorf("devon: %v", got)
	}
	if got := dates("four-stage", ""); len(got) != 0 {
		t.Errorf("four-stage: %v", got)
	}
	if _, _, err := st.AddClosure(ctx, store.Closure{Policy: "devon", Date: "2027-02-30", Reason: "r", RecordedBy: "x", RecordedByEmail: "x@y"}); err == nil {
		t.Error("not a date: recorded")
	}
}

// The open cases of a policy are the ones a closure is sent to.
func TestOpenCaseRefsOf(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	at := sampleInput(1, workflows.StatusOpen).Case.CreatedAt
	for _, c := range []struct {
		ref, policy, status string
	}{
		{"NSCP-2026-00001", "northamptonshire", workflows.StatusOpen},
		{"NSCP-2026-00002", "northamptonshire", workflows.StatusWithdrawn},
		{"DSCP-2026-00001", "devon", workflows.StatusOpen},
		{"NSCP-2026-00003", "northamptonshire", workflows.StatusAgreementProposed},
	} {
		in := sampleInput(1, c.status, workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "raised"})
		in.Ref, in.Case.Ref, in.Case.Policy = c.ref, c.ref, c.policy
		if in.Case.Closed() {
			closed := at
			in.Case.ClosedAt = &closed
		}
		if _, err := st.RecordEvents(ctx, in, render); err != nil {
			t.Fatal(err)
		}
	}
	refs, err := st.OpenCaseRefsOf(ctx, "northamptonshire")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(refs, []string{"NSCP-2026-00001", "NSCP-2026-00003"}) {
		t.Errorf("open northamptonshire cases: %v", refs)
	}
}
