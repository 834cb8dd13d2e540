package store

import (
	"bytes"
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ActionKey is what an action's Idempotency-Key is bound to.
type ActionKey struct {
	// Response is the first successful answer, or nil while none has been
	// stored (the first request is in flight, or its answer was lost).
	Response []byte
}

// ClaimActionKey binds (owner, key) to one request, named by its hash (of
// the case, the action and the body), the first time the key is used, and
// returns what is bound to it. The same key with another request is
// ErrIdempotencyMismatch. Concurrent claims of one key agree.
func (s *Store) ClaimActionKey(ctx context.Context, owner, key, ref, action string, requestHash []byte) (_ ActionKey, err error) {
	ctx, done := s.call(ctx, "ClaimActionKey", writes, s.timeout)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `INSERT INTO action_keys (owner, key, ref, action, request_hash) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (owner, key) DO NOTHING`, owner, key, ref, action, requestHash)
	if err != nil {
		return ActionKey{}, err
	}
	var hash, resp []byte
	err = s.pool.QueryRow(ctx, `SELECT request_hash, response FROM action_keys WHERE owner = $1 AND key = $2`, owner, key).Scan(&hash, &resp)
	if errors.Is(err, pgx.ErrNoRows) {
		return ActionKey{}, errors.New("action key vanished after its claim")
	}
	if err != nil {
		return ActionKey{}, err
	}
	if !bytes.Equal(hash, requestHash) {
		return ActionKey{}, ErrIdempotencyMismatch
	}
	return ActionKey{Response: resp}, nil
}

// AnswerActionKey keeps the first successful answer to the key's request;
// a later one never replaces it.
func (s *Store) AnswerActionKey(ctx context.Context, owner, key string, response []byte) (err error) {
	ctx, done := s.call(ctx, "AnswerActionKey", writes, s.timeout)
	defer done(&err)
	_, err = s.pool.Exec(ctx, `UPDATE action_keys SET response = $3, answered_at = now()
		WHERE owner = $1 AND key = $2 AND response IS NULL`, owner, key, response)
	return err
}
