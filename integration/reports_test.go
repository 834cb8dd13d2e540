package integration

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"escalate/workflows"
)

// summaryReport is the part of GET /v1/reports/summary the test reads.
type summaryReport struct {
	Policy             string         `json:"policy"`
	From               time.Time      `json:"from"`
	To                 time.Time      `json:"to"`
	FromDate           string         `json:"from_date"`
	ToDate             string         `json:"to_date"`
	Raised             int            `json:"raised"`
	ByCategory         map[string]int `json:"by_category"`
	ByRaisingAgency    map[string]int `json:"by_raising_agency"`
	ByRespondingAgency map[string]int `json:"by_responding_agency"`
	ByHighestStage     map[string]int `json:"by_highest_stage"`
	ByStatus           map[string]int `json:"by_status"`
	TimeToResolution   []struct {
		Stage             int     `json:"stage"`
		Resolved          int     `json:"resolved"`
		MedianHours       float64 `json:"median_hours"`
		P90Hours          float64 `json:"p90_hours"`
		MedianWorkingDays float64 `json:"median_working_days"`
	} `json:"time_to_resolution"`
	DeadlinesMissed            int            `json:"deadlines_missed"`
	DeadlinesMissedByStage     map[string]int `json:"deadlines_missed_by_stage"`
	OpenNow                    int            `json:"open_now"`
	OverdueNow                 int            `json:"overdue_now"`
	AgenciesWithoutEscalations []struct {
		Policy string `json:"policy"`
		Agency string `json:"agency"`
		Name   string `json:"name"`
	} `json:"agencies_without_escalations"`
	Learning []struct {
		Ref      string    `json:"ref"`
		Stage    int       `json:"stage"`
		Learning string    `json:"learning"`
		At       time.Time `json:"at"`
		Source   string    `json:"source"`
	} `json:"learning"`
}

