package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
