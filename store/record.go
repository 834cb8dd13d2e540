package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"escalate/workflows"
)

// EventHash is the plain SHA-256 of the previous event's hash and this
// event's fields, each length-prefixed so no two events can encode alike.
// Events recorded before the record was keyed carry it; it shows accidental
// change, but whoever can edit the table can recompute it.
func EventHash(prev []byte, ref string, ev workflows.Event) []byte {
	f := fields{sha256.New()}
	f.event(prev, ref, ev)
	return f.h.Sum(nil)
}

// RecordEntry is one event of the record with its hashes.
type RecordEntry struct {
	workflows.Event
	PrevHash string `json:"prev_hash"`
	// Hash is the event's keyed seal (HMAC-SHA256) when KeyID is set, its
	// plain SHA-256 otherwise.
	Hash  string `json:"hash"`
	KeyID string `json:"key_id,omitempty"`
}

// Verification says whether a case's record is whole and unchanged.
type Verification struct {
	// Intact: every event links to the one before, matches its seal or
	// hash, the events run 1..N with none missing, N is the case's version,
	// and the case row matches its seal.
	Intact bool `json:"intact"`
	// FirstBroken is the sequence number of the first event that is
	// changed, missing or out of place, when not intact; 0 when it is the
	// case row itself that does not match.
	FirstBroken int    `json:"first_broken,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Events      int    `json:"events"`
	// Keyed: every event and the case row are sealed with a record key and
	// verified with it, so nobody without the key (not even PostgreSQL's
	// superuser) changed them. Only then does intact mean untouched.
	Keyed bool `json:"keyed"`
	// Unkeyed are the events recorded before the record was keyed: their
	// plain hashes show accidental change, not a deliberate rewrite by
	// someone with access to the database.
	Unkeyed []int `json:"unkeyed,omitempty"`
	// Derived are the events recorded before events carried structured
	// fields (from and to stage, move, resolved, ...) that were given them
	// once, by store/migrations/000013, from their types and texts: their
	// seals cover the type and text, not the derived fields.
	Derived []int `json:"derived,omitempty"`
}

// Record returns a case's events in the order of their numbers, with their
// seals, and the verification of the whole: their continuity, their number
// against the case's version, the chain, and the case row's seal.
func (s *Store) Record(ctx context.Context, ref string) (entries []RecordEntry, v Verification, err error) {
	ctx, done := s.call(ctx, "Record", reads, s.timeout)
	defer done(&err)
	var c sealedCase
	var id caseIdentity
	var seal []byte
	var sealKey *string
	err = s.pool.QueryRow(ctx, `SELECT `+sealedColumns+`, coalesce(snapshot->>'child_ref', ''), coalesce(snapshot->>'summary', ''),
		seal, seal_key_id FROM cases WHERE ref = $1`, ref).Scan(append(c.scanTargets(), &id.ChildRef, &id.Summary, &seal, &sealKey)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Verification{}, ErrNotFound
	}
	if err != nil {
		return nil, Verification{}, err
	}
	c.Ref, id.Policy = ref, c.Policy
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+`, seal_version, prev_hash, hash, key_id
		FROM events WHERE ref = $1 ORDER BY seq`, ref)
	if err != nil {
		return nil, Verification{}, err
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storedEvent, error) {
		var x storedEvent
		var scanned scannedEvent
		err := r.Scan(append(scanned.targets(), &x.version, &x.prev, &x.hash, &x.keyID)...)
		x.ev = scanned.event()
		return x, err
	})
	if err != nil {
		return nil, Verification{}, err
	}
	if len(got) == 0 {
		return nil, Verification{}, ErrNotFound
	}
	entries = make([]RecordEntry, 0, len(got))
	for _, x := range got {
		e := RecordEntry{Event: x.ev, PrevHash: hex.EncodeToString(x.prev), Hash: hex.EncodeToString(x.hash)}
		if x.keyID != nil {
			e.KeyID = *x.keyID
		}
		entries = append(entries, e)
	}
	return entries, s.keys.verify(ref, id, got, c, seal, sealKey), nil
}

// storedEvent is an event as the events table holds it.
type storedEvent struct {
	ev         workflows.Event
	version    int16
	prev, hash []byte
	keyID      *string
}

// eventColumns are an event's columns, in the order of
// scannedEvent.targets.
const eventColumns = `seq, at, type, stage, by_name, by_email, text, due_at,
	from_stage, to_stage, move, step, level, agreed, resolved, closed_status`

// scannedEvent holds an events row's columns, the structured ones NULL
// where they do not apply.
type scannedEvent struct {
	ev                    workflows.Event
	from, to, step, level *int
	move, closedStatus    *string
}

func (x *scannedEvent) targets() []any {
	e := &x.ev
	return []any{&e.Seq, &e.At, &e.Type, &e.Stage, &e.By, &e.ByEmail, &e.Text, &e.DueAt,
		&x.from, &x.to, &x.move, &x.step, &x.level, &e.Agreed, &e.Resolved, &x.closedStatus}
}

func (x *scannedEvent) event() workflows.Event {
	e := x.ev
	e.FromStage, e.ToStage, e.Step, e.Level = deref(x.from), deref(x.to), deref(x.step), deref(x.level)
	e.Move, e.ClosedStatus = deref(x.move), deref(x.closedStatus)
	return e
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// nullIfZero is v for a column, NULL where it is the zero value (a field
// the event does not carry).
func nullIfZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// hasStructured reports whether an event carries any structured field.
func hasStructured(e workflows.Event) bool {
	return e.FromStage != 0 || e.ToStage != 0 || e.Move != "" || e.Step != 0 || e.Level != 0 || e.Agreed ||
		e.Resolved != nil || e.ClosedStatus != ""
}

// sealedColumns are the case row's columns the seal covers, in the order
// of sealedCase.scanTargets.
const sealedColumns = `policy, status, stage, due_at, urgent, category, raiser_agency, respondent_agency, parties,
	created_at, closed_at, version, snapshot::text`

func (c *sealedCase) scanTargets() []any {
	return []any{&c.Policy, &c.Status, &c.Stage, &c.DueAt, &c.Urgent, &c.Category, &c.RaiserAgency, &c.RespondentAgency,
		&c.Parties, &c.CreatedAt, &c.ClosedAt, &c.Version, &c.Snapshot}
}

// verify checks a case's events (in seq order) and its row: that the
// events are numbered 1..N with none missing, that N is the case's version,
// that they form one chain in the order they were written, each matching
// its seal or hash, and that the case row matches its seal. It reports the
// first fault: what comes after a fault cannot be vouched for.
//
// The chain follows the order of writing, which is not always the order of
// numbering: two steps of one case may be written concurrently (a party's
// update while a deadline's step is still being retried), and the record
// takes each as it comes rather than hold one back or lose it.
func (k *RecordKeys) verify(ref string, id caseIdentity, got []storedEvent, c sealedCase, seal []byte, sealKey *string) Verification {
	v := Verification{Intact: true, Events: len(got)}
	broken := func(seq int, reason string, args ...any) Verification {
		v.Intact, v.Keyed, v.Unkeyed, v.Derived, v.FirstBroken, v.Reason = false, false, nil, nil, seq, fmt.Sprintf(reason, args...)
		return v
	}
	for i, x := range got {
		if want := i + 1; x.ev.Seq != want {
			if x.ev.Seq < want {
				return broken(x.ev.Seq, "event %d is out of sequence", x.ev.Seq)
			}
			return broken(want, "event %d is missing from the record: it was removed, or its write has not succeeded yet", want)
		}
	}
	switch n := len(got); {
	case n < c.Version:
		return broken(n+1, "the case is at event %d but its record ends at event %d: from event %d on it is missing "+
			"(removed, or its write has not succeeded yet)", c.Version, n, n+1)
	case n > c.Version:
		return broken(c.Version+1, "the record has %d events but the case is at event %d: events from %d on were not written by the case",
			n, c.Version, c.Version+1)
	}
	byPrev := map[string][]int{} // the events that link to a hash, in seq order
	for i, x := range got {
		if x.hash == nil {
			return broken(x.ev.Seq, "it was recorded before the hash chain existed and cannot be verified")
		}
		byPrev[string(x.prev)] = append(byPrev[string(x.prev)], i)
	}
	var prev []byte
	linked := make([]bool, len(got))
	tail := -1
	keyed := false // an event before this one in the chain was sealed with a key
	for {
		next := byPrev[string(prev)]
		if len(next) == 0 {
			break
		}
		if len(next) > 1 {
			return broken(got[next[1]].ev.Seq, "it claims the same place in the chain as event %d: one of them was put in outside the record's writes",
				got[next[0]].ev.Seq)
		}
		i := next[0]
		if linked[i] {
			break // a loop: impossible unless a hash repeats; the unlinked check below reports the rest
		}
		linked[i], tail = true, i
		x := got[i]
		seq := x.ev.Seq
		switch {
		case x.version != sealV1 && x.version != sealV2:
			return broken(seq, "its seal version %d is not one this server knows", x.version)
		case x.keyID == nil && x.version == sealV2:
			return broken(seq, "it carries a plain hash but was written after events carried structured fields, which are always sealed with the record key: it was not written by the record")
		case x.keyID != nil:
			key, ok := k.byID(*x.keyID)
			if !ok {
				return broken(seq, "it is sealed with record key %s, which this server is not given (RECORD_KEY), so it cannot be verified", *x.keyID)
			}
			if !hmac.Equal(x.hash, key.eventMAC(int(x.version), prev, ref, x.ev, id)) {
				if x.ev.Type == workflows.EventOpened {
					return broken(seq, "its content, or the case's summary, child reference or policy that it vouches for, does not match its keyed seal")
				}
				return broken(seq, "its content does not match its keyed seal")
			}
			keyed = true
		case keyed:
			return broken(seq, "it carries a plain hash after events sealed with the record key: it was written or rewritten without the key")
		case !bytes.Equal(x.hash, EventHash(prev, ref, x.ev)):
			return broken(seq, "its content does not match its hash")
		default:
			v.Unkeyed = append(v.Unkeyed, seq)
		}
		if x.version == sealV1 && hasStructured(x.ev) {
			v.Derived = append(v.Derived, seq)
		}
		prev = x.hash
	}
	for i, ok := range linked {
		if !ok {
			return broken(got[i].ev.Seq, "its link to the event written before it does not match: that event was removed or changed")
		}
	}
	c.Events, c.LastSeq, c.LastHash = len(got), got[tail].ev.Seq, got[tail].hash
	switch {
	case sealKey != nil:
		key, ok := k.byID(*sealKey)
		if !ok {
			return broken(0, "the case's details are sealed with record key %s, which this server is not given (RECORD_KEY), so they cannot be verified", *sealKey)
		}
		if !hmac.Equal(seal, key.caseMAC(c)) {
			return broken(0, "the case's details (status, stage, deadline, parties, agencies, summary) or the end of its record do not match the seal written with its last event: they were changed since")
		}
	case keyed:
		return broken(0, "the case's details carry no seal although its events are sealed: the seal was removed")
	}
	sort.Ints(v.Unkeyed)
	sort.Ints(v.Derived)
	v.Keyed = len(v.Unkeyed) == 0 && sealKey != nil
	if !v.Keyed {
		v.Reason = fmt.Sprintf("events %s were recorded before the record was sealed with a key: their plain hashes show accidental change, "+
			"not a deliberate rewrite by someone with access to the database", seqRange(v.Unkeyed))
	}
	return v
}

// seqRange writes sequence numbers in order as "1-4" or "1, 3".
func seqRange(seqs []int) string {
	if len(seqs) == 0 {
		return ""
	}
	contiguous := seqs[len(seqs)-1]-seqs[0] == len(seqs)-1
	if contiguous && len(seqs) > 1 {
		return fmt.Sprintf("%d-%d", seqs[0], seqs[len(seqs)-1])
	}
	out := make([]string, len(seqs))
	for i, s := range seqs {
		out[i] = fmt.Sprint(s)
	}
	return strings.Join(out, ", ")
}
