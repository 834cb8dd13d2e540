package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"escalate/workflows"
)

// chromiumPath is the browser the test drives: Debian's chromium, which
// make test installs if it is missing. The test fails without it, never
// skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := env("CHROMIUM", "/usr/bin/chromium")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (make test installs Debian's chromium): %v", p, err)
	}
	return p
}

// newBrowser starts headless Chromium at the given window width.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // the tests run as root in CI, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.Flag("lang", "en-GB"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first call starts the browser, which lives as long as its
	// context: no timeout on it (each step below has its own).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// do runs steps in the browser, each batch within 30 seconds.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// run runs one action that returns a value.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// axeViolation is one serious or critical axe-core finding.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAccessible runs axe-core (vendored under testdata/axe, injected into
// the page) and fails on any serious or critical violation.
func checkAccessible(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, v := range axeViolations(t, ctx, name) {
		t.Errorf("%s: accessibility (%s) %s: %s at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
	}
}

// axeViolations are the page's serious and critical axe-core violations.
func axeViolations(t *testing.T, ctx context.Context, name string) []axeViolation {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !run(t, ctx, chromedp.Evaluate[bool](string(src)+";typeof axe === 'object'")) {
		t.Fatalf("%s: axe-core did not load", name)
	}
	script := `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})))`
	return run(t, ctx, chromedp.Evaluate[[]axeViolation](script, chromedp.EvalAwaitPromise))
}

// mainText is the visible text of the page's main content.
func mainText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, chromedp.Text(chromedp.CSS("main")))
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, chromedp.Location())
}

