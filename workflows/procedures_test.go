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
// at the partnership's default (2, 5, 5, 10 working days), stage two brings
// in the contacts table's safeguarding leads, and the business manager's
// stage is reported overdue (notify) and stays open until the outcome.
func TestNottinghamDefaultDeadlinesClimbToTheLastStage(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start, withPolicy(t, "nottingham-nottinghamshire", "thresholds"), func(in *workflows.CaseInput) {
		in.Raiser.Agency = "schools"
		in.Respondent.Agency = "notts-police"
	})
	wantDue := []time.Time{
		local(2026, 11, 25, 17, 0), // stage 1, 2 working days: Tue 24, Wed 25
		local(2026, 12, 2, 17, 0),  // stage 2, 5 from Wed 25: Thu 26, Fri 27, Mon 30, Tue 1, Wed 2
		local(2026, 12, 9, 17, 0),  // stage 3, 5: Thu 3, Fri 4, Mon 7, Tue 8, Wed 9
		local(2026, 12, 23, 17, 0), // stage 4, 10: Thu 10 .. Wed 23 Dec (before Christmas)
	}
	var seen [4]workflows.Case
	for i, due := range wantDue {
		h.query(due.Add(-time.Minute).Sub(start), &seen[i])
	}
	var overdue workflows.Case
	h.query(wantDue[3].Add(time.Hour).Sub(start), &overdue)
	outcome := h.at(local(2026, 12, 24, 10, 0).Sub(start), workflows.UpdateOutcome,
		workflows.OutcomeInput{By: asPartnership, Resolved: false, Outcome: "Leads could not agree; referred to the partnership's learning review"})
	h.run()

	defaults := []string{"2 working days", "5 working days", "5 working days", "10 working days"}
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
	if len(seen[2].Contacts) != 2 {
		t.Errorf("stage two contacts from the table: %+v", seen[2].Contacts)
	}
	if overdue.Stage.Number != 4 || !overdue.Stage.Overdue || overdue.Status != workflows.StatusOpen || overdue.ClosedAt != nil {
		t.Errorf("after the last deadline: %s %+v", overdue.Status, overdue.Stage)
	}
	want := strings.Join([]string{
		"case_opened", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "contact_added", "contact_added", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "outcome_recorded",
	}, ",")
	if got := strings.Join(h.acts.types(), ","); got != want {
		t.Errorf("recorded events:\n got %s\nwant %s", got, want)
	}
	passed := lastOf(t, h.acts, workflows.EventDeadlinePassed, 4)
	if !passed.At.Equal(wantDue[3]) || !strings.Contains(passed.Text, "stays open") {
		t.Errorf("stage 4 timeout: %v %q", passed.At.In(london), passed.Text)
	}
	if !hasRecipient(h.acts.notices[passed.Seq], "business.manager@notts-partnerships.example.org") {
		t.Errorf("the business manager is not told the last stage is overdue: %+v", h.acts.notices[passed.Seq])
	}
	c := wantDone(t, "outcome while overdue", outcome)
	if c.Status != workflows.StatusUnresolved || c.Stage.Number != 4 {
		t.Errorf("final %s at stage %d", c.Status, c.Stage.Number)
	}
	h.finished()
}

