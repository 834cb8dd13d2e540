package workflows_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"escalate/workflows"
)

// Each test here names the rule of a source document (shared/seeds/) or of
// the contract (shared/spec/api.md) it holds the workflow to.

// Contract v1.1, "Categories": "Every policy has a category other; a case
// with it needs category_detail (1-200 characters), shown wherever the
// category is." The documents' lists are examples only (northamptonshire-
// escalating-for-the-right-outcome.txt, "Areas of Conflict": "this is by no
// means an exhaustive list"), so the record says what an "other"
// disagreement is about.
func TestCategoryOtherShowsItsDetail(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start, func(in *workflows.CaseInput) {
		in.Category = "other"
		in.CategoryDetail = "School transport plan for a child in care"
	})
	h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Sorted"})
	h.run()
	c := h.finished()
	if c.Category != "other" || c.CategoryDetail != "School transport plan for a child in care" {
		t.Errorf("case category %q detail %q", c.Category, c.CategoryDetail)
	}
	opened := eventsOf(h.acts, workflows.EventOpened)
	if len(opened) != 1 || !strings.Contains(opened[0].Text, "Category: Other: School transport plan for a child in care.") {
		t.Errorf("opening event: %+v", opened)
	}
}

// Contract v1.1, "Agreed deadlines": "Where the policy says deadlines are
// agreed by both sides, POST /v1/cases/{ref}/deadline proposes and the other
// side's POST /v1/cases/{ref}/deadline/confirm {} makes it take effect (409
// from the proposing side); the case shows a pending proposal."
// Northamptonshire asks for "a mutually agreed plan of action, including
// timescales" (northamptonshire-escalating-for-the-right-outcome.txt, Stage
// 1 and Stage 2). The partnership cannot agree for a side; a proposal can be
// answered by a counter-proposal; it lapses when the stage moves.
func TestDeadlineAgreedByBothSides(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday; stage 1 due Wed 25 17:00
	h := newHarness(t, start)
	byPartnership := h.at(time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asPartnership, DueAt: local(2026, 11, 24, 12, 0), Reason: "r"})
	nothingPending := h.at(time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRespondent})
	proposed := h.at(2*time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRaiser, DueAt: local(2026, 11, 24, 12, 0), Reason: "Visit on Tuesday"})
	ownSide := h.at(3*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRaiser})
	partnershipConfirms := h.at(3*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asPartnership})
	counter := h.at(4*time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRespondent, DueAt: local(2026, 11, 24, 16, 0), Reason: "Visit runs late"})
	h.at(5*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "No plan", Evidence: "Two calls"})
	var atStage2 workflows.Case
	h.query(5*time.Hour+time.Minute, &atStage2)
	lapsed := h.at(6*time.Hour, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRaiser})
	h.at(7*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
	h.run()

	wantRejected(t, "the partnership agrees for a side", byPartnership, workflows.ErrConflict)
	wantRejected(t, "confirm with nothing proposed", nothingPending, workflows.ErrConflict)
	c := wantDone(t, "proposal", proposed)
	p := c.PendingDeadline
	if p == nil || !p.DueAt.Equal(local(2026, 11, 24, 12, 0)) || p.ProposedBy != raiser.Name || p.ProposedBySide != workflows.SideRaiser || p.Reason != "Visit on Tuesday" || p.Stage != 1 {
		t.Errorf("pending deadline %+v", p)
	}
	if c.Stage.Agreed || !c.Stage.DueAt.Equal(local(2026, 11, 25, 17, 0)) {
		t.Errorf("a proposal changed the deadline: %+v", c.Stage)
	}
	ev := c.History[len(c.History)-1]
	if ev.Type != workflows.EventDeadlineProposed || ev.DueAt != nil {
		t.Errorf("proposal record: %+v", ev)
	}
	// Told: the stage's people of the other side (the proposer never is).
	if rs := h.acts.notices[ev.Seq]; len(rs) != 1 || !hasRecipient(rs, respondent.Email) {
		t.Errorf("proposal told %+v", rs)
	}
	wantRejected(t, "the proposing side confirms", ownSide, workflows.ErrConflict)
	wantRejected(t, "the partnership confirms for a side", partnershipConfirms, workflows.ErrConflict)
	c = wantDone(t, "counter-proposal", counter)
	if p := c.PendingDeadline; p == nil || p.ProposedBySide != workflows.SideRespondent || !p.DueAt.Equal(local(2026, 11, 24, 16, 0)) ||
		!strings.Contains(c.History[len(c.History)-1].Text, "replaces the deadline of") {
		t.Errorf("counter-proposal: %+v %q", p, c.History[len(c.History)-1].Text)
	}
	if atStage2.Stage.Number != 2 || atStage2.PendingDeadline != nil || atStage2.Stage.Agreed {
		t.Errorf("stage 2: %+v pending %+v", atStage2.Stage, atStage2.PendingDeadline)
	}
	if entered := lastOf(t, h.acts, workflows.EventStageEntered, 2); !strings.Contains(entered.Text, "lapses") {
		t.Errorf("the record does not say the proposal lapsed: %q", entered.Text)
	}
	wantRejected(t, "confirm a lapsed proposal", lapsed, workflows.ErrConflict)
	h.finished()
}

