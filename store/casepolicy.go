package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"escalate/policies"
)

// CasePolicy is the policy a case runs under, as it was when it opened.
type CasePolicy struct {
	Policy policies.Policy
	// Hash is the SHA-256 of the snapshot as recorded (JSON).
	Hash []byte
}

// insertCasePolicy keeps the case's policy snapshot, once: the opening's
// retry changes nothing.
func insertCasePolicy(ctx context.Context, tx pgx.Tx, ref string, p policies.Policy) error {
	content, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(content)
	_, err = tx.Exec(ctx, `INSERT INTO case_policies (ref, policy_id, hash, content) VALUES ($1, $2, $3, $4)
		ON CONFLICT (ref) DO NOTHING`, ref, p.ID, sum[:], content)
	if err != nil {
		return err
	}
	return setAgencyIDs(ctx, tx, ref, p)
}

// CasePolicy returns the policy snapshot a case runs under, or ErrNotFound
// for a case opened before snapshots were kept.
func (s *Store) CasePolicy(ctx context.Context, ref string) (_ CasePolicy, err error) {
	ctx, done := s.call(ctx, "CasePolicy", reads, s.timeout)
	defer done(&err)
	var content, hash []byte
	err = s.pool.QueryRow(ctx, `SELECT content, hash FROM case_policies WHERE ref = $1`, ref).Scan(&content, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return CasePolicy{}, ErrNotFound
	}
	if err != nil {
		return CasePolicy{}, err
	}
	var p policies.Policy
	if err := json.Unmarshal(content, &p); err != nil {
		return CasePolicy{}, err
	}
	return CasePolicy{Policy: p, Hash: hash}, nil
}
