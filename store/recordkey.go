package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"escalate/workflows"
)

// RecordKeys are the secrets that seal the record (RECORD_KEY). PostgreSQL
// never holds them: someone who can change the database, even as its
// superuser, but cannot read the API's or the worker's configuration cannot
// seal what they changed, so verification finds it. A plain hash chain
// cannot do that: whoever edits a row recomputes the hashes after it.
//
// The first key seals what is written now; every key verifies what it
// sealed. Each sealed row names its key by id, so a key is rotated by
// putting the new one first and keeping the old ones after it for as long
// as records sealed with them are read.
type RecordKeys struct {
	keys []recordKey
}

type recordKey struct {
	id     string
	secret []byte
}

// MinRecordKeyBytes is the shortest key accepted: a guess must be hopeless.
const MinRecordKeyBytes = 32

// ParseRecordKeys reads RECORD_KEY: comma-separated keys, the sealing one
// first, each hex or base64 of at least MinRecordKeyBytes random bytes.
func ParseRecordKeys(s string) (*RecordKeys, error) {
	var k RecordKeys
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		secret, err := decodeRecordKey(part)
		if err != nil {
			return nil, fmt.Errorf("RECORD_KEY, key %d: %w", i+1, err)
		}
		id := recordKeyID(secret)
		if seen[id] {
			return nil, fmt.Errorf("RECORD_KEY, key %d: the same key is given twice", i+1)
		}
		seen[id] = true
		k.keys = append(k.keys, recordKey{id: id, secret: secret})
	}
	if len(k.keys) == 0 {
		return nil, errors.New("RECORD_KEY is empty: give at least one key of 32 random bytes, hex or base64 (openssl rand -hex 32)")
	}
	return &k, nil
}

// NewRecordKey returns a fresh random key, hex-encoded, as RECORD_KEY takes it.
func NewRecordKey() (string, error) {
	b := make([]byte, MinRecordKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func decodeRecordKey(s string) ([]byte, error) {
	var short bool
	if b, err := hex.DecodeString(s); err == nil {
		if len(b) >= MinRecordKeyBytes {
			return b, nil
		}
		short = true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) >= MinRecordKeyBytes {
				return b, nil
			}
			short = true
		}
	}
	if short {
		return nil, fmt.Errorf("too short: at least %d bytes once decoded (openssl rand -hex 32)", MinRecordKeyBytes)
	}
	return nil, errors.New("neither hex nor base64")
}

// recordKeyID names a key without revealing it: the first 8 bytes of a
// hash of it. Ids are stored with what each key sealed.
func recordKeyID(secret []byte) string {
	h := sha256.New()
	h.Write([]byte("escalate record key id\x00"))
	h.Write(secret)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// IDs are the keys' ids, the sealing key's first.
func (k *RecordKeys) IDs() []string {
	out := make([]string, len(k.keys))
	for i, key := range k.keys {
		out[i] = key.id
	}
	return out
}

func (k *RecordKeys) sealing() recordKey { return k.keys[0] }

func (k *RecordKeys) byID(id string) (recordKey, bool) {
	for _, key := range k.keys {
		if key.id == id {
			return key, true
		}
	}
	return recordKey{}, false
}

// fields writes values into a hash, each length-prefixed so that no two
// different sequences of values encode alike.
type fields struct{ h hash.Hash }

func (f fields) bytes(b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	f.h.Write(n[:])
	f.h.Write(b)
}

func (f fields) str(s string) { f.bytes([]byte(s)) }

func (f fields) int(i int64) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(i))
	f.bytes(n[:])
}

// time is an instant as PostgreSQL keeps it: UTC, to the microsecond.
func (f fields) time(t time.Time) { f.str(t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)) }

// event writes the fields of an event that the chain covers.
func (f fields) event(prev []byte, ref string, ev workflows.Event) {
	f.bytes(prev)
	f.str(ref)
	f.int(int64(ev.Seq))
	f.time(ev.At)
	f.str(ev.Type)
	f.int(int64(ev.Stage))
	f.str(ev.By)
	f.str(ev.ByEmail)
	f.str(ev.Text)
	if ev.DueAt != nil {
		// Only events that set a deadline carry it: events written before
		// the column existed hash as they always did.
		f.time(*ev.DueAt)
	}
}