// What people are told (issue 12: two drill cases sent about 100 mails in
// ten minutes). The documents ask that actions and decisions be "recorded in
// writing and shared with relevant personnel, to include the worker who
// raised the initial concern" (northamptonshire-escalating-for-the-right-
// outcome.txt, "Recording and Communication"): shared, once. A deadline
// passing, the escalation and the next stage are one change: each person
// gets one notification of it, which tells of all three; a reminder goes
// to the current stage's people only; and a contact named at an earlier
// stage is told in what capacity now.
func TestOneNotificationPerPersonPerChange(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday; stage 1 due Wed 25 17:00
	h := newHarness(t, start)
	lena := workflows.Person{Name: "Lena Lead", Email: "lena@nhft.example", Agency: "nhft", Role: "manager"}
	h.at(time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRaiser, Side: workflows.SideRaiser, Name: lena.Name, Email: lena.Email, Role: "line manager"})
	h.at(local(2026, 11, 30, 9, 0).Sub(start), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
	h.run()
	h.finished()

	passed := lastOf(t, h.acts, workflows.EventDeadlinePassed, 1)
	esc := lastOf(t, h.acts, workflows.EventEscalated, 1)
	entered := lastOf(t, h.acts, workflows.EventStageEntered, 2)
	if esc.Seq != passed.Seq+1 || entered.Seq != passed.Seq+2 {
		t.Fatalf("events %d %d %d are not one change", passed.Seq, esc.Seq, entered.Seq)
	}
	mails := map[string][]int{}
	for _, seq := range []int{passed.Seq, esc.Seq, entered.Seq} {
		for _, r := range h.acts.mails[seq] {
			mails[strings.ToLower(r.Email)] = append(mails[strings.ToLower(r.Email)], seq)
			if seq != passed.Seq {
				t.Errorf("%s has a notification of its own on event %d", r.Email, seq)
			}
			if seq == passed.Seq && fmtInts(r.Also) != fmtInts([]int{esc.Seq, entered.Seq}) {
				t.Errorf("%s: the notification tells of %v, want the escalation and the stage too", r.Email, r.Also)
			}
		}
	}
	for _, who := range []string{"hana@nhft.example", "sam@nct.example", "lena@nhft.example"} {
		if len(mails[who]) != 1 {
			t.Errorf("%s got %d notifications of the change, want 1", who, len(mails[who]))
		}
	}
	for _, r := range h.acts.mails[passed.Seq] {
		if r.Email == lena.Email && r.Why != "acted for the raiser's side at stage 1 (the case is now at stage 2)" {
			t.Errorf("Lena is told because she %q", r.Why)
		}
	}
	// The stage 2 reminder: the current stage's people. Lena acted at stage
	// 1 and is not reminded; nobody is named at stage 2, so the sides'
	// practitioners are.
	reminder := lastOf(t, h.acts, workflows.EventReminder, 2)
	for _, r := range h.acts.mails[reminder.Seq] {
		if r.Email == lena.Email {
			t.Errorf("a contact of an earlier stage is reminded: %+v", r)
		}
	}
}

