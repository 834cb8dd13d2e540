package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// rollupCase writes one case through RecordEvents step by step, as the
// workflow does: what it is now and the steps recorded so far.
type rollupCase struct {
	c     workflows.Case
	evs   []workflows.Event
	steps []workflows.RecordEventsInput
	at    time.Time
	pol   *policies.Policy
}

var rollupPolicy = policies.Policy{ID: "pa", Agencies: []policies.Agency{
	{ID: "nhft", Name: "Health"}, {ID: "nct", Name: "Children's Trust"}, {ID: "police", Name: "Police"}}}

// step records the events added since the last step with the case as it
// now stands.
func (rc *rollupCase) step(t testing.TB, st *store.Store, events ...workflows.Event) {
	t.Helper()
	for _, e := range events {
		e.Seq = len(rc.evs) + 1
		if e.At.IsZero() {
			e.At = rc.at
		}
		if e.By == "" {
			e.By, e.Text = "escalate", e.Type
		}
		rc.evs = append(rc.evs, e)
	}
	rc.c.Version = len(rc.evs)
	in := workflows.RecordEventsInput{Ref: rc.c.Ref, RunID: "run-1", Case: rc.c, Events: events, Timezone: "Europe/London"}
	for i := range in.Events {
		in.Events[i] = rc.evs[len(rc.evs)-len(events)+i]
	}
	if len(rc.steps) == 0 && rc.pol != nil {
		in.Policy = rc.pol
	}
	if rc.c.ClosedAt != nil {
		closed := *rc.c.ClosedAt
		in.Case.ClosedAt = &closed
	}
	if _, err := st.RecordEvents(context.Background(), in, render); err != nil {
		t.Fatalf("record %s: %v", rc.c.Ref, err)
	}
	rc.steps = append(rc.steps, in)
}

func (rc *rollupCase) move(to int, move, typ string) workflows.Event {
	e := workflows.Event{Type: typ, Stage: rc.c.Stage.Number, FromStage: rc.c.Stage.Number, ToStage: to, Move: move}
	rc.c.Stage.Number = to
	return e
}

