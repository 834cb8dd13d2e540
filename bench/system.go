package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	"escalate/activities"
	"escalate/api"
	"escalate/internal/testdb"
	"escalate/policies"
	"escalate/store"
	"escalate/worker"
	"escalate/workflows"
)

// system is one escalate, started from nothing for one bench run: a
// Temporal dev server (bin/temporal) on free ports with its own SQLite
// file, a fresh PostgreSQL database, an SMTP sink, and escalate's worker
// and API in this process, as `escalate dev` runs them. The engine's own
// workflow (engine.go) runs on the same dev server.
type system struct {
	dir string
	dev *testsuite.DevServer // nil when the bench runs against a server it did not start
	// temporalAddr is the frontend's host:port, the dev server's or the
	// one -temporal-address names.
	temporalAddr string
	temporal     client.Client
	// apiTemporal is the API's own client.
	apiTemporal client.Client
	dsn         string // the administrator's URL of the bench database
	appDSN      string
	store       *store.Store  // the application's login, as the worker and API
	admin       *store.Store  // the administrator's login, for the bench's own checks
	db          *pgxpool.Pool // the administrator's, for the bench's own SQL
	keys        *store.RecordKeys
	key         string
	smtp        *smtpSink
	acts        *activities.Activities
	worker      sdkworker.Worker
	engine      sdkworker.Worker
	apiURL      string
	http        *http.Server
	pols        *policies.Registry
	log         *slog.Logger
	// wftStats reads the workers' SDK metrics (cpu.go).
	wftStats *wftMeter
}

const benchAdminToken = "bench-admin-token"

type systemConfig struct {
	temporalCLI string
	// temporalAddress, if set, is a running Temporal server (namespace
	// "default") to use instead of starting a dev server, e.g. the real
	// server on PostgreSQL that `make bench-server` starts.
	temporalAddress string
	databaseURL     string
	policyDir       string
	keep            bool
	apiWorker       bool // run escalate's worker in this process
}

func startSystem(ctx context.Context, cfg systemConfig) (*system, error) {
	dir, err := os.MkdirTemp("", "escalate-bench-")
	if err != nil {
		return nil, err
	}
	s := &system{dir: dir, log: slog.New(logTally{}), wftStats: newWFTMeter()}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if cfg.temporalAddress != "" {
		s.temporalAddr = cfg.temporalAddress
		if s.temporal, err = client.Dial(client.Options{HostPort: s.temporalAddr, Namespace: "default", Logger: quietSDKLog{}, MetricsHandler: s.wftStats}); err != nil {
			return s, fmt.Errorf("dial the Temporal server at %s: %w", s.temporalAddr, err)
		}
	} else if err := s.startDevServer(sctx, cfg.temporalCLI); err != nil {
		return s, err
	}
	if err := worker.EnsureSearchAttributes(sctx, s.temporal, "default"); err != nil {
		return s, err
	}
	if err := searchAttributesUsable(sctx, s.temporal); err != nil {
		return s, err
	}

	s.dsn = strings.Replace(cfg.databaseURL, "/postgres?", fmt.Sprintf("/escalate_bench_%d_%d?", os.Getpid(), time.Now().UnixNano()%1e6), 1)
	if s.dsn == cfg.databaseURL {
		return s, fmt.Errorf("-database-url must name the postgres database with a query string (…/postgres?sslmode=disable): the bench makes its own beside it")
	}
	if err := store.Prepare(sctx, s.dsn); err != nil {
		return s, fmt.Errorf("prepare the bench database: %w", err)
	}
	if s.key, err = store.NewRecordKey(); err != nil {
		return s, err
	}
	if s.keys, err = store.ParseRecordKeys(s.key); err != nil {
		return s, err
	}
	if s.admin, err = store.Open(sctx, s.dsn, store.Options{Keys: s.keys, UnsafeAllowPrivileged: true}); err != nil {
		return s, err
	}
	if s.db, err = pgxpool.New(sctx, s.dsn); err != nil {
		return s, err
	}
	if s.appDSN, err = store.AppURL(s.dsn); err != nil {
		return s, err
	}
	if s.store, err = store.Open(sctx, s.appDSN, store.Options{Keys: s.keys}); err != nil {
		return s, err
	}

	if s.smtp, err = startSMTPSink(); err != nil {
		return s, err
	}
	mailer, err := activities.NewSMTPMailer("smtp://"+s.smtp.Addr(), "escalate@bench.example")
	if err != nil {
		return s, err
	}
	s.acts = &activities.Activities{Store: s.store, Temporal: s.temporal, Mailer: mailer,
		Webhooks: activities.NewWebhookPoster(false), PublicURL: "http://escalate.bench", Log: s.log}
	if cfg.apiWorker {
		if err := s.startWorker(); err != nil {
			return s, err
		}
	}
	if err := s.startEngineWorker(); err != nil {
		return s, err
	}

	if s.pols, err = policies.Load(cfg.policyDir); err != nil {
		return s, err
	}
	// The API has a client of its own, as in `escalate api`, whose calls
	// the bench times.
	apiTemporal, err := client.Dial(client.Options{HostPort: s.temporalAddr, Namespace: "default", Logger: quietSDKLog{},
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(rpcs.interceptor())}}})
	if err != nil {
		return s, err
	}
	s.apiTemporal = apiTemporal
	handler := api.New(api.Config{Store: s.store, Temporal: apiTemporal, Policies: s.pols, AdminToken: benchAdminToken,
		Log: s.log, WritesPerMinute: 0}).Handler()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	s.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	s.apiURL = "http://" + ln.Addr().String()
	return s, nil
}