func fmtInts(v []int) string {
	var b strings.Builder
	for i, n := range v {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// Timed-out climbs carry evidence. Northamptonshire: "Before progressing an
// escalation through the stages of this process, evidence should be provided
// that all efforts at the previous stage have been explored"
// (northamptonshire-escalating-for-the-right-outcome.txt, Flowchart); Devon:
// "Clear evidence must be provided" (devon-conflict-and-case-resolution-
// protocol.txt, Case Resolution Protocol). When a deadline forces the climb
// nobody gives evidence, so the escalation records what the record holds:
// that the stage ran its full time unresolved and what was recorded there,
// by kind and count, never what people wrote; with nothing recorded, the
// next stage's people are asked to record what happened first.
func TestTimedOutClimbCarriesTheEvidenceOfTheRecord(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday; stage 1 due Wed 25 17:00, stage 2 Wed 2 Dec 17:00
	h := newHarness(t, start)
	var atStage2, afterNote, atStage3 workflows.Case
	h.query(local(2026, 11, 25, 17, 1).Sub(start), &atStage2)
	h.at(local(2026, 11, 26, 10, 0).Sub(start), workflows.UpdateNote, workflows.NoteInput{By: asRespondent, Text: "At stage 1 we spoke twice about Jane Doe"})
	h.query(local(2026, 11, 26, 10, 1).Sub(start), &afterNote)
	h.at(local(2026, 11, 26, 11, 0).Sub(start), workflows.UpdateContact, workflows.ContactInput{By: asRaiser, Side: workflows.SideRaiser, Name: "Lena Lead", Email: "lena@nhft.example", Role: "line manager"})
	h.at(local(2026, 11, 27, 11, 0).Sub(start), workflows.UpdateNote, workflows.NoteInput{By: asRaiser, Text: "Managers met"})
	h.query(local(2026, 12, 2, 17, 1).Sub(start), &atStage3)
	h.at(local(2026, 12, 3, 9, 0).Sub(start), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
	h.run()
	h.finished()

	first := lastOf(t, h.acts, workflows.EventEscalated, 1)
	for _, want := range []string{
		"stage 1 ran its full time, from 09:00 Mon 23 Nov 2026 GMT to its deadline of 17:00 Wed 25 Nov 2026 GMT, without a written outcome",
		"nothing was recorded at stage 1", "the people of stage 2 are asked to record what happened at stage 1",
	} {
		if !strings.Contains(first.Text, want) {
			t.Errorf("stage 1's climb lacks %q: %q", want, first.Text)
		}
	}
	if atStage2.Stage.Number != 2 || atStage2.Stage.RecordMissingFrom != 1 {
		t.Errorf("at stage 2: %+v", atStage2.Stage)
	}
	if afterNote.Stage.RecordMissingFrom != 0 {
		t.Errorf("a note at stage 2 did not answer the request: %+v", afterNote.Stage)
	}
	second := lastOf(t, h.acts, workflows.EventEscalated, 2)
	if !strings.Contains(second.Text, "recorded at stage 2: 2 notes, 1 contact named.") || strings.Contains(second.Text, "nothing was recorded") {
		t.Errorf("stage 2's climb: %q", second.Text)
	}
	if strings.Contains(second.Text, "Jane") || strings.Contains(second.Text, "Managers met") {
		t.Errorf("the evidence carries what people wrote: %q", second.Text)
	}
	if atStage3.Stage.Number != 3 || atStage3.Stage.RecordMissingFrom != 0 {
		t.Errorf("at stage 3: %+v", atStage3.Stage)
	}
}

// Who is told at a managers' stage when no manager is named.
// Northamptonshire, Stage 2: "the problem should be referred to each
// professionals' own line manager", and "Requests to provide management
// contact details should also be dealt with without delay, unfortunately it
// is not possible to have contact details in this procedure"
// (northamptonshire-escalating-for-the-right-outcome.txt). So the raiser may
// name their line manager when raising, who acts for the raiser's side at
// stage 2; a side that has named nobody there is represented by its
// agency's escalation contact, and is asked to name its person.
func TestManagersStageTellsEscalationContactsUntilSomeoneIsNamed(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday; stage 1 due Wed 25 17:00
	h := newHarness(t, start, func(in *workflows.CaseInput) {
		in.RaiserLineManager = &workflows.Party{Name: "Lena Lead", Email: "lena@nhft.example", Agency: "nhft", Role: "line manager"}
	})
	var opened, atStage2, named workflows.Case
	h.query(time.Minute, &opened)
	h.query(local(2026, 11, 25, 17, 1).Sub(start), &atStage2)
	h.at(local(2026, 11, 26, 9, 0).Sub(start), workflows.UpdateContact, workflows.ContactInput{By: asRespondent, Side: workflows.SideRespondent,
		Name: "Max Manager", Email: "max@nct.example", Role: "team manager"})
	h.query(local(2026, 11, 26, 9, 1).Sub(start), &named)
	h.at(local(2026, 12, 1, 9, 0).Sub(start), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
	h.run()
	h.finished()

	if len(opened.Contacts) != 1 || opened.Contacts[0].Email != "lena@nhft.example" || opened.Contacts[0].Stage != 2 || opened.Contacts[0].Side != workflows.SideRaiser {
		t.Errorf("the line manager named when raising: %+v", opened.Contacts)
	}
	first := h.acts.mails[1]
	for _, r := range first {
		if r.Email == "lena@nhft.example" && r.Why != "will act for the raiser's side at stage 2 (the case is at stage 1)" {
			t.Errorf("Lena is told of the opening because she %q", r.Why)
		}
	}
	if !hasRecipient(first, "lena@nhft.example") {
		t.Errorf("the line manager is not told the disagreement was raised: %+v", first)
	}
	if got := strings.Join(atStage2.Stage.AwaitingContact, ","); got != "respondent" {
		t.Errorf("at stage 2 awaiting %q, want the respondent's side only", got)
	}
	entered := lastOf(t, h.acts, workflows.EventStageEntered, 2)
	if !strings.Contains(entered.Text, "Nobody is named yet to act for the respondent's side at this stage") ||
		strings.Contains(entered.Text, "raiser's side at this stage") || !strings.Contains(entered.Text, "Northamptonshire Children's Trust duty manager") {
		t.Errorf("stage 2's record: %q", entered.Text)
	}
	told := h.acts.notices[entered.Seq]
	for _, want := range []string{"lena@nhft.example", "safeguarding.nct@nscp.example.org", "hana@nhft.example", "sam@nct.example"} {
		if !hasRecipient(told, want) {
			t.Errorf("%s is not told of stage 2: %+v", want, told)
		}
	}
	if hasRecipient(told, "safeguarding.nhft@nscp.example.org") {
		t.Errorf("the raiser's agency's escalation contact is told though Lena acts for the raiser's side: %+v", told)
	}
	if len(named.Stage.AwaitingContact) != 0 {
		t.Errorf("after Max is named, still awaiting %v", named.Stage.AwaitingContact)
	}
	reminder := lastOf(t, h.acts, workflows.EventReminder, 2)
	var reminded []string
	for _, r := range h.acts.notices[reminder.Seq] {
		reminded = append(reminded, strings.ToLower(r.Email))
	}
	if got := strings.Join(reminded, " "); got != "lena@nhft.example max@nct.example" {
		t.Errorf("stage 2 reminder told %q, want the two managers only", got)
	}
}

// Nottingham, Stage Two: "Please contact the relevant SCB Business Manager
// for assistance if you are escalating to Stage Two and you do not know who
// the safeguarding lead is for the organisation you wish to contact"
// (nottingham-nottinghamshire-escalating-for-the-right-outcome.txt). An
// organisation the escalation contacts table does not list: the business
// manager is told, and asked to help find its safeguarding lead; the
// listed organisation's lead joins from the table.
func TestNottinghamBusinessManagerHelpsFindTheSafeguardingLead(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start, withPolicy(t, "nottingham-nottinghamshire", "thresholds"), func(in *workflows.CaseInput) {
		in.Raiser.Agency = "a private nursery"
		in.Respondent.Agency = "nottingham-city-csc"
	})
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(2*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
	h.run()
	h.finished()
	entered := lastOf(t, h.acts, workflows.EventStageEntered, 2)
	if !strings.Contains(entered.Text, "The escalation contacts table has no safeguarding-lead for a private nursery (the raiser's side)") {
		t.Errorf("stage two's record: %q", entered.Text)
	}
	var office *workflows.Recipient
	for _, r := range h.acts.notices[entered.Seq] {
		if r.Email == "business.manager@notts-partnerships.example.org" {
			r := r
			office = &r
		}
	}
	if office == nil || !strings.Contains(office.Why, "help find a contact") {
		t.Errorf("the business manager is not asked to help: %+v", h.acts.notices[entered.Seq])
	}
	// Stage 1 has no table to consult: the office is not told of it.
	if hasRecipient(h.acts.notices[lastOf(t, h.acts, workflows.EventStageEntered, 1).Seq], "business.manager@notts-partnerships.example.org") {
		t.Error("the business manager is told of stage 1")
	}
}

// Devon: "no-one from the Business Group, including the chair can be a case
// decision-maker. That is the shared responsibility of those involved"
// (devon-conflict-and-case-resolution-protocol.txt). The partnership records
// the review, the meeting and its recommendations; with no written
// agreement between the parties it may close the case unresolved, its
// recommendations recorded as such, never resolved by its own decision.
func TestDevonBusinessGroupRecommendsAndNeverDecides(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	devonPartner := workflows.Person{Name: "Devon SCP Manager", Email: "manager@devon.example", Agency: "devon", Role: "partnership"}
	h := newHarness(t, start, withPolicy(t, "devon", "provision-of-services"), func(in *workflows.CaseInput) { in.Urgent = true })
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "Manager unavailable", ToStage: 5})
	h.at(2*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: true, NextSteps: "Business Group on 3 December"})
	h.at(3*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: devonPartner, At: local(2026, 12, 3, 10, 0)})
	decided := h.at(4*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "Joint visit"})
	closed := h.at(5*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: false,
		Outcome: "The Business Group recommends a joint visit and a professionals' meeting"})
	h.run()
	h.finished()
	wantRejected(t, "resolved by the partnership", decided, workflows.ErrRuleViolation)
	c := wantDone(t, "recommendations", closed)
	last := c.History[len(c.History)-1]
	if c.Status != workflows.StatusUnresolved || c.Recommendations != "The Business Group recommends a joint visit and a professionals' meeting" ||
		!strings.Contains(last.Text, "Recommendations recorded by Devon SCP Manager") || !strings.Contains(last.Text, "does not decide cases") ||
		strings.Contains(last.Text, "decision;") {
		t.Errorf("closed %s recommendations %q: %q", c.Status, c.Recommendations, last.Text)
	}
}

