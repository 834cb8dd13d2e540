package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// Invalid UTF-8 or a control character in a path, query or header is
// refused with the contract's error body (404 for a path, 400 naming the
// parameter or header otherwise) before any handler runs: each of these
// once reached PostgreSQL, which refused the bytes, and answered 500.
func TestHostilePathQueryAndHeaders(t *testing.T) {
	h := newTestHandler(t)
	cursorWithNUL := base64.RawURLEncoding.EncodeToString([]byte("1700000000000000|NSCP-2026-\x0000001"))
	cursorWithFF := base64.RawURLEncoding.EncodeToString([]byte("1700000000000000|\xff"))
	cases := []struct {
		name, method, target string
		header               [2]string
		status               int
		code, field          string
	}{
		{"case ref not UTF-8", "GET", "/v1/cases/%ff", [2]string{}, 404, "not_found", ""},
		{"case ref with NUL", "GET", "/v1/cases/NSCP-2026-%0000001", [2]string{}, 404, "not_found", ""},
		{"record of a ref not UTF-8", "GET", "/v1/cases/%ff/record", [2]string{}, 404, "not_found", ""},
		{"record page of a ref not UTF-8", "GET", "/v1/cases/%ff/record.html", [2]string{}, 404, "not_found", ""},
		{"action on a ref not UTF-8", "POST", "/v1/cases/%ff/notes", [2]string{}, 404, "not_found", ""},
		{"case ref with a bidi override", "GET", "/v1/cases/%E2%80%AE1", [2]string{}, 404, "not_found", ""},
		{"token id not UTF-8", "DELETE", "/v1/admin/tokens/%ff", [2]string{}, 404, "not_found", ""},
		{"token id with ESC", "DELETE", "/v1/admin/tokens/tok_%1b", [2]string{}, 404, "not_found", ""},
		{"webhook agency not UTF-8", "DELETE", "/v1/admin/webhooks/%ff", [2]string{}, 404, "not_found", ""},
		{"policy id not UTF-8", "GET", "/v1/policies/%ff", [2]string{}, 404, "not_found", ""},
		{"closures of a policy id not UTF-8", "GET", "/v1/admin/policies/%ff/closures", [2]string{}, 404, "not_found", ""},
		{"closure for a policy id with NUL", "POST", "/v1/admin/policies/north%00/closures", [2]string{}, 404, "not_found", ""},
		{"unrouted path not UTF-8", "GET", "/%ff", [2]string{}, 404, "not_found", ""},
		{"query value NUL", "GET", "/v1/cases?policy=%00", [2]string{}, 400, "invalid_request", "policy"},
		{"query value not UTF-8", "GET", "/v1/cases?agency=%ff", [2]string{}, 400, "invalid_request", "agency"},
		{"query value with a line break", "GET", "/v1/cases?agency=a%0d%0ab", [2]string{}, 400, "invalid_request", "agency"},
		{"query status not UTF-8", "GET", "/v1/cases?status=%ff", [2]string{}, 400, "invalid_request", "status"},
		{"query key not UTF-8", "GET", "/v1/cases?a%ff=1", [2]string{}, 400, "invalid_request", "query"},
		{"query key with NUL", "GET", "/v1/cases?%00=1", [2]string{}, 400, "invalid_request", "query"},
		{"query that does not parse", "GET", "/v1/cases?agency=%zz", [2]string{}, 400, "invalid_request", "query"},
		{"report query NUL", "GET", "/v1/reports/summary?from=%00", [2]string{}, 400, "invalid_request", "from"},
		{"query on an open route", "GET", "/healthz?x=%ff", [2]string{}, 400, "invalid_request", "x"},
		{"cursor hiding a NUL", "GET", "/v1/cases?cursor=" + cursorWithNUL, [2]string{}, 400, "invalid_request", "cursor"},
		{"cursor hiding invalid UTF-8", "GET", "/v1/cases?cursor=" + cursorWithFF, [2]string{}, 400, "invalid_request", "cursor"},
		{"limit 0", "GET", "/v1/cases?limit=0", [2]string{}, 400, "invalid_request", "limit"},
		{"limit negative", "GET", "/v1/cases?limit=-1", [2]string{}, 400, "invalid_request", "limit"},
		{"limit over 200", "GET", "/v1/cases?limit=201", [2]string{}, 400, "invalid_request", "limit"},
		{"Idempotency-Key not UTF-8", "POST", "/v1/cases", [2]string{"Idempotency-Key", "k\xff"}, 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key with NUL", "POST", "/v1/cases", [2]string{"Idempotency-Key", "k\x00"}, 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key not ASCII", "POST", "/v1/cases", [2]string{"Idempotency-Key", "clé"}, 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key with a tab", "POST", "/v1/cases", [2]string{"Idempotency-Key", "a\tb"}, 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key too long", "POST", "/v1/cases", [2]string{"Idempotency-Key", strings.Repeat("k", 201)}, 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key on an action", "POST", "/v1/cases/X-1/notes", [2]string{"Idempotency-Key", "k\xff"}, 400, "invalid_request", "Idempotency-Key"},
		{"any header not UTF-8", "GET", "/v1/policies", [2]string{"X-Anything", "\xff\xfe"}, 400, "invalid_request", "X-Anything"},
		{"any header with a control character", "GET", "/v1/policies", [2]string{"X-Anything", "a\x01b"}, 400, "invalid_request", "X-Anything"},
		{"any header with DEL", "GET", "/healthz", [2]string{"User-Agent", "a\x7fb"}, 400, "invalid_request", "User-Agent"},
		{"any header with a C1 control", "GET", "/healthz", [2]string{"User-Agent", "a\u0085b"}, 400, "invalid_request", "User-Agent"},
		{"authorization not UTF-8", "GET", "/v1/policies", [2]string{"Authorization", "Bearer \xff"}, 400, "invalid_request", "Authorization"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(`{}`))
			if tc.header[0] != "Authorization" {
				req.Header.Set("Authorization", "Bearer test-admin")
			}
			if tc.header[0] != "" {
				req.Header[tc.header[0]] = []string{tc.header[1]}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			var e errorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("body is not the error model: %q", rec.Body.String())
			}
			if e.Error.Code != tc.code || e.Error.Message == "" || e.Error.RequestID == "" {
				t.Fatalf("error %+v, want code %s", e.Error, tc.code)
			}
			if tc.field != "" && (e.Error.Fields[tc.field] == "" || len(e.Error.Fields) != 1) {
				t.Fatalf("fields %v, want only %q", e.Error.Fields, tc.field)
			}
		})
	}
}

