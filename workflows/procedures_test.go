package workflows_test

import (
	"strings"
	"testing"
	"time"

	"escalate/policies"
	"escalate/workflows"
)

func policyNamed(t *testing.T, id string) policies.Policy {
	t.Helper()
	r, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Get(id)
	if !ok {
		t.Fatalf("no policy %s", id)
	}
	return p
}

func withPolicy(t *testing.T, id string, category string) func(*workflows.CaseInput) {
	return func(in *workflows.CaseInput) {
		in.Policy = policyNamed(t, id)
		in.Category = category
	}
}

func eventsOf(acts *fakeActivities, typ string) []workflows.Event {
	acts.mu.Lock()
	defer acts.mu.Unlock()
	var out []workflows.Event
	for _, e := range acts.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// Northamptonshire stage 3 repeats level by level, each level a fresh 5
// working days; stage 4 may hold a resolution meeting.
func TestNorthamptonshireLevelsAndResolutionMeeting(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start)
	notRepeating := h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", NextLevel: true})
	earlyMeeting := h.at(time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: asRaiser, At: local(2026, 11, 24, 10, 0)})
	h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(3*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	level2 := h.at(4*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRespondent, Reason: "Senior managers disagree", NextLevel: true})
	h.at(5*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	meeting := h.at(6*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: asRespondent, At: local(2026, 11, 24, 10, 0), Purpose: "Directors' resolution meeting"})
	h.at(7*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRespondent, Outcome: "Plan agreed", Learning: "Escalate earlier"})
	h.at(8*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRaiser})
	h.run()

	wantRejected(t, "next level at stage 1", notRepeating, workflows.ErrConflict)
	wantRejected(t, "meeting at stage 1", earlyMeeting, workflows.ErrConflict)
	c := wantDone(t, "next level", level2)
	if c.Stage.Number != 3 || c.Stage.Level != 2 || !c.Stage.StartedAt.Equal(start.Add(4*time.Hour)) {
		t.Fatalf("level 2: %+v", c.Stage)
	}
	// A fresh 5 working days from Monday 13:00: Tue .. Mon 30 Nov.
	if want := local(2026, 11, 30, 17, 0); !c.Stage.DueAt.Equal(want) {
		t.Errorf("level 2 due %v, want %v", c.Stage.DueAt.In(london), want)
	}
	if !strings.Contains(c.History[len(c.History)-1].Text, "level 2") {
		t.Errorf("history does not show the level: %q", c.History[len(c.History)-1].Text)
	}
	c = wantDone(t, "meeting", meeting)
	if len(c.Meetings) != 1 || c.Meetings[0].Stage != 4 || c.Meetings[0].Purpose != "Directors' resolution meeting" {
		t.Errorf("meetings %+v", c.Meetings)
	}
	final := h.finished()
	if final.Status != workflows.StatusResolved || final.Stage.Number != 4 || final.Learning != "Escalate earlier" {
		t.Errorf("final %s stage %d learning %q", final.Status, final.Stage.Number, final.Learning)
	}
}

