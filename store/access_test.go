package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/cases"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// accessCases records a set of cases that differ in every way the read
// rule looks at, and returns them as recorded.
func accessCases(t *testing.T, st *store.Store) []workflows.Case {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(n int, policy, raiserAgency, respondentAgency string, contacts []workflows.Contact, advisers []workflows.Adviser,
		status string, due time.Time) workflows.Case {
		c := workflows.Case{
			Ref: workflows.CaseRef("ACC", 2026, int64(n)), Policy: policy, Status: status, ChildRef: "A1", Category: "communication",
			CreatedAt: now.Add(time.Duration(n) * time.Second), Stage: workflows.StageState{Number: 1, Name: "One", StartedAt: now, DueAt: due},
			Raiser:     workflows.Party{Name: "R", Email: fmt.Sprintf("Raiser%d@%s.example", n, raiserAgency), Agency: raiserAgency},
			Respondent: workflows.Party{Name: "S", Email: fmt.Sprintf("resp%d@%s.example", n, respondentAgency), Agency: respondentAgency},
			Contacts:   contacts, Advisers: advisers, Version: 1,
		}
		if c.Closed() {
			closed := now
			c.ClosedAt = &closed
		}
		in := workflows.RecordEventsInput{Ref: c.Ref, RunID: "run-1", Case: c, Timezone: "UTC",
			Events: []workflows.Event{{Seq: 1, At: now, Type: workflows.EventOpened, Stage: 1, By: "R", Text: "opened"}}}
		if _, err := st.RecordEvents(ctx, in, render); err != nil {
			t.Fatal(err)
		}
		return c
	}
	contact := []workflows.Contact{{Party: workflows.Party{Name: "Mo", Email: "MO@nct.example", Agency: "nct"}, Side: "respondent", Stage: 2}}
	adviser := []workflows.Adviser{{Party: workflows.Party{Name: "Cat", Email: "cat@caf.example"}, Stage: 2, Why: "CAF/TAC"}}
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	return []workflows.Case{
		mk(1, "northamptonshire", "nhft", "nct", nil, nil, workflows.StatusOpen, past),
		mk(2, "northamptonshire", "police", "nct", contact, nil, workflows.StatusAgreementProposed, future),
		mk(3, "devon", "devon-health", "devon-csc", nil, adviser, workflows.StatusResolved, past),
		mk(4, "devon", "nhft", "police", contact, nil, workflows.StatusOpen, future),
		mk(5, "four-stage", "school", "school", nil, nil, workflows.StatusCancelled, past),
	}
}

