// Package integration drives the whole system through its HTTP API against a
// real Temporal dev server and the real PostgreSQL.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"escalate/activities"
	"escalate/api"
	"escalate/internal/testdb"
	"escalate/metrics"
	"escalate/policies"
	"escalate/store"
	"escalate/web"
	"escalate/worker"
	"escalate/workflows"
)

const adminToken = "integration-admin-token"

// system is one running escalate: dev server, database, worker and API.
type system struct {
	t        *testing.T
	url      string
	temporal client.Client
	// store talks to PostgreSQL directly, for the test's own checks; the
	// API and worker go through pg, which the test can take down.
	store *store.Store
	pg    *tcpProxy
	dev   *testsuite.DevServer
	mail  *mailDev
	// acts are the activities the in-process worker runs; dsn is the
	// database's administrator URL through pg, for the test's own SQL;
	// appDSN the application's login through pg, which the worker and API
	// use; recordKey the key they seal the record with.
	acts      *activities.Activities
	dsn       string
	appDSN    string
	recordKey string
	worker    sdkworker.Worker
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// startSystem starts it; each option may change the API's configuration.
func startSystem(t *testing.T, options ...func(*api.Config)) *system {
	t.Helper()
	return startSystemWith(t, systemOptions{}, options...)
}

// systemOptions are what a test may change about the system it starts.
type systemOptions struct {
	// temporalDB: the dev server keeps its SQLite database in this file
	// (default: in memory).
	temporalDB string
	// api changes the API's configuration.
	api []func(*api.Config)
	// pages mounts the people's pages (package web) beside the API, as
	// the binary does, mailing sign-in links through MailDev.
	pages bool
	// devServerArgs are more arguments for the dev server (e.g. a dynamic
	// config value).
	devServerArgs []string
}

// harness is what the browser tests call the system's options.
type harness = systemOptions

// startSystemWith is startSystem with options; each option may change the
// API's configuration.
func startSystemWith(t *testing.T, opts systemOptions, options ...func(*api.Config)) *system {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cli, err := filepath.Abs(env("TEMPORAL_CLI", "../bin/temporal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("the Temporal CLI is needed at %s (make test installs it): %v", cli, err)
	}
	// One registry for the process, as cmd/escalate makes: the API serves
	// it at /metrics with the SDK's worker metrics in it.
	reg := prometheus.NewRegistry()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: withCodec(&client.Options{Namespace: "default", Logger: quietLogger(), MetricsHandler: metrics.NewSDK(reg)}),
		DBFilename:    opts.temporalDB,
		ExtraArgs:     opts.devServerArgs,
		LogLevel:      "error",
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		t.Fatalf("start Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })

	base := env("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	dsn := strings.Replace(base, "/postgres?", fmt.Sprintf("/escalate_it_%d_%d?", os.Getpid(), time.Now().UnixNano()%1e6), 1)
	if err := store.Prepare(ctx, dsn); err != nil {
		t.Fatalf("prepare database: %v", err)
	}
	recordKey, err := store.NewRecordKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.ParseRecordKeys(recordKey)
	if err != nil {
		t.Fatal(err)
	}
	// The test's own store logs in as the administrator, beside the
	// system; the system itself never may.
	st, err := store.Open(ctx, dsn, store.Options{Keys: keys, UnsafeAllowPrivileged: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		_ = testdb.Drop(context.Background(), dsn)
	})
	pgURL, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pg := startProxy(t, pgURL.Host)
	pgURL.Host = pg.Addr()
	appDSN, err := store.AppURL(pgURL.String())
	if err != nil {
		t.Fatal(err)
	}
	appStore, err := store.Open(ctx, appDSN, store.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(appStore.Close)

	tc := srv.Client()
	if err := worker.EnsureSearchAttributes(ctx, tc, "default"); err != nil {
		t.Fatal(err)
	}
	sink := startMailDev(t)
	mailer, err := activities.NewSMTPMailer("smtp://"+sink.smtpAddr, "escalate@test.example")
	if err != nil {
		t.Fatal(err)
	}
	// The tests' webhook receivers listen on 127.0.0.1, which a deployment
	// refuses: the harness allows private addresses explicitly, in the
	// worker's poster and in the API (TestWebhookPrivateAddresses shows
	// both refusing when not allowed).
	acts := &activities.Activities{Store: appStore, Temporal: tc, Mailer: mailer, Webhooks: activities.NewWebhookPoster(true),
		PublicURL: "http://escalate.test", Log: quietSlog()}
	sys := &system{t: t, temporal: tc, store: st, pg: pg, dev: srv, mail: sink, acts: acts, dsn: pgURL.String(),
		appDSN: appDSN, recordKey: recordKey}
	sys.startWorker()
	t.Cleanup(sys.stopWorker)

	pols, err := policies.Load("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Store: appStore, Temporal: tc, Policies: pols,
		AdminToken: adminToken, Log: quietSlog(), WebhookAllowPrivate: true, Metrics: reg,
		Codec: testCodec, TemporalUIOrigin: testUIOrigin}
	for _, o := range append(opts.api, options...) {
		o(&cfg)
	}
	httpSrv := httptest.NewUnstartedServer(nil)
	apiServer := api.New(cfg)
	handler := apiServer.Handler()
	if opts.pages {
		pages := web.New(web.Config{Store: appStore, Policies: pols, Mailer: mailer, PublicURL: "http://" + httpSrv.Listener.Addr().String(),
			Log: quietSlog(), Cases: apiServer.Cases(), Observe: apiServer.ObserveHTTP(),
			Digests: &worker.DigestSchedules{Client: tc, Store: appStore, Policies: pols, Log: quietSlog()}})
		t.Cleanup(pages.Close)
		handler = pages.With(handler)
	}
	httpSrv.Config.Handler = handler
	httpSrv.Start()
	t.Cleanup(httpSrv.Close)
	sys.url = httpSrv.URL
	return sys
}

// startWorker runs an in-process worker for the system's task queue.
func (s *system) startWorker() {
	s.t.Helper()
	w := worker.New(s.temporal, s.acts)
	if err := w.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.worker = w
}

// stopWorker stops the in-process worker, if it runs.
func (s *system) stopWorker() {
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
}

func quietSlog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func quietLogger() *slogAdapter { return &slogAdapter{} }

// slogAdapter discards the SDK's client logs.
type slogAdapter struct{}

func (*slogAdapter) Debug(string, ...any) {}
func (*slogAdapter) Info(string, ...any)  {}
func (*slogAdapter) Warn(string, ...any)  {}
func (*slogAdapter) Error(string, ...any) {}

// call sends a request and decodes the JSON answer into out (if not nil).
// It reports failures with Errorf and returns -1, so parallel subtests may
// use it (only a test's own goroutine may call Fatal).
func (s *system) call(method, path, token string, body any, out any) int {
	s.t.Helper()
	return s.callWithHeader(method, path, token, "", "", body, out)
}

// callWithHeader is call with one extra request header (if name is set).
func (s *system) callWithHeader(method, path, token, name, value string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Errorf("encode: %v", err)
			return -1
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return -1
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	if name != "" {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return -1
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Errorf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
			return -1
		}
	}
	return resp.StatusCode
}

func (s *system) token(name, email, agency, role string) string {
	s.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	if code := s.call("POST", "/v1/admin/tokens", adminToken, map[string]string{
		"name": name, "email": email, "agency": agency, "role": role}, &out); code != http.StatusCreated {
		s.t.Errorf("create token: %d", code)
	}
	return out.Token
}

type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// A drill case climbs every stage by itself, seconds apart, as the API
// shows; the two sides then record an agreement; every event is in
// PostgreSQL, every party was notified, and the workflow has completed.
func TestDrillCaseEndToEnd(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	stranger := s.token("Pol Ice", "pol@police.example", "northants-police", "practitioner")

	var pols []policies.Policy
	if code := s.call("GET", "/v1/policies", raiser, nil, &pols); code != 200 || len(pols) < 2 {
		t.Fatalf("policies: %d %d", code, len(pols))
	}

	var c workflows.Case
	code := s.call("POST", "/v1/cases", raiser, map[string]any{
		"policy": "northamptonshire-fastdrill", "child_ref": "NCT/2026/0042", "category": "threshold-csc-assessment",
		"summary":    "Referral for a 4-year-old judged below threshold; health visitor disagrees.",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}, &c)
	if code != http.StatusCreated {
		t.Fatalf("create case: %d %+v", code, c)
	}
	if !strings.HasPrefix(c.Ref, "FAST-") || c.Stage.Number != 1 || c.Raiser.Email != "hana@nhft.example" || c.SafetyNotice == "" {
		t.Fatalf("created case: %+v", c)
	}
	if code := s.call("GET", "/v1/cases/"+c.Ref, stranger, nil, &errorBody{}); code != http.StatusNotFound {
		t.Errorf("stranger read: %d, want 404", code)
	}

	// Watch it climb: each stage lasts 2 seconds, so polling every 100ms
	// sees every stage in order.
	var seen []int
	starts := map[int]time.Time{}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var cur workflows.Case
		if code := s.call("GET", "/v1/cases/"+c.Ref, respondent, nil, &cur); code != 200 {
			t.Fatalf("poll: %d", code)
		}
		if len(seen) == 0 || seen[len(seen)-1] != cur.Stage.Number {
			seen = append(seen, cur.Stage.Number)
			starts[cur.Stage.Number] = cur.Stage.StartedAt
			if want := cur.Stage.StartedAt.Add(2 * time.Second); !cur.Stage.DueAt.Equal(want) {
				t.Errorf("stage %d due %v, want started+2s %v", cur.Stage.Number, cur.Stage.DueAt, want)
			}
		}
		// Overdue shows as soon as the deadline passes; wait for the
		// workflow to have recorded it too.
		if last := cur.History[len(cur.History)-1]; cur.Stage.Number == 5 && last.Type == workflows.EventDeadlinePassed {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if fmt.Sprint(seen) != "[1 2 3 4 5]" {
		t.Fatalf("stages seen %v, want [1 2 3 4 5]", seen)
	}
	for n := 2; n <= 5; n++ {
		gap := starts[n].Sub(starts[n-1])
		if gap < 2*time.Second || gap > 10*time.Second {
			t.Errorf("stage %d started %v after stage %d; want its 2s deadline", n, gap, n-1)
		}
	}

	// A proposal cannot be confirmed by its own side; the other side can.
	var after workflows.Case
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/agreement", raiser, map[string]any{
		"outcome": "Assessment to start; strategy discussion held",
		"actions": []map[string]string{{"what": "Start assessment", "who": "Sam Social", "by": "2026-12-01T17:00:00Z"}},
	}, &after); code != 200 || after.Status != workflows.StatusAgreementProposed {
		t.Fatalf("propose: %d %s", code, after.Status)
	}
	var eb errorBody
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/agreement/confirm", raiser, map[string]any{}, &eb); code != http.StatusConflict || eb.Error.Code != "conflict" {
		t.Fatalf("confirm by proposer: %d %+v", code, eb)
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/agreement/confirm", respondent, map[string]any{}, &after); code != 200 || after.Status != workflows.StatusResolved {
		t.Fatalf("confirm: %d %s", code, after.Status)
	}
	if after.Agreement == nil || after.Agreement.ConfirmedBy != "Sam Social" || after.ClosedAt == nil {
		t.Fatalf("agreement: %+v closed %v", after.Agreement, after.ClosedAt)
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "late"}, &eb); code != http.StatusConflict {
		t.Errorf("note on resolved case: %d, want 409", code)
	}

	ctx := context.Background()
	// The workflow completes once its last notifications have gone.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var res workflows.CaseResult
	if err := s.temporal.GetWorkflow(wctx, c.Ref, "").Get(wctx, &res); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if res.Case.Status != workflows.StatusResolved || res.Case.Version != 22 {
		t.Errorf("workflow result: %s version %d, want resolved version 22", res.Case.Status, res.Case.Version)
	}
	wf, err := s.temporal.DescribeWorkflowExecution(ctx, c.Ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := wf.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("workflow status %v", st)
	}

	// Every event is in PostgreSQL, in order, once.
	events, err := s.store.Events(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, e := range events {
		if e.Seq != i+1 {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		types = append(types, e.Type)
	}
	want := "case_opened stage_entered reminder" + strings.Repeat(" deadline_passed escalated stage_entered reminder", 4) +
		" deadline_passed agreement_proposed agreement_confirmed"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events in PostgreSQL:\n got %s\nwant %s", got, want)
	}
	// ... and every party was told of the changes someone else caused.
	notes := s.delivered(t, c.Ref)
	told := map[string]int{}
	for _, n := range notes {
		if n.Status != "sent" {
			t.Errorf("notification %d: status %s", n.ID, n.Status)
		}
		if strings.Contains(strings.ToLower(n.Body), "complaint") {
			t.Errorf("notification %d calls it a complaint", n.ID)
		}
		if !strings.Contains(n.Body, "999") {
			t.Errorf("notification %d lacks the safety notice", n.ID)
		}
		told[n.RecipientEmail]++
	}
	// One notification per person per change, however many events it
	// records: the opening with stage 1, the reminders of stages 1 and 5
	// (at the managers' stages 2-4 nobody is named, so each agency's
	// escalation contact is reminded instead), four climbs (the deadline
	// passing, the escalation and the next stage together), stage 5 left
	// overdue, and the other side's proposal or confirmation.
	if told["sam@nct.example"] != 9 || told["hana@nhft.example"] != 9 {
		t.Errorf("notifications per person: %v for %d events, want 9 each", told, len(events))
	}
	if told["safeguarding.nct@nscp.example.org"] == 0 || told["safeguarding.nhft@nscp.example.org"] == 0 {
		t.Errorf("the agencies' escalation contacts were not told of the managers' stages: %v", told)
	}
	// ... by mail, read back from MailDev: one message per notification, to
	// its recipient, in plain text and HTML, with the case, the stage, what
	// is asked, a link and the safety notice.
	mails := s.mail.Messages(t)
	if len(mails) != len(notes) {
		t.Errorf("%d mails caught for %d notifications", len(mails), len(notes))
	}
	mailed := map[string]int{}
	ids := map[string]bool{}
	for _, m := range mails {
		for _, to := range m.To {
			mailed[to.Address]++
		}
		if !strings.HasPrefix(m.Subject, "["+c.Ref+"] ") || m.MessageID == "" || ids[m.MessageID] {
			t.Errorf("mail %q: subject lacks the case reference, or its Message-ID %q is missing or repeated", m.Subject, m.MessageID)
		}
		ids[m.MessageID] = true
		for _, want := range []string{c.Ref, "NCT/2026/0042", "Current stage: ", "What is asked of you", "http://escalate.test/cases/" + c.Ref, "999"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("mail %q: text lacks %q", m.Subject, want)
			}
		}
		if !strings.Contains(m.HTML, "What is asked of you") || !strings.Contains(m.HTML, "999") {
			t.Errorf("mail %q: no HTML part with the ask and the safety notice", m.Subject)
		}
		if strings.Contains(m.Text+m.HTML, "4-year-old") {
			t.Errorf("mail %q carries the case summary", m.Subject)
		}
	}
	for who, n := range told {
		if mailed[who] != n {
			t.Errorf("%s: %d notifications recorded, %d mailed", who, n, mailed[who])
		}
	}
	if told["business.office@nscp.example.org"] < 2 {
		t.Errorf("business office told %d times, want the stage-5 entry and its overdue", told["business.office@nscp.example.org"])
	}

	recordHistory(t, s.temporal, c.Ref, "drill-auto-escalation-then-agreement")
}

// Actions through the API keep the procedure's rules, with the contract's
// error bodies, and a closed case stays closed.
func TestCaseActionsAndRules(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	manager := s.token("Mo Manager", "mo@nct.example", "nct", "manager")
	partnership := s.token("Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")

	var eb errorBody
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "bad ref!",
		"category": "communication", "summary": "x", "respondent": map[string]string{"name": "S", "email": "sam@nct.example", "agency": "nct"}}, &eb); code != 400 || eb.Error.Fields["child_ref"] == "" {
		t.Fatalf("bad child_ref: %d %+v", code, eb)
	}
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "A1",
		"category": "communication", "summary": "x", "respondent": map[string]string{"name": "S", "email": "sam@nct.example", "agency": "nct"},
		"due_at": time.Now().AddDate(0, 1, 0).Format(time.RFC3339)}, &eb); code != 422 || eb.Error.Fields["due_at"] == "" {
		t.Fatalf("due_at beyond the maximum: %d %+v", code, eb)
	}

	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "NCT/77",
		"category": "communication", "summary": "Information not shared",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	path := "/v1/cases/" + c.Ref
	if code := s.call("GET", path, manager, nil, &workflows.Case{}); code != 200 {
		t.Errorf("manager of the respondent's agency reads: %d", code)
	}
	if code := s.call("POST", path+"/notes", manager, map[string]string{"text": "x"}, &eb); code != 403 {
		t.Errorf("manager who is not a party acts: %d, want 403", code)
	}
	var after workflows.Case
	if code := s.call("POST", path+"/notes", raiser, map[string]string{"text": "Phoned Sam at 10:00"}, &after); code != 200 || after.History[len(after.History)-1].Type != workflows.EventNote {
		t.Fatalf("note: %d", code)
	}
	if code := s.call("POST", path+"/escalations", raiser, map[string]string{"reason": "No agreement"}, &eb); code != 422 || eb.Error.Code != "rule_violation" {
		t.Fatalf("escalate without evidence: %d %+v", code, eb)
	}
	if code := s.call("POST", path+"/escalations", raiser, map[string]any{"reason": "No agreement", "evidence": "Two calls", "to_stage": 4}, &eb); code != 422 {
		t.Fatalf("non-urgent skip: %d %+v", code, eb)
	}
	if code := s.call("POST", path+"/escalations", raiser, map[string]any{"reason": "No agreement", "evidence": "Two calls"}, &after); code != 200 || after.Stage.Number != 2 {
		t.Fatalf("escalate: %d stage %d", code, after.Stage.Number)
	}
	if code := s.call("POST", path+"/contacts", respondent, map[string]string{"side": "respondent", "name": "Mo Manager", "email": "MO@nct.example", "role": "Team manager"}, &after); code != 200 || len(after.Contacts) != 1 {
		t.Fatalf("contact: %d", code)
	}
	// Now a party, the manager may act.
	if code := s.call("POST", path+"/notes", manager, map[string]string{"text": "Reviewed"}, &after); code != 200 {
		t.Errorf("manager as contact acts: %d", code)
	}
	if code := s.call("POST", path+"/outcome", partnership, map[string]any{"resolved": true, "outcome": "x"}, &eb); code != 409 {
		t.Errorf("outcome before the partnership stage: %d, want 409", code)
	}
	if code := s.call("POST", path+"/withdrawal", manager, map[string]string{"reason": "x"}, &eb); code != 409 {
		t.Errorf("withdrawal by the respondent's side: %d, want 409", code)
	}
	if code := s.call("POST", path+"/withdrawal", raiser, map[string]string{"reason": "Agreed on the phone"}, &after); code != 200 || after.Status != workflows.StatusWithdrawn {
		t.Fatalf("withdraw: %d %s", code, after.Status)
	}
	var list struct {
		Cases      []workflows.Case `json:"cases"`
		NextCursor *string          `json:"next_cursor"`
	}
	if code := s.call("GET", "/v1/cases?status=withdrawn", manager, nil, &list); code != 200 || len(list.Cases) != 1 || list.Cases[0].Ref != c.Ref || len(list.Cases[0].History) != 0 {
		t.Errorf("list: %d %+v", code, list)
	}
	recordHistory(t, s.temporal, c.Ref, "note-escalate-contact-withdraw")
}

// recordHistory saves a workflow's history for the replay tests when
// ESCALATE_RECORD_HISTORY names a directory (make record-histories).
// delivered waits until none of the case's notifications is left to send
// and returns them all: the worker's dispatcher sends them a moment after
// they are recorded, which may be after the case has closed.
func (s *system) delivered(t *testing.T, ref string) []store.Notification {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		notes, err := s.store.Notifications(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		waiting := 0
		for _, n := range notes {
			if n.Status == store.NotePending || n.Status == store.NoteRetrying {
				waiting++
			}
		}
		if waiting == 0 {
			return notes
		}
		if time.Now().After(end) {
			t.Fatalf("%s: %d notifications still to be sent after 30 s", ref, waiting)
		}
	}
}

func recordHistory(t *testing.T, c client.Client, id, name string) {
	dir := os.Getenv("ESCALATE_RECORD_HISTORY")
	if dir == "" {
		return
	}
	recordRun(t, c, id, "", filepath.Join(dir, name+".json"))
}

type historyJSON struct {
	Events []json.RawMessage `json:"events"`
}
