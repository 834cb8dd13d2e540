package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/policies"
	"escalate/workflows"
)

// ReportFilter says what a summary report covers.
type ReportFilter struct {
	// Policy is the policy reported on; "" means every policy.
	Policy string
	// From and To are the period, From included and To not.
	From, To time.Time
	// Now is the instant "open and overdue now" is measured at.
	Now time.Time
	// Clocks are the policies' working-day clocks, by policy id, for time to
	// resolution in working days; a policy without one counts the
	// England-and-Wales calendar in Europe/London.
	Clocks map[string]policies.Clock
	// Directory is the agencies of the policies reported on: those with no
	// case either way in the period are listed.
	Directory []ReportAgency
}

// ReportAgency is one agency of a policy's directory.
type ReportAgency struct {
	Policy string `json:"policy"`
	Agency string `json:"agency"`
	Name   string `json:"name,omitempty"`
}

// Report is the partnership's summary: who escalated to whom, on what, how
// far and how long it took. Counts are of the cases raised in the period;
// deadlines missed and learning are what happened in the period.
type Report struct {
	// Raised is the number of cases raised in the period.
	Raised             int            `json:"raised"`
	ByCategory         map[string]int `json:"by_category"`
	ByRaisingAgency    map[string]int `json:"by_raising_agency"`
	ByRespondingAgency map[string]int `json:"by_responding_agency"`
	// ByRaisingAgencyID and ByRespondingAgencyID are the same by the
	// directory's id (an agency that matches none as declared).
	ByRaisingAgencyID    map[string]int `json:"by_raising_agency_id"`
	ByRespondingAgencyID map[string]int `json:"by_responding_agency_id"`
	// ByHighestStage is keyed by stage number: the highest stage each case
	// entered, however it got there (a case sent back counts its highest).
	ByHighestStage map[string]int `json:"by_highest_stage"`
	ByStatus       map[string]int `json:"by_status"`
	// TimeToResolution is, by the stage at which they were resolved, how
	// long the cases raised in the period and resolved by agreement or
	// partnership outcome took, from raising to resolution.
	TimeToResolution []ResolutionTimes `json:"time_to_resolution"`
	// DeadlinesMissed counts the stage deadlines that passed in the period.
	DeadlinesMissed        int            `json:"deadlines_missed"`
	DeadlinesMissedByStage map[string]int `json:"deadlines_missed_by_stage"`
	// OpenNow and OverdueNow are every open case (open or agreement
	// proposed) at Now, whenever raised, and those past their deadline.
	OpenNow    int `json:"open_now"`
	OverdueNow int `json:"overdue_now"`
	// AgenciesWithoutEscalations are the directory's agencies with no case
	// raised in the period either way: none raised by them, none with them
	// (matched by the directory's id, see orDeclared).
	AgenciesWithoutEscalations []ReportAgency `json:"agencies_without_escalations"`
	// Learning is the learning recorded in the period, oldest first.
	Learning []LearningEntry `json:"learning"`
}

// ResolutionTimes is the time to resolution of the cases resolved at one
// stage: median and 90th percentile (linear interpolation, as PostgreSQL's
// percentile_cont), in hours and in working days.
type ResolutionTimes struct {
	Stage             int     `json:"stage"`
	Resolved          int     `json:"resolved"`
	MedianHours       float64 `json:"median_hours"`
	P90Hours          float64 `json:"p90_hours"`
	MedianWorkingDays float64 `json:"median_working_days"`
	P90WorkingDays    float64 `json:"p90_working_days"`
}

// LearningEntry is learning recorded with an outcome.
type LearningEntry struct {
	Ref      string    `json:"ref"`
	Policy   string    `json:"policy"`
	Category string    `json:"category"`
	Stage    int       `json:"stage"`
	Learning string    `json:"learning"`
	At       time.Time `json:"at"`
	// Source is "agreement" (an agreed outcome), "outcome" (the
	// partnership's outcome) or "proposed_agreement" (not yet confirmed).
	Source string `json:"source"`
}

// Learning sources.
const (
	LearningAgreement         = "agreement"
	LearningOutcome           = "outcome"
	LearningProposedAgreement = "proposed_agreement"
)