// Devon with nobody acting: the four stages run out into the Case
// Resolution Protocol, which then runs out while still awaiting the SCP
// Manager's review: it is reported overdue and stays open, awaiting review.
// The Business Group meeting is refused until the review is recorded, and
// the outcome until the meeting is.
func TestDevonReviewStageTimesOutAwaitingReview(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	devonPartner := workflows.Person{Name: "Devon SCP Manager", Email: "manager@devon.example", Agency: "devon", Role: "partnership"}
	h := newHarness(t, start, withPolicy(t, "devon", "provision-of-services"))
	wantDue := []time.Time{
		local(2026, 11, 25, 17, 0), // stage 1, 2 working days
		local(2026, 12, 2, 17, 0),  // stage 2, 5
		local(2026, 12, 9, 17, 0),  // stage 3, 5
		local(2026, 12, 16, 17, 0), // stage 4, 5: Thu 10 .. Wed 16
		// stage 5, 20 working days from Wed 16 Dec: 17, 18, 21, 22, 23, 24 Dec
		// (6); not 25 or 28 Dec (Christmas, Boxing Day substitute); 29, 30,
		// 31 Dec (9); not 1 Jan; 4-8 Jan (14); 11-15 Jan (19); Mon 18 Jan (20).
		local(2027, 1, 18, 17, 0),
	}
	var seen [5]workflows.Case
	for i, due := range wantDue {
		h.query(due.Add(-time.Minute).Sub(start), &seen[i])
	}
	var overdue workflows.Case
	after := wantDue[4].Sub(start)
	h.query(after+time.Hour, &overdue)
	meetingTooEarly := h.at(after+2*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: devonPartner, At: local(2027, 1, 21, 10, 0)})
	outcomeTooEarly := h.at(after+2*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "x"})
	confirmed := h.at(after+3*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: true, NextSteps: "To the Business Group on 21 January"})
	noMeeting := h.at(after+4*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "x"})
	meeting := h.at(after+5*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: devonPartner, At: local(2027, 1, 21, 10, 0)})
	outcome := h.at(after+6*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "Joint visit agreed by the agencies"})
	h.run()

	for i, c := range seen {
		if c.Stage.Number != i+1 || c.Stage.Overdue || c.Status != workflows.StatusOpen {
			t.Fatalf("before deadline %d: %s %+v", i+1, c.Status, c.Stage)
		}
		if !c.Stage.DueAt.Equal(wantDue[i]) {
			t.Errorf("stage %d due %v, want %v", i+1, c.Stage.DueAt.In(london), wantDue[i])
		}
	}
	if seen[4].Stage.Phase != workflows.PhaseAwaitingReview {
		t.Errorf("at the protocol: phase %q", seen[4].Stage.Phase)
	}
	if overdue.Stage.Number != 5 || !overdue.Stage.Overdue || overdue.Stage.Phase != workflows.PhaseAwaitingReview || overdue.Status != workflows.StatusOpen {
		t.Errorf("after the protocol's deadline: %s %+v", overdue.Status, overdue.Stage)
	}
	wantRejected(t, "Business Group meeting before the review", meetingTooEarly, workflows.ErrConflict)
	if !strings.Contains(meetingTooEarly.rejected.Error(), "review") {
		t.Errorf("meeting refusal does not say the review comes first: %v", meetingTooEarly.rejected)
	}
	wantRejected(t, "outcome before the review", outcomeTooEarly, workflows.ErrConflict)
	if c := wantDone(t, "review while overdue", confirmed); c.Stage.Phase != workflows.PhaseAwaitingBusinessGroup || !c.Stage.Overdue {
		t.Errorf("after the review: %+v", c.Stage)
	}
	wantRejected(t, "outcome before the Business Group meeting", noMeeting, workflows.ErrConflict)
	if !strings.Contains(noMeeting.rejected.Error(), "record the Business Group meeting first") {
		t.Errorf("outcome refusal does not say the meeting comes first: %v", noMeeting.rejected)
	}
	if c := wantDone(t, "meeting", meeting); len(c.Meetings) != 1 || c.Meetings[0].Stage != 5 {
		t.Errorf("meetings %+v", c.Meetings)
	}
	if c := wantDone(t, "outcome", outcome); c.Status != workflows.StatusResolved || c.DecidedBy != policies.OutcomeByParties {
		t.Errorf("outcome %s decided by %q", c.Status, c.DecidedBy)
	}
	want := strings.Join([]string{
		"case_opened", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "review_confirmed", "meeting_recorded", "outcome_recorded",
	}, ",")
	if got := strings.Join(h.acts.types(), ","); got != want {
		t.Errorf("recorded events:\n got %s\nwant %s", got, want)
	}
	passed := lastOf(t, h.acts, workflows.EventDeadlinePassed, 5)
	if !passed.At.Equal(wantDue[4]) || !strings.Contains(passed.Text, "stays open") {
		t.Errorf("protocol timeout: %v %q", passed.At.In(london), passed.Text)
	}
	if !hasRecipient(h.acts.notices[passed.Seq], "dscp.manager@devon-scp.example.org") {
		t.Errorf("the SCP Manager is not told the protocol is overdue: %+v", h.acts.notices[passed.Seq])
	}
	h.finished()
}

