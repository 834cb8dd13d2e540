package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"

	"escalate/internal/chart"
	"escalate/internal/csvcell"
	"escalate/policies"
	"escalate/store"
)

// packView is the pack as the page, the CSV and the PDF show it: the same
// sections, each a chart and the table it draws, every figure keyed so the
// page's and the CSV's can be compared.
type packView struct {
	Policy      policies.Policy
	Policies    []policyChoice
	Period      period
	From, To    string // the form's values
	Next        string
	Generated   string
	Query       string
	Headline    []figure
	Sections    []packSection
	Without     []withoutRow
	WithoutNote string
	Learning    []learningRow
	// EarlierLearning is how many were recorded in the year-earlier period.
	EarlierLearning int
}

// figure is one count with the same count a year earlier; Key names it in
// the CSV (section/key) and on the page (data-figure).
type figure struct {
	Key, Label, Now, Earlier string
}

type packSection struct {
	ID, Heading, Intro string
	Chart              template.HTML
	Bars               chart.Bars
	Columns            []string
	Rows               []packRow
	Empty              string
}

// packRow is a table row: its label and its figures.
type packRow struct {
	Label string
	Cells []cell
}

type cell struct {
	Key, Value string
}

type withoutRow struct {
	ID, Name      string
	AlsoYearAgo   bool
	YearAgoAnswer string
}

type learningRow struct {
	Ref, When, Stage, Category, Source, Text string
}

func itoa(n int) string { return strconv.Itoa(n) }

