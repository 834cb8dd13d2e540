package recordpage

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// recordCase builds a case's state and record the way the workflow writes
// them (same event types and wording), under a real policy and its clock.
type recordCase struct {
	t     *testing.T
	pol   policies.Policy
	clock policies.Clock
	c     workflows.Case
}

var system = workflows.Party{Name: "escalate"}

func newRecordCase(t *testing.T, policyID, ref string, opened time.Time, raiser, respondent workflows.Party, category, summary string) *recordCase {
	t.Helper()
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	pol, ok := pols.Get(policyID)
	if !ok {
		t.Fatalf("no policy %s", policyID)
	}
	clock, err := pol.Clock()
	if err != nil {
		t.Fatal(err)
	}
	b := &recordCase{t: t, pol: pol, clock: clock, c: workflows.Case{
		Ref: ref, Policy: pol.ID, Status: workflows.StatusOpen, ChildRef: "NCT/2025/04417", Category: category,
		Summary: summary, CreatedAt: opened, Raiser: raiser, Respondent: respondent,
		Contacts: []workflows.Contact{}, Advisers: []workflows.Adviser{}, Meetings: []workflows.Meeting{},
		SafetyNotice: pol.SafetyNotice,
	}}
	cat, _ := pol.Category(category)
	b.event(opened, workflows.EventOpened, 1, raiser, fmt.Sprintf("Disagreement raised by %s (%s) with %s (%s). Category: %s.",
		raiser.Name, raiser.Agency, respondent.Name, respondent.Agency, cat.Label))
	b.enter(opened, 1, 0, workflows.MoveOpened)
	return b
}

// local formats a time as the workflow writes it into event text.
func (b *recordCase) local(t time.Time) string {
	return t.In(b.clock.Location).Format("15:04 Mon 2 Jan 2006 MST")
}

// at is a wall-clock time in the policy's zone.
func (b *recordCase) at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, b.clock.Location)
}

// event records an event and returns it, for its structured fields to be
// set as the workflow sets them.
func (b *recordCase) event(at time.Time, typ string, stage int, by workflows.Party, text string) *workflows.Event {
	b.c.Version++
	b.c.History = append(b.c.History, workflows.Event{Seq: b.c.Version, At: at.UTC(), Type: typ, Stage: stage, By: by.Name, ByEmail: by.Email, Text: text})
	return &b.c.History[len(b.c.History)-1]
}

// move gives an event the fields of a stage move.
func move(e *workflows.Event, from, to int, kind string) *workflows.Event {
	e.FromStage, e.ToStage, e.Move = from, to, kind
	return e
}

// closing gives an event the fields of the case's closing.
func closing(e *workflows.Event, resolved bool, status string) {
	e.Resolved, e.ClosedStatus = &resolved, status
}

func (b *recordCase) enter(at time.Time, n, from int, kind string) {
	st, ok := b.pol.Stage(n)
	if !ok {
		b.t.Fatalf("no stage %d", n)
	}
	ts := st.StepTimescale(0, false)
	due, err := ts.DueAt(at, b.clock)
	if err != nil {
		b.t.Fatal(err)
	}
	b.c.Stage = workflows.StageState{Number: n, Name: st.Name, Who: st.Who, StartedAt: at.UTC(), DueAt: due.UTC(), Within: ts.String()}
	if st.Repeat {
		b.c.Stage.Level = 1
	}
	e := move(b.event(at, workflows.EventStageEntered, n, system, fmt.Sprintf("Stage %d: %s. Who: %s. Due by %s (%s).", n, st.Name, st.Who, b.local(due), ts.String())),
		from, n, kind)
	d := due.UTC()
	e.DueAt, e.Level = &d, b.c.Stage.Level
}

func (b *recordCase) note(at time.Time, by workflows.Party, text string) {
	b.event(at, workflows.EventNote, b.c.Stage.Number, by, text)
}

func (b *recordCase) contact(at time.Time, by workflows.Party, side string, p workflows.Party) {
	b.c.Contacts = append(b.c.Contacts, workflows.Contact{Party: p, Side: side, Stage: b.c.Stage.Number})
	b.event(at, workflows.EventContact, b.c.Stage.Number, by, fmt.Sprintf("%s (%s, %s) now acts for the %s's side at stage %d.", p.Name, p.Role, p.Email, side, b.c.Stage.Number))
}

func (b *recordCase) escalate(at time.Time, by workflows.Party, reason, evidence string) {
	cur := b.c.Stage.Number
	next, _ := b.pol.Stage(cur + 1)
	text := fmt.Sprintf("Escalated from stage %d to stage %d (%s). Reason: %s", cur, next.Number, next.Name, reason)
	if evidence != "" {
		text += ". Evidence that the previous stage was exhausted: " + evidence
	}
	move(b.event(at, workflows.EventEscalated, cur, by, text), cur, cur+1, workflows.MoveEscalated)
	b.enter(at, cur+1, cur, workflows.MoveEscalated)
}

