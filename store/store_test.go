package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/internal/testdb"
	"escalate/store"
	"escalate/workflows"
)

// testStore prepares a fresh database on the real PostgreSQL and drops it
// after the test.
func testStore(t *testing.T) *store.Store {
	t.Helper()
	st, _ := testStoreDSN(t)
	return st
}

// testKey seals the record in these tests.
const testKey = "6c6f6e672d656e6f7567682d746573742d6b65792d666f722d7468652d7265636f7264"

func testKeys(t *testing.T, keys string) *store.RecordKeys {
	t.Helper()
	k, err := store.ParseRecordKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testStoreDSN prepares a fresh database with the administrator's URL, as
// migrate does, and opens the store as the application does, with the
// application's login role. It returns the administrator's URL (a
// superuser's), with which tests play the part of someone who can change
// the database.
func testStoreDSN(t *testing.T) (*store.Store, string) {
	t.Helper()
	dsn := testDatabase(t)
	st, err := store.Open(context.Background(), appURL(t, dsn), store.Options{Keys: testKeys(t, testKey)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, dsn
}

// testDatabase creates and migrates a fresh database, dropped after the
// test, and returns its administrator's URL.
func testDatabase(t *testing.T) string {
	t.Helper()
	dsn := testdb.Fresh(t, "escalate_store")
	ctx := context.Background()
	// Preparing twice is harmless (every start does it).
	if err := store.Prepare(ctx, dsn); err != nil {
		t.Fatalf("prepare again: %v", err)
	}
	return dsn
}

// storeBefore is a database of its own migrated to just before version,
// opened as the application opens it, and its administrator's URL: for
// tests of what a migration does to what was recorded before it.
func storeBefore(t *testing.T, prefix string, version uint) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	admin := testdb.New(t, prefix)
	if err := store.PrepareBefore(ctx, admin, version); err != nil {
		t.Fatalf("prepare before %06d: %v", version, err)
	}
	st, err := store.Open(ctx, appURL(t, admin), store.Options{Keys: testKeys(t, testKey)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, admin
}

func appURL(t *testing.T, adminURL string) string {
	t.Helper()
	u, err := store.AppURL(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func sampleInput(version int, status string, events ...workflows.Event) workflows.RecordEventsInput {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC) // its deadline has long passed
	c := workflows.Case{
		Ref: "NSCP-2026-00001", Policy: "northamptonshire", Status: status, ChildRef: "A1", Category: "communication",
		CreatedAt: now, Stage: workflows.StageState{Number: 1, Name: "One", StartedAt: now, DueAt: now.Add(48 * time.Hour)},
		Raiser: workflows.Party{Name: "Hana", Email: "Hana@nhft.example", Agency: "nhft"}, Respondent: workflows.Party{Name: "Sam", Email: "sam@nct.example", Agency: "nct"},
		Contacts: []workflows.Contact{}, Version: version,
	}
	in := workflows.RecordEventsInput{Ref: c.Ref, RunID: "run-1", Case: c, Events: events, Timezone: "Europe/London"}
	for _, e := range events {
		in.Notices = append(in.Notices, workflows.Notice{Seq: e.Seq, Recipients: []workflows.Recipient{{Name: "Sam", Email: "Sam@NCT.example", Why: "respondent"}}})
	}
	return in
}

// testRenderer renders notifications plainly, so tests can see which went.
type testRenderer struct{}

func (testRenderer) Mail(ev workflows.Event, r workflows.Recipient) store.Mail {
	return store.Mail{Subject: "subject " + ev.Type, Text: "body for " + r.Name, HTML: "<p>body for " + r.Name + "</p>"}
}

func (testRenderer) Webhook(ev workflows.Event, agency string) ([]byte, error) {
	return []byte(fmt.Sprintf(`{"type":%q,"agency":%q}`, ev.Type, agency)), nil
}

var render testRenderer

// A retried activity writes nothing twice, and an older snapshot arriving
// late never overwrites a newer one.
func TestRecordEventsIsIdempotent(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	first := sampleInput(2, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", ByEmail: "hana@nhft.example", Text: "opened"},
		workflows.Event{Seq: 2, At: at, Type: workflows.EventStageEntered, Stage: 1, By: "escalate", Text: "stage 1"})
	n, err := st.RecordEvents(ctx, first, render)
	if err != nil || n != 2 {
		t.Fatalf("first write: %d %v", n, err)
	}
	n, err = st.RecordEvents(ctx, first, render)
	if err != nil || n != 0 {
		t.Fatalf("retry wrote %d events (%v), want 0", n, err)
	}
	later := sampleInput(3, workflows.StatusWithdrawn, workflows.Event{Seq: 3, At: at, Type: workflows.EventWithdrawn, Stage: 1, By: "Hana", Text: "w"})
	if _, err := st.RecordEvents(ctx, later, render); err != nil {
		t.Fatal(err)
	}
	// The first step is retried after the later one landed.
	if _, err := st.RecordEvents(ctx, first, render); err != nil {
		t.Fatal(err)
	}
	c, err := st.GetCase(ctx, "NSCP-2026-00001")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != workflows.StatusWithdrawn || c.Version != 3 || len(c.History) != 3 {
		t.Fatalf("case after late retry: %s v%d %d events", c.Status, c.Version, len(c.History))
	}
	notes, err := st.Notifications(ctx, "NSCP-2026-00001")
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 3 || notes[0].RecipientEmail != "sam@nct.example" || notes[0].Subject != "subject case_opened" || notes[0].Status != "pending" {
		t.Fatalf("notifications: %+v", notes)
	}
	pending, err := st.PendingNotifications(ctx, "NSCP-2026-00001", []int{1, 2})
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending: %d %v", len(pending), err)
	}
	if err := st.MarkNotification(ctx, pending[0].ID, "sent", nil); err != nil {
		t.Fatal(err)
	}
	pending, _ = st.PendingNotifications(ctx, "NSCP-2026-00001", []int{1, 2})
	if len(pending) != 1 {
		t.Fatalf("after one sent: %d pending", len(pending))
	}
}

// The list honours the read rule: parties by email (any case), managers of
// either agency, the policy's partnership, admins; nobody else.
func TestListCasesReadRule(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if _, err := st.RecordEvents(ctx, sampleInput(1, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "o"}), render); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v    store.Viewer
		want int
	}{
		{store.Viewer{Email: "hana@NHFT.example", Role: "practitioner", Agency: "nhft"}, 1},
		{store.Viewer{Email: "x@nct.example", Role: "manager", Agency: "nct"}, 1},
		{store.Viewer{Email: "x@nct.example", Role: "practitioner", Agency: "nct"}, 0},
		{store.Viewer{Email: "p@nscp.example", Role: "partnership", Agency: "northamptonshire"}, 1},
		{store.Viewer{Email: "p@devon.example", Role: "partnership", Agency: "devon"}, 0},
		{store.Viewer{Email: "a@x.example", Role: "admin", Agency: "x"}, 1},
		{store.Viewer{Email: "m@police.example", Role: "manager", Agency: "police"}, 0},
	} {
		got, _, err := st.ListCases(ctx, tc.v, store.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("%+v sees %d cases, want %d", tc.v, len(got), tc.want)
		}
	}
	overdue := true
	got, _, err := st.ListCases(ctx, store.Viewer{Role: "admin"}, store.ListFilter{Overdue: &overdue})
	if err != nil || len(got) != 1 || !got[0].Stage.Overdue {
		t.Fatalf("overdue filter (the January 2026 deadline has passed): %d %v", len(got), err)
	}
	// Open and closed: an open case is listed as open, not as closed.
	yes, no := true, false
	if got, _, err := st.ListCases(ctx, store.Viewer{Role: "admin"}, store.ListFilter{Open: &yes}); err != nil || len(got) != 1 {
		t.Fatalf("open filter: %d %v", len(got), err)
	}
	if got, _, err := st.ListCases(ctx, store.Viewer{Role: "admin"}, store.ListFilter{Open: &no}); err != nil || len(got) != 0 {
		t.Fatalf("closed filter: %d %v", len(got), err)
	}
}

// Concurrent claims of one idempotency key get one reference; another body
// with the same key is refused.
func TestClaimRef(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	refs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		go func() {
			r, _, err := st.ClaimRef(ctx, "hana@nhft.example", "key-1", []byte("h1"), "NSCP", 2026)
			if err != nil {
				r = "error: " + err.Error()
			}
			refs <- r
		}()
	}
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		seen[<-refs]++
	}
	if len(seen) != 1 || seen["NSCP-2026-00001"] != 20 {
		t.Fatalf("concurrent claims: %v", seen)
	}
	if _, _, err := st.ClaimRef(ctx, "hana@nhft.example", "key-1", []byte("other"), "NSCP", 2026); err != store.ErrIdempotencyMismatch {
		t.Fatalf("other body: %v", err)
	}
	r, err := st.NextRef(ctx, "NSCP", 2026)
	if err != nil || r != "NSCP-2026-00002" {
		t.Fatalf("next ref %q %v: the claims must not have used up numbers", r, err)
	}
}