// Nottingham: deadlines are agreed per case, the default applies when none
// is, a maximum bounds them, and Stage Two brings in both organisations'
// safeguarding leads from the escalation contacts table. Stage Two is the
// last stage: nottingham-nottinghamshire-escalating-for-the-right-outcome.txt
// has the practitioner level and "Stage Two" only ("contact the relevant SCB
// Business Manager for assistance if you are escalating to Stage Two"), so
// there is nothing to escalate to beyond it (409).
func TestNottinghamAgreedDeadlinesAndContactsTable(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)  // Monday
	agreed := local(2026, 12, 2, 12, 0) // later than the 2-day default, within the 10-day maximum
	h := newHarness(t, start, withPolicy(t, "nottingham-nottinghamshire", "thresholds"), func(in *workflows.CaseInput) {
		in.Raiser.Agency = "schools"
		in.Respondent.Agency = "nottingham-city-csc"
		in.DueAt = &agreed
	})
	var first workflows.Case
	// The deadline given when raising is the raiser's proposal; the
	// respondent's confirmation makes it the agreed one (deadlines_agreed_by:
	// both, the partnership's setting).
	h.at(30*time.Second, workflows.UpdateConfirmDeadline, workflows.ConfirmDeadlineInput{By: asRespondent})
	h.query(time.Minute, &first)
	beyondMax := h.at(time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRaiser, DueAt: local(2026, 12, 8, 17, 1), Reason: "r"})
	stageTwo := h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Practitioners disagree", Evidence: "Call on 23 Nov"})
	beyondLast := h.at(3*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Leads disagree", Evidence: "Meeting on 23 Nov"})
	h.at(4*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "Referral accepted"})
	lead := workflows.Person{Name: "City CSC safeguarding lead", Email: "safeguarding.lead@city-csc.example.org", Role: "manager"}
	confirm := h.at(5*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: lead})
	h.run()

	if !first.Stage.DueAt.Equal(agreed) || !first.Stage.Agreed || !strings.HasPrefix(first.Stage.Within, "agreed per case") {
		t.Errorf("stage 1 with an agreed deadline: %+v", first.Stage)
	}
	wantRejected(t, "deadline beyond the maximum", beyondMax, workflows.ErrRuleViolation)
	c := wantDone(t, "stage two", stageTwo)
	// No deadline agreed at Stage Two: the 5-working-day default from Mon 11:00.
	if want := local(2026, 11, 30, 17, 0); c.Stage.Number != 2 || !c.Stage.DueAt.Equal(want) || c.Stage.Agreed {
		t.Errorf("stage two default: stage %d due %v (agreed %v), want stage 2 due %v", c.Stage.Number, c.Stage.DueAt.In(london), c.Stage.Agreed, want)
	}
	var leads []string
	for _, ct := range c.Contacts {
		leads = append(leads, ct.Side+":"+ct.Email)
	}
	if got := strings.Join(leads, ","); got != "raiser:education.safeguarding@schools.example.org,respondent:safeguarding.lead@city-csc.example.org" {
		t.Errorf("contacts from the table: %s", got)
	}
	wantRejected(t, "escalate beyond Stage Two", beyondLast, workflows.ErrConflict)
	entered := eventsOf(h.acts, workflows.EventStageEntered)
	last := entered[len(entered)-1]
	if last.Stage != 2 || !hasRecipient(h.acts.notices[last.Seq], "safeguarding.lead@city-csc.example.org") {
		t.Errorf("the respondent's safeguarding lead is not told of stage two: %+v", h.acts.notices[last.Seq])
	}
	if c := wantDone(t, "confirm by the respondent's safeguarding lead", confirm); c.Status != workflows.StatusResolved {
		t.Errorf("status %s", c.Status)
	}
	h.finished()
}