// waitFor waits until the page's main content says want.
func waitFor(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		txt, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("main")))
		cancel()
		if err == nil && strings.Contains(txt, want) {
			return txt
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page at %s never said %q: %.300q (%v)", location(t, ctx), want, txt, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signInLink waits for the sign-in mail to to arrive in MailDev and
// returns its link.
func (s *system) signInLink(t *testing.T, to string) string {
	t.Helper()
	link := regexp.MustCompile(`https?://\S+/sign-in/link/[A-Za-z0-9_-]{43}`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range s.mail.Messages(t) {
			if m.Subject != "Your sign-in link for Escalate" || len(m.To) != 1 || m.To[0].Address != to {
				continue
			}
			if u := link.FindString(m.Text); u != "" {
				return u
			}
			t.Fatalf("sign-in mail without a link: %q", m.Text)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no sign-in mail to %s within 30s", to)
	return ""
}

// A person arriving in a browser signs in with the link mailed to them,
// finds the case started for them through the JSON API in Your cases, and
// opens it; every page they pass through has no serious or critical
// accessibility violation (axe-core).
func TestBrowserSignInAndYourCases(t *testing.T) {
	s := startSystemWith(t, harness{pages: true})
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{
		"policy": "northamptonshire", "child_ref": "NCT/2026/0042", "category": "threshold-csc-assessment",
		"summary":    "Referral judged below the threshold for assessment; health visitor disagrees.",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}, &c); code != http.StatusCreated {
		t.Fatalf("start a case: %d", code)
	}
	ctx := newBrowser(t, 1280, 1000)

	// The check finds what it should: an image without a text alternative
	// is a critical violation.
	do(t, ctx, chromedp.Navigate(`data:text/html,<!doctype html><html lang="en"><title>x</title><main><img src="x.png"></main></html>`))
	if vs := axeViolations(t, ctx, "a broken page"); len(vs) == 0 || vs[0].ID != "image-alt" {
		t.Fatalf("axe-core on a page with an image without alt: %+v, want image-alt", vs)
	}

	// The start page: the immediate-risk notice first.
	do(t, ctx, chromedp.Navigate(s.url+"/"))
	start := mainText(t, ctx)
	if words := strings.Join(strings.Fields(start), " "); !strings.HasPrefix(words, "! Warning A child at immediate risk of significant harm is never a case for this service") {
		t.Errorf("start page does not open with the immediate-risk notice: %.200q", start)
	}
	checkAccessible(t, ctx, "start page")

	// A mail's link to a case sends a browser that is not signed in through
	// sign-in and back.
	do(t, ctx, chromedp.Navigate(s.url+"/cases/"+c.Ref))
	if u := location(t, ctx); !strings.Contains(u, "/sign-in?next=%2Fcases%2F"+c.Ref) {
		t.Fatalf("signed out, the case's link went to %s", u)
	}
	checkAccessible(t, ctx, "sign-in page")
	// A form error is shown in the error summary.
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "not-an-address"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".govuk-error-summary")),
	)
	checkAccessible(t, ctx, "sign-in page with an error")
	do(t, ctx,
		chromedp.Clear(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "Sam@NCT.example"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
	)
	waitFor(t, ctx, "Check your email")
	checkAccessible(t, ctx, "check your email page")

	link := s.signInLink(t, "sam@nct.example")
	if !strings.HasPrefix(link, s.url+"/sign-in/link/") {
		t.Fatalf("link %s is not on %s", link, s.url)
	}
	do(t, ctx, chromedp.Navigate(link))
	checkAccessible(t, ctx, "sign-in link page")
	do(t, ctx, chromedp.Click(chromedp.CSS("form[action='/sign-in/link'] button")))
	waitFor(t, ctx, "Where it stands")
	// Back where the mail's link was going: the case.
	if u := location(t, ctx); u != s.url+"/cases/"+c.Ref {
		t.Fatalf("signed in, landed on %s, want the case", u)
	}
	casePage := mainText(t, ctx)
	for _, want := range []string{"Case " + c.Ref, "Stage 1 of 5, Direct professional to professional discussion: due by ", "NCT/2026/0042", "Hana Visitor", "Disagreement raised"} {
		if !strings.Contains(casePage, want) {
			t.Errorf("case page lacks %q: %s", want, casePage)
		}
	}
	checkAccessible(t, ctx, "case page")

	// Your cases lists it.
	do(t, ctx, chromedp.Navigate(s.url+"/cases"))
	list := waitFor(t, ctx, "Your cases")
	for _, want := range []string{c.Ref, "NCT/2026/0042", "Stage 1: Direct professional to professional discussion", "Open"} {
		if !strings.Contains(list, want) {
			t.Errorf("your cases lacks %q: %s", want, list)
		}
	}
	checkAccessible(t, ctx, "your cases")
	// The filters work without JavaScript as a GET form.
	do(t, ctx, chromedp.Click(chromedp.CSS("#overdue")), chromedp.Click(chromedp.CSS("form[action='/cases'] button")))
	if txt := waitFor(t, ctx, "None of your open cases is overdue"); strings.Contains(txt, c.Ref) {
		t.Errorf("overdue filter lists a case not overdue: %s", txt)
	}
	if u := location(t, ctx); !strings.Contains(u, "overdue=true") {
		t.Errorf("overdue filter: %s", u)
	}
	checkAccessible(t, ctx, "your cases, filtered")

	// The written record, the same document as the API's.
	do(t, ctx, chromedp.Navigate(s.url+"/cases/"+c.Ref+"/record"))
	if title := run(t, ctx, chromedp.Title()); !strings.Contains(title, c.Ref) {
		t.Errorf("record title %q", title)
	}
	checkAccessible(t, ctx, "written record")

	// A page that does not exist.
	do(t, ctx, chromedp.Navigate(s.url+"/cases/NSCP-2099-99999"))
	waitFor(t, ctx, "Page not found")
	checkAccessible(t, ctx, "page not found")

	// Signing out, from the navigation's form.
	do(t, ctx, chromedp.Navigate(s.url+"/cases"), chromedp.Click(chromedp.CSS("form[action='/sign-out'] button")))
	waitFor(t, ctx, "You have signed out")
	checkAccessible(t, ctx, "signed out")
	do(t, ctx, chromedp.Navigate(s.url+"/cases"))
	if u := location(t, ctx); !strings.Contains(u, "/sign-in") {
		t.Errorf("after signing out, your cases is at %s", u)
	}
	// The used link does not sign in again.
	do(t, ctx, chromedp.Navigate(link))
	waitFor(t, ctx, "This sign-in link does not work")
	checkAccessible(t, ctx, "used sign-in link")
}

