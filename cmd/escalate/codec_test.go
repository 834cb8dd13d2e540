package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// api and worker refuse to start without keys, with a message saying what
// to set; bad keys are refused naming the variable, never printing a key.
func TestCodecKeysRequiredOutsideDev(t *testing.T) {
	t.Setenv("CODEC_KEYS", "")
	t.Setenv("TEMPORAL_UI_ORIGIN", "")
	cfg := config{DevDir: t.TempDir(), TemporalUIPort: 8233}
	err := loadTemporalCodec(&cfg, false, quiet())
	if err == nil || !strings.Contains(err.Error(), "CODEC_KEYS is required") {
		t.Fatalf("api without CODEC_KEYS: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DevDir, "codec-keys")); !os.IsNotExist(err) {
		t.Fatal("a key file was made outside dev")
	}
	t.Setenv("CODEC_KEYS", "k1:c2hvcnQ=")
	if err := loadTemporalCodec(&cfg, false, quiet()); err == nil || !strings.HasPrefix(err.Error(), "CODEC_KEYS: entry 1") || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Fatalf("short key: %v", err)
	}
	t.Setenv("CODEC_KEYS", "k1:"+strings.Repeat("A", 43)+"=")
	if err := loadTemporalCodec(&cfg, false, quiet()); err != nil || cfg.codec == nil || cfg.temporalUIOrigin != "" || cfg.codecTrustsLocalUI {
		t.Fatalf("api with keys: %v %+v", err, cfg)
	}
	t.Setenv("TEMPORAL_UI_ORIGIN", "https://temporal.example.org/ui")
	if err := loadTemporalCodec(&cfg, false, quiet()); err == nil || !strings.Contains(err.Error(), "TEMPORAL_UI_ORIGIN") {
		t.Fatalf("UI origin with a path: %v", err)
	}
	t.Setenv("TEMPORAL_UI_ORIGIN", "https://Temporal.example.org")
	if err := loadTemporalCodec(&cfg, false, quiet()); err != nil || cfg.temporalUIOrigin != "https://temporal.example.org" {
		t.Fatalf("UI origin: %v %q", err, cfg.temporalUIOrigin)
	}
}

// dev needs no configuration: one key is made on first start and kept.
func TestDevMakesOneCodecKey(t *testing.T) {
	t.Setenv("CODEC_KEYS", "")
	t.Setenv("TEMPORAL_UI_ORIGIN", "")
	dir := filepath.Join(t.TempDir(), ".dev")
	cfg := config{DevDir: dir, TemporalUIPort: 18233}
	if err := loadTemporalCodec(&cfg, true, quiet()); err != nil {
		t.Fatal(err)
	}
	first := cfg.codec.ActiveKeyID()
	if !strings.HasPrefix(first, "dev-") || cfg.temporalUIOrigin != "http://127.0.0.1:18233" || !cfg.codecTrustsLocalUI {
		t.Fatalf("dev: key %s origin %s trust %v", first, cfg.temporalUIOrigin, cfg.codecTrustsLocalUI)
	}
	st, err := os.Stat(filepath.Join(dir, "codec-keys"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	again := config{DevDir: dir, TemporalUIPort: 18233}
	if err := loadTemporalCodec(&again, true, quiet()); err != nil || again.codec.ActiveKeyID() != first {
		t.Fatalf("second start: %v, key %s want %s", err, again.codec.ActiveKeyID(), first)
	}
	// CODEC_KEYS, when set, wins in dev too.
	t.Setenv("CODEC_KEYS", "mine:"+strings.Repeat("B", 43)+"=")
	if err := loadTemporalCodec(&again, true, quiet()); err != nil || again.codec.ActiveKeyID() != "mine" {
		t.Fatalf("dev with CODEC_KEYS: %v", err)
	}
}

func TestDevCodecEndpoint(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/codec",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/codec",
		":8080":          "http://127.0.0.1:8080/codec",
		"[::]:8080":      "http://127.0.0.1:8080/codec",
		"localhost:8080": "http://localhost:8080/codec",
	} {
		if got := devCodecEndpoint(config{HTTPAddr: addr}); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}

// Every command that reaches Temporal loads the codec first; one that did
// not (setup, drift) could not dial at all, since every client encrypts.
func TestEveryCommandThatDialsTemporalHasTheCodec(t *testing.T) {
	for _, cmd := range []string{"dev", "api", "worker", "setup", "drift"} {
		if !dialsTemporal(cmd) {
			t.Errorf("%s dials Temporal but would not load the codec", cmd)
		}
	}
	for _, cmd := range []string{"migrate", "healthcheck", "help"} {
		if dialsTemporal(cmd) {
			t.Errorf("%s does not dial Temporal but would need CODEC_KEYS", cmd)
		}
	}
}
