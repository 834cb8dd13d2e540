package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"escalate/store"
)

type fakeDigests struct {
	mu    sync.Mutex
	syncs []string
}

func (d *fakeDigests) Sync(_ context.Context, policy string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syncs = append(d.syncs, policy)
	return nil
}

func (f *fixture) addToken(id, name, email, agency, role string) {
	f.t.Helper()
	if _, err := f.st.CreateToken(context.Background(), store.Token{ID: id, Name: name, Email: email, Agency: agency, Role: role, CreatedBy: "test"},
		[]byte("hash-"+id)); err != nil {
		f.t.Fatal(err)
	}
}

var figurePattern = regexp.MustCompile(`data-figure="([^"]+)">([^<]*)<`)

// figures are the page's figures by key.
func figures(body string) map[string]string {
	out := map[string]string{}
	for _, m := range figurePattern.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// Only the partnership of the policy and admins see its pages; everyone
// else is refused, the downloads and the meeting form too.
func TestPartnershipPagesAccess(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	f.addCase("NSCP-2026-00001", "hana@nhft.example", "nhft", "sam@nct.example", "Northamptonshire Children's Trust (children's social care)")
	f.addToken("t-pat", "Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")
	f.addToken("t-dee", "Dee Devon", "dee@devon.example", "devon", "partnership")
	f.addToken("t-mo", "Mo Manager", "mo@nct.example", "nct", "manager")
	f.addToken("t-ada", "Ada Admin", "ada@escalate.example", "", "admin")
	paths := []string{"/partnership/pack", "/partnership/cases", "/partnership/pack.csv", "/partnership/pack.pdf", "/partnership/meetings"}

	// Not signed in: sent to sign in.
	anon := f.browser()
	for _, p := range paths {
		if pg := anon.get(p); pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.header.Get("Location"), "/sign-in?next=") {
			t.Errorf("%s signed out: %d %s", p, pg.status, pg.header.Get("Location"))
		}
	}
	for _, who := range []string{"hana@nhft.example", "mo@nct.example"} {
		b := f.browser()
		b.signIn(who, "")
		for _, p := range paths {
			pg := b.get(p)
			if pg.status != http.StatusForbidden || strings.Contains(pg.body, "data-figure") || strings.Contains(pg.body, "data-case=") {
				t.Errorf("%s, %s: %d", who, p, pg.status)
			}
		}
		form := b.get("/cases")
		if pg := b.post("/partnership/meetings", url.Values{"csrf_token": {form.csrf(t)}, "day": {"1"}, "month": {"2"}, "year": {"2027"}}); pg.status != http.StatusForbidden {
			t.Errorf("%s adding a meeting: %d", who, pg.status)
		}
		if strings.Contains(form.body, `href="/partnership/pack"`) {
			t.Errorf("%s is shown the meeting pack's link", who)
		}
	}
	if ms, _ := f.st.Meetings(context.Background(), "northamptonshire"); len(ms) != 0 {
		t.Errorf("a refused request kept a meeting: %v", ms)
	}

	// Another partnership sees its own, never this one's.
	dee := f.browser()
	dee.signIn("dee@devon.example", "")
	if pg := dee.get("/partnership/pack?policy=northamptonshire"); pg.status != http.StatusForbidden {
		t.Errorf("devon asking for northamptonshire's pack: %d", pg.status)
	}
	if pg := dee.get("/partnership/cases"); pg.status != http.StatusOK || strings.Contains(pg.body, "NSCP-2026-00001") {
		t.Errorf("devon's own cases: %d", pg.status)
	}

	pat := f.browser()
	pat.signIn("pat@nscp.example", "")
	pack := pat.get("/partnership/pack")
	if pack.status != http.StatusOK {
		t.Fatalf("pat's pack: %d %s", pack.status, pack.body)
	}
	figs := figures(pack.body)
	for k, want := range map[string]string{"totals/raised": "1", "raising/nhft": "1", "receiving/nct": "1", "raising/nct": "0",
		"by_highest_stage/2/this": "1", "by_category/communication/this": "1", "by_month/period/communication": "1"} {
		if figs[k] != want {
			t.Errorf("pack figure %s = %q, want %q", k, figs[k], want)
		}
	}
	if strings.Contains(pack.body, `data-without="nct"`) || !strings.Contains(pack.body, `data-without="northants-police"`) {
		t.Error("agencies without: nct received a case (declared by its name) and is not without; the police are")
	}
	// Months, categories, stages, resolution, missed by stage, agencies
	// (none missed: no chart of missed by agency).
	if n := strings.Count(pack.body, `<svg `); n != 6 || strings.Count(pack.body, "<title id=") != 6 {
		t.Errorf("%d charts, want 6 each with a title", n)
	}
	if !strings.Contains(pack.body, `href="/partnership/pack"`) || !strings.Contains(pack.body, `aria-current="page">Meeting pack`) {
		t.Error("the nav lacks the meeting pack")
	}
	csvPage := pat.get("/partnership/pack.csv")
	rows, err := csv.NewReader(strings.NewReader(csvPage.body)).ReadAll()
	if csvPage.status != http.StatusOK || err != nil || !strings.HasPrefix(csvPage.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %v", csvPage.status, err)
	}
	cells := map[string]string{}
	for _, r := range rows {
		cells[r[0]+"/"+r[1]] = r[3]
	}
	for k, v := range figs {
		if strings.HasSuffix(k, "/year_earlier") && strings.HasPrefix(k, "totals/") {
			continue
		}
		if cells[k] != v {
			t.Errorf("CSV %s = %q, page %q", k, cells[k], v)
		}
	}
	pdf := pat.get("/partnership/pack.pdf")
	if pdf.status != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") || pdf.header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(pdf.header.Get("Content-Disposition"), "meeting-pack-northamptonshire-") {
		t.Errorf("PDF: %d %q %q", pdf.status, pdf.header.Get("Content-Type"), pdf.header.Get("Content-Disposition"))
	}
	if pg := pat.get("/partnership/pack?from=2026-13-01&to=2026-12-01"); pg.status != http.StatusBadRequest || !strings.Contains(pg.body, "govuk-error-summary") {
		t.Errorf("bad date: %d", pg.status)
	}
	if pg := pat.get("/partnership/pack?from=2026-05-01&to=2026-04-01"); pg.status != http.StatusBadRequest {
		t.Errorf("to before from: %d", pg.status)
	}
	if pg := pat.get("/partnership/pack?from=2000-01-01&to=2026-04-01"); pg.status != http.StatusBadRequest {
		t.Errorf("26 years: %d", pg.status)
	}
	if pg := pat.get("/partnership/pack?from=2020-04-01&to=2021-03-31"); pg.status != http.StatusOK || figures(pg.body)["totals/raised"] != "0" {
		t.Errorf("an empty period: %d %v", pg.status, figures(pg.body)["totals/raised"])
	}
	list := pat.get("/partnership/cases?agency=nct&status=open")
	if list.status != http.StatusOK || !strings.Contains(list.body, `data-case="NSCP-2026-00001"`) {
		t.Errorf("cases by agency nct: %d", list.status)
	}
	if pg := pat.get("/partnership/cases?agency=atlantis"); pg.status != http.StatusBadRequest {
		t.Errorf("an unknown agency: %d", pg.status)
	}
	if pg := pat.get("/partnership/cases?category=roles-responsibilities"); pg.status != http.StatusOK || strings.Contains(pg.body, `data-case=`) {
		t.Errorf("another category: %d", pg.status)
	}

	// Meeting dates: added with the form (CSRF), refused when not a date,
	// and the digest's schedule is brought in step each time.
	digests := &fakeDigests{}
	f.srv.cfg.Digests = digests
	form := pat.get("/partnership/meetings")
	if form.status != http.StatusOK {
		t.Fatalf("meetings: %d", form.status)
	}
	next := f.clock.Now().AddDate(0, 1, 0)
	if pg := pat.post("/partnership/meetings", url.Values{"csrf_token": {form.csrf(t)}, "day": {next.Format("2")}, "month": {next.Format("1")},
		"year": {next.Format("2006")}}); pg.status != http.StatusSeeOther {
		t.Fatalf("add a meeting: %d %s", pg.status, pg.body)
	}
	for _, bad := range []url.Values{{"day": {"31"}, "month": {"2"}, "year": {"2027"}}, {"day": {"x"}, "month": {"2"}, "year": {"2027"}},
		{"day": {"1"}, "month": {"1"}, "year": {"2099"}}, {}} {
		bad.Set("csrf_token", form.csrf(t))
		if pg := pat.post("/partnership/meetings", bad); pg.status != http.StatusBadRequest || !strings.Contains(pg.body, "govuk-error-summary") {
			t.Errorf("meeting %v: %d", bad, pg.status)
		}
	}
	if pg := pat.post("/partnership/meetings", url.Values{"day": {"1"}, "month": {"2"}, "year": {"2027"}}); pg.status != http.StatusForbidden {
		t.Errorf("without its CSRF token: %d", pg.status)
	}
	ms, _ := f.st.Meetings(context.Background(), "northamptonshire")
	if len(ms) != 1 || ms[0] != next.Format("2006-01-02") {
		t.Errorf("meetings kept: %v", ms)
	}
	if pg := pat.post("/partnership/meetings/remove", url.Values{"csrf_token": {form.csrf(t)}, "date": {ms[0]}}); pg.status != http.StatusSeeOther {
		t.Errorf("remove: %d", pg.status)
	}
	if ms, _ := f.st.Meetings(context.Background(), "northamptonshire"); len(ms) != 0 {
		t.Errorf("after removing: %v", ms)
	}
	if strings.Join(digests.syncs, " ") != "northamptonshire northamptonshire" {
		t.Errorf("digest syncs %v, want one per change", digests.syncs)
	}

	// An admin chooses the policy.
	ada := f.browser()
	ada.signIn("ada@escalate.example", "")
	if pg := ada.get("/partnership/pack?policy=northamptonshire"); pg.status != http.StatusOK || figures(pg.body)["totals/raised"] != "1" {
		t.Errorf("admin: %d", pg.status)
	}
	if pg := ada.get("/partnership/pack?policy=atlantis"); pg.status != http.StatusNotFound {
		t.Errorf("admin, unknown policy: %d", pg.status)
	}
}

