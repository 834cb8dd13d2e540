package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

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
	agreement := `{"outcome":"o","actions":[{"what":"w","who":"x","by":"2026-12-01T17:00:00Z"}]}`
	cases := []struct {
		name, method, path, auth, body string
		status                         int
		code, field                    string
		// why, when set, is the exact reason given for field.
		why string
	}{
		{"no token", "POST", "/v1/cases", "", valid, 401, "unauthenticated", "", ""},
		{"not bearer", "POST", "/v1/cases", "Basic abc", valid, 401, "unauthenticated", "", ""},
		{"malformed JSON", "POST", "/v1/cases", "Bearer test-admin", `{"policy":`, 400, "invalid_request", "", ""},
		{"empty body", "POST", "/v1/cases", "Bearer test-admin", ``, 400, "invalid_request", "", ""},
		{"not an object", "POST", "/v1/cases", "Bearer test-admin", `[1,2]`, 400, "invalid_request", "", ""},
		{"unknown field", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"dob":"2020-01-01","summary"`, 1), 400, "invalid_request", "dob", "unknown field"},
		{"unknown nested field", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"agency":"nct"`, `"agency":"nct","dob":"2020-01-01"`, 1), 400, "invalid_request", "respondent.dob", "unknown field"},
		{"field name in another case", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"Summary"`, 1), 400, "invalid_request", "Summary", "unknown field"},
		{"wrong type in a nested object", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"name":"Sam"`, `"name":5`, 1), 400, "invalid_request", "respondent.name", "must be a string"},
		{"nested object not an object", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `{"name":"Sam","email":"sam@nct.example","agency":"nct"}`, `"Sam"`, 1), 400, "invalid_request", "respondent", "must be an object"},
		{"trailing text", "POST", "/v1/cases", "Bearer test-admin", valid + ` trailing`, 400, "invalid_request", "", ""},
		{"two objects", "POST", "/v1/cases", "Bearer test-admin", valid + valid, 400, "invalid_request", "", ""},
		{"trailing bracket", "POST", "/v1/cases", "Bearer test-admin", valid + `]`, 400, "invalid_request", "", ""},
		{"null body", "POST", "/v1/cases", "Bearer test-admin", `null`, 400, "invalid_request", "", ""},
		{"array: wrong type in an element", "POST", "/v1/cases/X-1/agreement", "Bearer test-admin", strings.Replace(agreement, `"by":"2026-12-01T17:00:00Z"`, `"by":5`, 1), 400, "invalid_request", "actions[0].by", "must be a string"},
		{"array: unknown field in an element", "POST", "/v1/cases/X-1/agreement", "Bearer test-admin", strings.Replace(agreement, `"who":"x"`, `"who":"x","when":"now"`, 1), 400, "invalid_request", "actions[0].when", "unknown field"},
		{"array: missing field in the second element", "POST", "/v1/cases/X-1/agreement", "Bearer test-admin", strings.Replace(agreement, `]`, `,{"what":"w2","by":"2026-12-01T17:00:00Z"}]`, 1), 400, "invalid_request", "actions[1].who", "required"},
		{"array: not an array", "POST", "/v1/cases/X-1/agreement", "Bearer test-admin", `{"outcome":"o","actions":{"what":"w"}}`, 400, "invalid_request", "actions", "must be an array"},
		{"number not whole", "POST", "/v1/cases/X-1/escalations", "Bearer test-admin", `{"reason":"r","to_stage":2.5}`, 400, "invalid_request", "to_stage", "must be a whole number in range"},
		{"number as a string", "POST", "/v1/cases/X-1/escalations", "Bearer test-admin", `{"reason":"r","to_stage":"2"}`, 400, "invalid_request", "to_stage", "must be a whole number"},
		{"bool as a string", "POST", "/v1/cases/X-1/outcome", "Bearer test-admin", `{"resolved":"yes","outcome":"o"}`, 400, "invalid_request", "resolved", "must be true or false"},
		{"wrong type", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"child_ref":"NCT/1"`, `"child_ref":12`, 1), 400, "invalid_request", "child_ref", ""},
		{"missing field", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary":"s",`, ``, 1), 400, "invalid_request", "summary", ""},
		{"blank summary", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary":"s"`, `"summary":"   "`, 1), 400, "invalid_request", "summary", ""},
		{"child_ref with a name", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `NCT/1`, `Jane Doe`, 1), 400, "invalid_request", "child_ref", ""},
		{"child_ref too long", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `NCT/1`, strings.Repeat("A", 65), 1), 400, "invalid_request", "child_ref", ""},
		{"bad respondent email", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `sam@nct.example`, `sam`, 1), 400, "invalid_request", "respondent.email", ""},
		{"unknown policy", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"northamptonshire"`, `"atlantis"`, 1), 400, "invalid_request", "policy", ""},
		{"unknown category", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `communication`, `weather`, 1), 400, "invalid_request", "category", ""},
		// Contract v1.1, "Categories": "a case with [the category other]
		// needs category_detail (1-200 characters)": missing, it breaks the
		// procedure's rule (422); malformed, or given to a category that
		// takes none, it is a bad value (400).
		{"other without category_detail", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"communication"`, `"other"`, 1), 422, "rule_violation", "category_detail", "required for category other"},
		{"other with a blank category_detail", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"communication"`, `"other","category_detail":"   "`, 1), 422, "rule_violation", "category_detail", ""},
		{"category_detail too long", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"communication"`, `"other","category_detail":"`+strings.Repeat("é", 201)+`"`, 1), 400, "invalid_request", "category_detail", "category_detail has 201 characters; write at most 200"},
		{"category_detail on two lines", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"communication"`, `"other","category_detail":"a\nb"`, 1), 400, "invalid_request", "category_detail", ""},
		{"category_detail for a listed category", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"communication"`, `"communication","category_detail":"more"`, 1), 400, "invalid_request", "category_detail", `category "communication" takes no category_detail; only "other" does`},
		{"category_detail not a string", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"communication"`, `"other","category_detail":5`, 1), 400, "invalid_request", "category_detail", "must be a string"},
		// The raiser may name their line manager for stage 2: never
		// themselves or the respondent (422), a real address (400).
		{"line manager is the raiser", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"raiser_line_manager":{"name":"Me","email":"ADMIN@escalate.invalid"},"summary"`, 1), 422, "rule_violation", "raiser_line_manager.email", "must not be your own"},
		{"line manager is the respondent", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"raiser_line_manager":{"name":"Sam","email":"Sam@nct.example"},"summary"`, 1), 422, "rule_violation", "raiser_line_manager.email", "must not be the respondent's"},
		{"line manager without an email", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"raiser_line_manager":{"name":"Lena"},"summary"`, 1), 400, "invalid_request", "raiser_line_manager.email", ""},
		{"line manager name on two lines", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"raiser_line_manager":{"name":"Le\nna","email":"lena@nhft.example"},"summary"`, 1), 400, "invalid_request", "raiser_line_manager.name", ""},
		{"bad due_at", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"due_at":"tomorrow","summary"`, 1), 400, "invalid_request", "due_at", ""},
		{"due_at in the past", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"due_at":"2020-01-01T17:00:00Z","summary"`, 1), 400, "invalid_request", "due_at", ""},
		{"due_at beyond the maximum", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary"`, `"due_at":"2099-01-01T17:00:00Z","summary"`, 1), 422, "rule_violation", "due_at", ""},
		{"body over 64 KiB", "POST", "/v1/cases", "Bearer test-admin", strings.Replace(valid, `"summary":"s"`, `"summary":"`+strings.Repeat("x", 70000)+`"`, 1), 400, "invalid_request", "", ""},
		{"token role", "POST", "/v1/admin/tokens", "Bearer test-admin", `{"name":"A","email":"a@b.example","agency":"x","role":"king"}`, 400, "invalid_request", "role", ""},
		{"partnership token needs a policy id", "POST", "/v1/admin/tokens", "Bearer test-admin", `{"name":"A","email":"a@b.example","agency":"x","role":"partnership"}`, 400, "invalid_request", "agency", ""},
		{"list: bad status", "GET", "/v1/cases?status=lost", "Bearer test-admin", ``, 400, "invalid_request", "status", ""},
		{"list: limit out of range", "GET", "/v1/cases?limit=1000", "Bearer test-admin", ``, 400, "invalid_request", "limit", "at most 200"},
		{"list: limit not a number", "GET", "/v1/cases?limit=abc", "Bearer test-admin", ``, 400, "invalid_request", "limit", "must be a whole number"},
		{"list: stage not a number", "GET", "/v1/cases?stage=abc", "Bearer test-admin", ``, 400, "invalid_request", "stage", "must be a whole number"},
		{"list: stage too large for a number", "GET", "/v1/cases?stage=99999999999999999999", "Bearer test-admin", ``, 400, "invalid_request", "stage", "must be a whole number"},
		{"list: stage out of range", "GET", "/v1/cases?stage=100", "Bearer test-admin", ``, 400, "invalid_request", "stage", "at most 99"},
		{"list: overdue not a bool", "GET", "/v1/cases?overdue=maybe", "Bearer test-admin", ``, 400, "invalid_request", "overdue", "must be true or false"},
		{"list: overdue given twice", "GET", "/v1/cases?overdue=true&overdue=false", "Bearer test-admin", ``, 400, "invalid_request", "overdue", "give it at most once"},
		{"list: bad cursor", "GET", "/v1/cases?cursor=zzz", "Bearer test-admin", ``, 400, "invalid_request", "cursor", ""},
		{"unknown route", "GET", "/v1/nothing", "Bearer test-admin", ``, 404, "not_found", "", ""},
		{"unknown policy id", "GET", "/v1/policies/atlantis", "Bearer test-admin", ``, 404, "not_found", "", ""},
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
			if tc.field != "" && len(e.Error.Fields) != 1 {
				t.Fatalf("fields %v: want only %q", e.Error.Fields, tc.field)
			}
			if tc.why != "" && e.Error.Fields[tc.field] != tc.why {
				t.Fatalf("%s: %q, want %q", tc.field, e.Error.Fields[tc.field], tc.why)
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

// One JSON object, with only whitespace after it, decodes; the fields
// arrive as sent.
func TestDecodeOneObject(t *testing.T) {
	for _, body := range []string{
		`{"text":"a note"}`,
		" \n{\"text\":\"a note\"}\n\t ",
	} {
		var req noteRequest
		if err := decodeJSON(strings.NewReader(body), &req); err != nil || req.Text != "a note" {
			t.Errorf("%q: %v %+v", body, err, req)
		}
	}
	for _, body := range []string{`{"text":"a"}{"text":"b"}`, `{"text":"a"} x`, `{"text":"a"},`, `{"text":"a"}}`} {
		var req noteRequest
		err := decodeJSON(strings.NewReader(body), &req)
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code != "invalid_request" || !strings.Contains(ae.Message, "nothing after it") {
			t.Errorf("%q: %v, want a refusal of the trailing data", body, err)
		}
	}
}

func corsHandler(t *testing.T, origins ...string) http.Handler {
	t.Helper()
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Policies: pols, AdminToken: "test-admin", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		CORSOrigins: origins}).Handler()
}

