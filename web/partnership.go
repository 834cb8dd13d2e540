package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/policies"
	"escalate/store"
)

// The partnership's pages: every case of its procedure, with filters, and
// the meeting pack for the group that reviews escalations (charts with
// their tables, learning, the same period a year earlier), printable, as
// CSV and as PDF; and the meeting dates the pack's period and the digest
// follow. Partnership people of the policy and admins only.

// DigestScheduler keeps the digest's Temporal schedule in step with a
// partnership's meeting dates (worker.DigestSchedules).
type DigestScheduler interface {
	Sync(ctx context.Context, policy string) error
}

// partnershipRoutes registers the partnership's pages.
func (s *Server) partnershipRoutes(r gin.IRoutes) {
	r.GET("/partnership", s.signedIn(func(c *gin.Context, _ cases.Principal) { c.Redirect(http.StatusSeeOther, "/partnership/pack") }))
	r.GET("/partnership/cases", s.signedIn(s.partnershipCases))
	r.GET("/partnership/pack", s.signedIn(s.packPage))
	r.GET("/partnership/pack.csv", s.signedIn(s.packCSV))
	r.GET("/partnership/pack.pdf", s.signedIn(s.packPDF))
	r.GET("/partnership/meetings", s.signedIn(s.meetingsPage))
	r.POST("/partnership/meetings", s.signedIn(s.addMeeting))
	r.POST("/partnership/meetings/remove", s.signedIn(s.removeMeeting))
}

var partnershipTemplates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"partnership_cases", "partnership_pack", "partnership_meetings", "partnership_refused"} {
		out[name] = template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFS, "templates/layout.tmpl", "templates/"+name+".tmpl"))
	}
	return out
}()

