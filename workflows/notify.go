package workflows

import (
	"fmt"
	"strings"
)

// Audience is a group of people told of an event.
type Audience uint16

const (
	// ToRaiser is the practitioner who raised the disagreement.
	ToRaiser Audience = 1 << iota
	// ToRespondent is the practitioner the disagreement is with.
	ToRespondent
	// ToStagePeople are the current stage's people on both sides: the
	// contacts recorded for this stage, or the raiser / respondent for a
	// side that has none.
	ToStagePeople
	// ToContacts are all contacts recorded on either side, at any stage.
	ToContacts
	// ToAdvisers are the parties who joined for the procedure, e.g. the
	// CAF/TAC Implementation Officer in a threshold dispute.
	ToAdvisers
	// ToOfficeAtPartnership is the policy's business office, when the
	// event happens at the partnership stage.
	ToOfficeAtPartnership
	// ToOfficeIfOverdue is the business office, when the event leaves the
	// stage overdue (on_timeout notify).
	ToOfficeIfOverdue
	// ToOfficeToFindContacts is the business office, at a stage where it
	// helps find a side's contact that the escalation contacts table does
	// not have (policies Stage.OfficeHelpsFindContacts).
	ToOfficeToFindContacts
	// ToOutcomeReport is the policy's outcome_report_to, to whom the
	// partnership stage's outcome is reported (four-stage: the Board Chair).
	ToOutcomeReport
	// ToLearning is the policy's learning_to, when the event records
	// learning (four-stage: the Learning Group; Northamptonshire: good
	// practice, via the Business Office).
	ToLearning
)

// ToEveryone is everyone involved in the case: the record is shared with
// them all, the raiser included.
const ToEveryone = ToRaiser | ToRespondent | ToStagePeople | ToContacts | ToAdvisers

// Told is who is told of each event type: the one table of the notification
// rules (README.md, "Notifications", documents it; a test checks they agree).
// The person who acted is never told of their own action. An event type
// missing here is told to everyone involved.
var Told = map[string]Audience{
	EventOpened:            ToEveryone,
	EventStageEntered:      ToEveryone | ToOfficeAtPartnership | ToOfficeToFindContacts,
	EventStepEntered:       ToEveryone | ToOfficeAtPartnership,
	EventEscalated:         ToEveryone | ToOfficeAtPartnership,
	EventReminder:          ToStagePeople | ToOfficeAtPartnership,
	EventDeadlinePassed:    ToEveryone | ToOfficeAtPartnership | ToOfficeIfOverdue,
	EventDeadlineChanged:   ToEveryone,
	EventDeadlineMoved:     ToEveryone,
	EventDeadlineProposed:  ToStagePeople,
	EventNote:              ToEveryone,
	EventContact:           ToEveryone,
	EventPartyJoined:       ToEveryone,
	EventMeeting:           ToEveryone | ToOfficeAtPartnership,
	EventSentBack:          ToEveryone,
	EventReviewConfirmed:   ToEveryone,
	EventAgreementProposed: ToEveryone,
	EventAgreementConfirm:  ToEveryone | ToOfficeAtPartnership | ToLearning,
	EventAgreementRejected: ToEveryone,
	EventWithdrawn:         ToEveryone | ToOfficeAtPartnership,
	EventOutcome:           ToEveryone | ToOfficeAtPartnership | ToOutcomeReport | ToLearning,
	EventCancelled:         ToEveryone | ToOfficeAtPartnership,
	EventReset:             ToEveryone,
}

// AudienceNames are the words the README uses for each audience, in order.
var AudienceNames = []struct {
	Audience Audience
	Name     string
}{
	{ToRaiser, "raiser"},
	{ToRespondent, "respondent"},
	{ToStagePeople, "stage's people"},
	{ToContacts, "all contacts"},
	{ToAdvisers, "advisers"},
	{ToOfficeAtPartnership, "business office at the partnership stage"},
	{ToOfficeIfOverdue, "business office when overdue"},
	{ToOfficeToFindContacts, "business office when it helps find a contact"},
	{ToOutcomeReport, "outcome report mailbox"},
	{ToLearning, "learning mailbox when learning is recorded"},
}

