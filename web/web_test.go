package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"escalate/activities"
	"escalate/internal/testdb"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// ---- the fixture: real PostgreSQL, a fake mailer, a clock the test moves ----

type fakeMailer struct{ mails chan activities.Mail }

func (m *fakeMailer) Send(_ context.Context, mail activities.Mail) error {
	m.mails <- mail
	return nil
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type fixture struct {
	t     *testing.T
	st    *store.Store
	srv   *Server
	url   string
	mail  *fakeMailer
	done  chan struct{} // one per sign-in request's mail work
	clock *testClock
}

const testRecordKey = "6c6f6e672d656e6f7567682d746573742d6b65792d666f722d7468652d7265636f7264"

func newFixture(t *testing.T, publicURL string) *fixture {
	t.Helper()
	dsn := testdb.Fresh(t, "escalate_web")
	ctx := context.Background()
	keys, err := store.ParseRecordKeys(testRecordKey)
	if err != nil {
		t.Fatal(err)
	}
	appURL, err := store.AppURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, appURL, store.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, mail: &fakeMailer{mails: make(chan activities.Mail, 10)}, done: make(chan struct{}, 10),
		clock: &testClock{now: time.Now().Truncate(time.Second)}}
	f.srv = New(Config{Store: st, Policies: pols, Mailer: f.mail, PublicURL: publicURL, IdleTimeout: 30 * time.Minute,
		MaxAge: 2 * time.Hour, Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.srv.sent = func() { f.done <- struct{}{} }
	t.Cleanup(f.srv.Close)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"api":true}`)
	})
	hs := httptest.NewServer(f.srv.With(api))
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

type testRenderer struct{}

func (testRenderer) Mail(workflows.Event, workflows.Recipient) store.Mail { return store.Mail{} }
func (testRenderer) Webhook(workflows.Event, string) ([]byte, error)      { return []byte("{}"), nil }

// addCase records a northamptonshire case between two people.
func (f *fixture) addCase(ref, raiserEmail, raiserAgency, respondentEmail, respondentAgency string) {
	f.t.Helper()
	at := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	c := workflows.Case{Ref: ref, Policy: "northamptonshire", Status: workflows.StatusOpen, ChildRef: "NCT/2026/" + ref, Category: "communication",
		Summary: "Summary of " + ref, CreatedAt: at,
		Stage:      workflows.StageState{Number: 2, Name: "Direct manager to manager discussion", StartedAt: at, DueAt: time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC), Who: "each practitioner's line manager"},
		Raiser:     workflows.Party{Name: "Raiser of " + ref, Email: raiserEmail, Agency: raiserAgency},
		Respondent: workflows.Party{Name: "Respondent of " + ref, Email: respondentEmail, Agency: respondentAgency},
		Contacts:   []workflows.Contact{}, Advisers: []workflows.Adviser{}, Meetings: []workflows.Meeting{}, Version: 1,
		SafetyNotice: "A child at immediate risk of significant harm: call 999."}
	in := workflows.RecordEventsInput{Ref: ref, RunID: "run", Case: c, Timezone: "Europe/London",
		Events: []workflows.Event{{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: c.Raiser.Name, ByEmail: raiserEmail, Text: "Disagreement raised about " + ref}}}
	if _, err := f.st.RecordEvents(context.Background(), in, testRenderer{}); err != nil {
		f.t.Fatal(err)
	}
}

// browser is one browser: a cookie jar, redirects not followed.
type browser struct {
	f      *fixture
	client *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.f.t.Helper()
	resp, err := b.client.Get(b.f.url + path)
	if err != nil {
		b.f.t.Fatal(err)
	}
	return readPage(b.f.t, resp)
}

func (b *browser) post(path string, form url.Values) page {
	b.f.t.Helper()
	resp, err := b.client.PostForm(b.f.url+path, form)
	if err != nil {
		b.f.t.Fatal(err)
	}
	return readPage(b.f.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfPattern.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page: %s", p.body)
	}
	return m[1]
}

var linkPattern = regexp.MustCompile(`https?://[^\s"]+/sign-in/link/([A-Za-z0-9_-]{43})`)

// requestLink asks for a sign-in link for email from b and returns the
// mail's link token ("" if no mail came).
func (b *browser) requestLink(email, next string) string {
	t := b.f.t
	t.Helper()
	form := b.get("/sign-in")
	p := b.post("/sign-in", url.Values{"email": {email}, "next": {next}, "csrf_token": {form.csrf(t)}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Check your email") {
		t.Fatalf("request a link: %d %s", p.status, p.body)
	}
	select {
	case <-b.f.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sign-in request's mail work did not finish")
	}
	select {
	case m := <-b.f.mail.mails:
		if m.To != strings.ToLower(email) {
			t.Fatalf("link mailed to %q, want %q", m.To, email)
		}
		match := linkPattern.FindStringSubmatch(m.Body)
		if match == nil || !strings.Contains(m.HTML, match[0]) || !strings.Contains(m.Body, "999") {
			t.Fatalf("mail without a link or the safety notice: %+v", m)
		}
		return match[1]
	default:
		return ""
	}
}

// useLink signs in with a link's token and returns the answer.
func (b *browser) useLink(token string) page {
	t := b.f.t
	t.Helper()
	land := b.get("/sign-in/link/" + token)
	if land.status != http.StatusOK {
		return land
	}
	return b.post("/sign-in/link", url.Values{"token": {token}, "csrf_token": {land.csrf(t)}})
}

// signIn signs b in as email and returns where it landed.
func (b *browser) signIn(email, next string) string {
	t := b.f.t
	t.Helper()
	tok := b.requestLink(email, next)
	if tok == "" {
		t.Fatalf("no link mailed to %s", email)
	}
	p := b.useLink(tok)
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", p.status, p.body)
	}
	return p.header.Get("Location")
}

// ---- tests ----

// The start page says first that a child at immediate risk is never a case
// here, then how to sign in and find one's cases, under a strict CSP.
func TestStartPage(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	p := f.browser().get("/")
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("start: %d %s", p.status, p.header.Get("Content-Type"))
	}
	notice := strings.Index(p.body, "A child at immediate risk of significant harm is never a case for this service: call the police on 999 or the children's social care front door at once")
	h1 := strings.Index(p.body, "<h1")
	main := strings.Index(p.body, `id="main-content"`)
	if notice < 0 || notice > h1 || notice < main {
		t.Fatalf("the immediate-risk notice is not the first thing in the page's main content (notice %d, h1 %d, main %d)", notice, h1, main)
	}
	for _, want := range []string{`href="/sign-in"`, `href="/cases"`, "Your cases"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("start page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(p.body), "coming soon") || strings.Contains(strings.ToLower(p.body), "complaint") {
		t.Error("start page says coming soon or complaint")
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(p.body) {
		t.Errorf("inline script allowed or present")
	}
	if p.header.Get("Cache-Control") != "no-store" || p.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", p.header)
	}
	// The stylesheet and script it names are served from the binary.
	for _, m := range regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(p.body, -1) {
		s := f.browser().get(m[1])
		if s.status != http.StatusOK || len(s.body) < 100 {
			t.Errorf("%s: %d (%d bytes)", m[1], s.status, len(s.body))
		}
	}
}

// The JSON API's paths go to the API, unchanged; any other unknown path is
// the pages' 404 page; a path or query with control characters is refused.
func TestRouting(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	b := f.browser()
	for _, path := range []string{"/v1/cases", "/v1", "/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if p := b.get(path); p.status != http.StatusTeapot || p.body != `{"api":true}` {
			t.Errorf("%s: %d %s, want the API's", path, p.status, p.body)
		}
	}
	if p := b.get("/no-such-page"); p.status != http.StatusNotFound || !strings.Contains(p.body, "Page not found") {
		t.Errorf("unknown page: %d", p.status)
	}
	if p := b.get("/cases?status=%00"); p.status != http.StatusBadRequest {
		t.Errorf("control character in the query: %d", p.status)
	}
	if p := b.get("/static/"); p.status != http.StatusNotFound || strings.Contains(p.body, `href="init.mjs"`) {
		t.Errorf("static directory listed: %d", p.status)
	}
	if p := b.get("/cases/%FF"); p.status != http.StatusNotFound {
		t.Errorf("invalid UTF-8 in the path: %d", p.status)
	}
}

// A link is mailed to a party; it signs in once and lands where the person
// was going; used again it does not work. An unknown address gets the same
// answer and no mail.
func TestSignInWithAMailedLink(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	f.addCase("NSCP-2026-00001", "hana@nhft.example", "nhft", "sam@nct.example", "nct")
	b := f.browser()

	// Not signed in: a case's page sends the browser through sign-in.
	p := b.get("/cases/NSCP-2026-00001")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/sign-in?next=%2Fcases%2FNSCP-2026-00001" {
		t.Fatalf("case page signed out: %d %q", p.status, p.header.Get("Location"))
	}
	known := b.requestLink("Hana@NHFT.example", "/cases/NSCP-2026-00001")
	if known == "" {
		t.Fatal("no link mailed to a party")
	}
	// The answer for an address nobody knows is the same page, and no
	// mail goes.
	stranger := f.browser()
	form := stranger.get("/sign-in")
	ps := stranger.post("/sign-in", url.Values{"email": {"nobody@nowhere.example"}, "csrf_token": {form.csrf(t)}})
	pk := f.browser()
	formk := pk.get("/sign-in")
	pkn := pk.post("/sign-in", url.Values{"email": {"sam@nct.example"}, "csrf_token": {formk.csrf(t)}})
	norm := func(s string) string {
		s = strings.ReplaceAll(s, "nobody@nowhere.example", "ADDRESS")
		s = strings.ReplaceAll(s, "sam@nct.example", "ADDRESS")
		return regexp.MustCompile(`Reference for the service desk: [0-9a-f]+`).ReplaceAllString(s, "")
	}
	if ps.status != pkn.status || norm(ps.body) != norm(pkn.body) {
		t.Fatalf("unknown and known addresses answered differently:\n%d %s\n---\n%d %s", ps.status, ps.body, pkn.status, pkn.body)
	}
	<-f.done
	<-f.done
	if len(f.mail.mails) != 1 {
		t.Fatalf("%d mails for one known and one unknown address, want 1", len(f.mail.mails))
	}
	<-f.mail.mails // sam's

	p = b.useLink(known)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/cases/NSCP-2026-00001" {
		t.Fatalf("use link: %d %q", p.status, p.header.Get("Location"))
	}
	var sessionCookie *http.Cookie
	for _, c := range readCookies(p.header) {
		if c.Name == "escalate_session" && c.Value != "" {
			sessionCookie = c
		}
	}
	if sessionCookie == nil || !sessionCookie.HttpOnly || sessionCookie.SameSite != http.SameSiteLaxMode || sessionCookie.Secure || sessionCookie.Path != "/" {
		t.Fatalf("session cookie: %+v", sessionCookie)
	}
	cp := b.get("/cases/NSCP-2026-00001")
	if cp.status != http.StatusOK || !strings.Contains(cp.body, "Stage 2 of 5, Direct manager to manager discussion: ") ||
		!strings.Contains(cp.body, "5pm on Tuesday 8 December 2026") || !strings.Contains(cp.body, "waiting for each practitioner&#39;s line manager") {
		t.Fatalf("case page: %d %s", cp.status, cp.body)
	}
	// Used once: a second use, from another browser too, does not work.
	again := f.browser().useLink(known)
	if again.status != http.StatusNotFound || !strings.Contains(again.body, "This sign-in link does not work") {
		t.Fatalf("second use: %d", again.status)
	}
	// An expired link does not work either.
	tok := f.browser().requestLink("sam@nct.example", "")
	f.clock.Add(LinkLifetime + time.Second)
	if p := f.browser().useLink(tok); p.status != http.StatusNotFound {
		t.Fatalf("expired link: %d", p.status)
	}
}