// searchAttributesUsable waits until a list query naming every one of
// escalate's search attributes is accepted: a server other than the dev
// server takes a few seconds to serve attributes just registered, and
// refuses a case start meanwhile.
func searchAttributesUsable(ctx context.Context, c client.Client) error {
	var terms []string
	for _, k := range workflows.SearchAttributeKeys() {
		terms = append(terms, k.GetName()+" IS NOT NULL")
	}
	query := strings.Join(terms, " OR ")
	for {
		_, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", PageSize: 1, Query: query})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("escalate's search attributes are not usable: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startDevServer starts the Temporal dev server from the CLI at cli, with
// its SQLite file in the bench's directory, as `make dev` runs it.
func (s *system) startDevServer(ctx context.Context, cli string) error {
	cli, err := filepath.Abs(cli)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cli); err != nil {
		return fmt.Errorf("the Temporal CLI is needed at %s (make bin/temporal): %w", cli, err)
	}
	devLog, err := os.Create(filepath.Join(s.dir, "temporal.log"))
	if err != nil {
		return err
	}
	s.dev, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{Namespace: "default", Logger: quietSDKLog{}, MetricsHandler: s.wftStats},
		DBFilename:    filepath.Join(s.dir, "temporal.db"),
		LogLevel:      "error",
		Stdout:        devLog,
		Stderr:        devLog,
	})
	if err != nil {
		return fmt.Errorf("start the Temporal dev server: %w", err)
	}
	s.temporal = s.dev.Client()
	s.temporalAddr = s.dev.FrontendHostPort()
	return nil
}

// startWorker runs escalate's worker in this process, with the options
// `escalate worker` runs with.
func (s *system) startWorker() error {
	w := sdkworker.New(s.temporal, workflows.TaskQueue, workerOptions())
	worker.Register(w, s.acts)
	w = worker.WithDispatcher(w, s.acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start escalate's worker: %w", err)
	}
	s.worker = w
	return nil
}

func (s *system) stopWorker() {
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
}

func (s *system) startEngineWorker() error {
	w := newEngineWorker(s.temporal)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start the engine's worker: %w", err)
	}
	s.engine = w
	return nil
}