// deadlinePassed is the workflow's timer at the stage's due time.
func (b *recordCase) deadlinePassed() {
	cur, _ := b.pol.Stage(b.c.Stage.Number)
	at := b.c.Stage.DueAt
	target, verb, kind := cur.Number+1, "escalated automatically", workflows.MoveDeadlinePassed
	if cur.OnTimeout == policies.OnTimeoutMediation {
		target, verb, kind = b.pol.PartnershipStage(), "referred to the partnership for mediation", workflows.MoveDeadlineMediation
	}
	next, _ := b.pol.Stage(target)
	move(b.event(at, workflows.EventDeadlinePassed, cur.Number, system, fmt.Sprintf("Stage %d (%s) passed its deadline of %s without a written outcome; the case is %s.", cur.Number, cur.Name, b.local(at), verb)),
		cur.Number, target, kind)
	move(b.event(at, workflows.EventEscalated, cur.Number, system, fmt.Sprintf("Stage %d deadline passed: %s to stage %d (%s).", cur.Number, verb, next.Number, next.Name)),
		cur.Number, target, kind)
	b.enter(at, target, cur.Number, kind)
}

func (b *recordCase) agreeDeadline(at time.Time, by workflows.Party, due time.Time, reason string) {
	b.c.Stage.DueAt, b.c.Stage.Agreed = due.UTC(), true
	d := due.UTC()
	b.event(at, workflows.EventDeadlineChanged, b.c.Stage.Number, by, fmt.Sprintf("Stage %d deadline agreed as %s. Reason: %s", b.c.Stage.Number, b.local(due), reason)).DueAt = &d
}

func (b *recordCase) meeting(at time.Time, by workflows.Party, when time.Time, purpose string, facilitator *workflows.Party) {
	st, _ := b.pol.Stage(b.c.Stage.Number)
	b.c.Meetings = append(b.c.Meetings, workflows.Meeting{At: when.UTC(), Stage: st.Number, Purpose: purpose, Facilitator: facilitator, RecordedBy: by.Name})
	text := fmt.Sprintf("%s recorded for %s: %s.", st.Meeting, b.local(when), purpose)
	if facilitator != nil {
		text += fmt.Sprintf(" Restorative facilitator: %s.", facilitator.Name)
	}
	b.event(at, workflows.EventMeeting, st.Number, by, text)
}

func (b *recordCase) propose(at time.Time, by workflows.Party, side, outcome string, actions []workflows.Action, learning string) {
	b.c.Agreement = &workflows.Agreement{ProposedBy: by.Name, ProposedBySide: side, Outcome: outcome, Actions: actions, Learning: learning, ProposedAt: at.UTC()}
	b.c.Status = workflows.StatusAgreementProposed
	text := "Agreed outcome proposed: " + outcome
	for _, a := range actions {
		text += fmt.Sprintf("\n- %s (who: %s; by %s)", a.What, a.Who, b.local(a.By))
	}
	b.event(at, workflows.EventAgreementProposed, b.c.Stage.Number, by, text)
}

func (b *recordCase) confirm(at time.Time, by workflows.Party) {
	u := at.UTC()
	b.c.Agreement.ConfirmedBy, b.c.Agreement.At = by.Name, &u
	b.c.Learning, b.c.Outcome = b.c.Agreement.Learning, b.c.Agreement.Outcome
	b.close(at, workflows.StatusResolved)
	closing(b.event(at, workflows.EventAgreementConfirm, b.c.Stage.Number, by, fmt.Sprintf("Agreement confirmed by %s: the disagreement is resolved at stage %d.", by.Name, b.c.Stage.Number)),
		true, workflows.StatusResolved)
}

func (b *recordCase) withdraw(at time.Time, by workflows.Party, reason string) {
	b.close(at, workflows.StatusWithdrawn)
	closing(b.event(at, workflows.EventWithdrawn, b.c.Stage.Number, by, "Withdrawn by the raiser's side. Reason: "+reason), false, workflows.StatusWithdrawn)
}

func (b *recordCase) outcome(at time.Time, by workflows.Party, resolved bool, outcome, learning string) {
	status, verb := workflows.StatusUnresolved, "unresolved"
	if resolved {
		status, verb = workflows.StatusResolved, "resolved"
	}
	b.c.Outcome, b.c.Learning, b.c.DecidedBy = outcome, learning, b.pol.OutcomeBy
	b.close(at, status)
	text := fmt.Sprintf("Partnership outcome recorded by %s; the case is closed %s. Outcome: %s", by.Name, verb, outcome)
	if learning != "" {
		text += " Learning (for the partnership's learning group): " + learning
	}
	closing(b.event(at, workflows.EventOutcome, b.c.Stage.Number, by, text), resolved, status)
}

func (b *recordCase) close(at time.Time, status string) {
	u := at.UTC()
	b.c.Status, b.c.ClosedAt = status, &u
}