// randomCases writes n cases of three policies raised between from and to,
// each moved at random: escalated, deadlines passed (with and without a
// move), sent back to a lower stage, resolved, reopened and resolved again,
// withdrawn, recategorised; steps re-recorded as a retried activity would
// (the same step again, and an older one late). Learning is recorded with
// an agreement proposed (and withdrawn, or reopened with it pending),
// confirmed, or with the partnership's outcome (beside an agreement with
// other learning or none), at instants with nanoseconds and on the
// periods' edges (learningInstant).
func randomCases(t *testing.T, st *store.Store, rng *rand.Rand, n int, from, to time.Time) {
	t.Helper()
	policyIDs := []string{"pa", "pb", "pc"}
	agencies := []string{"nhft", "Health", "nct", "police", "gp-surgery", "schools"}
	categories := []string{"communication", "threshold", "roles"}
	for i := 0; i < n; i++ {
		created := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))).Truncate(time.Second)
		rc := &rollupCase{at: created, c: workflows.Case{
			Ref: fmt.Sprintf("R%04d", i), Policy: policyIDs[rng.IntN(len(policyIDs))], Status: workflows.StatusOpen,
			ChildRef: "C1", Category: categories[rng.IntN(len(categories))], Summary: "s", CreatedAt: created,
			Stage:      workflows.StageState{Number: 1, Name: "Stage", StartedAt: created, DueAt: created.Add(48 * time.Hour)},
			Raiser:     workflows.Party{Name: "R", Email: "r@x.example", Agency: agencies[rng.IntN(len(agencies))]},
			Respondent: workflows.Party{Name: "S", Email: "s@y.example", Agency: agencies[rng.IntN(len(agencies))]},
			Contacts:   []workflows.Contact{},
		}}
		if rc.c.Policy == "pa" && rng.IntN(2) == 0 {
			p := rollupPolicy
			rc.pol = &p
		}
		opened := rc.move(1, workflows.MoveOpened, workflows.EventStageEntered)
		opened.FromStage = 0
		rc.step(t, st, workflows.Event{Type: workflows.EventOpened, Stage: 1}, opened)
		for k := rng.IntN(7); k > 0; k-- {
			rc.at = rc.at.Add(time.Duration(1+rng.IntN(96)) * time.Hour)
			closed := rc.c.ClosedAt != nil
			switch r := rng.IntN(10); {
			case r == 0 && len(rc.steps) > 1: // a retried step, then an older one arriving late
				again := rc.steps[len(rc.steps)-1]
				if _, err := st.RecordEvents(context.Background(), again, render); err != nil {
					t.Fatalf("re-record %s: %v", rc.c.Ref, err)
				}
				if _, err := st.RecordEvents(context.Background(), rc.steps[len(rc.steps)-2], render); err != nil {
					t.Fatalf("late record %s: %v", rc.c.Ref, err)
				}
			case closed && r < 4: // reopened, the agreement still pending or not
				rc.c.Status, rc.c.ClosedAt = workflows.StatusOpen, nil
				if rng.IntN(2) == 0 {
					rc.c.Agreement = nil
				} else if rc.c.Agreement != nil {
					rc.c.Agreement.At = nil
				}
				rc.step(t, st, workflows.Event{Type: workflows.EventReset, Stage: rc.c.Stage.Number})
			case closed:
				rc.step(t, st, workflows.Event{Type: workflows.EventNote, Stage: rc.c.Stage.Number})
			case r < 3 && rc.c.Stage.Number < 5: // escalated
				to := rc.c.Stage.Number + 1
				esc := rc.move(to, workflows.MoveEscalated, workflows.EventEscalated)
				entered := esc
				entered.Type, entered.Stage = workflows.EventStageEntered, to
				rc.step(t, st, esc, entered)
			case r < 5: // a deadline passed, moving the case on or not
				missed := workflows.Event{Type: workflows.EventDeadlinePassed, Stage: rc.c.Stage.Number}
				if rc.c.Stage.Number < 5 && rng.IntN(2) == 0 {
					to := rc.c.Stage.Number + 1
					missed = rc.move(to, workflows.MoveDeadlinePassed, workflows.EventDeadlinePassed)
					entered := missed
					entered.Type, entered.Stage = workflows.EventStageEntered, to
					rc.step(t, st, missed, entered)
				} else {
					rc.step(t, st, missed)
				}
			case r == 5 && rc.c.Stage.Number > 1: // sent back to a lower stage
				to := 1 + rng.IntN(rc.c.Stage.Number-1)
				back := rc.move(to, workflows.MoveSentBack, workflows.EventSentBack)
				entered := back
				entered.Type, entered.Stage = workflows.EventStageEntered, to
				rc.step(t, st, back, entered)
			case r == 6: // recategorised
				rc.c.Category = categories[rng.IntN(len(categories))]
				rc.step(t, st, workflows.Event{Type: workflows.EventNote, Stage: rc.c.Stage.Number})
			case r == 7 && rng.IntN(2) == 0: // an agreement proposed, with learning or not
				rc.c.Status = workflows.StatusAgreementProposed
				rc.c.Agreement = &workflows.Agreement{ProposedBy: "R", ProposedBySide: workflows.SideRaiser, Outcome: "o",
					Actions: []workflows.Action{}, ProposedAt: learningInstant(rng, rc.at)}
				if rng.IntN(4) > 0 {
					rc.c.Agreement.Learning = fmt.Sprintf("learning %d of %s", k, rc.c.Ref)
				}
				rc.step(t, st, workflows.Event{Type: workflows.EventAgreementProposed, Stage: rc.c.Stage.Number})
			default: // closed: resolved, unresolved or withdrawn
				status := []string{workflows.StatusResolved, workflows.StatusResolved, workflows.StatusUnresolved, workflows.StatusWithdrawn}[rng.IntN(4)]
				typ := map[string]string{workflows.StatusResolved: workflows.EventAgreementConfirm, workflows.StatusUnresolved: workflows.EventOutcome,
					workflows.StatusWithdrawn: workflows.EventWithdrawn}[status]
				yes := status == workflows.StatusResolved
				at := rc.at
				if rng.IntN(4) == 0 {
					at = at.Add(time.Duration(rng.IntN(1000))) // nanoseconds the snapshot keeps
				}
				rc.c.Status, rc.c.ClosedAt = status, &at
				switch l := rng.IntN(6); {
				case l == 0 && rc.c.Agreement != nil: // the agreement proposed, confirmed
					agreed := learningInstant(rng, at)
					rc.c.Agreement.ConfirmedBy, rc.c.Agreement.At = "S", &agreed
					rc.c.Learning = rc.c.Agreement.Learning
				case l == 1: // confirmed at once, with learning
					agreed := learningInstant(rng, at)
					rc.c.Agreement = &workflows.Agreement{ProposedBy: "S", ProposedBySide: workflows.SideRespondent, Outcome: "o",
						Actions: []workflows.Action{}, Learning: "agreed learning " + rc.c.Ref, ConfirmedBy: "R", At: &agreed,
						ProposedAt: learningInstant(rng, at)}
					rc.c.Learning = rc.c.Agreement.Learning
				case l == 2: // the partnership's outcome, with learning of its own
					rc.c.Learning = "outcome learning " + rc.c.Ref
				case l == 3: // with none
					rc.c.Learning = ""
				}
				rc.step(t, st, workflows.Event{Type: typ, Stage: rc.c.Stage.Number, Resolved: &yes, ClosedStatus: status})
			}
		}
	}
}