// renderPartnership writes one of the partnership's pages with the layout.
func (s *Server) renderPartnership(c *gin.Context, status int, name, title string, data any, errs []fieldError) {
	pd := pageData{Title: title, Errors: errs, Page: data, Static: s.staticVersion, RequestID: requestID(c), Nav: "partnership"}
	if p, ok := signedInAs(c); ok {
		pd.Person = &p
		pd.CSRF = s.csrfToken(c)
	}
	var buf bytes.Buffer
	if err := partnershipTemplates[name].Execute(&buf, pd); err != nil {
		s.log.Error("page: template", "request_id", requestID(c), "page", name, "error", err)
		s.errorPage(c, http.StatusInternalServerError)
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	c.Abort()
}

// overseen is the policy whose pages the person may see: a partnership
// person's own; for an admin, the one asked for (?policy=) or the first.
// Anyone else, or a policy they may not see, is refused (403) and logged.
func (s *Server) overseen(c *gin.Context, me cases.Principal) (policies.Policy, bool) {
	asked := c.Query("policy")
	if c.Request.Method == http.MethodPost {
		asked = c.PostForm("policy")
	}
	if len(asked) > 64 {
		s.errorPage(c, http.StatusBadRequest)
		return policies.Policy{}, false
	}
	id, ok := cases.OverseenPolicy(me, asked)
	if !ok {
		s.log.Warn("page: partnership page refused", "request_id", requestID(c), "route", c.FullPath(), "role", me.Role)
		s.renderPartnership(c, http.StatusForbidden, "partnership_refused", "You cannot see the partnership's pages", nil, nil)
		return policies.Policy{}, false
	}
	if id == "" { // an admin who named none
		all := s.cfg.Policies.All()
		sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
		for _, p := range all {
			if !p.Drill {
				return p, true
			}
		}
		if len(all) == 0 {
			s.errorPage(c, http.StatusNotFound)
			return policies.Policy{}, false
		}
		return all[0], true
	}
	p, ok := s.cfg.Policies.Get(id)
	if !ok {
		s.errorPage(c, http.StatusNotFound)
		return policies.Policy{}, false
	}
	return p, true
}

// policyChoice is an admin's choice of policy.
type policyChoice struct{ ID, Name string }

func (s *Server) policyChoices(me cases.Principal) []policyChoice {
	if me.Role != cases.RoleAdmin {
		return nil
	}
	var out []policyChoice
	for _, p := range s.cfg.Policies.All() {
		out = append(out, policyChoice{p.ID, p.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// zoneOf is the policy's time zone (London if its clock cannot be read):
// the one place it is derived, s.policy's too.
func zoneOf(p policies.Policy) *time.Location {
	if clk, err := p.Clock(); err == nil && clk.Location != nil {
		return clk.Location
	}
	return london
}

// ---- the period ----

// period is the pack's or the list's period as asked (from, to: dates,
// both included) or the default.
type period struct {
	From, To   time.Time // [From, To)
	FromDate   string
	ToDate     string // included
	Since      string // the last meeting the default period runs from
	Default    bool
	Label      string
	EarlierLbl string
}

// maxPeriod is the longest period a pack covers.
const maxPeriod = 5 * 366 * 24 * time.Hour

// readPeriod reads from and to (yyyy-mm-dd); with neither, the default.
// A problem is a field error.
func (s *Server) readPeriod(c *gin.Context, p policies.Policy, meetings []string) (period, []fieldError) {
	loc := zoneOf(p)
	fromText, toText := strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to"))
	var per period
	var errs []fieldError
	if fromText == "" && toText == "" {
		per.From, per.To, per.Since = store.PackPeriod(meetings, s.now(), loc)
		per.Default = true
	} else {
		parse := func(field, v string) time.Time {
			d, err := time.ParseInLocation(time.DateOnly, v, loc)
			if err != nil || d.Year() < 2000 || d.Year() > 2200 {
				errs = append(errs, fieldError{Field: field, Message: "Enter the date as a year, month and day, like 2026-04-01"})
			}
			return d
		}
		if fromText == "" || toText == "" {
			errs = append(errs, fieldError{Field: "from", Message: "Enter both dates of the period, or neither for the default"})
			return period{}, errs
		}
		from, to := parse("from", fromText), parse("to", toText)
		if errs != nil {
			return period{}, errs
		}
		per.From, per.To = from, time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
		switch {
		case !per.From.Before(per.To):
			return period{}, []fieldError{{Field: "to", Message: "The end of the period must be on or after its start"}}
		case per.To.Sub(per.From) > maxPeriod:
			return period{}, []fieldError{{Field: "to", Message: "A period can be at most 5 years"}}
		}
	}
	per.FromDate = per.From.In(loc).Format(time.DateOnly)
	per.ToDate = per.To.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
	per.Label = longDate(per.From, loc) + " to " + longDate(per.To.Add(-time.Nanosecond), loc)
	per.EarlierLbl = longDate(per.From.AddDate(-1, 0, 0), loc) + " to " + longDate(per.To.AddDate(-1, 0, 0).Add(-time.Nanosecond), loc)
	return per, nil
}

func longDate(t time.Time, loc *time.Location) string { return t.In(loc).Format("2 January 2006") }

func meetingLabel(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.Format("Monday 2 January 2006")
}

// ---- the cases ----

type partnershipCasesData struct {
	Policy                       policies.Policy
	Policies                     []policyChoice
	Status, Stage, Agency, Cat   string
	Overdue                      bool
	From, To                     string
	StatusChoices                []choice
	Stages, Agencies, Categories []choice
	Rows                         []partnershipRow
	More                         bool
}

type choice struct{ Value, Label string }

// categoryLabel is a category's label in the policy (its id if unknown).
func categoryLabel(pol policies.Policy, id string) string {
	if c, ok := pol.Category(id); ok {
		return c.Label
	}
	return id
}

// inChoices: v is one of the choices' values.
func inChoices(v string, in []choice) bool {
	for _, ch := range in {
		if ch.Value == v {
			return true
		}
	}
	return false
}

type partnershipRow struct {
	caseRow
	Raiser, Respondent, Category, Raised string
}

const partnershipListLimit = 200

func (s *Server) partnershipCases(c *gin.Context, me cases.Principal) {
	pol, ok := s.overseen(c, me)
	if !ok {
		return
	}
	loc := zoneOf(pol)
	d := partnershipCasesData{Policy: pol, Policies: s.policyChoices(me), Status: c.DefaultQuery("status", "any"),
		Stage: c.Query("stage"), Agency: c.Query("agency"), Cat: c.Query("category"), Overdue: c.Query("overdue") == "true",
		From: c.Query("from"), To: c.Query("to"), StatusChoices: statusChoices}
	for _, st := range pol.Stages {
		d.Stages = append(d.Stages, choice{strconv.Itoa(st.Number), fmt.Sprintf("Stage %d: %s", st.Number, st.Name)})
	}
	for _, a := range pol.DirectoryAgencies() {
		d.Agencies = append(d.Agencies, choice{a.ID, a.Name})
	}
	for _, cat := range pol.Categories {
		d.Categories = append(d.Categories, choice{cat.ID, cat.Label})
	}
	f := store.PartnershipFilter{Policy: pol.ID, Now: s.now(), Limit: partnershipListLimit, Overdue: d.Overdue}
	var errs []fieldError
	known := func(v string, in []choice) bool { return v == "" || inChoices(v, in) } // "": not filtered
	if !inChoices(d.Status, statusChoices) {
		errs = append(errs, fieldError{Field: "status", Message: "Choose a status from the list"})
	}
	if d.Status != "any" {
		f.Status = d.Status
	}
	if !known(d.Stage, d.Stages) {
		errs = append(errs, fieldError{Field: "stage", Message: "Choose a stage from the list"})
	} else if d.Stage != "" {
		f.Stage, _ = strconv.Atoi(d.Stage)
	}
	if !known(d.Agency, d.Agencies) {
		errs = append(errs, fieldError{Field: "agency", Message: "Choose an agency from the list"})
	}
	if !known(d.Cat, d.Categories) {
		errs = append(errs, fieldError{Field: "category", Message: "Choose a category from the list"})
	}
	f.Agency, f.Category = d.Agency, d.Cat
	if a, ok := pol.Agency(d.Agency); ok && d.Agency != "" {
		f.AgencyNames = []string{a.ID, a.Name}
	} else if d.Agency != "" {
		f.AgencyNames = []string{d.Agency}
	}
	if d.From != "" || d.To != "" {
		per, perrs := s.readPeriod(c, pol, nil)
		errs = append(errs, perrs...)
		f.From, f.To = per.From, per.To
	}
	if errs != nil {
		s.renderPartnership(c, http.StatusBadRequest, "partnership_cases", "The partnership's cases", d, errs)
		return
	}
	list, more, err := s.st.PartnershipCases(c.Request.Context(), f)
	if err != nil {
		s.storeFailed(c, err)
		return
	}
	d.More = more
	for _, cs := range list {
		d.Rows = append(d.Rows, partnershipRow{caseRow: s.row(cs, me), Raiser: agencyName(&pol, cs.Raiser.Agency),
			Respondent: agencyName(&pol, cs.Respondent.Agency), Category: categoryLabel(pol, cs.Category), Raised: longDate(cs.CreatedAt, loc)})
	}
	s.renderPartnership(c, http.StatusOK, "partnership_cases", "The partnership's cases", d, nil)
}

// ---- meeting dates ----

type meetingsData struct {
	Policy   policies.Policy
	Policies []policyChoice
	Past     []meetingRow
	Future   []meetingRow
	Day      string
	Month    string
	Year     string
	Digest   string
}

type meetingRow struct{ Date, Label string }

func (s *Server) meetingsPage(c *gin.Context, me cases.Principal) {
	pol, ok := s.overseen(c, me)
	if !ok {
		return
	}
	s.showMeetings(c, me, pol, http.StatusOK, meetingsData{}, nil)
}

func (s *Server) showMeetings(c *gin.Context, me cases.Principal, pol policies.Policy, status int, d meetingsData, errs []fieldError) {
	ms, err := s.st.Meetings(c.Request.Context(), pol.ID)
	if err != nil {
		s.storeFailed(c, err)
		return
	}
	d.Policy, d.Policies = pol, s.policyChoices(me)
	today := s.now().In(zoneOf(pol)).Format(time.DateOnly)
	for _, m := range ms {
		if m < today {
			d.Past = append([]meetingRow{{m, meetingLabel(m)}}, d.Past...)
		} else {
			d.Future = append(d.Future, meetingRow{m, meetingLabel(m)})
		}
	}
	if len(d.Future) > 0 {
		d.Digest = "The business office (" + pol.BusinessOffice.Email + ") is sent the pack's link and headline figures 7 days before each meeting."
	} else {
		d.Digest = "With no meeting to come, the business office (" + pol.BusinessOffice.Email + ") is sent the pack's link and headline figures on the first of each month."
	}
	s.renderPartnership(c, status, "partnership_meetings", "Meeting dates", d, errs)
}

// addMeeting keeps a meeting date from the GOV.UK date input.
func (s *Server) addMeeting(c *gin.Context, me cases.Principal) {
	pol, ok := s.overseen(c, me)
	if !ok {
		return
	}
	d := meetingsData{Day: c.PostForm("day"), Month: c.PostForm("month"), Year: c.PostForm("year")}
	date, problem := meetingDate(d.Day, d.Month, d.Year, s.now().In(zoneOf(pol)))
	if problem != "" && !(dateField(d.Day) && dateField(d.Month) && dateField(d.Year)) {
		d.Day, d.Month, d.Year = "", "", "" // not shown back: not a date anyone typed
	}
	if problem != "" {
		s.showMeetings(c, me, pol, http.StatusBadRequest, d, []fieldError{{Field: "meeting-day", Message: problem}})
		return
	}
	err := s.st.AddMeeting(c.Request.Context(), pol.ID, date, me.Email)
	if errors.Is(err, store.ErrTooManyMeetings) {
		s.showMeetings(c, me, pol, http.StatusBadRequest, d, []fieldError{{Field: "meeting-day",
			Message: fmt.Sprintf("You can keep at most %d meeting dates: remove some past ones first", store.MaxMeetings)}})
		return
	}
	if err != nil {
		s.storeFailed(c, err)
		return
	}
	s.log.Info("meeting date added", "request_id", requestID(c), "policy", pol.ID, "date", date, "by", me.Email)
	s.syncDigest(c, pol.ID)
	c.Redirect(http.StatusSeeOther, "/partnership/meetings"+policyQuery(me, pol))
}

func (s *Server) removeMeeting(c *gin.Context, me cases.Principal) {
	pol, ok := s.overseen(c, me)
	if !ok {
		return
	}
	date := c.PostForm("date")
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		s.errorPage(c, http.StatusBadRequest)
		return
	}
	err := s.st.RemoveMeeting(c.Request.Context(), pol.ID, date)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.storeFailed(c, err)
		return
	}
	s.log.Info("meeting date removed", "request_id", requestID(c), "policy", pol.ID, "date", date, "by", me.Email)
	s.syncDigest(c, pol.ID)
	c.Redirect(http.StatusSeeOther, "/partnership/meetings"+policyQuery(me, pol))
}

// syncDigest brings the digest's schedule in step with the meeting dates;
// a failure is logged (setup, run at every deployment, syncs it again) and
// does not undo the date, which is kept.
func (s *Server) syncDigest(c *gin.Context, policy string) {
	if s.cfg.Digests == nil {
		s.log.Warn("meeting dates changed but no digest scheduler is configured: escalate setup brings the schedule in step", "policy", policy)
		return
	}
	if err := s.cfg.Digests.Sync(c.Request.Context(), policy); err != nil {
		s.log.Error("digest schedule not brought in step with the meeting dates; escalate setup will", "request_id", requestID(c), "policy", policy, "error", err)
	}
}

func policyQuery(me cases.Principal, p policies.Policy) string {
	if me.Role == cases.RoleAdmin {
		return "?policy=" + p.ID
	}
	return ""
}

// meetingDate reads a GOV.UK date input: a real date, not more than a year
// ago nor more than five years ahead.
func meetingDate(day, month, year string, now time.Time) (string, string) {
	if !dateField(day) || !dateField(month) || !dateField(year) {
		return "", "The date of the meeting must be a real date, like 14 10 2026"
	}
	day, month, year = strings.TrimSpace(day), strings.TrimSpace(month), strings.TrimSpace(year)
	if day == "" && month == "" && year == "" {
		return "", "Enter the date of the meeting"
	}
	d, err1 := strconv.Atoi(day)
	m, err2 := strconv.Atoi(month)
	y, err3 := strconv.Atoi(year)
	if err1 != nil || err2 != nil || err3 != nil || len(year) != 4 || m < 1 || m > 12 || d < 1 || d > 31 {
		return "", "The date of the meeting must be a real date, like 14 10 2026"
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return "", "The date of the meeting must be a real date, like 14 10 2026"
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if t.Before(today.AddDate(-1, 0, 0)) || t.After(today.AddDate(5, 0, 0)) {
		return "", "The date of the meeting must be within a year before today and five years after"
	}
	return t.Format(time.DateOnly), ""
}

// dateField: a day, month or year as typed, before its spaces are
// trimmed: short, one line (a control character is refused, never trimmed
// away into a date).
func dateField(v string) bool { return len(v) <= 16 && cleanLine(v) }

// ---- the pack ----

// loadPack reads the pack the request asks for; false when it answered.
func (s *Server) loadPack(c *gin.Context, me cases.Principal) (*packView, bool) {
	pol, ok := s.overseen(c, me)
	if !ok {
		return nil, false
	}
	ctx := c.Request.Context()
	ms, err := s.st.Meetings(ctx, pol.ID)
	if err != nil {
		s.storeFailed(c, err)
		return nil, false
	}
	per, errs := s.readPeriod(c, pol, ms)
	if errs != nil {
		v := &packView{Policy: pol, Policies: s.policyChoices(me), From: c.Query("from"), To: c.Query("to")}
		s.renderPartnership(c, http.StatusBadRequest, "partnership_pack", "Meeting pack", v, errs)
		return nil, false
	}
	now := s.now()
	pack, err := s.st.MeetingPack(ctx, store.PackFilter{Policy: pol, From: per.From, To: per.To, Now: now})
	if err != nil {
		s.storeFailed(c, err)
		return nil, false
	}
	v := buildPackView(pol, pack, per, now)
	v.Policies = s.policyChoices(me)
	v.Next = store.NextMeeting(ms, now, zoneOf(pol))
	if v.Next != "" {
		v.Next = meetingLabel(v.Next)
	}
	q := []string{}
	if me.Role == cases.RoleAdmin {
		q = append(q, "policy="+pol.ID)
	}
	if !per.Default {
		q = append(q, "from="+per.FromDate, "to="+per.ToDate)
	}
	if len(q) > 0 {
		v.Query = "?" + strings.Join(q, "&")
	}
	return v, true
}

func (s *Server) packPage(c *gin.Context, me cases.Principal) {
	v, ok := s.loadPack(c, me)
	if !ok {
		return
	}
	s.renderPartnership(c, http.StatusOK, "partnership_pack", "Meeting pack: "+v.Policy.Name, v, nil)
}

func (s *Server) packCSV(c *gin.Context, me cases.Principal) {
	v, ok := s.loadPack(c, me)
	if !ok {
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+v.FileName()+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", v.CSV())
}

func (s *Server) packPDF(c *gin.Context, me cases.Principal) {
	v, ok := s.loadPack(c, me)
	if !ok {
		return
	}
	b, err := v.PDF()
	if err != nil {
		s.log.Error("page: pack PDF", "request_id", requestID(c), "error", err)
		s.errorPage(c, http.StatusInternalServerError)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+v.FileName()+`.pdf"`)
	c.Data(http.StatusOK, "application/pdf", b)
}
