package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/policies"
	"escalate/workflows"
)

// The actions on a case, each a page with one form (GET shows it, POST
// sends it to the core, the JSON API's own). The case page offers only
// the actions the core says this person may take now (cases.Service.May:
// the access rule, then the case workflow's own validators); a refusal
// comes back in the GOV.UK error summary with the core's own words, and
// nothing is half done: the workflow records the whole change or none.
// Every form carries a random form_key, its Idempotency-Key: sent twice
// (a double click, a reload), it is recorded once.

func (s *Server) actionRoutes(r gin.IRoutes) {
	r.GET("/cases/:ref/do/:action", s.signedIn(s.actionForm))
	r.POST("/cases/:ref/do/:action", s.signedIn(s.actionSend))
}

// actionInfo is one action's page.
type actionInfo struct {
	// Slug is its path segment; Update the core's name for it.
	Slug, Update string
	// Title is the page's heading; Button its submit button.
	Title, Button string
	// Warning: the button's class is a warning (withdrawing).
	Warning bool
}

// actionList is every action, in the order the case page lists them.
var actionList = []actionInfo{
	{Slug: "confirm", Update: workflows.UpdateConfirmAgreement, Title: "Confirm the proposed outcome", Button: "Confirm the outcome"},
	{Slug: "reject", Update: workflows.UpdateRejectAgreement, Title: "Reject the proposed outcome", Button: "Reject the outcome"},
	{Slug: "confirm-deadline", Update: workflows.UpdateConfirmDeadline, Title: "Confirm the proposed deadline", Button: "Confirm the deadline"},
	{Slug: "propose", Update: workflows.UpdateProposeAgreement, Title: "Propose the written outcome", Button: "Propose the outcome"},
	{Slug: "note", Update: workflows.UpdateNote, Title: "Add a note", Button: "Add the note"},
	{Slug: "contact", Update: workflows.UpdateContact, Title: "Name your side's contact for this stage", Button: "Name the contact"},
	{Slug: "step-in", Update: cases.StepIn, Title: "Act as the line manager for your side", Button: "I am the line manager for this side"},
	{Slug: "deadline", Update: workflows.UpdateDeadline, Title: "Agree a shorter deadline", Button: "Agree the deadline"},
	{Slug: "escalate", Update: workflows.UpdateEscalate, Title: "Escalate to the next stage", Button: "Escalate"},
	{Slug: "review", Update: workflows.UpdateReview, Title: "Review whether the earlier stages were followed", Button: "Record the review"},
	{Slug: "meeting", Update: workflows.UpdateMeeting, Title: "Record the meeting", Button: "Record the meeting"},
	{Slug: "outcome", Update: workflows.UpdateOutcome, Title: "Record the partnership's outcome", Button: "Record the outcome and close the case"},
	{Slug: "withdraw", Update: workflows.UpdateWithdraw, Title: "Withdraw the disagreement", Button: "Withdraw the disagreement", Warning: true},
}

func actionBySlug(slug string) (actionInfo, bool) {
	for _, a := range actionList {
		if a.Slug == slug {
			return a, true
		}
	}
	return actionInfo{}, false
}

// titled adjusts an action's words to the case's procedure and to who
// takes it.
func titled(a actionInfo, me cases.Principal, cs workflows.Case, pol *policies.Policy) actionInfo {
	if a.Slug == "contact" && cases.ActsForEitherSide(me, cs) {
		a.Title = "Name a side's contact for this stage"
	}
	if pol == nil {
		return a
	}
	switch a.Slug {
	case "deadline":
		if pol.DeadlinesNeedBothSides() {
			a.Title, a.Button = "Propose a shorter deadline", "Propose the deadline"
		}
	case "meeting":
		if st, ok := pol.Stage(cs.Stage.Number); ok && st.Meeting != "" {
			a.Title = "Record the " + meetingName(st.Meeting)
		}
	}
	return a
}

// meetingName is a stage's meeting inside a sentence: "Mediation
// meeting" becomes "mediation meeting"; a name of several capitalised
// words ("Business Group meeting") stays as it is.
func meetingName(m string) string {
	if w := strings.Fields(m); len(w) > 1 && w[1] != strings.ToLower(w[1]) {
		return m
	}
	return lowerFirst(m)
}