// Seal versions: what an event's hash or seal covers (events.seal_version,
// store/migrations/000013).
const (
	// sealV1 covers the fields every event had before events carried
	// structured fields.
	sealV1 = 1
	// sealV2 covers those and the structured fields (from and to stage,
	// move, step, level, agreed, resolved, closed status).
	sealV2 = 2
)

// structured writes the structured fields of an event, each always, so
// that none can be added or removed under the seal.
func (f fields) structured(ev workflows.Event) {
	if ev.DueAt != nil {
		f.str("due")
		f.time(*ev.DueAt)
	} else {
		f.str("no due")
	}
	f.int(int64(ev.FromStage))
	f.int(int64(ev.ToStage))
	f.str(ev.Move)
	f.int(int64(ev.Step))
	f.int(int64(ev.Level))
	f.str(fmt.Sprint(ev.Agreed))
	switch {
	case ev.Resolved == nil:
		f.str("")
	case *ev.Resolved:
		f.str("resolved")
	default:
		f.str("not resolved")
	}
	f.str(ev.ClosedStatus)
}

// caseIdentity is what a case is about, as the case row holds it. The
// opening event's seal covers it, so the case's summary, child reference or
// policy cannot be changed under a record that stays verified.
type caseIdentity struct {
	Policy   string
	ChildRef string
	Summary  string
}

// eventMAC is an event's keyed seal: HMAC-SHA256 under the record key of
// the previous event's hash or seal and this event's fields (with the
// case's identity for the opening event), so neither this event nor any
// before it can be changed, removed or put in without the key.
//
// version says what it covers: sealV1 for events written before events
// carried structured fields (their seals stay as they were written),
// sealV2 for every event written since, which covers those fields too.
func (key recordKey) eventMAC(version int, prev []byte, ref string, ev workflows.Event, id caseIdentity) []byte {
	f := fields{hmac.New(sha256.New, key.secret)}
	if version == sealV2 {
		f.str("escalate record event v2")
	} else {
		f.str("escalate record event v1")
	}
	f.str(key.id)
	f.event(prev, ref, ev)
	if version == sealV2 {
		f.structured(ev)
	}
	if ev.Type == workflows.EventOpened {
		f.str(id.Policy)
		f.str(id.ChildRef)
		f.str(id.Summary)
	}
	return f.h.Sum(nil)
}

// sealedCase is the case row as PostgreSQL holds it, with where its record
// ends: what the case's seal covers.
type sealedCase struct {
	Ref              string
	Policy           string
	Status           string
	Stage            int
	DueAt            time.Time
	Urgent           bool
	Category         string
	RaiserAgency     string
	RespondentAgency string
	Parties          []string
	CreatedAt        time.Time
	ClosedAt         *time.Time
	Version          int
	// Snapshot is the case's JSON as PostgreSQL prints its jsonb: the same
	// text for the same value, whatever Go struct wrote it.
	Snapshot string
	// Events is how many events the record holds; LastSeq and LastHash are
	// its last event's.
	Events   int
	LastSeq  int
	LastHash []byte
}

// caseMAC is the case row's keyed seal, written with every step: it covers
// what lists, reads and the read rule use (status, stage, deadline, parties,
// agencies, the snapshot with the summary) and how far the record goes, so
// an edited case row, or events removed from the end, no longer match it.
func (key recordKey) caseMAC(c sealedCase) []byte {
	f := fields{hmac.New(sha256.New, key.secret)}
	f.str("escalate case seal v1")
	f.str(key.id)
	f.str(c.Ref)
	f.str(c.Policy)
	f.str(c.Status)
	f.int(int64(c.Stage))
	f.time(c.DueAt)
	if c.Urgent {
		f.str("urgent")
	} else {
		f.str("not urgent")
	}
	f.str(c.Category)
	f.str(c.RaiserAgency)
	f.str(c.RespondentAgency)
	f.int(int64(len(c.Parties)))
	for _, p := range c.Parties {
		f.str(p)
	}
	f.time(c.CreatedAt)
	if c.ClosedAt != nil {
		f.time(*c.ClosedAt)
	} else {
		f.str("")
	}
	f.int(int64(c.Version))
	f.str(c.Snapshot)
	f.int(int64(c.Events))
	f.int(int64(c.LastSeq))
	f.bytes(c.LastHash)
	return f.h.Sum(nil)
}