// checkPage is what every page passes: no serious or critical axe-core
// violation, and 320 pixels wide nothing wider than the screen (no
// sideways scrolling on a phone).
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	checkAccessible(t, ctx, name)
	do(t, ctx, chromedp.EmulateViewport(320, 800))
	wide := run(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	do(t, ctx, chromedp.EmulateViewport(1280, 1000))
	if wide > 320 {
		t.Errorf("%s: %d pixels wide on a 320-pixel screen", name, wide)
	}
}

// caseLink waits for a notification mail to to about case ref and returns
// the path its link opens (the harness's mails link to escalate.test).
func (s *system) caseLink(t *testing.T, to, ref string) string {
	t.Helper()
	link := regexp.MustCompile(`https?://[^/\s]+(/cases/` + regexp.QuoteMeta(ref) + `)\b`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range s.mail.Messages(t) {
			if len(m.To) != 1 || !strings.EqualFold(m.To[0].Address, to) {
				continue
			}
			if sub := link.FindStringSubmatch(m.Text); sub != nil {
				return sub[1]
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no mail to %s linking to case %s within 30s", to, ref)
	return ""
}

// signInAs signs a browser in as email through the sign-in page and the
// link mailed, starting from path, and returns where it landed.
func (s *system) signInAs(t *testing.T, ctx context.Context, email, path string) {
	t.Helper()
	before := map[string]bool{}
	for _, l := range s.signInLinks(t, email) {
		before[l] = true
	}
	do(t, ctx, chromedp.Navigate(s.url+path))
	waitFor(t, ctx, "What is your work email address?")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
	)
	waitFor(t, ctx, "Check your email")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var fresh string
		for _, l := range s.signInLinks(t, email) {
			if !before[l] {
				fresh = l
			}
		}
		if fresh != "" {
			do(t, ctx, chromedp.Navigate(fresh))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new sign-in mail to %s within 30s", email)
		}
		time.Sleep(200 * time.Millisecond)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("form[action='/sign-in/link'] button")))
}

// signInLinks are the links of every sign-in mail to to so far.
func (s *system) signInLinks(t *testing.T, to string) []string {
	t.Helper()
	link := regexp.MustCompile(`https?://\S+/sign-in/link/[A-Za-z0-9_-]{43}`)
	var out []string
	for _, m := range s.mail.Messages(t) {
		if m.Subject == "Your sign-in link for Escalate" && len(m.To) == 1 && m.To[0].Address == to {
			if u := link.FindString(m.Text); u != "" {
				out = append(out, u)
			}
		}
	}
	return out
}