// mayActions are the actions me may take now on cs, in the list's order.
func (s *Server) mayActions(c *gin.Context, me cases.Principal, cs workflows.Case, pol *policies.Policy) []actionInfo {
	may := s.cfg.Cases.May(c.Request.Context(), me, cs)
	var out []actionInfo
	for _, a := range actionList {
		if may[a.Update] {
			out = append(out, titled(a, me, cs, pol))
		}
	}
	return out
}

// actionData is an action page's data.
type actionData struct {
	Action   actionInfo
	Case     workflows.Case
	Where    string
	FormKey  string
	Form     map[string]string
	MySide   string
	Either   bool
	Evidence bool // the next stage requires evidence
	Stages   []option
	Repeat   bool
	Urgent   bool
	CaseRev  bool
	Proposal *proposalView
	Pending  string
	StepSide string
}

type proposalView struct {
	By, Side, Outcome, Learning string
	Actions                     []string
}

func (s *Server) actionForm(c *gin.Context, me cases.Principal) {
	s.showAction(c, me, nil, http.StatusOK, nil)
}

// showAction renders an action's page: for GET, an empty form; after a
// refusal, the form as sent with the error summary.
func (s *Server) showAction(c *gin.Context, me cases.Principal, form map[string]string, status int, errs []fieldError) {
	a, ok := actionBySlug(c.Param("action"))
	if !ok {
		s.errorPage(c, http.StatusNotFound)
		return
	}
	cs, ok := s.loadCase(c, me)
	if !ok {
		return
	}
	pol, loc := s.policy(cs.Policy)
	if errs == nil && !s.cfg.Cases.May(c.Request.Context(), me, cs)[a.Update] {
		// Not (or no longer) theirs to take: the case says why.
		c.Redirect(http.StatusSeeOther, "/cases/"+cs.Ref)
		return
	}
	a = titled(a, me, cs, pol)
	if form == nil {
		form = map[string]string{}
	}
	d := actionData{Action: a, Case: cs, FormKey: newSecret(), Form: form, MySide: side(cs, me.Email),
		Either: cases.ActsForEitherSide(me, cs), Urgent: cs.Urgent, StepSide: cases.StepInSide(me, cs)}
	d.Where, _ = whereItStands(cs, pol, loc)
	if pol != nil {
		cur, _ := pol.Stage(cs.Stage.Number)
		d.Repeat, d.CaseRev = cur.Repeat, cur.RecordCaseReview
		if next, ok := pol.Stage(cs.Stage.Number + 1); ok {
			d.Evidence = next.EvidenceRequired
		}
		for _, st := range pol.Stages {
			// Escalating offers the stages after this one; a review, those before.
			if (a.Slug == "escalate" && st.Number > cs.Stage.Number) || (a.Slug == "review" && st.Number < cs.Stage.Number) {
				d.Stages = append(d.Stages, option{Value: strconv.Itoa(st.Number), Label: fmt.Sprintf("Stage %d: %s", st.Number, st.Name)})
			}
		}
	}
	if ag := cs.Agreement; ag != nil {
		p := &proposalView{By: ag.ProposedBy, Side: ag.ProposedBySide, Outcome: ag.Outcome, Learning: ag.Learning}
		for _, x := range ag.Actions {
			p.Actions = append(p.Actions, fmt.Sprintf("%s (who: %s; by %s)", x.What, x.Who, localTime(x.By, loc)))
		}
		d.Proposal = p
	}
	if p := cs.PendingDeadline; p != nil {
		d.Pending = fmt.Sprintf("%s, proposed by %s for the %s's side. Reason: %s", localTime(p.DueAt, loc), p.ProposedBy, p.ProposedBySide, p.Reason)
	}
	s.render(c, status, "act", a.Title+" – "+cs.Ref, d, errs)
}