func preflight(h http.Handler, origin, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodOptions, path, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, idempotency-key")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func accessControl(h http.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out = append(out, k)
		}
	}
	return out
}

// Without CORS_ORIGINS nothing about CORS is sent and OPTIONS is not
// answered specially.
func TestCORSOffByDefault(t *testing.T) {
	h := corsHandler(t)
	rec := preflight(h, "https://portal.example.org", "/v1/cases")
	if rec.Code != http.StatusNotFound || len(accessControl(rec.Header())) != 0 || rec.Header().Get("Vary") != "" {
		t.Fatalf("preflight with CORS off: %d %v", rec.Code, rec.Header())
	}
	req := httptest.NewRequest("GET", "/v1/policies", nil)
	req.Header.Set("Origin", "https://portal.example.org")
	req.Header.Set("Authorization", "Bearer test-admin")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || len(accessControl(rec.Header())) != 0 || rec.Header().Get("Vary") != "" {
		t.Fatalf("GET with CORS off: %d %v", rec.Code, rec.Header())
	}
}

// With CORS_ORIGINS, exactly the listed origins get CORS headers: a
// preflight answer naming the methods and headers the API takes, and
// readable responses (errors included); every response varies by Origin.
func TestCORSAllowList(t *testing.T) {
	origins, err := ParseOrigins(" https://Portal.Example.org , http://localhost:5173")
	if err != nil {
		t.Fatal(err)
	}
	h := corsHandler(t, origins...)
	rec := preflight(h, "https://portal.example.org", "/v1/cases")
	hd := rec.Header()
	if rec.Code != http.StatusNoContent || hd.Get("Access-Control-Allow-Origin") != "https://portal.example.org" {
		t.Fatalf("preflight: %d %v", rec.Code, hd)
	}
	for _, want := range []string{"Authorization", "Content-Type", "Idempotency-Key"} {
		if !strings.Contains(hd.Get("Access-Control-Allow-Headers"), want) {
			t.Errorf("Allow-Headers %q lacks %s", hd.Get("Access-Control-Allow-Headers"), want)
		}
	}
	for _, want := range []string{"GET", "POST", "PUT", "DELETE"} {
		if !strings.Contains(hd.Get("Access-Control-Allow-Methods"), want) {
			t.Errorf("Allow-Methods %q lacks %s", hd.Get("Access-Control-Allow-Methods"), want)
		}
	}
	if !slices.Contains(hd.Values("Vary"), "Origin") || hd.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight headers %v", hd)
	}
	// Another origin, a look-alike, or the right host on another scheme: no
	// CORS headers, and the preflight is not answered.
	for _, o := range []string{"https://evil.example", "https://portal.example.org.evil.example", "http://portal.example.org", "null"} {
		rec := preflight(h, o, "/v1/cases")
		if rec.Code == http.StatusNoContent || len(accessControl(rec.Header())) != 0 || !slices.Contains(rec.Header().Values("Vary"), "Origin") {
			t.Errorf("preflight from %s: %d %v", o, rec.Code, rec.Header())
		}
	}
	// A real request from an allowed origin, refused: the page can read why.
	req := httptest.NewRequest("GET", "/v1/policies", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	hd = rec.Header()
	if rec.Code != 401 || hd.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		!strings.Contains(hd.Get("Access-Control-Expose-Headers"), "X-Request-ID") || !slices.Contains(hd.Values("Vary"), "Origin") {
		t.Fatalf("GET from an allowed origin: %d %v", rec.Code, hd)
	}
	// No Origin at all (not a browser): no CORS headers, still Vary.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if len(accessControl(rec.Header())) != 0 || !slices.Contains(rec.Header().Values("Vary"), "Origin") {
		t.Fatalf("GET without Origin: %v", rec.Header())
	}
}

