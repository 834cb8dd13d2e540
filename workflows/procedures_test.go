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
// is, a maximum bounds them, and stage two brings in both organisations'
// safeguarding leads from the escalation contacts table.
func TestNottinghamAgreedDeadlinesAndContactsTable(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)  // Monday
	agreed := local(2026, 12, 2, 12, 0) // later than the 2-day default, within the 10-day maximum
	h := newHarness(t, start, withPolicy(t, "nottingham-nottinghamshire", "thresholds"), func(in *workflows.CaseInput) {
		in.Raiser.Agency = "schools"
		in.Respondent.Agency = "nottingham-city-csc"
		in.DueAt = &agreed
	})
	var first, second workflows.Case
	h.query(time.Minute, &first)
	beyondMax := h.at(time.Hour, workflows.UpdateDeadline, workflows.DeadlineInput{By: asRaiser, DueAt: local(2026, 12, 8, 17, 1), Reason: "r"})
	h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.query(2*time.Hour+time.Minute, &second)
	stageTwo := h.at(3*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Line managers disagree", Evidence: "Meeting on 23 Nov"})
	h.at(4*time.Hour, workflows.UpdateProposeAgreement, workflows.ProposeAgreementInput{By: asRaiser, Outcome: "Referral accepted"})
	lead := workflows.Person{Name: "City CSC safeguarding lead", Email: "safeguarding.lead@city-csc.example.org", Role: "manager"}
	confirm := h.at(5*time.Hour, workflows.UpdateConfirmAgreement, workflows.ConfirmAgreementInput{By: lead})
	h.run()

	if !first.Stage.DueAt.Equal(agreed) || !first.Stage.Agreed || !strings.HasPrefix(first.Stage.Within, "agreed per case") {
		t.Errorf("stage 1 with an agreed deadline: %+v", first.Stage)
	}
	wantRejected(t, "deadline beyond the maximum", beyondMax, workflows.ErrRuleViolation)
	// No deadline agreed at stage 2: the 5-working-day default from Mon 11:00.
	if want := local(2026, 11, 30, 17, 0); !second.Stage.DueAt.Equal(want) || second.Stage.Agreed {
		t.Errorf("stage 2 default due %v (agreed %v), want %v", second.Stage.DueAt.In(london), second.Stage.Agreed, want)
	}
	c := wantDone(t, "stage two", stageTwo)
	var leads []string
	for _, ct := range c.Contacts {
		leads = append(leads, ct.Side+":"+ct.Email)
	}
	if got := strings.Join(leads, ","); got != "raiser:education.safeguarding@schools.example.org,respondent:safeguarding.lead@city-csc.example.org" {
		t.Errorf("contacts from the table: %s", got)
	}
	entered := eventsOf(h.acts, workflows.EventStageEntered)
	last := entered[len(entered)-1]
	if !hasRecipient(h.acts.notices[last.Seq], "safeguarding.lead@city-csc.example.org") {
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
// facilitator are recorded; the outcome is the parties' decision.
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
	outcome := h.at(10*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "The agencies agreed a joint visit"})
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
	c = wantDone(t, "outcome", outcome)
	if c.Status != workflows.StatusResolved || c.DecidedBy != policies.OutcomeByParties ||
		!strings.Contains(c.History[len(c.History)-1].Text, "the parties' decision") {
		t.Errorf("outcome: %s decided by %q: %q", c.Status, c.DecidedBy, c.History[len(c.History)-1].Text)
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
