package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"escalate/internal/testdb"
	"escalate/store"
	"escalate/workflows"
)

// oldRecord is a case's record as the store held it before events carried
// structured fields: every kind of move, told only by types and texts.
func oldRecord(ref string) (workflows.Case, []workflows.Event) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	sys := func(seq, h int, typ string, stage int, text string) workflows.Event {
		return workflows.Event{Seq: seq, At: at(h), Type: typ, Stage: stage, By: "escalate", Text: text}
	}
	person := func(seq, h int, typ string, stage int, text string) workflows.Event {
		return workflows.Event{Seq: seq, At: at(h), Type: typ, Stage: stage, By: "Sam", ByEmail: "sam@nct.example", Text: text}
	}
	events := []workflows.Event{
		person(1, 0, workflows.EventOpened, 1, "Disagreement raised."),
		sys(2, 0, workflows.EventStageEntered, 1, "Stage 1: One. Who: practitioners. Due by 17:00 Fri 6 Mar 2026 GMT (agreed; the policy allows 5 working days)."),
		person(3, 1, workflows.EventNote, 1, "Called Hana."),
		sys(4, 100, workflows.EventDeadlinePassed, 1, "Stage 1 (One) passed its deadline of 17:00 Fri 6 Mar 2026 GMT without a written outcome; the case is escalated automatically."),
		sys(5, 100, workflows.EventEscalated, 1, "Stage 1 deadline passed: escalated automatically to stage 2 (Two)."),
		sys(6, 100, workflows.EventStageEntered, 2, "Stage 2: Two. Who: managers. Due by 17:00 Fri 13 Mar 2026 GMT (5 working days)."),
		person(7, 110, workflows.EventEscalated, 2, "Escalated to the next management level: stage 2, level 2. Reason: no answer"),
		sys(8, 110, workflows.EventStageEntered, 2, "Stage 2: Two, level 2. Who: the next managers up. Due by 17:00 Fri 20 Mar 2026 GMT (5 working days)."),
		sys(9, 300, workflows.EventDeadlinePassed, 2, "Stage 2 (Two) passed its deadline of 17:00 Fri 20 Mar 2026 GMT without a written outcome; the case is referred to the partnership for mediation."),
		sys(10, 300, workflows.EventEscalated, 2, "Stage 2 deadline passed: referred to the partnership for mediation to stage 4 (Four)."),
		sys(11, 300, workflows.EventStageEntered, 4, "Stage 4: Four. Who: the partnership. Due by 17:00 Fri 3 Apr 2026 BST (10 working days)."),
		person(12, 310, workflows.EventSentBack, 4, "Sent back to stage 3 (Three): the earlier stages were not all followed. Next steps: meet"),
		sys(13, 310, workflows.EventStageEntered, 3, "Stage 3: Three, First step. Who: heads. Due by 17:00 Fri 10 Apr 2026 BST (5 working days)."),
		person(14, 320, workflows.EventEscalated, 3, "Escalated to the next step of stage 3. Reason: stuck"),
		sys(15, 320, workflows.EventStepEntered, 3, "Stage 3, step 2: Second step. Who: directors. Due by 17:00 Fri 17 Apr 2026 BST (5 working days)."),
		sys(16, 500, workflows.EventDeadlinePassed, 3, "Stage 3 (Three) passed its deadline of 17:00 Fri 17 Apr 2026 BST without a written outcome. The stage stays open; the parties and the partnership are told it is overdue."),
		person(17, 510, workflows.EventOutcome, 3, "Partnership outcome recorded by Sam; the case is closed unresolved. Outcome: none"),
	}
	closed := at(510)
	c := workflows.Case{
		Ref: ref, Policy: "northamptonshire", Status: workflows.StatusUnresolved, ChildRef: "A1", Category: "communication",
		Summary: "Referral judged below threshold.", CreatedAt: t0, ClosedAt: &closed,
		Stage:  workflows.StageState{Number: 3, Name: "Three", StartedAt: at(320), DueAt: at(400), Step: 2},
		Raiser: workflows.Party{Name: "Hana", Email: "hana@nhft.example", Agency: "nhft"}, Respondent: workflows.Party{Name: "Sam", Email: "sam@nct.example", Agency: "nct"},
		Contacts: []workflows.Contact{}, Version: len(events),
	}
	return c, events
}

