package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Draft is the session's draft (a disagreement being raised in the pages),
// or nil if it has none. ErrNotFound if the session is gone.
func (s *Store) Draft(ctx context.Context, session []byte) (_ []byte, err error) {
	ctx, done := s.call(ctx, "Draft", reads, s.timeout)
	defer done(&err)
	var draft []byte
	err = s.pool.QueryRow(ctx, `SELECT draft FROM web_sessions WHERE hash = $1`, session).Scan(&draft)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return draft, err
}

// SaveDraft replaces the session's draft (nil: none). ErrNotFound if the
// session is gone.
func (s *Store) SaveDraft(ctx context.Context, session, draft []byte) (err error) {
	ctx, done := s.call(ctx, "SaveDraft", writes, s.timeout)
	defer done(&err)
	var arg any
	if draft != nil {
		arg = string(draft)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE web_sessions SET draft = $2::jsonb WHERE hash = $1`, session, arg)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
