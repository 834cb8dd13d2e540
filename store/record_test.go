package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/store"
	"escalate/workflows"
)

// recordCase writes a case of three events in two steps, as the workflow
// does, under ref.
func recordCase(t *testing.T, st *store.Store, ref string) workflows.RecordEventsInput {
	t.Helper()
	at := time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.UTC)
	first := sampleInput(2, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", ByEmail: "hana@nhft.example", Text: "Disagreement raised"},
		workflows.Event{Seq: 2, At: at, Type: workflows.EventStageEntered, Stage: 1, By: "escalate", Text: "Stage 1 started"})
	second := sampleInput(3, workflows.StatusOpen,
		workflows.Event{Seq: 3, At: at.Add(time.Hour), Type: workflows.EventNote, Stage: 1, By: "Sam", ByEmail: "sam@nct.example", Text: "Called Hana"})
	for _, in := range []*workflows.RecordEventsInput{&first, &second} {
		in.Ref, in.Case.Ref = ref, ref
		in.Case.Summary = "Referral for a 4-year-old judged below threshold."
		if _, err := st.RecordEvents(context.Background(), *in, render); err != nil {
			t.Fatal(err)
		}
	}
	second.Events = append(first.Events, second.Events...)
	return second
}

// tamper runs SQL as the database's superuser with the record's triggers
// switched off: someone who can change the database but has no record key.
func tamper(t *testing.T, adminDSN string, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// rehash recomputes the plain SHA-256 chain of a case from its first event,
// as someone who edited the table and knows how the hashes are made would;
// keyed says whether to leave the events' key ids in place.
func rehash(t *testing.T, adminDSN, ref string, keepKeyIDs bool) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT seq, at, type, stage, by_name, by_email, text, due_at FROM events WHERE ref = $1 ORDER BY seq`, ref)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (workflows.Event, error) {
		var e workflows.Event
		return e, r.Scan(&e.Seq, &e.At, &e.Type, &e.Stage, &e.By, &e.ByEmail, &e.Text, &e.DueAt)
	})
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	for _, e := range evs {
		h := store.EventHash(prev, ref, e)
		// Plain hashes are what events had before the record was keyed,
		// long before they carried structured fields: seal version 1.
		sql := `UPDATE events SET prev_hash = $3, hash = $4, key_id = NULL, seal_version = 1 WHERE ref = $1 AND seq = $2`
		if keepKeyIDs {
			sql = `UPDATE events SET prev_hash = $3, hash = $4, seal_version = 1 WHERE ref = $1 AND seq = $2`
		}
		if _, err := conn.Exec(ctx, sql, ref, e.Seq, prev, h); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

// Whoever can change the database, even as its superuser, but has no record
// key cannot change the record without verification finding it: not by
// editing, removing or adding an event and recomputing the hashes, nor by
// editing the case row.
func TestRecordVerificationFindsTampering(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	for i, tc := range []struct {
		name string
		do   func(ref string)
		// first is the first broken event (0: the case row).
		first  int
		reason string
	}{
		{"the last event deleted", func(ref string) {
			tamper(t, admin, `DELETE FROM events WHERE ref = $1 AND seq = 3`, ref)
		}, 3, "missing"},
		{"the last event deleted and the case row's version lowered to match", func(ref string) {
			tamper(t, admin, `DELETE FROM events WHERE ref = $1 AND seq = 3`, ref)
			tamper(t, admin, `UPDATE cases SET version = 2, snapshot = jsonb_set(snapshot, '{version}', '2') WHERE ref = $1`, ref)
		}, 0, "do not match the seal"},
		{"an event's text edited and the plain hashes recomputed", func(ref string) {
			tamper(t, admin, `UPDATE events SET text = 'Did not call' WHERE ref = $1 AND seq = 2`, ref)
			rehash(t, admin, ref, true)
		}, 1, "keyed seal"},
		{"an event's text edited and the whole record rewritten as plain hashes", func(ref string) {
			tamper(t, admin, `UPDATE events SET text = 'Did not call' WHERE ref = $1 AND seq = 3`, ref)
			rehash(t, admin, ref, false)
		}, 0, "do not match the seal"},
		{"a forged event with a valid plain hash added at the end", func(ref string) {
			var prev []byte
			conn, err := pgx.Connect(ctx, admin)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if err := conn.QueryRow(ctx, `SELECT hash FROM events WHERE ref = $1 AND seq = 3`, ref).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			ev := workflows.Event{Seq: 4, At: time.Now().Truncate(time.Microsecond), Type: workflows.EventWithdrawn, Stage: 1, By: "Hana", Text: "Withdrawn"}
			tamper(t, admin, `INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text, prev_hash, hash)
				VALUES ($1, 4, 'run-1', $2, $3, 1, $4, '', $5, $6, $7)`, ref, ev.At, ev.Type, ev.By, ev.Text, prev, store.EventHash(prev, ref, ev))
		}, 4, "not written by the case"},
		{"a forged event with a valid plain hash added at the end, the case row's version raised to match", func(ref string) {
			var prev []byte
			conn, err := pgx.Connect(ctx, admin)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if err := conn.QueryRow(ctx, `SELECT hash FROM events WHERE ref = $1 AND seq = 3`, ref).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			ev := workflows.Event{Seq: 4, At: time.Now().Truncate(time.Microsecond), Type: workflows.EventWithdrawn, Stage: 1, By: "Hana", Text: "Withdrawn"}
			tamper(t, admin, `INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text, prev_hash, hash)
				VALUES ($1, 4, 'run-1', $2, $3, 1, $4, '', $5, $6, $7)`, ref, ev.At, ev.Type, ev.By, ev.Text, prev, store.EventHash(prev, ref, ev))
			tamper(t, admin, `UPDATE cases SET version = 4 WHERE ref = $1`, ref)
		}, 4, "plain hash after events sealed"},
		{"a forged event added, the case row's version raised to match", func(ref string) {
			ev := workflows.Event{Seq: 4, At: time.Now().Truncate(time.Microsecond), Type: workflows.EventNote, Stage: 1, By: "Sam", Text: "Agreed"}
			tamper(t, admin, `INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text, prev_hash, hash, key_id)
				SELECT $1, 4, 'run-1', $2, $3, 1, $4, '', $5, hash, hash, key_id FROM events WHERE ref = $1 AND seq = 3`, ref, ev.At, ev.Type, ev.By, ev.Text)
			tamper(t, admin, `UPDATE cases SET version = 4 WHERE ref = $1`, ref)
		}, 4, "keyed seal"},
		{"the case's summary changed", func(ref string) {
			tamper(t, admin, `UPDATE cases SET snapshot = jsonb_set(snapshot, '{summary}', '"Nothing to worry about."') WHERE ref = $1`, ref)
		}, 1, "summary"},
		{"the case's child reference changed", func(ref string) {
			tamper(t, admin, `UPDATE cases SET snapshot = jsonb_set(snapshot, '{child_ref}', '"B2"') WHERE ref = $1`, ref)
		}, 1, "child reference"},
		{"the case's status changed", func(ref string) {
			tamper(t, admin, `UPDATE cases SET status = 'resolved', snapshot = jsonb_set(snapshot, '{status}', '"resolved"') WHERE ref = $1`, ref)
		}, 0, "status"},
		{"the case's parties changed (who may read it)", func(ref string) {
			tamper(t, admin, `UPDATE cases SET parties = parties || '{mallory@evil.example}' WHERE ref = $1`, ref)
		}, 0, "parties"},
		{"the case's seal removed", func(ref string) {
			tamper(t, admin, `UPDATE cases SET seal = NULL, seal_key_id = NULL WHERE ref = $1`, ref)
		}, 0, "seal was removed"},
		{"event 2 removed, then written again by a retried step", func(ref string) {
			tamper(t, admin, `DELETE FROM events WHERE ref = $1 AND seq = 2`, ref)
			recordCase(t, st, ref) // every step again, as retries
		}, 2, "link to the event written before it"},
		{"a gap in the sequence: event 2 removed, the chain relinked and rehashed", func(ref string) {
			tamper(t, admin, `DELETE FROM events WHERE ref = $1 AND seq = 2`, ref)
			rehash(t, admin, ref, false)
		}, 2, "event 2 is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := fmt.Sprintf("NSCP-2026-%05d", i+1)
			recordCase(t, st, ref)
			entries, v, err := st.Record(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Intact || !v.Keyed || len(v.Unkeyed) != 0 || v.Events != 3 || entries[0].KeyID == "" {
				t.Fatalf("before: %+v", v)
			}
			tc.do(ref)
			_, v, err = st.Record(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if v.Intact || v.Keyed || v.FirstBroken != tc.first || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("after: %+v; want broken at %d: %q", v, tc.first, tc.reason)
			}
		})
	}
}

// Events recorded before the record was keyed (plain SHA-256, no case
// seal) still verify, but as what they are: intact, not keyed, each named.
// A keyed event after them covers them from then on.
func TestUnkeyedEventsAreReportedAsSuch(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	in := recordCase(t, st, "NSCP-2026-00001")
	// As the record was before keys: no key ids, plain hashes, no seal.
	rehash(t, admin, in.Ref, false)
	tamper(t, admin, `UPDATE cases SET seal = NULL, seal_key_id = NULL WHERE ref = $1`, in.Ref)
	entries, v, err := st.Record(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Keyed || fmt.Sprint(v.Unkeyed) != "[1 2 3]" || !strings.Contains(v.Reason, "events 1-3 were recorded before") || entries[2].KeyID != "" {
		t.Fatalf("unkeyed record: %+v", v)
	}

	// The case goes on: its next event is sealed, chained to the plain ones.
	next := sampleInput(4, workflows.StatusOpen, workflows.Event{Seq: 4, At: time.Now(), Type: workflows.EventNote, Stage: 1, By: "Sam", Text: "Met"})
	next.Ref, next.Case.Ref = in.Ref, in.Ref
	next.Case.Summary = in.Case.Summary
	if n, err := st.RecordEvents(ctx, next, render); err != nil || n != 1 {
		t.Fatalf("next event: %d %v", n, err)
	}
	_, v, err = st.Record(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Keyed || fmt.Sprint(v.Unkeyed) != "[1 2 3]" {
		t.Fatalf("after a keyed event: %+v", v)
	}
	// An unkeyed event edited and its plain hashes recomputed now breaks
	// the keyed event's link.
	tamper(t, admin, `UPDATE events SET text = 'Did not call' WHERE ref = $1 AND seq = 3`, in.Ref)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var prev []byte
	if err := conn.QueryRow(ctx, `SELECT hash FROM events WHERE ref = $1 AND seq = 2`, in.Ref).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	ev := in.Events[2]
	ev.Text, ev.At = "Did not call", ev.At.Truncate(time.Microsecond)
	tamper(t, admin, `UPDATE events SET hash = $2 WHERE ref = $1 AND seq = 3`, in.Ref, store.EventHash(prev, in.Ref, ev))
	_, v, err = st.Record(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if v.Intact || v.FirstBroken != 4 || !strings.Contains(v.Reason, "link") {
		t.Fatalf("after rewriting an unkeyed event under a keyed one: %+v", v)
	}
}

// A key is rotated by putting the new one first: old events verify with the
// old key, new ones are sealed with the new; a server without the key that
// sealed an event cannot vouch for it.
func TestRecordKeyRotation(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	in := recordCase(t, st, "NSCP-2026-00001")
	newKey, err := store.NewRecordKey()
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := store.Open(ctx, appURL(t, admin), store.Options{Keys: testKeys(t, newKey+","+testKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer rotated.Close()
	next := sampleInput(4, workflows.StatusOpen, workflows.Event{Seq: 4, At: time.Now(), Type: workflows.EventNote, Stage: 1, By: "Sam", Text: "Met"})
	next.Ref, next.Case.Ref, next.Case.Summary = in.Ref, in.Ref, in.Case.Summary
	if _, err := rotated.RecordEvents(ctx, next, render); err != nil {
		t.Fatal(err)
	}
	entries, v, err := rotated.Record(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	oldID, newID := testKeys(t, testKey).IDs()[0], testKeys(t, newKey).IDs()[0]
	if !v.Intact || !v.Keyed || entries[0].KeyID != oldID || entries[3].KeyID != newID {
		t.Fatalf("after rotation: %+v, key ids %s %s", v, entries[0].KeyID, entries[3].KeyID)
	}
	// The old key alone cannot vouch for what the new one sealed.
	_, v, err = st.Record(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if v.Intact || v.FirstBroken != 4 || !strings.Contains(v.Reason, "not given") {
		t.Fatalf("without the new key: %+v", v)
	}
}

// A step whose event number is taken on the record by other content is an
// error, and nothing of it is written: never a silent skip that loses the
// case's event. The same content again (a retried activity) changes nothing.
func TestRecordEventsRefusesAConflictingEvent(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	in := recordCase(t, st, "NSCP-2026-00001")
	notes, err := st.Notifications(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}

	// A retry of the last step: nothing to do.
	retry := sampleInput(3, workflows.StatusOpen, in.Events[2])
	retry.Ref, retry.Case.Ref, retry.Case.Summary = in.Ref, in.Ref, in.Case.Summary
	if n, err := st.RecordEvents(ctx, retry, render); err != nil || n != 0 {
		t.Fatalf("retry: %d %v", n, err)
	}

	// Event 4 is forged into the record before the case writes its own.
	tamper(t, admin, `INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text)
		VALUES ($1, 4, 'other-run', now(), 'note', 1, 'Mallory', '', 'Nothing happened')`, in.Ref)
	real := sampleInput(5, workflows.StatusWithdrawn,
		workflows.Event{Seq: 4, At: time.Now(), Type: workflows.EventNote, Stage: 1, By: "Sam", Text: "Spoke to the GP"},
		workflows.Event{Seq: 5, At: time.Now(), Type: workflows.EventWithdrawn, Stage: 1, By: "Hana", Text: "Withdrawn"})
	real.Ref, real.Case.Ref, real.Case.Summary = in.Ref, in.Ref, in.Case.Summary
	n, err := st.RecordEvents(ctx, real, render)
	var conflict *store.RecordConflictError
	if !errors.Is(err, store.ErrRecordConflict) || !errors.As(err, &conflict) || conflict.Seq != 4 || n != 0 {
		t.Fatalf("conflicting event: %d %v, want a record conflict at event 4", n, err)
	}
	// Nothing of the step was written: not event 5, not the snapshot, not
	// its notifications.
	evs, err := st.Events(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.GetCase(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	after, err := st.Notifications(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 || evs[3].By != "Mallory" || c.Version != 3 || c.Status != workflows.StatusOpen || len(after) != len(notes) {
		t.Fatalf("after the refused step: %d events, version %d %s, %d notifications (was %d)", len(evs), c.Version, c.Status, len(after), len(notes))
	}
}

// Two steps of one case may be written out of order (a party's update while
// a deadline's step is retried): both are kept, chained in the order they
// were written; while the earlier-numbered one is still to come the record
// says it is missing, and once it has come the record verifies, read in the
// order of the events' numbers.
func TestStepsWrittenOutOfOrder(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	steps := []workflows.RecordEventsInput{
		sampleInput(2, workflows.StatusOpen,
			workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "opened"},
			workflows.Event{Seq: 2, At: at, Type: workflows.EventStageEntered, Stage: 1, By: "escalate", Text: "stage 1"}),
		sampleInput(3, workflows.StatusOpen, workflows.Event{Seq: 3, At: at.Add(time.Hour), Type: workflows.EventReminder, Stage: 1, By: "escalate", Text: "reminder"}),
		sampleInput(4, workflows.StatusOpen, workflows.Event{Seq: 4, At: at.Add(2 * time.Hour), Type: workflows.EventNote, Stage: 1, By: "Sam", Text: "note"}),
	}
	for _, i := range []int{0, 2} {
		if _, err := st.RecordEvents(ctx, steps[i], render); err != nil {
			t.Fatal(err)
		}
	}
	_, v, err := st.Record(ctx, steps[0].Ref)
	if err != nil {
		t.Fatal(err)
	}
	if v.Intact || v.FirstBroken != 3 || !strings.Contains(v.Reason, "not succeeded yet") {
		t.Fatalf("with event 3 still to come: %+v", v)
	}
	if n, err := st.RecordEvents(ctx, steps[1], render); err != nil || n != 1 {
		t.Fatalf("the late step: %d %v", n, err)
	}
	entries, v, err := st.Record(ctx, steps[0].Ref)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, e := range entries {
		seqs = append(seqs, e.Seq)
	}
	if !v.Intact || !v.Keyed || fmt.Sprint(seqs) != "[1 2 3 4]" || entries[2].PrevHash != entries[3].Hash {
		t.Fatalf("after the late step: %v %+v", seqs, v)
	}
	c, err := st.GetCase(ctx, steps[0].Ref)
	if err != nil || c.Version != 4 {
		t.Fatalf("the late step's older snapshot replaced the newer: version %d %v", c.Version, err)
	}
}

// The record is read in the order of its events, whatever order the rows
// were stored in.
func TestRecordIsInSeqOrder(t *testing.T) {
	st, admin := testStoreDSN(t)
	ctx := context.Background()
	in := recordCase(t, st, "NSCP-2026-00001")
	// Row ids carry no meaning: a restore or a copy may number rows anew.
	tamper(t, admin, `UPDATE events SET id = id + 1000 WHERE ref = $1 AND seq = 1`, in.Ref)
	entries, v, err := st.Record(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, e := range entries {
		seqs = append(seqs, e.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 3]" || !v.Intact || !v.Keyed {
		t.Fatalf("record order %v, %+v", seqs, v)
	}
}

// The API and the worker log in as the application's role, which cannot
// change the record and has nowhere to RESET ROLE to; the store refuses to
// run as a superuser or a role with BYPASSRLS.
func TestAppLoginCannotEscape(t *testing.T) {
	_, admin := testStoreDSN(t)
	ctx := context.Background()
	keys := testKeys(t, testKey)

	if st, err := store.Open(ctx, admin, store.Options{Keys: keys}); err == nil {
		st.Close()
		t.Fatal("the store opened with a superuser's login")
	} else if pe := (*store.PrivilegeError)(nil); !errors.As(err, &pe) || !strings.Contains(err.Error(), "superuser") {
		t.Fatalf("superuser login: %v", err)
	}

	conn, err := pgx.Connect(ctx, appURL(t, admin))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	var who string
	var super bool
	if err := conn.QueryRow(ctx, `SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&who, &super); err != nil {
		t.Fatal(err)
	}
	if who != store.AppRole || super {
		t.Fatalf("after RESET ROLE the session is %s (superuser %v)", who, super)
	}
	for _, sql := range []string{
		"SET session_replication_role = replica",
		"ALTER TABLE events DISABLE TRIGGER USER",
		"UPDATE events SET text = 'changed'",
		"DELETE FROM events",
		"SET ROLE postgres",
	} {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("the application's login could %q", sql)
		}
	}

	// A login role with BYPASSRLS is refused too, even one granted the
	// application's role.
	role := fmt.Sprintf("escalate_test_bypass_%d", time.Now().UnixNano()%1e9)
	aconn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer aconn.Close(ctx)
	if _, err := aconn.Exec(ctx, "CREATE ROLE "+role+" LOGIN BYPASSRLS IN ROLE "+store.AppRole); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Roles outlive the test's database: drop it with a connection of its own.
		if c, err := pgx.Connect(context.Background(), admin); err == nil {
			_, _ = c.Exec(context.Background(), "DROP ROLE "+role)
			c.Close(context.Background())
		}
	})
	bypass := strings.Replace(appURL(t, admin), store.AppRole+"@", role+"@", 1)
	if st, err := store.Open(ctx, bypass, store.Options{Keys: keys}); err == nil {
		st.Close()
		t.Fatal("the store opened with a BYPASSRLS login")
	} else if !strings.Contains(err.Error(), "BYPASSRLS") {
		t.Fatalf("BYPASSRLS login: %v", err)
	}
}