// Devon: on reaching the Case Resolution Protocol the partnership checks the
// four stages were followed; sent back, the case restarts at the skipped
// stage; confirmed, it awaits the Business Group, whose meeting and
// facilitator are recorded. "It is important to be clear that no-one from
// the Business Group, including the chair can be a case decision-maker. That
// is the shared responsibility of those involved" (devon-conflict-and-case-
// resolution-protocol.txt): the partnership cannot close the case resolved
// (422); the parties' written agreement does.
func TestDevonCaseResolutionProtocol(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	devonPartner := workflows.Person{Name: "Devon SCP Manager", Email: "manager@devon.example", Agency: "devon", Role: "partnership"}
	h := newHarness(t, start, withPolicy(t, "devon", "provision-of-services"), func(in *workflows.CaseInput) { in.Urgent = true })
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Urgent", Evidence: "Manager unavailable", ToStage: 5})
	var atProtocol workflows.Case
	h.query(time.Hour+time.Minute, &atProtocol)
	tooEarly := h.at(2*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "x"})
	badBack := h.at(2*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: false, SendBackTo: 5, NextSteps: "x"})
	back := h.at(3*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: false, SendBackTo: 2, NextSteps: "Managers to meet first"})
	for i, to := range []int{3, 4, 5} {
		h.at(time.Duration(4+i)*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e", ToStage: to})
	}
	confirmed := h.at(8*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: true, NextSteps: "To the Business Group on 3 December"})
	meeting := h.at(9*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: devonPartner, At: local(2026, 12, 3, 10, 0),
		Facilitator: &workflows.Party{Name: "Fay Facilitator", Email: "fay@devon.example"}})
	decided := h.at(10*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "The agencies agreed a joint visit"})
	h.at(11*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRespondent, Outcome: "Joint visit on Friday"})
	agreed := h.at(12*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: asRaiser})
	h.run()

	if atProtocol.Stage.Number != 5 || atProtocol.Stage.Phase != workflows.PhaseAwaitingReview {
		t.Fatalf("at the protocol: %+v", atProtocol.Stage)
	}
	wantRejected(t, "outcome before the review", tooEarly, workflows.ErrConflict)
	wantRejected(t, "send back to the current stage", badBack, workflows.ErrRuleViolation)
	c := wantDone(t, "send back", back)
	if c.Stage.Number != 2 || c.Stage.Phase != "" || !c.Stage.StartedAt.Equal(start.Add(3*time.Hour)) {
		t.Errorf("sent back: %+v", c.Stage)
	}
	if h := c.History[len(c.History)-2]; h.Type != workflows.EventSentBack || !strings.Contains(h.Text, "Managers to meet first") {
		t.Errorf("send-back record: %+v", h)
	}
	if c := wantDone(t, "review confirmed", confirmed); c.Stage.Phase != workflows.PhaseAwaitingBusinessGroup {
		t.Errorf("phase %q", c.Stage.Phase)
	}
	if c := wantDone(t, "meeting", meeting); len(c.Meetings) != 1 || c.Meetings[0].Facilitator == nil || c.Meetings[0].Purpose != "Business Group meeting" {
		t.Errorf("meetings %+v", c.Meetings)
	}
	wantRejected(t, "the Business Group decides the case", decided, workflows.ErrRuleViolation)
	c = wantDone(t, "the parties' agreement", agreed)
	if c.Status != workflows.StatusResolved || c.Stage.Number != 5 || c.DecidedBy != "" || c.Agreement == nil || c.Agreement.ConfirmedBy != raiser.Name {
		t.Errorf("resolved by the parties: %s at stage %d decided by %q agreement %+v", c.Status, c.Stage.Number, c.DecidedBy, c.Agreement)
	}
	h.finished()
}

