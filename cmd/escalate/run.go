package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"escalate/activities"
	"escalate/api"
	"escalate/cases"
	"escalate/metrics"
	"escalate/ops"
	"escalate/store"
	"escalate/web"
	"escalate/worker"
)

func runMigrate(ctx context.Context, cfg config, log *slog.Logger) error {
	return prepareDatabase(ctx, cfg, log)
}

// prepareDatabase creates and migrates the database as DATABASE_URL's
// login, and gives the application's role the password DATABASE_APP_URL
// names, if it names one.
func prepareDatabase(ctx context.Context, cfg config, log *slog.Logger) error {
	if err := store.Prepare(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	if cfg.DatabaseAppURL != "" {
		if err := store.EnsureAppLogin(ctx, cfg.DatabaseURL, cfg.DatabaseAppURL); err != nil {
			return fmt.Errorf("the application's login (DATABASE_APP_URL): %w", err)
		}
	}
	log.Info("database ready", "database", redact(cfg.DatabaseURL))
	return nil
}

// runDev starts a Temporal dev server when TEMPORAL_ADDRESS is unset, then
// everything else, and stops it all on Ctrl-C.
func runDev(ctx context.Context, cfg config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DevDir, 0o755); err != nil {
		return err
	}
	if cfg.TemporalAddress == "" {
		srv, err := startTemporal(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer srv.stop(log)
		cfg.TemporalAddress = fmt.Sprintf("127.0.0.1:%d", cfg.TemporalPort)
	}
	if cfg.SMTPURL == "" {
		if _, err := os.Stat(cfg.MailDev); err == nil {
			md, err := startMailDev(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer md.stop(log)
			cfg.SMTPURL = fmt.Sprintf("smtp://127.0.0.1:%d", cfg.MailDevSMTPPort)
		} else {
			log.Warn("MailDev is not installed (make dev installs it with npm): notifications are logged, not mailed", "looked_for", cfg.MailDev)
		}
	}
	if err := prepareDatabase(ctx, cfg, log); err != nil {
		return err
	}
	if cfg.RecordKey == "" {
		key, err := devRecordKey(cfg.DevDir)
		if err != nil {
			return err
		}
		cfg.RecordKey = key
		log.Info("RECORD_KEY unset: dev seals the record with the key kept in " + filepath.Join(cfg.DevDir, "record-key"))
	}
	if cfg.AdminToken == "" {
		tok, err := devAdminToken(cfg.DevDir)
		if err != nil {
			return err
		}
		cfg.AdminToken = tok
		// Never the whole token in a log: logs are shipped and kept.
		log.Info("ESCALATE_ADMIN_TOKEN unset: dev uses the admin token kept in "+filepath.Join(cfg.DevDir, "admin-token"),
			"token", tokenHint(tok))
	}
	if err := runSetup(ctx, cfg, log); err != nil {
		return err
	}
	return runServices(ctx, cfg, log, true, true)
}

// runSetup registers what escalate needs in its Temporal namespace (the
// search attributes operators filter on, and the partnership digests'
// schedules). It is idempotent, run once per
// namespace before the workers (and by dev at every start); a namespace
// where registration is not allowed (Temporal Cloud: use its UI or tcld)
// fails here with the names to add, not at every worker start.
func runSetup(ctx context.Context, cfg config, log *slog.Logger) error {
	tc, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := worker.EnsureSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return err
	}
	// The partnership digests' schedules, in step with each partnership's
	// meeting dates (kept in PostgreSQL) and its policy of today.
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := (&worker.DigestSchedules{Client: tc, Store: st, Policies: cfg.policies, Log: log}).SyncAll(ctx); err != nil {
		return err
	}
	log.Info("Temporal namespace ready", "namespace", cfg.TemporalNamespace)
	return nil
}

// runDrift reports (and with repair, repairs) drift between the record and
// Temporal. It prints one line per case and exits non-zero while drift
// remains, so it can run from cron or CI.
func runDrift(ctx context.Context, cfg config, log *slog.Logger, repair bool) error {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	drifts, err := ops.Find(ctx, st, tc, cfg.TemporalNamespace)
	if err != nil {
		return err
	}
	if repair {
		if err := ops.Repair(ctx, st, drifts, time.Now()); err != nil {
			return err
		}
	}
	left := 0
	for _, d := range drifts {
		state := "not repaired"
		switch {
		case d.Repaired:
			state = "repaired: closed as cancelled"
		case d.Repairable:
			state = "repairable with: escalate drift repair"
		}
		if !d.Repaired {
			left++
		}
		fmt.Printf("%s\tPostgreSQL %s\tTemporal %s\t%s (%s)\n", d.Ref, orNone(d.Record), orNone(d.Temporal), d.Problem, state)
	}
	fmt.Printf("%d case(s) drifted, %d left\n", len(drifts), left)
	if left > 0 {
		return errDriftLeft
	}
	return nil
}

var errDriftLeft = errors.New("drift remains")

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// tokenHint is enough of a secret to tell which one it is, never enough
// to use it.
func tokenHint(tok string) string {
	if len(tok) <= 12 {
		return "…"
	}
	return tok[:10] + "…"
}

// devAdminToken reads the dev admin token from dir, creating a random one on
// first use, so a newcomer can create tokens without configuring anything.
func devAdminToken(dir string) (string, error) {
	path := filepath.Join(dir, "admin-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := "dev-admin-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

// devRecordKey reads the dev record key from dir, creating a random one on
// first use. It is kept, not made anew at each start: the record sealed with
// it must still verify after a restart.
func devRecordKey(dir string) (string, error) {
	path := filepath.Join(dir, "record-key")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	key, err := store.NewRecordKey()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}

// openStore logs in to PostgreSQL as the application's role with the record
// keys (api, worker, drift): never as DATABASE_URL's administrator.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (*store.Store, error) {
	keys, err := cfg.recordKeys()
	if err != nil {
		return nil, err
	}
	appURL, err := cfg.appURL()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, appURL, store.Options{Keys: keys, Timeout: cfg.DatabaseTimeout, RecordTimeout: cfg.DatabaseRecordTimeout})
	if err != nil {
		return nil, err
	}
	log.Info("database", "login", redact(appURL), "record_keys", keys.IDs(), "timeout", cfg.DatabaseTimeout, "record_timeout", cfg.DatabaseRecordTimeout)
	return st, nil
}

// runServices runs the worker, the API or both until ctx ends. They log in
// as the application's role, never as DATABASE_URL's administrator: the
// store refuses a login that could change the record.
func runServices(ctx context.Context, cfg config, log *slog.Logger, runWorker, runAPI bool) error {
	cfg.metrics = prometheus.NewRegistry()
	cfg.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.WebhookAllowPrivate {
		log.Warn("WEBHOOK_ALLOW_PRIVATE=true: webhooks may reach loopback, private and link-local addresses (this machine, its networks, cloud metadata)")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()

	// One mailer for notifications (the worker) and sign-in links (the
	// pages); none without SMTP_URL.
	var mailer activities.Mailer
	if cfg.SMTPURL != "" {
		m, err := activities.NewSMTPMailer(cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			return err
		}
		mailer = m
	}

	var w sdkworker.Worker
	if runWorker {
		acts := &activities.Activities{Store: st, Temporal: tc, Webhooks: activities.NewWebhookPoster(cfg.WebhookAllowPrivate), PublicURL: cfg.PublicURL, Log: log}
		if mailer != nil {
			acts.Mailer = mailer
			log.Info("notifications are mailed", "smtp", redact(cfg.SMTPURL))
		} else {
			log.Info("SMTP_URL unset: notifications are logged and recorded, not mailed")
		}
		w = worker.New(tc, acts)
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		defer w.Stop()
		log.Info("worker started", "task_queue", "escalate-cases")
	}

	if !runAPI {
		if cfg.MetricsAddr != "" {
			stop, err := serveMetrics(cfg.MetricsAddr, cfg.metrics, log)
			if err != nil {
				return err
			}
			defer stop()
		} else {
			log.Info("METRICS_ADDR unset: this worker serves no /metrics")
		}
		<-ctx.Done()
		log.Info("stopping")
		return nil
	}
	pols := cfg.policies
	for _, p := range pols.All() {
		log.Info("policy loaded", "id", p.ID, "stages", len(p.Stages), "drill", p.Drill)
	}
	if cfg.AdminToken == "" {
		log.Warn("ESCALATE_ADMIN_TOKEN unset: no bootstrap admin, so no tokens can be created until it is set")
	}
	// The JSON API first: the pages below use its core and metrics, and it
	// reads an admin's page session (for /codec) through them.
	var pages *web.Server
	apiServer := api.New(api.Config{Store: st, Temporal: tc, Policies: pols,
		AdminToken: cfg.AdminToken, Log: log, WritesPerMinute: cfg.WritesPerMinute, WriteBurst: cfg.WriteBurst,
		MaxInFlight: cfg.MaxInFlight, CORSOrigins: cfg.CORSOrigins, Metrics: cfg.metrics, WebhookAllowPrivate: cfg.WebhookAllowPrivate,
		AuthFailuresPerMinute: cfg.AuthFailuresPerMinute, AuthFailureBurst: cfg.AuthFailureBurst,
		TrustedProxies: cfg.TrustedProxies,
		Codec:          cfg.codec, TemporalUIOrigin: cfg.temporalUIOrigin, CodecTrustsLocalUI: cfg.codecTrustsLocalUI,
		Sessions: func(r *http.Request) (cases.Principal, bool) { return pages.Principal(r) }})
	// The people's pages at /, beside the JSON API's paths, which are
	// served as they were; they raise and act through the API's own core
	// and count in its metrics.
	pages = web.New(web.Config{Store: st, Policies: pols, Mailer: mailer, PublicURL: cfg.PublicURL,
		IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge, TrustedProxies: cfg.TrustedProxies, Log: log,
		Cases: apiServer.Cases(), Observe: apiServer.ObserveHTTP(),
		Digests: &worker.DigestSchedules{Client: tc, Store: st, Policies: pols, Log: log}})
	defer pages.Close()
	apiHandler := apiServer.Handler()
	if mailer == nil {
		log.Warn("SMTP_URL unset: nobody can sign in to the pages (sign-in links are mailed, never logged)")
	}
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           pages.With(apiHandler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("API listening", "url", "http://"+ln.Addr().String(), "openapi", "http://"+ln.Addr().String()+"/openapi.json",
		"pages", cfg.PublicURL+"/")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("stopping: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("HTTP shutdown", "error", err)
	}
	return nil
}

func dialTemporal(ctx context.Context, cfg config, log *slog.Logger) (client.Client, error) {
	addr := cfg.TemporalAddress
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", cfg.TemporalPort)
	}
	opts, err := temporalOptions(addr, cfg.TemporalNamespace, envconfig.EnvLookupOS)
	if err != nil {
		return nil, err
	}
	opts.Logger = sdklog.NewStructuredLogger(log.With("component", "temporal-sdk"))
	if cfg.metrics != nil {
		opts.MetricsHandler = metrics.NewSDK(cfg.metrics)
	}
	if err := temporalConverters(cfg, &opts); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", addr, err)
		}
		log.Info("waiting for Temporal", "address", addr)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// temporalOptions are the Temporal client's connection settings, read the
// way Temporal's own tools read them (go.temporal.io/sdk/contrib/envconfig):
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
// client certificates and keys, and a TOML profile (TEMPORAL_CONFIG_FILE,
// TEMPORAL_PROFILE), so one binary runs against a self-hosted cluster with
// mTLS or Temporal Cloud. addr and namespace are what escalate resolved
// (dev's own server, the contract's default namespace).
func temporalOptions(addr, namespace string, env envconfig.EnvLookup) (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{
		EnvLookup: resolvedEnv{EnvLookup: env, set: map[string]string{"TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": namespace}},
	})
	if err != nil {
		return client.Options{}, fmt.Errorf("Temporal client settings: %w", err)
	}
	return opts, nil
}

// resolvedEnv is the environment with escalate's resolved values on top.
type resolvedEnv struct {
	envconfig.EnvLookup
	set map[string]string
}

func (e resolvedEnv) LookupEnv(key string) (string, bool) {
	if v, ok := e.set[key]; ok {
		return v, true
	}
	return e.EnvLookup.LookupEnv(key)
}

func (e resolvedEnv) Environ() []string {
	out := make([]string, 0, len(e.set))
	for _, kv := range e.EnvLookup.Environ() {
		if k, _, _ := strings.Cut(kv, "="); e.set[k] == "" {
			out = append(out, kv)
		}
	}
	for _, k := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} {
		out = append(out, k+"="+e.set[k])
	}
	return out
}