// actionFields names the core's fields on the action forms.
var actionFields = fieldMap{
	"text": {"text", "Note"}, "side": {"side", "Side"}, "name": {"name", "Name"}, "email": {"email", "Email address"},
	"role": {"role", "Role"}, "reason": {"reason", "Reason"}, "evidence": {"evidence", "Evidence"},
	"to_stage": {"to_stage", "Stage"}, "next_level": {"to_stage", "Next level"}, "due_at": {"due_at-day", "Deadline"},
	"outcome": {"outcome", "Outcome"}, "learning": {"learning", "Learning"}, "followed": {"followed", "Followed"},
	"send_back_to": {"send_back_to", "Send back to"}, "next_steps": {"next_steps", "Next steps"},
	"at": {"at-day", "Date"}, "purpose": {"purpose", "Purpose"}, "facilitator.name": {"facilitator_name", "Facilitator's name"},
	"facilitator.email": {"facilitator_email", "Facilitator's email address"}, "resolved": {"resolved", "Resolved"},
	"case_review_considered": {"case_review_considered", "Case review"},
	"actions[0].what":        {"action0_what", "First action"}, "actions[0].who": {"action0_who", "First action's owner"}, "actions[0].by": {"action0_by-day", "First action's date"},
	"actions[1].what": {"action1_what", "Second action"}, "actions[1].who": {"action1_who", "Second action's owner"}, "actions[1].by": {"action1_by-day", "Second action's date"},
	"actions[2].what": {"action2_what", "Third action"}, "actions[2].who": {"action2_who", "Third action's owner"}, "actions[2].by": {"action2_by-day", "Third action's date"},
}

// firstFieldOf is where a refusal of the action as a whole links.
var firstFieldOf = map[string]string{
	"note": "text", "contact": "name", "escalate": "reason", "deadline": "due_at-day", "propose": "outcome",
	"reject": "reason", "withdraw": "reason", "review": "followed", "meeting": "at-day", "outcome": "resolved",
	"confirm": "submit", "confirm-deadline": "submit", "step-in": "submit",
}

// formFields are the fields an action's form sends, kept to show them
// again after a refusal.
var formFields = []string{"text", "side", "name", "email", "role", "reason", "evidence", "to_stage", "next_level",
	"due_at-day", "due_at-month", "due_at-year", "due_at-time", "outcome", "learning", "followed", "send_back_to", "next_steps",
	"at-day", "at-month", "at-year", "at-time", "purpose", "declined", "facilitator_name", "facilitator_email", "resolved",
	"case_review_considered",
	"action0_what", "action0_who", "action0_by-day", "action0_by-month", "action0_by-year",
	"action1_what", "action1_who", "action1_by-day", "action1_by-month", "action1_by-year",
	"action2_what", "action2_who", "action2_by-day", "action2_by-month", "action2_by-year"}