// fieldsOf writes an event's structured fields for comparison.
func fieldsOf(e workflows.Event) string {
	s := fmt.Sprintf("%d>%d %s step %d level %d agreed %v", e.FromStage, e.ToStage, e.Move, e.Step, e.Level, e.Agreed)
	if e.Resolved != nil {
		s += fmt.Sprintf(" resolved %v %s", *e.Resolved, e.ClosedStatus)
	}
	return s
}

// Records written before events carried structured fields still verify
// after migration 000013, which gives their events the fields once, from
// their types and texts; verification names those events as derived. New
// events are sealed with their fields, so changing a field, or passing an
// old event off as a new one, breaks the record.
func TestEventFieldsMigrationKeepsOldRecordsVerified(t *testing.T) {
	ctx := context.Background()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin := strings.Replace(base, "/postgres?", fmt.Sprintf("/escalate_store_ev_%d_%d?", os.Getpid(), time.Now().UnixNano()%1e9), 1)
	t.Cleanup(func() { _ = testdb.Drop(context.Background(), admin) })
	if err := store.PrepareBefore(ctx, admin, 13); err != nil {
		t.Fatalf("prepare before 000013: %v", err)
	}
	keys := testKeys(t, testKey)
	oldCase, oldEvents := oldRecord("NSCP-2026-00101")
	if err := store.WriteSealV1Record(ctx, admin, keys, oldCase, oldEvents); err != nil {
		t.Fatal(err)
	}
	open := oldCase
	open.Ref, open.Status, open.ClosedAt, open.Version = "NSCP-2026-00102", workflows.StatusOpen, nil, 2
	open.Stage = workflows.StageState{Number: 1, Name: "One", StartedAt: oldEvents[0].At, DueAt: oldEvents[0].At.Add(96 * time.Hour)}
	if err := store.WriteSealV1Record(ctx, admin, keys, open, oldEvents[:2]); err != nil {
		t.Fatal(err)
	}
	// A case whose policy snapshot the record kept: its first stage has
	// steps and its second repeats level by level, which the migration
	// reads from the snapshot where the record shows one step or level.
	kept := open
	kept.Ref = "NSCP-2026-00103"
	kept.Version = 6
	if err := store.WriteSealV1Record(ctx, admin, keys, kept, []workflows.Event{oldEvents[0], oldEvents[1], oldEvents[2],
		{Seq: 4, At: oldEvents[6].At, Type: workflows.EventEscalated, Stage: 1, By: "Sam", ByEmail: "sam@nct.example", Text: "Escalated"},
		{Seq: 5, At: oldEvents[6].At, Type: workflows.EventStageEntered, Stage: 2, By: "escalate", Text: "Stage 2"},
		{Seq: 6, At: oldEvents[6].At.Add(time.Hour), Type: workflows.EventNote, Stage: 2, By: "Sam", ByEmail: "sam@nct.example", Text: "Met"},
	}); err != nil {
		t.Fatal(err)
	}
	tamper(t, admin, `INSERT INTO case_policies (ref, policy_id, hash, content) VALUES ($1, 'northamptonshire', '\x00',
		'{"id": "northamptonshire", "stages": [{"number": 1, "steps": [{"name": "a"}, {"name": "b"}]}, {"number": 2, "repeat": true}]}')`, kept.Ref)
	if err := store.Prepare(ctx, admin); err != nil {
		t.Fatalf("migrate to 000013: %v", err)
	}

	st, err := store.Open(ctx, appURL(t, admin), store.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	entries, v, err := st.Record(ctx, kept.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || fieldsOf(entries[1].Event) != "0>1 opened step 1 level 0 agreed true" || fieldsOf(entries[4].Event) != "1>2 escalated step 0 level 1 agreed false" {
		t.Errorf("from the kept policy: %+v; %q, %q", v, fieldsOf(entries[1].Event), fieldsOf(entries[4].Event))
	}

	entries, v, err = st.Record(ctx, oldCase.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || !v.Keyed || fmt.Sprint(v.Derived) != "[2 4 5 6 7 8 9 10 11 12 13 14 15 17]" {
		t.Fatalf("old record after the migration: %+v", v)
	}
	want := map[int]string{
		1:  "0>0  step 0 level 0 agreed false",
		2:  "0>1 opened step 0 level 0 agreed true",
		3:  "0>0  step 0 level 0 agreed false",
		4:  "1>2 deadline_passed step 0 level 0 agreed false",
		5:  "1>2 deadline_passed step 0 level 0 agreed false",
		6:  "1>2 deadline_passed step 0 level 1 agreed false",
		7:  "2>2 next_level step 0 level 0 agreed false",
		8:  "2>2 next_level step 0 level 2 agreed false",
		9:  "2>4 deadline_mediation step 0 level 0 agreed false",
		10: "2>4 deadline_mediation step 0 level 0 agreed false",
		11: "2>4 deadline_mediation step 0 level 0 agreed false",
		12: "4>3 sent_back step 0 level 0 agreed false",
		13: "4>3 sent_back step 1 level 0 agreed false",
		14: "3>3 next_step step 0 level 0 agreed false",
		15: "3>3 next_step step 2 level 0 agreed false",
		16: "0>0  step 0 level 0 agreed false",
		17: "0>0  step 0 level 0 agreed false resolved false unresolved",
	}
	for _, e := range entries {
		if got := fieldsOf(e.Event); got != want[e.Seq] {
			t.Errorf("event %d (%s): derived %q, want %q", e.Seq, e.Type, got, want[e.Seq])
		}
	}
	// The case's own read gives the same fields.
	cs, err := st.GetCase(ctx, oldCase.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := fieldsOf(cs.History[12]); got != want[13] {
		t.Errorf("GetCase event 13: %q", got)
	}

	// The open case goes on: its new events are sealed with their fields.
	at := oldEvents[1].At.Add(time.Hour)
	next := sampleInput(4, workflows.StatusOpen,
		workflows.Event{Seq: 3, At: at, Type: workflows.EventEscalated, Stage: 1, By: "Sam", ByEmail: "sam@nct.example", Text: "Escalated",
			FromStage: 1, ToStage: 2, Move: workflows.MoveEscalated},
		workflows.Event{Seq: 4, At: at, Type: workflows.EventStageEntered, Stage: 2, By: "escalate", Text: "Stage 2",
			FromStage: 1, ToStage: 2, Move: workflows.MoveEscalated, Level: 1, DueAt: &at})
	next.Ref, next.Case.Ref, next.Case.Summary, next.Case.Policy = open.Ref, open.Ref, open.Summary, open.Policy
	if n, err := st.RecordEvents(ctx, next, render); err != nil || n != 2 {
		t.Fatalf("new events: %d %v", n, err)
	}
	// Retrying the same step writes nothing and is no conflict.
	if n, err := st.RecordEvents(ctx, next, render); err != nil || n != 0 {
		t.Fatalf("retry: %d %v", n, err)
	}
	// The same event with other fields is a conflict.
	other := next
	other.Events = []workflows.Event{next.Events[1]}
	other.Events[0].ToStage = 3
	if _, err := st.RecordEvents(ctx, other, render); err == nil {
		t.Fatal("an event with other fields at a recorded place was accepted")
	}
	entries, v, err = st.Record(ctx, open.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || !v.Keyed || fmt.Sprint(v.Derived) != "[2]" || fieldsOf(entries[3].Event) != "1>2 escalated step 0 level 1 agreed false" {
		t.Fatalf("after new events: %+v %q", v, fieldsOf(entries[3].Event))
	}

	for _, tc := range []struct {
		name, ref, sql string
		first          int
	}{
		{"a new event's move changed", open.Ref, `UPDATE events SET move = 'sent_back' WHERE ref = $1 AND seq = 4`, 4},
		{"a new event passed off as an old one", open.Ref, `UPDATE events SET seal_version = 1 WHERE ref = $1 AND seq = 3`, 3},
		{"an old event passed off as a new one", oldCase.Ref, `UPDATE events SET seal_version = 2 WHERE ref = $1 AND seq = 6`, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tamper(t, admin, tc.sql, tc.ref)
			_, v, err := st.Record(ctx, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if v.Intact || v.FirstBroken != tc.first {
				t.Fatalf("after %s: %+v", tc.name, v)
			}
		})
	}
}
