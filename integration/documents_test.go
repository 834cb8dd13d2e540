package integration

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"escalate/workflows"
)

// getPage reads a page (HTML) with a bearer token and returns its status
// and body.
func (s *system) getPage(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Contract v1.1, "Categories": "Every policy has a category other; a case
// with it needs category_detail (1-200 characters), shown wherever the
// category is." Through the API: refused without it (422), kept with the
// case, in the opening event and on the written record.
func TestCategoryOtherEndToEnd(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire", "child_ref": "OTH/1", "category": "other", "summary": "Transport",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}
	var eb errorBody
	if code := s.call("POST", "/v1/cases", raiser, body, &eb); code != http.StatusUnprocessableEntity || eb.Error.Fields["category_detail"] == "" {
		t.Fatalf("other without category_detail: %d %+v", code, eb)
	}
	body["category_detail"] = "School transport plan"
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if c.Category != "other" || c.CategoryDetail != "School transport plan" {
		t.Errorf("case: category %q detail %q", c.Category, c.CategoryDetail)
	}
	if len(c.History) == 0 || !strings.Contains(c.History[0].Text, "Category: Other: School transport plan.") {
		t.Errorf("opening event: %+v", c.History)
	}
	code, page := s.getPage(t, "/v1/cases/"+c.Ref+"/record.html", raiser)
	if code != 200 || !strings.Contains(page, "<td>"+html.EscapeString("Other: School transport plan")+"</td>") {
		t.Errorf("record page %d does not show the category with its detail", code)
	}
}

// Contract v1.1, "Agreed deadlines": through the API, one side's deadline is
// a proposal the case shows, the proposing side cannot confirm it (409),
// the other side's confirmation makes it the stage's deadline, and a retry
// of the confirmation with its Idempotency-Key records nothing twice.
func TestDeadlineProposedAndConfirmedEndToEnd(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "DL/1",
		"category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	path := "/v1/cases/" + c.Ref
	due := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	if code := s.call("POST", path+"/deadline", raiser, map[string]string{"due_at": due.Format(time.RFC3339), "reason": "Visit today"}, &c); code != 200 ||
		c.PendingDeadline == nil || !c.PendingDeadline.DueAt.Equal(due) || c.PendingDeadline.ProposedBySide != "raiser" || c.Stage.Agreed {
		t.Fatalf("propose: %d %+v %+v", code, c.PendingDeadline, c.Stage)
	}
	var eb errorBody
	if code := s.call("POST", path+"/deadline/confirm", raiser, map[string]any{}, &eb); code != http.StatusConflict {
		t.Errorf("the proposing side confirms: %d %+v", code, eb)
	}
	code, replayed, _ := s.keyed(t, path+"/deadline/confirm", respondent, "confirm-1", map[string]any{})
	if code != 200 || replayed {
		t.Fatalf("confirm: %d replayed %v", code, replayed)
	}
	events := s.eventCount(t, c.Ref)
	if code, replayed, _ := s.keyed(t, path+"/deadline/confirm", respondent, "confirm-1", map[string]any{}); code != 200 || !replayed {
		t.Errorf("retry: %d replayed %v", code, replayed)
	}
	if n := s.eventCount(t, c.Ref); n != events {
		t.Errorf("the retry recorded %d more events", n-events)
	}
	if code := s.call("GET", path, raiser, nil, &c); code != 200 || !c.Stage.Agreed || !c.Stage.DueAt.Equal(due) || c.PendingDeadline != nil {
		t.Errorf("after confirmation: %d %+v pending %+v", code, c.Stage, c.PendingDeadline)
	}
	if code := s.call("POST", path+"/deadline/confirm", respondent, map[string]any{}, &eb); code != http.StatusConflict {
		t.Errorf("confirm with nothing proposed: %d", code)
	}
	if code := s.call("POST", path+"/withdrawal", raiser, map[string]string{"reason": "Agreed on the phone"}, &c); code != 200 {
		t.Fatalf("withdraw: %d", code)
	}
	recordHistory(t, s.temporal, c.Ref, "deadline-proposed-confirmed")
}

// Northamptonshire, Stage 2: "the problem should be referred to each
// professionals' own line manager" (northamptonshire-escalating-for-the-
// right-outcome.txt). Through the API the raiser may name their line
// manager when raising: recorded as the raiser's side's contact at stage 2,
// never the raiser or the respondent (422).
func TestRaiserNamesTheirLineManagerEndToEnd(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	body := map[string]any{"policy": "northamptonshire", "child_ref": "LM/1", "category": "communication", "summary": "s",
		"respondent":          map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
		"raiser_line_manager": map[string]string{"name": "Sam Social", "email": "SAM@nct.example"}}
	var eb errorBody
	if code := s.call("POST", "/v1/cases", raiser, body, &eb); code != http.StatusUnprocessableEntity || eb.Error.Fields["raiser_line_manager.email"] == "" {
		t.Fatalf("the respondent as line manager: %d %+v", code, eb)
	}
	body["raiser_line_manager"] = map[string]string{"name": "Lena Lead", "email": "lena@nhft.example"}
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, body, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if len(c.Contacts) != 1 || c.Contacts[0].Email != "lena@nhft.example" || c.Contacts[0].Stage != 2 || c.Contacts[0].Side != "raiser" || c.Contacts[0].Agency != "nhft" {
		t.Errorf("contacts: %+v", c.Contacts)
	}
	// She acts for the raiser's side, so she may read the case (as a
	// practitioner who was not a party could not).
	lena := s.token("Lena Lead", "lena@nhft.example", "nhft", "practitioner")
	if code := s.call("GET", "/v1/cases/"+c.Ref, lena, nil, &c); code != 200 {
		t.Errorf("the line manager reads the case: %d", code)
	}
}
