// Package recordpage is the written record of a case as a page a manager
// can print or attach to the child's file: the JSON API serves it at
// /v1/cases/{ref}/record.html and the people's pages at /cases/{ref}/record,
// from this one builder and template.
package recordpage

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

//go:embed record.html.tmpl
var recordHTML string

var recordTemplate = template.Must(template.New("record").Funcs(template.FuncMap{
	// when is a time as a person reads it, in the policy's local time.
	"when": func(t time.Time, loc *time.Location) string {
		if t.IsZero() {
			return "not recorded"
		}
		return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
	},
}).Parse(recordHTML))

// systemName is the name the workflow records its own events under.
const systemName = "escalate"

type Page struct {
	Case         workflows.Case
	Policy       string
	Category     string
	Status       string
	SafetyNotice string
	// Office is whom to tell when the record fails verification.
	Office  string
	Loc     *time.Location
	People  []personRow
	Stages  []stageRow
	Entries []entryRow
	// Closing says how the case ended, when it has.
	Closing      string
	Verification store.Verification
	Printed      time.Time
	// PolicyHash is the SHA-256 of the policy snapshot the case runs
	// under, when the record kept it.
	PolicyHash string
	// Derived names the events whose structured fields were derived when
	// the record was upgraded (Verification.Derived), e.g. "2, 4-9", or "".
	Derived string
}

// personRow is one person of the case, with their agency's name.
type personRow struct {
	Part   string
	Name   string
	Role   string
	Agency string
	Email  string
}

// stageRow is one stage (step, level) the case went through: when it
// started, when it was due, and how it ended.
type stageRow struct {
	Number  int
	Name    string
	Who     string
	Started time.Time
	Due     time.Time
	Within  string
	Agreed  bool
	Ended   time.Time
	How     string
	Current bool
	Overdue bool
	// level and step of a repeating or stepped stage.
	level, step int
}

// entryRow is one event of the record as a person reads it.
type entryRow struct {
	Seq    int
	At     time.Time
	Stage  int
	Who    string
	Email  string
	What   string
	Text   string
	Broken bool
	// Unchecked: after the first broken link, verification stopped.
	Unchecked bool
}

// eventWords are the event types in plain words.
var eventWords = map[string]string{
	workflows.EventOpened:            "Disagreement raised",
	workflows.EventStageEntered:      "Stage started",
	workflows.EventNote:              "Note",
	workflows.EventContact:           "Person added",
	workflows.EventEscalated:         "Escalated",
	workflows.EventDeadlineChanged:   "Deadline agreed",
	workflows.EventDeadlineProposed:  "Deadline proposed",
	workflows.EventDeadlineMoved:     "Deadline moved (partnership closure)",
	workflows.EventDeadlinePassed:    "Deadline passed",
	workflows.EventAgreementProposed: "Outcome proposed",
	workflows.EventAgreementConfirm:  "Outcome agreed",
	workflows.EventAgreementRejected: "Proposed outcome rejected",
	workflows.EventWithdrawn:         "Withdrawn",
	workflows.EventOutcome:           "Partnership outcome",
	workflows.EventReminder:          "Reminder sent",
	workflows.EventStepEntered:       "Next step started",
	workflows.EventPartyJoined:       "Adviser joined",
	workflows.EventSentBack:          "Sent back to an earlier stage",
	workflows.EventReviewConfirmed:   "Earlier stages confirmed",
	workflows.EventMeeting:           "Meeting recorded",
	workflows.EventCancelled:         "Cancelled by an operator",
	workflows.EventReset:             "Reset by an operator",
}

// eventWord names an event type in plain words.
func eventWord(typ string) string {
	if w, ok := eventWords[typ]; ok {
		return w
	}
	w := strings.ReplaceAll(typ, "_", " ")
	if w == "" {
		return "Event"
	}
	return strings.ToUpper(w[:1]) + w[1:]
}

