package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/policies"
	"escalate/store"
)

// reportPhase: the oversight report (GET /v1/reports/summary and the
// store's query under it) over n cases with their events, seeded with
// COPY across five years, beside a plain count of the same rows; the
// query plans go to bench-plans.txt (EXPLAIN ANALYZE).
func (b *bench) reportPhase(ctx context.Context, o options, rep *report) error {
	n := o.reportCases
	fmt.Printf("oversight report: seeding %d cases with COPY\n", n)
	start := time.Now()
	events, err := b.seedReport(ctx, n)
	if err != nil {
		return err
	}
	rep.note("report: seeded %d cases and %d events with COPY in %.0f s", n, events, time.Since(start).Seconds())
	// As autovacuum would soon after a bulk load: statistics, and the
	// visibility map index-only scans need.
	if _, err := b.sys.db.Exec(ctx, "VACUUM ANALYZE cases"); err != nil {
		return err
	}
	if _, err := b.sys.db.Exec(ctx, "VACUUM ANALYZE events"); err != nil {
		return err
	}
	now := time.Now()
	loc, _ := time.LoadLocation("Europe/London")
	// The reporting year now (1 April to 1 April), as the API's default.
	y := now.In(loc).Year()
	if now.In(loc).Month() < time.April {
		y--
	}
	from, to := time.Date(y, time.April, 1, 0, 0, 0, 0, loc), time.Date(y+1, time.April, 1, 0, 0, 0, 0, loc)
	pol, _ := b.sys.pols.Get("bench")
	clock, err := pol.Clock()
	if err != nil {
		return err
	}
	f := store.ReportFilter{Policy: "bench", From: from, To: to, Now: now, Clocks: map[string]policies.Clock{"bench": clock}}
	const runs = 5
	timeIt := func(name string, fn func() error) (result, error) {
		rec := &recorder{}
		t0 := time.Now()
		for i := 0; i < runs; i++ {
			var ferr error
			rec.run(ctx, func(ctx context.Context, _ int) error { ferr = fn(); return ferr }, 0)
			if ferr != nil {
				return result{}, fmt.Errorf("%s: %w", name, ferr)
			}
		}
		return rec.result(name, time.Since(t0)), nil
	}
	q := "/v1/reports/summary?policy=bench&from=" + from.Format(time.DateOnly) + "&to=" + to.AddDate(0, 0, -1).Format(time.DateOnly)
	api, err := timeIt("report via the API", func() error { _, err := b.call(ctx, "GET", q, b.partner, nil, nil); return err })
	if err != nil {
		return err
	}
	rep.add(api)
	st, err := timeIt("report store query", func() error { _, err := b.sys.store.Summary(ctx, f); return err })
	if err != nil {
		return err
	}
	rep.add(st)
	count, err := timeIt("count(*) of cases and events", func() error {
		var a, e int
		return b.sys.db.QueryRow(ctx, "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM events)").Scan(&a, &e)
	})
	if err != nil {
		return err
	}
	rep.add(count)
	rep.ratio(fmt.Sprintf("report %d: API p50 ÷ count(*) p50", n), api.P50ms/count.P50ms)
	rep.ratio(fmt.Sprintf("report %d: store p50 ÷ count(*) p50", n), st.P50ms/count.P50ms)
	return b.explainReport(ctx, f, "bench-plans.txt")
}

// explainReport writes EXPLAIN ANALYZE of the report's queries, with the
// filter's values, to path.
func (b *bench) explainReport(ctx context.Context, f store.ReportFilter, path string) error {
	queries := []struct {
		name string
		sql  string
		args []any
	}{
		{"cases raised in the period", `
SELECT c.policy, c.status, c.category, c.raiser_agency, c.respondent_agency, c.stage, c.created_at, c.closed_at,
       greatest(c.stage, coalesce((SELECT max(e.stage) FROM events e
                                   WHERE e.ref = c.ref AND e.type = $4), 0))
FROM cases c
WHERE ($1 = '' OR c.policy = $1) AND c.created_at >= $2 AND c.created_at < $3`, []any{f.Policy, f.From, f.To, "stage_entered"}},
		{"deadlines missed in the period", `
SELECT e.stage, count(*)
FROM events e
WHERE e.type = $4 AND e.at >= $2 AND e.at < $3
  AND ($1 = '' OR (SELECT c.policy FROM cases c WHERE c.ref = e.ref) = $1)
GROUP BY e.stage`, []any{f.Policy, f.From, f.To, "deadline_passed"}},
		{"open and overdue now", `
SELECT count(*), count(*) FILTER (WHERE (closed_at IS NULL AND due_at < $2))
FROM cases
WHERE ($1 = '' OR policy = $1) AND closed_at IS NULL`, []any{f.Policy, f.Now}},
		{"learning", `
SELECT snapshot FROM cases
WHERE ($1 = '' OR policy = $1)
  AND (coalesce(snapshot->>'learning', '') <> '' OR coalesce(snapshot->'agreement'->>'learning', '') <> '')`, []any{f.Policy}},
	}
	var out strings.Builder
	for _, q := range queries {
		rows, err := b.sys.db.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql, q.args...)
		if err != nil {
			return fmt.Errorf("explain %s: %w", q.name, err)
		}
		fmt.Fprintf(&out, "-- %s\n", q.name)
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return err
			}
			out.WriteString(line + "\n")
		}
		rows.Close()
		out.WriteString("\n")
	}
	fmt.Printf("  query plans written to %s\n", path)
	return os.WriteFile(path, []byte(out.String()), 0o644)
}

