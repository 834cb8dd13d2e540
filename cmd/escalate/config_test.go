package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
