package integration

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"

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
