package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"escalate/internal/testdb"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// closureTemporal is a Temporal client that is healthy and keeps the
// signals sent; any other call panics (the embedded interface is nil).
type closureTemporal struct {
	client.Client
	mu      sync.Mutex
	signals []sentSignal
	down    bool
	refuse  map[string]error // ref -> error SignalWorkflow answers
}

type sentSignal struct {
	ref, name string
	in        workflows.ClosureInput
}

func (f *closureTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	if f.down {
		return nil, serviceerror.NewUnavailable("connection refused")
	}
	return &client.CheckHealthResponse{}, nil
}

func (f *closureTemporal) SignalWorkflow(_ context.Context, ref, runID, name string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.refuse[ref]; err != nil {
		return err
	}
	f.signals = append(f.signals, sentSignal{ref: ref, name: name, in: arg.(workflows.ClosureInput)})
	return nil
}

func (f *closureTemporal) sent() []sentSignal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.signals)
}

type plainRenderer struct{}

func (plainRenderer) Mail(ev workflows.Event, r workflows.Recipient) store.Mail {
	return store.Mail{Subject: ev.Type, Text: "t", HTML: "<p>t</p>"}
}
func (plainRenderer) Webhook(ev workflows.Event, agency string) ([]byte, error) {
	return []byte(`{}`), nil
}

// closureFixture is the API on a fresh PostgreSQL database, with a fake
// Temporal, a fixed clock, and a token per kind of person.
type closureFixture struct {
	t        *testing.T
	srv      *Server
	st       *store.Store
	temporal *closureTemporal
	tokens   map[string]string // who -> bearer secret
	dsn      string            // the database, as its owner
}

func newClosureFixture(t *testing.T, now time.Time) *closureFixture {
	t.Helper()
	return newClosureFixtureTimeout(t, now, 0)
}

// newClosureFixtureTimeout is the fixture with every store call bounded by
// timeout (0: the store's default).
func newClosureFixtureTimeout(t *testing.T, now time.Time, timeout time.Duration) *closureFixture {
	t.Helper()
	dsn := testdb.Fresh(t, "escalate_api")
	ctx := context.Background()
	app, err := store.AppURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.ParseRecordKeys("6c6f6e672d656e6f7567682d746573742d6b65792d666f722d7468652d7265636f7264")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, app, store.Options{Keys: keys, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	tc := &closureTemporal{refuse: map[string]error{}}
	srv := New(Config{Store: st, Temporal: tc, Policies: pols, AdminToken: "test-admin", Log: quietLog()})
	srv.now = func() time.Time { return now }
	f := &closureFixture{t: t, srv: srv, st: st, temporal: tc, dsn: dsn, tokens: map[string]string{"admin": "test-admin"}}
	for _, p := range []struct{ who, agency, role string }{
		{"nscp", "northamptonshire", RolePartnership},
		{"devon", "devon", RolePartnership},
		{"practitioner", "northamptonshire", RolePractitioner},
		{"manager", "nct", RoleManager},
		{"stranger", "school", RolePractitioner},
	} {
		secret := "secret-" + p.who
		sum := sha256.Sum256([]byte(secret))
		if _, err := st.CreateToken(ctx, store.Token{ID: "tok_" + p.who, Name: "Person " + p.who, Email: p.who + "@example.org",
			Agency: p.agency, Role: p.role, CreatedBy: "bootstrap"}, sum[:]); err != nil {
			t.Fatal(err)
		}
		f.tokens[p.who] = secret
	}
	return f
}

// do sends a request as who ("" for no token) and returns the status and
// the body.
func (f *closureFixture) do(who, method, path, body string) (int, string) {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[who])
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (f *closureFixture) dates(policy string) []string {
	f.t.Helper()
	cs, err := f.st.Closures(context.Background(), policy, "")
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Date)
	}
	return out
}