// Describe names an audience in the README's words.
func (a Audience) Describe() string {
	var parts []string
	if a&ToEveryone == ToEveryone {
		parts = append(parts, "everyone involved")
		a &^= ToEveryone
	}
	for _, n := range AudienceNames {
		if a&n.Audience != 0 {
			parts = append(parts, n.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// notices are the notifications of one change's events: who is told of
// each event follows the Told table, and each person is told once per
// change, on the first event that tells them, with the later ones in Also
// (a deadline passing, the escalation, the next stage and its contacts
// make one mail, not five).
func (s *caseState) notices(events []Event) []Notice {
	out := make([]Notice, len(events))
	first := map[string][2]int{} // email -> index of notice, of recipient
	for i, ev := range events {
		out[i] = Notice{Seq: ev.Seq}
		for _, r := range s.recipients(ev) {
			key := strings.ToLower(strings.TrimSpace(r.Email))
			if at, told := first[key]; told {
				lead := &out[at[0]].Recipients[at[1]]
				lead.Also = append(lead.Also, ev.Seq)
				continue
			}
			first[key] = [2]int{i, len(out[i].Recipients)}
			out[i].Recipients = append(out[i].Recipients, r)
		}
	}
	return out
}

// recipients are the people told of ev, by the Told table, except the
// person who acted.
func (s *caseState) recipients(ev Event) []Recipient {
	aud, ok := Told[ev.Type]
	if !ok {
		aud = ToEveryone
	}
	var out []Recipient
	seen := map[string]bool{strings.ToLower(strings.TrimSpace(ev.ByEmail)): true}
	add := func(p Party, why string) {
		key := strings.ToLower(strings.TrimSpace(p.Email))
		if key == "" || seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Recipient{Name: p.Name, Email: p.Email, Why: why, Agency: p.Agency})
	}
	sides := []struct {
		name  string
		party Party
		why   string
		aud   Audience
	}{
		{SideRaiser, s.c.Raiser, "raised the disagreement", ToRaiser},
		{SideRespondent, s.c.Respondent, "are the respondent", ToRespondent},
	}
	if aud&ToStagePeople != 0 {
		for _, side := range sides {
			found := false
			for _, c := range s.c.Contacts {
				if c.Side == side.name && c.Stage == s.c.Stage.Number {
					add(c.Party, fmt.Sprintf("act for the %s's side at stage %d", c.Side, c.Stage))
					found = true
				}
			}
			if found {
				continue
			}
			// At a stage above the practitioners, a side that has named
			// nobody is represented by its agency's escalation contact.
			if ec, ok := s.escalationContact(side.name); ok {
				add(ec, fmt.Sprintf("are the escalation contact of %s, and the %s's side has named nobody to act for it at stage %d: please make sure someone does",
					s.agencyName(ec.Agency), side.name, s.c.Stage.Number))
				continue
			}
			add(side.party, side.why)
		}
	}
	for _, side := range sides {
		if aud&side.aud != 0 {
			add(side.party, side.why)
		}
	}
	if aud&ToContacts != 0 {
		for _, c := range s.c.Contacts {
			why := fmt.Sprintf("act for the %s's side at stage %d", c.Side, c.Stage)
			switch {
			case c.Stage < s.c.Stage.Number:
				why = fmt.Sprintf("acted for the %s's side at stage %d (the case is now at stage %d)", c.Side, c.Stage, s.c.Stage.Number)
			case c.Stage > s.c.Stage.Number:
				why = fmt.Sprintf("will act for the %s's side at stage %d (the case is at stage %d)", c.Side, c.Stage, s.c.Stage.Number)
			}
			add(c.Party, why)
		}
	}
	if aud&ToAdvisers != 0 {
		for _, a := range s.c.Advisers {
			add(a.Party, "are the "+a.Why+" for this case")
		}
	}
	office := Party{Name: s.policy.BusinessOffice.Name, Email: s.policy.BusinessOffice.Email, Agency: s.policy.ID}
	partnership := s.policy.PartnershipStage()
	if aud&ToOfficeAtPartnership != 0 && partnership != 0 && ev.Stage == partnership {
		add(office, "are the partnership business office")
	}
	if aud&ToOfficeIfOverdue != 0 && s.c.Stage.Overdue {
		add(office, "are the partnership business office, and the stage is overdue")
	}
	if m := s.policy.OutcomeReportTo; aud&ToOutcomeReport != 0 && m != nil && m.Email != "" {
		add(Party{Name: m.Name, Email: m.Email, Agency: s.policy.ID}, "are the "+m.Name+", to whom the partnership's outcome of this case is reported")
	}
	if m := s.policy.LearningTo; aud&ToLearning != 0 && m != nil && m.Email != "" && strings.TrimSpace(s.c.Learning) != "" {
		add(Party{Name: m.Name, Email: m.Email, Agency: s.policy.ID}, "are the "+m.Name+", and learning was recorded on this case")
	}
	if aud&ToOfficeToFindContacts != 0 && ev.Stage == s.c.Stage.Number && s.officeHelpsFind() {
		add(office, fmt.Sprintf("are the partnership business office, asked to help find a contact the escalation contacts table does not have for stage %d", s.c.Stage.Number))
	}
	return out
}

// escalationContact is the escalation contact of a side's agency, where the
// current stage (step) is one above the practitioners and the side has
// named nobody for it.
func (s *caseState) escalationContact(side string) (Party, bool) {
	if !s.policy.UsesEscalationContacts(s.c.Stage.Number, s.c.Stage.Step) || s.hasContactAt(side, s.c.Stage.Number) {
		return Party{}, false
	}
	agency := s.agencyOf(side)
	ec, ok := s.policy.EscalationContact(agency)
	if !ok {
		return Party{}, false
	}
	return Party{Name: ec.Name, Email: ec.Email, Agency: agency, Role: "escalation contact"}, true
}

// agencyName is an agency's name in the policy's directory, or its id.
func (s *caseState) agencyName(id string) string {
	if a, ok := s.policy.Agency(id); ok && a.Name != "" {
		return a.Name
	}
	return id
}
