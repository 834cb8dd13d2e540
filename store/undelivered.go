package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Undelivered is a notification that has not reached its recipient: failed
// for good, or still being retried. It names the case and the recipient,
// never what was sent.
type Undelivered struct {
	ID        int64     `json:"id"`
	Ref       string    `json:"ref"`
	Policy    string    `json:"policy"`
	Seq       int       `json:"event_seq"`
	Channel   string    `json:"channel"`
	To        string    `json:"to"`
	Name      string    `json:"recipient_name"`
	Why       string    `json:"why"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
	// LastError is the last attempt's error, for operators only.
	LastError string `json:"last_error,omitempty"`
}

// UndeliveredFilter narrows the list: Policy "" is every policy; Status is
// NoteFailed or NoteRetrying; BeforeID is the keyset position (newest
// first) of the last one seen.
type UndeliveredFilter struct {
	Policy   string
	Status   string
	Limit    int
	BeforeID int64
}

// UndeliveredNotifications lists notifications of one delivery status
// across cases, newest first, and whether there are more. The partial
// index notifications_status serves it.
func (s *Store) UndeliveredNotifications(ctx context.Context, f UndeliveredFilter) (_ []Undelivered, _ bool, err error) {
	ctx, done := s.call(ctx, "UndeliveredNotifications", reads, s.timeout)
	defer done(&err)
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var before any
	if f.BeforeID > 0 {
		before = f.BeforeID
	}
	rows, err := s.pool.Query(ctx, `
SELECT n.id, n.ref, c.policy, n.seq, n.channel, n.target, n.recipient_name, n.why, n.status, n.attempts,
       n.created_at, coalesce(n.last_error, '')
FROM notifications n JOIN cases c ON c.ref = n.ref
WHERE n.status = $1
  AND ($2 = '' OR c.policy = $2)
  AND ($3::bigint IS NULL OR n.id < $3)
ORDER BY n.id DESC
LIMIT $4`, f.Status, f.Policy, before, limit+1)
	if err != nil {
		return nil, false, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Undelivered, error) {
		var u Undelivered
		err := r.Scan(&u.ID, &u.Ref, &u.Policy, &u.Seq, &u.Channel, &u.To, &u.Name, &u.Why, &u.Status, &u.Attempts,
			&u.CreatedAt, &u.LastError)
		return u, err
	})
	if err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// SettleNotifications marks the notifications of the given events that are
// still pending or retrying as failed: no attempt is left for them. It is
// the last word on a delivery, however the last attempt ended.
func (s *Store) SettleNotifications(ctx context.Context, ref string, seqs []int) (_ int64, err error) {
	ctx, done := s.call(ctx, "SettleNotifications", writes, s.timeout)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `UPDATE notifications SET status = 'failed',
		last_error = coalesce(last_error || '; ', '') || 'no attempts left'
		WHERE ref = $1 AND seq = ANY($2) AND status IN ('pending', 'retrying')`, ref, seqs)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
