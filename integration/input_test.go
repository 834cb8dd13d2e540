package integration

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"escalate/api"
	"escalate/workflows"
)

// rawRequest sends request bytes exactly as given (a Go client would
// refuse or re-encode some of them) and returns the status and body.
func (s *system) rawRequest(t *testing.T, request string) (int, []byte) {
	t.Helper()
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// What an attacker from outside sent, each of which once answered 500 or
// broke a case for good, now answers with the contract's error body, and
// nothing is recorded: a NUL in a note (PostgreSQL refused it and the case
// was stuck), a line break in a name (it stopped all mail to that person),
// and invalid UTF-8 or NUL in a path, query, header or cursor.
func TestSecurityHostileInput(t *testing.T) {
	s := startSystem(t)
	raiserTok := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respTok := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiserTok, map[string]any{"policy": "northamptonshire", "child_ref": "HI/1",
		"category": "communication", "summary": "Hostile input",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	events := s.eventCount(t, c.Ref)
	cases := s.caseCount(t)

	refused := func(what string, code int, raw []byte, wantStatus int, wantCode, field string) {
		t.Helper()
		var e errorBody
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Errorf("%s: %d %q is not the error body", what, code, raw)
			return
		}
		if code != wantStatus || e.Error.Code != wantCode || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", what, code, raw, wantStatus, wantCode)
		}
		if field != "" && e.Error.Fields[field] == "" {
			t.Errorf("%s: fields %v do not name %q", what, e.Error.Fields, field)
		}
	}

	// Bodies: a control character in any text field, a line break in a name.
	for _, tc := range []struct {
		what, method, path, token string
		body                      any
		field                     string
	}{
		{"NUL in a note", "POST", "/v1/cases/" + c.Ref + "/notes", respTok, map[string]string{"text": "a\x00b"}, "text"},
		{"ESC in a note", "POST", "/v1/cases/" + c.Ref + "/notes", respTok, map[string]string{"text": "a\x1b[2Jb"}, "text"},
		{"CR in a reason", "POST", "/v1/cases/" + c.Ref + "/escalations", respTok, map[string]string{"reason": "a\rb"}, "reason"},
		{"line break in a contact's name", "POST", "/v1/cases/" + c.Ref + "/contacts", respTok,
			map[string]string{"side": "respondent", "name": "Mo\r\nBcc: all@nct.example", "email": "mo@nct.example", "role": "Team manager"}, "name"},
		{"line break in an action's who", "POST", "/v1/cases/" + c.Ref + "/agreement", respTok,
			map[string]any{"outcome": "o", "actions": []map[string]string{{"what": "w", "who": "Sam\nSocial", "by": "2099-01-01T00:00:00Z"}}}, "actions[0].who"},
		{"line break in a token's name", "POST", "/v1/admin/tokens", adminToken,
			map[string]string{"name": "Eve\nEvil", "email": "eve@x.example", "agency": "nct", "role": "practitioner"}, "name"},
		{"line break in a respondent's name", "POST", "/v1/cases", raiserTok, map[string]any{"policy": "northamptonshire", "child_ref": "HI/2",
			"category": "communication", "summary": "s", "respondent": map[string]string{"name": "Sam\nSocial", "email": "sam@nct.example", "agency": "nct"}}, "respondent.name"},
		{"NUL in a summary", "POST", "/v1/cases", raiserTok, map[string]any{"policy": "northamptonshire", "child_ref": "HI/3",
			"category": "communication", "summary": "s\x00", "respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, "summary"},
	} {
		var e errorBody
		code := s.call(tc.method, tc.path, tc.token, tc.body, &e)
		b, _ := json.Marshal(e)
		refused(tc.what, code, b, http.StatusBadRequest, "invalid_request", tc.field)
	}
	// Invalid UTF-8 in a body.
	bad := "{\"text\":\"a\xffb\"}"
	code, raw := s.rawRequest(t, fmt.Sprintf("POST /v1/cases/%s/notes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", c.Ref, respTok, len(bad), bad))
	refused("invalid UTF-8 in a note", code, raw, http.StatusBadRequest, "invalid_request", "")

	// The case is not stuck: the next note is recorded, and only it.
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", respTok, map[string]string{"text": "Line one\n\tline two"}, nil); code != http.StatusOK {
		t.Fatalf("a clean note after the refusals: %d", code)
	}
	if got := s.eventCount(t, c.Ref); got != events+1 {
		t.Errorf("events %d, want %d: a refused request recorded something", got, events+1)
	}
	if got := s.caseCount(t); got != cases {
		t.Errorf("cases %d, want %d", got, cases)
	}

	// Paths, queries, headers and cursors, as the attacker sent them.
	nulCursor := base64.RawURLEncoding.EncodeToString([]byte("1700000000000000|" + c.Ref + "\x00"))
	for _, tc := range []struct {
		what, request string
		status        int
		code, field   string
	}{
		{"GET /v1/cases/%ff", "GET /v1/cases/%ff HTTP/1.1\r\n", 404, "not_found", ""},
		{"GET /v1/cases/%ff/record", "GET /v1/cases/%ff/record HTTP/1.1\r\n", 404, "not_found", ""},
		{"GET /v1/cases/<0xff>", "GET /v1/cases/\xff HTTP/1.1\r\n", 404, "not_found", ""},
		{"DELETE /v1/admin/tokens/%ff", "DELETE /v1/admin/tokens/%ff HTTP/1.1\r\n", 404, "not_found", ""},
		{"DELETE /v1/admin/tokens/%00", "DELETE /v1/admin/tokens/%00 HTTP/1.1\r\n", 404, "not_found", ""},
		{"GET /v1/cases?policy=%00", "GET /v1/cases?policy=%00 HTTP/1.1\r\n", 400, "invalid_request", "policy"},
		{"GET /v1/cases?agency=%ff", "GET /v1/cases?agency=%ff HTTP/1.1\r\n", 400, "invalid_request", "agency"},
		{"GET /v1/cases?limit=0", "GET /v1/cases?limit=0 HTTP/1.1\r\n", 400, "invalid_request", "limit"},
		{"a cursor with a NUL", "GET /v1/cases?cursor=" + nulCursor + " HTTP/1.1\r\n", 400, "invalid_request", "cursor"},
		{"GET /v1/reports/summary?policy=%ff", "GET /v1/reports/summary?policy=%ff HTTP/1.1\r\n", 400, "invalid_request", "policy"},
		{"Idempotency-Key with 0xff", "POST /v1/cases HTTP/1.1\r\nIdempotency-Key: k\xff\r\n", 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key on a note with 0xff", "POST /v1/cases/" + c.Ref + "/notes HTTP/1.1\r\nIdempotency-Key: \xfe\xff\r\n", 400, "invalid_request", "Idempotency-Key"},
		{"any header with 0xff", "GET /v1/policies HTTP/1.1\r\nX-Note: \xff\r\n", 400, "invalid_request", "X-Note"},
	} {
		body := `{"text":"fine"}`
		req := tc.request + "Host: x\r\nAuthorization: Bearer " + adminToken + "\r\nContent-Type: application/json\r\n" +
			fmt.Sprintf("Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		code, raw := s.rawRequest(t, req)
		refused(tc.what, code, raw, tc.status, tc.code, tc.field)
	}
	// 1-200 holds at both ends.
	var list struct {
		Cases []workflows.Case `json:"cases"`
	}
	if code := s.call("GET", "/v1/cases?limit=200", adminToken, nil, &list); code != http.StatusOK || len(list.Cases) == 0 {
		t.Errorf("limit=200: %d, %d cases", code, len(list.Cases))
	}
	if got := s.eventCount(t, c.Ref); got != events+1 {
		t.Errorf("events %d, want %d after the refusals", got, events+1)
	}
}

// Guessing tokens is limited per client address: wrong bearer tokens (each
// looked up in PostgreSQL) and revoked ones count, and beyond the budget
// every request from that address, a valid token's too, is a 429 with
// Retry-After and the contract's error body, until the budget refills.
// X-Forwarded-For from a client that is not a trusted proxy changes
// nothing.
func TestSecurityFailedAuthenticationsLimited(t *testing.T) {
	s := startSystem(t, func(c *api.Config) { c.AuthFailuresPerMinute, c.AuthFailureBurst = 60, 3 })
	valid := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var made struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if code := s.call("POST", "/v1/admin/tokens", adminToken, map[string]string{"name": "Old Token", "email": "old@nct.example",
		"agency": "nct", "role": "practitioner"}, &made); code != http.StatusCreated {
		t.Fatalf("token: %d", code)
	}
	if code := s.call("DELETE", "/v1/admin/tokens/"+made.ID, adminToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	for i, tok := range []string{"esc_" + strings.Repeat("A", 43), made.Token, "esc_guess"} {
		var e errorBody
		if code := s.call("GET", "/v1/policies", tok, nil, &e); code != http.StatusUnauthorized || e.Error.Code != "unauthenticated" {
			t.Fatalf("failure %d: %d %+v", i, code, e)
		}
	}
	limited := func(what, token string, header ...string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url+"/v1/policies", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e errorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != http.StatusTooManyRequests || e.Error.Code != "rate_limited" || e.Error.Message == "" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d Retry-After %q %+v, want 429 rate_limited", what, resp.StatusCode, resp.Header.Get("Retry-After"), e)
		}
	}
	limited("the fourth wrong token", "esc_"+strings.Repeat("B", 43))
	limited("a valid token from the same address", valid)
	limited("a valid token claiming another address", valid, "X-Forwarded-For", "198.51.100.7", "X-Real-IP", "198.51.100.8")
	time.Sleep(1100 * time.Millisecond) // one failure's worth refills
	if code := s.call("GET", "/v1/policies", valid, nil, nil); code != http.StatusOK {
		t.Fatalf("after the budget refilled, a valid token: %d", code)
	}
}
