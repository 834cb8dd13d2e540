package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/internal/csvcell"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// reportZone is where reporting years run 1 April to 31 March when no one
// policy (with its own time zone) is reported on.
const reportZone = "Europe/London"

type reportQuery struct {
	Policy string `form:"policy" binding:"singleline,max=64"`
	From   string `form:"from" binding:"singleline,max=64"`
	To     string `form:"to" binding:"singleline,max=64"`
}

// reportResponse is the summary with what it covers. From is included, To
// is not; FromDate and ToDate are the same period as local dates, both
// included.
type reportResponse struct {
	Policy      string    `json:"policy"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	FromDate    string    `json:"from_date"`
	ToDate      string    `json:"to_date"`
	Timezone    string    `json:"timezone"`
	GeneratedAt time.Time `json:"generated_at"`
	store.Report
}

// reportSummary serves the partnership's summary report, as JSON or, for
// Accept: text/csv, as CSV.
func (s *Server) reportSummary(c *gin.Context) error {
	me := caller(c)
	if !oversees(me) {
		return errForbidden
	}
	var q reportQuery
	if err := bindQuery(c, &q); err != nil {
		return err
	}
	policy, err := overseenPolicy(me, strings.TrimSpace(q.Policy))
	if err != nil {
		return err
	}
	var pols []policies.Policy
	if policy == "" {
		pols = s.policies.All()
	} else {
		p, ok := s.policies.Get(policy)
		if !ok {
			return invalidField("policy", "unknown policy; GET /v1/policies lists them")
		}
		pols = []policies.Policy{p}
	}
	loc, err := time.LoadLocation(reportZone)
	if err != nil {
		return err
	}
	f := store.ReportFilter{Policy: policy, Now: s.now(), Clocks: map[string]policies.Clock{}}
	for _, p := range pols {
		clock, err := p.Clock()
		if err != nil {
			return err
		}
		f.Clocks[p.ID] = clock
		f.Directory = append(f.Directory, directoryAgencies(p)...)
		if policy != "" {
			loc = clock.Location
		}
	}
	f.From, f.To, err = reportPeriod(q.From, q.To, f.Now, loc)
	if err != nil {
		return err
	}
	rep, err := s.store.Summary(c.Request.Context(), f)
	if err != nil {
		return err
	}
	if policy != "" {
		fillZeros(&rep, pols[0])
	}
	resp := reportResponse{
		Policy: policy, From: f.From.In(loc), To: f.To.In(loc),
		FromDate: f.From.In(loc).Format(time.DateOnly), ToDate: f.To.Add(-time.Nanosecond).In(loc).Format(time.DateOnly),
		Timezone: loc.String(), GeneratedAt: f.Now.In(loc), Report: rep,
	}
	if c.NegotiateFormat(gin.MIMEJSON, "text/csv") == "text/csv" {
		name := policy
		if name == "" {
			name = "all-policies"
		}
		c.Header("Content-Disposition", `attachment; filename="escalations-`+name+"-"+resp.FromDate+"-to-"+resp.ToDate+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", reportCSV(resp))
		return nil
	}
	c.JSON(http.StatusOK, resp)
	return nil
}

// reportPeriod reads from and to: dates (yyyy-mm-dd, local, both included)
// or RFC 3339 instants (from included, to not). A missing bound is that of
// the reporting year (1 April to 31 March) of the other, or of now. It
// returns the period as [from, to).
func reportPeriod(fromText, toText string, now time.Time, loc *time.Location) (time.Time, time.Time, error) {
	var from, to time.Time
	if fromText != "" {
		t, err := parseReportTime("from", fromText, loc, false)
		if err != nil {
			return from, to, err
		}
		from = t
	}
	if toText != "" {
		t, err := parseReportTime("to", toText, loc, true)
		if err != nil {
			return from, to, err
		}
		to = t
	}
	switch {
	case from.IsZero() && to.IsZero():
		from, to = reportingYear(now, loc)
	case from.IsZero():
		from, _ = reportingYear(to.Add(-time.Nanosecond), loc)
	case to.IsZero():
		_, to = reportingYear(from, loc)
	}
	if !from.Before(to) {
		return from, to, invalidField("from", "must be before to")
	}
	return from, to, nil
}

// parseReportTime reads a date or an RFC 3339 time. A date as the end of a
// period includes the whole day: it ends at the next local midnight.
func parseReportTime(field, v string, loc *time.Location, end bool) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if end {
			return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc), nil
		}
		return d, nil
	}
	// A "+" offset arrives as a space unless the client encoded it.
	if t, err := time.Parse(time.RFC3339, strings.Replace(v, " ", "+", 1)); err == nil {
		return t, nil
	}
	return time.Time{}, invalidField(field, "must be a date (2026-04-01) or an RFC 3339 time with an offset")
}