// openCase records a case of policy with the given status.
func (f *closureFixture) openCase(ref, policy, status string) {
	f.t.Helper()
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	c := workflows.Case{Ref: ref, Policy: policy, Status: status, ChildRef: "A1", Category: "communication", CreatedAt: at,
		Stage:  workflows.StageState{Number: 1, Name: "One", StartedAt: at, DueAt: at.Add(48 * time.Hour)},
		Raiser: workflows.Party{Name: "Hana", Email: "hana@nhft.example", Agency: "nhft"}, Respondent: workflows.Party{Name: "Sam", Email: "sam@nct.example", Agency: "nct"},
		Contacts: []workflows.Contact{}, Version: 1}
	if c.Closed() {
		c.ClosedAt = &at
	}
	in := workflows.RecordEventsInput{Ref: ref, RunID: "run-1", Case: c, Timezone: "Europe/London",
		Events: []workflows.Event{{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "raised"}}}
	if _, err := f.st.RecordEvents(context.Background(), in, plainRenderer{}); err != nil {
		f.t.Fatal(err)
	}
}

const closuresPath = "/v1/admin/policies/northamptonshire/closures"

// Only an admin or a partnership person of the policy records or lists its
// closures: no token is 401; a practitioner, a manager and a partnership
// person of another policy are 403 whatever the policy; an unknown policy
// is 404 to an admin. A refused request records and sends nothing.
func TestClosureRouteAccess(t *testing.T) {
	f := newClosureFixture(t, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	f.openCase("NSCP-2026-00001", "northamptonshire", workflows.StatusOpen)
	body := `{"date":"2027-05-10","reason":"State occasion"}`
	for _, tc := range []struct {
		who, method, path string
		want              int
	}{
		{"", "POST", closuresPath, 401},
		{"", "GET", closuresPath, 401},
		{"practitioner", "POST", closuresPath, 403},
		{"practitioner", "GET", closuresPath, 403},
		{"manager", "POST", closuresPath, 403},
		{"stranger", "POST", closuresPath, 403},
		{"stranger", "GET", closuresPath, 403},
		{"practitioner", "POST", "/v1/admin/policies/devon/closures", 403},
		{"devon", "POST", closuresPath, 403},
		{"devon", "GET", closuresPath, 403},
		{"devon", "POST", "/v1/admin/policies/no-such-policy/closures", 403},
		{"admin", "POST", "/v1/admin/policies/no-such-policy/closures", 404},
		{"admin", "GET", "/v1/admin/policies/no-such-policy/closures", 404},
	} {
		if got, resp := f.do(tc.who, tc.method, tc.path, body); got != tc.want {
			t.Errorf("%s %s %s: %d %s, want %d", tc.who, tc.method, tc.path, got, resp, tc.want)
		}
	}
	if got := f.dates("northamptonshire"); len(got) != 0 {
		t.Fatalf("refused requests recorded %v", got)
	}
	if s := f.temporal.sent(); len(s) != 0 {
		t.Fatalf("refused requests sent %v", s)
	}
	// The partnership of the policy and an admin may.
	if got, resp := f.do("nscp", "POST", closuresPath, body); got != 201 {
		t.Fatalf("partnership: %d %s", got, resp)
	}
	if got, resp := f.do("admin", "POST", closuresPath, `{"date":"2027-05-11","reason":"Second day"}`); got != 201 {
		t.Fatalf("admin: %d %s", got, resp)
	}
	for _, who := range []string{"nscp", "admin"} {
		got, resp := f.do(who, "GET", closuresPath, "")
		var list struct {
			Closures []closureInfo `json:"closures"`
		}
		if err := json.Unmarshal([]byte(resp), &list); err != nil || got != 200 || len(list.Closures) != 2 ||
			list.Closures[0].Date != "2027-05-10" || list.Closures[0].RecordedBy != "Person nscp" || list.Closures[1].Reason != "Second day" {
			t.Errorf("%s lists: %d %s", who, got, resp)
		}
	}
}

// A date that is not one, in the past (in the policy's time zone), or more
// than two years ahead is 400 naming date; a missing, blank or overlong
// reason is 400 naming reason. Nothing is recorded.
func TestClosureRefusals(t *testing.T) {
	// 00:30 on Thu 3 Dec 2026 in London (GMT).
	f := newClosureFixture(t, time.Date(2026, 12, 3, 0, 30, 0, 0, time.UTC))
	for _, tc := range []struct {
		body, field string
	}{
		{`{"date":"2026-12-02","reason":"r"}`, "date"}, // yesterday
		{`{"date":"2020-05-08","reason":"r"}`, "date"},
		{`{"date":"2028-12-04","reason":"r"}`, "date"}, // two years and a day
		{`{"date":"2099-01-01","reason":"r"}`, "date"},
		{`{"date":"2027-02-30","reason":"r"}`, "date"},
		{`{"date":"2027-5-10","reason":"r"}`, "date"},
		{`{"date":"10/05/2027","reason":"r"}`, "date"},
		{`{"date":"2027-05-10T00:00:00Z","reason":"r"}`, "date"},
		{`{"date":" 2027-05-10","reason":"r"}`, "date"},
		{`{"date":"","reason":"r"}`, "date"},
		{`{"reason":"r"}`, "date"},
		{`{"date":20270510,"reason":"r"}`, "date"},
		{`{"date":"2027-05-10"}`, "reason"},
		{`{"date":"2027-05-10","reason":"   "}`, "reason"},
		{`{"date":"2027-05-10","reason":"` + strings.Repeat("x", 501) + `"}`, "reason"},
		{`{"date":"2027-05-10","reason":"a\u0000b"}`, "reason"},
		{`{"date":"2027-05-10","reason":"r","policy":"devon"}`, "policy"},
		{`{"date":"2027-05-10","reason":"a\u001b[31mb"}`, "reason"}, // a terminal escape
		{`{"date":"2027-05-10","reason":"a\u0085b"}`, "reason"},     // a C1 control
		{`{"date":"2027-05-10\u0000","reason":"r"}`, "date"},
		{`{"date":"2027-05-10\n","reason":"r"}`, "date"},
	} {
		got, resp := f.do("admin", "POST", closuresPath, tc.body)
		var e errorResponse
		_ = json.Unmarshal([]byte(resp), &e)
		if got != 400 || e.Error.Code != "invalid_request" || e.Error.Fields[tc.field] == "" {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.body, got, resp, tc.field)
		}
	}
	// Bodies refused whole: invalid UTF-8 (which encoding/json would
	// quietly turn into U+FFFD), half a surrogate pair, and a body far over
	// the limit (a huge reason).
	for name, body := range map[string]string{
		"invalid UTF-8":  "{\"date\":\"2027-05-10\",\"reason\":\"a\xffb\"}",
		"half a pair":    `{"date":"2027-05-10","reason":"a\ud800b"}`,
		"a 1 MiB reason": `{"date":"2027-05-10","reason":"` + strings.Repeat("x", 1<<20) + `"}`,
	} {
		got, resp := f.do("admin", "POST", closuresPath, body)
		var e errorResponse
		_ = json.Unmarshal([]byte(resp), &e)
		if got != 400 || e.Error.Code != "invalid_request" {
			t.Errorf("%s: %d %.200s, want 400", name, got, resp)
		}
	}
	if got := f.dates("northamptonshire"); len(got) != 0 {
		t.Fatalf("refused requests recorded %v", got)
	}
	// Today and exactly two years ahead are accepted.
	for _, d := range []string{"2026-12-03", "2028-12-03"} {
		if got, resp := f.do("admin", "POST", closuresPath, `{"date":"`+d+`","reason":"r"}`); got != 201 {
			t.Errorf("%s: %d %s", d, got, resp)
		}
	}
}