func (s *Server) actionSend(c *gin.Context, me cases.Principal) {
	a, ok := actionBySlug(c.Param("action"))
	if !ok {
		s.errorPage(c, http.StatusNotFound)
		return
	}
	ref := c.Param("ref")
	key := formKey(c)
	if key == "" {
		// Every form the pages make has one: this one was not made here.
		s.errorPage(c, http.StatusForbidden)
		return
	}
	form := map[string]string{}
	for _, f := range formFields {
		form[f] = strings.TrimSpace(postForm(c, f))
	}
	// One read of the case for the form's time zone and the sender's side.
	cs, known := s.caseOfRef(c, ref)
	loc := london
	if known {
		_, loc = s.policy(cs.Policy)
	}
	svc := s.cfg.Cases
	var act cases.Action
	var err error
	switch a.Slug {
	case "note":
		act, err = svc.Note(me, cases.NoteRequest{Text: form["text"]})
	case "contact":
		sd := form["side"]
		if sd == "" && known {
			sd = side(cs, me.Email)
		}
		act, err = svc.Contact(me, cases.ContactRequest{Side: sd, Name: form["name"], Email: form["email"], Role: form["role"]})
	case "step-in":
		act = svc.StepIn(me)
	case "escalate":
		req := cases.EscalationRequest{Reason: form["reason"], Evidence: form["evidence"], NextLevel: form["next_level"] == "yes"}
		if v := form["to_stage"]; v != "" && v != "next" {
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 0 || n > 99 {
				err = cases.InvalidField("to_stage", "choose a stage")
			}
			req.ToStage = n
		}
		if err == nil {
			act, err = svc.Escalate(me, req)
		}
	case "deadline":
		var due string
		due, err = localDateTime(form, "due_at", loc, true)
		if err == nil {
			act, err = svc.Deadline(me, cases.DeadlineRequest{DueAt: due, Reason: form["reason"]})
		}
	case "confirm-deadline":
		act = svc.ConfirmDeadline(me)
	case "propose":
		req := cases.AgreementRequest{Outcome: form["outcome"], Learning: form["learning"]}
		for i := 0; i < 3 && err == nil; i++ {
			p := fmt.Sprintf("action%d_", i)
			if form[p+"what"] == "" && form[p+"who"] == "" && form[p+"by-day"] == "" && form[p+"by-month"] == "" && form[p+"by-year"] == "" {
				continue
			}
			var by string
			by, err = localDateTime(form, p+"by", loc, false)
			if err != nil {
				err = relabel(err, p+"by", fmt.Sprintf("actions[%d].by", len(req.Actions)))
			}
			req.Actions = append(req.Actions, cases.ActionRequest{What: form[p+"what"], Who: form[p+"who"], By: by})
		}
		if err == nil {
			act, err = svc.ProposeAgreement(me, req)
		}
	case "confirm":
		act = svc.ConfirmAgreement(me)
	case "reject":
		act, err = svc.RejectAgreement(me, cases.ReasonRequest{Reason: form["reason"]})
	case "withdraw":
		act, err = svc.Withdraw(me, cases.ReasonRequest{Reason: form["reason"]})
	case "review":
		req := cases.ReviewRequest{NextSteps: form["next_steps"], Followed: yesNo(form["followed"])}
		if req.Followed != nil && !*req.Followed {
			req.SendBackTo, _ = strconv.Atoi(form["send_back_to"])
		}
		act, err = svc.Review(me, req)
	case "meeting":
		var at string
		at, err = localDateTime(form, "at", loc, true)
		if err == nil {
			req := cases.MeetingRequest{At: at, Purpose: form["purpose"], Declined: form["declined"] == "yes"}
			if form["facilitator_name"] != "" || form["facilitator_email"] != "" {
				req.Facilitator = &cases.FacilitatorRequest{Name: form["facilitator_name"], Email: form["facilitator_email"]}
			}
			act, err = svc.Meeting(me, req)
		}
	case "outcome":
		act, err = svc.Outcome(me, cases.OutcomeRequest{Resolved: yesNo(form["resolved"]), Outcome: form["outcome"],
			Learning: form["learning"], CaseReviewConsidered: yesNo(form["case_review_considered"])})
	}
	if err == nil {
		_, err = svc.Act(core(c), me, ref, act, key)
	}
	if err != nil {
		errs, status, ok := s.formRefusal(c, err, actionFields, firstFieldOf[a.Slug])
		if !ok {
			return
		}
		s.showAction(c, me, form, status, errs)
		return
	}
	s.log.Info("page: case action", "request_id", requestID(c), "ref", ref, "action", a.Update)
	c.Redirect(http.StatusSeeOther, "/cases/"+ref+"?done="+a.Slug)
}

// caseOfRef reads case ref for the form's time zone and the sender's side;
// false if it cannot be read (then London and no side: the core reads the
// case again and refuses what it must).
func (s *Server) caseOfRef(c *gin.Context, ref string) (workflows.Case, bool) {
	if !refPattern.MatchString(ref) {
		return workflows.Case{}, false
	}
	cs, err := s.st.GetCase(c.Request.Context(), ref)
	return cs, err == nil
}

func yesNo(v string) *bool {
	switch v {
	case "yes":
		t := true
		return &t
	case "no":
		f := false
		return &f
	}
	return nil
}

// relabel renames a refusal's field.
func relabel(err error, from, to string) error {
	e, ok := cases.AsError(err)
	if !ok {
		return err
	}
	fields := map[string]string{}
	for k, v := range e.Fields {
		if k == from {
			k = to
		}
		fields[k] = v
	}
	return &cases.Error{Kind: e.Kind, Message: e.Message, Fields: fields}
}

