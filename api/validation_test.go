package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"escalate/policies"
)

// newTestHandler serves the API with only policies and the bootstrap admin:
// every request below must be refused before any database or Temporal call
// (there are none to call: a call would panic and fail the test).
func newTestHandler(t *testing.T) http.Handler {
	t.Helper()
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Policies: pols, AdminToken: "test-admin", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
}

type errorResponse struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		Fields    map[string]string `json:"fields"`
		RequestID string            `json:"request_id"`
	} `json:"error"`
}

func TestRequestValidation(t *testing.T) {
	h := newTestHandler(t)
	valid := `{"policy":"northamptonshire","child_ref":"NCT/1","category":"communication","summary":"s",` +
		`"respondent":{"name":"Sam","email":"sam@nct.example","agency":"nct"}}`
	cases := []struct {
		name, method, path, auth, body string
		status                         int
		code, field                    string
	}{
		{"no token", "POST", "/v1/cases", "", valid, 401, "unauthenticated", ""},
		{"not bearer", "POST", "/v1/cases", "Basic abc", valid, 401, "unauthenticated", ""},
		{"malformed JSON", "POST", "/v1/cases", "Bearer test-admin", `{"policy":`, 400, "invalid_request", ""},
		{"empty body", "POST", "/v1/cases", "Bearer test-admin", ``, 400, "invalid_request", ""},
		{"not an object", "POST", "/v1/cases", "Bearer test-admin", `[1,2]`, 400, "invalid_request", ""},
		{"unknown field", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"dob":"2020-01-01","summary"`, 1), 400, "invalid_request", "dob"},
		{"wrong type", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"child_ref":"NCT/1"`, `"child_ref":12`, 1), 400, "invalid_request", "child_ref"},
		{"missing field", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary":"s",`, ``, 1), 400, "invalid_request", "summary"},
		{"blank summary", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary":"s"`, `"summary":"   "`, 1), 400, "invalid_request", "summary"},
		{"child_ref with a name", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `NCT/1`, `Jane Doe`, 1), 400, "invalid_request", "child_ref"},
		{"child_ref too long", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `NCT/1`, strings.Repeat("A", 65), 1), 400, "invalid_request", "child_ref"},
		{"bad respondent email", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `sam@nct.example`, `sam`, 1), 400, "invalid_request", "respondent.email"},
		{"unknown policy", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"northamptonshire"`, `"atlantis"`, 1), 400, "invalid_request", "policy"},
		{"unknown category", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `communication`, `weather`, 1), 400, "invalid_request", "category"},
		{"bad due_at", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"due_at":"tomorrow","summary"`, 1), 400, "invalid_request", "due_at"},
		{"due_at in the past", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"due_at":"2020-01-01T17:00:00Z","summary"`, 1), 400, "invalid_request", "due_at"},
		{"due_at beyond the maximum", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"due_at":"2099-01-01T17:00:00Z","summary"`, 1), 422, "rule_violation", "due_at"},
		{"body over 64 KiB", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary":"s"`, `"summary":"`+strings.Repeat("x", 70000)+`"`, 1), 400, "invalid_request", ""},
		{"token role", "POST", "/v1/admin/tokens", "Bearer test-admin", `{"name":"A","email":"a@b.example","agency":"x","role":"king"}`, 400, "invalid_request", "role"},
		{"partnership token needs a policy id", "POST", "/v1/admin/tokens", "Bearer test-admin", `{"name":"A","email":"a@b.example","agency":"x","role":"partnership"}`, 400, "invalid_request", "agency"},
		{"list: bad status", "GET", "/v1/cases?status=lost", "Bearer test-admin", ``, 400, "invalid_request", "status"},
		{"list: limit out of range", "GET", "/v1/cases?limit=1000", "Bearer test-admin", ``, 400, "invalid_request", "limit"},
		{"list: bad cursor", "GET", "/v1/cases?cursor=zzz", "Bearer test-admin", ``, 400, "invalid_request", "cursor"},
		{"unknown route", "GET", "/v1/nothing", "Bearer test-admin", ``, 404, "not_found", ""},
		{"unknown policy id", "GET", "/v1/policies/atlantis", "Bearer test-admin", ``, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			var e errorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("body is not the error model: %s", rec.Body.String())
			}
			if e.Error.Code != tc.code || e.Error.Message == "" || e.Error.RequestID == "" {
				t.Fatalf("error %+v, want code %s", e.Error, tc.code)
			}
			if tc.field != "" && e.Error.Fields[tc.field] == "" {
				t.Fatalf("fields %v do not name %q", e.Error.Fields, tc.field)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("X-Request-ID") != e.Error.RequestID {
				t.Fatalf("headers %v", rec.Header())
			}
		})
	}
}

func TestPoliciesAndDocsServed(t *testing.T) {
	h := newTestHandler(t)
	for _, path := range []string{"/healthz", "/openapi.json"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
	req := httptest.NewRequest("GET", "/v1/policies/northamptonshire", nil)
	req.Header.Set("Authorization", "Bearer test-admin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p struct {
		ID     string `json:"id"`
		Stages []struct {
			Within string `json:"within"`
		} `json:"stages"`
		SafetyNotice string `json:"safety_notice"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	if p.ID != "northamptonshire" || len(p.Stages) != 5 || p.Stages[0].Within != "2 working days" || p.SafetyNotice == "" {
		t.Fatalf("policy %+v", p)
	}
}

// Writes beyond a token's rate get 429 with Retry-After; reads do not count.
func TestRateLimitOnWrites(t *testing.T) {
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Policies: pols, AdminToken: "test-admin", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		WritesPerMinute: 60, WriteBurst: 3}).Handler()
	send := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-admin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 5; i++ {
		if rec := send("GET", "/v1/policies", ""); rec.Code != 200 {
			t.Fatalf("read %d: %d", i, rec.Code)
		}
	}
	for i := 0; i < 3; i++ {
		// Invalid bodies still count: the limit guards the route, not the outcome.
		if rec := send("POST", "/v1/cases", "{}"); rec.Code != 400 {
			t.Fatalf("write %d: %d", i, rec.Code)
		}
	}
	rec := send("POST", "/v1/cases", "{}")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("fourth write: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	var e errorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != "rate_limited" {
		t.Fatalf("body %s", rec.Body.String())
	}
}