func (s *system) close(keep bool) {
	if s.http != nil {
		_ = s.http.Close()
	}
	s.stopWorker()
	if s.engine != nil {
		s.engine.Stop()
	}
	if s.store != nil {
		s.store.Close()
	}
	if s.admin != nil {
		s.admin.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.smtp != nil {
		s.smtp.Close()
	}
	if s.apiTemporal != nil {
		s.apiTemporal.Close()
	}
	if s.dev != nil {
		_ = s.dev.Stop()
	} else if s.temporal != nil {
		s.temporal.Close()
	}
	if !keep {
		if s.dsn != "" {
			_ = testdb.Drop(context.Background(), s.dsn)
		}
		_ = os.RemoveAll(s.dir)
	}
}

// benchPolicies writes the policies the bench runs under into dir:
// Northamptonshire's procedure as it is, but with deadlines the raiser
// may set alone ("either"), so every case of a storm can be given the
// same stage deadline, as real cases get the same 17:00 one; and its
// drill whose stages last an hour, so no deadline passes while starts
// and actions are measured.
func benchPolicies(repo, dir string) error {
	doc, err := os.ReadFile(filepath.Join(repo, "policies", "northamptonshire.yaml"))
	if err != nil {
		return err
	}
	text := strings.Replace(string(doc), "\ndeadlines_agreed_by: both\n", "\ndeadlines_agreed_by: either\n", 1)
	if text == string(doc) {
		return fmt.Errorf("policies/northamptonshire.yaml: no `deadlines_agreed_by: both` line to change")
	}
	if err := os.WriteFile(filepath.Join(dir, "northamptonshire.yaml"), []byte(text), 0o644); err != nil {
		return err
	}
	drill := "# The bench's drill: every stage lasts an hour unless the case sets its deadline.\n" +
		"id: bench\nref_prefix: BENCH\ndrill_of: northamptonshire\ndrill_within: 1 hour\n"
	return os.WriteFile(filepath.Join(dir, "bench.yaml"), []byte(drill), 0o644)
}

// quietSDKLog discards the SDK's logs.
type quietSDKLog struct{}

func (quietSDKLog) Debug(string, ...any) {}
func (quietSDKLog) Info(string, ...any)  {}
func (quietSDKLog) Warn(string, ...any)  {}
func (quietSDKLog) Error(string, ...any) {}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Redacted()
}

// Worker settings to try against worker.Options (flags -wf-pollers,
// -act-pollers, -cache; 0 leaves escalate's own).
var tryPollersWF, tryPollersAct, tryCache int

func workerOptions() sdkworker.Options {
	o := worker.Options()
	if tryPollersWF > 0 {
		o.MaxConcurrentWorkflowTaskPollers = tryPollersWF
	}
	if tryPollersAct > 0 {
		o.MaxConcurrentActivityTaskPollers = tryPollersAct
	}
	return o
}

// logTally counts what escalate logs at WARN and above (the API's 500s
// and 503s, the worker's failures) by level, message and error, for the
// bench to say why requests failed; nothing is printed as it happens.
type logTally struct{ attrs []slog.Attr }

// tally is every logTally's counts.
var tally = struct {
	mu     sync.Mutex
	counts map[string]int
}{counts: map[string]int{}}

func (l logTally) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelWarn }

func (l logTally) Handle(_ context.Context, r slog.Record) error {
	key := r.Level.String() + " " + r.Message
	find := func(a slog.Attr) bool {
		if a.Key != "error" {
			return true
		}
		v := a.Value.String()
		if len(v) > 160 {
			v = v[:160] + "…"
		}
		key += ": " + v
		return false
	}
	for _, a := range l.attrs {
		find(a)
	}
	r.Attrs(find)
	tally.mu.Lock()
	tally.counts[key]++
	tally.mu.Unlock()
	return nil
}

func (l logTally) WithAttrs(as []slog.Attr) slog.Handler {
	return logTally{attrs: append(append([]slog.Attr(nil), l.attrs...), as...)}
}

func (l logTally) WithGroup(string) slog.Handler { return l }

// takeTally returns the counts since the last take, most frequent first.
func takeTally() string {
	tally.mu.Lock()
	counts := tally.counts
	tally.counts = map[string]int{}
	tally.mu.Unlock()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	var parts []string
	for i, k := range keys {
		if i == 4 {
			break
		}
		parts = append(parts, fmt.Sprintf("%d× %s", counts[k], k))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " | ")
}
