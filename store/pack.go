package store

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/policies"
	"escalate/workflows"
)

// The partnership's meeting pack: what its group that reviews escalations
// reads at each meeting (Devon's Business Group, Northamptonshire's Quality
// & Governance sub-group, the four-stage policy's Learning Group), for a
// period and the same period a year earlier. Agencies are counted by the
// directory's id (raiser_agency_id, respondent_agency_id), on both sides.

// setAgencyIDs records the directory ids of a case's two agencies when it
// opens, from the policy it runs under (policies.Policy.AgencyID).
func setAgencyIDs(ctx context.Context, tx pgx.Tx, ref string, p policies.Policy) error {
	var raiser, respondent string
	if err := tx.QueryRow(ctx, `SELECT raiser_agency, respondent_agency FROM cases WHERE ref = $1`, ref).
		Scan(&raiser, &respondent); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE cases SET raiser_agency_id = $2, respondent_agency_id = $3 WHERE ref = $1
		AND (raiser_agency_id, respondent_agency_id) IS DISTINCT FROM ($2, $3)`, ref, p.AgencyID(raiser), p.AgencyID(respondent))
	return err
}

// OutsideDirectory is the key under which agencies that are not in the
// directory (typed by someone, matching no agency) are counted.
const OutsideDirectory = ""

// PackFilter says what a pack covers.
type PackFilter struct {
	Policy policies.Policy
	// From and To are the period, From included and To not; the year
	// earlier is the same dates a year before.
	From, To time.Time
	// Now is the instant open and overdue now are measured at.
	Now time.Time
}

// PackFigures are a period's figures.
type PackFigures struct {
	From, To time.Time
	// Raised is the cases raised in the period; the counts below by
	// category, month, stage, status and agency are of them.
	Raised     int
	ByCategory map[string]int
	// Months are the period's calendar months (local), oldest first, each
	// with the cases raised in it by category.
	Months []MonthFigures
	// ByHighestStage: the highest stage each case entered, by stage number.
	ByHighestStage map[int]int
	ByStatus       map[string]int
	// Resolution: how long the cases resolved (by agreement or outcome)
	// took, by the stage they were resolved at.
	Resolution []ResolutionTimes
	// DeadlinesMissed are the stage deadlines that passed in the period,
	// whenever the case was raised; by stage, and by agency: each counts
	// for both agencies of its case.
	DeadlinesMissed int
	MissedByStage   map[int]int
	MissedByAgency  map[string]map[int]int
	// Raising and Receiving count the cases each agency raised and had
	// raised with it, by directory id (OutsideDirectory for the rest).
	Raising, Receiving map[string]int
	// Without are the directory's agencies with no case either way.
	Without []policies.Agency
	// Learning is the learning and good practice recorded in the period,
	// oldest first.
	Learning []LearningEntry
}

// MonthFigures is one month's cases by category.
type MonthFigures struct {
	// Start is the first instant of the month, local.
	Start      time.Time
	Total      int
	ByCategory map[string]int
}

// Pack is the meeting pack: the period, the same period a year earlier,
// and the cases open now.
type Pack struct {
	Policy      string
	Current     PackFigures
	YearEarlier PackFigures
	OpenNow     int
	OverdueNow  int
}

// packCase is one case raised in a period, as the pack reads it.
type packCase struct {
	ref, status, category string
	raiser, respondent    string // directory ids
	stage, highest        int
	created               time.Time
	closed                *time.Time
}

// MeetingPack builds the pack of f.Policy for the period and the same
// period a year earlier, in one consistent read.
func (s *Store) MeetingPack(ctx context.Context, f PackFilter) (_ Pack, err error) {
	ctx, done := s.call(ctx, "MeetingPack", reads, s.timeout)
	defer done(&err)
	clock, err := f.Policy.Clock()
	if err != nil {
		clock = defaultClock
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return Pack{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	p := Pack{Policy: f.Policy.ID}
	if p.Current, err = packFigures(ctx, tx, f.Policy, clock, f.From, f.To); err != nil {
		return Pack{}, err
	}
	if p.YearEarlier, err = packFigures(ctx, tx, f.Policy, clock, f.From.AddDate(-1, 0, 0), f.To.AddDate(-1, 0, 0)); err != nil {
		return Pack{}, err
	}
	if p.OpenNow, p.OverdueNow, err = openNow(ctx, tx, f.Policy.ID, f.Now); err != nil {
		return Pack{}, err
	}
	return p, tx.Commit(ctx)
}

// agencyIDOf is a case's agency's directory id: the one recorded, or, for
// a case opened before ids were recorded with no policy snapshot to fill
// it from, the declared agency matched against today's directory.
func agencyIDOf(p policies.Policy, recorded, declared string) string {
	if recorded != "" {
		return recorded
	}
	return p.AgencyID(declared)
}

func packFigures(ctx context.Context, tx pgx.Tx, pol policies.Policy, clock policies.Clock, from, to time.Time) (PackFigures, error) {
	var cs []packCase
	// As the summary report reads them: the highest stage each case
	// entered and the event that resolved it, if one did (its stage and
	// instant), both kept on the case (store/migrations/000016).
	rows, err := tx.Query(ctx, `
SELECT c.ref, c.status, c.category, c.raiser_agency, c.respondent_agency, c.raiser_agency_id, c.respondent_agency_id,
       c.stage, c.created_at, c.closed_at, c.highest_stage, c.resolved_stage, c.resolved_at
FROM cases c
WHERE c.policy = $1 AND c.created_at >= $2 AND c.created_at < $3
ORDER BY c.created_at, c.ref`, pol.ID, from, to)
	if err != nil {
		return PackFigures{}, err
	}
	for rows.Next() {
		var c packCase
		var raiser, respondent, raiserID, respondentID string
		var resolvedStage *int
		var resolvedAt *time.Time
		if err := rows.Scan(&c.ref, &c.status, &c.category, &raiser, &respondent, &raiserID, &respondentID,
			&c.stage, &c.created, &c.closed, &c.highest, &resolvedStage, &resolvedAt); err != nil {
			rows.Close()
			return PackFigures{}, err
		}
		if c.status == workflows.StatusResolved && resolvedStage != nil && resolvedAt != nil {
			c.stage, c.closed = *resolvedStage, resolvedAt
		}
		c.raiser, c.respondent = agencyIDOf(pol, raiserID, raiser), agencyIDOf(pol, respondentID, respondent)
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return PackFigures{}, err
	}

	var missed []packMissed
	rows, err = tx.Query(ctx, `
SELECT e.stage, c.raiser_agency, c.respondent_agency, c.raiser_agency_id, c.respondent_agency_id
FROM events e JOIN cases c ON c.ref = e.ref
WHERE c.policy = $1 AND e.type = $4 AND e.at >= $2 AND e.at < $3
ORDER BY e.at, e.ref, e.seq`, pol.ID, from, to, workflows.EventDeadlinePassed)
	if err != nil {
		return PackFigures{}, err
	}
	for rows.Next() {
		var m packMissed
		var raiser, respondent, raiserID, respondentID string
		if err := rows.Scan(&m.stage, &raiser, &respondent, &raiserID, &respondentID); err != nil {
			rows.Close()
			return PackFigures{}, err
		}
		m.raiser, m.respondent = agencyIDOf(pol, raiserID, raiser), agencyIDOf(pol, respondentID, respondent)
		missed = append(missed, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return PackFigures{}, err
	}

	learning, err := learningIn(ctx, tx, pol.ID, from, to)
	if err != nil {
		return PackFigures{}, err
	}
	return buildFigures(pol, clock, from, to, cs, missed, learning), nil
}

type packMissed struct {
	stage              int
	raiser, respondent string
}

// buildFigures counts a period's figures from its cases, missed deadlines
// and learning.
func buildFigures(pol policies.Policy, clock policies.Clock, from, to time.Time, cs []packCase, missed []packMissed, learning []LearningEntry) PackFigures {
	loc := clock.Location
	if loc == nil {
		loc = time.UTC
	}
	f := PackFigures{From: from, To: to, ByCategory: map[string]int{}, ByHighestStage: map[int]int{}, ByStatus: map[string]int{},
		Resolution: []ResolutionTimes{}, MissedByStage: map[int]int{}, MissedByAgency: map[string]map[int]int{},
		Raising: map[string]int{}, Receiving: map[string]int{}, Without: []policies.Agency{}, Learning: []LearningEntry{}}
	for _, st := range pol.Stages {
		f.ByHighestStage[st.Number] = 0
		f.MissedByStage[st.Number] = 0
	}
	for _, cat := range pol.Categories {
		f.ByCategory[cat.ID] = 0
	}
	monthIndex := map[string]int{}
	local := from.In(loc)
	for m := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
		monthIndex[m.Format("2006-01")] = len(f.Months)
		f.Months = append(f.Months, MonthFigures{Start: m, ByCategory: map[string]int{}})
	}
	byStage := map[int][]resolution{}
	for _, c := range cs {
		f.Raised++
		f.ByCategory[c.category]++
		if i, ok := monthIndex[c.created.In(loc).Format("2006-01")]; ok {
			f.Months[i].Total++
			f.Months[i].ByCategory[c.category]++
		}
		f.ByHighestStage[c.highest]++
		f.ByStatus[c.status]++
		f.Raising[c.raiser]++
		f.Receiving[c.respondent]++
		if c.status == workflows.StatusResolved && c.closed != nil {
			byStage[c.stage] = append(byStage[c.stage], resolution{
				hours: c.closed.Sub(c.created).Hours(),
				days:  float64(clock.WorkingDaysBetween(c.created, *c.closed)),
			})
		}
	}
	f.Resolution = resolutionTimes(byStage)
	for _, m := range missed {
		f.DeadlinesMissed++
		f.MissedByStage[m.stage]++
		agencies := []string{m.raiser}
		if m.respondent != m.raiser {
			agencies = append(agencies, m.respondent)
		}
		for _, a := range agencies {
			if f.MissedByAgency[a] == nil {
				f.MissedByAgency[a] = map[int]int{}
			}
			f.MissedByAgency[a][m.stage]++
		}
	}
	for _, a := range pol.DirectoryAgencies() {
		if f.Raising[a.ID] == 0 && f.Receiving[a.ID] == 0 {
			f.Without = append(f.Without, a)
		}
	}
	f.Learning = append(f.Learning, learning...)
	sort.Slice(f.Learning, func(i, j int) bool {
		if !f.Learning[i].At.Equal(f.Learning[j].At) {
			return f.Learning[i].At.Before(f.Learning[j].At)
		}
		return f.Learning[i].Ref < f.Learning[j].Ref
	})
	return f
}

// ---- the period ----

// PackPeriod is the pack's default period: from the last meeting before
// today (its date included, so nothing raised on the day of a meeting
// falls between two packs) to the end of today; with no meeting before
// today, the reporting year (1 April to 31 March) that today falls in.
// since is the last meeting's date, or "".
func PackPeriod(meetings []string, now time.Time, loc *time.Location) (from, to time.Time, since string) {
	today := now.In(loc).Format(time.DateOnly)
	for _, m := range meetings {
		if m < today && m > since {
			since = m
		}
	}
	if since != "" {
		d, err := time.ParseInLocation(time.DateOnly, since, loc)
		if err == nil {
			n := now.In(loc)
			return d, time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, loc), since
		}
	}
	from, to = ReportingYear(now, loc)
	return from, to, ""
}

// NextMeeting is the first meeting on or after today, or "".
func NextMeeting(meetings []string, now time.Time, loc *time.Location) string {
	today := now.In(loc).Format(time.DateOnly)
	next := ""
	for _, m := range meetings {
		if m >= today && (next == "" || m < next) {
			next = m
		}
	}
	return next
}

// ReportingYear is the reporting year (1 April to the next 1 April, local)
// that t falls in.
func ReportingYear(t time.Time, loc *time.Location) (time.Time, time.Time) {
	local := t.In(loc)
	y := local.Year()
	if local.Month() < time.April {
		y--
	}
	return time.Date(y, time.April, 1, 0, 0, 0, 0, loc), time.Date(y+1, time.April, 1, 0, 0, 0, 0, loc)
}

// ---- meeting dates ----

// MaxMeetings is how many meeting dates a partnership may keep.
const MaxMeetings = 60

// ErrTooManyMeetings: the partnership already keeps MaxMeetings dates.
var ErrTooManyMeetings = errors.New("too many meeting dates")

// Meetings are a partnership's meeting dates (yyyy-mm-dd), oldest first.
func (s *Store) Meetings(ctx context.Context, policy string) (_ []string, err error) {
	ctx, done := s.call(ctx, "Meetings", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT to_char(meets_on, 'YYYY-MM-DD') FROM partnership_meetings WHERE policy = $1 ORDER BY meets_on`, policy)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil {
		out = []string{}
	}
	return out, err
}

