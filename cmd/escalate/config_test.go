package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The API and the worker refuse to start without a record key, before
// they connect to anything.
func TestServicesNeedARecordKey(t *testing.T) {
	t.Setenv("RECORD_KEY", "")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, worker := range []bool{true, false} {
		err := runServices(context.Background(), cfg, log, worker, !worker)
		if err == nil || !strings.Contains(err.Error(), "RECORD_KEY is unset") {
			t.Errorf("worker %v: %v, want a refusal for want of RECORD_KEY", worker, err)
		}
	}
	cfg.RecordKey = "too-short"
	if _, err := cfg.recordKeys(); err == nil {
		t.Error("a key that is not 32 bytes was taken")
	}
}

// By default the API and the worker log in as the application's role at
// DATABASE_URL's database; DATABASE_APP_URL overrides it.
func TestAppLogin(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DATABASE_APP_URL", "")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if u, err := cfg.appURL(); err != nil || u != "postgres://escalate_app@127.0.0.1:5432/escalate?sslmode=disable" {
		t.Fatalf("default login %q %v", u, err)
	}
	t.Setenv("DATABASE_URL", "postgres://admin:secret@db.example:5432/esc?sslmode=require")
	cfg, _ = loadConfig()
	if u, err := cfg.appURL(); err != nil || u != "postgres://escalate_app@db.example:5432/esc?sslmode=require" {
		t.Fatalf("derived login %q %v: the administrator's password must not follow", u, err)
	}
	t.Setenv("DATABASE_APP_URL", "postgres://app:pw@db.example/esc")
	cfg, _ = loadConfig()
	if u, _ := cfg.appURL(); u != "postgres://app:pw@db.example/esc" {
		t.Fatalf("DATABASE_APP_URL ignored: %q", u)
	}
	t.Setenv("DATABASE_APP_URL", "")
	t.Setenv("DATABASE_URL", "host=db.example user=admin dbname=esc")
	cfg, _ = loadConfig()
	if _, err := cfg.appURL(); err == nil || !strings.Contains(err.Error(), "DATABASE_APP_URL") {
		t.Fatalf("keyword DSN: %v, want to be told to set DATABASE_APP_URL", err)
	}
}

func TestDatabaseTimeouts(t *testing.T) {
	t.Setenv("DATABASE_TIMEOUT", "")
	t.Setenv("DATABASE_RECORD_TIMEOUT", "")
	cfg, err := loadConfig()
	if err != nil || cfg.DatabaseTimeout != 5*time.Second || cfg.DatabaseRecordTimeout != 10*time.Second {
		t.Fatalf("defaults: %v %v %v", cfg.DatabaseTimeout, cfg.DatabaseRecordTimeout, err)
	}
	for _, bad := range []string{"0s", "-1s", "5"} {
		t.Setenv("DATABASE_TIMEOUT", bad)
		if _, err := loadConfig(); err == nil {
			t.Errorf("DATABASE_TIMEOUT=%s taken", bad)
		}
	}
}

// dev makes its record key once and keeps it: the record sealed with it
// must verify after a restart.
func TestDevRecordKeyIsKept(t *testing.T) {
	dir := t.TempDir()
	first, err := devRecordKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := devRecordKey(dir)
	if err != nil || again != first {
		t.Fatalf("second start: %q %v, want the same key", again, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "record-key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record-key file: %v %v", fi.Mode(), err)
	}
	cfg := config{RecordKey: first}
	if _, err := cfg.recordKeys(); err != nil {
		t.Fatalf("the dev key does not parse: %v", err)
	}
}

// WEBHOOK_ALLOW_PRIVATE is off unless set to a true value, and a value
// that is not a boolean stops the process rather than being guessed at.
func TestWebhookAllowPrivateConfig(t *testing.T) {
	for value, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true} {
		t.Setenv("WEBHOOK_ALLOW_PRIVATE", value)
		c, err := loadConfig()
		if err != nil || c.WebhookAllowPrivate != want {
			t.Errorf("WEBHOOK_ALLOW_PRIVATE=%q: %v %v, want %v", value, c.WebhookAllowPrivate, err, want)
		}
	}
	t.Setenv("WEBHOOK_ALLOW_PRIVATE", "yes please")
	if _, err := loadConfig(); err == nil {
		t.Error("WEBHOOK_ALLOW_PRIVATE=\"yes please\" accepted")
	}
}