// statusWords are the case statuses in plain words.
var statusWords = map[string]string{
	workflows.StatusOpen:              "Open",
	workflows.StatusAgreementProposed: "Open: an outcome is proposed and awaits the other side's confirmation",
	workflows.StatusResolved:          "Resolved",
	workflows.StatusWithdrawn:         "Withdrawn by the raiser's side",
	workflows.StatusUnresolved:        "Closed unresolved",
	workflows.StatusCancelled:         "Cancelled by an operator in Temporal",
}

// New builds the written record of a case under its policy (nil
// if the policy is no longer loaded) with the verification of its chain.
func New(cs workflows.Case, pol *policies.Policy, v store.Verification, printed time.Time) Page {
	page := Page{
		Case: cs, Policy: cs.Policy, Category: cs.Category, Status: statusWords[cs.Status],
		SafetyNotice: cs.SafetyNotice, Office: "the partnership's Business Office",
		Loc: time.UTC, Verification: v, Printed: printed,
	}
	if page.Status == "" {
		page.Status = eventWord(cs.Status)
	}
	if cs.CategoryDetail != "" {
		page.Category = cs.Category + ": " + cs.CategoryDetail
	}
	var clock *policies.Clock
	if pol != nil {
		page.Policy = pol.Name
		if cat, ok := pol.Category(cs.Category); ok {
			page.Category = cat.Shown(cs.CategoryDetail)
		}
		if c, err := pol.Clock(); err == nil {
			page.Loc = c.Location
			clock = &c
		}
		if page.SafetyNotice == "" {
			page.SafetyNotice = pol.SafetyNotice
		}
		if o := pol.BusinessOffice; o.Name != "" {
			page.Office = "the " + o.Name
			if o.Email != "" {
				page.Office += " (" + o.Email + ")"
			}
		}
	}
	page.Derived = seqList(v.Derived)
	page.People = people(cs, pol)
	page.Stages = stages(cs, pol, clock)
	for _, e := range cs.History {
		row := entryRow{Seq: e.Seq, At: e.At, Stage: e.Stage, Who: e.By, Email: e.ByEmail, What: eventWord(e.Type), Text: e.Text,
			Broken: !v.Intact && v.FirstBroken == e.Seq, Unchecked: !v.Intact && v.FirstBroken > 0 && e.Seq > v.FirstBroken}
		if e.By == systemName && e.ByEmail == "" {
			row.Who = "Recorded automatically"
		}
		page.Entries = append(page.Entries, row)
		if (e.Type == workflows.EventWithdrawn && cs.Status == workflows.StatusWithdrawn) ||
			(e.Type == workflows.EventCancelled && cs.Status == workflows.StatusCancelled) {
			page.Closing = e.Text
		}
	}
	if n := len(page.Stages); cs.Closed() && page.Closing == "" && n > 0 {
		last := page.Stages[n-1]
		page.Closing = fmt.Sprintf("At stage %d. %s.", last.Number, last.How)
	}
	return page
}

// people lists the parties, the contacts acting for each side and the
// advisers, with their agencies' names.
func people(cs workflows.Case, pol *policies.Policy) []personRow {
	agency := func(id string) string {
		if pol != nil {
			for _, a := range pol.Agencies {
				if a.ID == id {
					return a.Name
				}
			}
			if id == pol.ID {
				return pol.Name
			}
		}
		return id
	}
	out := []personRow{
		{Part: "Raised the disagreement", Name: cs.Raiser.Name, Role: cs.Raiser.Role, Agency: agency(cs.Raiser.Agency), Email: cs.Raiser.Email},
		{Part: "Disagreement with", Name: cs.Respondent.Name, Role: cs.Respondent.Role, Agency: agency(cs.Respondent.Agency), Email: cs.Respondent.Email},
	}
	for _, c := range cs.Contacts {
		side := "raising side"
		if c.Side == workflows.SideRespondent {
			side = "responding side"
		}
		out = append(out, personRow{Part: fmt.Sprintf("For the %s from stage %d", side, c.Stage), Name: c.Name, Role: c.Role, Agency: agency(c.Agency), Email: c.Email})
	}
	for _, a := range cs.Advisers {
		out = append(out, personRow{Part: fmt.Sprintf("Adviser from stage %d", a.Stage), Name: a.Name, Role: a.Why, Agency: agency(a.Agency), Email: a.Email})
	}
	return out
}

