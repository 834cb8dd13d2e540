package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
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
	// A bulk load as an operator would do it: the report's triggers off
	// for the COPY, then report_rebuild() recomputes what they keep, once.
	if err := b.reportTriggers(ctx, false); err != nil {
		return err
	}
	start := time.Now()
	events, err := b.seedReport(ctx, n)
	if err != nil {
		return err
	}
	copied := time.Since(start)
	if err := b.reportTriggers(ctx, true); err != nil {
		return err
	}
	rep.note("report: seeded %d cases and %d events with COPY in %.0f s", n, events, copied.Seconds())
	fmt.Println("oversight report: report_rebuild()")
	start = time.Now()
	if _, err := b.sys.db.Exec(ctx, "SELECT report_rebuild()"); err != nil {
		return fmt.Errorf("report_rebuild: %w", err)
	}
	rebuilt := time.Since(start)
	rep.note("report: report_rebuild() after the COPY took %.0f s", rebuilt.Seconds())
	rep.ratio(fmt.Sprintf("report %d: report_rebuild() ÷ COPY", n), rebuilt.Seconds()/copied.Seconds())
	// As autovacuum would soon after a bulk load: statistics, and the
	// visibility map index-only scans need.
	for _, table := range []string{"cases", "events", "report_raised", "report_deadlines"} {
		if _, err := b.sys.db.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			return err
		}
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
	timeIt := func(name string, runs int, fn func() error) (result, error) {
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
	// A warm-up, untimed, as every measurement has: the first read after
	// the load finds nothing in PostgreSQL's cache.
	t0 := time.Now()
	if _, err := b.sys.store.Summary(ctx, f); err != nil {
		rep.note("report: the warm-up read failed after %.1f s: %v", time.Since(t0).Seconds(), err)
	} else {
		rep.note("report: the warm-up read took %.1f s", time.Since(t0).Seconds())
	}
	q := "/v1/reports/summary?policy=bench&from=" + from.Format(time.DateOnly) + "&to=" + to.AddDate(0, 0, -1).Format(time.DateOnly)
	api, err := timeIt("report via the API", 20, func() error { _, err := b.call(ctx, "GET", q, b.partner, nil, nil); return err })
	if err != nil {
		return err
	}
	rep.add(api)
	st, err := timeIt("report store query", 20, func() error { _, err := b.sys.store.Summary(ctx, f); return err })
	if err != nil {
		return err
	}
	rep.add(st)
	count, err := timeIt("count(*) of cases and events", 5, func() error {
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

// explainReport writes the plans of the report's queries, as the store
// ran them for the filter (EXPLAIN ANALYZE), to path.
func (b *bench) explainReport(ctx context.Context, f store.ReportFilter, path string) error {
	plans, err := b.sys.store.ExplainSummary(ctx, f)
	if err != nil {
		return fmt.Errorf("explain the report: %w", err)
	}
	fmt.Printf("  query plans written to %s\n", path)
	return os.WriteFile(path, []byte(plans), 0o644)
}

// reportTriggers switches the triggers that keep the report's figures
// (store/migrations/000016) on or off.
func (b *bench) reportTriggers(ctx context.Context, on bool) error {
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, t := range store.ReportTriggers {
		if _, err := b.sys.db.Exec(ctx, fmt.Sprintf("ALTER TABLE %s %s TRIGGER %s", t[0], verb, t[1])); err != nil {
			return err
		}
	}
	return nil
}

// seedReport adds n closed and open cases of the bench policy with their
// events, raised across the last five years, with COPY; it returns how
// many events.
func (b *bench) seedReport(ctx context.Context, n int) (int, error) {
	// A real snapshot, from a case opened through the API, for every row.
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
	// A case with learning has a snapshot of its own, as the workflow
	// writes it when the case closes (or an agreement is proposed): its
	// reference, status, category, stage, when it closed, the learning and
	// the agreement recording it. The report reads the learning of the
	// period from what is kept of them (store/migrations/000019).
	const lesson = "Share the referral threshold guidance with health visitors."
	learnedSnapshot := func(ref, status, category string, stage int, closed *time.Time, agreedAt, proposedAt time.Time, agreed bool) ([]byte, error) {
		s := make(map[string]any, len(snap)+4)
		for k, v := range snap {
			s[k] = v
		}
		st := map[string]any{}
		if m, ok := snap["stage"].(map[string]any); ok {
			for k, v := range m {
				st[k] = v
			}
		}
		st["number"] = stage
		s["ref"], s["status"], s["category"], s["stage"], s["closed_at"] = ref, status, category, st, closed
		agreement := map[string]any{"proposed_by": "Sam", "proposed_by_side": "respondent", "outcome": "Assessment to proceed.",
			"actions": []any{}, "learning": lesson, "confirmed_by": "", "at": nil, "proposed_at": proposedAt}
		switch {
		case closed == nil: // proposed, not yet confirmed
			s["agreement"] = agreement
		case agreed:
			agreement["confirmed_by"], agreement["at"] = "Hana", agreedAt
			s["agreement"], s["learning"] = agreement, lesson
		default: // the partnership's outcome
			s["learning"] = lesson
		}
		return json.Marshal(s)
	}
	// Which learning, drawn apart from the cases (rng below), so the cases
	// and events are those earlier runs seeded.
	lrng := rand.New(rand.NewPCG(3, 4))

	agencies := []string{"nhft", "nct", "northants-police", "kgh", "ngh", "education"}
	categories := []string{"threshold-csc-assessment", "threshold-health-service", "further-information-requested", "communication"}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	span := 5 * 365 * 24 * time.Hour
	// Events as the record writes them, with their structured fields (a
	// move's stages, the resolving event), which the report reads.
	type ev struct {
		at       time.Time
		typ      string
		stage    int
		from, to *int
		move     *string
		resolved *bool
		closed   *string
	}
	var evRows [][]any
	flushEvents := func() error {
		if len(evRows) == 0 {
			return nil
		}
		_, err := b.sys.db.CopyFrom(ctx, pgx.Identifier{"events"},
			[]string{"ref", "seq", "run_id", "at", "type", "stage", "by_name", "by_email", "text",
				"from_stage", "to_stage", "move", "resolved", "closed_status"}, pgx.CopyFromRows(evRows))
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
		one, opened, escalated := 1, "opened", "escalated"
		evs = append(evs, ev{at: at, typ: "case_opened", stage: 1},
			ev{at: at, typ: "stage_entered", stage: 1, to: &one, move: &opened})
		for k := 2; k <= stage; k++ {
			at = at.Add(time.Duration(1+rng.IntN(5)) * 24 * time.Hour)
			from, to := k-1, k
			evs = append(evs, ev{at: at, typ: "deadline_passed", stage: k - 1},
				ev{at: at, typ: "escalated", stage: k - 1, from: &from, to: &to, move: &escalated},
				ev{at: at, typ: "stage_entered", stage: k, from: &from, to: &to, move: &escalated})
		}
		for k := rng.IntN(3); k > 0; k-- {
			at = at.Add(time.Hour)
			evs = append(evs, ev{at: at, typ: "note", stage: stage})
		}
		if status != "open" {
			at = at.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
			t := at
			closed = &t
			typ, resolved, closedStatus := "agreement_confirmed", true, status
			if status == "withdrawn" {
				typ, resolved = "withdrawn", false
			}
			evs = append(evs, ev{at: at, typ: typ, stage: stage, resolved: &resolved, closed: &closedStatus})
		}
		if closed != nil && closed.After(now) {
			closed = nil
			status = "open"
			evs = evs[:len(evs)-1]
		}
		learns := status == "resolved" && rng.IntN(100) == 0
		raiser, respondent := agencies[rng.IntN(len(agencies))], agencies[rng.IntN(len(agencies))]
		category := categories[rng.IntN(len(categories))]
		snapshot := plain
		// 1 resolved case in 100 records learning, three in four of them
		// agreed, the rest the partnership's outcome; 1 open case in 100
		// has an agreement with learning proposed.
		if learns || status == "open" && lrng.IntN(100) == 0 {
			proposed := created.Add(time.Duration(lrng.Int64N(int64(at.Sub(created)) + 1)))
			if snapshot, err = learnedSnapshot(ref, status, category, stage, closed, at, proposed, lrng.IntN(4) > 0); err != nil {
				return 0, err
			}
		}
		caseRows = append(caseRows, []any{ref, "bench", status, stage, at.Add(5 * 24 * time.Hour), false,
			category, raiser, respondent, []string{"raiser@" + raiser + ".example", "sam@nct.example"},
			created, closed, len(evs), snapshot})
		for k, e := range evs {
			evRows = append(evRows, []any{ref, k + 1, "seed", e.at, e.typ, e.stage, "Seed", "seed@bench.example", "seeded",
				e.from, e.to, e.move, e.resolved, e.closed})
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
