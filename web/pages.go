package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/internal/recordpage"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// refPattern is what a case reference in a path may be (as the API's).
var refPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// ---- start ----

type startData struct {
	CanSignIn bool
}

func (s *Server) start(c *gin.Context) {
	s.render(c, http.StatusOK, "start", "Resolve a professional disagreement about a child's safety", startData{CanSignIn: s.cfg.Mailer != nil}, nil)
}

func (s *Server) signedOut(c *gin.Context) {
	s.render(c, http.StatusOK, "signed_out", "You have signed out", nil, nil)
}

// ---- your cases ----

// statusChoices are the list's status filter: open (not yet closed, the
// default), any, or one status.
var statusChoices = []choice{
	{"open", "Open"},
	{"closed", "Closed"},
	{"any", "Any status"},
	{workflows.StatusAgreementProposed, "Outcome proposed"},
	{workflows.StatusResolved, "Resolved"},
	{workflows.StatusWithdrawn, "Withdrawn"},
	{workflows.StatusUnresolved, "Closed unresolved"},
	{workflows.StatusCancelled, "Cancelled by an operator"},
}

type caseRow struct {
	Ref, ChildRef, Other, Stage, Due, Status, StatusTag string
	Overdue, Urgent, Closed                             bool
}

type casesData struct {
	Status      string
	OnlyOverdue bool
	Choices     []choice
	Rows        []caseRow
	More        bool
	Whose       string
}

// listLimit is how many cases the list shows; past it, the filters narrow.
const listLimit = 100

func (s *Server) yourCases(c *gin.Context, me cases.Principal) {
	status := c.DefaultQuery("status", "open")
	if !inChoices(status, statusChoices) {
		s.errorPage(c, http.StatusBadRequest)
		return
	}
	f := store.ListFilter{Limit: listLimit}
	yes, no := true, false
	switch status {
	case "open":
		f.Open = &yes
	case "closed":
		f.Open = &no
	case "any":
	default:
		f.Status = status
	}
	onlyOverdue := c.Query("overdue") == "true"
	if onlyOverdue {
		f.Overdue = &yes
	}
	list, more, err := s.listFor(c, me, f)
	if err != nil {
		s.storeFailed(c, err)
		return
	}
	data := casesData{Status: status, OnlyOverdue: onlyOverdue, Choices: statusChoices, More: more, Whose: whose(me)}
	for _, cs := range list {
		data.Rows = append(data.Rows, s.row(cs, me))
	}
	s.render(c, http.StatusOK, "cases", "Your cases", data, nil)
}

// listFor lists the cases me may read. A principal scoped to some
// partnerships (cases.PolicyPerson) is listed per partnership: an
// observer as that partnership's reader, a manager as a manager; each
// case is then checked with the core's CanRead.
func (s *Server) listFor(c *gin.Context, me cases.Principal, f store.ListFilter) ([]workflows.Case, bool, error) {
	if len(me.Scopes) == 0 {
		return s.st.ListCases(c.Request.Context(), viewer(me), f)
	}
	var out []workflows.Case
	more := false
	for _, scope := range me.Scopes {
		v := viewer(me)
		if me.Role == cases.RoleObserver {
			v = store.Viewer{Email: me.Email, Agency: scope, Role: cases.RolePartnership}
		}
		pf := f
		pf.Policy = scope
		list, m, err := s.st.ListCases(c.Request.Context(), v, pf)
		if err != nil {
			return nil, false, err
		}
		more = more || m
		for _, cs := range list {
			if cases.CanRead(me, cs) {
				out = append(out, cs)
			}
		}
	}
	return out, more, nil
}

// whose says which cases the list holds for this person.
func whose(me cases.Principal) string {
	switch me.Role {
	case cases.RoleAdmin:
		return "Every case (you are an administrator)."
	case cases.RolePartnership:
		return "Every case of your partnership's procedure, and any that names you."
	case cases.RoleObserver:
		return "The cases of the partnership whose mails you receive: you can read them; acting on them takes a partnership account."
	case cases.RoleManager:
		if len(me.Scopes) > 0 {
			return "Every case of this partnership involving the agency whose escalation contact you are: you can read them, and step in as your side's contact."
		}
		return "The cases you are part of, and every case involving your agency (you are a manager)."
	}
	return "The disagreements you are part of: raised by you, raised with you, or naming you as a contact."
}

func viewer(p cases.Principal) store.Viewer {
	return store.Viewer{Email: p.Email, Agency: p.Agency, Role: p.Role}
}

func (s *Server) policy(id string) (*policies.Policy, *time.Location) {
	p, ok := s.cfg.Policies.Get(id)
	if !ok {
		return nil, london
	}
	return &p, zoneOf(p)
}

func agencyName(pol *policies.Policy, id string) string {
	if pol != nil {
		for _, a := range pol.Agencies {
			if a.ID == id {
				return a.Name
			}
		}
	}
	return id
}