// The whole service in a browser against the real system: a practitioner
// signs in with the link mailed to them and raises a disagreement one
// question a page; the respondent follows the link in the mail they get,
// signs in and proposes the written outcome; the raiser confirms it by
// keyboard; the case says Resolved and its record verifies. Every page
// passes axe-core and reads 320 pixels wide.
func TestBrowserRaiseProposeConfirm(t *testing.T) {
	s := startSystemWith(t, harness{pages: true})
	s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	hana := newBrowser(t, 1280, 1000)

	s.signInAs(t, hana, "hana@nhft.example", "/cases")
	// Back where they were going: Your cases.
	waitFor(t, hana, "Your cases")
	do(t, hana, chromedp.Navigate(s.url+"/"))
	do(t, hana, chromedp.Click(chromedp.CSS(`a[href="/raise"]`)))

	// One question a page; "Continue" without an answer says what is missing.
	waitFor(t, hana, "Which partnership's procedure")
	checkPage(t, hana, "raise: partnership")
	do(t, hana, chromedp.Click(chromedp.CSS("main form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".govuk-error-summary")))
	checkPage(t, hana, "raise: partnership, with an error")
	do(t, hana, chromedp.Click(chromedp.CSS(`input[name=policy][value="northamptonshire"]`)), chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitFor(t, hana, "What is the disagreement about?")
	checkPage(t, hana, "raise: category")
	do(t, hana, chromedp.Click(chromedp.CSS(`input[name=category][value="threshold-csc-assessment"]`)), chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitFor(t, hana, "What is the child's record reference?")
	checkPage(t, hana, "raise: child's record reference")
	// A value the core refuses comes back in the error summary in its words.
	do(t, hana, chromedp.SendKeys(chromedp.CSS("#child_ref"), "Jo Bloggs 1.1.2020"), chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	if txt := waitFor(t, hana, "There is a problem"); !strings.Contains(txt, "letters, digits, '-' and '/' only") {
		t.Errorf("child ref refusal: %s", txt)
	}
	checkPage(t, hana, "raise: child's record reference, refused")
	do(t, hana, chromedp.Clear(chromedp.CSS("#child_ref")), chromedp.SendKeys(chromedp.CSS("#child_ref"), "NCT/2026/0500"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitFor(t, hana, "Summarise the disagreement")
	checkPage(t, hana, "raise: summary")
	do(t, hana, chromedp.SendKeys(chromedp.CSS("#summary"), "Referral for a 4-year-old judged below the threshold; I disagree."),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitFor(t, hana, "Who is the other professional?")
	checkPage(t, hana, "raise: the other professional")
	do(t, hana,
		chromedp.SendKeys(chromedp.CSS("#resp_name"), "Sam Social"),
		chromedp.SendKeys(chromedp.CSS("#resp_email"), "sam@nct.example"),
		chromedp.SetValue(chromedp.CSS("#resp_agency"), "nct"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	txt := waitFor(t, hana, "Is this disagreement urgent?")
	if !strings.Contains(txt, "1 working day") {
		t.Errorf("the urgent question does not say what urgency means in the procedure: %s", txt)
	}
	checkPage(t, hana, "raise: urgent")
	do(t, hana, chromedp.Click(chromedp.CSS("#urgent-no")), chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	check := waitFor(t, hana, "Check your answers")
	for _, want := range []string{"Northamptonshire", "NCT/2026/0500", "Sam Social", "sam@nct.example", "Referral for a 4-year-old"} {
		if !strings.Contains(check, want) {
			t.Errorf("check your answers lacks %q: %s", want, check)
		}
	}
	checkPage(t, hana, "raise: check your answers")
	// A change link goes to the question and back to the check.
	do(t, hana, chromedp.Click(chromedp.CSS(`a[href="/raise/child?change=1"]`)))
	waitFor(t, hana, "What is the child's record reference?")
	do(t, hana, chromedp.Clear(chromedp.CSS("#child_ref")), chromedp.SendKeys(chromedp.CSS("#child_ref"), "NCT/2026/0501"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	if txt := waitFor(t, hana, "Check your answers"); !strings.Contains(txt, "NCT/2026/0501") {
		t.Errorf("the changed answer is not shown: %s", txt)
	}
	csrf := run(t, hana, chromedp.Evaluate[string](`document.querySelector("form[action='/raise/check'] input[name=csrf_token]").value`))
	// Submitted from the keyboard: tab to the button, press Enter.
	tabTo(t, hana, "Raise the disagreement")
	do(t, hana, chromedp.KeyEvent("\r"))
	done := waitFor(t, hana, "Disagreement raised")
	ref := regexp.MustCompile(`NSCP-\d{4}-\d{5}`).FindString(done)
	if ref == "" || !strings.Contains(done, "due by 5pm on ") {
		t.Fatalf("confirmation without a reference or the first deadline in words: %s", done)
	}
	checkPage(t, hana, "raise: confirmation")
	// The same answers sent again (a double click, a resent form) are the
	// same case, never a second one.
	again := run(t, hana, chromedp.Evaluate[string](`fetch('/raise/check', {method: 'POST',
		headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf_token=' + encodeURIComponent('`+csrf+`')}).then(r => r.url)`,
		chromedp.EvalAwaitPromise))
	if !strings.HasSuffix(again, "/raised/"+ref) {
		t.Errorf("sending the answers again went to %s", again)
	}
	var list struct {
		Cases []workflows.Case `json:"cases"`
	}
	if code := s.call("GET", "/v1/cases", adminToken, nil, &list); code != 200 || len(list.Cases) != 1 {
		t.Fatalf("cases after a double submit: %d %d", code, len(list.Cases))
	}
	c := list.Cases[0]
	if c.Ref != ref || c.ChildRef != "NCT/2026/0501" || c.Raiser.Email != "hana@nhft.example" || c.Respondent.Agency != "nct" || c.Urgent {
		t.Fatalf("case raised: %+v", c)
	}

	// The respondent follows the link in their mail and signs in.
	sam := newBrowser(t, 1280, 1000)
	path := s.caseLink(t, "sam@nct.example", ref)
	s.signInAs(t, sam, "sam@nct.example", path)
	page := waitFor(t, sam, "What you can do")
	if u := location(t, sam); u != s.url+"/cases/"+ref {
		t.Fatalf("the mail's link landed on %s", u)
	}
	for _, want := range []string{"Propose the written outcome", "Add a note"} {
		if !strings.Contains(page, want) {
			t.Errorf("respondent's case page lacks %q: %s", want, page)
		}
	}
	if strings.Contains(page, "Withdraw the disagreement") {
		t.Errorf("the respondent is offered to withdraw: %s", page)
	}
	checkPage(t, sam, "case page, respondent")

	// Deadlines here are agreed by both sides: Sam proposes a shorter one,
	// Hana confirms it.
	london, _ := time.LoadLocation("Europe/London")
	shorter := c.Stage.DueAt.In(london).Add(-time.Hour)
	do(t, sam, chromedp.Click(chromedp.CSS(`a[href="/cases/`+ref+`/do/deadline"]`)))
	waitFor(t, sam, "Propose a shorter deadline")
	checkPage(t, sam, "propose a shorter deadline")
	do(t, sam,
		chromedp.SendKeys(chromedp.CSS("#due_at-day"), fmt.Sprint(shorter.Day())),
		chromedp.SendKeys(chromedp.CSS("#due_at-month"), fmt.Sprint(int(shorter.Month()))),
		chromedp.SendKeys(chromedp.CSS("#due_at-year"), fmt.Sprint(shorter.Year())),
		chromedp.SendKeys(chromedp.CSS("#due_at-time"), shorter.Format("15:04")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "The child's review is that morning."),
		chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, sam, "The deadline is recorded")
	do(t, hana, chromedp.Navigate(s.url+"/cases/"+ref))
	if txt := waitFor(t, hana, "Confirm the proposed deadline"); !strings.Contains(txt, "Deadline proposed: ") {
		t.Errorf("the raiser's case page does not show the proposed deadline: %s", txt)
	}
	do(t, hana, chromedp.Click(chromedp.CSS(`a[href="/cases/`+ref+`/do/confirm-deadline"]`)))
	waitFor(t, hana, "The deadline proposed")
	checkPage(t, hana, "confirm the proposed deadline")
	do(t, hana, chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, hana, "The deadline is agreed by both sides")
	var agreed workflows.Case
	if code := s.call("GET", "/v1/cases/"+ref, adminToken, nil, &agreed); code != 200 || !agreed.Stage.DueAt.Equal(shorter) || agreed.PendingDeadline != nil {
		t.Fatalf("the agreed deadline: %d %v (want %v) pending %+v", code, agreed.Stage.DueAt, shorter, agreed.PendingDeadline)
	}

	do(t, sam, chromedp.Navigate(s.url+"/cases/"+ref))
	waitFor(t, sam, "What you can do")
	do(t, sam, chromedp.Click(chromedp.CSS(`a[href="/cases/`+ref+`/do/propose"]`)))
	waitFor(t, sam, "The agreed outcome")
	checkPage(t, sam, "propose the outcome")
	// Refused by the core: nothing recorded, the error summary says why.
	do(t, sam, chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, sam, "There is a problem")
	checkPage(t, sam, "propose the outcome, refused")
	by := time.Now().AddDate(0, 0, 14)
	do(t, sam,
		chromedp.SendKeys(chromedp.CSS("#outcome"), "The referral is reopened for a single assessment."),
		chromedp.SendKeys(chromedp.CSS("#action0_what"), "Open a single assessment"),
		chromedp.SendKeys(chromedp.CSS("#action0_who"), "Sam Social"),
		chromedp.SendKeys(chromedp.CSS("#action0_by-day"), fmt.Sprint(by.Day())),
		chromedp.SendKeys(chromedp.CSS("#action0_by-month"), fmt.Sprint(int(by.Month()))),
		chromedp.SendKeys(chromedp.CSS("#action0_by-year"), fmt.Sprint(by.Year())),
		chromedp.Click(chromedp.CSS("#submit")))
	if txt := waitFor(t, sam, "Your proposed outcome is recorded"); !strings.Contains(txt, "Outcome proposed") {
		t.Errorf("after proposing: %s", txt)
	}
	checkPage(t, sam, "case page, outcome proposed")

	// The raiser confirms it, by keyboard, having read it.
	do(t, hana, chromedp.Navigate(s.url+"/cases/"+ref))
	waitFor(t, hana, "Confirm the proposed outcome")
	do(t, hana, chromedp.Click(chromedp.CSS(`a[href="/cases/`+ref+`/do/confirm"]`)))
	if txt := waitFor(t, hana, "The outcome proposed by Sam Social"); !strings.Contains(txt, "The referral is reopened for a single assessment.") ||
		!strings.Contains(txt, "Open a single assessment") {
		t.Errorf("the confirm page does not show the proposal: %s", txt)
	}
	checkPage(t, hana, "confirm the outcome")
	tabTo(t, hana, "Confirm the outcome")
	do(t, hana, chromedp.KeyEvent("\r"))
	final := waitFor(t, hana, "the disagreement is resolved")
	if !strings.Contains(final, "Resolved") {
		t.Errorf("case page after confirming: %s", final)
	}
	checkPage(t, hana, "case page, resolved")
	do(t, hana, chromedp.Navigate(s.url+"/cases/"+ref+"/record"))
	if rec := run(t, hana, chromedp.Text(chromedp.CSS("body"))); !strings.Contains(rec, "Record verified.") || !strings.Contains(rec, "resolved") {
		t.Errorf("the record does not verify: %.500s", rec)
	}
	checkAccessible(t, hana, "record, resolved")
	var got workflows.Case
	if code := s.call("GET", "/v1/cases/"+ref, adminToken, nil, &got); code != 200 || got.Status != workflows.StatusResolved || got.Agreement == nil ||
		len(got.Agreement.Actions) != 1 || got.Agreement.ConfirmedBy != "Hana Visitor" {
		t.Fatalf("the case through the API: %d %+v", code, got)
	}
}

// tabTo presses Tab until the focused element's text is label (at most
// 60 times): the control is reachable by keyboard.
func tabTo(t *testing.T, ctx context.Context, label string) {
	t.Helper()
	for i := 0; i < 60; i++ {
		do(t, ctx, chromedp.KeyEvent("\t"))
		if got := run(t, ctx, chromedp.Evaluate[string](`(document.activeElement && document.activeElement.innerText || '').trim()`)); got == label {
			return
		}
	}
	t.Fatalf("%q cannot be reached with the Tab key", label)
}

// A manager of the respondent's agency, who is not on the case, opens it
// from the browser and steps in as their side's line manager: the case
// records them as a contact, as the API would, and they can then act. The
// pages count in the service's metrics by route, never by a path that
// could carry a sign-in link's secret.
func TestBrowserManagerStepsIn(t *testing.T) {
	s := startSystemWith(t, harness{pages: true})
	hana := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	s.token("Mo Manager", "mo@nct.example", "nct", "manager")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", hana, map[string]any{
		"policy": "northamptonshire", "child_ref": "NCT/2026/0077", "category": "communication",
		"summary":    "Information not shared before a strategy discussion.",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}, &c); code != http.StatusCreated {
		t.Fatalf("start a case: %d", code)
	}
	mo := newBrowser(t, 1280, 1000)
	s.signInAs(t, mo, "mo@nct.example", "/cases/"+c.Ref)
	page := waitFor(t, mo, "What you can do")
	if !strings.Contains(page, "Act as the line manager for your side") || strings.Contains(page, "Add a note") {
		t.Fatalf("a manager who is not on the case is offered: %s", page)
	}
	do(t, mo, chromedp.Click(chromedp.CSS(`a[href="/cases/`+c.Ref+`/do/step-in"]`)))
	waitFor(t, mo, "I am the line manager for this side")
	checkPage(t, mo, "step in as line manager")
	do(t, mo, chromedp.Click(chromedp.CSS("#submit")))
	after := waitFor(t, mo, "You are recorded as your side's contact")
	if !strings.Contains(after, "Add a note") {
		t.Errorf("after stepping in, no action is offered: %s", after)
	}
	checkPage(t, mo, "case page after stepping in")
	var got workflows.Case
	if code := s.call("GET", "/v1/cases/"+c.Ref, hana, nil, &got); code != 200 {
		t.Fatalf("read the case: %d", code)
	}
	found := false
	for _, ct := range got.Contacts {
		found = found || (ct.Email == "mo@nct.example" && ct.Side == workflows.SideRespondent && ct.Role == "Line manager" && ct.Stage == 1)
	}
	var event bool
	for _, h := range got.History {
		event = event || (h.Type == workflows.EventContact && h.By == "Mo Manager")
	}
	if !found || !event {
		t.Fatalf("stepping in is not recorded as a contact: %+v %+v", got.Contacts, got.History)
	}
	// Now a party, the manager acts: a note.
	do(t, mo, chromedp.Click(chromedp.CSS(`a[href="/cases/`+c.Ref+`/do/note"]`)))
	waitFor(t, mo, "A discussion or a decision")
	checkPage(t, mo, "add a note")
	do(t, mo, chromedp.SendKeys(chromedp.CSS("#text"), "Spoke to Sam; the chronology goes to Hana today."), chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, mo, "Your note is recorded")
	// The same form sent twice at once (a double click) records one note.
	do(t, mo, chromedp.Navigate(s.url+"/cases/"+c.Ref+"/do/note"))
	waitFor(t, mo, "A discussion or a decision")
	codes := run(t, mo, chromedp.Evaluate[[]int](`(() => {
		const body = new URLSearchParams(new FormData(document.querySelector('main form')));
		body.set('text', 'Sent twice, recorded once.');
		const send = () => fetch(location.pathname, {method: 'POST', body: body, redirect: 'manual'}).then(r => r.status);
		return Promise.all([send(), send()]);
	})()`, chromedp.EvalAwaitPromise))
	if len(codes) != 2 {
		t.Fatalf("double submit: %v", codes)
	}
	if code := s.call("GET", "/v1/cases/"+c.Ref, hana, nil, &got); code != 200 {
		t.Fatalf("read the case: %d", code)
	}
	twice := 0
	for _, h := range got.History {
		if h.Type == workflows.EventNote && strings.Contains(h.Text, "Sent twice, recorded once.") {
			twice++
		}
	}
	if twice != 1 {
		t.Errorf("a form sent twice recorded %d notes (answers %v)", twice, codes)
	}

	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	metrics := string(body)
	for _, want := range []string{
		`escalate_http_requests_total{method="GET",route="/cases/:ref",status="200"}`,
		`escalate_http_requests_total{method="GET",route="/sign-in/link/:token",status="200"}`,
		`escalate_http_requests_total{method="POST",route="/cases/:ref/do/:action",status="303"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if regexp.MustCompile(`/sign-in/link/[A-Za-z0-9_-]{43}`).MatchString(metrics) || strings.Contains(metrics, c.Ref) {
		t.Error("metrics carry a path")
	}
}

// The partnership, at its stage of a drill: the case page offers the
// mediation meeting before the outcome (the workflow's own order); the
// partnership records the meeting, then the outcome, and the case closes.
func TestBrowserPartnershipMeetingAndOutcome(t *testing.T) {
	s := startSystemWith(t, harness{pages: true})
	hana := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	s.token("Pat Partnership", "pat@nscp.example", "northamptonshire-fastdrill", "partnership")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", hana, map[string]any{
		"policy": "northamptonshire-fastdrill", "child_ref": "NCT/2026/0311", "category": "need-for-action", "summary": "Drift in the plan.",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}, &c); code != http.StatusCreated {
		t.Fatalf("start a case: %d", code)
	}
	s.awaitStage(t, c.Ref, hana, 5)
	pat := newBrowser(t, 1280, 1000)
	s.signInAs(t, pat, "pat@nscp.example", "/cases/"+c.Ref)
	page := waitFor(t, pat, "What you can do")
	if !strings.Contains(page, "Record the mediation meeting") || strings.Contains(page, "Record the partnership's outcome") {
		t.Fatalf("partnership offered before the meeting: %s", page)
	}
	do(t, pat, chromedp.Click(chromedp.CSS(`a[href="/cases/`+c.Ref+`/do/meeting"]`)))
	waitFor(t, pat, "Was it offered and declined")
	checkPage(t, pat, "record the meeting")
	day := time.Now().In(time.UTC)
	do(t, pat,
		chromedp.SendKeys(chromedp.CSS("#at-day"), fmt.Sprint(day.Day())),
		chromedp.SendKeys(chromedp.CSS("#at-month"), fmt.Sprint(int(day.Month()))),
		chromedp.SendKeys(chromedp.CSS("#at-year"), fmt.Sprint(day.Year())),
		chromedp.SendKeys(chromedp.CSS("#at-time"), "10:00"),
		chromedp.Click(chromedp.CSS("#declined-1")),
		chromedp.Click(chromedp.CSS("#submit")))
	after := waitFor(t, pat, "The meeting is recorded")
	if !strings.Contains(after, "Record the partnership's outcome") {
		t.Fatalf("no outcome offered after the meeting: %s", after)
	}
	do(t, pat, chromedp.Click(chromedp.CSS(`a[href="/cases/`+c.Ref+`/do/outcome"]`)))
	waitFor(t, pat, "Is the disagreement resolved?")
	checkPage(t, pat, "record the outcome")
	do(t, pat, chromedp.Click(chromedp.CSS("#resolved")), chromedp.SendKeys(chromedp.CSS("#outcome"), "Agreed at mediation: a strategy discussion this week."))
	if ok := run(t, pat, chromedp.Evaluate[bool](`!!document.querySelector('#case_review_considered')`)); ok {
		do(t, pat, chromedp.Click(chromedp.CSS("#case_review_considered-1")))
	}
	do(t, pat, chromedp.Click(chromedp.CSS("#submit")))
	closed := waitFor(t, pat, "The outcome is recorded and the case is closed")
	if !strings.Contains(closed, "Resolved") || strings.Contains(closed, "Record the partnership's outcome") {
		t.Errorf("after the outcome: %s", closed)
	}
	checkPage(t, pat, "case closed by the partnership")
}

// The partnership's review, where the procedure asks it to check that the
// earlier stages were followed before its own meeting: offered first,
// recorded from the browser, and then the meeting is offered.
func TestBrowserPartnershipReview(t *testing.T) {
	s := startSystemWith(t, harness{pages: true})
	hana := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	s.token("Dee Devon", "dee@devon.example", "devon-fastdrill", "partnership")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", hana, map[string]any{
		"policy": "devon-fastdrill", "child_ref": "DCC/2026/0009", "category": "other", "category_detail": "Respite care arrangements",
		"summary": "Respite care stopped without a plan.", "respondent": map[string]string{"name": "Sam Social", "email": "sam@dcc.example", "agency": "dcc"},
	}, &c); code != http.StatusCreated {
		t.Fatalf("start a case: %d", code)
	}
	s.awaitStage(t, c.Ref, hana, 5)
	dee := newBrowser(t, 1280, 1000)
	s.signInAs(t, dee, "dee@devon.example", "/cases/"+c.Ref)
	page := waitFor(t, dee, "What you can do")
	if !strings.Contains(page, "Review whether the earlier stages were followed") || strings.Contains(page, "Record the Business Group meeting") {
		t.Fatalf("before the review: %s", page)
	}
	if !strings.Contains(page, "Respite care arrangements") {
		t.Errorf("the case page does not show the category's detail: %s", page)
	}
	do(t, dee, chromedp.Click(chromedp.CSS(`a[href="/cases/`+c.Ref+`/do/review"]`)))
	waitFor(t, dee, "Were the earlier stages followed?")
	checkPage(t, dee, "partnership review")
	do(t, dee, chromedp.Click(chromedp.CSS("#followed")), chromedp.SendKeys(chromedp.CSS("#next_steps"), "To the Business Group's next meeting."),
		chromedp.Click(chromedp.CSS("#submit")))
	after := waitFor(t, dee, "The review is recorded")
	if !strings.Contains(after, "Record the Business Group meeting") {
		t.Errorf("after the review, the meeting is not offered: %s", after)
	}
}

// awaitStage waits up to a minute for a drill case to climb to stage n on
// its own, reading it as who.
func (s *system) awaitStage(t *testing.T, ref, who string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var cur workflows.Case
		s.call("GET", "/v1/cases/"+ref, who, nil, &cur)
		if cur.Stage.Number == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the drill did not reach stage %d: %+v", n, cur.Stage)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
