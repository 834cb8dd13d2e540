package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DispatchChannel is what the record NOTIFYs when it has committed
// notifications for the dispatcher (migration 000018's trigger).
const DispatchChannel = "escalate_dispatch"

// ClaimNotifications takes up to limit notifications marked for the
// dispatcher that are due (new, or their retry's time has come), oldest
// first, and moves their due time lease ahead: no other dispatcher claims
// them meanwhile, and if this one dies before it marks them they are
// claimed again once the lease is over. Rows another dispatcher holds are
// skipped, never waited for.
func (s *Store) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) (_ []Notification, err error) {
	ctx, done := s.call(ctx, "ClaimNotifications", writes, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `
WITH due AS (
    SELECT id AS claim_id FROM notifications
    WHERE dispatch AND status IN ('pending', 'retrying') AND due_at <= now()
    ORDER BY due_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE notifications SET due_at = now() + $2 * interval '1 millisecond', claims = claims + 1
FROM due WHERE id = due.claim_id
RETURNING `+notificationColumns, limit, lease.Milliseconds())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanNotification)
}

// MarkDispatched records what the dispatcher's attempt at a notification
// came to: sent or logged; retrying, due again after retryIn; or failed
// for good. A notification that has gone is never marked again, and one
// delivered by a workflow's activity (dispatch false) is not the
// dispatcher's to mark.
func (s *Store) MarkDispatched(ctx context.Context, id int64, status string, sendErr error, retryIn time.Duration) (err error) {
	ctx, done := s.call(ctx, "MarkDispatched", writes, s.timeout)
	defer done(&err)
	return s.mark(ctx, id, status, sendErr, true, retryIn)
}

// DispatchWaiting is how long the notification that has waited longest
// for the dispatcher has been due (0 when none is): a figure that grows
// says no dispatcher is running, or it cannot keep up, for /metrics.
func (s *Store) DispatchWaiting(ctx context.Context) (_ time.Duration, err error) {
	ctx, done := s.call(ctx, "DispatchWaiting", reads, s.timeout)
	defer done(&err)
	var ms float64
	err = s.pool.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM now() - min(due_at)) * 1000, 0) FROM notifications
		WHERE dispatch AND status IN ('pending', 'retrying') AND due_at <= now()`).Scan(&ms)
	return time.Duration(ms) * time.Millisecond, err
}

// DispatchListener holds one connection LISTENing on DispatchChannel.
type DispatchListener struct {
	conn *pgxpool.Conn
}

// ListenDispatch takes a connection from the pool for as long as the
// listener lives and listens on it for notifications to dispatch.
func (s *Store) ListenDispatch(ctx context.Context) (_ *DispatchListener, err error) {
	ctx, done := s.call(ctx, "ListenDispatch", reads, s.timeout)
	defer done(&err)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+DispatchChannel); err != nil {
		closeAndRelease(conn)
		return nil, err
	}
	return &DispatchListener{conn: conn}, nil
}

// Wait returns true when a notification came, false when d passed first.
// Any other error means the connection is no good: Close the listener and
// listen again.
func (l *DispatchListener) Wait(ctx context.Context, d time.Duration) (bool, error) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := l.conn.Conn().WaitForNotification(wctx)
	if err == nil {
		return true, nil
	}
	if ctx.Err() == nil && wctx.Err() != nil && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)) {
		return false, nil
	}
	return false, err
}

// Close ends the listener. Its connection is closed, not returned to the
// pool, where it would go on listening.
func (l *DispatchListener) Close() {
	closeAndRelease(l.conn)
}

func closeAndRelease(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Conn().Close(ctx)
	conn.Release()
}