// Summary builds the summary report of one policy (or all) for a period.
//
// The counts of the cases raised and of the deadlines passed come, for the
// whole UTC days of the period, from the rollups PostgreSQL keeps as cases
// and events are written (store/migrations/000016), and for the rest of it
// (a reporting year starts at 23:00Z in summer) from the cases and events
// themselves, case by case, as summaryExact does for the whole period. Time
// to resolution reads the resolved cases of the period, with the event that
// resolved each kept on the case, in one pass (resolutionIn); the learning
// is read from the entries kept on the cases (learningIn,
// store/migrations/000019), only the period's.
func (s *Store) Summary(ctx context.Context, f ReportFilter) (_ Report, err error) {
	ctx, done := s.call(ctx, "Summary", reads, s.timeout)
	defer done(&err)
	return s.summary(ctx, f, false, nil)
}

// summaryExact is Summary computed case by case from the cases and events
// alone, for the whole period, time to resolution and learning from each
// case's events and snapshot, case by case: what the rollups, the columns
// kept on the cases and resolutionIn's counting must always agree with (the
// tests hold them to it).
func (s *Store) summaryExact(ctx context.Context, f ReportFilter) (_ Report, err error) {
	ctx, done := s.call(ctx, "SummaryExact", reads, s.timeout)
	defer done(&err)
	return s.summary(ctx, f, true, nil)
}

// ExplainSummary builds the summary report as Summary does and returns
// the plan of each of its queries as it ran (EXPLAIN ANALYZE, BUFFERS),
// with its SQL: what make bench writes to bench-plans.txt.
func (s *Store) ExplainSummary(ctx context.Context, f ReportFilter) (_ string, err error) {
	ctx, done := s.call(ctx, "ExplainSummary", reads, s.timeout)
	defer done(&err)
	var plans strings.Builder
	_, err = s.summary(ctx, f, false, &plans)
	return plans.String(), err
}

// explainingTx runs each query twice: under EXPLAIN ANALYZE, writing its
// plan, and then as itself.
type explainingTx struct {
	pgx.Tx
	plans *strings.Builder
}

func (t explainingTx) explain(ctx context.Context, sql string, args ...any) error {
	rows, err := t.Tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		return err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	fmt.Fprintf(t.plans, "-- %s\n-- with %v\n%s\n\n", strings.TrimSpace(sql), args, strings.Join(lines, "\n"))
	return nil
}

func (t explainingTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.explain(ctx, sql, args...); err != nil {
		return nil, err
	}
	return t.Tx.Query(ctx, sql, args...)
}