// seedReport adds n closed and open cases of the bench policy with their
// events, raised across the last five years, with COPY; it returns how
// many events.
func (b *bench) seedReport(ctx context.Context, n int) (int, error) {
	// A real snapshot, from a case opened through the API, for every row:
	// the learning query reads them.
	c, err := b.startCase(ctx, 0, nil)
	if err != nil {
		return 0, err
	}
	var snap map[string]any
	var raw []byte
	if err := b.sys.db.QueryRow(ctx, "SELECT snapshot FROM cases WHERE ref = $1", c.Ref).Scan(&raw); err != nil {
		return 0, err
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		return 0, err
	}
	plain, _ := json.Marshal(snap)
	snap["learning"] = "Share the referral threshold guidance with health visitors."
	learned, _ := json.Marshal(snap)

	agencies := []string{"nhft", "nct", "northants-police", "kgh", "ngh", "education"}
	categories := []string{"threshold-csc-assessment", "threshold-health-service", "further-information-requested", "communication"}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	span := 5 * 365 * 24 * time.Hour
	type ev struct {
		seq   int
		at    time.Time
		typ   string
		stage int
	}
	var evRows [][]any
	flushEvents := func() error {
		if len(evRows) == 0 {
			return nil
		}
		_, err := b.sys.db.CopyFrom(ctx, pgx.Identifier{"events"},
			[]string{"ref", "seq", "run_id", "at", "type", "stage", "by_name", "by_email", "text"}, pgx.CopyFromRows(evRows))
		evRows = evRows[:0]
		return err
	}
	events := 0
	const batch = 20000
	var caseRows [][]any
	for i := 0; i < n; i++ {
		ref := fmt.Sprintf("SEED-%07d", i)
		created := now.Add(-time.Duration(rng.Int64N(int64(span))))
		stage := 1 + rng.IntN(5)
		// Most cases end within weeks: the open ones are recent.
		status, closed := "resolved", (*time.Time)(nil)
		switch r := rng.IntN(10); {
		case r == 0:
			status = "withdrawn"
		case r < 3 && now.Sub(created) < 60*24*time.Hour:
			status = "open"
		}
		var evs []ev
		at := created
		evs = append(evs, ev{1, at, "case_opened", 1}, ev{2, at, "stage_entered", 1})
		for k := 2; k <= stage; k++ {
			at = at.Add(time.Duration(1+rng.IntN(5)) * 24 * time.Hour)
			evs = append(evs, ev{0, at, "deadline_passed", k - 1}, ev{0, at, "escalated", k - 1}, ev{0, at, "stage_entered", k})
		}
		for k := rng.IntN(3); k > 0; k-- {
			at = at.Add(time.Hour)
			evs = append(evs, ev{0, at, "note", stage})
		}
		if status != "open" {
			at = at.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
			t := at
			closed = &t
			typ := "agreement_confirmed"
			if status == "withdrawn" {
				typ = "withdrawn"
			}
			evs = append(evs, ev{0, at, typ, stage})
		}
		if closed != nil && closed.After(now) {
			closed = nil
			status = "open"
			evs = evs[:len(evs)-1]
		}
		snapshot := plain
		if status == "resolved" && rng.IntN(100) == 0 {
			snapshot = learned
		}
		raiser, respondent := agencies[rng.IntN(len(agencies))], agencies[rng.IntN(len(agencies))]
		caseRows = append(caseRows, []any{ref, "bench", status, stage, at.Add(5 * 24 * time.Hour), false,
			categories[rng.IntN(len(categories))], raiser, respondent, []string{"raiser@" + raiser + ".example", "sam@nct.example"},
			created, closed, len(evs), snapshot})
		for k, e := range evs {
			evRows = append(evRows, []any{ref, k + 1, "seed", e.at, e.typ, e.stage, "Seed", "seed@bench.example", "seeded"})
		}
		events += len(evs)
		if len(caseRows) == batch || i == n-1 {
			if _, err := b.sys.db.CopyFrom(ctx, pgx.Identifier{"cases"},
				[]string{"ref", "policy", "status", "stage", "due_at", "urgent", "category", "raiser_agency", "respondent_agency",
					"parties", "created_at", "closed_at", "version", "snapshot"}, pgx.CopyFromRows(caseRows)); err != nil {
				return 0, fmt.Errorf("COPY cases: %w", err)
			}
			caseRows = caseRows[:0]
			if err := flushEvents(); err != nil {
				return 0, fmt.Errorf("COPY events: %w", err)
			}
		}
	}
	return events, nil
}
