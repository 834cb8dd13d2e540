package integration

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"go.temporal.io/sdk/client"

	"escalate/policies"
	"escalate/store"
	"escalate/worker"
	"escalate/workflows"
)

const packPolicy = "northamptonshire-fastdrill"

// pageClient is a browser without a browser: a cookie jar, redirects not
// followed, signed in through the pages with the link mailed to MailDev.
type pageClient struct {
	t   *testing.T
	s   *system
	c   *http.Client
	csr string
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (s *system) pageClient(t *testing.T, email string) *pageClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	pc := &pageClient{t: t, s: s, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, form := pc.get("/sign-in")
	if code, body := pc.post("/sign-in", url.Values{"email": {email}, "csrf_token": {csrfOf(t, form)}}); code != 200 {
		t.Fatalf("ask for a sign-in link: %d %s", code, body)
	}
	link := strings.TrimPrefix(s.signInLink(t, email), s.url)
	_, land := pc.get(link)
	tok := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(land)
	if tok == nil {
		t.Fatalf("the link's page has no token: %s", land)
	}
	if code, _ := pc.post("/sign-in/link", url.Values{"token": {tok[1]}, "csrf_token": {csrfOf(t, land)}}); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	_, home := pc.get("/cases")
	pc.csr = csrfOf(t, home)
	return pc
}

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in %.300s", body)
	}
	return m[1]
}

