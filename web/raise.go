package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/policies"
	"escalate/store"
)

// Raising a disagreement: one question a page (the GOV.UK pattern), then
// "Check your answers", then a confirmation with the reference and the
// first deadline. The answers are kept with the session in PostgreSQL
// (store.SaveDraft), never in hidden fields that could be changed on the
// way; the draft's key is the start's idempotency key, so sending "Check
// your answers" twice raises one case.

func (s *Server) raiseRoutes(r gin.IRoutes) {
	r.GET("/raise", s.signedIn(s.raiseStart))
	r.GET("/raise/:step", s.signedIn(s.raiseQuestion))
	r.POST("/raise/:step", s.signedIn(s.raiseAnswer))
	r.GET("/raised/:ref", s.signedIn(s.raised))
}

// draft is a disagreement being raised.
type draft struct {
	// Key is the start's idempotency key, made with the draft.
	Key            string `json:"key"`
	Policy         string `json:"policy,omitempty"`
	Category       string `json:"category,omitempty"`
	CategoryDetail string `json:"category_detail,omitempty"`
	ChildRef       string `json:"child_ref,omitempty"`
	Summary        string `json:"summary,omitempty"`
	RespName       string `json:"resp_name,omitempty"`
	RespEmail      string `json:"resp_email,omitempty"`
	RespAgency     string `json:"resp_agency,omitempty"`
	Urgent         string `json:"urgent,omitempty"` // "yes", "no"
	// Ref is the case the draft raised, once it has.
	Ref string `json:"ref,omitempty"`
}

// request is the draft as the core's start request.
func (d draft) request() cases.StartRequest {
	return cases.StartRequest{Policy: d.Policy, ChildRef: d.ChildRef, Category: d.Category, CategoryDetail: d.CategoryDetail,
		Summary: d.Summary, Urgent: d.Urgent == "yes",
		Respondent: cases.PartyRequest{Name: d.RespName, Email: d.RespEmail, Agency: d.RespAgency}}
}

// The questions, in order.
var raiseSteps = []string{"partnership", "category", "child", "summary", "professional", "urgent", "check"}

// answered reports whether the draft answers step.
func (d draft) answered(step string) bool {
	switch step {
	case "partnership":
		return d.Policy != ""
	case "category":
		return d.Category != ""
	case "child":
		return d.ChildRef != ""
	case "summary":
		return d.Summary != ""
	case "professional":
		return d.RespEmail != ""
	case "urgent":
		return d.Urgent != ""
	}
	return false
}

// firstUnanswered is the first question the draft has no answer to, or
// "check".
func (d draft) firstUnanswered() string {
	for _, st := range raiseSteps {
		if st == "check" || !d.answered(st) {
			return st
		}
	}
	return "check"
}

func (s *Server) loadDraft(c *gin.Context) (draft, bool) {
	raw, err := s.st.Draft(c.Request.Context(), sessionHash(c))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.storeFailed(c, err)
		return draft{}, false
	}
	var d draft
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &d); err != nil {
			d = draft{}
		}
	}
	return d, true
}

func (s *Server) saveDraft(c *gin.Context, d draft) bool {
	raw, _ := json.Marshal(d)
	if err := s.st.SaveDraft(c.Request.Context(), sessionHash(c), raw); err != nil {
		s.storeFailed(c, err)
		return false
	}
	return true
}