// getRaw sends a GET with an Accept header and returns the answer as is.
func (s *system) getRaw(t *testing.T, path, token, accept string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// The partnership's summary report, from cases driven through the API: its
// counts, resolution times, learning and absent agencies, as JSON and CSV,
// with the period and the access rule (partnership of the policy, admin).
func TestReportsSummary(t *testing.T) {
	s := startSystem(t)
	hana := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	sam := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	manager := s.token("Mo Manager", "mo@nct.example", "nct", "manager")
	pat := s.token("Pat Lead", "pat@nscp.example", "northamptonshire", "partnership")
	devon := s.token("Dee Devon", "dee@devon.example", "devon", "partnership")

	open := func(raiser string, category string, respondent map[string]string) workflows.Case {
		t.Helper()
		var c workflows.Case
		if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "NCT/REP",
			"category": category, "summary": "Report test", "respondent": respondent}, &c); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		return c
	}
	act := func(token, path string, body any, status string) {
		t.Helper()
		var c workflows.Case
		if code := s.call("POST", path, token, body, &c); code != 200 || c.Status != status {
			t.Fatalf("%s: %d %s, want 200 %s", path, code, c.Status, status)
		}
	}
	samParty := map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}
	hanaParty := map[string]string{"name": "Hana Visitor", "email": "hana@nhft.example", "agency": "nhft"}

	// Resolved at stage 1 with learning.
	c1 := open(hana, "communication", samParty)
	act(sam, "/v1/cases/"+c1.Ref+"/agreement", map[string]any{"outcome": "Plan shared", "learning": "Share the plan the same day",
		"actions": []map[string]string{{"what": "Send plan", "who": "Sam", "by": "2026-12-01T17:00:00Z"}}}, workflows.StatusAgreementProposed)
	act(hana, "/v1/cases/"+c1.Ref+"/agreement/confirm", map[string]any{}, workflows.StatusResolved)
	// Climbed to stage 2, then withdrawn.
	c2 := open(hana, "threshold-csc-assessment", samParty)
	act(hana, "/v1/cases/"+c2.Ref+"/escalations", map[string]any{"reason": "No agreement", "evidence": "Two calls"}, workflows.StatusOpen)
	act(hana, "/v1/cases/"+c2.Ref+"/withdrawal", map[string]any{"reason": "Agreed on the phone"}, workflows.StatusWithdrawn)
	// Still open, not yet due.
	open(sam, "communication", hanaParty)

	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(london)
	year := now.Year()
	if now.Month() < time.April {
		year--
	}
	wantFrom := time.Date(year, time.April, 1, 0, 0, 0, 0, london)

	var r summaryReport
	if code := s.call("GET", "/v1/reports/summary", pat, nil, &r); code != 200 {
		t.Fatalf("partnership report: %d", code)
	}
	if r.Policy != "northamptonshire" || !r.From.Equal(wantFrom) || !r.To.Equal(wantFrom.AddDate(1, 0, 0)) ||
		r.FromDate != wantFrom.Format(time.DateOnly) || r.ToDate != time.Date(year+1, time.March, 31, 0, 0, 0, 0, london).Format(time.DateOnly) {
		t.Errorf("period: %s %s to %s (%s to %s), want the reporting year from %s", r.Policy, r.From, r.To, r.FromDate, r.ToDate, wantFrom)
	}
	checks := map[string][2]int{
		"raised":                              {r.Raised, 3},
		"by_category communication":           {r.ByCategory["communication"], 2},
		"by_category threshold":               {r.ByCategory["threshold-csc-assessment"], 1},
		"by_raising_agency nhft":              {r.ByRaisingAgency["nhft"], 2},
		"by_raising_agency nct":               {r.ByRaisingAgency["nct"], 1},
		"by_responding_agency nct":            {r.ByRespondingAgency["nct"], 2},
		"by_responding_agency nhft":           {r.ByRespondingAgency["nhft"], 1},
		"by_highest_stage 1":                  {r.ByHighestStage["1"], 2},
		"by_highest_stage 2":                  {r.ByHighestStage["2"], 1},
		"by_status resolved":                  {r.ByStatus["resolved"], 1},
		"by_status withdrawn":                 {r.ByStatus["withdrawn"], 1},
		"by_status open":                      {r.ByStatus["open"], 1},
		"deadlines_missed":                    {r.DeadlinesMissed, 0},
		"open_now":                            {r.OpenNow, 1},
		"overdue_now":                         {r.OverdueNow, 0},
		"learning":                            {len(r.Learning), 1},
		"time_to_resolution stages":           {len(r.TimeToResolution), 1},
		"agencies_without_escalations (10-2)": {len(r.AgenciesWithoutEscalations), 8},
	}
	for name, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %d, want %d", name, v[0], v[1])
		}
	}
	// Every category, stage and status is listed, unused ones as 0.
	if n, ok := r.ByCategory["roles-responsibilities"]; !ok || n != 0 {
		t.Errorf("by_category lacks an unused category: %v", r.ByCategory)
	}
	if n, ok := r.ByHighestStage["5"]; !ok || n != 0 {
		t.Errorf("by_highest_stage lacks stage 5: %v", r.ByHighestStage)
	}
	if n, ok := r.ByStatus["unresolved"]; !ok || n != 0 {
		t.Errorf("by_status lacks unresolved: %v", r.ByStatus)
	}
	if len(r.TimeToResolution) == 1 {
		tr := r.TimeToResolution[0]
		if tr.Stage != 1 || tr.Resolved != 1 || tr.MedianHours < 0 || tr.MedianHours > 1 || tr.P90Hours != tr.MedianHours {
			t.Errorf("time to resolution: %+v", tr)
		}
	}
	if len(r.Learning) == 1 {
		l := r.Learning[0]
		if l.Ref != c1.Ref || l.Stage != 1 || l.Learning != "Share the plan the same day" || l.Source != "agreement" || l.At.IsZero() {
			t.Errorf("learning: %+v", l)
		}
	}
	police := false
	for _, a := range r.AgenciesWithoutEscalations {
		if a.Agency == "nhft" || a.Agency == "nct" {
			t.Errorf("%s raised escalations but is listed as raising none", a.Agency)
		}
		police = police || (a.Agency == "northants-police" && a.Name == "Northamptonshire Police")
	}
	if !police {
		t.Errorf("northants-police raised none but is not listed: %+v", r.AgenciesWithoutEscalations)
	}

	// The same as CSV.
	code, h, body := s.getRaw(t, "/v1/reports/summary", pat, "text/csv")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", code, h.Get("Content-Type"))
	}
	wantName := `filename="escalations-northamptonshire-` + r.FromDate + "-to-" + r.ToDate + `.csv"`
	if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, wantName) {
		t.Errorf("Content-Disposition %q, want an attachment %s", cd, wantName)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	cells := map[string]string{}
	for _, row := range rows {
		cells[strings.Join(row[:2], "/")] = row[2]
	}
	for k, want := range map[string]string{
		"section/key": "value", "report/policy": "northamptonshire", "report/from_date": r.FromDate, "totals/raised": "3",
		"by_category/communication": "2", "by_raising_agency/nhft": "2", "by_responding_agency/nct": "2",
		"by_highest_stage/2": "1", "by_status/withdrawn": "1", "totals/open_now": "1", "totals/deadlines_missed": "0",
		"time_to_resolution_stage_1/resolved": "1", "agencies_without_escalations/northants-police": "Northamptonshire Police",
		"learning_1/ref": c1.Ref, "learning_1/learning": "Share the plan the same day",
	} {
		if cells[k] != want {
			t.Errorf("CSV %s = %q, want %q", k, cells[k], want)
		}
	}

	// An admin names the policy, or sees every policy.
	var ra summaryReport
	if code := s.call("GET", "/v1/reports/summary?policy=northamptonshire", adminToken, nil, &ra); code != 200 || ra.Raised != 3 {
		t.Errorf("admin, northamptonshire: %d raised %d", code, ra.Raised)
	}
	// Another partnership sees its own (empty) report.
	var rd summaryReport
	if code := s.call("GET", "/v1/reports/summary", devon, nil, &rd); code != 200 || rd.Policy != "devon" || rd.Raised != 0 || rd.Learning == nil {
		t.Errorf("devon partnership: %d %+v", code, rd)
	}

	// A period with none of these cases.
	var old summaryReport
	if code := s.call("GET", "/v1/reports/summary?from=2020-04-01&to=2021-03-31", pat, nil, &old); code != 200 ||
		old.Raised != 0 || len(old.Learning) != 0 || old.OpenNow != 1 || len(old.AgenciesWithoutEscalations) != 10 {
		t.Errorf("2020/21: %d %+v", code, old)
	}

	// Who may not, and what is refused.
	var eb errorBody
	for _, tc := range []struct {
		who, token, query string
		status            int
		code, field       string
	}{
		{"practitioner", hana, "", 403, "forbidden", ""},
		{"manager", manager, "?policy=northamptonshire", 403, "forbidden", ""},
		{"another policy's partnership", devon, "?policy=northamptonshire", 403, "forbidden", ""},
		{"partnership asking for another policy", pat, "?policy=devon", 403, "forbidden", ""},
		{"bad from", pat, "?from=last-april", 400, "invalid_request", "from"},
		{"from after to", pat, "?from=2026-05-01&to=2026-04-01", 400, "invalid_request", "from"},
		{"unknown policy", adminToken, "?policy=atlantis", 400, "invalid_request", "policy"},
	} {
		eb = errorBody{}
		if code := s.call("GET", "/v1/reports/summary"+tc.query, tc.token, nil, &eb); code != tc.status || eb.Error.Code != tc.code ||
			(tc.field != "" && eb.Error.Fields[tc.field] == "") {
			t.Errorf("%s: %d %+v, want %d %s", tc.who, code, eb, tc.status, tc.code)
		}
	}
	if code, _, body := s.getRaw(t, "/v1/reports/summary", sam, "text/csv"); code != 403 || !json.Valid(body) {
		t.Errorf("practitioner asking for CSV: %d %s", code, body)
	}

	// Deadlines missed, from a drill case that climbs by itself.
	var d workflows.Case
	if code := s.call("POST", "/v1/cases", hana, map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "DRILL/REP",
		"category": "communication", "summary": "Drill", "respondent": samParty}, &d); code != http.StatusCreated {
		t.Fatalf("drill case: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var cur workflows.Case
		if s.call("GET", "/v1/cases/"+d.Ref, hana, nil, &cur); cur.Stage.Number >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var rf summaryReport
	if code := s.call("GET", "/v1/reports/summary?policy=northamptonshire-fastdrill", adminToken, nil, &rf); code != 200 ||
		rf.Raised != 1 || rf.DeadlinesMissed < 1 || rf.DeadlinesMissedByStage["1"] != 1 || rf.OpenNow != 1 {
		t.Errorf("drill report: %d %+v", code, rf)
	}
	var all summaryReport
	if code := s.call("GET", "/v1/reports/summary", adminToken, nil, &all); code != 200 || all.Policy != "" || all.Raised != 4 || all.OpenNow != 2 {
		t.Errorf("admin, every policy: %d policy %q raised %d open %d", code, all.Policy, all.Raised, all.OpenNow)
	}
}