// serveMetrics serves reg at addr/metrics until stop is called.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { _ = srv.Close() }, nil
}

// child is a process dev supervises (the Temporal dev server, MailDev).
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// startChild runs argv in its own process group with output to logPath,
// and waits until readyAddr accepts connections. Ctrl-C reaches dev, which
// stops its children last, after the worker and the API have finished.
func startChild(ctx context.Context, log *slog.Logger, name, logPath, readyAddr string, argv ...string) (*child, error) {
	if conn, err := net.DialTimeout("tcp", readyAddr, time.Second); err == nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %s is already in use; stop what runs there (or see README.md, Configuration)", name, readyAddr)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(c.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", readyAddr, time.Second)
		if err == nil {
			conn.Close()
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited; see %s", name, logPath)
		case <-ctx.Done():
			c.stop(log)
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop(log)
			return nil, fmt.Errorf("%s did not start within 90s; see %s", name, logPath)
		}
	}
}

func (c *child) stop(log *slog.Logger) {
	log.Info("stopping " + c.name)
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// startTemporal runs the Temporal CLI's dev server with a file-backed SQLite
// database under DEV_DIR, so cases survive a restart.
func startTemporal(ctx context.Context, cfg config, log *slog.Logger) (*child, error) {
	if _, err := os.Stat(cfg.TemporalCLI); err != nil {
		return nil, fmt.Errorf("Temporal CLI not found at %s (run `make bin/temporal`, or set TEMPORAL_CLI or TEMPORAL_ADDRESS): %w", cfg.TemporalCLI, err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", cfg.TemporalPort)
	c, err := startChild(ctx, log, "Temporal dev server", filepath.Join(cfg.DevDir, "temporal.log"), addr,
		cfg.TemporalCLI, "server", "start-dev",
		"--db-filename", filepath.Join(cfg.DevDir, "temporal.db"),
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(cfg.TemporalPort),
		"--ui-port", strconv.Itoa(cfg.TemporalUIPort),
		"--namespace", cfg.TemporalNamespace,
		// The Web UI decrypts payloads through the API's codec endpoint.
		"--ui-codec-endpoint", devCodecEndpoint(cfg),
		"--log-level", "warn")
	if err != nil {
		return nil, err
	}
	log.Info("Temporal dev server running", "address", addr, "web_ui", fmt.Sprintf("http://127.0.0.1:%d", cfg.TemporalUIPort), "codec_endpoint", devCodecEndpoint(cfg),
		"log", filepath.Join(cfg.DevDir, "temporal.log"))
	return c, nil
}

// startMailDev runs the MailDev mail catcher (installed by make dev) so that
// every notification can be read in its web page.
func startMailDev(ctx context.Context, cfg config, log *slog.Logger) (*child, error) {
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", cfg.MailDevSMTPPort)
	c, err := startChild(ctx, log, "MailDev", filepath.Join(cfg.DevDir, "maildev.log"), smtpAddr,
		cfg.MailDev, "--ip", "127.0.0.1", "--mail-directory", filepath.Join(cfg.DevDir, "mail"), "--smtp", strconv.Itoa(cfg.MailDevSMTPPort), "--web", strconv.Itoa(cfg.MailDevWebPort))
	if err != nil {
		return nil, err
	}
	log.Info("MailDev running: every notification is mailed there", "smtp", smtpAddr,
		"web", fmt.Sprintf("http://127.0.0.1:%d", cfg.MailDevWebPort))
	return c, nil
}

// redact hides a password in a URL for logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