func (pc *pageClient) get(path string) (int, string) {
	pc.t.Helper()
	resp, err := pc.c.Get(pc.s.url + path)
	if err != nil {
		pc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (pc *pageClient) post(path string, form url.Values) (int, string) {
	pc.t.Helper()
	resp, err := pc.c.PostForm(pc.s.url+path, form)
	if err != nil {
		pc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var packFigure = regexp.MustCompile(`data-figure="([^"]+)">([^<]*)<`)

// The meeting pack's numbers are right: cases started through the API on
// the drill policy, acted on and left to climb by themselves, then every
// figure of the page and of the CSV compared with a count made here from
// the cases as the API returns them. The page passes axe-core in headless
// Chromium, prints on A4 with its charts, and its picture is taken for the
// README (make screenshots). The digest's schedule, triggered, mails the
// business office the same headline figures through MailDev, and follows
// the meeting dates set on the pages.
func TestMeetingPackEndToEnd(t *testing.T) {
	s := startSystemWith(t, harness{pages: true})
	hana := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	sam := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	pc := s.token("Pat Constable", "pc@police.example", "northants-police", "practitioner")
	s.token("Pat Lead", "pat@nscp.example", packPolicy, "partnership")
	s.token("Pam Office", "pam@nscp.example", packPolicy, "partnership")
	s.token("Mo Manager", "mo@nct.example", "nct", "manager")

	open := func(token, category string, respondent map[string]string) string {
		t.Helper()
		var c workflows.Case
		if code := s.call("POST", "/v1/cases", token, map[string]any{"policy": packPolicy, "child_ref": "PACK/1", "category": category,
			"summary": "Pack test", "respondent": respondent}, &c); code != http.StatusCreated {
			t.Fatalf("start: %d", code)
		}
		return c.Ref
	}
	samParty := map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}
	hanaParty := map[string]string{"name": "Hana Visitor", "email": "hana@nhft.example", "agency": "nhft"}
	// The police declared by name, and an agency outside the directory.
	police := map[string]string{"name": "Pat Constable", "email": "pc@police.example", "agency": "Northamptonshire Police"}
	gp := map[string]string{"name": "Dr Gee", "email": "gee@gp.example", "agency": "Abington GP surgery"}

	// Resolved with learning (at whatever stage the 2-second drill has
	// reached when the two sides agree), withdrawn twice, and one left to
	// climb to the partnership stage and stay there overdue.
	agreed := open(hana, "communication", samParty)
	s.call("POST", "/v1/cases/"+agreed+"/agreement", sam, map[string]any{"outcome": "Plan shared", "learning": "Share the plan the same day",
		"actions": []map[string]string{{"what": "Send plan", "who": "Sam", "by": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}}}, nil)
	s.call("POST", "/v1/cases/"+agreed+"/agreement/confirm", hana, map[string]any{}, nil)
	withdrawn := open(hana, "threshold-csc-assessment", police)
	s.call("POST", "/v1/cases/"+withdrawn+"/withdrawal", hana, map[string]any{"reason": "Agreed on the phone"}, nil)
	climbing := open(sam, "roles-responsibilities", hanaParty)
	outside := open(pc, "communication", gp)
	s.call("POST", "/v1/cases/"+outside+"/withdrawal", pc, map[string]any{"reason": "Sorted"}, nil)
	refs := []string{agreed, withdrawn, climbing, outside}

	// Wait until every case has settled: closed, or past the last stage's
	// deadline (where it stays, overdue).
	deadline := time.Now().Add(90 * time.Second)
	for {
		settled := true
		for _, ref := range refs {
			var c workflows.Case
			s.call("GET", "/v1/cases/"+ref, adminToken, nil, &c)
			if !c.Closed() && !passedAt(c, 5) {
				settled = false
			}
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cases did not settle within 90 s")
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The independent count, from the cases as the API returns them.
	pols, err := policies.Load("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := pols.Get(packPolicy)
	london, _ := time.LoadLocation("Europe/London")
	agencyOf := map[string][2]string{ // ref: raising, receiving directory ids
		agreed: {"nhft", "nct"}, withdrawn: {"nhft", "northants-police"}, climbing: {"nct", "nhft"}, outside: {"northants-police", "outside_directory"},
	}
	want := map[string]string{}
	add := func(k string, n int) {
		v, _ := strconv.Atoi(want[k])
		want[k] = strconv.Itoa(v + n)
	}
	for _, cat := range pol.Categories {
		want["by_category/"+cat.ID+"/this"] = "0"
		want["by_category/"+cat.ID+"/year_earlier"] = "0"
	}
	want["by_month/period/year_earlier"] = "0"
	for _, st := range pol.Stages {
		want[fmt.Sprintf("by_highest_stage/%d/this", st.Number)] = "0"
		want[fmt.Sprintf("by_highest_stage/%d/year_earlier", st.Number)] = "0"
		want[fmt.Sprintf("deadlines_missed_by_stage/%d/this", st.Number)] = "0"
		want[fmt.Sprintf("deadlines_missed_by_stage/%d/year_earlier", st.Number)] = "0"
		want[fmt.Sprintf("time_to_resolution_stage_%d/resolved", st.Number)] = "0"
		want[fmt.Sprintf("time_to_resolution_stage_%d/resolved_year_earlier", st.Number)] = "0"
	}
	for _, a := range pol.DirectoryAgencies() {
		for _, k := range []string{"raising/", "receiving/"} {
			want[k+a.ID] = "0"
			want[k+a.ID+"/year_earlier"] = "0"
		}
	}
	for _, k := range []string{"raising/outside_directory", "receiving/outside_directory"} {
		want[k], want[k+"/year_earlier"] = "0", "0"
	}
	for _, k := range []string{"raised", "resolved", "reached_partnership_stage", "deadlines_missed", "agencies_without", "learning"} {
		want["totals/"+k] = "0"
		want["totals/"+k+"/year_earlier"] = "0"
	}
	want["totals/open_now"], want["totals/overdue_now"] = "0", "0"
	involved := map[string]bool{}
	missedByAgency := map[string]int{}
	month := ""
	resolvedHours := map[int][]float64{}
	for _, ref := range refs {
		var c workflows.Case
		if code := s.call("GET", "/v1/cases/"+ref, adminToken, nil, &c); code != 200 {
			t.Fatalf("read %s: %d", ref, code)
		}
		month = c.CreatedAt.In(london).Format("2006-01")
		add("totals/raised", 1)
		add("by_month/period/total", 1)
		add("by_month/period/"+c.Category, 1)
		add("by_category/"+c.Category+"/this", 1)
		add("by_month/"+month+"/"+c.Category, 1)
		add("by_month/"+month+"/total", 1)
		highest := c.Stage.Number
		missed := 0
		for _, ev := range c.History {
			if ev.Type == workflows.EventStageEntered && ev.Stage > highest {
				highest = ev.Stage
			}
			if ev.Type == workflows.EventDeadlinePassed {
				missed++
				add(fmt.Sprintf("deadlines_missed_by_stage/%d/this", ev.Stage), 1)
			}
		}
		add(fmt.Sprintf("by_highest_stage/%d/this", highest), 1)
		if highest >= pol.PartnershipStage() {
			add("totals/reached_partnership_stage", 1)
		}
		add("totals/deadlines_missed", missed)
		ag := agencyOf[ref]
		add("raising/"+ag[0], 1)
		add("receiving/"+ag[1], 1)
		involved[ag[0]], involved[ag[1]] = true, true
		if missed > 0 {
			missedByAgency[ag[0]] += missed
			if ag[1] != ag[0] {
				missedByAgency[ag[1]] += missed
			}
		}
		if c.Status == workflows.StatusResolved {
			add("totals/resolved", 1)
			add(fmt.Sprintf("time_to_resolution_stage_%d/resolved", c.Stage.Number), 1)
			resolvedHours[c.Stage.Number] = append(resolvedHours[c.Stage.Number], c.ClosedAt.Sub(c.CreatedAt).Hours())
		}
		if (c.Closed() && c.Learning != "") || (!c.Closed() && c.Agreement != nil && c.Agreement.Learning != "") {
			add("totals/learning", 1)
		}
		if !c.Closed() {
			add("totals/open_now", 1)
			if c.Stage.Overdue {
				add("totals/overdue_now", 1)
			}
		}
	}
	for id, n := range missedByAgency {
		want["deadlines_missed_by_agency/"+id+"/this"] = strconv.Itoa(n)
		want["deadlines_missed_by_agency/"+id+"/year_earlier"] = "0"
	}
	without := 0
	for _, a := range pol.DirectoryAgencies() {
		if !involved[a.ID] {
			without++
		}
	}
	want["totals/agencies_without"] = strconv.Itoa(without)
	want["totals/agencies_without/year_earlier"] = strconv.Itoa(len(pol.DirectoryAgencies()))
	if want["totals/overdue_now"] != "1" || want["totals/raised"] != "4" || want["totals/deadlines_missed"] == "0" ||
		want["totals/learning"] != "1" {
		t.Fatalf("the seeded cases are not what the test needs: %v", want)
	}

	// The page, as the business office sees it.
	pat := s.pageClient(t, "pat@nscp.example")
	code, page := pat.get("/partnership/pack")
	if code != 200 {
		t.Fatalf("pack: %d", code)
	}
	got := map[string]string{}
	for _, m := range packFigure.FindAllStringSubmatch(page, -1) {
		got[m[1]] = m[2]
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("page %s = %q, counted %q", k, got[k], w)
		}
	}
	// Every figure on the page is one the test counted, or a time.
	for k, v := range got {
		if _, ok := want[k]; ok {
			continue
		}
		switch {
		case strings.HasSuffix(k, "_year_earlier") && strings.HasPrefix(k, "time_to_resolution_stage_"):
			if v != "–" {
				t.Errorf("page %s = %q, want – (nothing a year earlier)", k, v)
			}
		case strings.Contains(k, "_working_days"):
			if len(resolvedHours[stageOfKey(k)]) > 0 {
				if v != "0" {
					t.Errorf("page %s = %q: a case resolved within the hour took 0 working days", k, v)
				}
			} else if v != "–" {
				t.Errorf("page %s = %q, want – (none resolved)", k, v)
			}
		case strings.HasSuffix(k, "/median_hours"):
			if hs := resolvedHours[stageOfKey(k)]; len(hs) > 0 {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || math.Abs(f-store.Percentile(hs, 0.5)) > 0.01 {
					t.Errorf("page %s = %q, counted %v", k, v, store.Percentile(hs, 0.5))
				}
			} else if v != "–" {
				t.Errorf("page %s = %q, want –", k, v)
			}
		case strings.HasPrefix(k, "by_month/"):
			if v != "0" {
				t.Errorf("page %s = %q: no case was raised then", k, v)
			}
		default:
			t.Errorf("page figure %s = %q was not counted by the test", k, v)
		}
	}
	for id := range involved {
		if strings.Contains(page, `data-without="`+id+`"`) {
			t.Errorf("%s had a case but is listed as without", id)
		}
	}
	if n := strings.Count(page, "data-without="); n != without {
		t.Errorf("%d agencies listed without, counted %d", n, without)
	}
	if !strings.Contains(page, `data-learning="`+agreed+`"`) {
		t.Errorf("the learning of %s is not listed", agreed)
	}

	// The CSV: the same figures under the same keys.
	code, body := pat.get("/partnership/pack.csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil {
		t.Fatalf("CSV: %d %v", code, err)
	}
	cells := map[string]string{}
	for _, r := range rows {
		if len(r) == 5 {
			cells[r[0]+"/"+r[1]] = r[3]
			if r[4] != "" && r[0] == "totals" {
				cells[r[0]+"/"+r[1]+"/year_earlier"] = r[4]
			}
		}
	}
	for k, v := range got {
		if cells[k] != v {
			t.Errorf("CSV %s = %q, page %q", k, cells[k], v)
		}
	}
	if code, body := pat.get("/partnership/pack.pdf"); code != 200 || !strings.HasPrefix(body, "%PDF-") || len(body) < 3000 {
		t.Errorf("PDF: %d, %d bytes", code, len(body))
	}

	// Someone else is refused, the CSV too.
	mo := s.pageClient(t, "mo@nct.example")
	for _, p := range []string{"/partnership/pack", "/partnership/pack.csv", "/partnership/cases"} {
		if code, body := mo.get(p); code != http.StatusForbidden || strings.Contains(body, "data-figure") || strings.Contains(body, "data-case=") {
			t.Errorf("a manager, %s: %d", p, code)
		}
	}
	// The list, filtered by agency (by the directory id, whatever was typed).
	if code, body := pat.get("/partnership/cases?agency=northants-police"); code != 200 ||
		!strings.Contains(body, `data-case="`+withdrawn+`"`) || !strings.Contains(body, `data-case="`+outside+`"`) || strings.Contains(body, `data-case="`+climbing+`"`) {
		t.Errorf("cases of northants-police: %d", code)
	}
	if code, body := pat.get("/partnership/cases?status=open&overdue=true"); code != 200 || !strings.Contains(body, `data-case="`+climbing+`"`) ||
		strings.Contains(body, `data-case="`+withdrawn+`"`) {
		t.Errorf("overdue cases: %d", code)
	}

	// The digest: its schedule, created as setup creates it, triggered.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	digests := &worker.DigestSchedules{Client: s.temporal, Store: s.store, Policies: pols, Log: quietSlog()}
	if err := digests.Sync(ctx, packPolicy); err != nil {
		t.Fatal(err)
	}
	handle := s.temporal.ScheduleClient().GetHandle(ctx, worker.DigestScheduleID(packPolicy))
	desc, err := handle.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cal := desc.Schedule.Spec.Calendars; len(cal) != 1 || cal[0].DayOfMonth[0].Start != 1 {
		t.Errorf("no meeting set: a monthly schedule, got %+v", cal)
	}
	if err := handle.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	office := pol.BusinessOffice.Email
	var digest caughtMail
	for end := time.Now().Add(30 * time.Second); digest.Subject == ""; {
		for _, m := range s.mail.Messages(t) {
			if strings.HasPrefix(m.Subject, "Escalations digest for ") && len(m.To) == 1 && m.To[0].Address == office {
				digest = m
			}
		}
		if time.Now().After(end) {
			t.Fatalf("no digest mailed to %s within 30 s", office)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, line := range []string{
		"Escalations raised: " + want["totals/raised"] + " (a year earlier: 0)",
		"Resolved by agreement or outcome: " + want["totals/resolved"] + " (a year earlier: 0)",
		"Stage deadlines missed: " + want["totals/deadlines_missed"] + " (a year earlier: 0)",
		"Directory agencies with no escalation either way: " + want["totals/agencies_without"],
		"Learning and good practice recorded: " + want["totals/learning"],
		"Open now: " + want["totals/open_now"] + ", of which overdue: " + want["totals/overdue_now"],
		"/partnership/pack?from=",
		"policy=" + packPolicy,
	} {
		if !strings.Contains(digest.Text, line) {
			t.Errorf("the digest lacks %q:\n%s", line, digest.Text)
		}
	}
	if strings.Contains(digest.Text, "Pack test") || strings.Contains(digest.Text, "PACK/1") {
		t.Error("the digest carries case detail")
	}

	// A meeting date set on the pages brings the schedule in step: the
	// digest goes out a week before it.
	_, form := pat.get("/partnership/meetings")
	meeting := time.Now().In(london).AddDate(0, 0, 30)
	if code, _ := pat.post("/partnership/meetings", url.Values{"csrf_token": {csrfOf(t, form)}, "day": {meeting.Format("2")},
		"month": {meeting.Format("1")}, "year": {meeting.Format("2006")}}); code != http.StatusSeeOther {
		t.Fatalf("add a meeting: %d", code)
	}
	desc, err = handle.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := meeting.AddDate(0, 0, -worker.DigestDaysBefore)
	if cal := desc.Schedule.Spec.Calendars; len(cal) != 1 || len(cal[0].Year) != 1 || cal[0].Year[0].Start != send.Year() ||
		cal[0].Month[0].Start != int(send.Month()) || cal[0].DayOfMonth[0].Start != send.Day() || cal[0].Hour[0].Start != worker.DigestHour {
		t.Errorf("after a meeting was set for %s, the schedule is %+v", meeting.Format(time.DateOnly), desc.Schedule.Spec.Calendars)
	}

	// In a browser: accessible, printable, and its picture.
	ctx2 := newBrowser(t, 1024, 900)
	do(t, ctx2, chromedp.Navigate(s.url+"/partnership/pack"))
	waitFor(t, ctx2, "What is your work email address?")
	do(t, ctx2, chromedp.SendKeys(chromedp.CSS("#email"), "pam@nscp.example"), chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitFor(t, ctx2, "Check your email")
	do(t, ctx2, chromedp.Navigate(s.signInLink(t, "pam@nscp.example")))
	do(t, ctx2, chromedp.Click(chromedp.CSS("form[action='/sign-in/link'] button")))
	txt := waitFor(t, ctx2, "Meeting pack")
	for _, w := range []string{"Escalations per month, by category", "Highest stage reached", "Time to resolution, by stage resolved at",
		"Deadlines missed, by stage", "Deadlines missed, by agency", "Agencies raising and receiving escalations",
		"Directory agencies with no escalation either way", "Learning and good practice recorded", "A year earlier"} {
		if !strings.Contains(txt, w) {
			t.Errorf("the pack in the browser lacks %q", w)
		}
	}
	checkAccessible(t, ctx2, "meeting pack")
	// The charts are drawn, each with its name.
	if n := run(t, ctx2, chromedp.Evaluate[int](`[...document.querySelectorAll('svg.app-chart[role=img]')].filter(s => s.getBoundingClientRect().width > 300 && document.getElementById(s.getAttribute('aria-labelledby').split(' ')[0])).length`)); n != 7 {
		t.Errorf("%d charts drawn with a title, want 7 (deadlines were missed)", n)
	}
	// Printed on A4: the navigation and forms are left out, the charts kept.
	do(t, ctx2, emulateMedia("print"))
	hidden := run(t, ctx2, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('.govuk-service-navigation')).display === 'none' &&
		getComputedStyle(document.querySelector('.app-no-print')).display === 'none' &&
		getComputedStyle(document.querySelector('svg.app-chart')).display !== 'none'`))
	if !hidden {
		t.Error("printed, the pack still shows its navigation or forms, or hides its charts")
	}
	do(t, ctx2, emulateMedia("screen"))
	checkAccessible(t, ctx2, "meeting pack, after print")

	do(t, ctx2, chromedp.Navigate(s.url+"/partnership/meetings"))
	waitFor(t, ctx2, "Meeting dates")
	checkAccessible(t, ctx2, "meeting dates")
	do(t, ctx2, chromedp.Navigate(s.url+"/partnership/cases"))
	waitFor(t, ctx2, "The partnership's cases")
	checkAccessible(t, ctx2, "the partnership's cases")

	if dir := os.Getenv("ESCALATE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		do(t, ctx2, chromedp.Navigate(s.url+"/partnership/pack"))
		waitFor(t, ctx2, "Meeting pack")
		for _, v := range []struct {
			suffix string
			width  int64
		}{{"desktop", 1024}, {"320", 320}} {
			do(t, ctx2, chromedp.EmulateViewport(v.width, 900))
			png := run(t, ctx2, chromedp.FullScreenshot(100))
			if err := os.WriteFile(filepath.Join(dir, "40-meeting-pack-"+v.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var stageKey = regexp.MustCompile(`^time_to_resolution_stage_(\d+)/`)

// stageOfKey is the stage of a time-to-resolution figure's key.
func stageOfKey(k string) int {
	m := stageKey.FindStringSubmatch(k)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// emulateMedia makes the page's CSS media print or screen.
func emulateMedia(media string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media})
		return err
	})
}

// passedAt: the case's history records stage n's deadline passing.
func passedAt(c workflows.Case, n int) bool {
	for _, ev := range c.History {
		if ev.Type == workflows.EventDeadlinePassed && ev.Stage == n {
			return true
		}
	}
	return false
}
