package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Closure is a partnership's closure date: a one-off non-working day.
type Closure struct {
	Policy string
	// Date is the day, yyyy-mm-dd (a local date of the policy's zone).
	Date            string
	Reason          string
	RecordedBy      string
	RecordedByEmail string
	RecordedAt      time.Time
}

// closureCols are a closure's columns as scanClosure reads them.
const closureCols = `policy_id, to_char(day, 'YYYY-MM-DD'), reason, recorded_by, recorded_by_email, recorded_at`

func scanClosure(row pgx.Row) (Closure, error) {
	var c Closure
	err := row.Scan(&c.Policy, &c.Date, &c.Reason, &c.RecordedBy, &c.RecordedByEmail, &c.RecordedAt)
	return c, err
}

// AddClosure records a closure, once per policy and date: if the date is
// already recorded for the policy, nothing changes and the closure first
// recorded is returned with created false.
func (s *Store) AddClosure(ctx context.Context, c Closure) (_ Closure, created bool, err error) {
	ctx, done := s.call(ctx, "AddClosure", writes, s.timeout)
	defer done(&err)
	out, err := scanClosure(s.pool.QueryRow(ctx, `INSERT INTO partnership_closures (policy_id, day, reason, recorded_by, recorded_by_email)
		VALUES ($1, $2::date, $3, $4, $5) ON CONFLICT (policy_id, day) DO NOTHING RETURNING `+closureCols,
		c.Policy, c.Date, c.Reason, c.RecordedBy, c.RecordedByEmail))
	if err == nil {
		return out, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Closure{}, false, err
	}
	out, err = scanClosure(s.pool.QueryRow(ctx, `SELECT `+closureCols+` FROM partnership_closures WHERE policy_id = $1 AND day = $2::date`,
		c.Policy, c.Date))
	return out, false, err
}

// Closures lists a policy's closures on or after from (yyyy-mm-dd; ""
// for all), by date.
func (s *Store) Closures(ctx context.Context, policy, from string) (_ []Closure, err error) {
	ctx, done := s.call(ctx, "Closures", reads, s.timeout)
	defer done(&err)
	if from == "" {
		from = "0001-01-01"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+closureCols+`
		FROM partnership_closures WHERE policy_id = $1 AND day >= $2::date ORDER BY day`, policy, from)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Closure, error) { return scanClosure(r) })
}

// OpenCaseRefsOf lists the references of a policy's open cases, oldest
// first: the cases a new closure is sent to.
func (s *Store) OpenCaseRefsOf(ctx context.Context, policy string) (_ []string, err error) {
	ctx, done := s.call(ctx, "OpenCaseRefsOf", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT ref FROM cases WHERE closed_at IS NULL AND policy = $1 ORDER BY created_at, ref`, policy)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