// learningEdges are instants the periods start or end at (rollupPeriods):
// learning recorded on them, or a nanosecond or a microsecond either side,
// or between two microseconds (PostgreSQL keeps the instant rounded to one),
// falls in or out of the period as the instant itself says.
var learningEdges = func() []time.Time {
	london, _ := time.LoadLocation("Europe/London")
	return []time.Time{
		time.Date(2026, 4, 1, 0, 0, 0, 0, london), // 2026-03-31T23:00Z, BST
		time.Date(2026, 3, 29, 0, 0, 0, 0, london), time.Date(2026, 3, 30, 0, 0, 0, 0, london),
		time.Date(2026, 10, 25, 0, 0, 0, 0, london), time.Date(2026, 10, 26, 0, 0, 0, 0, london), // 23:00Z, then 00:00Z
		time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 10, 13, 0, 0, 0, time.UTC), time.Date(2026, 4, 11, 12, 0, 0, 0, time.UTC),
	}
}()

// learningInstant is when learning is recorded near at: at itself, with
// nanoseconds, or on (or just beside) one of the periods' edges, in UTC or
// in London time (the snapshot then says +01:00 or Z).
func learningInstant(rng *rand.Rand, at time.Time) time.Time {
	london, _ := time.LoadLocation("Europe/London")
	switch rng.IntN(4) {
	case 0:
		return at
	case 1:
		return at.Add(time.Duration(rng.IntN(1e6))).In(london)
	default:
		offsets := []time.Duration{-time.Microsecond, -501, -500, -1, 0, 0, 1, 499, 500, 501, time.Microsecond}
		e := learningEdges[rng.IntN(len(learningEdges))].Add(offsets[rng.IntN(len(offsets))])
		if rng.IntN(2) == 0 {
			return e.In(london)
		}
		return e.UTC()
	}
}

// rollupPeriods are periods with whole UTC days and without, starting and
// ending at midnight and not, in summer time and winter, for every policy
// and each.
func rollupPeriods(rng *rand.Rand, from, to time.Time) []store.ReportFilter {
	london, _ := time.LoadLocation("Europe/London")
	clock, _ := policies.NewClock(policies.CalendarEnglandAndWales, "Europe/London", "17:00")
	// pb's clock in a zone whose summer time is half an hour (local dates
	// of time to resolution); pc's the default clock.
	lordHowe, err := policies.NewClock(policies.CalendarEnglandAndWales, "Australia/Lord_Howe", "17:00")
	if err != nil {
		panic(err)
	}
	clocks := map[string]policies.Clock{"pa": clock, "pb": lordHowe}
	dir := []store.ReportAgency{{Policy: "pa", Agency: "nhft"}, {Policy: "pa", Agency: "nct"}, {Policy: "pa", Agency: "police"},
		{Policy: "pa", Agency: "ics"}, {Policy: "pb", Agency: "schools"}, {Policy: "pc", Agency: "Health"}}
	periods := [][2]time.Time{
		{from, to},
		{time.Date(2026, 4, 1, 0, 0, 0, 0, london), time.Date(2027, 4, 1, 0, 0, 0, 0, london)},     // 23:00Z to 23:00Z
		{time.Date(2025, 4, 1, 0, 0, 0, 0, london), time.Date(2026, 4, 1, 0, 0, 0, 0, london)},     // 00:00Z to 23:00Z
		{time.Date(2026, 3, 29, 0, 0, 0, 0, london), time.Date(2026, 3, 30, 0, 0, 0, 0, london)},   // the day BST starts: 23 hours
		{time.Date(2026, 10, 25, 0, 0, 0, 0, london), time.Date(2026, 10, 26, 0, 0, 0, 0, london)}, // the day it ends: 25 hours
		{time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 4, 10, 13, 0, 0, 0, time.UTC), time.Date(2026, 4, 11, 12, 0, 0, 0, time.UTC)}, // no whole day
	}
	for i := 0; i < 12; i++ {
		a := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
		b := a.Add(time.Duration(rng.Int64N(int64(60 * 24 * time.Hour))))
		periods = append(periods, [2]time.Time{a, b})
	}
	// Starting and ending a nanosecond off the edges learning is recorded
	// on, and half a microsecond.
	for _, d := range []time.Duration{1, -1, 500} {
		periods = append(periods, [2]time.Time{learningEdges[0].Add(d), learningEdges[4].Add(d)},
			[2]time.Time{learningEdges[5].Add(-d), learningEdges[8].Add(d)})
	}
	var out []store.ReportFilter
	for _, p := range periods {
		for _, policy := range []string{"", "pa", "pb"} {
			out = append(out, store.ReportFilter{Policy: policy, From: p[0], To: p[1], Now: to, Clocks: clocks, Directory: dir})
		}
	}
	return out
}