// Failed authentications are limited by default (10 a minute, 20 at once,
// per client address); 0 turns it off; nonsense stops the process.
func TestAuthFailureConfig(t *testing.T) {
	c, err := loadConfig()
	if err != nil || c.AuthFailuresPerMinute != 10 || c.AuthFailureBurst != 20 || len(c.TrustedProxies) != 0 {
		t.Fatalf("defaults: %d/%d proxies %v, %v", c.AuthFailuresPerMinute, c.AuthFailureBurst, c.TrustedProxies, err)
	}
	t.Setenv("AUTH_FAILURES_PER_MINUTE", "0")
	if c, err := loadConfig(); err != nil || c.AuthFailuresPerMinute != 0 {
		t.Fatalf("0: %d %v", c.AuthFailuresPerMinute, err)
	}
	for _, v := range []string{"-1", "ten"} {
		t.Setenv("AUTH_FAILURES_PER_MINUTE", v)
		if _, err := loadConfig(); err == nil {
			t.Errorf("AUTH_FAILURES_PER_MINUTE=%q accepted", v)
		}
	}
	t.Setenv("AUTH_FAILURES_PER_MINUTE", "10")
	t.Setenv("TRUSTED_PROXIES", " 10.0.0.5, 10.1.0.0/16 ,fd00::/8")
	if c, err := loadConfig(); err != nil || !slices.Equal(c.TrustedProxies, []string{"10.0.0.5/32", "10.1.0.0/16", "fd00::/8"}) {
		t.Fatalf("TRUSTED_PROXIES: %v %v", c.TrustedProxies, err)
	}
	for _, v := range []string{"0.0.0.0/0", "::/0", "10.0.0.5,*", "proxy.internal", "fe80::1%eth0"} {
		t.Setenv("TRUSTED_PROXIES", v)
		if _, err := loadConfig(); err == nil {
			t.Errorf("TRUSTED_PROXIES=%q accepted", v)
		}
	}
}

// The pages' sessions end after SESSION_IDLE_TIMEOUT unused and
// SESSION_MAX_AGE after sign-in; an idle timeout beyond the maximum age, or
// a duration that does not parse, stops the process at start.
func TestSessionConfig(t *testing.T) {
	t.Setenv("SESSION_IDLE_TIMEOUT", "")
	t.Setenv("SESSION_MAX_AGE", "")
	c, err := loadConfig()
	if err != nil || c.SessionIdleTimeout != 30*time.Minute || c.SessionMaxAge != 12*time.Hour {
		t.Fatalf("defaults: %v %v %v", c.SessionIdleTimeout, c.SessionMaxAge, err)
	}
	t.Setenv("SESSION_IDLE_TIMEOUT", "15m")
	t.Setenv("SESSION_MAX_AGE", "8h")
	if c, err := loadConfig(); err != nil || c.SessionIdleTimeout != 15*time.Minute || c.SessionMaxAge != 8*time.Hour {
		t.Fatalf("set: %v %v %v", c.SessionIdleTimeout, c.SessionMaxAge, err)
	}
	for _, bad := range [][2]string{{"2h", "1h"}, {"0s", "1h"}, {"30", "1h"}, {"30m", "forever"}} {
		t.Setenv("SESSION_IDLE_TIMEOUT", bad[0])
		t.Setenv("SESSION_MAX_AGE", bad[1])
		if _, err := loadConfig(); err == nil {
			t.Errorf("SESSION_IDLE_TIMEOUT=%s SESSION_MAX_AGE=%s taken", bad[0], bad[1])
		}
	}
}

// The changes at Temporal at once: 16 unless set; a whole number of at
// least one, or the process does not start.
func TestMaxInFlightConfig(t *testing.T) {
	t.Setenv("MAX_CHANGES_IN_FLIGHT", "")
	if c, err := loadConfig(); err != nil || c.MaxInFlight != 16 {
		t.Fatalf("default: %d %v, want 16", c.MaxInFlight, err)
	}
	t.Setenv("MAX_CHANGES_IN_FLIGHT", "64")
	if c, err := loadConfig(); err != nil || c.MaxInFlight != 64 {
		t.Fatalf("64: %d %v", c.MaxInFlight, err)
	}
	for _, v := range []string{"0", "-1", "many", "1e3"} {
		t.Setenv("MAX_CHANGES_IN_FLIGHT", v)
		if _, err := loadConfig(); err == nil {
			t.Errorf("MAX_CHANGES_IN_FLIGHT=%q accepted", v)
		}
	}
}