// buildPackView lays out a pack.
func buildPackView(pol policies.Policy, p store.Pack, per period, now time.Time) *packView {
	loc := zoneOf(pol)
	cur, ye := p.Current, p.YearEarlier
	v := &packView{Policy: pol, Period: per, Generated: localTime(now, loc)}
	if !per.Default {
		v.From, v.To = per.FromDate, per.ToDate
	}
	resolved := func(f store.PackFigures) int {
		n := 0
		for _, r := range f.Resolution {
			n += r.Resolved
		}
		return n
	}
	partnership := func(f store.PackFigures) int {
		ps := pol.PartnershipStage()
		n := 0
		for st, c := range f.ByHighestStage {
			if ps > 0 && st >= ps {
				n += c
			}
		}
		return n
	}
	v.Headline = []figure{
		{"totals/raised", "Escalations raised", itoa(cur.Raised), itoa(ye.Raised)},
		{"totals/resolved", "Resolved by agreement or outcome", itoa(resolved(cur)), itoa(resolved(ye))},
		{"totals/reached_partnership_stage", "Reached the partnership stage", itoa(partnership(cur)), itoa(partnership(ye))},
		{"totals/deadlines_missed", "Stage deadlines missed", itoa(cur.DeadlinesMissed), itoa(ye.DeadlinesMissed)},
		{"totals/agencies_without", "Directory agencies with no escalation either way", itoa(len(cur.Without)), itoa(len(ye.Without))},
		{"totals/learning", "Learning and good practice recorded", itoa(len(cur.Learning)), itoa(len(ye.Learning))},
		{"totals/open_now", "Open now (whenever raised)", itoa(p.OpenNow), ""},
		{"totals/overdue_now", "Overdue now", itoa(p.OverdueNow), ""},
	}

	// Escalations per month, by category.
	cats := pol.Categories
	catLabel := func(id string) string { return categoryLabel(pol, id) }
	// The months' table and chart show the categories of the period's
	// cases (all of them would be a dozen columns); the next section lists
	// every category beside a year earlier.
	var catIDs, shown []string
	for _, c := range cats {
		catIDs = append(catIDs, c.ID)
	}
	// Categories no longer in the policy that cases still carry.
	var extra []string
	for id := range cur.ByCategory {
		if _, ok := pol.Category(id); !ok {
			extra = append(extra, id)
		}
	}
	for id := range ye.ByCategory {
		if _, ok := pol.Category(id); !ok && cur.ByCategory[id] == 0 {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	catIDs = append(catIDs, extra...)
	for _, id := range catIDs {
		if cur.ByCategory[id] > 0 {
			shown = append(shown, id)
		}
	}
	months := packSection{ID: "months", Heading: "Escalations per month, by category",
		Intro: "Cases raised each month of the period, by what they were about (the categories of the period's cases); " +
			"the last column is the same month a year earlier.",
		Columns: []string{"Month"}}
	bars := chart.Bars{ID: "chart-months", Title: "Escalations per month, by category", Stacked: true, Unit: "cases",
		Desc: fmt.Sprintf("Stacked bars, one per month from %s, each divided by category. The table below gives every figure.", per.Label)}
	for _, id := range shown {
		months.Columns = append(months.Columns, catLabel(id))
		bars.Series = append(bars.Series, chart.Series{Name: catLabel(id)})
	}
	if len(shown) == 0 {
		bars.Series = []chart.Series{{Name: "Cases"}}
	}
	months.Columns = append(months.Columns, "Total", "A year earlier")
	for i, m := range cur.Months {
		key := m.Start.Format("2006-01")
		row := packRow{Label: m.Start.Format("January 2006")}
		bars.Rows = append(bars.Rows, m.Start.Format("Jan 2006"))
		for j, id := range shown {
			n := m.ByCategory[id]
			row.Cells = append(row.Cells, cell{"by_month/" + key + "/" + id, itoa(n)})
			bars.Series[j].Values = append(bars.Series[j].Values, float64(n))
		}
		earlier := 0
		if i < len(ye.Months) {
			earlier = ye.Months[i].Total
		}
		row.Cells = append(row.Cells, cell{"by_month/" + key + "/total", itoa(m.Total)}, cell{"by_month/" + key + "/year_earlier", itoa(earlier)})
		months.Rows = append(months.Rows, row)
	}
	total := packRow{Label: "Whole period"}
	for _, id := range shown {
		total.Cells = append(total.Cells, cell{"by_month/period/" + id, itoa(cur.ByCategory[id])})
	}
	total.Cells = append(total.Cells, cell{"by_month/period/total", itoa(cur.Raised)}, cell{"by_month/period/year_earlier", itoa(ye.Raised)})
	months.Rows = append(months.Rows, total)
	months.Bars = bars
	v.Sections = append(v.Sections, months)

	compare := func(id, heading, intro, title, desc, unit string, rows []string, keys []string, now, earlier []float64, fmtv func(float64) string) packSection {
		sec := packSection{ID: id, Heading: heading, Intro: intro, Columns: []string{"", "This period", "A year earlier"}}
		b := chart.Bars{ID: "chart-" + id, Title: title, Desc: desc + " The table below gives every figure.", Rows: rows, Unit: unit,
			Series: []chart.Series{{Name: "This period", Values: now}, {Name: "A year earlier", Values: earlier}}}
		for i, r := range rows {
			sec.Rows = append(sec.Rows, packRow{Label: r, Cells: []cell{{keys[i] + "/this", fmtv(now[i])}, {keys[i] + "/year_earlier", fmtv(earlier[i])}}})
		}
		sec.Bars = b
		return sec
	}
	count := func(x float64) string { return chart.Number(x) }

	// Every category, beside a year earlier.
	var catRows, catKeys []string
	var cNow, cBefore []float64
	for _, id := range catIDs {
		catRows = append(catRows, catLabel(id))
		catKeys = append(catKeys, "by_category/"+id)
		cNow = append(cNow, float64(cur.ByCategory[id]))
		cBefore = append(cBefore, float64(ye.ByCategory[id]))
	}
	bc := compare("categories", "Escalations by category", "Every category of the procedure: the cases raised in the period about it, and a year earlier.",
		"Escalations by category", "Grouped bars, one pair per category: cases raised this period and a year earlier; long names are shortened.",
		"cases", catRows, catKeys, cNow, cBefore, count)
	bc.Columns[0] = "Category"
	v.Sections = append(v.Sections, bc)

	// Highest stage reached.
	var stageRows, stageKeys []string
	var hNow, hBefore, mNow, mBefore []float64
	var mKeys []string
	for _, st := range pol.Stages {
		stageRows = append(stageRows, fmt.Sprintf("Stage %d: %s", st.Number, st.Name))
		stageKeys = append(stageKeys, "by_highest_stage/"+itoa(st.Number))
		mKeys = append(mKeys, "deadlines_missed_by_stage/"+itoa(st.Number))
		hNow = append(hNow, float64(cur.ByHighestStage[st.Number]))
		hBefore = append(hBefore, float64(ye.ByHighestStage[st.Number]))
		mNow = append(mNow, float64(cur.MissedByStage[st.Number]))
		mBefore = append(mBefore, float64(ye.MissedByStage[st.Number]))
	}
	hs := compare("stages", "Highest stage reached", "How far each case raised in the period climbed, however it got there.",
		"Highest stage reached", "Grouped bars, one pair per stage: cases whose highest stage it was, this period and a year earlier.",
		"cases", stageRows, stageKeys, hNow, hBefore, count)
	hs.Columns[0] = "Stage"
	v.Sections = append(v.Sections, hs)

	// Time to resolution by stage.
	res := packSection{ID: "resolution", Heading: "Time to resolution, by stage resolved at",
		Intro: "Cases raised in the period and resolved by agreement or the partnership's outcome: working days from raising to resolution " +
			"(median and 90th percentile), with hours for the same cases.",
		Columns: []string{"Stage", "Resolved", "A year earlier", "Median working days", "A year earlier", "90th percentile working days", "Median hours"}}
	resBars := chart.Bars{ID: "chart-resolution", Title: "Median working days to resolution, by stage", Unit: "days",
		Desc:   "Grouped bars, one pair per stage: the median working days from raising to resolution, this period and a year earlier. The table below gives every figure.",
		Series: []chart.Series{{Name: "This period"}, {Name: "A year earlier"}}}
	byStage := func(f store.PackFigures, n int) store.ResolutionTimes {
		for _, r := range f.Resolution {
			if r.Stage == n {
				return r
			}
		}
		return store.ResolutionTimes{Stage: n}
	}
	for _, st := range pol.Stages {
		a, b := byStage(cur, st.Number), byStage(ye, st.Number)
		k := "time_to_resolution_stage_" + itoa(st.Number)
		res.Rows = append(res.Rows, packRow{Label: fmt.Sprintf("Stage %d: %s", st.Number, st.Name), Cells: []cell{
			{k + "/resolved", itoa(a.Resolved)}, {k + "/resolved_year_earlier", itoa(b.Resolved)},
			{k + "/median_working_days", days(a)}, {k + "/median_working_days_year_earlier", days(b)},
			{k + "/p90_working_days", p90(a)}, {k + "/median_hours", hours(a)},
		}})
		resBars.Rows = append(resBars.Rows, fmt.Sprintf("Stage %d", st.Number))
		resBars.Series[0].Values = append(resBars.Series[0].Values, a.MedianWorkingDays)
		resBars.Series[1].Values = append(resBars.Series[1].Values, b.MedianWorkingDays)
	}
	res.Bars = resBars
	v.Sections = append(v.Sections, res)

	// Deadlines missed, by stage and by agency.
	ms := compare("missed-stage", "Deadlines missed, by stage", "Stage deadlines that passed in the period without a written outcome, whenever the case was raised.",
		"Deadlines missed, by stage", "Grouped bars, one pair per stage: deadlines missed this period and a year earlier.",
		"deadlines", stageRows, mKeys, mNow, mBefore, count)
	ms.Columns[0] = "Stage"
	v.Sections = append(v.Sections, ms)

	dir := pol.DirectoryAgencies()
	agencyRows := func(include func(id string) bool) (rows, keys []string, ids []string) {
		for _, a := range dir {
			if include(a.ID) {
				rows, keys, ids = append(rows, a.Name), append(keys, a.ID), append(ids, a.ID)
			}
		}
		if include(store.OutsideDirectory) {
			rows, keys, ids = append(rows, "Agencies outside the directory"), append(keys, "outside_directory"), append(ids, store.OutsideDirectory)
		}
		return
	}
	sumMissed := func(f store.PackFigures, id string) int {
		n := 0
		for _, c := range f.MissedByAgency[id] {
			n += c
		}
		return n
	}
	rows, keys, ids := agencyRows(func(id string) bool {
		return sumMissed(cur, id) > 0 || sumMissed(ye, id) > 0
	})
	var maNow, maBefore []float64
	for i, id := range ids {
		keys[i] = "deadlines_missed_by_agency/" + keys[i]
		maNow = append(maNow, float64(sumMissed(cur, id)))
		maBefore = append(maBefore, float64(sumMissed(ye, id)))
	}
	ma := compare("missed-agency", "Deadlines missed, by agency",
		"Each missed deadline counts for both agencies of its case: a stage's deadline is both sides'. Agencies with none in either period are left out.",
		"Deadlines missed, by agency", "Grouped bars, one pair per agency: deadlines missed on its cases this period and a year earlier.",
		"deadlines", rows, keys, maNow, maBefore, count)
	ma.Columns[0] = "Agency"
	if len(rows) == 0 {
		ma.Empty = "No deadline was missed in either period."
	}
	v.Sections = append(v.Sections, ma)

	// Agencies raising and receiving.
	rows, keys, ids = agencyRows(func(id string) bool {
		return id != store.OutsideDirectory || cur.Raising[id] > 0 || cur.Receiving[id] > 0 || ye.Raising[id] > 0 || ye.Receiving[id] > 0
	})
	ag := packSection{ID: "agencies", Heading: "Agencies raising and receiving escalations",
		Intro:   "Cases each agency of the directory raised, and had raised with it; an agency is matched by the directory, whatever its name was typed as.",
		Columns: []string{"Agency", "Raised", "A year earlier", "Received", "A year earlier"}}
	agBars := chart.Bars{ID: "chart-agencies", Title: "Escalations raised and received, by agency", Unit: "cases",
		Desc:   "Grouped bars, one pair per agency: cases it raised and cases raised with it this period. The table below gives every figure, with a year earlier.",
		Rows:   rows,
		Series: []chart.Series{{Name: "Raised"}, {Name: "Received"}}}
	for i, id := range ids {
		k := keys[i]
		ag.Rows = append(ag.Rows, packRow{Label: rows[i], Cells: []cell{
			{"raising/" + k, itoa(cur.Raising[id])}, {"raising/" + k + "/year_earlier", itoa(ye.Raising[id])},
			{"receiving/" + k, itoa(cur.Receiving[id])}, {"receiving/" + k + "/year_earlier", itoa(ye.Receiving[id])},
		}})
		agBars.Series[0].Values = append(agBars.Series[0].Values, float64(cur.Raising[id]))
		agBars.Series[1].Values = append(agBars.Series[1].Values, float64(cur.Receiving[id]))
	}
	ag.Bars = agBars
	v.Sections = append(v.Sections, ag)

	for i := range v.Sections {
		v.Sections[i].Chart = v.Sections[i].Bars.SVG()
	}

	earlierNone := map[string]bool{}
	for _, a := range ye.Without {
		earlierNone[a.ID] = true
	}
	for _, a := range cur.Without {
		ans := "No"
		if earlierNone[a.ID] {
			ans = "Yes"
		}
		v.Without = append(v.Without, withoutRow{ID: a.ID, Name: a.Name, AlsoYearAgo: earlierNone[a.ID], YearAgoAnswer: ans})
	}
	for _, l := range cur.Learning {
		src := "Agreed outcome"
		switch l.Source {
		case store.LearningOutcome:
			src = "Partnership's outcome"
		case store.LearningProposedAgreement:
			src = "Proposed outcome, not yet confirmed"
		}
		v.Learning = append(v.Learning, learningRow{Ref: l.Ref, When: longDate(l.At, loc), Stage: itoa(l.Stage),
			Category: catLabel(l.Category), Source: src, Text: l.Learning})
	}
	v.EarlierLearning = len(ye.Learning)
	return v
}

func days(r store.ResolutionTimes) string {
	if r.Resolved == 0 {
		return "–"
	}
	return strconv.FormatFloat(r.MedianWorkingDays, 'f', -1, 64)
}

func p90(r store.ResolutionTimes) string {
	if r.Resolved == 0 {
		return "–"
	}
	return strconv.FormatFloat(r.P90WorkingDays, 'f', -1, 64)
}

func hours(r store.ResolutionTimes) string {
	if r.Resolved == 0 {
		return "–"
	}
	return strconv.FormatFloat(r.MedianHours, 'f', -1, 64)
}

// FileName is the downloads' name.
func (v *packView) FileName() string {
	return "meeting-pack-" + v.Policy.ID + "-" + v.Period.FromDate + "-to-" + v.Period.ToDate
}

// CSV is the pack as rows of section, key, label, this period, a year
// earlier: every figure the page shows, under the same keys.
func (v *packView) CSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	row := func(cells ...string) {
		for i := range cells {
			cells[i] = csvCell(cells[i])
		}
		_ = w.Write(cells)
	}
	row("section", "key", "label", "this_period", "year_earlier")
	row("pack", "policy", v.Policy.Name, v.Policy.ID, "")
	row("pack", "from_date", "From", v.Period.FromDate, v.Period.From.AddDate(-1, 0, 0).In(zoneOf(v.Policy)).Format(time.DateOnly))
	row("pack", "to_date", "To", v.Period.ToDate, v.Period.To.AddDate(-1, 0, 0).Add(-time.Nanosecond).In(zoneOf(v.Policy)).Format(time.DateOnly))
	for _, f := range v.Headline {
		sec, key, _ := strings.Cut(f.Key, "/")
		row(sec, key, f.Label, f.Now, f.Earlier)
	}
	for _, s := range v.Sections {
		for _, r := range s.Rows {
			for i, c := range r.Cells {
				sec, key, _ := strings.Cut(c.Key, "/")
				label := r.Label
				if i+1 < len(s.Columns) && s.Columns[i+1] != "" {
					label += ": " + s.Columns[i+1]
				}
				row(sec, key, label, c.Value, "")
			}
		}
	}
	for _, a := range v.Without {
		row("agencies_without_escalations", a.ID, a.Name, "none", map[bool]string{true: "none", false: "some"}[a.AlsoYearAgo])
	}
	for i, l := range v.Learning {
		sec := "learning_" + itoa(i+1)
		row(sec, "ref", "Case", l.Ref, "")
		row(sec, "recorded", "Recorded", l.When, "")
		row(sec, "stage", "Stage", l.Stage, "")
		row(sec, "source", "How", l.Source, "")
		row(sec, "learning", "Learning", l.Text, "")
	}
	w.Flush()
	return buf.Bytes()
}

// csvCell keeps a spreadsheet from reading text someone typed as a formula.
var csvCell = csvcell.Safe