var (
	priya  = workflows.Party{Name: "Priya Shah", Email: "priya.shah@nhft.example", Agency: "nhft", Role: "Health Visitor"}
	tom    = workflows.Party{Name: "Tom Okafor", Email: "tom.okafor@nct.example", Agency: "nct", Role: "Social Worker"}
	hannah = workflows.Party{Name: "Hannah Lee", Email: "hannah.lee@nhft.example", Agency: "nhft", Role: "Health Visiting Team Leader"}
	marcus = workflows.Party{Name: "Marcus Reid", Email: "marcus.reid@nct.example", Agency: "nct", Role: "Team Manager, Front Door"}
	ayesha = workflows.Party{Name: "Dr Ayesha Khan", Email: "ayesha.khan@nhft.example", Agency: "nhft", Role: "Named Nurse for Safeguarding Children"}
	dawn   = workflows.Party{Name: "Dawn Clarke", Email: "dawn.clarke@nct.example", Agency: "nct", Role: "Service Manager"}
	jo     = workflows.Party{Name: "Jo Barnes", Email: "jo.barnes@nhft.example", Agency: "nhft", Role: "Director of Nursing"}
	sarah  = workflows.Party{Name: "Sarah Whitfield", Email: "sarah.whitfield@nct.example", Agency: "nct", Role: "Director of Children's Services"}
	office = workflows.Party{Name: "Lena Novak", Email: "business.office@nscp.example.org", Agency: "northamptonshire", Role: "Strategic Lead"}
)

// resolvedCase climbs four stages of the Northamptonshire procedure across
// the change to British Summer Time and ends in a confirmed agreement.
func resolvedCase(t *testing.T) *recordCase {
	b := newRecordCase(t, "northamptonshire", "NSCP-2025-0042", time.Date(2025, 3, 27, 9, 40, 0, 0, time.UTC), priya, tom,
		"child-protection-procedures",
		"Health visitor believes the bruising seen on 26 March meets the threshold for a strategy discussion; the front door decided on single-agency early help.")
	b.note(b.at(2025, 3, 28, 11, 15), priya,
		"Phoned Tom to discuss. He will look again at the referral & the GP's letter but thinks \"early help\" is right for now.")
	b.deadlinePassed() // stage 1 ends Mon 31 Mar 17:00 BST: stage 2
	b.contact(b.at(2025, 4, 1, 9, 5), priya, workflows.SideRaiser, hannah)
	b.contact(b.at(2025, 4, 1, 9, 20), tom, workflows.SideRespondent, marcus)
	b.note(b.at(2025, 4, 2, 14, 30), marcus,
		"Managers met by Teams. No agreement: the front door still sees this as an early help case.\nHealth visiting to send the chronology.")
	b.escalate(b.at(2025, 4, 3, 16, 20), hannah, "managers could not agree whether section 47 enquiries are needed",
		"notes of the managers' discussion on 2 April")
	b.contact(b.at(2025, 4, 4, 10, 0), hannah, workflows.SideRaiser, ayesha)
	b.contact(b.at(2025, 4, 4, 10, 10), marcus, workflows.SideRespondent, dawn)
	b.agreeDeadline(b.at(2025, 4, 7, 9, 30), dawn, b.at(2025, 4, 8, 12, 0), "the child is seen by the paediatrician on 8 April")
	b.escalate(b.at(2025, 4, 8, 11, 50), ayesha, "senior managers still disagree after the paediatric assessment",
		"Named Nurse and Service Manager discussion, 7 April")
	b.contact(b.at(2025, 4, 8, 12, 5), ayesha, workflows.SideRaiser, jo)
	b.contact(b.at(2025, 4, 8, 12, 10), dawn, workflows.SideRespondent, sarah)
	b.meeting(b.at(2025, 4, 8, 15, 10), sarah, b.at(2025, 4, 9, 10, 0), "Resolution meeting of the two directors",
		&workflows.Party{Name: "Lena Novak", Role: "Strategic Lead, NSCP"})
	b.propose(b.at(2025, 4, 9, 12, 40), sarah, workflows.SideRespondent,
		"A strategy discussion will be held. The front door accepts the referral met the threshold for a section 47 enquiry.",
		[]workflows.Action{
			{What: "Convene a strategy discussion with police and health", Who: "Marcus Reid, Team Manager (NCT)", By: b.at(2025, 4, 10, 17, 0).UTC()},
			{What: "Send the health visiting chronology to the allocated social worker", Who: "Hannah Lee (NHFT)", By: b.at(2025, 4, 11, 12, 0).UTC()},
			{What: "Brief both teams on the partnership's threshold guidance", Who: "Dawn Clarke and Dr Ayesha Khan", By: b.at(2025, 4, 30, 17, 0).UTC()},
		},
		"Disagreements about bruising in a non-mobile baby should go to managers on the first day rather than after the 2 working days run out.")
	b.confirm(b.at(2025, 4, 9, 16, 5), jo)
	return b
}

// withdrawnCase is withdrawn at stage 2.
func withdrawnCase(t *testing.T) *recordCase {
	b := newRecordCase(t, "northamptonshire", "NSCP-2025-0051", time.Date(2025, 6, 2, 8, 30, 0, 0, time.UTC), priya, tom,
		"information-sharing-services", "School nurse was not told of the child's move to a new address.")
	b.escalate(b.at(2025, 6, 3, 10, 0), priya, "no reply to two emails", "emails of 2 and 3 June")
	b.withdraw(b.at(2025, 6, 4, 15, 45), priya, "the information was shared after the stage 2 call; nothing more is needed")
	return b
}

