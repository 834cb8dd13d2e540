package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"escalate/activities"
	"escalate/api"
	"escalate/store"
	"escalate/worker"
)

func runMigrate(ctx context.Context, cfg config, log *slog.Logger) error {
	if err := store.Prepare(ctx, cfg.DatabaseURL); err != nil {
		return err
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
	if err := store.Prepare(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	log.Info("database ready", "database", redact(cfg.DatabaseURL))
	if cfg.AdminToken == "" {
		tok, err := devAdminToken(cfg.DevDir)
		if err != nil {
			return err
		}
		cfg.AdminToken = tok
		log.Info("ESCALATE_ADMIN_TOKEN unset: dev uses the admin token kept in "+filepath.Join(cfg.DevDir, "admin-token"), "token", tok)
	}
	return runServices(ctx, cfg, log, true, true)
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

// runServices runs the worker, the API or both until ctx ends.
func runServices(ctx context.Context, cfg config, log *slog.Logger, runWorker, runAPI bool) error {
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()

	var w sdkworker.Worker
	if runWorker {
		if err := worker.EnsureSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
			return err
		}
		acts := &activities.Activities{Store: st, Temporal: tc, Webhooks: activities.NewWebhookPoster(), PublicURL: cfg.PublicURL, Log: log}
		if cfg.SMTPURL != "" {
			m, err := activities.NewSMTPMailer(cfg.SMTPURL, cfg.SMTPFrom)
			if err != nil {
				return err
			}
			acts.Mailer = m
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
	srv := &http.Server{
		Addr: cfg.HTTPAddr,
		Handler: api.New(api.Config{Store: st, Temporal: tc, Policies: pols, Namespace: cfg.TemporalNamespace,
			AdminToken: cfg.AdminToken, Log: log, WritesPerMinute: cfg.WritesPerMinute, WriteBurst: cfg.WriteBurst,
			CORSOrigins: cfg.CORSOrigins,
			Codec:       cfg.codec, TemporalUIOrigin: cfg.temporalUIOrigin, CodecTrustsLocalUI: cfg.codecTrustsLocalUI}).Handler(),
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
	log.Info("API listening", "url", "http://"+ln.Addr().String(), "openapi", "http://"+ln.Addr().String()+"/openapi.json")
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
	opts := client.Options{
		HostPort:  addr,
		Namespace: cfg.TemporalNamespace,
		Logger:    sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
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
