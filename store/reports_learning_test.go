package store_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/store"
	"escalate/workflows"
)

// learningTally is what learningKept found: how many cases kept an entry,
// by source, how many of their instants PostgreSQL rounded (nanoseconds
// the snapshot kept) and how many it could not read.
type learningTally struct {
	bySource         map[string]int
	rounded, unknown int
}

// learningKept asserts that every case keeps, in learning_entry and
// learning_at, exactly the learning its snapshot records as the
// case-by-case computation reads it (store.LearningOf), and the instant
// to the microsecond, or -infinity only where PostgreSQL cannot read it.
func learningKept(t *testing.T, conn *pgx.Conn) learningTally {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT ref, snapshot, learning_entry, CASE WHEN isfinite(learning_at) THEN learning_at END,
		learning_at IS NOT NULL, learning_at = '-infinity' FROM cases ORDER BY ref`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tally := learningTally{bySource: map[string]int{}}
	for rows.Next() {
		var ref string
		var snap, entry []byte
		var at *time.Time
		var kept bool
		var unread *bool
		if err := rows.Scan(&ref, &snap, &entry, &at, &kept, &unread); err != nil {
			t.Fatal(err)
		}
		var c workflows.Case
		if err := json.Unmarshal(snap, &c); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		want, ok := store.LearningOf(c)
		if !ok {
			if entry != nil || kept {
				t.Fatalf("%s records no learning, but keeps %s at %v", ref, entry, at)
			}
			continue
		}
		if entry == nil {
			t.Fatalf("%s records %+v, keeps none", ref, want)
		}
		var got store.LearningEntry
		if err := json.Unmarshal(entry, &got); err != nil {
			t.Fatalf("%s: %s: %v", ref, entry, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s records\n%+v\nkeeps\n%+v", ref, want, got)
		}
		tally.bySource[got.Source]++
		switch {
		case !kept || at == nil && !*unread:
			t.Fatalf("%s keeps learning at %v without an instant", ref, want.At)
		case at == nil:
			tally.unknown++
			if pgReads(entry) {
				t.Fatalf("%s: learning at %v kept without its instant", ref, want.At)
			}
		case want.At.Sub(*at) > 500*time.Nanosecond || at.Sub(want.At) > 500*time.Nanosecond:
			t.Fatalf("%s: learning at %v kept as %v", ref, want.At, *at)
		case !at.Equal(want.At):
			tally.rounded++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tally
}

// pgReads says whether PostgreSQL reads the entry's instant: a JSON string,
// of a year from 1 and an offset within 15:59 (as Go writes them: RFC 3339).
func pgReads(entry []byte) bool {
	var e struct{ At *string }
	if err := json.Unmarshal(entry, &e); err != nil || e.At == nil {
		return false
	}
	at := *e.At
	if strings.HasPrefix(at, "0000") {
		return false
	}
	if at[len(at)-1] == 'Z' {
		return true
	}
	return at[len(at)-5:len(at)-3] < "16"
}

// The learning kept on each case, by the trigger as the record is written,
// is the snapshot's; so is what report_rebuild() recomputes; and the
// report's learning, read from it, is the case-by-case one over every
// period, including those starting and ending on (and a nanosecond or half
// a microsecond beside) the instants learning was recorded at.
func TestLearningKeptOnCases(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(19, 2026))
	from, to := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	randomCases(t, st, rng, 300, from, to)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	tally := learningKept(t, conn)
	// The cases drew every kind of learning, and instants PostgreSQL rounds.
	for _, src := range []string{store.LearningAgreement, store.LearningOutcome, store.LearningProposedAgreement} {
		if tally.bySource[src] < 5 {
			t.Fatalf("only %d cases keep learning of source %s (%+v): the test draws too few", tally.bySource[src], src, tally)
		}
	}
	if tally.rounded < 5 || tally.unknown != 0 {
		t.Fatalf("%d instants rounded (want some), %d unread (want none)", tally.rounded, tally.unknown)
	}
	rebuildAgrees(t, conn)

	filters := rollupPeriods(rng, from, to)
	sameAsExact(t, st, filters)
	// Some periods hold learning, and some edge cuts it: an entry on an
	// edge counts in the period it starts.
	var listed int
	for _, f := range filters {
		r, err := st.Summary(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(r.Learning)
		for _, e := range r.Learning {
			if e.At.Before(f.From) || !e.At.Before(f.To) {
				t.Fatalf("learning at %v listed for %v to %v", e.At, f.From, f.To)
			}
		}
	}
	if listed == 0 {
		t.Fatal("no period lists any learning")
	}
}

// oddLearning are snapshots written straight to the table, as no workflow
// writes them but a reader must take: instants PostgreSQL refuses (an
// offset beyond 15:59, year 0) or that are absent or null, members
// missing. Each is written (the trigger never refuses a row for them) and
// read as Go reads it.
var oddLearning = []struct {
	ref, snapshot string
	// source is the entry expected ("" none), at its instant
	source string
	at     time.Time
}{
	{"ODD-1", `{"ref":"ODD-1","policy":"pa","status":"resolved","category":"roles","stage":{"number":3},"learning":"far east","closed_at":"2026-06-01T12:00:00+20:00"}`,
		store.LearningOutcome, time.Date(2026, 5, 31, 16, 0, 0, 0, time.UTC)},
	{"ODD-2", `{"ref":"ODD-2","policy":"pa","status":"open","stage":{"number":1},"agreement":{"learning":"year zero","proposed_at":"0000-06-01T12:00:00Z"}}`,
		store.LearningProposedAgreement, time.Date(0, 6, 1, 12, 0, 0, 0, time.UTC)},
	{"ODD-3", `{"ref":"ODD-3","policy":"pa","status":"agreement_proposed","agreement":{"learning":"null instant","proposed_at":null}}`,
		store.LearningProposedAgreement, time.Time{}},
	{"ODD-4", `{"ref":"ODD-4","policy":"pa","agreement":{"learning":"no instant, no status"}}`,
		store.LearningProposedAgreement, time.Time{}},
	{"ODD-5", `{"ref":"ODD-5","policy":"pa","status":"cancelled","learning":"never closed","closed_at":null}`, "", time.Time{}},
	{"ODD-6", `{"ref":"ODD-6","policy":"pa","status":"unresolved","learning":"the outcome's","closed_at":"2026-07-01T09:00:00.123456789Z",
		"agreement":{"learning":"the agreement's","at":"2026-06-30T09:00:00Z","proposed_at":"2026-06-29T09:00:00Z"}}`,
		store.LearningOutcome, time.Date(2026, 7, 1, 9, 0, 0, 123456789, time.UTC)},
	{"ODD-7", `{"ref":"ODD-7","policy":"pa","status":"withdrawn","closed_at":"2026-07-01T09:00:00Z","agreement":{"learning":"withdrawn before agreeing","proposed_at":"2026-06-29T09:00:00Z"}}`,
		"", time.Time{}},
	{"ODD-8", `{"ref":"ODD-8","policy":"pb","status":"resolved","learning":"agreed","closed_at":"2026-07-02T09:00:00Z",
		"agreement":{"learning":"agreed","at":"2026-07-01T23:00:00.0000005+01:00","proposed_at":"2026-06-29T09:00:00Z"}}`,
		store.LearningAgreement, time.Date(2026, 7, 1, 22, 0, 0, 500, time.UTC)},
	{"ODD-9", `{"ref":"ODD-9","policy":"pb","status":"resolved","learning":"agreed without an instant","closed_at":"2026-07-03T09:00:00Z",
		"agreement":{"learning":"agreed without an instant","at":null}}`,
		store.LearningOutcome, time.Date(2026, 7, 3, 9, 0, 0, 0, time.UTC)},
	// On the reporting year's first instant (BST), and a GMT midnight.
	{"ODD-10", `{"ref":"ODD-10","policy":"pa","status":"resolved","learning":"first of the year","closed_at":"2026-04-01T00:00:00+01:00"}`,
		store.LearningOutcome, time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)},
	{"ODD-11", `{"ref":"ODD-11","policy":"pb","status":"open","agreement":{"learning":"after the clocks went back","proposed_at":"2026-10-26T00:00:00Z"}}`,
		store.LearningProposedAgreement, time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC)},
}

// writeOddLearning writes the oddLearning cases straight to the table.
func writeOddLearning(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	for _, o := range oddLearning {
		if _, err := conn.Exec(context.Background(), `INSERT INTO cases (ref, policy, status, stage, due_at, urgent, category, raiser_agency,
			respondent_agency, parties, created_at, version, snapshot)
			VALUES ($1, $2::jsonb->>'policy', 'open', 1, '2026-06-01T00:00:00Z', false, 'roles', 'nhft', 'nct', '{}', '2026-05-01T00:00:00Z', 1, $2)`,
			o.ref, o.snapshot); err != nil {
			t.Fatalf("%s not written: %v", o.ref, err)
		}
	}
}

// checkOddLearning asserts what the report lists of the oddLearning cases
// over every period, beside the case-by-case computation.
func checkOddLearning(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	london, _ := time.LoadLocation("Europe/London")
	periods := [][2]time.Time{
		{time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},                                               // from Go's zero instant
		{time.Time{}, time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},                                                  // that instant alone
		{time.Date(0, 6, 1, 11, 0, 0, 0, time.UTC), time.Date(0, 6, 1, 13, 0, 0, 0, time.UTC)},                   // year 0
		{time.Date(2026, 4, 1, 0, 0, 0, 0, london), time.Date(2027, 4, 1, 0, 0, 0, 0, london)},                   // 23:00Z to 23:00Z
		{time.Date(2025, 4, 1, 0, 0, 0, 0, london), time.Date(2026, 4, 1, 0, 0, 0, 0, london)},                   // 00:00Z to 23:00Z
		{time.Date(2026, 10, 25, 0, 0, 0, 0, london), time.Date(2026, 10, 26, 0, 0, 0, 0, london)},               // 25 hours, to 00:00Z
		{time.Date(2026, 10, 26, 0, 0, 0, 0, london), time.Date(2026, 10, 27, 0, 0, 0, 0, london)},               // GMT
		{time.Date(2026, 3, 31, 22, 59, 59, 999999999, time.UTC), time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)}, // a nanosecond before
		{time.Date(2026, 5, 31, 16, 0, 0, 0, time.UTC), time.Date(2026, 5, 31, 16, 0, 0, 1, time.UTC)},
		{time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 31, 16, 0, 0, 0, time.UTC)},
		{time.Date(2026, 7, 1, 9, 0, 0, 123456789, time.UTC), time.Date(2026, 7, 1, 22, 0, 0, 500, time.UTC)},
		{time.Date(2026, 7, 1, 9, 0, 0, 123456790, time.UTC), time.Date(2026, 7, 1, 22, 0, 0, 501, time.UTC)},
	}
	for _, p := range periods {
		for _, policy := range []string{"", "pa", "pb"} {
			f := store.ReportFilter{Policy: policy, From: p[0], To: p[1], Now: p[1]}
			sameAsExact(t, st, []store.ReportFilter{f})
			got, err := st.Summary(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]store.LearningEntry{}
			for _, e := range got.Learning {
				listed[e.Ref] = e
			}
			for _, o := range oddLearning {
				pol := "pa"
				if strings.Contains(o.snapshot, `"policy":"pb"`) {
					pol = "pb"
				}
				want := o.source != "" && (policy == "" || policy == pol) && !o.at.Before(p[0]) && o.at.Before(p[1])
				e, ok := listed[o.ref]
				if ok != want || ok && (e.Source != o.source || !e.At.Equal(o.at)) {
					t.Fatalf("%s to %s, policy %q: %s listed %v (%+v), want %v (%s at %v)", p[0], p[1], policy, o.ref, ok, e, want, o.source, o.at)
				}
			}
		}
	}
}

// Snapshots no workflow writes are still written, kept as Go reads them,
// rebuilt the same, and listed for the periods their instants fall in.
func TestLearningOddSnapshots(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	writeOddLearning(t, conn)
	tally := learningKept(t, conn)
	if tally.unknown != 3 || tally.rounded != 2 {
		t.Fatalf("%+v: want three instants PostgreSQL cannot read (+20:00, year 0, null) and two it rounds", tally)
	}
	rebuildAgrees(t, conn)
	checkOddLearning(t, st)

	// The derived columns written directly are put back; a snapshot
	// changed directly changes them.
	if _, err := conn.Exec(ctx, `UPDATE cases SET learning_entry = '{"ref":"forged"}', learning_at = now() WHERE ref IN ('ODD-1', 'ODD-5')`); err != nil {
		t.Fatal(err)
	}
	learningKept(t, conn)
	if _, err := conn.Exec(ctx, `UPDATE cases SET snapshot = jsonb_set(snapshot, '{learning}', '"changed"') WHERE ref = 'ODD-6'`); err != nil {
		t.Fatal(err)
	}
	learningKept(t, conn)
	var learning string
	if err := conn.QueryRow(ctx, `SELECT learning_entry->>'learning' FROM cases WHERE ref = 'ODD-6'`).Scan(&learning); err != nil || learning != "changed" {
		t.Fatalf("ODD-6 keeps learning %q (%v), want the changed snapshot's", learning, err)
	}
	rebuildAgrees(t, conn)
}

// Cases recorded before 000019 keep their learning from its backfill, odd
// ones too, and the report lists it as before.
func TestLearningBackfilled(t *testing.T) {
	ctx := context.Background()
	st, admin := storeBefore(t, "escalate_store_rl", 19)
	rng := rand.New(rand.NewPCG(20, 2026))
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	randomCases(t, st, rng, 120, from, to)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	writeOddLearning(t, conn)
	var cols int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'cases' AND column_name LIKE 'learning%'`).Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("before 000019 the cases have %d learning columns (%v)", cols, err)
	}
	if err := store.Prepare(ctx, admin); err != nil {
		t.Fatalf("migrate to 000019: %v", err)
	}
	tally := learningKept(t, conn)
	if n := tally.bySource[store.LearningAgreement] + tally.bySource[store.LearningOutcome] + tally.bySource[store.LearningProposedAgreement]; n < 20 {
		t.Fatalf("the backfill kept %d entries (%+v): too few to say much", n, tally)
	}
	rebuildAgrees(t, conn)
	sameAsExact(t, st, rollupPeriods(rng, from, to))
	checkOddLearning(t, st)
}
