package activities_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"escalate/activities"
	"escalate/internal/testdb"
	"escalate/store"
	"escalate/workflows"
)

// dispatchStore is a fresh, migrated database opened as the worker opens
// it, dropped after the test.
func dispatchStore(t *testing.T) *store.Store {
	t.Helper()
	dsn := testdb.Fresh(t, "escalate_dispatch")
	ctx := context.Background()
	app, err := store.AppURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.ParseRecordKeys("6c6f6e672d656e6f7567682d746573742d6b65792d666f722d7468652d7265636f7264")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, app, store.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// recordCase records the opening of ref telling people, its notifications
// marked for the dispatcher or left to the workflow, through the
// activity the workflow runs.
func recordCase(t *testing.T, acts *activities.Activities, ref string, people int, dispatch bool) {
	t.Helper()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	c := workflows.Case{Ref: ref, Policy: "northamptonshire", Status: workflows.StatusOpen, ChildRef: "A1", Category: "communication",
		CreatedAt: at, Stage: workflows.StageState{Number: 1, Name: "One", StartedAt: at, DueAt: at.Add(48 * time.Hour)},
		Raiser:     workflows.Party{Name: "Hana", Email: "hana@nhft.example", Agency: "nhft"},
		Respondent: workflows.Party{Name: "Sam", Email: "sam@nct.example", Agency: "nct"}, Contacts: []workflows.Contact{}, Version: 1}
	in := workflows.RecordEventsInput{Ref: ref, RunID: "run-1", Case: c, Timezone: "Europe/London", Dispatch: dispatch,
		Events: []workflows.Event{{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", ByEmail: "hana@nhft.example", Text: "opened"}}}
	notice := workflows.Notice{Seq: 1}
	for i := 0; i < people; i++ {
		notice.Recipients = append(notice.Recipients, workflows.Recipient{Name: fmt.Sprint("Person ", i), Email: fmt.Sprintf("p%d@nct.example", i), Why: "respondent"})
	}
	in.Notices = []workflows.Notice{notice}
	if _, err := acts.RecordEvents(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// countingMailer counts what it is asked to send, refuses while fail is
// set, and holds each send until release is closed if hold is set.
type countingMailer struct {
	mu      sync.Mutex
	sent    map[string]int // Message-ID -> successful sends
	tries   map[string]int
	fail    bool
	hold    chan struct{}
	started chan struct{}
}

func newCountingMailer() *countingMailer {
	return &countingMailer{sent: map[string]int{}, tries: map[string]int{}}
}

func (m *countingMailer) Send(ctx context.Context, mail activities.Mail) error {
	m.mu.Lock()
	m.tries[mail.MessageID]++
	fail, hold, started := m.fail, m.hold, m.started
	m.mu.Unlock()
	if started != nil {
		select {
		case started <- struct{}{}:
		default:
		}
	}
	if hold != nil {
		<-hold
	}
	if fail {
		return errors.New("454 mail server unavailable")
	}
	m.mu.Lock()
	m.sent[mail.MessageID]++
	m.mu.Unlock()
	return nil
}

func (m *countingMailer) counts() (sent, tries map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sent, tries = map[string]int{}, map[string]int{}
	for k, v := range m.sent {
		sent[k] = v
	}
	for k, v := range m.tries {
		tries[k] = v
	}
	return sent, tries
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func statuses(t *testing.T, st *store.Store, ref string) map[string]int {
	t.Helper()
	ns, err := st.Notifications(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, n := range ns {
		out[n.Status]++
	}
	return out
}

// Two dispatchers at once send every notification marked for them once,
// soon after it is recorded (they are woken, not polling: Poll is an
// hour), and leave those a workflow delivers alone.
func TestDispatchersSendEachNotificationOnce(t *testing.T) {
	st := dispatchStore(t)
	mailer := newCountingMailer()
	acts := &activities.Activities{Store: st, Mailer: mailer, Log: quiet()}
	for _, d := range []*activities.Dispatcher{{Acts: acts, Poll: time.Hour, Parallel: 4}, {Acts: acts, Poll: time.Hour, Parallel: 3}} {
		t.Cleanup(d.Start())
	}
	time.Sleep(200 * time.Millisecond) // both are listening
	recordCase(t, acts, "NSCP-2026-00001", 2, false)
	for i := 2; i <= 11; i++ {
		recordCase(t, acts, fmt.Sprintf("NSCP-2026-%05d", i), 3, true)
	}
	waitFor(t, 20*time.Second, "30 notifications sent", func() bool {
		sent, _ := mailer.counts()
		return len(sent) == 30
	})
	time.Sleep(300 * time.Millisecond) // a second send would come now
	sent, tries := mailer.counts()
	for id, n := range sent {
		if n != 1 || tries[id] != 1 {
			t.Errorf("%s: sent %d times in %d tries, want once", id, n, tries[id])
		}
	}
	for i := 2; i <= 11; i++ {
		if got := statuses(t, st, fmt.Sprintf("NSCP-2026-%05d", i)); got[store.NoteSent] != 3 || len(got) != 1 {
			t.Errorf("case %d: %v, want 3 sent", i, got)
		}
	}
	if got := statuses(t, st, "NSCP-2026-00001"); got[store.NotePending] != 2 {
		t.Errorf("the workflow's notifications: %v, want 2 still pending for it", got)
	}
}

// A mail server that refuses: each notification is tried
// workflows.DeliverMaxAttempts times, then failed for good, visible on the
// case; retrying meanwhile.
func TestDispatchGivesUpAfterTheLastAttempt(t *testing.T) {
	st := dispatchStore(t)
	mailer := newCountingMailer()
	mailer.fail = true
	acts := &activities.Activities{Store: st, Mailer: mailer, Log: quiet()}
	// The retries come at once rather than after 5 s, 10 s, ...
	t.Cleanup((&activities.Dispatcher{Acts: acts, Poll: 50 * time.Millisecond, RetryIn: func(int) time.Duration { return 0 }}).Start())
	recordCase(t, acts, "NSCP-2026-00001", 2, true)
	waitFor(t, 20*time.Second, "both failed", func() bool { return statuses(t, st, "NSCP-2026-00001")[store.NoteFailed] == 2 })
	time.Sleep(300 * time.Millisecond)
	sent, tries := mailer.counts()
	if len(sent) != 0 || len(tries) != 2 {
		t.Fatalf("sent %v, tried %v", sent, tries)
	}
	for id, n := range tries {
		if n != workflows.DeliverMaxAttempts {
			t.Errorf("%s tried %d times, want %d", id, n, workflows.DeliverMaxAttempts)
		}
	}
	sum, err := st.Deliveries(context.Background(), "NSCP-2026-00001")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 2 || len(sum.Failures) != 2 || sum.Failures[0].Attempts != workflows.DeliverMaxAttempts {
		t.Fatalf("deliveries %+v", sum)
	}
}

// A dispatcher stopped while it sends finishes the send and marks it: the
// mail is not sent again by the next dispatcher.
func TestDispatcherStopsAfterWhatItIsSending(t *testing.T) {
	st := dispatchStore(t)
	mailer := newCountingMailer()
	release := make(chan struct{})
	mailer.hold, mailer.started = release, make(chan struct{}, 1)
	acts := &activities.Activities{Store: st, Mailer: mailer, Log: quiet()}
	stop := (&activities.Dispatcher{Acts: acts, Poll: 50 * time.Millisecond}).Start()
	recordCase(t, acts, "NSCP-2026-00001", 1, true)
	select {
	case <-mailer.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the send never started")
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a send was in flight")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return after the send finished")
	}
	if got := statuses(t, st, "NSCP-2026-00001"); got[store.NoteSent] != 1 {
		t.Fatalf("after stopping: %v, want the send marked", got)
	}
	t.Cleanup((&activities.Dispatcher{Acts: acts, Poll: 50 * time.Millisecond}).Start())
	time.Sleep(300 * time.Millisecond)
	if sent, tries := mailer.counts(); len(sent) != 1 || len(tries) != 1 {
		t.Fatalf("sent %v in tries %v, want one mail once", sent, tries)
	}
}
