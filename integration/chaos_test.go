package integration

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"escalate/activities"
	"escalate/worker"
	"escalate/workflows"
)

// The fault tests (make chaos): each injects one fault into the running
// system and then checks the outcome, case by case, against the record.
// Their sizes are flags; the defaults are the quick versions that also run
// in make test, and make chaos runs the full ones:
//
//	go test -count=1 -run '^TestChaos' ./integration/ -args -chaos.storm=200 -chaos.pgdown=60s \
//	  -chaos.clients=200 -chaos.cases=1000 -chaos.mixed=60s
var (
	chaosStorm   = flag.Int("chaos.storm", 12, "drill cases climbing while the worker is killed")
	chaosPGDown  = flag.Duration("chaos.pgdown", 10*time.Second, "how long PostgreSQL is unreachable")
	chaosClients = flag.Int("chaos.clients", 20, "concurrent clients in the mixed-load test")
	chaosCases   = flag.Int("chaos.cases", 30, "cases the mixed-load clients act on")
	chaosMixed   = flag.Duration("chaos.mixed", 15*time.Second, "how long the mixed-load clients run")
)

// drillClimb is the record of a fast-drill case nobody acts on, from its
// opening to the last stage's deadline passing: the event types in order,
// as a case left alone records them.
func drillClimb(t *testing.T, s *system, ref string) []string {
	t.Helper()
	evs, err := s.store.Events(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, fmt.Sprintf("%s@%d", e.Type, e.Stage))
	}
	return types
}

// climbed reports whether a drill case has reached the last stage's
// deadline and recorded it: the deadline_passed event of stage 5 is on the
// record. (The case row's overdue flag is not enough: a read marks a case
// overdue as soon as its deadline is past, before the workflow has
// recorded it, so on a loaded machine a record read then lacked the last
// event that a record read a moment later had.)
func climbed(t *testing.T, s *system, ref string) bool {
	t.Helper()
	evs, err := s.store.Events(context.Background(), ref)
	if err != nil {
		return false
	}
	for _, e := range evs {
		if e.Type == workflows.EventDeadlinePassed && e.Stage == 5 {
			return true
		}
	}
	return false
}

// checkRecord asserts a case's record is whole: sealed, numbered 1..n with
// no gap or repeat, and each notification recorded once per recipient.
func checkRecord(t *testing.T, s *system, ref string) {
	t.Helper()
	ctx := context.Background()
	entries, v, err := s.store.Record(ctx, ref)
	if err != nil {
		t.Fatalf("%s: record: %v", ref, err)
	}
	if !v.Intact || v.Events != len(entries) {
		t.Errorf("%s: record not intact: %+v", ref, v)
	}
	for i, e := range entries {
		if e.Seq != i+1 {
			t.Errorf("%s: event %d has seq %d", ref, i+1, e.Seq)
		}
	}
	notes, err := s.store.Notifications(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	once := map[string]int{}
	for _, n := range notes {
		once[fmt.Sprintf("%d %s %s", n.Seq, n.Channel, n.Target)]++
	}
	for k, n := range once {
		if n != 1 {
			t.Errorf("%s: notification %s recorded %d times", ref, k, n)
		}
	}
}

// checkMailOnce asserts MailDev caught no message twice (by Message-ID)
// and returns how many distinct messages it caught. One exception, which
// it names: delivery is at least once, so a worker killed after the mail
// server took a message and before the record says so sends it again,
// with the same Message-ID (mail clients show it once); that is allowed
// only where it was indeed sent again: its case's delivery activity was
// retried (a case delivering by activity), or the dispatcher's claim of
// it ran out unmarked and it was claimed again.
func checkMailOnce(t *testing.T, s *system) int {
	t.Helper()
	seen := mailCopies(t, s)
	for id, n := range seen {
		if n == 1 {
			continue
		}
		ref := strings.ToUpper(strings.SplitN(id, ".", 2)[0])
		if n == 2 && (deliveryRetried(t, s, ref) || claimedAgain(t, s, id)) {
			t.Logf("mail %s sent again after a kill: its delivery was retried, or claimed again (same Message-ID)", id)
			continue
		}
		t.Errorf("mail %s sent %d times", id, n)
	}
	return len(seen)
}

// mailCopies counts the messages MailDev caught by Message-ID.
func mailCopies(t *testing.T, s *system) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, m := range s.mail.Messages(t) {
		id := m.MessageID
		if id == "" {
			id = m.Headers["message-id"]
		}
		seen[strings.Trim(id, "<>")]++
	}
	return seen
}