// side is the side of the case a person is on, or "".
func side(cs workflows.Case, email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	same := func(v string) bool { return strings.ToLower(strings.TrimSpace(v)) == e }
	switch {
	case e == "":
		return ""
	case same(cs.Raiser.Email):
		return workflows.SideRaiser
	case same(cs.Respondent.Email):
		return workflows.SideRespondent
	}
	for _, ct := range cs.Contacts {
		if same(ct.Email) {
			return ct.Side
		}
	}
	return ""
}

// otherAgency is the agency on the other side from the person, or both
// agencies for someone on neither side (a manager, the partnership).
func otherAgency(cs workflows.Case, pol *policies.Policy, email string) string {
	raiser, respondent := agencyName(pol, cs.Raiser.Agency), agencyName(pol, cs.Respondent.Agency)
	switch side(cs, email) {
	case workflows.SideRaiser:
		return respondent
	case workflows.SideRespondent:
		return raiser
	}
	return raiser + " and " + respondent
}

func stageName(cs workflows.Case) string {
	name := fmt.Sprintf("Stage %d: %s", cs.Stage.Number, cs.Stage.Name)
	if cs.Stage.StepName != "" {
		name += ", " + cs.Stage.StepName
	}
	if cs.Stage.Level > 1 {
		name += fmt.Sprintf(", level %d", cs.Stage.Level)
	}
	return name
}

// statusTag is the GOV.UK tag colour of a status.
func statusTag(status string) string {
	switch status {
	case workflows.StatusOpen:
		return "govuk-tag--blue"
	case workflows.StatusAgreementProposed:
		return "govuk-tag--yellow"
	case workflows.StatusResolved:
		return "govuk-tag--green"
	case workflows.StatusUnresolved, workflows.StatusCancelled:
		return "govuk-tag--grey"
	}
	return "govuk-tag--grey"
}

func shortStatus(status string) string {
	switch status {
	case workflows.StatusAgreementProposed:
		return "Outcome proposed"
	case workflows.StatusUnresolved:
		return "Closed unresolved"
	case workflows.StatusCancelled:
		return "Cancelled"
	}
	return recordpage.StatusWord(status)
}

func (s *Server) row(cs workflows.Case, me cases.Principal) caseRow {
	pol, loc := s.policy(cs.Policy)
	r := caseRow{Ref: cs.Ref, ChildRef: cs.ChildRef, Other: otherAgency(cs, pol, me.Email), Stage: stageName(cs),
		Status: shortStatus(cs.Status), StatusTag: statusTag(cs.Status), Overdue: cs.Stage.Overdue && !cs.Closed(),
		Urgent: cs.Urgent, Closed: cs.Closed()}
	if !cs.Closed() {
		r.Due = localTime(cs.Stage.DueAt, loc)
	}
	return r
}

// ---- one case ----

type timelineItem struct {
	When, What, Who, Text string
	Stage                 int
}

type caseData struct {
	Case         workflows.Case
	PolicyName   string
	Category     string
	Where        string
	Waiting      string
	Status       string
	StatusTag    string
	Overdue      bool
	Raised       string
	Closed       string
	People       []recordpage.Person
	Timeline     []timelineItem
	SafetyNotice string
	MySide       string
	// Actions are what this person may do now (the core's May).
	Actions []actionInfo
	// Done is the action just recorded, for the success banner.
	Done string
	// Proposal and Pending are an outcome and a deadline awaiting the
	// other side.
	Proposal *proposalView
	Pending  string
}

// loadCase reads a case the person may read; any other is a 404, whether
// it exists or not, so references cannot be probed.
func (s *Server) loadCase(c *gin.Context, me cases.Principal) (workflows.Case, bool) {
	ref := c.Param("ref")
	if !refPattern.MatchString(ref) {
		s.errorPage(c, http.StatusNotFound)
		return workflows.Case{}, false
	}
	cs, err := s.st.GetCase(c.Request.Context(), ref)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(c, http.StatusNotFound)
		return workflows.Case{}, false
	}
	if err != nil {
		s.storeFailed(c, err)
		return workflows.Case{}, false
	}
	if !cases.CanRead(me, cs) {
		s.errorPage(c, http.StatusNotFound)
		return workflows.Case{}, false
	}
	return cs, true
}

