package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// An opening that names its policy snapshot by the hash the API kept it
// under gets the same case_policies row as one that carries the snapshot
// (content, hash, agencies by the directory's id); retried, it writes
// nothing new; naming a snapshot the record does not hold refuses the
// whole opening, nothing written.
func TestOpeningByKeptPolicySnapshot(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	p := packPolicy()
	hash, err := st.KeepPolicySnapshot(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(p)
	if sum := sha256.Sum256(raw); hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("kept under %s, want the SHA-256 of its JSON", hash)
	}
	// Kept again (the next case under the same snapshot): the same hash.
	if again, err := st.KeepPolicySnapshot(ctx, p); err != nil || again != hash {
		t.Fatalf("kept again: %s %v", again, err)
	}

	at := utc("2026-06-01T10:00:00Z")
	opening := func(ref string, hash string) workflows.RecordEventsInput {
		c := workflows.Case{Ref: ref, Policy: p.ID, Status: workflows.StatusOpen, ChildRef: "C", Category: "communication", Summary: "s",
			CreatedAt: at, Stage: workflows.StageState{Number: 1, Name: "One", StartedAt: at, DueAt: at.Add(48 * time.Hour)},
			Raiser: workflows.Party{Name: "R", Email: "r@x.example", Agency: "Health Foundation Trust"}, Respondent: workflows.Party{Name: "S", Email: "s@x.example", Agency: "nct"},
			Contacts: []workflows.Contact{}, Version: 1}
		return workflows.RecordEventsInput{Ref: ref, RunID: "run-1", Case: c, PolicyHash: hash, Timezone: "Europe/London",
			Events: []workflows.Event{{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "R", Text: "opened"}}}
	}
	if n, err := st.RecordEvents(ctx, opening("H1", hash), render); err != nil || n != 1 {
		t.Fatalf("opening by hash: %d %v", n, err)
	}
	openWithPolicy(t, st, p, "H2", "Health Foundation Trust", "nct", at) // the snapshot carried
	byHash, err := st.CasePolicy(ctx, "H1")
	if err != nil {
		t.Fatal(err)
	}
	carried, err := st.CasePolicy(ctx, "H2")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byHash, carried) || hex.EncodeToString(byHash.Hash) != hash || byHash.Policy.ID != p.ID {
		t.Fatalf("snapshot by hash %x %+v, carried %x", byHash.Hash, byHash.Policy.ID, carried.Hash)
	}
	pack, err := st.MeetingPack(ctx, store.PackFilter{Policy: p, From: utc("2026-03-31T23:00:00Z"), To: utc("2027-03-31T23:00:00Z"), Now: at})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pack.Current.Raising, map[string]int{"nhft": 2}) {
		t.Fatalf("agencies of the cases by directory id: %v", pack.Current.Raising)
	}

	// Retried: nothing new.
	if n, err := st.RecordEvents(ctx, opening("H1", hash), render); err != nil || n != 0 {
		t.Fatalf("retried opening wrote %d events (%v), want 0", n, err)
	}

	// A snapshot the record does not hold, or not a hash at all.
	for _, bad := range []string{strings.Repeat("ab", 32), "not-a-hash"} {
		n, err := st.RecordEvents(ctx, opening("H3", bad), render)
		if !errors.Is(err, store.ErrSnapshotMissing) || n != 0 {
			t.Fatalf("opening naming %q: %d %v, want ErrSnapshotMissing", bad, n, err)
		}
		if _, err := st.GetCase(ctx, "H3"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("refused opening left the case: %v", err)
		}
	}
}