// AddMeeting keeps a meeting date (yyyy-mm-dd); adding one already kept
// changes nothing. ErrTooManyMeetings past MaxMeetings.
func (s *Store) AddMeeting(ctx context.Context, policy, date, by string) (err error) {
	ctx, done := s.call(ctx, "AddMeeting", writes, s.timeout)
	defer done(&err)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One writer per partnership at a time, so the limit holds.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('partnership_meetings:' || $1))`, policy); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM partnership_meetings WHERE policy = $1`, policy).Scan(&n); err != nil {
			return err
		}
		if n >= MaxMeetings {
			var have bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM partnership_meetings WHERE policy = $1 AND meets_on = $2::date)`,
				policy, date).Scan(&have); err != nil {
				return err
			}
			if !have {
				return ErrTooManyMeetings
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO partnership_meetings (policy, meets_on, added_by) VALUES ($1, $2::date, $3)
			ON CONFLICT (policy, meets_on) DO NOTHING`, policy, date, by)
		return err
	})
}

// RemoveMeeting forgets a meeting date; one not kept is ErrNotFound.
func (s *Store) RemoveMeeting(ctx context.Context, policy, date string) (err error) {
	ctx, done := s.call(ctx, "RemoveMeeting", writes, s.timeout)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `DELETE FROM partnership_meetings WHERE policy = $1 AND meets_on = $2::date`, policy, date)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- the partnership's case list ----