// "Today" is the policy's: at 23:30 UTC on 30 June it is already 1 July in
// London (BST), so 30 June is in the past.
func TestClosureTodayIsThePolicys(t *testing.T) {
	f := newClosureFixture(t, time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC))
	if got, resp := f.do("admin", "POST", closuresPath, `{"date":"2026-06-30","reason":"r"}`); got != 400 || !strings.Contains(resp, "2026-07-01") {
		t.Errorf("30 June: %d %s", got, resp)
	}
	if got, resp := f.do("admin", "POST", closuresPath, `{"date":"2026-07-01","reason":"r"}`); got != 201 {
		t.Errorf("1 July: %d %s", got, resp)
	}
}

// A closure is sent to every open case of its policy and no other; sent
// again, it is recorded once (the first reason stands) and sent again; a
// case Temporal refuses is listed as not sent, one whose workflow has gone
// is skipped.
func TestClosureSentToOpenCases(t *testing.T) {
	f := newClosureFixture(t, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	f.openCase("NSCP-2026-00001", "northamptonshire", workflows.StatusOpen)
	f.openCase("NSCP-2026-00002", "northamptonshire", workflows.StatusWithdrawn)
	f.openCase("NSCP-2026-00003", "northamptonshire", workflows.StatusAgreementProposed)
	f.openCase("DSCP-2026-00001", "devon", workflows.StatusOpen)
	got, resp := f.do("nscp", "POST", closuresPath, `{"date":"2027-05-10","reason":" State occasion "}`)
	var added addClosureResponse
	if err := json.Unmarshal([]byte(resp), &added); err != nil || got != 201 {
		t.Fatalf("%d %s", got, resp)
	}
	if !added.Created || added.Date != "2027-05-10" || added.Reason != "State occasion" || added.Policy != "northamptonshire" ||
		!slices.Equal(added.SentTo, []string{"NSCP-2026-00001", "NSCP-2026-00003"}) || len(added.NotSent) != 0 {
		t.Errorf("answer: %+v", added)
	}
	sent := f.temporal.sent()
	if len(sent) != 2 {
		t.Fatalf("sent %v", sent)
	}
	for _, s := range sent {
		if s.name != workflows.SignalClosure || s.in.Date != "2027-05-10" || s.in.Reason != "State occasion" ||
			s.in.By.Name != "Person nscp" || s.in.By.Email != "nscp@example.org" {
			t.Errorf("signal %+v", s)
		}
	}

	f.temporal.refuse["NSCP-2026-00001"] = serviceerror.NewUnavailable("busy")
	f.temporal.refuse["NSCP-2026-00003"] = serviceerror.NewNotFound("workflow not found")
	got, resp = f.do("admin", "POST", closuresPath, `{"date":"2027-05-10","reason":"Another reason"}`)
	added = addClosureResponse{}
	if err := json.Unmarshal([]byte(resp), &added); err != nil || got != 200 {
		t.Fatalf("again: %d %s", got, resp)
	}
	if added.Created || added.Reason != "State occasion" || added.RecordedBy != "Person nscp" ||
		len(added.SentTo) != 0 || !slices.Equal(added.NotSent, []string{"NSCP-2026-00001"}) {
		t.Errorf("again: %+v", added)
	}
	if got := f.dates("northamptonshire"); !slices.Equal(got, []string{"2027-05-10"}) {
		t.Errorf("recorded %v", got)
	}
	if got := f.dates("devon"); len(got) != 0 {
		t.Errorf("devon has %v", got)
	}
}

// With Temporal down nothing is recorded: 503.
func TestClosureTemporalDown(t *testing.T) {
	f := newClosureFixture(t, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	f.temporal.down = true
	if got, resp := f.do("admin", "POST", closuresPath, `{"date":"2027-05-10","reason":"r"}`); got != 503 {
		t.Errorf("%d %s", got, resp)
	}
	if got := f.dates("northamptonshire"); len(got) != 0 {
		t.Errorf("recorded %v", got)
	}
}

// A database that takes the connection but does not answer (here: the
// closures table locked by another session) is 503 within the store's
// timeout, and nothing is sent to the cases.
func TestClosureDatabaseHangs(t *testing.T) {
	f := newClosureFixtureTimeout(t, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), 300*time.Millisecond)
	f.openCase("NSCP-2026-00001", "northamptonshire", workflows.StatusOpen)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE partnership_closures IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"POST", "GET"} {
		got, resp := f.do("admin", method, closuresPath, `{"date":"2027-05-10","reason":"r"}`)
		var e errorResponse
		_ = json.Unmarshal([]byte(resp), &e)
		if got != 503 || e.Error.Code != "unavailable" {
			t.Errorf("%s with the table locked: %d %s, want 503", method, got, resp)
		}
	}
	if s := f.temporal.sent(); len(s) != 0 {
		t.Errorf("sent %v", s)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.dates("northamptonshire"); len(got) != 0 {
		t.Errorf("recorded %v", got)
	}
}

// A case starting now runs under a snapshot with its bank holidays as dates
// (this year through two years after) and the closures from today on.
func TestSnapshotPolicyAtStart(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	f := newClosureFixture(t, now)
	ctx := context.Background()
	for _, d := range []string{"2026-12-02", "2026-12-03", "2027-05-10"} {
		if _, _, err := f.st.AddClosure(ctx, store.Closure{Policy: "northamptonshire", Date: d, Reason: "r", RecordedBy: "x", RecordedByEmail: "x@y"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.st.AddClosure(ctx, store.Closure{Policy: "devon", Date: "2027-05-11", Reason: "r", RecordedBy: "x", RecordedByEmail: "x@y"}); err != nil {
		t.Fatal(err)
	}
	pol, _ := f.srv.policies.Get("northamptonshire")
	snap, err := f.srv.cases.SnapshotPolicy(ctx, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snap.Closures, []string{"2026-12-03", "2027-05-10"}) {
		t.Errorf("closures %v", snap.Closures)
	}
	if snap.Holidays == nil || snap.Holidays.From != "2026-01-01" || snap.Holidays.To != "2028-12-31" || len(snap.Holidays.Dates) != 24 {
		t.Errorf("holidays %+v", snap.Holidays)
	}
	if pol.Holidays != nil || len(pol.Closures) != 0 {
		t.Error("the loaded policy was changed")
	}
	f.st.Close()
	if _, err := f.srv.cases.SnapshotPolicy(ctx, pol, now); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("store closed: %v", err)
	}
}

// A case that has just opened is sent the closures recorded after its
// snapshot was read (and only those), so a closure recorded while it was
// starting reaches it even if that request listed the open cases first.
func TestClosuresRecordedDuringTheStartReachTheNewCase(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	f := newClosureFixture(t, now)
	ctx := context.Background()
	add := func(date string) {
		t.Helper()
		if _, _, err := f.st.AddClosure(ctx, store.Closure{Policy: "northamptonshire", Date: date, Reason: "r " + date, RecordedBy: "Pat", RecordedByEmail: "pat@nscp.example"}); err != nil {
			t.Fatal(err)
		}
	}
	add("2027-05-10")
	pol, _ := f.srv.policies.Get("northamptonshire")
	snap, err := f.srv.cases.SnapshotPolicy(ctx, pol, now)
	if err != nil {
		t.Fatal(err)
	}
	add("2027-05-11") // recorded while the case started
	f.srv.cases.SendClosuresMissed(ctx, "NSCP-2026-00009", snap, now)
	sent := f.temporal.sent()
	if len(sent) != 1 || sent[0].ref != "NSCP-2026-00009" || sent[0].in.Date != "2027-05-11" || sent[0].in.Reason != "r 2027-05-11" ||
		sent[0].in.By.Email != "pat@nscp.example" {
		t.Errorf("sent %+v", sent)
	}
}
