package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

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
	return insertCasePolicyJSON(ctx, tx, ref, p, content, sum[:])
}

// insertCasePolicyJSON is insertCasePolicy with p's JSON and its hash
// already made.
func insertCasePolicyJSON(ctx context.Context, tx pgx.Tx, ref string, p policies.Policy, content, sum []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO case_policies (ref, policy_id, hash, content) VALUES ($1, $2, $3, $4)
		ON CONFLICT (ref) DO NOTHING`, ref, p.ID, sum, content)
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

// ErrSnapshotMissing: an opening names its policy snapshot by a hash the
// record does not hold (KeepPolicySnapshot was not called for it), or one
// whose content does not have that hash.
var ErrSnapshotMissing = errors.New("the policy snapshot the case names is not in the record")

// KeepPolicySnapshot keeps a policy snapshot under the SHA-256 of its JSON
// (the hash case_policies gives it) and returns that hash in hex, for the
// case started under it to name in its opening record
// (workflows.CaseInput.PolicyHash). Keeping one already kept changes
// nothing.
func (s *Store) KeepPolicySnapshot(ctx context.Context, p policies.Policy) (_ string, err error) {
	ctx, done := s.call(ctx, "KeepPolicySnapshot", writes, s.timeout)
	defer done(&err)
	content, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(content)
	if _, err := s.pool.Exec(ctx, `INSERT INTO policy_snapshots (hash, policy_id, content) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO NOTHING`, sum[:], p.ID, content); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

// insertCasePolicyByHash keeps the case's policy snapshot, named by its
// hash, from the snapshots the API kept: the same row insertCasePolicy
// writes from the snapshot itself, once. The snapshot read back must have
// the hash it is named by, or nothing is written.
func insertCasePolicyByHash(ctx context.Context, tx pgx.Tx, ref, hash string) error {
	want, err := hex.DecodeString(hash)
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%w: %q is not a SHA-256", ErrSnapshotMissing, hash)
	}
	var content []byte
	err = tx.QueryRow(ctx, `SELECT content FROM policy_snapshots WHERE hash = $1`, want).Scan(&content)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: no snapshot %s", ErrSnapshotMissing, hash)
	}
	if err != nil {
		return err
	}
	var p policies.Policy
	if err := json.Unmarshal(content, &p); err != nil {
		return err
	}
	again, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(again); !bytes.Equal(sum[:], want) {
		return fmt.Errorf("%w: snapshot %s reads back with hash %x", ErrSnapshotMissing, hash, sum)
	}
	return insertCasePolicyJSON(ctx, tx, ref, p, again, want)
}