// unresolvedCase runs out of time at stage 4 and goes to the partnership,
// which records it unresolved.
func unresolvedCase(t *testing.T) *recordCase {
	b := newRecordCase(t, "northamptonshire", "NSCP-2025-0077", time.Date(2025, 10, 20, 9, 0, 0, 0, time.UTC), priya, tom,
		"levels-of-need", "Disagreement about whether the family needs a child in need plan.")
	b.deadlinePassed() // stage 1 to 2
	b.deadlinePassed() // 2 to 3
	b.deadlinePassed() // 3 to 4
	b.deadlinePassed() // 4 to the partnership (5) for mediation
	b.outcome(b.at(2025, 11, 12, 14, 0), office, false,
		"Mediation offered and held; the agencies still disagree. Each agency's position is recorded on the child's file.",
		"Agencies need a shared reading of the levels of need document.")
	return b
}

// brokenCase is still open and overdue at stage 2, has a note with markup in
// it, and its record fails verification at event 4.
func brokenCase(t *testing.T) *recordCase {
	b := newRecordCase(t, "northamptonshire", "NSCP-2025-0090", time.Date(2025, 11, 3, 10, 0, 0, 0, time.UTC), priya, tom,
		"communication", "Strategy meeting minutes were not shared.")
	b.note(b.at(2025, 11, 3, 12, 0), priya, `Pasted from the referral: <script>alert("x")</script> <b>urgent</b>`)
	b.deadlinePassed()
	b.c.Stage.Overdue = true
	return b
}

type stageWant struct{ name, started, due, ended string }