// raiseStart begins a new draft (forgetting one already raised) or carries
// on with the one in progress.
func (s *Server) raiseStart(c *gin.Context, me cases.Principal) {
	d, ok := s.loadDraft(c)
	if !ok {
		return
	}
	if d.Key == "" || d.Ref != "" {
		d = draft{Key: newSecret()}
		if !s.saveDraft(c, d) {
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/raise/"+d.firstUnanswered())
}

// questionData is one question page.
type questionData struct {
	Step     string
	Back     string
	Change   bool
	Policy   *policies.Policy
	Draft    draft
	Options  []option
	Agencies []option
	Hint     string
	// Check: the answers, for "Check your answers".
	Rows []answerRow
}

type option struct {
	Value, Label, Hint string
}

type answerRow struct {
	Key, Value, Step, Field string
}

var stepTitles = map[string]string{
	"partnership":  "Which partnership's procedure is this disagreement under?",
	"category":     "What is the disagreement about?",
	"child":        "What is the child's record reference?",
	"summary":      "Summarise the disagreement",
	"professional": "Who is the other professional?",
	"urgent":       "Is this disagreement urgent?",
	"check":        "Check your answers before raising the disagreement",
}

func validStep(step string) bool {
	_, ok := stepTitles[step]
	return ok
}

// stepDraft reads the step the path names (404 if none) and the session's
// draft; false when it answered.
func (s *Server) stepDraft(c *gin.Context) (string, draft, bool) {
	step := c.Param("step")
	if !validStep(step) {
		s.errorPage(c, http.StatusNotFound)
		return "", draft{}, false
	}
	d, ok := s.loadDraft(c)
	return step, d, ok
}

func (s *Server) raiseQuestion(c *gin.Context, me cases.Principal) {
	step, d, ok := s.stepDraft(c)
	if !ok {
		return
	}
	if d.Key == "" || d.Ref != "" {
		c.Redirect(http.StatusSeeOther, "/raise")
		return
	}
	if first := d.firstUnanswered(); indexOf(step) > indexOf(first) {
		c.Redirect(http.StatusSeeOther, "/raise/"+first)
		return
	}
	s.renderQuestion(c, me, step, d, c.Query("change") == "1", http.StatusOK, nil)
}

func indexOf(step string) int {
	for i, st := range raiseSteps {
		if st == step {
			return i
		}
	}
	return len(raiseSteps)
}

func (s *Server) renderQuestion(c *gin.Context, me cases.Principal, step string, d draft, change bool, status int, errs []fieldError) {
	q := questionData{Step: step, Draft: d, Change: change}
	if i := indexOf(step); i > 0 {
		q.Back = "/raise/" + raiseSteps[i-1]
	}
	if change {
		q.Back = "/raise/check"
	}
	if pol, ok := s.cfg.Cases.Policy(d.Policy); ok {
		q.Policy = &pol
	}
	switch step {
	case "partnership":
		for _, p := range s.cfg.Policies.All() {
			o := option{Value: p.ID, Label: p.Name}
			if p.Drill {
				o.Hint = "A rehearsal: its deadlines pass in seconds or minutes."
			}
			q.Options = append(q.Options, o)
		}
	case "category":
		if q.Policy != nil {
			for _, cat := range q.Policy.Categories {
				q.Options = append(q.Options, option{Value: cat.ID, Label: cat.Label})
			}
		}
	case "professional":
		if q.Policy != nil {
			for _, a := range q.Policy.Agencies {
				q.Agencies = append(q.Agencies, option{Value: a.ID, Label: a.Name})
			}
		}
	case "urgent":
		q.Hint = urgencyMeaning(q.Policy)
	case "check":
		q.Rows = s.answerRows(d, q.Policy)
	}
	s.render(c, status, "raise", stepTitles[step], q, errs)
}

// urgencyMeaning is what urgency means in the procedure: the policy's own
// words where it has them, else its urgent timescale for stage 1.
func urgencyMeaning(pol *policies.Policy) string {
	if pol == nil {
		return ""
	}
	for _, line := range pol.PartnershipSettings {
		if strings.HasPrefix(strings.ToLower(line), "urgent") {
			return line
		}
	}
	if st, ok := pol.Stage(1); ok && st.UrgentWithin != "" {
		return fmt.Sprintf("In this procedure an urgent case's first stage lasts at most %s instead of %s, and an urgent case may skip stages.", st.UrgentWithin, st.Within)
	}
	return "In this procedure an urgent case may skip stages; its timescales are the same."
}

func (s *Server) answerRows(d draft, pol *policies.Policy) []answerRow {
	policyName, category, agency := d.Policy, d.Category, d.RespAgency
	if pol != nil {
		policyName = pol.Name
		if cat, ok := pol.Category(d.Category); ok {
			category = cat.Shown(d.CategoryDetail)
		}
		agency = agencyName(pol, d.RespAgency)
	}
	urgent := "No"
	if d.Urgent == "yes" {
		urgent = "Yes"
	}
	return []answerRow{
		{"Partnership", policyName, "partnership", "policy"},
		{"What it is about", category, "category", "category"},
		{"Child's record reference", d.ChildRef, "child", "child_ref"},
		{"Summary", d.Summary, "summary", "summary"},
		{"The other professional", d.RespName + "\n" + d.RespEmail + "\n" + agency, "professional", "resp_name"},
		{"Urgent", urgent, "urgent", "urgent"},
	}
}

// raiseFields names the start request's fields on the raise pages.
var raiseFields = fieldMap{
	"policy":            {"policy", "Partnership"},
	"category":          {"category", "What it is about"},
	"category_detail":   {"category_detail", "What the disagreement is about"},
	"child_ref":         {"child_ref", "Child's record reference"},
	"summary":           {"summary", "Summary"},
	"respondent.name":   {"resp_name", "Their name"},
	"respondent.email":  {"resp_email", "Their work email address"},
	"respondent.agency": {"resp_agency", "Their agency"},
	"respondent":        {"resp_name", "The other professional"},
	"urgent":            {"urgent", "Urgent"},
	"due_at":            {"urgent", "Deadline"},
	"Idempotency-Key":   {"policy", "Form"},
}

// stepFields are the request fields each question answers.
var stepFields = map[string][]string{
	"partnership":  {"policy"},
	"category":     {"category", "category_detail"},
	"child":        {"child_ref"},
	"summary":      {"summary"},
	"professional": {"respondent.name", "respondent.email", "respondent.agency", "respondent"},
	"urgent":       {"urgent"},
}

// fieldsOf keeps the refusal's field reasons for the step's fields only
// (the draft's later answers are not given yet).
func fieldsOf(err error, step string) error {
	e, ok := cases.AsError(err)
	if !ok || err == nil {
		return err
	}
	kept := map[string]string{}
	for _, f := range stepFields[step] {
		if why, ok := e.Fields[f]; ok {
			kept[f] = why
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &cases.Error{Kind: e.Kind, Message: e.Message, Fields: kept}
}

func (s *Server) raiseAnswer(c *gin.Context, me cases.Principal) {
	step, d, ok := s.stepDraft(c)
	if !ok {
		return
	}
	if d.Ref != "" {
		// Sent again after the case was raised (a double click, the back
		// button): the case, never a second one.
		c.Redirect(http.StatusSeeOther, "/raised/"+d.Ref)
		return
	}
	if d.Key == "" {
		c.Redirect(http.StatusSeeOther, "/raise")
		return
	}
	change := c.PostForm("change") == "1"
	if step == "check" {
		s.raiseSubmit(c, me, d)
		return
	}
	var problem error
	switch step {
	case "partnership":
		d.Policy = strings.TrimSpace(c.PostForm("policy"))
		if _, ok := s.cfg.Cases.Policy(d.Policy); !ok {
			d.Policy = ""
			problem = cases.InvalidField("policy", "choose the partnership whose procedure the case is under")
		}
	case "category":
		d.Category, d.CategoryDetail = strings.TrimSpace(c.PostForm("category")), ""
		if d.Category == policies.CategoryOther {
			d.CategoryDetail = strings.TrimSpace(c.PostForm("category_detail"))
		}
		pol, _ := s.cfg.Cases.Policy(d.Policy)
		if d.Category == "" {
			problem = cases.InvalidField("category", "required")
		} else if problem = fieldsOf(cases.Check(d.request()), step); problem == nil {
			problem = cases.CheckCategory(pol, d.Category, d.CategoryDetail)
		}
	case "child":
		d.ChildRef = strings.TrimSpace(c.PostForm("child_ref"))
		problem = fieldsOf(cases.Check(d.request()), step)
	case "summary":
		d.Summary = strings.TrimSpace(postForm(c, "summary"))
		problem = fieldsOf(cases.Check(d.request()), step)
	case "professional":
		d.RespName, d.RespEmail, d.RespAgency = strings.TrimSpace(c.PostForm("resp_name")), strings.TrimSpace(c.PostForm("resp_email")), strings.TrimSpace(c.PostForm("resp_agency"))
		problem = fieldsOf(cases.Check(d.request()), step)
		if problem == nil {
			pol, _ := s.cfg.Cases.Policy(d.Policy)
			if _, ok := pol.Agency(d.RespAgency); !ok {
				problem = cases.InvalidField("respondent.agency", "choose the agency from the partnership's directory")
			}
		}
		if problem == nil {
			problem = cases.CheckRespondent(me, d.RespEmail)
		}
	case "urgent":
		d.Urgent = c.PostForm("urgent")
		if d.Urgent != "yes" && d.Urgent != "no" {
			d.Urgent = ""
			problem = cases.InvalidField("urgent", "say whether it is urgent")
		}
	}
	if problem != nil {
		errs, status, ok := s.formRefusal(c, problem, raiseFields, firstField(step))
		if !ok {
			return
		}
		s.renderQuestion(c, me, step, d, change, status, errs)
		return
	}
	if step == "partnership" {
		// Another partnership: its categories and agencies differ.
		pol, _ := s.cfg.Cases.Policy(d.Policy)
		if _, ok := pol.Category(d.Category); !ok {
			d.Category, d.CategoryDetail = "", ""
		}
		if _, ok := pol.Agency(d.RespAgency); !ok {
			d.RespAgency, d.RespEmail = "", ""
		}
	}
	// Changed answers are another request: a new key, so that an earlier
	// attempt with the old answers (one whose answer did not come back)
	// never blocks them, while "Check your answers" sent twice unchanged
	// keeps one key and raises one case.
	d.Key = newSecret()
	if !s.saveDraft(c, d) {
		return
	}
	next := d.firstUnanswered()
	if i := indexOf(step) + 1; !change && i < len(raiseSteps) && i <= indexOf(next) {
		next = raiseSteps[i]
	}
	c.Redirect(http.StatusSeeOther, "/raise/"+next)
}

// firstField is the field a step's refusal as a whole links to.
func firstField(step string) string {
	if f, ok := stepField[step]; ok {
		return f
	}
	return "main-content"
}

var stepField = map[string]string{"partnership": "policy", "category": "category", "child": "child_ref", "summary": "summary",
	"professional": "resp_name", "urgent": "urgent"}

// raiseSubmit raises the case from "Check your answers", with the draft's
// key: sent twice, it is one case.
func (s *Server) raiseSubmit(c *gin.Context, me cases.Principal, d draft) {
	if first := d.firstUnanswered(); first != "check" {
		c.Redirect(http.StatusSeeOther, "/raise/"+first)
		return
	}
	cs, err := s.cfg.Cases.Start(core(c), me, d.request(), "draft-"+d.Key)
	if err != nil {
		errs, status, ok := s.formRefusal(c, err, raiseFields, "main-content")
		if !ok {
			return
		}
		for i := range errs {
			// Each problem links to the answer's row, which has its change link.
			errs[i].Field = checkRow[errs[i].Field]
			if errs[i].Field == "" {
				errs[i].Field = "policy"
			}
		}
		s.renderQuestion(c, me, "check", d, false, status, errs)
		return
	}
	d.Ref = cs.Ref
	if !s.saveDraft(c, d) {
		return
	}
	s.log.Info("page: case raised", "request_id", requestID(c), "ref", cs.Ref)
	c.Redirect(http.StatusSeeOther, "/raised/"+cs.Ref)
}

// checkRow is the row of "Check your answers" that shows a field.
var checkRow = map[string]string{"policy": "policy", "category": "category", "category_detail": "category", "child_ref": "child_ref",
	"summary": "summary", "resp_name": "resp_name", "resp_email": "resp_name", "resp_agency": "resp_name", "urgent": "urgent"}

type raisedData struct {
	Ref, Due, Stage, Other string
}

// raised is the confirmation: the reference and the first deadline.
func (s *Server) raised(c *gin.Context, me cases.Principal) {
	cs, ok := s.loadCase(c, me)
	if !ok {
		return
	}
	pol, loc := s.policy(cs.Policy)
	s.render(c, http.StatusOK, "raised", "Disagreement raised", raisedData{Ref: cs.Ref, Due: localTime(cs.Stage.DueAt, loc),
		Stage: stageName(cs), Other: cs.Respondent.Name + " (" + agencyName(pol, cs.Respondent.Agency) + ")"}, nil)
}
