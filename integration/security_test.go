package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/testsuite"

	"escalate/api"
	"escalate/policies"
	"escalate/store"
	"escalate/worker"
	"escalate/workflows"
)

func (s *system) caseCount(t *testing.T) int {
	t.Helper()
	cases, _, err := s.store.ListCases(context.Background(), store.Viewer{Role: "admin"}, store.ListFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(cases)
}

func (s *system) eventCount(t *testing.T, ref string) int {
	t.Helper()
	evs, err := s.store.Events(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// ---- the authorization matrix ----

// who is a kind of caller, relative to the case a request is about.
type who int

const (
	noToken who = iota
	badToken
	revokedToken
	expiredToken
	stranger
	otherManager     // a manager of an agency that is not in the case
	caseManager      // a manager of one of the case's two agencies: reads only
	raiser           // who raised the case
	respondent       // the other professional
	contact          // recorded as acting for the respondent's side (a practitioner, not a manager)
	otherPartnership // a partnership person of another policy
	casePartnership  // a partnership person of the case's policy
	admin
	numWho
)

var whoNames = [numWho]string{"no token", "bad token", "revoked token", "expired token", "stranger",
	"other agency's manager", "manager of the case's agency", "raiser", "respondent", "recorded contact",
	"partnership of another policy", "partnership of the case's policy", "admin"}

func (w who) String() string { return whoNames[w] }

// allowed marks a caller the rule lets through: the status is then the
// route's own (its want).
const allowed = 0

// rules are the contract's access rules (../shared/spec/api.md,
// "Authentication and who may do what"): the status each kind of caller
// gets, in the order of who. A case a caller may not read is a 404 (so
// references cannot be probed); one they may read but not act on is a 403.
var rules = map[string][numWho]int{
	//                no    bad  revoked expired stranger otherMgr caseMgr  raiser   resp     contact  otherP caseP    admin
	"authenticated": {401, 401, 401, 401, allowed, allowed, allowed, allowed, allowed, allowed, allowed, allowed, allowed},
	"read case":     {401, 401, 401, 401, 404, 404, allowed, allowed, allowed, allowed, 404, allowed, allowed},
	"act on case":   {401, 401, 401, 401, 404, 404, 403, allowed, allowed, allowed, 404, allowed, allowed},
	"partnership":   {401, 401, 401, 401, 404, 404, 403, 403, 403, 403, 404, allowed, 403},
	"admin":         {401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, 403, allowed},
	"reports":       {401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, allowed, allowed},
	// policy admin: a policy's own settings (its closures): its
	// partnership and admins.
	"policy admin": {401, 401, 401, 401, 403, 403, 403, 403, 403, 403, 403, allowed, allowed},
}

// request is one call of a route.
type request struct {
	path string
	body any
	key  string // Idempotency-Key, if any
	want int    // for an allowed caller: the status the contract gives
	// policy is the case's policy, which says who its partnership is;
	// empty: northamptonshire, the shared case's.
	policy string
}

// route is one row of the matrix: a route as the router registers it, its
// access rule, and the request a caller sends. With ready false the request
// must be on the shared case m.ref, and must change nothing when refused;
// with ready true (an allowed caller) it may first create a case in the
// state the route needs, and says what status to expect.
type route struct {
	route  string
	access string
	send   func(m *matrix, w who, ready bool) request
}

// matrixRoutes: every /v1 route. TestAuthorizationMatrix fails if the
// router has a route that is not here, or this has one the router does not.
var matrixRoutes = []route{
	{"GET /v1/policies", "authenticated", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/policies", want: 200}
	}},
	{"GET /v1/policies/:id", "authenticated", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/policies/northamptonshire", want: 200}
	}},
	{"POST /v1/admin/tokens", "admin", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/admin/tokens", body: map[string]string{"name": "New", "email": fmt.Sprintf("new%d@x.example", m.next()),
			"agency": "x", "role": "admin"}, want: 201}
	}},
	{"GET /v1/admin/tokens", "admin", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/admin/tokens?revoked=true", want: 200}
	}},
	{"DELETE /v1/admin/tokens/:id", "admin", func(m *matrix, w who, ready bool) request {
		id := m.liveTokenID // refused: must stay usable
		if ready {
			id, _ = m.newToken("Throwaway", fmt.Sprintf("tmp%d@x.example", m.next()), "x", "practitioner")
		}
		return request{path: "/v1/admin/tokens/" + id, want: 204}
	}},
	{"GET /v1/admin/webhooks", "admin", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/admin/webhooks", want: 200}
	}},
	{"PUT /v1/admin/webhooks/:agency", "admin", func(m *matrix, w who, ready bool) request {
		agency := m.hookAgency // refused: must keep its URL and secret
		if ready {
			agency = fmt.Sprintf("matrix-new-%d", m.next())
		}
		return request{path: "/v1/admin/webhooks/" + agency, body: map[string]string{"url": "https://attacker.example/hook"}, want: 200}
	}},
	{"DELETE /v1/admin/webhooks/:agency", "admin", func(m *matrix, w who, ready bool) request {
		agency := m.hookAgency
		if ready {
			agency = fmt.Sprintf("matrix-gone-%d", m.next())
			m.do("PUT", "/v1/admin/webhooks/"+agency, adminToken, map[string]string{"url": "https://agency.example/hook"}, 200)
		}
		return request{path: "/v1/admin/webhooks/" + agency, want: 204}
	}},
	{"POST /v1/admin/policies/:policy/closures", "policy admin", func(m *matrix, w who, ready bool) request {
		// A new date each time, weeks ahead: it moves no running stage.
		day := time.Now().AddDate(0, 0, 40+m.next()).Format("2006-01-02")
		return request{path: "/v1/admin/policies/northamptonshire/closures", body: map[string]string{"date": day, "reason": "Closed by " + w.String()}, want: 201}
	}},
	{"GET /v1/admin/policies/:policy/closures", "policy admin", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/admin/policies/northamptonshire/closures", want: 200}
	}},
	{"POST /v1/cases", "authenticated", func(m *matrix, w who, ready bool) request {
		n := m.next()
		return request{path: "/v1/cases", key: fmt.Sprintf("matrix-%d", n), want: 201, body: map[string]any{
			"policy": "northamptonshire", "child_ref": fmt.Sprintf("MX/NEW/%d", n), "category": "communication", "summary": "By " + w.String(),
			"respondent": map[string]string{"name": "Nobody", "email": "nobody@elsewhere.example", "agency": "nct"}}}
	}},
	{"GET /v1/cases", "authenticated", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/cases", want: 200}
	}},
	{"GET /v1/cases/:ref", "read case", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/cases/" + m.ref, want: 200}
	}},
	{"GET /v1/cases/:ref/record", "read case", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/cases/" + m.ref + "/record", want: 200}
	}},
	{"GET /v1/cases/:ref/record.html", "read case", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/cases/" + m.ref + "/record.html", want: 200}
	}},
	{"POST /v1/cases/:ref/notes", "act on case", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/cases/" + m.ref + "/notes", body: map[string]string{"text": "Note by " + w.String()}, want: 200}
	}},
	{"POST /v1/cases/:ref/contacts", "act on case", func(m *matrix, w who, ready bool) request {
		// A party names their own side's contact; the partnership and
		// admins may name either side's.
		side := "raiser"
		if w == respondent || w == contact {
			side = "respondent"
		}
		return request{path: "/v1/cases/" + m.ref + "/contacts", want: 200, body: map[string]string{"side": side, "name": "Line Manager",
			"email": fmt.Sprintf("lm%d@nhft.example", m.next()), "role": "Line manager"}}
	}},
	{"POST /v1/cases/:ref/escalations", "act on case", func(m *matrix, w who, ready bool) request {
		ref := m.ref
		if ready {
			ref = m.newCase("northamptonshire", false)
		}
		return request{path: "/v1/cases/" + ref + "/escalations", body: map[string]string{"reason": "No agreement", "evidence": "Two calls"}, want: 200}
	}},
	{"POST /v1/cases/:ref/deadline", "act on case", func(m *matrix, w who, ready bool) request {
		body := map[string]string{"due_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "reason": "Meeting booked"}
		if ready && m.hasSide(w) {
			return request{path: "/v1/cases/" + m.ref + "/deadline", want: 200, body: body}
		}
		// Deadlines are agreed by both sides: a party of one side proposes;
		// the partnership and admins pass the access rule and meet the
		// procedure's (they cannot agree for a side).
		return request{path: "/v1/cases/" + m.ref + "/deadline", want: 409, body: body}
	}},
	{"POST /v1/cases/:ref/deadline/confirm", "act on case", func(m *matrix, w who, ready bool) request {
		if ready && m.hasSide(w) {
			ref := m.newCase("northamptonshire", false)
			proposer := m.tokens[raiser]
			if w == raiser {
				proposer = m.tokens[respondent] // the other side confirms
			}
			m.do("POST", "/v1/cases/"+ref+"/deadline", proposer, map[string]string{
				"due_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "reason": "Meeting booked"}, 200)
			return request{path: "/v1/cases/" + ref + "/deadline/confirm", body: map[string]any{}, want: 200}
		}
		// Nothing is proposed on the shared case, and the partnership and
		// admins cannot confirm for a side.
		return request{path: "/v1/cases/" + m.ref + "/deadline/confirm", body: map[string]any{}, want: 409}
	}},
	{"POST /v1/cases/:ref/agreement", "act on case", func(m *matrix, w who, ready bool) request {
		body := map[string]any{"outcome": "Assessment to start"}
		if ready && m.hasSide(w) {
			return request{path: "/v1/cases/" + m.newCase("northamptonshire", false) + "/agreement", body: body, want: 200}
		}
		// Only a party on one side proposes: the partnership and admins
		// pass the access rule and meet the procedure's.
		return request{path: "/v1/cases/" + m.ref + "/agreement", body: body, want: 409}
	}},
	{"POST /v1/cases/:ref/agreement/confirm", "act on case", func(m *matrix, w who, ready bool) request {
		if ready && m.hasSide(w) {
			ref := m.newCase("northamptonshire", false)
			proposer := m.tokens[raiser]
			if w == raiser {
				proposer = m.tokens[respondent] // the other side confirms
			}
			m.do("POST", "/v1/cases/"+ref+"/agreement", proposer, map[string]any{"outcome": "Assessment to start"}, 200)
			return request{path: "/v1/cases/" + ref + "/agreement/confirm", body: map[string]any{}, want: 200}
		}
		return request{path: "/v1/cases/" + m.ref + "/agreement/confirm", body: map[string]any{}, want: 409}
	}},
	{"POST /v1/cases/:ref/agreement/reject", "act on case", func(m *matrix, w who, ready bool) request {
		body := map[string]string{"reason": "Not what was agreed"}
		if ready && m.hasSide(w) {
			ref := m.newCase("northamptonshire", false)
			m.do("POST", "/v1/cases/"+ref+"/agreement", m.tokens[raiser], map[string]any{"outcome": "Assessment to start"}, 200)
			return request{path: "/v1/cases/" + ref + "/agreement/reject", body: body, want: 200}
		}
		return request{path: "/v1/cases/" + m.ref + "/agreement/reject", body: body, want: 409}
	}},
	{"POST /v1/cases/:ref/withdrawal", "act on case", func(m *matrix, w who, ready bool) request {
		body := map[string]string{"reason": "Agreed on the phone"}
		if ready && w == raiser {
			return request{path: "/v1/cases/" + m.newCase("northamptonshire", false) + "/withdrawal", body: body, want: 200}
		}
		// Only the raiser's side withdraws.
		return request{path: "/v1/cases/" + m.ref + "/withdrawal", body: body, want: 409}
	}},
	{"POST /v1/cases/:ref/outcome", "partnership", func(m *matrix, w who, ready bool) request {
		ref := m.ref
		if ready {
			ref = m.newCase("northamptonshire", true)
			m.do("POST", "/v1/cases/"+ref+"/escalations", m.tokens[raiser], map[string]any{"reason": "Urgent", "evidence": "Child at risk", "to_stage": 5}, 200)
			// The outcome follows the mediation offered (here declined).
			m.do("POST", "/v1/cases/"+ref+"/meetings", m.tokens[raiser], map[string]any{"at": "2026-12-01T10:00:00Z", "declined": true}, 200)
		}
		return request{path: "/v1/cases/" + ref + "/outcome", body: map[string]any{"resolved": true, "outcome": "Mediated"}, want: 200}
	}},
	{"POST /v1/cases/:ref/review", "partnership", func(m *matrix, w who, ready bool) request {
		ref := m.ref
		if ready {
			// Only Devon's procedure has a review; the caller is Devon's
			// partnership (see token).
			ref = m.newCase("devon", true)
			m.do("POST", "/v1/cases/"+ref+"/escalations", m.tokens[raiser], map[string]any{"reason": "Urgent", "evidence": "Child at risk", "to_stage": 5}, 200)
		}
		return request{path: "/v1/cases/" + ref + "/review", body: map[string]any{"followed": true, "next_steps": "Business Group"}, want: 200, policy: "devon"}
	}},
	{"POST /v1/cases/:ref/meetings", "act on case", func(m *matrix, w who, ready bool) request {
		ref := m.ref
		if ready {
			ref = m.meetingCase()
		}
		return request{path: "/v1/cases/" + ref + "/meetings", body: map[string]any{"at": "2026-12-01T10:00:00Z", "purpose": "Resolution"}, want: 200}
	}},
	{"GET /v1/reports/summary", "reports", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/reports/summary?policy=northamptonshire", want: 200}
	}},
	{"GET /v1/notifications", "reports", func(m *matrix, w who, ready bool) request {
		return request{path: "/v1/notifications?policy=northamptonshire", want: 200}
	}},
}

// matrix is the system under test with its people.
type matrix struct {
	s      *system
	t      *testing.T
	db     *pgx.Conn
	tokens [numWho]string
	// partnership: a partnership person's token by policy.
	partnership map[string]string
	liveTokenID string // a token refused callers try to revoke
	hookAgency  string // a webhook refused callers try to change or remove
	ref         string // the case refused callers try
	meeting     string // a case at a stage that holds meetings
	seq         int
}

func (m *matrix) next() int { m.seq++; return m.seq }

// token is the token of w for a case of policy.
func (m *matrix) token(w who, policy string) string {
	switch w {
	case casePartnership:
		return m.partnership[policy]
	case otherPartnership:
		if policy == "devon" {
			return m.partnership["northamptonshire"]
		}
		return m.partnership["devon"]
	}
	return m.tokens[w]
}

// hasSide: the raiser, the respondent and the contact act for a side.
func (m *matrix) hasSide(w who) bool { return w == raiser || w == respondent || w == contact }

func (m *matrix) newToken(name, email, agency, role string) (id, secret string) {
	m.t.Helper()
	var out struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	m.do("POST", "/v1/admin/tokens", adminToken, map[string]string{"name": name, "email": email, "agency": agency, "role": role}, 201, &out)
	return out.ID, out.Token
}

// do makes a call that must succeed with want.
func (m *matrix) do(method, path, token string, body any, want int, out ...any) {
	m.t.Helper()
	var o any
	if len(out) > 0 {
		o = out[0]
	}
	if got := m.s.call(method, path, token, body, o); got != want {
		m.t.Fatalf("setup: %s %s: %d, want %d", method, path, got, want)
	}
}

// newCase opens a case raised by the raiser against the respondent, with
// the contact recorded for the respondent's side.
func (m *matrix) newCase(policy string, urgent bool) string {
	m.t.Helper()
	category, agency := "communication", "nct"
	if policy == "devon" {
		category, agency = "step-up-down-closure", "devon-csc"
	}
	var c workflows.Case
	m.do("POST", "/v1/cases", m.tokens[raiser], map[string]any{"policy": policy, "child_ref": fmt.Sprintf("MX/%d", m.next()),
		"category": category, "summary": "Matrix", "urgent": urgent,
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": agency}}, 201, &c)
	m.do("POST", "/v1/cases/"+c.Ref+"/contacts", m.tokens[respondent], map[string]string{"side": "respondent", "name": "Mo Lineman",
		"email": "mo@nct.example", "role": "Team manager"}, 200)
	return c.Ref
}

// meetingCase is one urgent case at stage 4, whose stage holds a
// resolution meeting: every party may record one.
func (m *matrix) meetingCase() string {
	if m.meeting == "" {
		m.meeting = m.newCase("northamptonshire", true)
		m.do("POST", "/v1/cases/"+m.meeting+"/escalations", m.tokens[raiser], map[string]any{"reason": "Urgent", "evidence": "Child at risk", "to_stage": 4}, 200)
	}
	return m.meeting
}

// written is what a refused request must leave as it was.
type written struct {
	Events, Cases, CaseVersions, Tokens, Revoked, Keys, Notifications, Webhooks, Numbers int64
	WebhookSum                                                                           string
}

func (m *matrix) written() written {
	m.t.Helper()
	var w written
	err := m.db.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM events),
		(SELECT count(*) FROM cases),
		(SELECT coalesce(sum(version), 0) FROM cases),
		(SELECT count(*) FROM tokens),
		(SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL),
		(SELECT count(*) FROM idempotency_keys),
		(SELECT count(*) FROM notifications),
		(SELECT count(*) FROM webhooks),
		(SELECT coalesce(sum(last_number), 0) FROM case_numbers),
		(SELECT md5(coalesce(string_agg(agency || ' ' || url || ' ' || secret, ',' ORDER BY agency), '')) FROM webhooks)`).
		Scan(&w.Events, &w.Cases, &w.CaseVersions, &w.Tokens, &w.Revoked, &w.Keys, &w.Notifications, &w.Webhooks, &w.Numbers, &w.WebhookSum)
	if err != nil {
		m.t.Fatal(err)
	}
	return w
}

// try sends r as w and checks the status; a refusal (any 4xx) must come
// with an error body and change nothing.
func (m *matrix) try(rt route, w who, policy string, r request, want int) {
	m.t.Helper()
	method := strings.SplitN(rt.route, " ", 2)[0]
	before := m.written()
	var eb errorBody
	var out any = &eb
	if want < 400 {
		out = nil
	}
	got := m.s.callWithHeader(method, r.path, m.token(w, policy), "Idempotency-Key", r.key, r.body, out)
	if got != want {
		m.t.Errorf("%s by %s: %d, want %d", rt.route, w, got, want)
		return
	}
	if want < 400 {
		return
	}
	if eb.Error.Code == "" || eb.Error.Message == "" {
		m.t.Errorf("%s by %s: %d without an error body", rt.route, w, got)
	}
	if after := m.written(); after != before {
		m.t.Errorf("%s by %s was refused (%d) but wrote:\n before %+v\n after  %+v", rt.route, w, got, before, after)
	}
}

// routerRoutes are the /v1 routes the API's router registers.
func routerRoutes(t *testing.T) []string {
	t.Helper()
	pols, err := policies.Load("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	engine, ok := api.New(api.Config{Policies: pols, Log: quietSlog()}).Handler().(*gin.Engine)
	if !ok {
		t.Fatal("the API's handler is no longer a *gin.Engine: find its routes another way")
	}
	var out []string
	for _, r := range engine.Routes() {
		if strings.HasPrefix(r.Path, "/v1/") {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	sort.Strings(out)
	return out
}

// Every /v1 route × every kind of caller: the contract's status for the
// allowed and the refused, and nothing written on any refusal.
func TestAuthorizationMatrix(t *testing.T) {
	// The table covers the router, exactly.
	registered := routerRoutes(t)
	var tabled []string
	for _, r := range matrixRoutes {
		tabled = append(tabled, r.route)
		if _, ok := rules[r.access]; !ok {
			t.Fatalf("%s: no access rule %q", r.route, r.access)
		}
	}
	for _, r := range registered {
		if !slices.Contains(tabled, r) {
			t.Errorf("route %s is not in the authorization matrix: add a row to matrixRoutes", r)
		}
	}
	for _, r := range tabled {
		if !slices.Contains(registered, r) {
			t.Errorf("matrixRoutes has %s, which the router does not register", r)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	s := startSystem(t)
	db, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	m := &matrix{s: s, t: t, db: db, partnership: map[string]string{}}

	// The people. The expiring token is made first so that it has expired
	// by the time it is used.
	var exp struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	m.do("POST", "/v1/admin/tokens", adminToken, map[string]string{"name": "Exp", "email": "exp@nhft.example", "agency": "nhft",
		"role": "admin", "expires_at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)}, 201, &exp)
	m.tokens[expiredToken] = exp.Token
	m.tokens[noToken] = ""
	m.tokens[badToken] = "esc_not-a-token"
	revokedID, revoked := m.newToken("Rev", "rev@nhft.example", "nhft", "admin")
	m.do("DELETE", "/v1/admin/tokens/"+revokedID, adminToken, nil, 204)
	m.tokens[revokedToken] = revoked
	m.liveTokenID, m.tokens[stranger] = m.newToken("Stan Ger", "stan@police.example", "northants-police", "practitioner")
	_, m.tokens[otherManager] = m.newToken("Otto Other", "otto@police.example", "northants-police", "manager")
	_, m.tokens[caseManager] = m.newToken("Rita Reader", "rita@nhft.example", "nhft", "manager")
	_, m.tokens[raiser] = m.newToken("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	_, m.tokens[respondent] = m.newToken("Sam Social", "sam@nct.example", "nct", "practitioner")
	_, m.tokens[contact] = m.newToken("Mo Lineman", "mo@nct.example", "nct", "practitioner")
	_, m.partnership["northamptonshire"] = m.newToken("Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")
	_, m.partnership["devon"] = m.newToken("Dee Von", "dee@devon.example", "devon", "partnership")
	m.tokens[admin] = adminToken
	m.hookAgency = "matrix-agency"
	m.do("PUT", "/v1/admin/webhooks/"+m.hookAgency, adminToken, map[string]string{"url": "https://matrix-agency.example/hook"}, 200)
	m.ref = m.newCase("northamptonshire", false)
	if wait := time.Until(exp.ExpiresAt); wait > 0 {
		time.Sleep(wait + 100*time.Millisecond)
	}

	// Everyone refused, on the shared case: the rule's status, nothing
	// written.
	for _, rt := range matrixRoutes {
		for w := who(0); w < numWho; w++ {
			if status := rules[rt.access][w]; status != allowed {
				m.try(rt, w, "northamptonshire", rt.send(m, w, false), status)
			}
		}
	}
	// Everyone allowed: the route's status, on a case in the state the
	// route needs (a refusal by the procedure, 409, still writes nothing).
	for _, rt := range matrixRoutes {
		for w := who(0); w < numWho; w++ {
			if rules[rt.access][w] != allowed {
				continue
			}
			r := rt.send(m, w, true)
			policy := r.policy
			if policy == "" {
				policy = "northamptonshire"
			}
			m.try(rt, w, policy, r, r.want)
		}
	}

	// Lists hold exactly the cases the caller may read: the shared case for
	// those who may read it, and only cases they may open.
	for w := stranger; w < numWho; w++ {
		var list struct {
			Cases []workflows.Case `json:"cases"`
		}
		tok := m.token(w, "northamptonshire")
		if got := s.call("GET", "/v1/cases?limit=100", tok, nil, &list); got != 200 {
			t.Errorf("list by %s: %d", w, got)
			continue
		}
		sawShared := false
		for _, c := range list.Cases {
			sawShared = sawShared || c.Ref == m.ref
			if got := s.call("GET", "/v1/cases/"+c.Ref, tok, nil, nil); got != 200 {
				t.Errorf("list by %s shows %s, which they may not read (%d)", w, c.Ref, got)
			}
		}
		if mayRead := rules["read case"][w] == allowed; sawShared != mayRead {
			t.Errorf("list by %s: shared case listed %v, may read %v", w, sawShared, mayRead)
		}
	}
}

// ---- idempotency and dependencies ----

// Fifty simultaneous requests with one Idempotency-Key make one case; the
// key with another body is a 409.
func TestConcurrentDuplicateCreates(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire", "child_ref": "DUP/1", "category": "communication", "summary": "Once",
		"respondent": map[string]string{"name": "Sam", "email": "sam@nct.example", "agency": "nct"}}
	var wg sync.WaitGroup
	refs := make([]string, 50)
	codes := make([]int, 50)
	why := make([]string, 50)
	for i := range refs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var c struct {
				workflows.Case
				Error struct {
					Code, Message string
				} `json:"error"`
			}
			codes[i] = s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "dup-key-1", body, &c)
			refs[i], why[i] = c.Ref, c.Error.Code+": "+c.Error.Message
		}(i)
	}
	wg.Wait()
	for i := range refs {
		if codes[i] != 201 || refs[i] != refs[0] {
			t.Fatalf("request %d: %d %q (%s), want 201 %q", i, codes[i], refs[i], why[i], refs[0])
		}
	}
	if n := s.caseCount(t); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}
	evs, _ := s.store.Events(context.Background(), refs[0])
	opened := 0
	for _, e := range evs {
		if e.Type == workflows.EventOpened {
			opened++
		}
	}
	if opened != 1 {
		t.Fatalf("%d case_opened events", opened)
	}
	body["summary"] = "Different"
	var eb errorBody
	if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "dup-key-1", body, &eb); code != 409 || eb.Error.Code != "conflict" {
		t.Fatalf("same key, other body: %d %+v", code, eb)
	}
}

// With PostgreSQL or Temporal down the API answers 503 and does nothing by
// halves; a case whose deadline passes while PostgreSQL is down records it
// once PostgreSQL is back, with no event lost or doubled. A start Temporal
// refuses leaves its Idempotency-Key free; once Temporal is back, a retry
// with the same key makes the case.
func TestDependenciesDown(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "DOWN/1", "category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam", "email": "sam@nct.example", "agency": "nct"}}
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}

	// PostgreSQL down for longer than a stage: the API says 503 and starts
	// nothing; the running case keeps its timers and records when it can.
	s.pg.Down()
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	if code := s.call("GET", "/readyz", "", nil, &ready); code != 503 || ready.Checks["postgres"] != "unavailable" || ready.Checks["temporal"] != "ok" {
		t.Errorf("readyz with PostgreSQL down: %d %v", code, ready.Checks)
	}
	var eb errorBody
	if code := s.call("POST", "/v1/cases", adminToken, body, &eb); code != 503 || eb.Error.Code != "unavailable" {
		t.Errorf("create with PostgreSQL down: %d %+v", code, eb)
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", adminToken, map[string]string{"text": "x"}, &eb); code != 503 {
		t.Errorf("note with PostgreSQL down: %d", code)
	}
	time.Sleep(5 * time.Second)
	s.pg.Up()
	if n := s.workflowCount(t); n != 1 {
		t.Errorf("%d workflows, want 1: nothing may start while PostgreSQL is down", n)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		evs, err := s.store.Events(context.Background(), c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range evs {
			if e.Seq != i+1 {
				t.Fatalf("event %d has seq %d: a gap or a double", i+1, e.Seq)
			}
		}
		var st int
		for _, e := range evs {
			if e.Type == workflows.EventStageEntered {
				st = e.Stage
			}
		}
		if st >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the case did not record its climb after PostgreSQL came back: %d events", len(evs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := s.call("GET", "/readyz", "", nil, nil); code != 200 {
		t.Errorf("readyz after PostgreSQL came back: %d", code)
	}

	// Temporal down: 503 saying nothing was changed, and nothing was: no
	// case row, no Idempotency-Key bound, no reference used.
	db, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	keys := func(key string) (n int) {
		t.Helper()
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE key = $1 AND ref <> ''`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	numbers := func() (n int64) {
		t.Helper()
		if err := db.QueryRow(context.Background(), `SELECT coalesce(sum(last_number), 0) FROM case_numbers`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before, numbered := s.caseCount(t), numbers()
	addr := s.dev.FrontendHostPort()
	if err := s.dev.Stop(); err != nil {
		t.Fatal(err)
	}
	body["child_ref"] = "DOWN/2"
	for _, key := range []string{"while-down", ""} {
		if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", key, body, &eb); code != 503 ||
			eb.Error.Code != "unavailable" || !strings.Contains(eb.Error.Message, "nothing was changed") {
			t.Errorf("create with Temporal down (key %q): %d %+v", key, code, eb)
		}
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/notes", raiser, map[string]string{"text": "x"}, &eb); code != 503 ||
		!strings.Contains(eb.Error.Message, "nothing was changed") {
		t.Errorf("note with Temporal down: %d %+v", code, eb)
	}
	if code := s.call("GET", "/readyz", "", nil, &ready); code != 503 || ready.Checks["temporal"] != "unavailable" {
		t.Errorf("readyz with Temporal down: %d %v", code, ready.Checks)
	}
	if after := s.caseCount(t); after != before {
		t.Errorf("a case row was written without its workflow: %d -> %d", before, after)
	}
	if n := keys("while-down"); n != 0 {
		t.Errorf("the Idempotency-Key of a refused start is bound to a case (%d rows)", n)
	}
	if n := numbers(); n != numbered {
		t.Errorf("case numbers used while Temporal was down: %d -> %d", numbered, n)
	}

	// Temporal back, fresh (the search attributes not yet registered): it
	// refuses the start, and the key is released, not left naming a case
	// that does not exist.
	srv := restartTemporal(t, addr)
	for end := time.Now().Add(60 * time.Second); s.call("GET", "/readyz", "", nil, nil) != 200; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the API did not reach the restarted Temporal")
		}
	}
	if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", "refused", body, &eb); code != 500 {
		t.Errorf("create refused by Temporal: %d %+v", code, eb)
	}
	if n := keys("refused"); n != 0 {
		t.Errorf("the Idempotency-Key of a start Temporal refused is bound to a case (%d rows)", n)
	}
	// Ready again: a retry with each key makes one case.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := worker.EnsureSearchAttributes(ctx, srv.Client(), "default"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"while-down", "refused"} {
		var made, again workflows.Case
		code := 0
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			// The worker reconnects with a backoff: until it does, the
			// start is not confirmed in time (503, same key again).
			if code = s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", key, body, &made); code == 201 {
				break
			}
		}
		if code != 201 || made.Ref == "" {
			t.Fatalf("retry with key %q after Temporal came back: %d", key, code)
		}
		if code := s.callWithHeader("POST", "/v1/cases", raiser, "Idempotency-Key", key, body, &again); code != 201 || again.Ref != made.Ref {
			t.Errorf("repeat with key %q: %d %s, want 201 %s", key, code, again.Ref, made.Ref)
		}
		if n := keys(key); n != 1 {
			t.Errorf("key %q: %d rows", key, n)
		}
	}
	if after := s.caseCount(t); after != before+2 {
		t.Errorf("%d cases after the two retries, want %d", after, before+2)
	}
}

// restartTemporal starts a fresh dev server where the old one listened;
// the system's clients reconnect to it.
func restartTemporal(t *testing.T, addr string) *testsuite.DevServer {
	t.Helper()
	return restartTemporalFrom(t, addr, "")
}

func (s *system) workflowCount(t *testing.T) int {
	t.Helper()
	resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.GetExecutions())
}
