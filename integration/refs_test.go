package integration

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"escalate/workflows"
)

// nextRef is the reference after ref: NSCP-2026-00041 → NSCP-2026-00042.
func nextRef(t *testing.T, ref string, by int) string {
	t.Helper()
	i := strings.LastIndex(ref, "-")
	n, err := strconv.Atoi(ref[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s-%05d", ref[:i], n+by)
}

// A reference is never given to two cases, and a start never joins a
// workflow that is not its own (issue 13: against a fresh database while
// Temporal kept its earlier cases, POST /v1/cases answered 404 and 500, and
// could attach to another case's workflow). A taken reference, in Temporal
// or in the database, makes the start take the next number.
func TestTakenReferencesAreSkipped(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := func(child string) map[string]any {
		return map[string]any{"policy": "northamptonshire", "child_ref": child, "category": "communication", "summary": "s",
			"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}
	}
	var first workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body("REF/1"), &first); code != 201 {
		t.Fatalf("create: %d", code)
	}

	// Temporal already runs a workflow with the next reference: an earlier
	// database's case (here one that no worker serves).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ghost := nextRef(t, first.Ref, 1)
	if _, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ghost, TaskQueue: "nobody-polls"}, "Ghost"); err != nil {
		t.Fatal(err)
	}
	var second workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body("REF/2"), &second); code != 201 || second.Ref != nextRef(t, first.Ref, 2) {
		t.Fatalf("create past a running workflow of another case: %d %s, want %s", code, second.Ref, nextRef(t, first.Ref, 2))
	}
	if second.ChildRef != "REF/2" {
		t.Errorf("joined another case: child_ref %s", second.ChildRef)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, ghost, "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetType().GetName() != "Ghost" {
		t.Fatalf("the other workflow was touched: %v", err)
	}

	// The database was restored from a backup: its counter is behind its
	// cases. The next number is taken by a recorded case, then skipped.
	db, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `UPDATE case_numbers SET last_number = 0`); err != nil {
		t.Fatal(err)
	}
	var third workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body("REF/3"), &third); code != 201 || third.Ref != nextRef(t, first.Ref, 3) {
		t.Fatalf("create with the counter behind: %d %s, want %s", code, third.Ref, nextRef(t, first.Ref, 3))
	}
	var again workflows.Case
	if code := s.call("GET", "/v1/cases/"+first.Ref, raiser, nil, &again); code != 200 || again.ChildRef != "REF/1" || s.eventCount(t, first.Ref) != len(first.History) {
		t.Errorf("the first case changed: %d %s", code, again.ChildRef)
	}

	// With an Idempotency-Key, the retry of a start whose reference was
	// taken finds the case it did start, under its new reference.
	if _, err := db.Exec(ctx, `UPDATE case_numbers SET last_number = 0`); err != nil {
		t.Fatal(err)
	}
	var keyed, retried workflows.Case
	if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "start-1", body("REF/4"), &keyed); code != 201 || keyed.ChildRef != "REF/4" {
		t.Fatalf("keyed create: %d %+v", code, keyed.ChildRef)
	}
	if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "start-1", body("REF/4"), &retried); code != 201 || retried.Ref != keyed.Ref {
		t.Fatalf("keyed retry: %d %s, want %s", code, retried.Ref, keyed.Ref)
	}
	seen := map[string]bool{}
	for _, ref := range []string{first.Ref, ghost, second.Ref, third.Ref, keyed.Ref} {
		if seen[ref] {
			t.Errorf("reference %s given twice", ref)
		}
		seen[ref] = true
	}
}