func TestParseOrigins(t *testing.T) {
	if got, err := ParseOrigins(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	got, err := ParseOrigins("https://A.example, http://localhost:8080,")
	if err != nil || strings.Join(got, " ") != "https://a.example http://localhost:8080" {
		t.Fatalf("list: %v %v", got, err)
	}
	for _, bad := range []string{"*", "https://a.example/", "https://a.example/app", "a.example", "ftp://a.example",
		"https://user@a.example", "https://a.example?x=1", "https://", "https://a.example, *"} {
		if _, err := ParseOrigins(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// downTemporal is a Temporal client whose health check fails; any other
// call panics (the embedded interface is nil), failing the test.
type downTemporal struct{ client.Client }

func (downTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return nil, serviceerror.NewUnavailable("connection refused")
}

// With Temporal down, starting a case is refused before anything is
// written: the server has no database here, so a write would panic (500).
func TestCreateWithTemporalDownWritesNothing(t *testing.T) {
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Policies: pols, Temporal: downTemporal{}, AdminToken: "test-admin",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	body := `{"policy":"northamptonshire","child_ref":"NCT/1","category":"communication","summary":"s",` +
		`"respondent":{"name":"Sam","email":"sam@nct.example","agency":"nct"}}`
	for _, key := range []string{"", "key-1"} {
		req := httptest.NewRequest("POST", "/v1/cases", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-admin")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e errorResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != 503 || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "nothing was changed") ||
			rec.Header().Get("Retry-After") == "" {
			t.Fatalf("key %q: %d %s", key, rec.Code, rec.Body.String())
		}
	}
}

// A wait for Temporal that ends without an answer never claims that nothing
// was changed; a refusal Temporal gives before accepting does not count as
// one.
func TestTimeoutsDoNotClaimNothingChanged(t *testing.T) {
	s := New(Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := func(method string) *gin.Context {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(method, "/v1/cases", nil)
		return c
	}
	timeouts := []error{
		client.NewWorkflowUpdateServiceTimeoutOrCanceledError(serviceerror.NewDeadlineExceeded("context deadline exceeded")),
		fmt.Errorf("start: %w", context.DeadlineExceeded),
		serviceerror.NewDeadlineExceeded("deadline"),
	}
	for _, err := range timeouts {
		if notAccepted(err) || !timedOut(err) {
			t.Errorf("%v: timedOut %v notAccepted %v", err, timedOut(err), notAccepted(err))
		}
		if e := s.classify(ctx("POST"), err); e.Status != 503 || strings.Contains(e.Message, "nothing was changed") {
			t.Errorf("POST %v: %d %q", err, e.Status, e.Message)
		}
		if e := s.classify(ctx("GET"), err); e.Status != 503 {
			t.Errorf("GET %v: %d %q", err, e.Status, e.Message)
		}
		for _, key := range []string{"", "k"} {
			e := s.classify(ctx("POST"), s.cases.StartFailed(ctx("POST").Request.Context(), err, "a@b.example", key, "NSCP-2026-00042", false))
			if e.Status != 503 || e.Code != "unavailable" || strings.Contains(e.Message, "nothing was changed") ||
				!strings.Contains(e.Message, "NSCP-2026-00042") {
				t.Errorf("start timed out (key %q): %d %q", key, e.Status, e.Message)
			}
			if key != "" && !strings.Contains(e.Message, "same Idempotency-Key") {
				t.Errorf("start timed out with a key: %q does not say to repeat it with the same key", e.Message)
			}
		}
	}
	refused := fmt.Errorf("failed workflow start: %w", serviceerror.NewInvalidArgument("search attribute EscalatePolicy is not defined"))
	if !notAccepted(refused) || timedOut(refused) {
		t.Errorf("%v: not a refusal", refused)
	}
	if notAccepted(serviceerror.NewUnavailable("x")) {
		t.Error("Unavailable after sending counts as a refusal")
	}
}