// Four-stage with nobody acting: stage 1's two steps, then stages 2 and 3,
// run out; stage 4 (the partnership's) is reported overdue and stays open
// until the outcome, which records whether a case review was considered.
func TestFourStageStageFourOverdue(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start, withPolicy(t, "four-stage", "information-sharing-services"))
	wantDue := []time.Time{
		local(2026, 11, 24, 17, 0), // stage 1 professionals, 1 working day
		local(2026, 11, 25, 17, 0), // stage 1 line managers, 24 hours
		local(2026, 11, 27, 17, 0), // stage 2, 2 working days: Thu 26, Fri 27
		local(2026, 12, 4, 17, 0),  // stage 3, 5: Mon 30 .. Fri 4 Dec
		local(2026, 12, 18, 17, 0), // stage 4, 10: Mon 7 .. Fri 18 Dec
	}
	wantStage := []int{1, 1, 2, 3, 4}
	var seen [5]workflows.Case
	for i, due := range wantDue {
		h.query(due.Add(-time.Minute).Sub(start), &seen[i])
	}
	var overdue workflows.Case
	h.query(wantDue[4].Add(time.Hour).Sub(start), &overdue)
	considered := false
	outcome := h.at(local(2026, 12, 21, 10, 0).Sub(start), workflows.UpdateOutcome, workflows.OutcomeInput{
		By: asPartnership, Resolved: false, Outcome: "Board chair told; no agreement", CaseReviewConsidered: &considered})
	h.run()

	for i, c := range seen {
		if c.Stage.Number != wantStage[i] || c.Stage.Overdue || c.Status != workflows.StatusOpen {
			t.Fatalf("before deadline %d: %s %+v", i+1, c.Status, c.Stage)
		}
		if !c.Stage.DueAt.Equal(wantDue[i]) {
			t.Errorf("deadline %d (stage %d) due %v, want %v", i+1, c.Stage.Number, c.Stage.DueAt.In(london), wantDue[i])
		}
	}
	if seen[1].Stage.Step != 2 || seen[1].Stage.Within != "24 hours" {
		t.Errorf("line managers' step: %+v", seen[1].Stage)
	}
	if overdue.Stage.Number != 4 || !overdue.Stage.Overdue || overdue.Status != workflows.StatusOpen {
		t.Errorf("after stage 4's deadline: %s %+v", overdue.Status, overdue.Stage)
	}
	want := strings.Join([]string{
		"case_opened", "stage_entered", "reminder",
		"deadline_passed", "step_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered", "reminder",
		"deadline_passed", "outcome_recorded",
	}, ",")
	if got := strings.Join(h.acts.types(), ","); got != want {
		t.Errorf("recorded events:\n got %s\nwant %s", got, want)
	}
	passed := lastOf(t, h.acts, workflows.EventDeadlinePassed, 4)
	if !passed.At.Equal(wantDue[4]) || !strings.Contains(passed.Text, "stays open") {
		t.Errorf("stage 4 timeout: %v %q", passed.At.In(london), passed.Text)
	}
	if !hasRecipient(h.acts.notices[passed.Seq], "board.service.manager@scb.example.org") {
		t.Errorf("the Board Service Manager is not told stage 4 is overdue: %+v", h.acts.notices[passed.Seq])
	}
	c := wantDone(t, "outcome", outcome)
	if c.Status != workflows.StatusUnresolved || c.CaseReviewConsidered == nil || *c.CaseReviewConsidered {
		t.Errorf("outcome %s review %v", c.Status, c.CaseReviewConsidered)
	}
	h.finished()
}

