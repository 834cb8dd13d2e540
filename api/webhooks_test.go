package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"escalate/policies"
)

// fakeResolver answers lookups from a table; other names do not exist.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out, nil
}

func webhookHandler(t *testing.T, allowPrivate bool) http.Handler {
	t.Helper()
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Policies: pols, AdminToken: "test-admin", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		WebhookAllowPrivate: allowPrivate,
		Resolver: fakeResolver{
			"metadata.attacker.example": {"169.254.169.254"},
			"mixed.attacker.example":    {"93.184.215.14", "10.1.2.3"},
			"v6.attacker.example":       {"fd00::1"},
		}}).Handler()
}

// A webhook may not point at this machine or the networks around it: the
// cloud's metadata service, loopback, private, link-local, CGNAT, multicast
// or unspecified addresses, whether written as an address or as a name
// that resolves to one. Each is refused with a 400 naming "url", before
// anything is stored (there is no store here: storing would panic).
func TestWebhookToInternalAddressRefused(t *testing.T) {
	h := webhookHandler(t, false)
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://127.0.0.1:8080/v1/admin/tokens",
		"http://127.1/",
		"http://2130706433/",
		"http://0x7f000001/",
		"http://0177.0.0.1/",
		"http://0/",
		"http://0.0.0.0/",
		"http://10.0.0.5/",
		"http://172.16.3.4/",
		"http://192.168.1.1/",
		"http://100.64.0.1/",
		"http://224.0.0.1/",
		"http://255.255.255.255/",
		"http://[::1]/",
		"http://[::]/",
		"http://[::ffff:169.254.169.254]/",
		"http://[::ffff:127.0.0.1]/",
		"http://[fe80::1%25eth0]/",
		"http://[fd12:3456::1]/",
		"http://[ff02::1]/",
		"http://[64:ff9b::a9fe:a9fe]/",
		"http://[2002:7f00:1::]/",
		"http://localhost:7233/",
		"http://LOCALHOST./",
		"http://temporal.localhost/",
		"https://metadata.attacker.example/",
		"https://mixed.attacker.example/hook",
		"https://v6.attacker.example/hook",
	} {
		req := httptest.NewRequest("PUT", "/v1/admin/webhooks/nct", strings.NewReader(`{"url":"`+u+`"}`))
		req.Header.Set("Authorization", "Bearer test-admin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e errorResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || e.Error.Code != "invalid_request" || e.Error.Fields["url"] == "" {
			t.Errorf("%s: %d %s, want 400 naming url", u, rec.Code, rec.Body.String())
		}
	}
}

// With WEBHOOK_ALLOW_PRIVATE (a test or an agency on the same private
// network) the same URLs pass the address check and reach the store.
func TestWebhookToInternalAddressAllowedWhenConfigured(t *testing.T) {
	h := webhookHandler(t, true)
	req := httptest.NewRequest("PUT", "/v1/admin/webhooks/nct", strings.NewReader(`{"url":"http://127.0.0.1:9/hook"}`))
	req.Header.Set("Authorization", "Bearer test-admin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	// No store here: getting past validation is a panic caught as a 500.
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("%d %s: the address check refused an allowed private URL", rec.Code, rec.Body.String())
	}
}