// stages walks the record and returns each stage, step or level the case
// entered, with its start, its deadline (as recorded, and as later agreed
// or moved) and how it ended. It reads the events' structured fields
// (workflows/events.go), never their text.
func stages(cs workflows.Case, pol *policies.Policy, clock *policies.Clock) []stageRow {
	var rows []stageRow
	cur := -1 // the open row
	var cause *workflows.Event
	end := func(at time.Time, how string) {
		if cur < 0 {
			return
		}
		rows[cur].Ended, rows[cur].How = at, how
		cur, cause = -1, nil
	}
	by := func(e workflows.Event) string {
		if e.By == systemName && e.ByEmail == "" {
			return "automatically"
		}
		return "by " + e.By
	}
	for _, e := range cs.History {
		switch {
		case e.EntersStage():
			row := enteredRow(e, cs, pol, clock)
			if cur >= 0 {
				mover := e
				if cause != nil {
					mover = *cause
				}
				end(mover.At, howMoved(e, row, by(mover)))
			}
			rows = append(rows, row)
			cur = len(rows) - 1
			cause = nil
		case e.Type == workflows.EventDeadlinePassed:
			if cur >= 0 {
				rows[cur].Overdue = true
			}
		case e.Type == workflows.EventEscalated, e.Type == workflows.EventSentBack:
			ev := e
			cause = &ev
		case e.Type == workflows.EventDeadlineChanged, e.Type == workflows.EventDeadlineMoved:
			if cur >= 0 && e.DueAt != nil {
				rows[cur].Due, rows[cur].Overdue = *e.DueAt, false
				rows[cur].Agreed = rows[cur].Agreed || e.Type == workflows.EventDeadlineChanged
			}
		case e.Closes():
			end(e.At, howClosed(e, cs, by(e)))
		}
	}
	if len(rows) > 0 {
		// The case's own state has the last stage's deadline as it stands.
		if r := &rows[len(rows)-1]; cs.Stage.Number == r.Number && !cs.Stage.DueAt.IsZero() {
			r.Due, r.Agreed = cs.Stage.DueAt, cs.Stage.Agreed
		}
	}
	if cur >= 0 {
		r := &rows[cur]
		switch {
		case cs.Closed():
			at := time.Time{}
			if cs.ClosedAt != nil {
				at = *cs.ClosedAt
			}
			r.Ended, r.How = at, "Case closed: "+strings.ToLower(statusWords[cs.Status])
		default:
			r.Current = true
			r.Overdue = r.Overdue || cs.Stage.Overdue
			r.How = "Still open: the current stage"
			if r.Overdue {
				r.How = "Still open and overdue: the deadline has passed"
			}
		}
	}
	for i := range rows {
		if rows[i].Agreed {
			rows[i].Within = "agreed deadline"
		}
	}
	return rows
}