// The record refuses change, even from the database's superuser unless
// triggers are switched off; then verification finds the altered event.
func TestRecordIsAppendOnlyAndVerified(t *testing.T) {
	st, dsn := testStoreDSN(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.UTC)
	for i, step := range []workflows.RecordEventsInput{
		sampleInput(2, workflows.StatusOpen,
			workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "opened"},
			workflows.Event{Seq: 2, At: at, Type: workflows.EventStageEntered, Stage: 1, By: "escalate", Text: "stage 1"}),
		sampleInput(3, workflows.StatusOpen, workflows.Event{Seq: 3, At: at.Add(time.Hour), Type: workflows.EventNote, Stage: 1, By: "Sam", Text: "Called Hana"}),
	} {
		if _, err := st.RecordEvents(ctx, step, render); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	entries, v, err := st.Record(ctx, "NSCP-2026-00001")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact || v.Events != 3 || entries[1].PrevHash != entries[0].Hash || entries[0].PrevHash != "" {
		t.Fatalf("fresh record: %+v %+v", v, entries)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		"UPDATE events SET text = 'changed' WHERE seq = 3",
		"DELETE FROM events WHERE seq = 3",
		"TRUNCATE events CASCADE",
	} {
		if _, err := conn.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("superuser %q: %v, want the trigger to refuse", sql, err)
		}
	}
	// The application's role has no privilege to change it at all.
	if _, err := conn.Exec(ctx, "SET ROLE escalate_app"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE events DISABLE TRIGGER USER"); err == nil {
		t.Error("the application role could disable the record's triggers")
	}
	if _, err := conn.Exec(ctx, "UPDATE events SET text = 'changed' WHERE seq = 3"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("application role UPDATE: %v, want permission denied", err)
	}
	if _, err := conn.Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	// A superuser who switches triggers off can alter a row: verification
	// then names the first broken event.
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE events SET text = 'Did not call' WHERE ref = 'NSCP-2026-00001' AND seq = 2"); err != nil {
		t.Fatal(err)
	}
	_, v, err = st.Record(ctx, "NSCP-2026-00001")
	if err != nil {
		t.Fatal(err)
	}
	if v.Intact || v.FirstBroken != 2 || !strings.Contains(v.Reason, "content") {
		t.Fatalf("after tampering: %+v", v)
	}
}