// deliveryRetried reports whether a DeliverNotifications activity of the
// case ran more than one attempt.
func deliveryRetried(t *testing.T, s *system, ref string) bool {
	t.Helper()
	it := s.temporal.GetWorkflowHistory(context.Background(), ref, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 &&
			scheduled[a.GetScheduledEventId()] == workflows.ActivityDeliverNotifications {
			return true
		}
	}
	return false
}

// claimedAgain reports whether the notification a Message-ID names was
// claimed by the dispatcher more often than its attempts were marked: a
// dispatcher died holding it.
func claimedAgain(t *testing.T, s *system, messageID string) bool {
	t.Helper()
	parts := strings.Split(strings.TrimSuffix(messageID, "@escalate"), ".")
	if len(parts) != 3 {
		return false
	}
	db := s.adminConn(t)
	var again bool
	if err := db.QueryRow(context.Background(), `SELECT claims > attempts FROM notifications WHERE id = $1`, parts[2]).Scan(&again); err != nil {
		return false
	}
	return again
}

// adminConn is a connection as the database's administrator, for the
// test's own counts.
func (s *system) adminConn(t *testing.T) *pgx.Conn {
	t.Helper()
	db, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// sentEmails counts the email notifications the record says went out.
func sentEmails(t *testing.T, s *system) int {
	t.Helper()
	db := s.adminConn(t)
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM notifications WHERE channel = 'email' AND status = 'sent'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitAll polls until done holds for every ref, or fails after d.
func waitAll(t *testing.T, refs []string, d time.Duration, done func(string) bool) {
	t.Helper()
	left := append([]string(nil), refs...)
	for end := time.Now().Add(d); len(left) > 0; time.Sleep(500 * time.Millisecond) {
		var still []string
		for _, r := range left {
			if !done(r) {
				still = append(still, r)
			}
		}
		left = still
		if len(left) > 0 && time.Now().After(end) {
			t.Fatalf("%d of %d cases not there after %v, e.g. %s", len(left), len(refs), d, left[0])
		}
	}
}

// waitMail waits until MailDev has caught every email the record says
// was sent (the SMTP answer and the record's write race MailDev's API).
func waitMail(t *testing.T, s *system) {
	t.Helper()
	db := s.adminConn(t)
	// A notification a killed worker's dispatcher held is claimed again
	// when its lease ends (activities.dispatchLease, a minute).
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		var sent, unsent int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status = 'sent'),
			count(*) FILTER (WHERE status IN ('pending', 'retrying')) FROM notifications WHERE channel = 'email'`).Scan(&sent, &unsent); err != nil {
			t.Fatal(err)
		}
		caught := len(s.mail.Messages(t))
		if caught >= sent && unsent == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("MailDev caught %d mails, the record says %d were sent and %d are still to go", caught, sent, unsent)
		}
	}
}

// openDrill opens n fast-drill cases (openCases).
func (s *system) openDrill(t *testing.T, token string, n int, prefix string) []string {
	t.Helper()
	return s.openCases(t, token, "northamptonshire-fastdrill", n, prefix)
}

// openCases opens n cases of policy, eight at a time, each with an
// Idempotency-Key and retried with it on 503 (Temporal did not confirm in
// time: on a loaded machine it may not), as the contract tells a client to.
func (s *system) openCases(t *testing.T, token, policy string, n int, prefix string) []string {
	t.Helper()
	refs := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body := map[string]any{
				"policy": policy, "child_ref": fmt.Sprintf("%s/%d", prefix, i), "category": "communication",
				"summary":    "Minutes not shared.",
				"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
			}
			code := 0
			for try := 0; try < 5; try++ {
				var c workflows.Case
				code = s.callWithHeader("POST", "/v1/cases", token, "Idempotency-Key", fmt.Sprintf("open-%s-%d", prefix, i), body, &c)
				if code == http.StatusCreated {
					refs[i] = c.Ref
					return
				}
				if code != http.StatusServiceUnavailable {
					break
				}
			}
			t.Errorf("create drill case %d: %d", i, code)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return refs
}

// TestHelperChaosWorker is not a test: TestChaosWorkerKilledDuringStorm
// runs the test binary again as this worker process, and kills it.
func TestHelperChaosWorker(t *testing.T) {
	addr := os.Getenv("ESCALATE_CHAOS_WORKER_TEMPORAL")
	if addr == "" {
		return // run only as the child process
	}
	st, tc := childWorkerDeps(t, addr, os.Getenv("ESCALATE_CHAOS_WORKER_DSN"))
	mailer, err := activities.NewSMTPMailer("smtp://"+os.Getenv("ESCALATE_CHAOS_WORKER_SMTP"), "escalate@test.example")
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(tc, &activities.Activities{Store: st, Temporal: tc, Mailer: mailer, Webhooks: activities.NewWebhookPoster(true),
		PublicURL: "http://escalate.test", Log: quietSlog()})
	if err := w.Run(sdkworker.InterruptCh()); err != nil {
		t.Fatal(err)
	}
}

// startChaosWorker runs escalate's worker in a child process.
func (s *system) startChaosWorker(t *testing.T) *exec.Cmd {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^TestHelperChaosWorker$", "-test.count=1")
	child.Env = append(os.Environ(), "ESCALATE_CHAOS_WORKER_TEMPORAL="+s.dev.FrontendHostPort(), "ESCALATE_CHAOS_WORKER_DSN="+s.appDSN,
		"ESCALATE_CHAOS_WORKER_SMTP="+s.mail.smtpAddr, "RECORD_KEY="+s.recordKey)
	child.Stdout, child.Stderr = io.Discard, io.Discard
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _, _ = child.Process.Wait() })
	return child
}

// The worker SIGKILLed twice while drill cases climb their stages every 2
// seconds (a storm of escalations), restarted each time: every case still
// climbs to the last stage, its record holds exactly the events of a case
// left alone (none missing, none twice, sealed), every notification is
// recorded once, and MailDev caught no mail twice.
func TestChaosWorkerKilledDuringStorm(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	// The reference climb, with the in-process worker and no fault.
	ref := s.openDrill(t, raiser, 1, "CHAOS/REF")[0]
	waitAll(t, []string{ref}, 90*time.Second, func(r string) bool { return climbed(t, s, r) })
	want := strings.Join(drillClimb(t, s, ref), " ")

	s.stopWorker()
	w := s.startChaosWorker(t)
	refs := s.openDrill(t, raiser, *chaosStorm, "CHAOS/STORM")
	for kill := 0; kill < 2; kill++ {
		time.Sleep(3 * time.Second)
		if err := w.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_, _ = w.Process.Wait()
		time.Sleep(time.Second)
		w = s.startChaosWorker(t)
	}
	waitAll(t, refs, 3*time.Minute, func(r string) bool { return climbed(t, s, r) })
	for _, r := range refs {
		if got := strings.Join(drillClimb(t, s, r), " "); got != want {
			t.Errorf("%s recorded\n  %s\nwant, as a case left alone:\n  %s", r, got, want)
		}
		checkRecord(t, s, r)
	}
	waitMail(t, s)
	if caught, sent := checkMailOnce(t, s), sentEmails(t, s); caught != sent {
		t.Errorf("MailDev caught %d mails, the record says %d were sent", caught, sent)
	}
}

// restartTemporalFrom starts the dev server again where it listened, from
// the SQLite file it kept its state in ("": a fresh one, in memory).
func restartTemporalFrom(t *testing.T, addr, dbFile string) *testsuite.DevServer {
	t.Helper()
	cli, err := filepath.Abs(env("TEMPORAL_CLI", "../bin/temporal"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: withCodec(&client.Options{HostPort: addr, Namespace: "default", Logger: quietLogger()}),
		DBFilename:    dbFile,
		LogLevel:      "error",
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		t.Fatalf("restart the Temporal dev server from %s: %v", dbFile, err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// The Temporal dev server stopped while a case's stage deadline passes and
// started again from its file: the escalation happens after the restart,
// once, and the case climbs on as a case left alone does.
func TestChaosTemporalRestartAcrossDeadline(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	s := startSystemWith(t, systemOptions{temporalDB: dbFile})
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	ref := s.openDrill(t, raiser, 1, "CHAOS/RESTART")[0]
	addr := s.dev.FrontendHostPort()
	if err := s.dev.Stop(); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	// Stage 1's 2-second deadline passes while Temporal is down.
	time.Sleep(5 * time.Second)
	if cs, err := s.store.GetCase(context.Background(), ref); err != nil || cs.Stage.Number != 1 {
		t.Fatalf("while Temporal was down the case moved: stage %d, %v", cs.Stage.Number, err)
	}
	restartTemporalFrom(t, addr, dbFile)
	restartedAt := time.Now()
	waitAll(t, []string{ref}, 2*time.Minute, func(r string) bool { return climbed(t, s, r) })

	evs, err := s.store.Events(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	first := -1
	for i, e := range evs {
		if e.Type == workflows.EventEscalated {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatalf("never escalated: %v", drillClimb(t, s, ref))
	}
	if e := evs[first]; e.At.Before(restartedAt.Add(-time.Second)) || !e.At.After(stoppedAt) {
		t.Errorf("the first escalation is dated %v: stopped %v, restarted %v", e.At, stoppedAt, restartedAt)
	}
	// The same climb as a case that ran throughout.
	other := s.openDrill(t, raiser, 1, "CHAOS/RESTART-REF")[0]
	waitAll(t, []string{other}, 90*time.Second, func(r string) bool { return climbed(t, s, r) })
	if got, want := strings.Join(drillClimb(t, s, ref), " "), strings.Join(drillClimb(t, s, other), " "); got != want {
		t.Errorf("after the restart the case recorded\n  %s\nwant\n  %s", got, want)
	}
	checkRecord(t, s, ref)
}

// PostgreSQL unreachable (connections cut and refused, through the test's
// own proxy) while drill cases climb: the API answers the contract's 503
// (unavailable, Retry-After, "nothing was changed") to reads and writes,
// nothing is half-written (no case row, no key bound, no new event from a
// refused request); once it is back every deadline's events land, once.
func TestChaosDatabaseUnreachable(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	refs := s.openDrill(t, raiser, 3, "CHAOS/PG")
	before := s.caseCount(t)
	s.pg.Down()
	downAt := time.Now()
	body := map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "CHAOS/PG/NEW", "category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam", "email": "sam@nct.example", "agency": "nct"}}
	for i := 0; time.Since(downAt) < *chaosPGDown; i++ {
		for _, r := range []struct{ method, path, key string }{
			{"GET", "/v1/cases/" + refs[0], ""},
			{"POST", "/v1/cases/" + refs[0] + "/notes", ""},
			{"POST", "/v1/cases", fmt.Sprintf("pg-down-%d", i)},
		} {
			var b any
			switch {
			case strings.HasSuffix(r.path, "/notes"):
				b = map[string]string{"text": "written while PostgreSQL was away"}
			case r.path == "/v1/cases":
				b = body
			}
			code, hdr, eb := s.rawCall(r.method, r.path, raiser, r.key, b)
			if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || eb.Error.Code != "unavailable" ||
				!strings.Contains(eb.Error.Message, "nothing was changed") {
				t.Errorf("%s %s with PostgreSQL unreachable: %d Retry-After %q %+v", r.method, r.path, code, hdr.Get("Retry-After"), eb)
			}
		}
		time.Sleep(time.Second)
	}
	s.pg.Up()
	if after := s.caseCount(t); after != before {
		t.Errorf("cases %d before the outage, %d after: a refused start was written", before, after)
	}
	waitAll(t, refs, 3*time.Minute, func(r string) bool { return climbed(t, s, r) })
	want := ""
	for _, r := range refs {
		got := strings.Join(drillClimb(t, s, r), " ")
		if strings.Contains(got, "note@") {
			t.Errorf("%s: a note refused while PostgreSQL was away is on the record: %s", r, got)
		}
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("%s recorded\n  %s\nwant, as the others:\n  %s", r, got, want)
		}
		checkRecord(t, s, r)
	}
	db := s.adminConn(t)
	var keys int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE key LIKE 'pg-down-%'`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != 0 {
		t.Errorf("%d Idempotency-Keys of refused starts are bound", keys)
	}
	// The dispatcher could neither claim nor mark while PostgreSQL was
	// away: every email of the climbs still goes, and none twice (no
	// worker died here: a mail sent before the cut is marked when
	// PostgreSQL is back, not claimed and sent again).
	waitMail(t, s)
	copies := mailCopies(t, s)
	for id, n := range copies {
		if n != 1 {
			t.Errorf("mail %s sent %d times", id, n)
		}
	}
	if sent := sentEmails(t, s); len(copies) != sent {
		t.Errorf("MailDev caught %d mails, the record says %d were sent", len(copies), sent)
	}
	// Working again: a start and a note succeed.
	if code := s.call("POST", "/v1/cases/"+refs[0]+"/notes", raiser, map[string]string{"text": "back"}, nil); code != http.StatusOK {
		t.Errorf("note after the outage: %d", code)
	}
}

// mixedOutcome is what the mixed-load clients were told.
type mixedOutcome struct {
	mu      sync.Mutex
	notes   map[string]string // note text → ref, answered 200
	unknown map[string]string // note text → ref, answered 503 (outcome unknown)
	agreed  map[string]bool   // refs whose agreement was confirmed (200)
	started map[string]bool   // refs answered 201
	codes   map[int]int
	errs    []string
	// refused503 counts the notes answered 503 with nothing changed (the
	// API busy, or a dependency down): they must not be on the record.
	refused503 int
}

// 200 clients (quick: 20) mix starts, notes and agreements against 1,000
// cases (quick: 30) for 60 s (quick: 15 s): no answer is a 5xx but the
// 503 that says the outcome is unknown, and the record matches exactly
// what the clients were told: each note answered 200 is on it once, each
// refused one is not, each confirmed agreement closed its case, each
// started case exists.
func TestChaosMixedClients(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	start := func(child string) (workflows.Case, int) {
		var c workflows.Case
		code := s.call("POST", "/v1/cases", raiser, map[string]any{
			"policy": "northamptonshire", "child_ref": child, "category": "communication", "summary": "Minutes not shared.",
			"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
		}, &c)
		return c, code
	}
	refs := s.openCases(t, raiser, "northamptonshire", *chaosCases, "MIX/SEED")
	var wg sync.WaitGroup

	out := &mixedOutcome{notes: map[string]string{}, unknown: map[string]string{}, agreed: map[string]bool{}, started: map[string]bool{}, codes: map[int]int{}}
	tell := func(code int, what string) {
		out.mu.Lock()
		defer out.mu.Unlock()
		out.codes[code]++
		if code >= 500 && code != http.StatusServiceUnavailable || code < 0 {
			out.errs = append(out.errs, fmt.Sprintf("%s: %d", what, code))
		}
	}
	end := time.Now().Add(*chaosMixed)
	for c := 0; c < *chaosClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; time.Now().Before(end); k++ {
				ref := refs[(c*7+k)%len(refs)]
				// Every kind from each client's first request on (client c
				// starts at kind c mod 10): on a slow machine a client makes
				// only a few requests in the window, and with k % 10 none
				// reached an agreement at full size.
				switch (c + k) % 10 {
				case 0: // a start
					cs, code := start(fmt.Sprintf("MIX/%d/%d", c, k))
					tell(code, "start")
					if code == http.StatusCreated {
						out.mu.Lock()
						out.started[cs.Ref] = true
						out.mu.Unlock()
					}
				case 9: // an agreement, proposed and confirmed
					var eb errorBody
					code := s.call("POST", "/v1/cases/"+ref+"/agreement", raiser, map[string]any{"outcome": "Agreed"}, &eb)
					tell(code, "propose "+ref)
					if code != http.StatusOK {
						continue // closed already, or proposed by another client: 409
					}
					code = s.call("POST", "/v1/cases/"+ref+"/agreement/confirm", respondent, nil, &eb)
					tell(code, "confirm "+ref)
					if code == http.StatusOK {
						out.mu.Lock()
						out.agreed[ref] = true
						out.mu.Unlock()
					}
				default: // a note
					text := fmt.Sprintf("mixed note %d/%d", c, k)
					var eb errorBody
					code := s.call("POST", "/v1/cases/"+ref+"/notes", raiser, map[string]string{"text": text}, &eb)
					tell(code, "note "+ref)
					out.mu.Lock()
					switch {
					case code == http.StatusOK:
						out.notes[text] = ref
					case code == http.StatusServiceUnavailable && strings.Contains(eb.Error.Message, "nothing was changed"):
						out.refused503++ // never sent: must not be on the record
					case code == http.StatusServiceUnavailable:
						out.unknown[text] = ref
					}
					out.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("answers: %v; %d notes, %d agreements, %d starts told succeeded; %d notes unknown, %d refused with nothing changed",
		out.codes, len(out.notes), len(out.agreed), len(out.started), len(out.unknown), out.refused503)
	for _, e := range out.errs {
		t.Errorf("5xx that is not the contract's 503: %s", e)
	}
	if len(out.notes) == 0 {
		t.Fatal("no note succeeded: the load tells nothing")
	}

	// The record, case by case, against what the clients were told.
	found := map[string]int{}
	for _, ref := range refs {
		evs, err := s.store.Events(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Type == workflows.EventNote {
				found[e.Text]++
				if want, ok := out.notes[e.Text]; ok && want != ref {
					t.Errorf("note %q is on %s, was sent to %s", e.Text, ref, want)
				}
				if _, told := out.notes[e.Text]; !told {
					if _, unk := out.unknown[e.Text]; !unk {
						t.Errorf("%s: note %q is on the record though the client was refused", ref, e.Text)
					}
				}
			}
		}
		cs, err := s.store.GetCase(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if out.agreed[ref] && cs.Status != workflows.StatusResolved {
			t.Errorf("%s: agreement confirmed to the client, case %s", ref, cs.Status)
		}
		checkRecord(t, s, ref)
	}
	for text, ref := range out.notes {
		if found[text] != 1 {
			t.Errorf("note %q on %s: on the record %d times, want once", text, ref, found[text])
		}
	}
	for text := range out.unknown {
		if found[text] > 1 {
			t.Errorf("note %q (outcome unknown) on the record %d times", text, found[text])
		}
	}
	for ref := range out.started {
		if _, err := s.store.GetCase(context.Background(), ref); err != nil {
			t.Errorf("start of %s answered 201, not on the record: %v", ref, err)
		}
	}
}