// The meeting forms refuse, with nothing kept: a practitioner, a manager
// and another partnership (adding or removing); a POST without its CSRF
// token; control characters, invalid UTF-8 and huge values in the date
// (an error summary); a removal that names no date.
func TestMeetingFormsRefuse(t *testing.T) {
	f := newFixture(t, "http://escalate.test")
	f.addCase("NSCP-2026-00001", "hana@nhft.example", "nhft", "sam@nct.example", "Northamptonshire Children's Trust (children's social care)")
	f.addToken("t-pat", "Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")
	f.addToken("t-dee", "Dee Devon", "dee@devon.example", "devon", "partnership")
	f.addToken("t-mo", "Mo Manager", "mo@nct.example", "nct", "manager")
	ctx := context.Background()
	digests := &fakeDigests{}
	f.srv.cfg.Digests = digests
	kept := f.clock.Now().AddDate(0, 2, 0).Format("2006-01-02")
	if err := f.st.AddMeeting(ctx, "northamptonshire", kept, "pat@nscp.example"); err != nil {
		t.Fatal(err)
	}
	unchanged := func(when string) {
		t.Helper()
		ms, err := f.st.Meetings(ctx, "northamptonshire")
		if err != nil || len(ms) != 1 || ms[0] != kept {
			t.Errorf("%s: meetings %v %v, want only %s", when, ms, err, kept)
		}
		if ms, _ := f.st.Meetings(ctx, "devon"); len(ms) != 0 {
			t.Errorf("%s: devon's meetings %v", when, ms)
		}
		if len(digests.syncs) != 0 {
			t.Errorf("%s: digest synced %v", when, digests.syncs)
		}
	}

	for _, who := range []string{"hana@nhft.example", "mo@nct.example"} {
		b := f.browser()
		b.signIn(who, "")
		tok := b.get("/cases").csrf(t)
		if pg := b.post("/partnership/meetings", url.Values{"csrf_token": {tok}, "policy": {"northamptonshire"}, "day": {"1"}, "month": {"2"}, "year": {"2027"}}); pg.status != http.StatusForbidden {
			t.Errorf("%s adding a meeting: %d", who, pg.status)
		}
		if pg := b.post("/partnership/meetings/remove", url.Values{"csrf_token": {tok}, "policy": {"northamptonshire"}, "date": {kept}}); pg.status != http.StatusForbidden {
			t.Errorf("%s removing a meeting: %d", who, pg.status)
		}
	}
	unchanged("a stranger")

	// Another partnership naming this one's policy is refused; without a
	// policy it changes only its own.
	dee := f.browser()
	dee.signIn("dee@devon.example", "")
	deeTok := dee.get("/partnership/meetings").csrf(t)
	if pg := dee.post("/partnership/meetings", url.Values{"csrf_token": {deeTok}, "policy": {"northamptonshire"}, "day": {"1"}, "month": {"2"}, "year": {"2027"}}); pg.status != http.StatusForbidden {
		t.Errorf("devon adding to northamptonshire: %d", pg.status)
	}
	if pg := dee.post("/partnership/meetings/remove", url.Values{"csrf_token": {deeTok}, "policy": {"northamptonshire"}, "date": {kept}}); pg.status != http.StatusForbidden {
		t.Errorf("devon removing northamptonshire's: %d", pg.status)
	}
	if pg := dee.post("/partnership/meetings/remove", url.Values{"csrf_token": {deeTok}, "date": {kept}}); pg.status != http.StatusSeeOther {
		t.Errorf("devon removing a date it does not have: %d", pg.status)
	}
	digests.syncs = nil // devon's own (empty) removal synced devon's schedule
	unchanged("another partnership")

	pat := f.browser()
	pat.signIn("pat@nscp.example", "")
	tok := pat.get("/partnership/meetings").csrf(t)
	if pg := pat.post("/partnership/meetings", url.Values{"day": {"1"}, "month": {"2"}, "year": {"2027"}}); pg.status != http.StatusForbidden {
		t.Errorf("adding without its CSRF token: %d", pg.status)
	}
	if pg := pat.post("/partnership/meetings/remove", url.Values{"date": {kept}}); pg.status != http.StatusForbidden {
		t.Errorf("removing without its CSRF token: %d", pg.status)
	}
	if pg := pat.post("/partnership/meetings/remove", url.Values{"csrf_token": {"not-the-token"}, "date": {kept}}); pg.status != http.StatusForbidden {
		t.Errorf("removing with a wrong CSRF token: %d", pg.status)
	}
	huge := strings.Repeat("1", 10000) // within the body's limit: the handler's own refusal
	for name, bad := range map[string]url.Values{
		"control character": {"day": {"1\x00"}, "month": {"2"}, "year": {"2027"}},
		"line break":        {"day": {"1"}, "month": {"2\n"}, "year": {"2027"}},
		"invalid UTF-8":     {"day": {"1"}, "month": {"\xff\xfe"}, "year": {"2027"}},
		"huge day":          {"day": {huge}, "month": {"2"}, "year": {"2027"}},
		"huge year":         {"day": {"1"}, "month": {"2"}, "year": {huge}},
	} {
		bad.Set("csrf_token", tok)
		pg := pat.post("/partnership/meetings", bad)
		if pg.status != http.StatusBadRequest || !strings.Contains(pg.body, "govuk-error-summary") {
			t.Errorf("meeting with a %s: %d", name, pg.status)
		}
		if strings.Contains(pg.body, huge) {
			t.Errorf("meeting with a %s: the huge value is shown back", name)
		}
	}
	for name, date := range map[string]string{"none": "", "not a date": "tomorrow", "control character": kept + "\x00",
		"invalid UTF-8": "\xff" + kept, "huge": strings.Repeat("2", 10000)} {
		if pg := pat.post("/partnership/meetings/remove", url.Values{"csrf_token": {tok}, "date": {date}}); pg.status != http.StatusBadRequest {
			t.Errorf("removing %s: %d", name, pg.status)
		}
	}
	// Over the body's limit: refused before the form is read.
	if pg := pat.post("/partnership/meetings", url.Values{"csrf_token": {tok}, "day": {strings.Repeat("1", 100000)}, "month": {"2"}, "year": {"2027"}}); pg.status < 400 {
		t.Errorf("a body over the limit: %d", pg.status)
	}
	unchanged("refused input")
}
