package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"escalate/store"
)

// Bad periods and unknown policies are refused before any database call.
func TestReportSummaryValidation(t *testing.T) {
	h := newTestHandler(t)
	for _, tc := range []struct {
		query, field string
		status       int
	}{
		{"from=yesterday", "from", 400},
		{"to=2026-13-01", "to", 400},
		{"from=2026-04-01T00:00:00", "from", 400}, // no offset
		{"from=2027-01-01&to=2026-12-31", "from", 400},
		{"from=2026-06-01T10:00:00Z&to=2026-06-01T10:00:00Z", "from", 400},
		{"policy=atlantis", "policy", 400},
		{"policy=" + strings.Repeat("x", 65), "policy", 400},
		{"from=2026-04-01&from=2026-05-01", "from", 400}, // given twice
	} {
		req := httptest.NewRequest("GET", "/v1/reports/summary?"+tc.query, nil)
		req.Header.Set("Authorization", "Bearer test-admin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body errorResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || body.Error.Code != "invalid_request" || body.Error.Fields[tc.field] == "" {
			t.Errorf("%s: %d %s, want %d naming %s", tc.query, rec.Code, rec.Body.String(), tc.status, tc.field)
		}
	}
	req := httptest.NewRequest("GET", "/v1/reports/summary", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("no token: %d", rec.Code)
	}
}

func TestReportPeriod(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, from, to, now string
		wantFrom, wantTo    string
	}{
		{"default in November", "", "", "2026-11-01T12:00:00Z", "2026-04-01T00:00:00+01:00", "2027-04-01T00:00:00+01:00"},
		{"default in February", "", "", "2027-02-15T12:00:00Z", "2026-04-01T00:00:00+01:00", "2027-04-01T00:00:00+01:00"},
		{"default on 31 March, late", "", "", "2027-03-31T23:30:00Z", "2027-04-01T00:00:00+01:00", "2028-04-01T00:00:00+01:00"},
		{"dates, both included", "2026-06-01", "2026-06-30", "2026-11-01T12:00:00Z", "2026-06-01T00:00:00+01:00", "2026-07-01T00:00:00+01:00"},
		{"winter dates", "2026-12-01", "2026-12-31", "2026-11-01T12:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"instants", "2026-06-01T09:00:00+01:00", "2026-06-02T09:00:00Z", "2026-11-01T12:00:00Z", "2026-06-01T08:00:00Z", "2026-06-02T09:00:00Z"},
		{"from only: to its year's end", "2025-05-01", "", "2026-11-01T12:00:00Z", "2025-05-01T00:00:00+01:00", "2026-04-01T00:00:00+01:00"},
		{"to only: from its year's start", "", "2026-03-31", "2026-11-01T12:00:00Z", "2025-04-01T00:00:00+01:00", "2026-04-01T00:00:00+01:00"},
	} {
		from, to, err := reportPeriod(tc.from, tc.to, at(tc.now), london)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !from.Equal(at(tc.wantFrom)) || !to.Equal(at(tc.wantTo)) {
			t.Errorf("%s: %s to %s, want %s to %s", tc.name, from, to, tc.wantFrom, tc.wantTo)
		}
	}
}

// The CSV holds every section as section,key,value rows, and typed text
// never becomes a spreadsheet formula.
func TestReportCSV(t *testing.T) {
	r := reportResponse{Policy: "northamptonshire", FromDate: "2026-04-01", ToDate: "2027-03-31", Timezone: "Europe/London",
		Report: store.Report{
			Raised: 2, ByCategory: map[string]int{"communication": 2}, ByRaisingAgency: map[string]int{"nhft": 2},
			ByRespondingAgency: map[string]int{"nct": 2}, ByHighestStage: map[string]int{"10": 1, "2": 1},
			ByStatus: map[string]int{"resolved": 2}, DeadlinesMissedByStage: map[string]int{},
			TimeToResolution:           []store.ResolutionTimes{{Stage: 1, Resolved: 2, MedianHours: 12.5, P90Hours: 20.1}},
			AgenciesWithoutEscalations: []store.ReportAgency{{Policy: "northamptonshire", Agency: "police", Name: "Police"}},
			Learning:                   []store.LearningEntry{{Ref: "NSCP-2026-00001", Stage: 1, Learning: "=HYPERLINK(\"x\")", Source: "agreement"}},
		}}
	rows, err := csv.NewReader(strings.NewReader(string(reportCSV(r)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var stages []string
	for _, row := range rows {
		if len(row) != 3 {
			t.Fatalf("row %v", row)
		}
		got[row[0]+"/"+row[1]] = row[2]
		if row[0] == "by_highest_stage" {
			stages = append(stages, row[1])
		}
	}
	for k, want := range map[string]string{
		"section/key": "value", "report/policy": "northamptonshire", "totals/raised": "2", "by_category/communication": "2",
		"by_raising_agency/nhft": "2", "by_responding_agency/nct": "2", "by_status/resolved": "2",
		"time_to_resolution_stage_1/median_hours": "12.5", "time_to_resolution_stage_1/p90_hours": "20.1",
		"agencies_without_escalations/police": "Police", "learning_1/ref": "NSCP-2026-00001",
		"learning_1/learning": `'=HYPERLINK("x")`,
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if strings.Join(stages, ",") != "2,10" {
		t.Errorf("stages in order %v, want 2,10", stages)
	}
}