// PartnershipFilter narrows the partnership's list of its cases. Zero
// values mean any.
type PartnershipFilter struct {
	Policy string
	// Status is a status, or "open" (not closed) or "closed".
	Status string
	Stage  int
	Agency string // a directory id, on either side
	// AgencyNames are what Agency may have been declared as (its id and
	// name), for cases opened before ids were kept with no policy snapshot
	// to fill them from.
	AgencyNames []string
	Category    string
	Overdue     bool
	// From and To bound when the cases were raised (From included).
	From, To time.Time
	Now      time.Time
	Limit    int
}

// PartnershipCases lists a policy's cases, newest first, and whether there
// are more than Limit.
func (s *Store) PartnershipCases(ctx context.Context, f PartnershipFilter) (_ []workflows.Case, _ bool, err error) {
	ctx, done := s.call(ctx, "PartnershipCases", reads, s.timeout)
	defer done(&err)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var from, to any
	if !f.From.IsZero() {
		from = f.From
	}
	if !f.To.IsZero() {
		to = f.To
	}
	names := []string{}
	for _, n := range f.AgencyNames {
		names = append(names, strings.ToLower(strings.TrimSpace(n)))
	}
	rows, err := s.pool.Query(ctx, `
SELECT snapshot FROM cases
WHERE policy = $1
  AND ($2 = '' OR ($2 = 'open' AND closed_at IS NULL) OR ($2 = 'closed' AND closed_at IS NOT NULL) OR status = $2)
  AND ($3 = 0 OR stage = $3)
  AND ($4 = '' OR raiser_agency_id = $4 OR respondent_agency_id = $4
       OR (raiser_agency_id = '' AND lower(btrim(raiser_agency)) = ANY($11))
       OR (respondent_agency_id = '' AND lower(btrim(respondent_agency)) = ANY($11)))
  AND ($5 = '' OR category = $5)
  AND (NOT $6 OR `+overdueSQL("$7")+`)
  AND ($8::timestamptz IS NULL OR created_at >= $8)
  AND ($9::timestamptz IS NULL OR created_at < $9)
ORDER BY created_at DESC, ref DESC
LIMIT $10`, f.Policy, f.Status, f.Stage, f.Agency, f.Category, f.Overdue, f.Now, from, to, limit+1, names)
	if err != nil {
		return nil, false, err
	}
	return collectPage(rows, f.Now, limit)
}