// localDateTime reads a GOV.UK date input (name-day, name-month,
// name-year) and, withTime, a time ("17:00", "5pm"; none: 5pm) in the
// case's time zone, as the RFC 3339 time the core takes. A date that is
// missing or not a real date is refused naming the core's field.
func localDateTime(form map[string]string, name string, loc *time.Location, withTime bool) (string, error) {
	field := name // actions[i].by is relabelled by the caller
	d, m, y := form[name+"-day"], form[name+"-month"], form[name+"-year"]
	if d == "" && m == "" && y == "" {
		return "", cases.InvalidField(field, "required: enter a date, for example 8 12 2026")
	}
	day, e1 := strconv.Atoi(d)
	month, e2 := strconv.Atoi(m)
	year, e3 := strconv.Atoi(y)
	if e1 != nil || e2 != nil || e3 != nil || year < 2000 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 {
		return "", cases.InvalidField(field, "must be a real date, for example 8 12 2026")
	}
	hour, minute := 17, 0
	if withTime {
		if t := strings.ToLower(strings.ReplaceAll(form[name+"-time"], " ", "")); t != "" {
			h, mi, ok := parseClock(t)
			if !ok {
				return "", cases.InvalidField(field, "the time must be like 17:00 or 5pm")
			}
			hour, minute = h, mi
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, 0, 0, loc)
	if t.Day() != day {
		return "", cases.InvalidField(field, "must be a real date, for example 8 12 2026")
	}
	return t.Format(time.RFC3339), nil
}

// parseClock reads "17:00", "17.30", "5pm", "9:30am", "midday".
func parseClock(t string) (int, int, bool) {
	switch t {
	case "midday", "noon":
		return 12, 0, true
	case "midnight":
		return 0, 0, true
	}
	suffix := ""
	if strings.HasSuffix(t, "am") || strings.HasSuffix(t, "pm") {
		suffix, t = t[len(t)-2:], t[:len(t)-2]
	}
	hs, ms, found := strings.Cut(strings.ReplaceAll(t, ".", ":"), ":")
	h, err := strconv.Atoi(hs)
	if err != nil {
		return 0, 0, false
	}
	m := 0
	if found {
		if m, err = strconv.Atoi(ms); err != nil || len(ms) != 2 {
			return 0, 0, false
		}
	}
	switch suffix {
	case "am":
		if h < 1 || h > 12 {
			return 0, 0, false
		}
		h %= 12
	case "pm":
		if h < 1 || h > 12 {
			return 0, 0, false
		}
		h = h%12 + 12
	}
	if h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}

// fieldView is one form field as a template shows it.
type fieldView struct {
	ID, Label, Hint, Value, Error string
	Options                       []option
	Wide                          bool
}

// fv is the field id of the action page p, with its value as sent and its
// error, for the field templates.
func fv(p pageData, id, label, hint string) fieldView {
	v := fieldView{ID: id, Label: label, Hint: hint, Error: p.ErrorFor(id)}
	if d, ok := p.Page.(actionData); ok {
		v.Value = d.Form[id]
	}
	return v
}

// withOptions gives a field its choices.
func withOptions(v fieldView, opts []option) fieldView {
	v.Options = opts
	return v
}

// dateView is a GOV.UK date input's three fields (and a time).
type dateView struct {
	ID, Label, Hint, Error string
	Day, Month, Year, Time string
	WithTime               bool
}

func dv(p pageData, id, label, hint string, withTime bool) dateView {
	v := dateView{ID: id, Label: label, Hint: hint, Error: p.ErrorFor(id + "-day"), WithTime: withTime}
	if d, ok := p.Page.(actionData); ok {
		v.Day, v.Month, v.Year, v.Time = d.Form[id+"-day"], d.Form[id+"-month"], d.Form[id+"-year"], d.Form[id+"-time"]
	}
	return v
}

func yesNoOptions() []option {
	return []option{{Value: "yes", Label: "Yes"}, {Value: "no", Label: "No"}}
}