func (s *Server) casePage(c *gin.Context, me cases.Principal) {
	cs, ok := s.loadCase(c, me)
	if !ok {
		return
	}
	pol, loc := s.policy(cs.Policy)
	page := recordpage.New(cs, pol, store.Verification{}, s.now())
	d := caseData{Case: cs, PolicyName: page.Policy, Category: page.Category, Status: shortStatus(cs.Status),
		StatusTag: statusTag(cs.Status), Overdue: cs.Stage.Overdue && !cs.Closed(), Raised: localTime(cs.CreatedAt, loc),
		People: page.People, SafetyNotice: page.SafetyNotice, MySide: side(cs, me.Email)}
	d.Where, d.Waiting = whereItStands(cs, pol, loc)
	d.Actions = s.mayActions(c, me, cs, pol)
	if a, ok := actionBySlug(c.Query("done")); ok {
		d.Done = doneText[a.Slug]
	}
	if ag := cs.Agreement; ag != nil && cs.Status == workflows.StatusAgreementProposed {
		p := &proposalView{By: ag.ProposedBy, Side: ag.ProposedBySide, Outcome: ag.Outcome}
		for _, x := range ag.Actions {
			p.Actions = append(p.Actions, fmt.Sprintf("%s (who: %s; by %s)", x.What, x.Who, localTime(x.By, loc)))
		}
		d.Proposal = p
	}
	if p := cs.PendingDeadline; p != nil && !cs.Closed() {
		d.Pending = fmt.Sprintf("%s, proposed by %s for the %s's side; it takes effect when the other side confirms it.", localTime(p.DueAt, loc), p.ProposedBy, p.ProposedBySide)
	}
	if cs.ClosedAt != nil {
		d.Closed = localTime(*cs.ClosedAt, loc)
	}
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		d.Timeline = append(d.Timeline, timelineItem{When: localTime(e.At, loc), What: e.What, Who: e.Who, Text: e.Text, Stage: e.Stage})
	}
	s.render(c, http.StatusOK, "case", "Case "+cs.Ref, d, nil)
}

// doneText is the success banner after each action.
var doneText = map[string]string{
	"note": "Your note is recorded.", "contact": "The contact is recorded and has been emailed a link to the case.",
	"step-in": "You are recorded as your side's contact for this stage.", "escalate": "The case is escalated.",
	"deadline": "The deadline is recorded.", "confirm-deadline": "The deadline is agreed by both sides.",
	"propose": "Your proposed outcome is recorded; the other side has been asked to confirm it.",
	"confirm": "The outcome is confirmed: the disagreement is resolved.", "reject": "The proposed outcome is rejected; the case stays open.",
	"withdraw": "The disagreement is withdrawn.", "review": "The review is recorded.", "meeting": "The meeting is recorded.",
	"outcome": "The outcome is recorded and the case is closed.",
}

// whereItStands is the case in one sentence, and whom it waits for:
// "Stage 2 of 5, Direct manager to manager discussion: due by 5pm on
// Tuesday 8 December 2026", "each practitioner's line manager".
func whereItStands(cs workflows.Case, pol *policies.Policy, loc *time.Location) (where, waiting string) {
	if cs.Closed() {
		where = recordpage.StatusWord(cs.Status)
		if cs.ClosedAt != nil {
			where += " on " + cs.ClosedAt.In(loc).Format("Monday 2 January 2006")
		}
		return where + fmt.Sprintf(", at stage %d, %s.", cs.Stage.Number, cs.Stage.Name), ""
	}
	of := ""
	if pol != nil && len(pol.Stages) > 0 {
		of = fmt.Sprintf(" of %d", pol.LastStage())
	}
	name := cs.Stage.Name
	if cs.Stage.StepName != "" {
		name += ", " + cs.Stage.StepName
	}
	if cs.Stage.Level > 1 {
		name += fmt.Sprintf(", level %d", cs.Stage.Level)
	}
	where = fmt.Sprintf("Stage %d%s, %s: ", cs.Stage.Number, of, name)
	if cs.Stage.Overdue {
		where += "was due by " + localTime(cs.Stage.DueAt, loc) + " and is overdue"
	} else {
		where += "due by " + localTime(cs.Stage.DueAt, loc)
	}
	switch {
	case cs.Status == workflows.StatusAgreementProposed && cs.Agreement != nil:
		side := "raising"
		if cs.Agreement.ProposedBySide == workflows.SideRaiser {
			side = "responding"
		}
		waiting = fmt.Sprintf("the %s side to confirm the outcome %s proposed", side, cs.Agreement.ProposedBy)
	case cs.Stage.Who != "":
		waiting = cs.Stage.Who
	}
	if waiting != "" {
		where += "; waiting for " + lowerFirst(waiting)
	}
	return where + ".", waiting
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	// Keep names and acronyms as they are: only a plain capitalised word.
	first, _, _ := strings.Cut(s, " ")
	if len(first) > 1 && strings.ToUpper(first[:1]) == first[:1] && strings.ToLower(first[1:]) == first[1:] &&
		first != "Head" && !strings.Contains(first, "'") {
		return strings.ToLower(s[:1]) + s[1:]
	}
	return s
}

// recordPage is the case's written record, the same document as the API's
// /v1/cases/{ref}/record.html, with its verification.
func (s *Server) recordPage(c *gin.Context, me cases.Principal) {
	cs, ok := s.loadCase(c, me)
	if !ok {
		return
	}
	_, v, err := s.st.Record(c.Request.Context(), cs.Ref)
	if err != nil {
		s.storeFailed(c, err)
		return
	}
	pol, _ := s.policy(cs.Policy)
	var buf bytes.Buffer
	if err := recordpage.Render(&buf, recordpage.New(cs, pol, v, s.now())); err != nil {
		s.log.Error("page: record", "request_id", requestID(c), "error", err)
		s.errorPage(c, http.StatusInternalServerError)
		return
	}
	// The record is a printable document with its own inline styles and
	// no script.
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}