// sameAsExact holds Summary to the case-by-case computation over every
// period.
func sameAsExact(t *testing.T, st *store.Store, filters []store.ReportFilter) {
	t.Helper()
	ctx := context.Background()
	for _, f := range filters {
		got, err := st.Summary(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.SummaryExact(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("policy %q, %s to %s:\nrolled up  %+v\ncase by case %+v", f.Policy, f.From.UTC().Format(time.RFC3339), f.To.UTC().Format(time.RFC3339), got, want)
		}
	}
}

// rebuildAgrees asserts that what the triggers kept is what
// report_rebuild() recomputes from the cases and events.
func rebuildAgrees(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	kept := rollupState(t, conn)
	if _, err := conn.Exec(context.Background(), `SELECT report_rebuild()`); err != nil {
		t.Fatal(err)
	}
	if rebuilt := rollupState(t, conn); rebuilt != kept {
		t.Fatalf("the triggers kept\n%s\nreport_rebuild recomputed\n%s", kept, rebuilt)
	}
}

// rollupState is everything the triggers keep: the cases' derived columns
// (the highest stage, the resolving event, the learning) and the rollups'
// non-zero counts.
func rollupState(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var s string
	err := conn.QueryRow(context.Background(), `
SELECT concat_ws(E'\n',
  (SELECT string_agg(concat_ws(' ', ref, max_to_stage, highest_stage, resolved_seq, resolved_stage, resolved_at,
                               learning_at, learning_entry), E'\n' ORDER BY ref) FROM cases),
  (SELECT string_agg(concat_ws(' ', policy, day, dim, key, n), E'\n' ORDER BY policy, day, dim, key) FROM report_raised WHERE n <> 0),
  (SELECT string_agg(concat_ws(' ', policy, day, stage, n), E'\n' ORDER BY policy, day, stage) FROM report_deadlines WHERE n <> 0))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The rolled-up report is the case-by-case one, whatever happened to the
// cases, and what the triggers kept is what report_rebuild recomputes.
func TestSummaryRollupsAreExact(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(16, 2026))
	from, to := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	randomCases(t, st, rng, 300, from, to)
	filters := rollupPeriods(rng, from, to)

	sameAsExact(t, st, filters)

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rebuildAgrees(t, conn)
	var raised int
	if err := conn.QueryRow(ctx, `SELECT sum(n) FROM report_raised WHERE dim = 'raised'`).Scan(&raised); err != nil || raised != 300 {
		t.Fatalf("rollups count %d cases raised (%v), want 300", raised, err)
	}
}

// A bulk load with the triggers off (as the bench's COPY), then
// report_rebuild, gives the same report as the case-by-case computation;
// so does a change written straight to the tables with the triggers on.
func TestSummaryRollupsRebuiltAfterBulkLoad(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(17, 2026))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	randomCases(t, st, rng, 60, from, to)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	triggers := func(verb string) {
		for _, tr := range store.ReportTriggers {
			exec(fmt.Sprintf("ALTER TABLE %s %s TRIGGER %s", tr[0], verb, tr[1]))
		}
	}
	triggers("DISABLE")
	for i := 0; i < 80; i++ {
		ref := fmt.Sprintf("BULK-%03d", i)
		created := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))).Truncate(time.Second)
		stage := 1 + rng.IntN(4)
		status, closed := workflows.StatusOpen, (*time.Time)(nil)
		if rng.IntN(3) > 0 {
			status = []string{workflows.StatusResolved, workflows.StatusWithdrawn}[rng.IntN(2)]
			c := created.Add(time.Duration(1+rng.IntN(500)) * time.Hour)
			closed = &c
		}
		policy, category := []string{"pa", "pb"}[rng.IntN(2)], []string{"roles", "threshold"}[rng.IntN(2)]
		// Some with learning in the snapshot, on the case or agreed.
		snap := []byte(`{}`)
		if closed != nil && rng.IntN(3) == 0 {
			c := workflows.Case{Ref: ref, Policy: policy, Status: status, Category: category, ClosedAt: closed,
				Stage: workflows.StageState{Number: stage}, Learning: "bulk learning " + ref}
			if rng.IntN(2) == 0 {
				agreed := learningInstant(rng, *closed)
				c.Agreement = &workflows.Agreement{Learning: c.Learning, At: &agreed, ProposedAt: created}
			}
			var err error
			if snap, err = json.Marshal(c); err != nil {
				t.Fatal(err)
			}
		}
		exec(`INSERT INTO cases (ref, policy, status, stage, due_at, urgent, category, raiser_agency, respondent_agency, parties,
			created_at, closed_at, version, snapshot) VALUES ($1, $2, $3, $4, $5, false, $6, $7, 'nct', '{}', $5, $8, 1, $9)`,
			ref, policy, status, stage, created, category, []string{"nhft", "police"}[rng.IntN(2)], closed, snap)
		seq := 1
		event := func(at time.Time, typ string, stage int, to *int, resolved *bool) {
			exec(`INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text, to_stage, resolved)
				VALUES ($1, $2, 'bulk', $3, $4, $5, 'b', 'b@x.example', 'b', $6, $7)`, ref, seq, at, typ, stage, to, resolved)
			seq++
		}
		for s := 1; s <= stage+rng.IntN(2); s++ {
			n := s
			event(created.Add(time.Duration(s)*time.Hour), workflows.EventStageEntered, s, &n, nil)
			if rng.IntN(2) == 0 {
				event(created.Add(time.Duration(s)*time.Hour+time.Minute), workflows.EventDeadlinePassed, s, nil, nil)
			}
		}
		if closed != nil {
			yes := status == workflows.StatusResolved
			event(*closed, workflows.EventAgreementConfirm, stage, nil, &yes)
		}
	}
	triggers("ENABLE")
	var kept int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM cases WHERE ref LIKE 'BULK-%' AND learning_entry IS NOT NULL`).Scan(&kept); err != nil || kept != 0 {
		t.Fatalf("%d bulk-loaded cases keep learning before report_rebuild (%v): the trigger was meant to be off", kept, err)
	}
	exec(`SELECT report_rebuild()`)
	if tally := learningKept(t, conn); tally.bySource[store.LearningAgreement] == 0 || tally.bySource[store.LearningOutcome] == 0 {
		t.Fatalf("the bulk load's learning, rebuilt: %+v; want both agreed and the outcome's", tally)
	}
	filters := rollupPeriods(rng, from, to)
	sameAsExact(t, st, filters)

	// Straight to the tables, with the triggers on: a status, an agency's
	// id and a policy changed, a deadline passed.
	exec(`UPDATE cases SET status = 'unresolved' WHERE ref IN ('BULK-001', 'BULK-002', 'R0003')`)
	exec(`UPDATE cases SET raiser_agency_id = 'police' WHERE ref IN ('BULK-004', 'R0005')`)
	exec(`UPDATE cases SET policy = 'pb' WHERE ref IN ('BULK-006', 'R0007', 'R0008')`)
	exec(`INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text)
		SELECT ref, version + 100, 'x', created_at + interval '3 days', 'deadline_passed', 2, 'b', 'b', 'b' FROM cases WHERE ref LIKE 'BULK-01%'`)
	// Learning written into snapshots, recategorised, taken out; and the
	// kept entry itself overwritten (the trigger puts it back).
	exec(`UPDATE cases SET snapshot = jsonb_set(snapshot, '{learning}', to_jsonb('straight ' || ref))
		WHERE ref IN (SELECT ref FROM cases WHERE snapshot->>'status' IN ('resolved', 'unresolved') ORDER BY ref LIMIT 5)`)
	exec(`UPDATE cases SET snapshot = jsonb_set(snapshot, '{category}', '"recategorised"') WHERE learning_entry IS NOT NULL AND ref LIKE 'R%'`)
	exec(`UPDATE cases SET snapshot = snapshot - 'learning' WHERE ref = (SELECT min(ref) FROM cases WHERE learning_entry->>'source' = 'outcome')`)
	exec(`UPDATE cases SET learning_entry = NULL, learning_at = NULL WHERE ref = (SELECT max(ref) FROM cases WHERE learning_entry IS NOT NULL)`)
	learningKept(t, conn)
	sameAsExact(t, st, filters)
	rebuildAgrees(t, conn)
}