func readCookies(h http.Header) []*http.Cookie {
	return (&http.Response{Header: h}).Cookies()
}

// After sign-in the person lands only on a path of this site: anything
// else in next is refused, and they land on their cases.
func TestNoOpenRedirect(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/cases?status=closed", "/cases?status=closed"},
		{"/cases/NSCP-2026-00001", "/cases/NSCP-2026-00001"},
		{"", ""},
		{"//evil.example/x", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"https://evil.example/", ""},
		{"http:/evil.example", ""},
		{"javascript:alert(1)", ""},
		{"cases", ""},
		{"/%0d%0aLocation:%20x", "/%0d%0aLocation:%20x"},
		{"/\r\nSet-Cookie: x", ""},
		{"/sign-out", ""},
		{"/sign-in/link/abc", ""},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
	f := newFixture(t, "http://escalate.test")
	f.addCase("NSCP-2026-00001", "hana@nhft.example", "nhft", "sam@nct.example", "nct")
	for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example"} {
		if got := f.browser().signIn("hana@nhft.example", next); got != "/cases" {
			t.Errorf("next %q landed on %q, want /cases", next, got)
		}
	}
	// The sign-in form does not carry a refused next either.
	if p := f.browser().get("/sign-in?next=" + url.QueryEscape("//evil.example")); strings.Contains(p.body, "evil.example") {
		t.Errorf("the sign-in form carries a refused next")
	}
}