// Northamptonshire stage 3: a party asks for the next management level,
// which starts a fresh 5 working days; when that level runs out, the case
// moves to stage 4 (not to another level).
func TestNorthamptonshireLevelTimesOutIntoStageFour(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start)
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	h.at(2*time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e"})
	var level1 workflows.Case
	h.query(3*time.Hour, &level1)
	level2 := h.at(local(2026, 11, 26, 10, 0).Sub(start), workflows.UpdateEscalate,
		workflows.EscalateInput{By: asRespondent, Reason: "Heads of service disagree", NextLevel: true})
	var pastLevel1Due, atStage4 workflows.Case
	h.query(local(2026, 11, 30, 18, 0).Sub(start), &pastLevel1Due)
	h.query(local(2026, 12, 3, 18, 0).Sub(start), &atStage4)
	h.at(local(2026, 12, 4, 10, 0).Sub(start), workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Directors agreed a plan by phone"})
	h.run()

	// Level 1 from Mon 11:00: 5 working days, Tue 24 .. Mon 30 Nov.
	if level1.Stage.Number != 3 || level1.Stage.Level != 1 || !level1.Stage.DueAt.Equal(local(2026, 11, 30, 17, 0)) {
		t.Errorf("level 1: %+v", level1.Stage)
	}
	// Level 2 from Thu 26 Nov 10:00: Fri 27, Mon 30, Tue 1, Wed 2, Thu 3 Dec.
	level2Due := local(2026, 12, 3, 17, 0)
	if c := wantDone(t, "next level", level2); c.Stage.Level != 2 || !c.Stage.DueAt.Equal(level2Due) {
		t.Errorf("level 2: %+v", c.Stage)
	}
	// Level 1's old deadline no longer counts.
	if pastLevel1Due.Stage.Number != 3 || pastLevel1Due.Stage.Level != 2 || pastLevel1Due.Stage.Overdue {
		t.Errorf("after level 1's old deadline: %+v", pastLevel1Due.Stage)
	}
	// Stage 4 from Thu 3 Dec 17:00: 2 working days, Fri 4, Mon 7 Dec.
	if s := atStage4.Stage; s.Number != 4 || s.Level != 0 || !s.StartedAt.Equal(level2Due) || !s.DueAt.Equal(local(2026, 12, 7, 17, 0)) || s.Overdue {
		t.Errorf("after level 2 ran out: %+v", s)
	}
	if atStage4.Status != workflows.StatusOpen {
		t.Errorf("status %s", atStage4.Status)
	}
	want := strings.Join([]string{
		"case_opened", "stage_entered",
		"escalated", "stage_entered",
		"escalated", "stage_entered",
		"escalated", "stage_entered", "reminder",
		"deadline_passed", "escalated", "stage_entered",
		"withdrawn",
	}, ",")
	if got := strings.Join(h.acts.types(), ","); got != want {
		t.Errorf("recorded events:\n got %s\nwant %s", got, want)
	}
	passed := lastOf(t, h.acts, workflows.EventDeadlinePassed, 3)
	esc := lastOf(t, h.acts, workflows.EventEscalated, 3)
	if !passed.At.Equal(level2Due) || !strings.Contains(esc.Text, "escalated automatically to stage 4") {
		t.Errorf("level 2 timeout: %v %q", passed.At.In(london), esc.Text)
	}
	if final := h.finished(); final.Status != workflows.StatusWithdrawn || final.Stage.Number != 4 {
		t.Errorf("final %s at stage %d", final.Status, final.Stage.Number)
	}
}

// Northamptonshire stage 5: mediation by a Strategic Lead not involved in
// the case is recorded as a meeting naming the mediator; the raiser, the
// respondent, a contact of either side, or a mediator without an email
// address to check, are refused.
func TestNorthamptonshireMediationMeeting(t *testing.T) {
	start := local(2026, 11, 23, 9, 0) // Monday
	h := newHarness(t, start, func(in *workflows.CaseInput) { in.Urgent = true })
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "Child at risk this week", Evidence: "Managers unavailable", ToStage: 5})
	var atFive workflows.Case
	h.query(time.Hour+time.Minute, &atFive)
	h.at(2*time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRespondent, Side: workflows.SideRespondent, Name: asManager.Name, Email: asManager.Email, Role: "Head of service"})
	meetingAt := local(2026, 11, 24, 14, 0)
	mediation := func(f *workflows.Party) workflows.MeetingInput {
		return workflows.MeetingInput{By: asPartnership, At: meetingAt, Facilitator: f}
	}
	byRaiser := h.at(3*time.Hour, workflows.UpdateMeeting, mediation(&workflows.Party{Name: raiser.Name, Email: raiser.Email}))
	byRespondent := h.at(3*time.Hour, workflows.UpdateMeeting, mediation(&workflows.Party{Name: respondent.Name, Email: " SAM@nct.example "}))
	byContact := h.at(3*time.Hour, workflows.UpdateMeeting, mediation(&workflows.Party{Name: asManager.Name, Email: asManager.Email}))
	noEmail := h.at(3*time.Hour, workflows.UpdateMeeting, mediation(&workflows.Party{Name: "Someone"}))
	lead := workflows.Party{Name: "Sol Strategic", Email: "sol.strategic@nscp.example", Agency: "northamptonshire"}
	ok := h.at(4*time.Hour, workflows.UpdateMeeting, mediation(&lead))
	outcome := h.at(5*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: asPartnership, Resolved: true, Outcome: "Mediated: joint assessment agreed"})
	h.run()

	// Urgent stage 5: mediation offered within 2 working days from Mon
	// 10:00 (the partnership's figure): Tue 24, Wed 25 Nov.
	if atFive.Stage.Number != 5 || !atFive.Stage.DueAt.Equal(local(2026, 11, 25, 17, 0)) || atFive.Stage.Within != "2 working days" {
		t.Errorf("urgent stage 5: %+v", atFive.Stage)
	}
	for name, r := range map[string]*updateResult{"the raiser": byRaiser, "the respondent": byRespondent, "the respondent's contact": byContact} {
		wantRejected(t, "mediator is "+name, r, workflows.ErrConflict)
		if !strings.Contains(r.rejected.Error(), "not involved in the case") {
			t.Errorf("mediator is %s: %v", name, r.rejected)
		}
	}
	wantRejected(t, "mediator without an email address", noEmail, workflows.ErrRuleViolation)
	c := wantDone(t, "mediation meeting", ok)
	if len(c.Meetings) != 1 || c.Meetings[0].Stage != 5 || c.Meetings[0].Purpose != "Mediation meeting" ||
		c.Meetings[0].Facilitator == nil || *c.Meetings[0].Facilitator != lead || !c.Meetings[0].At.Equal(meetingAt) {
		t.Errorf("meetings %+v", c.Meetings)
	}
	if text := c.History[len(c.History)-1].Text; !strings.Contains(text, "Mediator: Sol Strategic.") || !strings.HasPrefix(text, "Mediation meeting recorded") {
		t.Errorf("meeting record %q", text)
	}
	if c := wantDone(t, "outcome after mediation", outcome); c.Status != workflows.StatusResolved {
		t.Errorf("status %s", c.Status)
	}
	want := "case_opened,stage_entered,escalated,stage_entered,contact_added,meeting_recorded,outcome_recorded"
	if got := strings.Join(h.acts.types(), ","); got != want {
		t.Errorf("recorded events:\n got %s\nwant %s", got, want)
	}
	h.finished()
}

