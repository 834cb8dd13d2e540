package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// CaseExists reports whether a case with the reference is recorded.
func (s *Store) CaseExists(ctx context.Context, ref string) (_ bool, err error) {
	ctx, done := s.call(ctx, "CaseExists", reads, s.timeout)
	defer done(&err)
	var exists bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cases WHERE ref = $1)`, ref).Scan(&exists)
	return exists, err
}

// RebindRef moves (owner, key) from ref, found taken by another case, to
// next, a fresh reference; a key bound meanwhile elsewhere is left alone.
func (s *Store) RebindRef(ctx context.Context, owner, key, ref, next string) (err error) {
	ctx, done := s.call(ctx, "RebindRef", writes, s.timeout)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `UPDATE idempotency_keys SET ref = $4 WHERE owner = $1 AND key = $2 AND ref = $3`,
		owner, key, ref, next)
	return err
}

// Tokens lists tokens, newest first, with whether each is revoked or
// expired; never a hash. Revoked ones only when includeRevoked.
func (s *Store) Tokens(ctx context.Context, includeRevoked bool, limit int) (_ []Token, err error) {
	ctx, done := s.call(ctx, "Tokens", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT id, name, email, agency, role, created_at, created_by, expires_at, revoked_at
		FROM tokens WHERE ($1 OR revoked_at IS NULL) ORDER BY created_at DESC, id LIMIT $2`, includeRevoked, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) {
		var t Token
		err := r.Scan(&t.ID, &t.Name, &t.Email, &t.Agency, &t.Role, &t.CreatedAt, &t.CreatedBy, &t.ExpiresAt, &t.RevokedAt)
		return t, err
	})
}

// OpenCaseRefs lists the references of the cases PostgreSQL holds open,
// oldest first.
func (s *Store) OpenCaseRefs(ctx context.Context) (_ []string, err error) {
	ctx, done := s.call(ctx, "OpenCaseRefs", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT ref FROM cases WHERE closed_at IS NULL ORDER BY created_at, ref`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// LastSeq is the highest sequence number on a case's record, 0 for none.
func (s *Store) LastSeq(ctx context.Context, ref string) (_ int, err error) {
	ctx, done := s.call(ctx, "LastSeq", reads, s.timeout)
	defer done(&err)
	var n int
	err = s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM events WHERE ref = $1`, ref).Scan(&n)
	return n, err
}