// Four-stage policy: stage 1 is professionals (1 working day) then line
// managers (24 hours); a threshold dispute brings in the CAF/TAC officer
// from stage 2; stage 4 records whether a case review was considered.
func TestFourStageSplitFirstStageAndCAFOfficer(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start, withPolicy(t, "four-stage", "threshold-csc-assessment"))
	var step1, step2, stage2 workflows.Case
	h.query(time.Minute, &step1)
	h.query(local(2026, 11, 24, 17, 1).Sub(start), &step2)
	h.query(local(2026, 11, 25, 17, 1).Sub(start), &stage2)
	h.at(local(2026, 11, 26, 9, 0).Sub(start), workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(local(2026, 11, 26, 10, 0).Sub(start), workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	noReview := h.at(local(2026, 11, 26, 11, 0).Sub(start), workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: false, Outcome: "Unresolved"})
	considered := true
	outcome := h.at(local(2026, 11, 26, 12, 0).Sub(start), workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: false,
		Outcome: "No agreement; Board chair told", Learning: "Thresholds training", CaseReviewConsidered: &considered})
	h.run()

	if step1.Stage.Step != 1 || step1.Stage.StepName != "Professionals" || !step1.Stage.DueAt.Equal(local(2026, 11, 24, 17, 0)) {
		t.Errorf("step 1: %+v", step1.Stage)
	}
	if step2.Stage.Number != 1 || step2.Stage.Step != 2 || !step2.Stage.DueAt.Equal(local(2026, 11, 25, 17, 0)) {
		t.Errorf("step 2 (line managers, 24 hours): %+v", step2.Stage)
	}
	if stage2.Stage.Number != 2 || !stage2.Stage.DueAt.Equal(local(2026, 11, 27, 17, 0)) {
		t.Errorf("stage 2: %+v", stage2.Stage)
	}
	if len(stage2.Advisers) != 1 || stage2.Advisers[0].Name != "CAF/TAC Implementation Officer" || stage2.Advisers[0].Stage != 2 {
		t.Errorf("advisers at stage 2: %+v", stage2.Advisers)
	}
	joined := eventsOf(h.acts, workflows.EventPartyJoined)
	if len(joined) != 1 || joined[0].Stage != 2 {
		t.Fatalf("party joined events: %+v", joined)
	}
	entered := eventsOf(h.acts, workflows.EventStageEntered)
	if last := entered[len(entered)-1]; !hasRecipient(h.acts.notices[last.Seq], "caf.tac.officer@scb.example.org") {
		t.Errorf("the CAF/TAC officer is not told of stage 4: %+v", h.acts.notices[last.Seq])
	}
	wantRejected(t, "stage 4 outcome without case review", noReview, workflows.ErrRuleViolation)
	c := wantDone(t, "stage 4 outcome", outcome)
	if c.Status != workflows.StatusUnresolved || c.CaseReviewConsidered == nil || !*c.CaseReviewConsidered ||
		!strings.Contains(c.History[len(c.History)-1].Text, "case review was considered") {
		t.Errorf("outcome %s %v %q", c.Status, c.CaseReviewConsidered, c.History[len(c.History)-1].Text)
	}
	h.finished()
}

// Not a threshold dispute: no CAF/TAC officer; urgent: 4-hour stages, and
// escalation from the first step moves to the line managers without evidence.
func TestFourStageUrgentAndNoCAFOfficer(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start, withPolicy(t, "four-stage", "information-sharing-services"), func(in *workflows.CaseInput) { in.Urgent = true })
	var first workflows.Case
	h.query(time.Minute, &first)
	step := h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "No answer"})
	var later workflows.Case
	h.query(6*time.Hour, &later)
	h.at(7*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Resolved"})
	h.run()
	if !first.Stage.DueAt.Equal(start.Add(4*time.Hour)) || first.Stage.Within != "4 hours" {
		t.Errorf("urgent stage 1: %+v", first.Stage)
	}
	c := wantDone(t, "escalate to the next step", step)
	if c.Stage.Number != 1 || c.Stage.Step != 2 || !c.Stage.DueAt.Equal(start.Add(5*time.Hour)) {
		t.Errorf("after escalation: %+v", c.Stage)
	}
	// Step 2 ran out at 14:00: stage 2, with no adviser for this category.
	if later.Stage.Number != 2 || len(later.Advisers) != 0 {
		t.Errorf("later: stage %d advisers %+v", later.Stage.Number, later.Advisers)
	}
	h.finished()
}

// lastOf is the last recorded event of a type at a stage.
func lastOf(t *testing.T, acts *fakeActivities, typ string, stage int) workflows.Event {
	t.Helper()
	var found *workflows.Event
	for _, e := range eventsOf(acts, typ) {
		if e.Stage == stage {
			e := e
			found = &e
		}
	}
	if found == nil {
		t.Fatalf("no %s event at stage %d", typ, stage)
	}
	return *found
}