// A delivery that fails is retrying until its last attempt, then failed;
// the case's summary lists it; one that went is never marked again; and
// webhook deliveries are recorded once per (event, agency) with a webhook.
func TestDeliveryStatuses(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	if _, err := st.PutWebhook(ctx, store.Webhook{Agency: "nct", URL: "https://nct.example/hook", Secret: "s", CreatedBy: "tok_1"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	in := sampleInput(1, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", ByEmail: "hana@nhft.example", Text: "opened"})
	in.Notices[0].Recipients = append(in.Notices[0].Recipients, workflows.Recipient{Name: "Lee", Email: "lee@nhft.example", Agency: "nhft"})
	for i := 0; i < 2; i++ {
		if _, err := st.RecordEvents(ctx, in, render); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := st.Notifications(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var channels []string
	for _, n := range ns {
		channels = append(channels, n.Channel+":"+n.Target)
	}
	// Two people by email; only nct has a webhook (nhft, the raiser's agency, has none).
	if got := strings.Join(channels, " "); got != "email:sam@nct.example email:lee@nhft.example webhook:nct" {
		t.Fatalf("notifications recorded: %s", got)
	}
	if ns[2].Body != `{"type":"case_opened","agency":"nct"}` || ns[0].HTML == "" {
		t.Fatalf("webhook body %q, mail HTML %q", ns[2].Body, ns[0].HTML)
	}
	sam, lee, hook := ns[0].ID, ns[1].ID, ns[2].ID
	for _, step := range []struct {
		id     int64
		status string
	}{{sam, store.NoteRetrying}, {sam, store.NoteRetrying}, {sam, store.NoteFailed}, {lee, store.NoteSent}, {lee, store.NoteRetrying}, {hook, store.NoteRetrying}} {
		if err := st.MarkNotification(ctx, step.id, step.status, errors.New("refused")); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := st.Deliveries(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || sum.Sent != 1 || sum.Retrying != 1 || sum.Pending != 0 || len(sum.Failures) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if f := sum.Failures[0]; f.To != "sam@nct.example" || f.Channel != "email" || f.Attempts != 3 || f.Seq != 1 {
		t.Fatalf("failure %+v", f)
	}
	// Neither the sent nor the failed one is pending again; the retrying one is.
	pending, err := st.PendingNotifications(ctx, in.Ref, []int{1})
	if err != nil || len(pending) != 1 || pending[0].ID != hook {
		t.Fatalf("pending after marks: %+v %v", pending, err)
	}
	counts, err := st.NotificationCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[c.Channel+"/"+c.Status] = c.Count
	}
	if got["email/failed"] != 1 || got["email/sent"] != 1 || got["webhook/retrying"] != 1 || len(got) != 3 {
		t.Fatalf("counts %v", got)
	}
}

// The deadline an event set is kept, read back, and covered by its hash;
// an event without one hashes as events always did.
func TestEventDeadlineIsRecordedAndHashed(t *testing.T) {
	st, dsn := testStoreDSN(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 24, 14, 0, 0, 0, time.UTC)
	due := time.Date(2026, 12, 30, 17, 0, 0, 0, time.UTC)
	withDue := workflows.Event{Seq: 2, At: at, Type: workflows.EventStageEntered, Stage: 1, By: "escalate", Text: "stage 1", DueAt: &due}
	noDue := withDue
	noDue.DueAt = nil
	if bytes.Equal(store.EventHash(nil, "R", withDue), store.EventHash(nil, "R", noDue)) {
		t.Fatal("the deadline is not part of the hash")
	}
	other := due.Add(time.Hour)
	moved := withDue
	moved.DueAt = &other
	if bytes.Equal(store.EventHash(nil, "R", withDue), store.EventHash(nil, "R", moved)) {
		t.Fatal("a moved deadline hashes the same")
	}
	in := sampleInput(2, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "opened"}, withDue)
	if _, err := st.RecordEvents(ctx, in, render); err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].DueAt != nil || evs[1].DueAt == nil || !evs[1].DueAt.Equal(due) {
		t.Fatalf("deadlines read back: %v, %v", evs[0].DueAt, evs[1].DueAt)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE events SET due_at = due_at + interval '2 days' WHERE ref = $1 AND seq = 2", in.Ref); err != nil {
		t.Fatal(err)
	}
	_, v, err := st.Record(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if v.Intact || v.FirstBroken != 2 {
		t.Fatalf("after moving a recorded deadline: %+v", v)
	}
}