// reportingYear is the reporting year (1 April to the next 1 April, local)
// that t falls in: the store's one rule, which the meeting pack uses too.
var reportingYear = store.ReportingYear

// directoryAgencies are the agencies a policy lists (its agencies and its
// escalation-contacts directory), once each.
func directoryAgencies(p policies.Policy) []store.ReportAgency {
	var out []store.ReportAgency
	seen := map[string]bool{}
	for _, a := range p.Agencies {
		if a.ID != "" && !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, store.ReportAgency{Policy: p.ID, Agency: a.ID, Name: a.Name})
		}
	}
	for _, d := range p.Directory {
		if d.Agency != "" && !seen[d.Agency] {
			seen[d.Agency] = true
			out = append(out, store.ReportAgency{Policy: p.ID, Agency: d.Agency})
		}
	}
	return out
}

// fillZeros lists every category, stage and status of the policy, with
// the ones no case had as 0.
func fillZeros(r *store.Report, p policies.Policy) {
	for _, cat := range p.Categories {
		if _, ok := r.ByCategory[cat.ID]; !ok {
			r.ByCategory[cat.ID] = 0
		}
	}
	for _, st := range p.Stages {
		k := strconv.Itoa(st.Number)
		if _, ok := r.ByHighestStage[k]; !ok {
			r.ByHighestStage[k] = 0
		}
		if _, ok := r.DeadlinesMissedByStage[k]; !ok {
			r.DeadlinesMissedByStage[k] = 0
		}
	}
	for _, status := range []string{workflows.StatusOpen, workflows.StatusAgreementProposed, workflows.StatusResolved,
		workflows.StatusWithdrawn, workflows.StatusUnresolved, workflows.StatusCancelled} {
		if _, ok := r.ByStatus[status]; !ok {
			r.ByStatus[status] = 0
		}
	}
}

// reportCSV is the report as rows of section, key, value.
func reportCSV(r reportResponse) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	row := func(section, key, value string) {
		_ = w.Write([]string{cell(section), cell(key), cell(value)})
	}
	counts := func(section string, m map[string]int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, errA := strconv.Atoi(keys[i])
			b, errB := strconv.Atoi(keys[j])
			if errA == nil && errB == nil {
				return a < b
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys {
			row(section, k, strconv.Itoa(m[k]))
		}
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

	row("section", "key", "value")
	policy := r.Policy
	if policy == "" {
		policy = "all"
	}
	row("report", "policy", policy)
	row("report", "from", r.From.Format(time.RFC3339))
	row("report", "to", r.To.Format(time.RFC3339))
	row("report", "from_date", r.FromDate)
	row("report", "to_date", r.ToDate)
	row("report", "timezone", r.Timezone)
	row("report", "generated_at", r.GeneratedAt.Format(time.RFC3339))
	row("totals", "raised", strconv.Itoa(r.Raised))
	row("totals", "deadlines_missed", strconv.Itoa(r.DeadlinesMissed))
	row("totals", "open_now", strconv.Itoa(r.OpenNow))
	row("totals", "overdue_now", strconv.Itoa(r.OverdueNow))
	counts("by_category", r.ByCategory)
	counts("by_raising_agency", r.ByRaisingAgency)
	counts("by_responding_agency", r.ByRespondingAgency)
	counts("by_raising_agency_id", r.ByRaisingAgencyID)
	counts("by_responding_agency_id", r.ByRespondingAgencyID)
	counts("by_highest_stage", r.ByHighestStage)
	counts("by_status", r.ByStatus)
	counts("deadlines_missed_by_stage", r.DeadlinesMissedByStage)
	for _, t := range r.TimeToResolution {
		section := "time_to_resolution_stage_" + strconv.Itoa(t.Stage)
		row(section, "resolved", strconv.Itoa(t.Resolved))
		row(section, "median_hours", num(t.MedianHours))
		row(section, "p90_hours", num(t.P90Hours))
		row(section, "median_working_days", num(t.MedianWorkingDays))
		row(section, "p90_working_days", num(t.P90WorkingDays))
	}
	for _, a := range r.AgenciesWithoutEscalations {
		row("agencies_without_escalations", a.Agency, a.Name)
	}
	for i, l := range r.Learning {
		section := "learning_" + strconv.Itoa(i+1)
		row(section, "ref", l.Ref)
		row(section, "stage", strconv.Itoa(l.Stage))
		row(section, "at", l.At.Format(time.RFC3339))
		row(section, "source", l.Source)
		row(section, "learning", l.Learning)
	}
	w.Flush()
	return buf.Bytes()
}

// cell keeps a spreadsheet from reading text someone typed as a formula.
var cell = csvcell.Safe