// Nottingham with nobody acting and no deadline agreed: each stage runs out
// at the partnership's default (2, then 5 working days), Stage Two brings in
// the contacts table's safeguarding leads, and an overdue Stage Two is
// reported (notify) and stays open. There is no partnership stage and no
// partnership decision (nottingham-nottinghamshire-escalating-for-the-right-
// outcome.txt: two stages, the practitioners and "Stage Two"): only the
// parties end the case, here by the raiser's withdrawal; the partnership
// cannot record an outcome (409).
func TestNottinghamDefaultDeadlinesClimbToTheLastStage(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start, withPolicy(t, "nottingham-nottinghamshire", "thresholds"), func(in *workflows.CaseInput) {
		in.Raiser.Agency = "schools"
		in.Respondent.Agency = "notts-police"
	})
	wantDue := []time.Time{
		local(2026, 11, 25, 17, 0), // stage 1, 2 working days: Tue 24, Wed 25
		local(2026, 12, 2, 17, 0),  // Stage Two, 5 from Wed 25: Thu 26, Fri 27, Mon 30, Tue 1, Wed 2
	}
	var seen [2]workflows.Case
	for i, due := range wantDue {
		h.query(due.Add(-time.Minute).Sub(start), &seen[i])
	}
	var overdue workflows.Case
	h.query(wantDue[1].Add(time.Hour).Sub(start), &overdue)
	outcome := h.at(local(2026, 12, 3, 10, 0).Sub(start), workflows.UpdateOutcome,
		workflows.OutcomeInput{By: asPartnership, Resolved: false, Outcome: "Leads could not agree"})
	withdrawn := h.at(local(2026, 12, 3, 11, 0).Sub(start), workflows.UpdateWithdraw,
		workflows.WithdrawInput{By: asRaiser, Reason: "Resolved by phone with the police safeguarding lead"})
	h.run()

	defaults := []string{"2 working days", "5 working days"}
	for i, c := range seen {
		if c.Stage.Number != i+1 || c.Status != workflows.StatusOpen || c.Stage.Overdue || c.Stage.Agreed {
			t.Fatalf("before deadline %d: %s %+v", i+1, c.Status, c.Stage)
		}
		if !c.Stage.DueAt.Equal(wantDue[i]) {
			t.Errorf("stage %d due %v, want %v", i+1, c.Stage.DueAt.In(london), wantDue[i])
		}
		if want := "agreed per case (default " + defaults[i] + ")"; c.Stage.Within != want {
			t.Errorf("stage %d within %q, want %q", i+1, c.Stage.Within, want)
		}
		if i > 0 && !c.Stage.StartedAt.Equal(wantDue[i-1]) {
			t.Errorf("stage %d started %v, want at the previous deadline %v", i+1, c.Stage.StartedAt.In(london), wantDue[i-1])
		}
	}
	if len(seen[1].Contacts) != 2 {
		t.Errorf("stage two contacts from the table: %+v", seen[1].Contacts)
	}
	if overdue.Stage.Number != 2 || !overdue.Stage.Overdue || overdue.Status != workflows.StatusOpen || overdue.ClosedAt != nil {
		t.Errorf("after the last deadline: %s %+v", overdue.Status, overdue.Stage)
	}
	want := strings.Join([]string{
		workflows.EventOpened, workflows.EventStageEntered, workflows.EventReminder,
		workflows.EventDeadlinePassed, workflows.EventEscalated, workflows.EventStageEntered, workflows.EventContact, workflows.EventContact, workflows.EventReminder,
		workflows.EventDeadlinePassed, workflows.EventWithdrawn,
	}, ",")
	if got := strings.Join(h.acts.types(), ","); got != want {
		t.Errorf("recorded events:\n got %s\nwant %s", got, want)
	}
	passed := lastOf(t, h.acts, workflows.EventDeadlinePassed, 2)
	if !passed.At.Equal(wantDue[1]) || !strings.Contains(passed.Text, "stays open") {
		t.Errorf("stage two timeout: %v %q", passed.At.In(london), passed.Text)
	}
	if !hasRecipient(h.acts.notices[passed.Seq], "business.manager@notts-partnerships.example.org") {
		t.Errorf("the business manager is not told Stage Two is overdue: %+v", h.acts.notices[passed.Seq])
	}
	wantRejected(t, "partnership outcome in Nottingham", outcome, workflows.ErrConflict)
	c := wantDone(t, "withdrawal while overdue", withdrawn)
	if c.Status != workflows.StatusWithdrawn || c.Stage.Number != 2 {
		t.Errorf("final %s at stage %d", c.Status, c.Stage.Number)
	}
	h.finished()
}