// Every POST needs its form's CSRF token: without it, or with another
// session's, it is a 403 page and nothing happens.
func TestCSRF(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	f.addCase("NSCP-2026-00001", "hana@nhft.example", "nhft", "sam@nct.example", "nct")
	b := f.browser()
	b.signIn("hana@nhft.example", "")
	other := f.browser()
	other.signIn("sam@nct.example", "")
	otherToken := other.get("/cases").csrf(t)

	for _, form := range []url.Values{{}, {"csrf_token": {"x"}}, {"csrf_token": {otherToken}}} {
		if p := b.post("/sign-out", form); p.status != http.StatusForbidden || !strings.Contains(p.body, "that form could not be sent") {
			t.Errorf("sign-out with %v: %d", form, p.status)
		}
	}
	if p := b.get("/cases"); p.status != http.StatusOK {
		t.Fatalf("a refused sign-out signed out: %d", p.status)
	}
	// Requesting a link needs the form's token too.
	if p := f.browser().post("/sign-in", url.Values{"email": {"hana@nhft.example"}}); p.status != http.StatusForbidden {
		t.Errorf("sign-in request without a token: %d", p.status)
	}
	// A POST a browser says came from another site is refused whatever it
	// carries.
	req, _ := http.NewRequest("POST", f.url+"/sign-out", strings.NewReader(url.Values{"csrf_token": {b.get("/cases").csrf(t)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if p := readPage(t, resp); p.status != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", p.status)
	}
	// With its token, signing out works and ends the session.
	tok := b.get("/cases").csrf(t)
	if p := b.post("/sign-out", url.Values{"csrf_token": {tok}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signed-out" {
		t.Fatalf("sign-out: %d %q", p.status, p.header.Get("Location"))
	}
	if p := b.get("/cases"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", p.status)
	}
}

// A session ends after SESSION_IDLE_TIMEOUT unused, and at SESSION_MAX_AGE
// however busy; the cookie alone never brings it back.
func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	f.addCase("NSCP-2026-00001", "hana@nhft.example", "nhft", "sam@nct.example", "nct")
	b := f.browser()
	b.signIn("hana@nhft.example", "")
	f.clock.Add(29 * time.Minute)
	if p := b.get("/cases"); p.status != http.StatusOK {
		t.Fatalf("after 29 idle minutes: %d", p.status)
	}
	f.clock.Add(31 * time.Minute)
	if p := b.get("/cases"); p.status != http.StatusSeeOther {
		t.Fatalf("after 31 idle minutes: %d, want a redirect to sign in", p.status)
	}

	b2 := f.browser()
	b2.signIn("hana@nhft.example", "")
	for i := 0; i < 5; i++ { // 5 x 25 minutes: busy, past the 2 hours
		f.clock.Add(25 * time.Minute)
		p := b2.get("/cases")
		if i < 4 && p.status != http.StatusOK {
			t.Fatalf("busy session at %d minutes: %d", (i+1)*25, p.status)
		}
		if i == 4 && p.status != http.StatusSeeOther {
			t.Fatalf("busy session past its maximum age: %d", p.status)
		}
	}
}

// One person never sees another's case: not in their list, not its page,
// not its record; a case they may not read is a 404 like one that does not
// exist.
func TestOnePersonNeverSeesAnothersCase(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	f.addCase("NSCP-2026-00001", "hana@nhft.example", "nhft", "sam@nct.example", "nct")
	f.addCase("NSCP-2026-00002", "ann@police.example", "northants-police", "bob@nct.example", "nct")
	b := f.browser()
	b.signIn("hana@nhft.example", "")
	list := b.get("/cases")
	if list.status != http.StatusOK || !strings.Contains(list.body, `href="/cases/NSCP-2026-00001"`) || strings.Contains(list.body, "NSCP-2026-00002") {
		t.Fatalf("hana's list: %d %s", list.status, list.body)
	}
	for _, path := range []string{"/cases/NSCP-2026-00002", "/cases/NSCP-2026-00002/record", "/cases/NSCP-2026-00099"} {
		p := b.get(path)
		if p.status != http.StatusNotFound || strings.Contains(p.body, "Summary of NSCP-2026-00002") || strings.Contains(p.body, "bob@nct.example") {
			t.Errorf("%s: %d", path, p.status)
		}
	}
	rec := b.get("/cases/NSCP-2026-00001/record")
	if rec.status != http.StatusOK || !strings.Contains(rec.body, "Record of a professional disagreement") {
		t.Fatalf("own record: %d", rec.status)
	}
	// The list's card shows the other agency, the stage, the deadline in
	// local time and whether it is overdue.
	for _, want := range []string{"NCT/2026/NSCP-2026-00001", "Stage 2: Direct manager to manager discussion", "5pm on Tuesday 8 December 2026"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	// A manager of nct sees both cases involving nct.
	mgr, _, err := f.st.ListCases(context.Background(), store.Viewer{Email: "m@nct.example", Agency: "nct", Role: "manager"}, store.ListFilter{})
	if err != nil || len(mgr) != 2 {
		t.Fatalf("manager: %d %v", len(mgr), err)
	}
	// Filters: closed shows none; overdue none before the deadline.
	if p := b.get("/cases?status=closed"); strings.Contains(p.body, `href="/cases/NSCP-2026-00001"`) {
		t.Error("an open case listed as closed")
	}
	if p := b.get("/cases?status=bogus"); p.status != http.StatusBadRequest {
		t.Errorf("unknown status filter: %d", p.status)
	}
}

// Sign-in requests are limited per address (and per client), the same for
// addresses that may sign in and those that may not.
func TestSignInRequestsAreLimited(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	b := f.browser()
	tok := b.get("/sign-in").csrf(t)
	codes := []int{}
	for i := 0; i < signInsPerAddressBurst+1; i++ {
		p := b.post("/sign-in", url.Values{"email": {"nobody@nowhere.example"}, "csrf_token": {tok}})
		codes = append(codes, p.status)
	}
	if codes[signInsPerAddressBurst-1] != http.StatusOK || codes[signInsPerAddressBurst] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v: want %d then 429", codes, signInsPerAddressBurst)
	}
	// A malformed address is a form error on the page, with the error summary.
	p := b.post("/sign-in", url.Values{"email": {"not an address"}, "csrf_token": {tok}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "govuk-error-summary") || !strings.Contains(p.body, `href="#email"`) ||
		!strings.Contains(p.body, "<title>Error: ") {
		t.Fatalf("bad address: %d %s", p.status, p.body)
	}
}

// Behind https the cookies are Secure and __Host- prefixed.
func TestSecureCookies(t *testing.T) {
	f := newFixture(t, "https://escalate.example.org")
	p := f.browser().get("/sign-in")
	cs := readCookies(p.header)
	if len(cs) != 1 || cs[0].Name != "__Host-escalate_form" || !cs[0].Secure || !cs[0].HttpOnly || cs[0].Path != "/" || cs[0].Domain != "" {
		t.Fatalf("cookies: %+v", cs)
	}
	if !strings.Contains(p.header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS behind https")
	}
}

func TestLocalTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC), "5pm on Tuesday 8 December 2026"},
		{time.Date(2026, 7, 8, 16, 30, 0, 0, time.UTC), "5:30pm on Wednesday 8 July 2026"}, // BST
		{time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC), "midday on Tuesday 8 December 2026"},
		{time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), "midnight on Tuesday 8 December 2026"},
		{time.Date(2026, 12, 8, 9, 5, 0, 0, time.UTC), "9:05am on Tuesday 8 December 2026"},
	} {
		if got := localTime(tc.t, london); got != tc.want {
			t.Errorf("localTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}