// Whether a meeting's facilitator must be independent comes from the
// policy's stage (facilitator_independent), not from the partnership.
func TestFacilitatorIndependenceComesFromThePolicy(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	devonPartner := workflows.Person{Name: "Devon SCP Manager", Email: "manager@devon.example", Agency: "devon", Role: "partnership"}
	withStage := func(id string, n int, change func(*policies.Stage)) func(*workflows.CaseInput) {
		return func(in *workflows.CaseInput) {
			p := policyNamed(t, id)
			p.Stages = append([]policies.Stage(nil), p.Stages...)
			change(&p.Stages[n-1])
			in.Policy = p
		}
	}
	t.Run("Northamptonshire stage 4's resolution meeting takes any facilitator", func(t *testing.T) {
		h := newHarness(t, start, func(in *workflows.CaseInput) { in.Urgent = true })
		h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e", ToStage: 4})
		m := h.at(2*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: asRespondent, At: start.Add(24 * time.Hour),
			Facilitator: &workflows.Party{Name: respondent.Name, Email: respondent.Email}})
		h.at(3*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
		h.run()
		c := wantDone(t, "resolution meeting facilitated by a party", m)
		if !strings.Contains(c.History[len(c.History)-1].Text, "Restorative facilitator: Sam Social.") {
			t.Errorf("record %q", c.History[len(c.History)-1].Text)
		}
		h.finished()
	})
	t.Run("a policy without the rule at stage 5 takes a party as mediator", func(t *testing.T) {
		h := newHarness(t, start, func(in *workflows.CaseInput) { in.Urgent = true },
			withStage("northamptonshire", 5, func(s *policies.Stage) { s.FacilitatorIndependent = false }))
		h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e", ToStage: 5})
		m := h.at(2*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: asPartnership, At: start.Add(24 * time.Hour),
			Facilitator: &workflows.Party{Name: raiser.Name, Email: raiser.Email}})
		h.at(3*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
		h.run()
		wantDone(t, "party as mediator without the rule", m)
		h.finished()
	})
	t.Run("Devon's Business Group with the rule refuses a party", func(t *testing.T) {
		h := newHarness(t, start, withPolicy(t, "devon", "provision-of-services"), func(in *workflows.CaseInput) { in.Urgent = true },
			withStage("devon", 5, func(s *policies.Stage) { s.FacilitatorIndependent = true }))
		h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e", ToStage: 5})
		h.at(2*time.Hour, workflows.UpdateReview, workflows.ReviewInput{By: devonPartner, Followed: true, NextSteps: "Business Group"})
		party := h.at(3*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: devonPartner, At: start.Add(48 * time.Hour),
			Facilitator: &workflows.Party{Name: respondent.Name, Email: respondent.Email}})
		fay := h.at(4*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: devonPartner, At: start.Add(48 * time.Hour),
			Facilitator: &workflows.Party{Name: "Fay Facilitator", Email: "fay@devon.example"}})
		h.at(5*time.Hour, workflows.UpdateOutcome, workflows.OutcomeInput{By: devonPartner, Resolved: true, Outcome: "Agreed"})
		h.run()
		wantRejected(t, "party as restorative facilitator", party, workflows.ErrConflict)
		if !strings.Contains(party.rejected.Error(), "restorative facilitator must be someone not involved") {
			t.Errorf("refusal %v", party.rejected)
		}
		if c := wantDone(t, "independent facilitator", fay); !strings.Contains(c.History[len(c.History)-1].Text, "Restorative facilitator: Fay Facilitator.") {
			t.Errorf("record %q", c.History[len(c.History)-1].Text)
		}
		h.finished()
	})
	t.Run("an adviser of the case is involved in it", func(t *testing.T) {
		h := newHarness(t, start, withPolicy(t, "four-stage", "threshold-csc-assessment"), func(in *workflows.CaseInput) { in.Urgent = true },
			withStage("four-stage", 2, func(s *policies.Stage) { s.Meeting, s.FacilitatorIndependent = "Strategy meeting", true }))
		h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "r", Evidence: "e", ToStage: 2})
		adviser := h.at(2*time.Hour, workflows.UpdateMeeting, workflows.MeetingInput{By: asRaiser, At: start.Add(3 * time.Hour),
			Facilitator: &workflows.Party{Name: "CAF/TAC Implementation Officer", Email: "caf.tac.officer@scb.example.org"}})
		h.at(3*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "end"})
		h.run()
		wantRejected(t, "adviser as facilitator", adviser, workflows.ErrConflict)
		h.finished()
	})
}
