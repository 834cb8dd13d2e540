package integration

import (
	"context"
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