// Northamptonshire stage 5: "the matter will be referred to the Business
// Office of the Safeguarding Children Partnership where one of the Strategic
// Leads will offer mediation within 5 working days" (northamptonshire-
// escalating-for-the-right-outcome.txt, Stage 5). The outcome is recorded
// only once the mediation is recorded, or its offer declined. Good practice:
// "we would like to hear examples via the Business Office so these examples
// can be recorded and shared" ("Recording and Communication"): learning
// recorded with an agreement is told to the Business Office (learning_to).
func TestNorthamptonshireOutcomeFollowsTheMediationOffer(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	t.Run("mediation", func(t *testing.T) {
		h := newHarness(t, start, func(in *workflows.CaseInput) { in.Urgent = true })
		h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "Directors disagree", ToStage: 5})
		early := h.at(2*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "Agreed"})
		h.at(3*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: asPartnership, At: local(2026, 11, 24, 10, 0), Purpose: "Mediation",
			Facilitator: &workflows.Party{Name: "Sol Strategic", Email: "sol@nscp.example"}})
		after := h.at(4*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "Mediated: plan agreed"})
		h.run()
		h.finished()
		wantRejected(t, "outcome before the mediation", early, workflows.ErrConflict)
		if c := wantDone(t, "outcome after the mediation", after); c.Status != workflows.StatusResolved {
			t.Errorf("status %s", c.Status)
		}
	})
	t.Run("offer declined", func(t *testing.T) {
		h := newHarness(t, start, func(in *workflows.CaseInput) { in.Urgent = true })
		h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "Directors disagree", ToStage: 5})
		declined := h.at(2*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: asPartnership, At: local(2026, 11, 24, 10, 0),
			Purpose: "Mediation offered by a Strategic Lead", Declined: true})
		after := h.at(3*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: false, Outcome: "No agreement"})
		h.run()
		h.finished()
		c := wantDone(t, "offer declined", declined)
		if len(c.Meetings) != 1 || !c.Meetings[0].Declined || !strings.Contains(c.History[len(c.History)-1].Text, "offered for") ||
			!strings.Contains(c.History[len(c.History)-1].Text, "declined") {
			t.Errorf("declined offer: %+v %q", c.Meetings, c.History[len(c.History)-1].Text)
		}
		if c := wantDone(t, "outcome after the declined offer", after); c.Status != workflows.StatusUnresolved {
			t.Errorf("status %s", c.Status)
		}
	})
	t.Run("good practice goes to the Business Office", func(t *testing.T) {
		h := newHarness(t, start)
		h.at(time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRespondent, Outcome: "Assessment starts",
			Learning: "Early phone call resolved it"})
		h.at(2*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRaiser})
		h.run()
		h.finished()
		confirmed := lastOf(t, h.acts, workflows.EventAgreementConfirm, 1)
		if !hasRecipient(h.acts.notices[confirmed.Seq], "business.office@nscp.example.org") {
			t.Errorf("the Business Office is not told of the good practice: %+v", h.acts.notices[confirmed.Seq])
		}
	})
}

