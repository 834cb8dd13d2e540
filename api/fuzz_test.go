package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// FuzzDecodeCreateCase: any body is either refused with a 400 naming what
// is wrong, or is exactly one JSON object of valid UTF-8 and decodes into a
// request that keeps every field rule, with no control character in any
// field and no line break in a single-line one.
func FuzzDecodeCreateCase(f *testing.F) {
	f.Add(`{"policy":"northamptonshire","child_ref":"NCT/1","category":"communication","summary":"s","respondent":{"name":"S","email":"s@x.example","agency":"nct"}}`)
	f.Add(`{"policy":1}`)
	f.Add(`{"child_ref":"a b"}`)
	f.Add(`[]`)
	f.Add(`{"respondent":{"email":"x"},"extra":true}`)
	f.Add(``)
	f.Add(`{"policy":"northamptonshire","child_ref":"NCT/1","category":"communication","summary":"s","respondent":{"name":"S","email":"s@x.example","agency":"nct"}} {}`)
	f.Add(`{"policy":"northamptonshire","child_ref":"NCT/1","category":"communication","summary":"s","respondent":{"name":"S","email":"s@x.example","agency":"nct","dob":"2020-01-01"}}`)
	f.Add(`{"respondent":{"name":5}}`)
	f.Add(`{"policy":"northamptonshire","child_ref":"NCT/1","category":"communication","summary":"a\u0000b","respondent":{"name":"S","email":"s@x.example","agency":"nct"}}`)
	f.Add("{\"policy\":\"northamptonshire\",\"child_ref\":\"NCT/1\",\"category\":\"communication\",\"summary\":\"s\",\"respondent\":{\"name\":\"S\\r\\nBcc: x\",\"email\":\"s@x.example\",\"agency\":\"n\xffct\"}}")
	f.Add(`{"summary":"\ud800"}`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest("POST", "/v1/cases", strings.NewReader(body))
		c.Request.Body = http.MaxBytesReader(rec, c.Request.Body, maxBody)
		var req createCaseRequest
		err := bindJSON(c, &req)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != "invalid_request" || ae.Message == "" {
				t.Fatalf("refusal is not a 400 invalid_request: %#v", err)
			}
			for field, why := range ae.Fields {
				if field == "" || why == "" {
					t.Fatalf("a field refused without its name or reason: %v", ae.Fields)
				}
			}
			return
		}
		if trimmed := strings.TrimSpace(body); !json.Valid([]byte(body)) || !strings.HasPrefix(trimmed, "{") {
			t.Fatalf("accepted a body that is not exactly one JSON object: %q", body)
		}
		if !childRefPattern.MatchString(req.ChildRef) || strings.TrimSpace(req.Summary) == "" ||
			utf8.RuneCountInString(req.Summary) > 10000 || req.Policy == "" || req.Respondent.Email == "" ||
			strings.TrimSpace(req.Respondent.Name) == "" {
			t.Fatalf("accepted a body that breaks a field rule: %+v", req)
		}
		if !utf8.ValidString(body) || textProblem(req.Summary) != "" {
			t.Fatalf("accepted invalid UTF-8 or a control character: %q", body)
		}
		for _, v := range []string{req.Policy, req.ChildRef, req.Category, req.DueAt, req.Respondent.Name, req.Respondent.Email, req.Respondent.Agency} {
			if singleLineProblem(v) != "" {
				t.Fatalf("accepted a single-line field with a line break or control character: %q", v)
			}
		}
	})
}
