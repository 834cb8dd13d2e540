package activities

import (
	"context"
	"crypto/hmac"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// An agency can check what it receives: the signature is HMAC-SHA256 of
// "<timestamp>.<body>" under its secret, and the delivery id is stable.
func TestWebhookPostIsSigned(t *testing.T) {
	type got struct {
		header http.Header
		body   []byte
	}
	received := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received <- got{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	p := NewWebhookPoster(true) // the endpoint is on 127.0.0.1
	p.Now = func() time.Time { return time.Unix(1795000000, 0) }
	body := []byte(`{"ref":"NSCP-2026-00001"}`)
	if err := p.Post(context.Background(), srv.URL, "s3cret", "NSCP-2026-00001.3.nct", "note", body); err != nil {
		t.Fatal(err)
	}
	g := <-received
	if string(g.body) != string(body) || g.header.Get("Content-Type") != "application/json" {
		t.Fatalf("body %s, content type %q", g.body, g.header.Get("Content-Type"))
	}
	ts, err := strconv.ParseInt(g.header.Get(HeaderTimestamp), 10, 64)
	if err != nil || ts != 1795000000 {
		t.Fatalf("timestamp %q", g.header.Get(HeaderTimestamp))
	}
	want := Sign("s3cret", ts, g.body)
	if !hmac.Equal([]byte(g.header.Get(HeaderSignature)), []byte(want)) || !strings.HasPrefix(want, "sha256=") || len(want) != 7+64 {
		t.Fatalf("signature %q, want %q", g.header.Get(HeaderSignature), want)
	}
	if Sign("other", ts, g.body) == want || Sign("s3cret", ts+1, g.body) == want {
		t.Fatal("signature does not depend on the secret and timestamp")
	}
	if g.header.Get(HeaderDelivery) != "NSCP-2026-00001.3.nct" || g.header.Get(HeaderEvent) != "note" {
		t.Fatalf("headers %v", g.header)
	}
}

// Anything but a 2xx is a failure to retry; a redirect is not followed.
func TestWebhookPostFailures(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/elsewhere":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	p := NewWebhookPoster(true)
	if err := p.Post(context.Background(), srv.URL+"/fail", "k", "d", "note", []byte("{}")); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("500 answered: %v", err)
	}
	if err := p.Post(context.Background(), srv.URL+"/redirect", "k", "d", "note", []byte("{}")); err == nil {
		t.Fatal("a redirect counted as delivered")
	}
	if hits != 2 {
		t.Fatalf("%d requests; the redirect was followed", hits)
	}
	if err := p.Post(context.Background(), "http://127.0.0.1:1/none", "k", "d", "note", []byte("{}")); err == nil {
		t.Fatal("an unreachable endpoint counted as delivered")
	}
}

// A failed delivery stays "retrying" while attempts remain, and is "failed"
// for good at the workflow's last attempt.
func TestStatusAfterFailure(t *testing.T) {
	for attempt := int32(1); attempt <= workflows.DeliverMaxAttempts+1; attempt++ {
		want := store.NoteRetrying
		if attempt >= workflows.DeliverMaxAttempts {
			want = store.NoteFailed
		}
		if got := statusAfterFailure(attempt); got != want {
			t.Errorf("attempt %d: %s, want %s", attempt, got, want)
		}
	}
}

// A poster that may not reach private networks refuses, when it connects,
// an address that is not public, however the URL names it: an address, or
// a name (localhost) resolved only at delivery, as a name whose DNS changed
// after the webhook was set would be. The endpoint is never reached.
func TestWebhookPostRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p := NewWebhookPoster(false)
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/hook", "http://[::ffff:127.0.0.1]:" + port + "/"} {
		err := p.Post(context.Background(), u, "k", "d", "note", []byte("{}"))
		if err == nil || !strings.Contains(err.Error(), "not a public address") {
			t.Errorf("%s: %v, want a refusal to connect", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the private endpoint was reached %d times", hits.Load())
	}
	// Allowed, the same endpoint is reached.
	if err := NewWebhookPoster(true).Post(context.Background(), srv.URL, "k", "d", "note", []byte("{}")); err != nil || hits.Load() != 1 {
		t.Fatalf("allowed: %v, %d hits", err, hits.Load())
	}
}

// Environment proxies are not used: through a proxy the connection check
// would see the proxy's address, and the proxy would reach anything.
func TestWebhookPosterIgnoresProxyEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://192.0.2.1:3128")
	t.Setenv("HTTPS_PROXY", "http://192.0.2.1:3128")
	tr, ok := NewWebhookPoster(false).Client.Transport.(*http.Transport)
	if !ok || tr.Proxy != nil {
		t.Fatalf("transport %T with proxy set", NewWebhookPoster(false).Client.Transport)
	}
}