// Cases recorded before 000016 are counted by its backfill.
func TestSummaryRollupsBackfilled(t *testing.T) {
	ctx := context.Background()
	st, admin := storeBefore(t, "escalate_store_ru", 16)
	rng := rand.New(rand.NewPCG(18, 2026))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	randomCases(t, st, rng, 80, from, to)
	if err := store.Prepare(ctx, admin); err != nil {
		t.Fatalf("migrate to 000016: %v", err)
	}
	sameAsExact(t, st, rollupPeriods(rng, from, to))
}

// Record transactions of cases raised the same day, written at once, keep
// the counts they share right and never deadlock on them.
func TestSummaryRollupsUnderConcurrentRecords(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	day := time.Date(2026, 6, 3, 8, 0, 0, 0, time.UTC)
	const writers, perWriter = 6, 15
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			errs <- func() error {
				for i := 0; i < perWriter; i++ {
					created := day.Add(time.Duration(w*perWriter+i) * time.Minute)
					c := workflows.Case{Ref: fmt.Sprintf("W%d-%02d", w, i), Policy: []string{"pa", "pb"}[i%2], Status: workflows.StatusOpen,
						ChildRef: "C1", Category: "roles", Summary: "s", CreatedAt: created,
						Stage:      workflows.StageState{Number: 1, Name: "One", StartedAt: created, DueAt: created.Add(time.Hour)},
						Raiser:     workflows.Party{Name: "R", Email: "r@x.example", Agency: "nhft"},
						Respondent: workflows.Party{Name: "S", Email: "s@y.example", Agency: "nct"}, Contacts: []workflows.Contact{}}
					evs := []workflows.Event{
						{Seq: 1, At: created, Type: workflows.EventOpened, Stage: 1, By: "e", Text: "o"},
						{Seq: 2, At: created, Type: workflows.EventStageEntered, Stage: 1, By: "e", Text: "s", ToStage: 1, Move: workflows.MoveOpened},
					}
					steps := [][]workflows.Event{evs}
					// A deadline passes and moves it on; then it is resolved.
					later := created.Add(2 * time.Hour)
					steps = append(steps, []workflows.Event{
						{Seq: 3, At: later, Type: workflows.EventDeadlinePassed, Stage: 1, By: "e", Text: "d", FromStage: 1, ToStage: 2, Move: workflows.MoveDeadlinePassed},
						{Seq: 4, At: later, Type: workflows.EventStageEntered, Stage: 2, By: "e", Text: "s", FromStage: 1, ToStage: 2, Move: workflows.MoveDeadlinePassed},
					})
					yes := true
					steps = append(steps, []workflows.Event{{Seq: 5, At: later.Add(time.Hour), Type: workflows.EventAgreementConfirm, Stage: 2, By: "e", Text: "a",
						Resolved: &yes, ClosedStatus: workflows.StatusResolved}})
					version := 0
					for k, s := range steps {
						version += len(s)
						c.Version = version
						if k >= 1 {
							c.Stage.Number = 2
						}
						if k == 2 {
							closed := later.Add(time.Hour)
							c.Status, c.ClosedAt = workflows.StatusResolved, &closed
						}
						in := workflows.RecordEventsInput{Ref: c.Ref, RunID: "run-1", Case: c, Events: s, Timezone: "Europe/London"}
						if _, err := st.RecordEvents(ctx, in, render); err != nil {
							return fmt.Errorf("%s step %d: %w", c.Ref, k, err)
						}
					}
				}
				return nil
			}()
		}(w)
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rebuildAgrees(t, conn)
	var resolved, highest2, missed int
	if err := conn.QueryRow(ctx, `SELECT (SELECT sum(n) FROM report_raised WHERE dim = 'status' AND key = 'resolved'),
		(SELECT sum(n) FROM report_raised WHERE dim = 'highest' AND key = '2'), (SELECT sum(n) FROM report_deadlines)`).
		Scan(&resolved, &highest2, &missed); err != nil {
		t.Fatal(err)
	}
	if want := writers * perWriter; resolved != want || highest2 != want || missed != want {
		t.Fatalf("resolved %d, highest stage 2 %d, deadlines missed %d; want %d each", resolved, highest2, missed, want)
	}
}
