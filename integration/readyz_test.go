package integration

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"escalate/api"
	"escalate/policies"
	"escalate/worker"
)

// Readiness names each dependency on its own (issue 10, item 5): with
// Temporal answering but no worker polling the cases' task queue, nothing
// would ever be recorded or escalated, so the API is not ready and says
// that it is the worker; once a worker polls, it is.
func TestReadinessNeedsAPollingWorker(t *testing.T) {
	s := startSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := filepath.Abs(env("TEMPORAL_CLI", "../bin/temporal"))
	if err != nil {
		t.Fatal(err)
	}
	// A second Temporal on which no worker has ever polled.
	bare, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: cli, ClientOptions: withCodec(&client.Options{Namespace: "default", Logger: quietLogger()}),
		LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bare.Stop() })
	pols, err := policies.Load("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: s.store, Temporal: bare.Client(), Policies: pols, Codec: testCodec,
		AdminToken: adminToken, Log: quietSlog()}).Handler())
	t.Cleanup(srv.Close)
	bareAPI := &system{t: t, url: srv.URL}

	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if code := bareAPI.call("GET", "/readyz", "", nil, &ready); code != 503 || ready.Checks["worker"] != "none" ||
		ready.Checks["postgres"] != "ok" || ready.Checks["temporal"] != "ok" {
		t.Fatalf("readyz with no worker: %d %v, want 503 naming the worker only", code, ready.Checks)
	}
	w := worker.New(bare.Client(), s.acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code := bareAPI.call("GET", "/readyz", "", nil, &ready)
		if code == 200 && ready.Checks["worker"] == "polling" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz with a worker polling: %d %v", code, ready.Checks)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The system's own API, whose worker polls, is ready.
	if code := s.call("GET", "/readyz", "", nil, &ready); code != 200 {
		t.Errorf("readyz of the running system: %d %v", code, ready.Checks)
	}
}
