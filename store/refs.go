package store

import "context"

// CaseExists reports whether a case with the reference is recorded.
func (s *Store) CaseExists(ctx context.Context, ref string) (bool, error) {
	var exists bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cases WHERE ref = $1)`, ref).Scan(&exists)
	return exists, err
}

// RebindRef moves (owner, key) from ref, found taken by another case, to
// next, a fresh reference; a key bound meanwhile elsewhere is left alone.
func (s *Store) RebindRef(ctx context.Context, owner, key, ref, next string) error {
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET ref = $4 WHERE owner = $1 AND key = $2 AND ref = $3`,
		owner, key, ref, next)
	return err
}