func TestRecordPage(t *testing.T) {
	printed := time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		build  func(*testing.T) *recordCase
		verify func(c workflows.Case) store.Verification
		stages []stageWant
		want   []string
		absent []string
	}{
		{
			name:  "resolved at stage 4 with an agreement",
			build: resolvedCase,
			verify: func(c workflows.Case) store.Verification {
				return store.Verification{Intact: true, Keyed: true, Events: len(c.History)}
			},
			stages: []stageWant{
				{"Stage 1: Direct professional to professional discussion", "Thu 27 Mar 2025, 09:40 GMT", "Mon 31 Mar 2025, 17:00 BST", "Deadline passed: escalated automatically to stage 2"},
				{"Stage 2: Direct manager to manager discussion", "Mon 31 Mar 2025, 17:00 BST", "Mon 7 Apr 2025, 17:00 BST", "Escalated to stage 3 by Hannah Lee"},
				{"Stage 3: Senior manager to senior manager discussion", "Thu 3 Apr 2025, 16:20 BST", "Tue 8 Apr 2025, 12:00 BST", "Escalated to stage 4 by Dr Ayesha Khan"},
				{"Stage 4: Director / Chief Executive discussion", "Tue 8 Apr 2025, 11:50 BST", "Thu 10 Apr 2025, 17:00 BST", "Agreed: outcome confirmed by Jo Barnes"},
			},
			want: []string{
				"NSCP-2025-0042", "NCT/2025/04417", "Northamptonshire Safeguarding Children Partnership",
				"Whether child protection procedures should be invoked",
				"Resolved", "At stage 4. Agreed: outcome confirmed by Jo Barnes.",
				"Northamptonshire Children&#39;s Trust (children&#39;s social care)", // agency names, not ids
				"Dr Ayesha Khan", "Named Nurse for Safeguarding Children", "sarah.whitfield@nct.example",
				// notes, as written and escaped
				html.EscapeString(`Phoned Tom to discuss. He will look again at the referral & the GP's letter but thinks "early help" is right for now.`),
				"Managers met by Teams. No agreement: the front door still sees this as an early help case.\nHealth visiting to send the chronology.",
				// the agreement
				"Agreed outcome", "The front door accepts the referral met the threshold for a section 47 enquiry.",
				"Sarah Whitfield (responding side), Wed 9 Apr 2025, 12:40 BST", "Jo Barnes, Wed 9 Apr 2025, 16:05 BST",
				`<td class="text">Convene a strategy discussion with police and health</td><td>Marcus Reid, Team Manager (NCT)</td><td>Thu 10 Apr 2025, 17:00 BST</td>`,
				`<td class="text">Send the health visiting chronology to the allocated social worker</td><td>Hannah Lee (NHFT)</td><td>Fri 11 Apr 2025, 12:00 BST</td>`,
				`<td class="text">Brief both teams on the partnership&#39;s threshold guidance</td><td>Dawn Clarke and Dr Ayesha Khan</td><td>Wed 30 Apr 2025, 17:00 BST</td>`,
				"<h2>Learning</h2>", "Disagreements about bruising in a non-mobile baby should go to managers on the first day",
				// the meeting
				"<h2>Meetings</h2>", "Wed 9 Apr 2025, 10:00 BST", "Resolution meeting of the two directors", "Lena Novak",
				// the record, in plain words
				"Record verified.", "The chain of 21 recorded events is intact",
				"Deadline passed", "Escalated", "Deadline agreed", "Outcome proposed", "Outcome agreed", "Meeting recorded", "Recorded automatically",
			},
			absent: []string{"Partnership outcome</h2>", "failed verification", "Still open"},
		},
		{
			name:  "withdrawn at stage 2",
			build: withdrawnCase,
			verify: func(c workflows.Case) store.Verification {
				return store.Verification{Intact: true, Keyed: true, Events: len(c.History)}
			},
			stages: []stageWant{
				{"Stage 1: Direct professional to professional discussion", "Mon 2 Jun 2025, 09:30 BST", "Wed 4 Jun 2025, 17:00 BST", "Escalated to stage 2 by Priya Shah"},
				{"Stage 2: Direct manager to manager discussion", "Tue 3 Jun 2025, 10:00 BST", "Tue 10 Jun 2025, 17:00 BST", "Withdrawn by Priya Shah (raising side)"},
			},
			want: []string{
				"Withdrawn by the raiser&#39;s side", "Wed 4 Jun 2025, 15:45 BST",
				"the information was shared after the stage 2 call; nothing more is needed",
				"Record verified.",
			},
			absent: []string{"Agreed outcome", "<h2>Learning</h2>", "<h2>Meetings</h2>", "Partnership outcome</h2>", "Still open"},
		},
		{
			name:  "unresolved after partnership mediation",
			build: unresolvedCase,
			verify: func(c workflows.Case) store.Verification {
				return store.Verification{Intact: true, Keyed: true, Events: len(c.History)}
			},
			stages: []stageWant{
				{"Stage 1: Direct professional to professional discussion", "Mon 20 Oct 2025, 10:00 BST", "Wed 22 Oct 2025, 17:00 BST", "Deadline passed: escalated automatically to stage 2"},
				{"Stage 2: Direct manager to manager discussion", "Wed 22 Oct 2025, 17:00 BST", "Wed 29 Oct 2025, 17:00 GMT", "Deadline passed: escalated automatically to stage 3"},
				{"Stage 3: Senior manager to senior manager discussion", "Wed 29 Oct 2025, 17:00 GMT", "Wed 5 Nov 2025, 17:00 GMT", "Deadline passed: escalated automatically to stage 4"},
				{"Stage 4: Director / Chief Executive discussion", "Wed 5 Nov 2025, 17:00 GMT", "Fri 7 Nov 2025, 17:00 GMT", "Deadline passed: referred to the partnership for mediation (stage 5)"},
				{"Stage 5: Partnership resolution", "Fri 7 Nov 2025, 17:00 GMT", "Fri 14 Nov 2025, 17:00 GMT", "Partnership outcome recorded by Lena Novak: not resolved"},
			},
			want: []string{
				"Partnership outcome</h2>", "Closed unresolved", "At stage 5. Partnership outcome recorded by Lena Novak: not resolved.", "Each agency&#39;s position is recorded on the child&#39;s file.",
				"<h2>Learning</h2>", "Agencies need a shared reading of the levels of need document.",
			},
			absent: []string{"Agreed outcome", "<h2>Meetings</h2>"},
		},
		{
			name:  "open, overdue, and the record fails verification",
			build: brokenCase,
			verify: func(c workflows.Case) store.Verification {
				return store.Verification{Intact: false, FirstBroken: 4, Reason: "its content does not match its hash", Events: len(c.History)}
			},
			stages: []stageWant{
				{"Stage 1: Direct professional to professional discussion", "Mon 3 Nov 2025, 10:00 GMT", "Wed 5 Nov 2025, 17:00 GMT", "Deadline passed: escalated automatically to stage 2"},
				{"Stage 2: Direct manager to manager discussion", "Wed 5 Nov 2025, 17:00 GMT", "Wed 12 Nov 2025, 17:00 GMT", "Still open and overdue"},
			},
			want: []string{
				"Warning: this record failed verification.", "First broken link: event 4</strong>: its content does not match its hash",
				`<tr class="entry broken"><td>4</td>`, "Tell the NSCP Business Office (business.office@nscp.example.org).",
				html.EscapeString(`Pasted from the referral: <script>alert("x")</script> <b>urgent</b>`),
				"Current stage", "(overdue)",
			},
			absent: []string{"<script>", "<b>urgent", "Record verified.", "Agreed outcome"},
		},
		{
			name:  "recorded before the record was keyed",
			build: withdrawnCase,
			verify: func(c workflows.Case) store.Verification {
				return store.Verification{Intact: true, Keyed: false, Unkeyed: []int{1, 2, 3}, Events: len(c.History),
					Reason: "events 1-3 were recorded before the record was sealed with a key: their plain hashes show accidental change, not a deliberate rewrite by someone with access to the database"}
			},
			stages: []stageWant{
				{"Stage 1: Direct professional to professional discussion", "Mon 2 Jun 2025, 09:30 BST", "Wed 4 Jun 2025, 17:00 BST", "Escalated to stage 2 by Priya Shah"},
				{"Stage 2: Direct manager to manager discussion", "Tue 3 Jun 2025, 10:00 BST", "Tue 10 Jun 2025, 17:00 BST", "Withdrawn by Priya Shah (raising side)"},
			},
			want: []string{
				"Record checked, but not all of it can be vouched for.", "but events 1-3 were recorded before the record was sealed with a key",
			},
			absent: []string{"Record verified.", "failed verification"},
		},
		{
			name:  "the case row does not match its seal",
			build: withdrawnCase,
			verify: func(c workflows.Case) store.Verification {
				return store.Verification{Intact: false, FirstBroken: 0, Events: len(c.History),
					Reason: "the case's details (status, stage, deadline, parties, agencies, summary) or the end of its record do not match the seal written with its last event: they were changed since"}
			},
			stages: []stageWant{
				{"Stage 1: Direct professional to professional discussion", "Mon 2 Jun 2025, 09:30 BST", "Wed 4 Jun 2025, 17:00 BST", "Escalated to stage 2 by Priya Shah"},
				{"Stage 2: Direct manager to manager discussion", "Tue 3 Jun 2025, 10:00 BST", "Tue 10 Jun 2025, 17:00 BST", "Withdrawn by Priya Shah (raising side)"},
			},
			want: []string{
				"Warning: this record failed verification.", "The case's details do not match their seal</strong>: the case&#39;s details (status",
				"Tell the NSCP Business Office",
			},
			absent: []string{"Record verified.", "First broken link", "Not checked", "event 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.build(t)
			v := tt.verify(b.c)
			page := New(b.c, &b.pol, v, printed)
			var buf bytes.Buffer
			if err := Render(&buf, page); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if dir := os.Getenv("RECORD_HTML_DIR"); dir != "" {
				name := strings.NewReplacer(" ", "-", ",", "").Replace(tt.name)
				if err := os.WriteFile(dir+"/"+name+".html", buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			// The safety notice comes before anything else of the case.
			notice := strings.Index(out, html.EscapeString(b.pol.SafetyNotice))
			if notice < 0 || notice > strings.Index(out, "<h2>The case</h2>") {
				t.Errorf("the immediate-risk safety notice is missing or not at the top")
			}
			// Verification is shown at the top, before the case.
			if v := strings.Index(out, `class="verify`); v < 0 || v > strings.Index(out, "<h2>The case</h2>") {
				t.Errorf("the verification result is not shown at the top")
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.absent {
				if strings.Contains(out, w) {
					t.Errorf("page has %q", w)
				}
			}

			rows := rowsOf(out, "stage")
			if len(rows) != len(tt.stages) {
				t.Fatalf("%d stage rows, want %d", len(rows), len(tt.stages))
			}
			for i, w := range tt.stages {
				for _, s := range []string{w.name, "<td>" + w.started + "</td>", "<td>" + w.due, w.ended} {
					if !strings.Contains(rows[i], html.EscapeString(s)) && !strings.Contains(rows[i], s) {
						t.Errorf("stage row %d lacks %q:\n%s", i+1, s, rows[i])
					}
				}
			}

			// Every event is in the record, in order, with its time, stage,
			// who, what (in plain words) and its text, escaped.
			entries := rowsOf(out, "entry")
			if len(entries) != len(b.c.History) {
				t.Fatalf("%d record rows, want %d", len(entries), len(b.c.History))
			}
			for i, e := range b.c.History {
				r := entries[i]
				who := e.By
				if e.By == "escalate" {
					who = "Recorded automatically"
				}
				for _, s := range []string{
					fmt.Sprintf("<td>%d</td>", e.Seq),
					"<td>" + e.At.In(b.clock.Location).Format("Mon 2 Jan 2006, 15:04 MST") + "</td>",
					fmt.Sprintf("<td>%d</td>", e.Stage),
					html.EscapeString(who),
					`<span class="what">` + eventWords[e.Type] + "</span>",
					`<div class="text">` + html.EscapeString(e.Text) + "</div>",
				} {
					if !strings.Contains(r, s) {
						t.Errorf("record row %d (%s) lacks %q:\n%s", i+1, e.Type, s, r)
					}
				}
				// Rows the verification did not vouch for say so. When it is
				// the case row that fails (FirstBroken 0), the events verified.
				broken, unchecked := strings.Contains(r, "First broken link"), strings.Contains(r, "Not checked")
				if broken != (!v.Intact && e.Seq == v.FirstBroken) || unchecked != (!v.Intact && v.FirstBroken > 0 && e.Seq > v.FirstBroken) {
					t.Errorf("record row %d: first broken link %v, not checked %v; verification %+v", e.Seq, broken, unchecked, v)
				}
			}

			// Plain words only: no type names, no status codes, no
			// "complaint" anywhere.
			text := visibleText(out)
			for _, raw := range []string{
				workflows.EventOpened, workflows.EventStageEntered, workflows.EventContact, workflows.EventDeadlineChanged,
				workflows.EventDeadlinePassed, workflows.EventAgreementProposed, workflows.EventAgreementConfirm,
				workflows.EventOutcome, workflows.EventMeeting, workflows.EventStepEntered, workflows.StatusAgreementProposed,
				"_",
			} {
				if strings.Contains(text, raw) {
					t.Errorf("page shows the raw name %q", raw)
				}
			}
			if strings.Contains(strings.ToLower(out), "complaint") {
				t.Errorf("page says complaint: escalation is professional challenge")
			}
		})
	}
}

// TestRecordPageWithoutPolicy renders a case whose policy is no longer
// loaded: still a page, with the recorded deadlines, in UTC.
func TestRecordPageWithoutPolicy(t *testing.T) {
	b := withdrawnCase(t)
	var buf bytes.Buffer
	if err := Render(&buf, New(b.c, nil, store.Verification{Intact: true, Events: 4}, time.Now())); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{"northamptonshire", "information-sharing-services", "Stage 1", "Mon 2 Jun 2025, 08:30 UTC", "Wed 4 Jun 2025, 16:00 UTC", "Tue 10 Jun 2025, 16:00 UTC", b.c.SafetyNotice[:40]} {
		if !strings.Contains(out, html.EscapeString(w)) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// Contract v1.1, "Categories": category_detail is "shown wherever the
// category is", the written record included, with or without the policy.
func TestRecordPageShowsCategoryDetail(t *testing.T) {
	b := withdrawnCase(t)
	b.c.Category, b.c.CategoryDetail = "other", "Respite care <arrangements>"
	for _, tc := range []struct {
		name string
		pol  *policies.Policy
		want string
	}{
		{"with its policy", &b.pol, "Other: Respite care <arrangements>"},
		{"without its policy", nil, "other: Respite care <arrangements>"},
	} {
		var buf bytes.Buffer
		if err := Render(&buf, New(b.c, tc.pol, store.Verification{Intact: true, Events: 4}, time.Now())); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "<td>"+html.EscapeString(tc.want)+"</td>") {
			t.Errorf("%s: the page does not show the category as %q", tc.name, tc.want)
		}
	}
}

// Contract v1.1, "Agreed deadlines": "the case shows a pending proposal",
// its written record too.
func TestRecordPageShowsAPendingDeadline(t *testing.T) {
	b := withdrawnCase(t)
	b.c.Status, b.c.ClosedAt = workflows.StatusOpen, nil
	due := time.Date(2025, 6, 5, 12, 0, 0, 0, time.UTC)
	b.c.PendingDeadline = &workflows.PendingDeadline{DueAt: due, Reason: "r", ProposedBy: "Sam Social", ProposedBySide: "respondent", Stage: 1}
	var buf bytes.Buffer
	if err := Render(&buf, New(b.c, &b.pol, store.Verification{Intact: true, Events: 4}, time.Now())); err != nil {
		t.Fatal(err)
	}
	want := "Proposed deadline Thu 5 Jun 2025, 13:00 BST, by Sam Social for the respondent's side: it takes effect when the other side confirms it."
	if text := strings.Join(strings.Fields(visibleText(buf.String())), " "); !strings.Contains(text, want) {
		t.Errorf("the page does not show the proposal %q", want)
	}
}

// rowsOf returns the table rows of a class, in order.
func rowsOf(page, class string) []string {
	re := regexp.MustCompile(`(?s)<tr class="` + class + `(?: [a-z ]+)?">.*?</tr>`)
	return re.FindAllString(page, -1)
}

// visibleText is the page's text without tags, styles or attributes.
func visibleText(page string) string {
	page = regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(page, "")
	return html.UnescapeString(regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(page, " "))
}

// The stages table comes from the events' structured fields, never their
// text: the same record with every text replaced by a misleading sentence
// (another deadline, "agreed", "mediation", "closed resolved") renders the
// same stages.
func TestRecordPageStagesComeFromFieldsNotText(t *testing.T) {
	for _, build := range []func(*testing.T) *recordCase{resolvedCase, unresolvedCase, withdrawnCase} {
		b := build(t)
		want := stages(b.c, &b.pol, &b.clock)
		misled := b.c
		misled.History = append([]workflows.Event(nil), b.c.History...)
		for i := range misled.History {
			misled.History[i].Text = "Stage 9: Nowhere. Due by 09:00 Mon 1 Jan 2024 GMT (agreed; the policy allows 1 day). " +
				"Referred to the partnership for mediation; sent back; the case is closed resolved."
		}
		got := stages(misled, &b.pol, &b.clock)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the stages changed with the events' texts:\n got %+v\nwant %+v", b.c.Ref, got, want)
		}
	}

	// And the fields alone decide: an outcome whose text says resolved but
	// whose field says not; an entry whose text says agreed but whose
	// fields give another, policy deadline.
	b := unresolvedCase(t)
	last := &b.c.History[len(b.c.History)-1]
	last.Text = "Partnership outcome recorded; the case is closed resolved."
	rows := stages(b.c, &b.pol, &b.clock)
	if how := rows[len(rows)-1].How; how != "Partnership outcome recorded by Lena Novak: not resolved" {
		t.Errorf("the outcome row says %q", how)
	}
	yes := true
	last.Resolved = &yes
	rows = stages(b.c, &b.pol, &b.clock)
	if how := rows[len(rows)-1].How; how != "Partnership outcome recorded by Lena Novak: resolved" {
		t.Errorf("with resolved true, the outcome row says %q", how)
	}
}

// Steps and levels are named from the events' step and level and the
// policy the case ran under; how each ended from the kind of move.
func TestRecordPageStepsAndLevelsFromFields(t *testing.T) {
	opened := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		policy string
		events []workflows.Event
		want   []stageWant
	}{
		{"four-stage", []workflows.Event{
			{Type: workflows.EventOpened, Stage: 1},
			{Type: workflows.EventStageEntered, Stage: 1, ToStage: 1, Move: workflows.MoveOpened, Step: 1},
			{Type: workflows.EventEscalated, Stage: 1, By: "Sam", ByEmail: "sam@example.org", FromStage: 1, ToStage: 1, Move: workflows.MoveNextStep, Text: "Escalated to stage 4."},
			{Type: workflows.EventStepEntered, Stage: 1, ToStage: 1, FromStage: 1, Move: workflows.MoveNextStep, Step: 2, Text: "Stage 3: level 7."},
			{Type: workflows.EventDeadlinePassed, Stage: 1, FromStage: 1, ToStage: 2, Move: workflows.MoveDeadlinePassed, Text: "mediation"},
			{Type: workflows.EventEscalated, Stage: 1, FromStage: 1, ToStage: 2, Move: workflows.MoveDeadlinePassed},
			{Type: workflows.EventStageEntered, Stage: 2, ToStage: 2, FromStage: 1, Move: workflows.MoveDeadlinePassed},
		}, []stageWant{
			{name: "Stage 1: Preventing disputes, Professionals", ended: "Moved on to the next step by Sam"},
			{name: "Stage 1: Preventing disputes, Line managers", ended: "Deadline passed: escalated automatically to stage 2"},
			{name: "Stage 2: Informal dispute procedure", ended: "Still open"},
		}},
		{"nottingham-nottinghamshire", []workflows.Event{
			{Type: workflows.EventOpened, Stage: 1},
			{Type: workflows.EventStageEntered, Stage: 1, ToStage: 1, Move: workflows.MoveOpened},
			{Type: workflows.EventEscalated, Stage: 1, By: "Sam", ByEmail: "sam@example.org", FromStage: 1, ToStage: 2, Move: workflows.MoveEscalated},
			{Type: workflows.EventStageEntered, Stage: 2, ToStage: 2, FromStage: 1, Move: workflows.MoveEscalated, Level: 1},
			{Type: workflows.EventEscalated, Stage: 2, By: "Kim", ByEmail: "kim@example.org", FromStage: 2, ToStage: 2, Move: workflows.MoveNextLevel, Text: "Escalated to stage 3."},
			{Type: workflows.EventStageEntered, Stage: 2, ToStage: 2, FromStage: 2, Move: workflows.MoveNextLevel, Level: 2, Text: "Stage 3."},
		}, []stageWant{
			{name: "Stage 1: ", ended: "Escalated to stage 2 by Sam"},
			{name: "Stage 2: ", ended: "Escalated to the next management level (level 2) by Kim"},
			{name: ", level 2", ended: "Still open"},
		}},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			pols, err := policies.Load("")
			if err != nil {
				t.Fatal(err)
			}
			pol, _ := pols.Get(tc.policy)
			clock, err := pol.Clock()
			if err != nil {
				t.Fatal(err)
			}
			cs := workflows.Case{Ref: "X-1", Policy: pol.ID, Status: workflows.StatusOpen}
			for i, e := range tc.events {
				e.Seq, e.At = i+1, opened.Add(time.Duration(i)*time.Hour)
				if e.By == "" {
					e.By = "escalate"
				}
				cs.History = append(cs.History, e)
			}
			last := cs.History[len(cs.History)-1]
			cs.Stage = workflows.StageState{Number: last.ToStage, StartedAt: last.At, DueAt: last.At.Add(48 * time.Hour)}
			rows := stages(cs, &pol, &clock)
			if len(rows) != len(tc.want) {
				t.Fatalf("%d rows, want %d: %+v", len(rows), len(tc.want), rows)
			}
			for i, w := range tc.want {
				if !strings.Contains(rows[i].Name, w.name) || !strings.HasPrefix(rows[i].How, w.ended) {
					t.Errorf("row %d: %q, %q; want %q, %q", i+1, rows[i].Name, rows[i].How, w.name, w.ended)
				}
			}
		})
	}
}

// A record upgraded from before events carried fields says which events'
// fields were worked out from their text.
func TestRecordPageNamesDerivedEvents(t *testing.T) {
	if got := seqList([]int{2, 4, 5, 6, 9}); got != "2, 4-6, 9" {
		t.Errorf("seqList = %q", got)
	}
	b := withdrawnCase(t)
	for _, tc := range []struct {
		derived []int
		want    bool
	}{{nil, false}, {[]int{2, 3, 4}, true}} {
		var buf bytes.Buffer
		if err := Render(&buf, New(b.c, &b.pol, store.Verification{Intact: true, Keyed: true, Events: 5, Derived: tc.derived}, time.Now())); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "Events 2-4 were recorded before events said in fields"); got != tc.want {
			t.Errorf("derived %v: the page names them: %v", tc.derived, got)
		}
	}
}