// Four-stage, stage 4: "the matter must be referred to the Head of
// Safeguarding, who will determine a course of action including reporting
// the matter to the Safeguarding Children Board Chair. In all cases where it
// has not been possible to resolve differences and/or where there may be
// lessons to be learned for future practice, consideration should be given
// to holding a multiagency case review", and "Any identified learning will
// be referred to the SCB/SAB Learning Group" (four-stage-resolving-
// professional-differences.txt, Stage Four and the flowchart). The outcome
// is reported to the Board Chair; whether a case review was considered is
// required when the case ends unresolved or with lessons; learning is told
// to the Learning Group.
func TestFourStageHeadOfSafeguardingReportsAndLearns(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	run := func(t *testing.T, in workflows.OutcomeInput) (*harness, *updateResult) {
		h := newHarness(t, start, withPolicy(t, "four-stage", "information-sharing-services"), func(in *workflows.CaseInput) { in.Urgent = true })
		h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "e", ToStage: 4})
		r := h.at(2*time.Hour, workflows.UpdateOutcome, in)
		// Ends the case where the outcome was refused (refused itself where
		// the outcome closed it).
		h.at(3*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
		h.run()
		h.finished()
		return h, r
	}
	considered := true
	for _, tc := range []struct {
		name string
		in   workflows.OutcomeInput
		ok   bool
	}{
		{"unresolved without saying", workflows.OutcomeInput{By: asPartnership, Resolved: false, Outcome: "No agreement"}, false},
		{"resolved with lessons without saying", workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "Agreed", Learning: "Thresholds training"}, false},
		{"resolved without lessons", workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "Agreed"}, true},
		{"unresolved, review considered", workflows.OutcomeInput{By: asPartnership, Resolved: false, Outcome: "No agreement",
			Learning: "Thresholds training", CaseReviewConsidered: &considered}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, r := run(t, tc.in)
			if !tc.ok {
				wantRejected(t, tc.name, r, workflows.ErrRuleViolation)
				return
			}
			wantDone(t, tc.name, r)
			outcome := lastOf(t, h.acts, workflows.EventOutcome, 4)
			told := h.acts.notices[outcome.Seq]
			if !hasRecipient(told, "board.chair@scb.example.org") {
				t.Errorf("the Board Chair is not told of the outcome: %+v", told)
			}
			if learned := tc.in.Learning != ""; hasRecipient(told, "learning.group@scb.example.org") != learned {
				t.Errorf("learning %v, Learning Group told %v", learned, !learned)
			}
		})
	}
}

