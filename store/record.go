package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/workflows"
)

// EventHash is the SHA-256 of the previous event's hash and this event's
// fields, each length-prefixed so no two events can encode alike.
func EventHash(prev []byte, ref string, ev workflows.Event) []byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field(prev)
	field([]byte(ref))
	var num [8]byte
	binary.BigEndian.PutUint64(num[:], uint64(ev.Seq))
	field(num[:])
	field([]byte(ev.At.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
	field([]byte(ev.Type))
	binary.BigEndian.PutUint64(num[:], uint64(ev.Stage))
	field(num[:])
	field([]byte(ev.By))
	field([]byte(ev.ByEmail))
	field([]byte(ev.Text))
	if ev.DueAt != nil {
		// Only events that set a deadline carry it: events written before
		// the column existed hash as they always did.
		field([]byte(ev.DueAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
	}
	return h.Sum(nil)
}

// RecordEntry is one event of the record with its hashes.
type RecordEntry struct {
	workflows.Event
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Verification says whether a case's chain of hashes is intact.
type Verification struct {
	Intact bool `json:"intact"`
	// FirstBroken is the sequence number of the first event whose hash or
	// link does not match, when not intact.
	FirstBroken int    `json:"first_broken,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Events      int    `json:"events"`
}

// Record returns a case's events in the order written, with their hashes,
// and the verification of the chain.
func (s *Store) Record(ctx context.Context, ref string) ([]RecordEntry, Verification, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, at, type, stage, by_name, by_email, text, due_at, prev_hash, hash
		FROM events WHERE ref = $1 ORDER BY id`, ref)
	if err != nil {
		return nil, Verification{}, err
	}
	type row struct {
		ev         workflows.Event
		prev, hash []byte
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.ev.Seq, &x.ev.At, &x.ev.Type, &x.ev.Stage, &x.ev.By, &x.ev.ByEmail, &x.ev.Text, &x.ev.DueAt, &x.prev, &x.hash)
		return x, err
	})
	if err != nil {
		return nil, Verification{}, err
	}
	v := Verification{Intact: true, Events: len(got)}
	entries := make([]RecordEntry, 0, len(got))
	var prev []byte
	for _, x := range got {
		entries = append(entries, RecordEntry{Event: x.ev, PrevHash: hex.EncodeToString(x.prev), Hash: hex.EncodeToString(x.hash)})
		if !v.Intact {
			continue
		}
		switch {
		case x.hash == nil:
			v.Intact, v.FirstBroken, v.Reason = false, x.ev.Seq, "it was recorded before the hash chain existed and cannot be verified"
		case !bytes.Equal(x.prev, prev):
			v.Intact, v.FirstBroken, v.Reason = false, x.ev.Seq, "its link to the previous event does not match"
		case !bytes.Equal(x.hash, EventHash(prev, ref, x.ev)):
			v.Intact, v.FirstBroken, v.Reason = false, x.ev.Seq, "its content does not match its hash"
		}
		prev = x.hash
	}
	if len(got) == 0 {
		return nil, Verification{}, ErrNotFound
	}
	return entries, v, nil
}
