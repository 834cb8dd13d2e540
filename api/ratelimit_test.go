package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"escalate/policies"
)

// clock is a settable time for the limiters.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func authLimitedHandler(t *testing.T, cfg Config) (http.Handler, *clock) {
	t.Helper()
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policies, cfg.AdminToken, cfg.Log = pols, "test-admin", slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(cfg)
	clk := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s.now = clk.Now
	return s.Handler(), clk
}

// send makes a request from remote (ip:port) with the given Authorization
// (none if empty) and extra headers.
func send(h http.Handler, remote, auth string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/v1/policies", nil)
	req.RemoteAddr = remote
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func wantLimited(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	var e errorResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != http.StatusTooManyRequests || e.Error.Code != "rate_limited" || e.Error.Message == "" || err != nil || retry < 1 {
		body := rec.Body.String()
		if len(body) > 200 {
			body = body[:200] + "..."
		}
		t.Fatalf("%s: %d Retry-After %q %s; want 429 rate_limited with Retry-After", what, rec.Code, rec.Header().Get("Retry-After"), body)
	}
}

// Failed authentications are limited per client address: beyond the
// budget every request from that address, even one with a valid token,
// is a 429 with Retry-After until the budget refills (otherwise the
// difference between 429 and 200 would still tell a guesser when a guess
// was right). Other addresses are not affected, and X-Forwarded-For from
// a client that is not a trusted proxy changes nothing.
func TestFailedAuthenticationsLimited(t *testing.T) {
	h, clk := authLimitedHandler(t, Config{AuthFailuresPerMinute: 60, AuthFailureBurst: 3})
	attacker, other := "203.0.113.9:4000", "198.51.100.20:5000"
	for i, auth := range []string{"", "Basic YTpi", "Bearer "} {
		if rec := send(h, attacker, auth); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, rec.Code)
		}
	}
	wantLimited(t, send(h, attacker, "Bearer "), "fourth failure")
	wantLimited(t, send(h, attacker, "Bearer test-admin"), "a valid token from a blocked address")
	wantLimited(t, send(h, "203.0.113.9:4001", "Bearer test-admin"), "another port of the blocked address")
	wantLimited(t, send(h, attacker, "", "X-Forwarded-For", "192.0.2.77", "X-Real-IP", "192.0.2.78"), "a spoofed forwarded address")
	if rec := send(h, other, "Bearer test-admin"); rec.Code != http.StatusOK {
		t.Fatalf("another address: %d", rec.Code)
	}
	if rec := send(h, other, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("another address's first failure: %d", rec.Code)
	}
	// A second later one failure's worth has refilled: one more try, then
	// blocked again.
	clk.Add(time.Second)
	if rec := send(h, attacker, "Bearer test-admin"); rec.Code != http.StatusOK {
		t.Fatalf("after a second, a valid token: %d", rec.Code)
	}
	if rec := send(h, attacker, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after a second, a failure: %d", rec.Code)
	}
	wantLimited(t, send(h, attacker, ""), "the failure after that")
	// Successes cost nothing: a valid token from a clean address is never
	// limited by this.
	for i := 0; i < 20; i++ {
		if rec := send(h, "192.0.2.30:1", "Bearer test-admin"); rec.Code != http.StatusOK {
			t.Fatalf("success %d: %d", i, rec.Code)
		}
	}
}

// Off (0) means no limit on failures.
func TestFailedAuthenticationsUnlimitedWhenOff(t *testing.T) {
	h, _ := authLimitedHandler(t, Config{})
	for i := 0; i < 50; i++ {
		if rec := send(h, "203.0.113.9:4000", ""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, rec.Code)
		}
	}
}

// An IPv6 client is limited by its /64, which one host or home usually
// has whole: cycling addresses inside it does not reset the budget.
func TestFailedAuthenticationsIPv6Prefix(t *testing.T) {
	h, _ := authLimitedHandler(t, Config{AuthFailuresPerMinute: 60, AuthFailureBurst: 2})
	send(h, "[2001:db8:1:2::1]:1", "")
	send(h, "[2001:db8:1:2::2]:1", "")
	wantLimited(t, send(h, "[2001:db8:1:2:ffff::9]:1", "Bearer test-admin"), "another address in the same /64")
	if rec := send(h, "[2001:db8:1:3::1]:1", "Bearer test-admin"); rec.Code != http.StatusOK {
		t.Fatalf("another /64: %d", rec.Code)
	}
}