// A case started before the documents' decision rules (no
// "procedure-decisions" marker in its history) keeps the rules its updates
// were accepted under, so that replaying it schedules what it scheduled: a
// Devon outcome recorded resolved, a Northamptonshire outcome without a
// recorded mediation.
func TestCasesStartedBeforeTheDecisionRulesKeepTheirRules(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	devonPartner := workflows.Person{Name: "Devon SCP Manager", Email: "manager@devon.example", Agency: "devon", Role: "partnership"}
	h := newHarness(t, start, withPolicy(t, "devon", "provision-of-services"), func(in *workflows.CaseInput) { in.Urgent = true })
	h.env.OnGetVersion("current-case", workflow.DefaultVersion, 3).Return(workflow.DefaultVersion)
	h.env.OnGetVersion("procedure-decisions", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "e", ToStage: 5})
	h.at(2*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: true, NextSteps: "Business Group"})
	h.at(3*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: devonPartner, At: local(2026, 12, 3, 10, 0)})
	decided := h.at(4*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "Joint visit"})
	h.run()
	h.finished()
	if c := wantDone(t, "an old Devon case's outcome", decided); c.Status != workflows.StatusResolved ||
		!strings.Contains(c.History[len(c.History)-1].Text, "as the parties' decision") {
		t.Errorf("old rules: %s %q", c.Status, c.History[len(c.History)-1].Text)
	}

	h = newHarness(t, start, func(in *workflows.CaseInput) { in.Urgent = true })
	h.env.OnGetVersion("current-case", workflow.DefaultVersion, 3).Return(workflow.DefaultVersion)
	h.env.OnGetVersion("procedure-decisions", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "e", ToStage: 5})
	mediated := h.at(2*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "Mediated"})
	h.run()
	h.finished()
	wantDone(t, "an old Northamptonshire case's outcome", mediated)
}