func (t explainingTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.explain(ctx, sql, args...); err != nil {
		return errRow{err}
	}
	return t.Tx.QueryRow(ctx, sql, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (s *Store) summary(ctx context.Context, f ReportFilter, exact bool, plans *strings.Builder) (Report, error) {
	r := Report{
		ByCategory: map[string]int{}, ByRaisingAgency: map[string]int{}, ByRespondingAgency: map[string]int{},
		ByRaisingAgencyID: map[string]int{}, ByRespondingAgencyID: map[string]int{},
		ByHighestStage: map[string]int{}, ByStatus: map[string]int{}, DeadlinesMissedByStage: map[string]int{},
		TimeToResolution: []ResolutionTimes{}, AgenciesWithoutEscalations: []ReportAgency{}, Learning: []LearningEntry{},
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return Report{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Each query planned for its own period and policy, never a generic
	// plan for any (the partial indexes and the rollups' days).
	if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
		return Report{}, err
	}
	if plans != nil {
		tx = explainingTx{tx, plans}
	}

	involved := map[string]int{} // policy + "\x00" + directory id, either side: cases
	count := func(policy, dim, key string, n int) {
		switch dim {
		case dimRaised:
			r.Raised += n
		case dimCategory:
			r.ByCategory[key] += n
		case dimRaiser:
			r.ByRaisingAgency[key] += n
		case dimRespondent:
			r.ByRespondingAgency[key] += n
		case dimRaiserID:
			r.ByRaisingAgencyID[key] += n
			involved[policy+"\x00"+key] += n
		case dimRespondentID:
			r.ByRespondingAgencyID[key] += n
			involved[policy+"\x00"+key] += n
		case dimHighest:
			r.ByHighestStage[key] += n
		case dimStatus:
			r.ByStatus[key] += n
		}
	}
	missed := func(stage, n int) {
		r.DeadlinesMissed += n
		r.DeadlinesMissedByStage[strconv.Itoa(stage)] += n
	}
	// The period's edges, read case by case: all of it when exact or when
	// it holds no whole UTC day.
	edges := [][2]time.Time{{f.From, f.To}}
	if first, last, ok := wholeDays(f.From, f.To); ok && !exact {
		edges = [][2]time.Time{{f.From, first}, {last, f.To}}
		if err := raisedRolledUp(ctx, tx, f.Policy, first, last, count); err != nil {
			return Report{}, err
		}
		if err := missedRolledUp(ctx, tx, f.Policy, first, last, missed); err != nil {
			return Report{}, err
		}
	}
	for _, e := range edges {
		if !e[0].Before(e[1]) {
			continue
		}
		if err := raisedCaseByCase(ctx, tx, f.Policy, e[0], e[1], count); err != nil {
			return Report{}, err
		}
		if err := missedCaseByCase(ctx, tx, f.Policy, e[0], e[1], missed); err != nil {
			return Report{}, err
		}
	}
	// Counts that cancelled out (a case that moved on) are no key at all.
	for _, m := range []map[string]int{r.ByCategory, r.ByRaisingAgency, r.ByRespondingAgency, r.ByRaisingAgencyID,
		r.ByRespondingAgencyID, r.ByHighestStage, r.ByStatus, r.DeadlinesMissedByStage} {
		for k, n := range m {
			if n == 0 {
				delete(m, k)
			}
		}
	}

	if exact {
		byStage, err := resolvedExact(ctx, tx, f)
		if err != nil {
			return Report{}, err
		}
		r.TimeToResolution = append(r.TimeToResolution, resolutionTimes(byStage)...)
	} else {
		times, err := resolutionIn(ctx, tx, f)
		if err != nil {
			return Report{}, err
		}
		r.TimeToResolution = append(r.TimeToResolution, times...)
	}

	if r.OpenNow, r.OverdueNow, err = openNow(ctx, tx, f.Policy, f.Now); err != nil {
		return Report{}, err
	}

	if exact {
		r.Learning, err = learningExact(ctx, tx, f.Policy, f.From, f.To)
	} else {
		r.Learning, err = learningIn(ctx, tx, f.Policy, f.From, f.To)
	}
	if err != nil {
		return Report{}, err
	}
	sort.Slice(r.Learning, func(i, j int) bool {
		if !r.Learning[i].At.Equal(r.Learning[j].At) {
			return r.Learning[i].At.Before(r.Learning[j].At)
		}
		return r.Learning[i].Ref < r.Learning[j].Ref
	})

	for _, a := range f.Directory {
		if involved[a.Policy+"\x00"+a.Agency] == 0 {
			r.AgenciesWithoutEscalations = append(r.AgenciesWithoutEscalations, a)
		}
	}
	return r, tx.Commit(ctx)
}

// The dimensions a case raised is counted under, as report_raised_keys
// (store/migrations/000016) names them; the agencies by directory id are
// the id, or for a case whose agency matched none (or that opened before
// ids were kept and had no policy snapshot to fill them from) the agency
// as declared, which may itself be an id.
const (
	dimRaised       = "raised"
	dimCategory     = "category"
	dimRaiser       = "raiser"
	dimRespondent   = "respondent"
	dimRaiserID     = "raiser_id"
	dimRespondentID = "respondent_id"
	dimHighest      = "highest"
	dimStatus       = "status"
)

// ReportTriggers are the triggers (table, trigger) that keep the report's
// figures as cases and events are written (store/migrations/000016, and
// 000019's learning kept on the case). A bulk load may switch them off
// (ALTER TABLE ... DISABLE TRIGGER) and then call report_rebuild(), which
// recomputes everything they keep.
var ReportTriggers = [][2]string{
	{"cases", "report_cases_inserted"}, {"cases", "report_cases_updated"}, {"cases", "report_case_policy_changed"},
	{"cases", "report_case_learning"}, {"events", "report_event_recorded"}, {"events", "report_deadline_passed"},
}

// wholeDays are the first and last UTC midnights within [from, to), when
// at least one whole UTC day lies between them.
func wholeDays(from, to time.Time) (first, last time.Time, ok bool) {
	first = from.UTC().Truncate(24 * time.Hour)
	if first.Before(from) {
		first = first.Add(24 * time.Hour)
	}
	last = to.UTC().Truncate(24 * time.Hour)
	return first, last, first.Before(last)
}

// policyIs is the condition on column that selects policy ("" every
// policy, the condition then true), as $1: a query planned for one policy
// uses the indexes that lead with it.
func policyIs(column, policy string) string {
	if policy == "" {
		return "$1 = ''"
	}
	return column + " = $1"
}

// raisedRolledUp counts the cases raised on the UTC days from first to last
// (exclusive) from the rollups.
func raisedRolledUp(ctx context.Context, tx pgx.Tx, policy string, first, last time.Time, count func(policy, dim, key string, n int)) error {
	rows, err := tx.Query(ctx, `
SELECT policy, dim, key, sum(n)
FROM report_raised
WHERE `+policyIs("policy", policy)+` AND day >= $2::date AND day < $3::date
GROUP BY policy, dim, key
HAVING sum(n) <> 0`, policy, first.Format(time.DateOnly), last.Format(time.DateOnly))
	if err != nil {
		return err
	}
	return countRows(rows, count)
}

// raisedCaseByCase counts the cases raised from from to to (exclusive) one
// by one, with the highest stage a move took each to (events.to_stage).
func raisedCaseByCase(ctx context.Context, tx pgx.Tx, policy string, from, to time.Time, count func(policy, dim, key string, n int)) error {
	rows, err := tx.Query(ctx, `
SELECT c.policy, k.dim, k.key, count(*)
FROM cases c
CROSS JOIN LATERAL report_raised_keys(c.category, c.raiser_agency, c.respondent_agency, c.raiser_agency_id, c.respondent_agency_id,
    greatest(c.stage, coalesce((SELECT max(e.to_stage) FROM events e WHERE e.ref = c.ref AND e.to_stage IS NOT NULL), 0)),
    c.status) k
WHERE `+policyIs("c.policy", policy)+` AND c.created_at >= $2 AND c.created_at < $3
GROUP BY c.policy, k.dim, k.key`, policy, from, to)
	if err != nil {
		return err
	}
	return countRows(rows, count)
}

func countRows(rows pgx.Rows, count func(policy, dim, key string, n int)) error {
	defer rows.Close()
	for rows.Next() {
		var policy, dim, key string
		var n int
		if err := rows.Scan(&policy, &dim, &key, &n); err != nil {
			return err
		}
		count(policy, dim, key, n)
	}
	return rows.Err()
}

// missedRolledUp counts the deadlines that passed on the UTC days from
// first to last (exclusive) from the rollup.
func missedRolledUp(ctx context.Context, tx pgx.Tx, policy string, first, last time.Time, missed func(stage, n int)) error {
	rows, err := tx.Query(ctx, `
SELECT stage, sum(n)
FROM report_deadlines
WHERE `+policyIs("policy", policy)+` AND day >= $2::date AND day < $3::date
GROUP BY stage`, policy, first.Format(time.DateOnly), last.Format(time.DateOnly))
	if err != nil {
		return err
	}
	return missedRows(rows, missed)
}

// missedCaseByCase counts the deadlines that passed from from to to
// (exclusive), whenever the case was raised; each one's policy looked up
// by the case's key (a scalar subquery, which the planner cannot turn into
// reading every case of the policy to hash them).
func missedCaseByCase(ctx context.Context, tx pgx.Tx, policy string, from, to time.Time, missed func(stage, n int)) error {
	rows, err := tx.Query(ctx, `
SELECT e.stage, count(*)
FROM events e
WHERE e.type = $4 AND e.at >= $2 AND e.at < $3
  AND ($1 = '' OR (SELECT c.policy FROM cases c WHERE c.ref = e.ref) = $1)
GROUP BY e.stage`, policy, from, to, workflows.EventDeadlinePassed)
	if err != nil {
		return err
	}
	return missedRows(rows, missed)
}

func missedRows(rows pgx.Rows, missed func(stage, n int)) error {
	defer rows.Close()
	for rows.Next() {
		var stage, n int
		if err := rows.Scan(&stage, &n); err != nil {
			return err
		}
		missed(stage, n)
	}
	return rows.Err()
}

// resolvedExact is how long each case raised in the period and resolved
// took, by the stage it was resolved at, case by case: the event that
// resolved it, looked up in its events, says at which stage and when; a
// case without one (it cannot be, since 000013 derived the field for every
// closing event) falls back to the row. What resolutionIn must agree with.
func resolvedExact(ctx context.Context, tx pgx.Tx, f ReportFilter) (map[int][]resolution, error) {
	// The status as a constant: the partial index's condition.
	rows, err := tx.Query(ctx, `
SELECT c.policy, c.stage, c.created_at, c.closed_at, r.stage, r.at FROM cases c
LEFT JOIN LATERAL (SELECT e.stage, e.at FROM events e
                   WHERE e.ref = c.ref AND e.resolved ORDER BY e.seq DESC LIMIT 1) r ON true
WHERE `+policyIs("c.policy", f.Policy)+` AND c.created_at >= $2 AND c.created_at < $3
  AND c.status = '`+workflows.StatusResolved+`' AND c.closed_at IS NOT NULL`, f.Policy, f.From, f.To)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byStage := map[int][]resolution{}
	var policy string
	var stage int
	var created, closed time.Time
	var resolvedStage *int
	var resolvedAt *time.Time
	for rows.Next() {
		if err := rows.Scan(&policy, &stage, &created, &closed, &resolvedStage, &resolvedAt); err != nil {
			return nil, err
		}
		if resolvedStage != nil && resolvedAt != nil {
			stage, closed = *resolvedStage, *resolvedAt
		}
		clock := clockFor(f.Clocks, policy)
		byStage[stage] = append(byStage[stage], resolution{hours: closed.Sub(created).Hours(),
			days: float64(clock.WorkingDaysBetween(created, closed))})
	}
	return byStage, rows.Err()
}

// resolutionIn is resolutionTimes of the cases raised in the period and
// resolved, from the resolving event kept on each case (resolved_stage,
// resolved_at, chosen in SQL, as resolvedExact falls back to the row; the
// cases_resolved_policy_created index holds all that is read), with only
// what it needs: the stage and the two instants, and the policy when
// every policy is reported. The hours are sorted once a stage. The working
// days depend only on the two local dates: the cases are counted by stage
// and pair of dates, each pair's working days are those between its two
// dates' running totals (the policy's working days asked once a date), and
// the percentiles come from how many cases took each.
//
// Aggregating in PostgreSQL instead (percentile_cont over the hours, counts
// by pair of local dates with AT TIME ZONE) gave the same answers but took
// longer than this at 1,000,000 cases (docs/performance.md).
func resolutionIn(ctx context.Context, tx pgx.Tx, f ReportFilter) ([]ResolutionTimes, error) {
	policyColumn := "''"
	if f.Policy == "" {
		policyColumn = "c.policy"
	}
	// The status as a constant: the partial index's condition.
	rows, err := tx.Query(ctx, `
SELECT `+policyColumn+`,
       CASE WHEN c.resolved_stage IS NOT NULL AND c.resolved_at IS NOT NULL THEN c.resolved_stage ELSE c.stage END,
       c.created_at,
       CASE WHEN c.resolved_stage IS NOT NULL AND c.resolved_at IS NOT NULL THEN c.resolved_at ELSE c.closed_at END
FROM cases c
WHERE `+policyIs("c.policy", f.Policy)+` AND c.created_at >= $2 AND c.created_at < $3
  AND c.status = '`+workflows.StatusResolved+`' AND c.closed_at IS NOT NULL`, f.Policy, f.From, f.To)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Local dates as days since 1970-01-01 in the policy's clock's zone.
	type stagePair struct {
		stage            int
		raised, resolved int64
	}
	type policyDays struct {
		clock            policies.Clock
		raised, resolved zoneDays
		cases            map[stagePair]int
	}
	byPolicy := map[string]*policyDays{}
	hours := map[int][]float64{}
	var policy string
	var stage int
	var created, resolved time.Time
	for rows.Next() {
		if err := rows.Scan(&policy, &stage, &created, &resolved); err != nil {
			return nil, err
		}
		if f.Policy != "" {
			policy = f.Policy
		}
		pd := byPolicy[policy]
		if pd == nil {
			clock := clockFor(f.Clocks, policy)
			pd = &policyDays{clock: clock, raised: zoneDays{loc: clock.Location}, resolved: zoneDays{loc: clock.Location},
				cases: map[stagePair]int{}}
			byPolicy[policy] = pd
		}
		pd.cases[stagePair{stage, pd.raised.day(created), pd.resolved.day(resolved)}]++
		hours[stage] = append(hours[stage], resolved.Sub(created).Hours())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	days := map[int]map[int]int{} // by stage, working days: how many cases took them
	for _, pd := range byPolicy {
		first, last := int64(math.MaxInt64), int64(math.MinInt64)
		for k := range pd.cases {
			first, last = min(first, k.raised, k.resolved), max(last, k.raised, k.resolved)
		}
		// upTo[i] is how many of the dates first+1 to first+i are working
		// days: those after one date up to another are the difference
		// (policies.Clock.WorkingDaysBetween, as deadlines count them).
		upTo := make([]int, last-first+1)
		for i := 1; i < len(upTo); i++ {
			y, m, d := time.Unix((first+int64(i))*86400, 0).UTC().Date()
			upTo[i] = upTo[i-1]
			if pd.clock.IsWorkingDay(y, m, d) {
				upTo[i]++
			}
		}
		for k, n := range pd.cases {
			w := 0
			if k.resolved > k.raised {
				w = upTo[k.resolved-first] - upTo[k.raised-first]
			}
			if days[k.stage] == nil {
				days[k.stage] = map[int]int{}
			}
			days[k.stage][w] += n
		}
	}
	stages := make([]int, 0, len(hours))
	for n := range hours {
		stages = append(stages, n)
	}
	sort.Ints(stages)
	out := make([]ResolutionTimes, 0, len(stages))
	for _, n := range stages {
		h := hours[n]
		sort.Float64s(h)
		hour := func(i int) float64 { return h[i] }
		day := countedValues(days[n])
		out = append(out, ResolutionTimes{
			Stage: n, Resolved: len(h),
			MedianHours: round2(interpolate(len(h), 0.5, hour)), P90Hours: round2(interpolate(len(h), 0.9, hour)),
			MedianWorkingDays: round2(interpolate(len(h), 0.5, day)), P90WorkingDays: round2(interpolate(len(h), 0.9, day)),
		})
	}
	return out, nil
}

// zoneDays gives the local date of instants in one time zone, as days since
// 1970-01-01: the date of the instant shifted by the offset of the zone in
// effect then (as time.Time.Date computes it), the zone and its bounds
// looked up only when an instant falls outside the last one's.
type zoneDays struct {
	loc        *time.Location
	start, end time.Time // the last zone's bounds; zero: unbounded
	offset     int64
	ok         bool
}

func (z *zoneDays) day(t time.Time) int64 {
	if !z.ok || !z.start.IsZero() && t.Before(z.start) || !z.end.IsZero() && !t.Before(z.end) {
		local := t.In(z.loc)
		_, offset := local.Zone()
		z.start, z.end = local.ZoneBounds()
		z.offset, z.ok = int64(offset), true
	}
	s := t.Unix() + z.offset
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// countedValues is the value at each index of the values counted (value:
// how many times), in order.
func countedValues(counts map[int]int) func(int) float64 {
	values := make([]int, 0, len(counts))
	for v := range counts {
		values = append(values, v)
	}
	sort.Ints(values)
	return func(i int) float64 {
		for _, v := range values {
			if i < counts[v] {
				return float64(v)
			}
			i -= counts[v]
		}
		panic("countedValues: index out of range")
	}
}

// openNow counts the cases of policy ("" every policy) open now, whenever
// raised, and those of them overdue (the cases_open_policy_due index).
func openNow(ctx context.Context, tx pgx.Tx, policy string, now time.Time) (open, overdue int, err error) {
	err = tx.QueryRow(ctx, `
SELECT count(*), count(*) FILTER (WHERE `+overdueSQL("$2")+`)
FROM cases
WHERE ($1 = '' OR policy = $1) AND closed_at IS NULL`, policy, now).Scan(&open, &overdue)
	return open, overdue, err
}

// learningIn is the learning recorded from from to to (exclusive) on the
// cases of policy ("" every policy), in no order: the entries kept on the
// cases (learning_entry, store/migrations/000019) whose instant falls in the
// period, by the cases_learning_policy_at index. learning_at is the instant
// to the microsecond (PostgreSQL rounds), so the index is read a little
// wider and the entry's own instant decides; an entry whose instant
// PostgreSQL could not read (learning_at -infinity) is read whatever the
// period.
func learningIn(ctx context.Context, tx pgx.Tx, policy string, from, to time.Time) ([]LearningEntry, error) {
	rows, err := tx.Query(ctx, `
SELECT learning_entry FROM cases
WHERE `+policyIs("policy", policy)+` AND learning_entry IS NOT NULL
  AND learning_at >= $2::timestamptz - interval '2 microseconds' AND learning_at < $3::timestamptz + interval '2 microseconds'
UNION ALL
SELECT learning_entry FROM cases
WHERE `+policyIs("policy", policy)+` AND learning_entry IS NOT NULL AND learning_at = '-infinity'`, policy, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LearningEntry{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var e LearningEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, err
		}
		if !e.At.Before(from) && e.At.Before(to) {
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

// learningExact is learningIn computed from the snapshots alone, every
// learning case's decoded in Go (learningOf): what the entries kept on the
// cases must agree with. The filter is 000015's cases_learning index's.
func learningExact(ctx context.Context, tx pgx.Tx, policy string, from, to time.Time) ([]LearningEntry, error) {
	rows, err := tx.Query(ctx, `
SELECT snapshot FROM cases
WHERE ($1 = '' OR policy = $1)
  AND (coalesce(snapshot->>'learning', '') <> '' OR coalesce(snapshot->'agreement'->>'learning', '') <> '')`, policy)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LearningEntry{}
	for rows.Next() {
		var snap []byte
		if err := rows.Scan(&snap); err != nil {
			return nil, err
		}
		var c workflows.Case
		if err := json.Unmarshal(snap, &c); err != nil {
			return nil, err
		}
		if e, ok := learningOf(c); ok && !e.At.Before(from) && e.At.Before(to) {
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

// learningOf is the learning a case records, when and how.
func learningOf(c workflows.Case) (LearningEntry, bool) {
	e := LearningEntry{Ref: c.Ref, Policy: c.Policy, Category: c.Category, Stage: c.Stage.Number}
	switch {
	case c.Closed() && c.Learning != "" && c.ClosedAt != nil:
		e.Learning, e.At, e.Source = c.Learning, *c.ClosedAt, LearningOutcome
		if c.Agreement != nil && c.Agreement.At != nil && c.Agreement.Learning == c.Learning {
			e.At, e.Source = *c.Agreement.At, LearningAgreement
		}
	case !c.Closed() && c.Agreement != nil && c.Agreement.Learning != "":
		e.Learning, e.At, e.Source = c.Agreement.Learning, c.Agreement.ProposedAt, LearningProposedAgreement
	default:
		return LearningEntry{}, false
	}
	return e, true
}

var defaultClock = func() policies.Clock {
	c, err := policies.NewClock(policies.CalendarEnglandAndWales, "", "")
	if err != nil {
		panic(err)
	}
	return c
}()

func clockFor(clocks map[string]policies.Clock, policy string) policies.Clock {
	if c, ok := clocks[policy]; ok && c.Location != nil {
		return c
	}
	return defaultClock
}

// Percentile is the p-th percentile (0 to 1) of values by linear
// interpolation between closest ranks, as PostgreSQL's percentile_cont; 0
// for no values.
func Percentile(values []float64, p float64) float64 {
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	return interpolate(len(v), p, func(i int) float64 { return v[i] })
}

// interpolate is the p-th percentile (0 to 1) of n values in order, the
// i-th given by nth: linear interpolation between closest ranks; 0 for
// none.
func interpolate(n int, p float64, nth func(int) float64) float64 {
	if n == 0 {
		return 0
	}
	rank := p * float64(n-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	return nth(lo) + (rank-float64(lo))*(nth(hi)-nth(lo))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// resolution is how long one resolved case took, in hours and in working
// days, from raising to the event that resolved it.
type resolution struct{ hours, days float64 }

// resolutionTimes are the median and 90th percentile of the times the
// cases resolved at each stage took, stage by stage in order: the summary
// report's and the meeting pack's one rule.
func resolutionTimes(byStage map[int][]resolution) []ResolutionTimes {
	stages := make([]int, 0, len(byStage))
	for n := range byStage {
		stages = append(stages, n)
	}
	sort.Ints(stages)
	out := make([]ResolutionTimes, 0, len(stages))
	for _, n := range stages {
		var hours, days []float64
		for _, v := range byStage[n] {
			hours = append(hours, v.hours)
			days = append(days, v.days)
		}
		out = append(out, ResolutionTimes{
			Stage: n, Resolved: len(byStage[n]),
			MedianHours: round2(Percentile(hours, 0.5)), P90Hours: round2(Percentile(hours, 0.9)),
			MedianWorkingDays: round2(Percentile(days, 0.5)), P90WorkingDays: round2(Percentile(days, 0.9)),
		})
	}
	return out
}