// A request ID the client sends is echoed only if it is plain printable
// ASCII: anything else is replaced by one of ours, so a header cannot carry
// bytes into responses and logs.
func TestRequestIDIsClean(t *testing.T) {
	h := newTestHandler(t)
	for id, echoed := range map[string]bool{
		"abc-123":               true,
		"k\xff":                 false,
		"a b":                   false,
		"a\x01":                 false,
		"é":                     false,
		`a"b`:                   false,
		strings.Repeat("a", 65): false,
	} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Header["X-Request-Id"] = []string{id}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if (got == id) != echoed || got == "" {
			t.Errorf("X-Request-ID %q answered with %q (echo wanted: %v)", id, got, echoed)
		}
		for _, r := range got {
			if r <= ' ' || r > '~' {
				t.Errorf("X-Request-ID %q answered with %q", id, got)
			}
		}
	}
}

// The keys people send are what the contract allows: 1-200 printable ASCII
// characters; none means none.
func TestIdempotencyKeyRule(t *testing.T) {
	for key, ok := range map[string]bool{
		"":                                     true,
		"walk-1":                               true,
		"7f1b0d3e-8c9a-4c5e-9a57-3b1e2f8d9c10": true,
		"a b":                                  true,
		strings.Repeat("k", 200):               true,
		strings.Repeat("k", 201):               false,
		"k\xff":                                false,
		"é":                                    false,
		"a\x00":                                false,
		"a\tb":                                 false,
		"a\x7f":                                false,
	} {
		if why := idempotencyKeyProblem(key); (why == "") != ok {
			t.Errorf("%q: %q, want accepted %v", key, why, ok)
		}
	}
}

// limit is 1-200: 200 is accepted and not capped, and no limit is the
// store's default.
func TestListLimitRange(t *testing.T) {
	for target, want := range map[string]int{"/v1/cases?limit=200": 200, "/v1/cases?limit=1": 1, "/v1/cases": 0} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", target, nil)
		var q listCasesQuery
		if err := bindQuery(c, &q); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		got := 0
		if q.Limit != nil {
			got = *q.Limit
		}
		if got != want {
			t.Errorf("%s: limit %d, want %d", target, got, want)
		}
	}
}

// A cursor names a case by its reference, which is letters, digits and
// '-': anything else inside one is not a cursor this API returned.
func TestCursorRoundTrip(t *testing.T) {
	c := encodeCursor(time.UnixMicro(1700000000000000), "NSCP-2026-00001")
	if _, ref, ok := decodeCursor(c); !ok || ref != "NSCP-2026-00001" {
		t.Fatalf("round trip: %q %v", ref, ok)
	}
	for _, ref := range []string{"NSCP-2026-\x0000001", "\xff", "a|b", "NSCP 2026", strings.Repeat("A", 65)} {
		if _, _, ok := decodeCursor(base64.RawURLEncoding.EncodeToString([]byte("1700000000000000|" + ref))); ok {
			t.Errorf("cursor with ref %q accepted", ref)
		}
	}
}