// Behind a trusted reverse proxy (TRUSTED_PROXIES), the client is the
// address the proxy forwards, so one client's failures do not block every
// client of the proxy; a proxy that is not listed is not believed.
func TestFailedAuthenticationsBehindTrustedProxy(t *testing.T) {
	h, _ := authLimitedHandler(t, Config{AuthFailuresPerMinute: 60, AuthFailureBurst: 1, TrustedProxies: []string{"10.0.0.0/8"}})
	proxy := "10.1.2.3:50000"
	send(h, proxy, "", "X-Forwarded-For", "203.0.113.9")
	wantLimited(t, send(h, proxy, "Bearer test-admin", "X-Forwarded-For", "203.0.113.9"), "the failing client")
	if rec := send(h, proxy, "Bearer test-admin", "X-Forwarded-For", "198.51.100.20"); rec.Code != http.StatusOK {
		t.Fatalf("another client of the proxy: %d", rec.Code)
	}
	// An untrusted sender's X-Forwarded-For is ignored.
	send(h, "192.0.2.5:1", "", "X-Forwarded-For", "198.51.100.99")
	wantLimited(t, send(h, "192.0.2.5:1", "Bearer test-admin", "X-Forwarded-For", "198.51.100.100"), "untrusted sender, new forwarded address")
}

// The limiter's memory is bounded: an attacker cycling addresses cannot
// grow it past its cap; the least recently seen entries go first, and
// entries idle long enough to be full again are dropped (a fresh entry is
// the same).
func TestLimiterMemoryBounded(t *testing.T) {
	l := newLimiter(10, 5, 100)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 10000; i++ {
		l.fail(fmt.Sprintf("198.51.%d.%d", i/256, i%256), now)
		if n := l.size(); n > 100 {
			t.Fatalf("after %d keys: %d entries, cap 100", i+1, n)
		}
	}
	// The most recent keys are still limited, the oldest forgotten.
	for i := 0; i < 5; i++ {
		l.fail("203.0.113.1", now)
	}
	if _, blocked := l.blocked("203.0.113.1", now); !blocked {
		t.Fatal("a key that used its burst is not blocked")
	}
	// Once full again (burst 5 at 10 a minute: 30 s), idle entries are
	// dropped as others arrive.
	later := now.Add(31 * time.Second)
	l.fail("192.0.2.1", later)
	if n := l.size(); n != 1 {
		t.Fatalf("%d entries after every other entry refilled, want 1", n)
	}
	if _, blocked := l.blocked("203.0.113.1", later); blocked {
		t.Fatal("blocked after the budget refilled")
	}
}

// Failures that got past the check together (sent at once, before any had
// failed) all count: the budget goes into debt, and the client waits for
// every one of them, so concurrency does not multiply its guesses.
func TestFailuresBeyondTheBudgetCount(t *testing.T) {
	l := newLimiter(60, 3, 0)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ { // ten guesses in flight at once
		l.fail("203.0.113.9", now)
	}
	wait, blocked := l.blocked("203.0.113.9", now)
	if !blocked || wait < 7*time.Second || wait > 9*time.Second {
		t.Fatalf("after 10 failures on a budget of 3 at 1/s: blocked %v for %v, want about 8s", blocked, wait)
	}
	if _, blocked := l.blocked("203.0.113.9", now.Add(5*time.Second)); !blocked {
		t.Fatal("unblocked before the debt was paid")
	}
	if _, blocked := l.blocked("203.0.113.9", now.Add(8*time.Second)); blocked {
		t.Fatal("still blocked once the debt was paid")
	}
	// An entry in debt is not forgotten as others arrive while it is not
	// full again.
	l.fail("192.0.2.1", now.Add(9*time.Second))
	if _, blocked := l.blocked("203.0.113.9", now.Add(9*time.Second)); blocked {
		t.Fatal("blocked after paying")
	}
	if l.size() != 2 {
		t.Fatalf("%d entries, want 2 (the first is not full yet)", l.size())
	}
}
