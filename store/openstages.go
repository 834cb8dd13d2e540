package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// OpenStageCount is how many open cases of a policy are at one stage, and
// whether they are past that stage's deadline.
type OpenStageCount struct {
	Policy  string
	Stage   int
	Overdue bool
	Count   int64
}

// OpenStageCounts counts the open cases by policy, stage and overdue, for
// /metrics.
func (s *Store) OpenStageCounts(ctx context.Context, now time.Time) (_ []OpenStageCount, err error) {
	ctx, done := s.call(ctx, "OpenStageCounts", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT policy, stage, `+overdueSQL("$1")+`, count(*) FROM cases
		WHERE closed_at IS NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenStageCount, error) {
		var c OpenStageCount
		err := r.Scan(&c.Policy, &c.Stage, &c.Overdue, &c.Count)
		return c, err
	})
}