// The list query's read rule (SQL, written per role) lets a viewer see
// exactly the cases cases.CanRead lets them read: one rule, mirrored, and
// proven the same over every kind of viewer.
func TestReadRuleAgrees(t *testing.T) {
	st := testStore(t)
	all := accessCases(t, st)
	viewers := []cases.Principal{
		{Role: cases.RoleAdmin, Email: "admin@escalate.invalid", Agency: "escalate"},
		{Role: cases.RolePartnership, Email: "pat@nscp.example", Agency: "northamptonshire"},
		{Role: cases.RolePartnership, Email: "dee@dscp.example", Agency: "devon"},
		{Role: cases.RolePartnership, Email: "nobody@x.example", Agency: ""},
		{Role: cases.RoleManager, Email: "boss@nct.example", Agency: "nct"},
		{Role: cases.RoleManager, Email: "boss@police.example", Agency: "police"},
		{Role: cases.RoleManager, Email: "boss@x.example", Agency: ""},
		{Role: cases.RolePractitioner, Email: "raiser1@NHFT.example", Agency: "nhft"},
		{Role: cases.RolePractitioner, Email: "mo@nct.example", Agency: "nct"},
		{Role: cases.RolePractitioner, Email: "cat@caf.example", Agency: "caf"},
		{Role: cases.RolePractitioner, Email: "stranger@nct.example", Agency: "nct"},
		{Role: cases.RolePractitioner, Email: "", Agency: "nct"},
		{Role: cases.RoleManager, Email: "resp4@police.example", Agency: "school"},
		{Role: cases.RolePartnership, Email: "raiser3@devon-health.example", Agency: "four-stage"},
	}
	for _, p := range viewers {
		var want []string
		for _, c := range all {
			if cases.CanRead(p, c) {
				want = append(want, c.Ref)
			}
		}
		listed, _, err := st.ListCases(context.Background(), store.Viewer{Email: p.Email, Agency: p.Agency, Role: p.Role},
			store.ListFilter{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range listed {
			got = append(got, c.Ref)
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s %q of %q: listed %v, CanRead allows %v", p.Role, p.Email, p.Agency, got, want)
		}
	}
}

// The overdue filter (SQL) and the overdue flag on a listed case agree with
// policies.Overdue for open and closed cases either side of the deadline.
func TestOverdueSQLAgrees(t *testing.T) {
	st := testStore(t)
	all := accessCases(t, st)
	admin := store.Viewer{Role: cases.RoleAdmin}
	for _, want := range []bool{true, false} {
		w := want
		listed, _, err := st.ListCases(context.Background(), admin, store.ListFilter{Limit: 200, Overdue: &w})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, c := range listed {
			got[c.Ref] = true
			if c.Stage.Overdue != want {
				t.Errorf("%s listed with overdue=%v shows overdue %v", c.Ref, want, c.Stage.Overdue)
			}
		}
		for _, c := range all {
			if policies.Overdue(c.Closed(), c.Stage.DueAt, time.Now()) == want && !got[c.Ref] {
				t.Errorf("overdue=%v: %s missing", want, c.Ref)
			}
			if policies.Overdue(c.Closed(), c.Stage.DueAt, time.Now()) != want && got[c.Ref] {
				t.Errorf("overdue=%v: %s listed", want, c.Ref)
			}
		}
	}
}

// The plans the list and the report use: with sequential scans priced out
// (the tables here are tiny), each query can use its index (issue 13:
// ListCases could not use the parties index; the deadlines-missed report
// scanned every event).
func TestQueriesCanUseTheirIndexes(t *testing.T) {
	_, dsn := testStoreDSN(t)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	plan := func(q string, args ...any) string {
		t.Helper()
		rows, err := db.Query(ctx, "EXPLAIN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	now := time.Now()
	q, args := store.ListCasesQuery(store.Viewer{Role: cases.RolePractitioner, Email: "hana@nhft.example"}, store.ListFilter{}, now, 50)
	if p := plan(q, args...); !strings.Contains(p, "cases_parties") {
		t.Errorf("a practitioner's list does not use cases_parties:\n%s", p)
	}
	q, args = store.ListCasesQuery(store.Viewer{Role: cases.RoleManager, Email: "mo@nct.example", Agency: "nct"}, store.ListFilter{}, now, 50)
	if p := plan(q, args...); !strings.Contains(p, "cases_parties") || !strings.Contains(p, "cases_raiser_agency") ||
		!strings.Contains(p, "cases_respondent_agency") {
		t.Errorf("a manager's list does not use the parties and agency indexes:\n%s", p)
	}
	p := plan(`SELECT e.stage, count(*) FROM events e JOIN cases c ON c.ref = e.ref
		WHERE ($1 = '' OR c.policy = $1) AND e.type = $4 AND e.at >= $2 AND e.at < $3 GROUP BY e.stage`,
		"", now.AddDate(-1, 0, 0), now, workflows.EventDeadlinePassed)
	if !strings.Contains(p, "events_type_at") {
		t.Errorf("deadlines missed do not use events_type_at:\n%s", p)
	}
	p = plan(`SELECT max(e.to_stage) FROM events e WHERE e.ref = $1 AND e.to_stage IS NOT NULL`, "NSCP-2026-00001")
	if !strings.Contains(p, "events_ref_to_stage") {
		t.Errorf("the highest stage reached does not use events_ref_to_stage:\n%s", p)
	}
}