// enteredRow is the row of the stage (step, level) an event entered, named
// from the policy the case ran under.
func enteredRow(e workflows.Event, cs workflows.Case, pol *policies.Policy, clock *policies.Clock) stageRow {
	n := e.ToStage
	if n == 0 {
		n = e.Stage
	}
	row := stageRow{Number: n, Started: e.At, step: e.Step, level: e.Level, Agreed: e.Agreed}
	var st policies.Stage
	var known bool
	if pol != nil {
		st, known = pol.Stage(n)
	}
	row.Name = fmt.Sprintf("Stage %d", n)
	if known {
		row.Name += ": " + st.Name
		row.Who = st.Who
		if row.step >= 1 && row.step <= len(st.Steps) {
			row.Name += ", " + st.Steps[row.step-1].Name
			row.Who = st.Steps[row.step-1].Who
		}
		row.Within = st.StepTimescale(row.step, cs.Urgent).String()
	}
	if row.level > 1 {
		row.Name += fmt.Sprintf(", level %d", row.level)
	}
	switch {
	case e.DueAt != nil:
		row.Due = *e.DueAt
	case known && clock != nil && !e.Agreed && st.Timescale.Unit != policies.UnitAgreed:
		// An event recorded before events kept their deadline: the
		// policy's timescale from the stage's start gives it.
		if due, err := st.StepTimescale(row.step, cs.Urgent).DueAt(e.At, *clock); err == nil {
			row.Due = due
		}
	}
	return row
}

// howMoved says how the previous stage ended, by the move that entered
// row: e's kind of move, made by who.
func howMoved(e workflows.Event, row stageRow, who string) string {
	switch e.Move {
	case workflows.MoveSentBack:
		return fmt.Sprintf("Sent back to stage %d %s", row.Number, who)
	case workflows.MoveDeadlineNextStep:
		return "Deadline passed: moved on to the next step automatically"
	case workflows.MoveDeadlineMediation:
		return fmt.Sprintf("Deadline passed: referred to the partnership for mediation (stage %d)", row.Number)
	case workflows.MoveDeadlinePassed:
		return fmt.Sprintf("Deadline passed: escalated automatically to stage %d", row.Number)
	case workflows.MoveNextStep:
		return "Moved on to the next step " + who
	case workflows.MoveNextLevel:
		return fmt.Sprintf("Escalated to the next management level (level %d) %s", row.level, who)
	case workflows.MoveEscalated:
		return fmt.Sprintf("Escalated to stage %d %s", row.Number, who)
	case workflows.MoveReset:
		return fmt.Sprintf("The case's workflow was reset in Temporal by an operator: it goes on from stage %d", row.Number)
	}
	return fmt.Sprintf("Moved to stage %d %s", row.Number, who)
}

// howClosed says how the case closed at e, the event that closed it.
func howClosed(e workflows.Event, cs workflows.Case, who string) string {
	switch e.Type {
	case workflows.EventAgreementConfirm:
		return "Agreed: outcome confirmed " + who
	case workflows.EventWithdrawn:
		return "Withdrawn " + who + " (raising side)"
	case workflows.EventCancelled:
		return "Cancelled in Temporal by an operator"
	case workflows.EventOutcome:
		resolved := cs.Status == workflows.StatusResolved
		if e.Resolved != nil {
			resolved = *e.Resolved
		}
		verb := "not resolved"
		if resolved {
			verb = "resolved"
		}
		what := "Partnership outcome recorded "
		if cs.Recommendations != "" {
			// The partnership never decides here (Devon): it recommends.
			what = "Partnership recommendations recorded "
		}
		return what + who + ": " + verb
	}
	return "Case closed: " + strings.ToLower(StatusWord(e.ClosedStatus))
}

// seqList writes sequence numbers (in order) as runs: "2, 4-9, 11".
func seqList(seqs []int) string {
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		} else {
			parts = append(parts, fmt.Sprint(seqs[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// Render writes the written record page.
func Render(w io.Writer, page Page) error {
	return recordTemplate.Execute(w, page)
}

// EventWord names an event type in plain words, as the record does.
func EventWord(typ string) string { return eventWord(typ) }

// StatusWord names a case status in plain words, as the record does.
func StatusWord(status string) string {
	if w, ok := statusWords[status]; ok {
		return w
	}
	return eventWord(status)
}

// SystemName is the name the workflow records its own events under.
const SystemName = systemName

// Person is one person of the case as the record lists them.
type Person = personRow

// Entry is one event of the record as a person reads it.
type Entry = entryRow
