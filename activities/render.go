package activities

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// notice is how a notification speaks of one event type: a title, and what
// it asks of the person told.
type notice struct {
	title string
	ask   string
}

// notices has every event type (a test checks). Wording follows the
// procedures: escalation is professional challenge, never a complaint.
var notices = map[string]notice{
	workflows.EventOpened: {"Professional disagreement raised",
		"Please acknowledge the disagreement and agree a plan of action with the other side within the stage's timescale."},
	workflows.EventStageEntered: {"Stage started",
		"If you act at this stage, please discuss the disagreement with your opposite number and record the outcome before the deadline."},
	workflows.EventStepEntered: {"Next step of the stage started",
		"If you act at this step, please contact your opposite number and record the outcome before the deadline."},
	workflows.EventEscalated: {"Escalated",
		"Please read the reason and evidence on the case record."},
	workflows.EventReminder: {"Reminder: stage deadline approaching",
		"Please resolve the disagreement at this stage, or record why it cannot be, before the deadline."},
	workflows.EventDeadlinePassed: {"Deadline passed",
		"The stage's timescale has passed without a written outcome. Please act now."},
	workflows.EventDeadlineChanged: {"Deadline agreed",
		"Please note the agreed deadline."},
	workflows.EventDeadlineMoved: {"Deadline moved later",
		"A partnership closure means a day of this stage is not a working day: the stage's deadline is now later. Please note the new deadline."},
	workflows.EventDeadlineProposed: {"Deadline proposed",
		"The other side proposes a deadline for this stage. It takes effect only when your side confirms it on the case record; you may propose another instead."},
	workflows.EventNote: {"Note recorded",
		"Please read the note on the case record."},
	workflows.EventContact: {"Contact recorded",
		"Please note who now acts for each side."},
	workflows.EventPartyJoined: {"A party joined the case",
		"Please note who has joined the case and why."},
	workflows.EventMeeting: {"Meeting recorded",
		"Please note the meeting on the case record and attend if it involves you."},
	workflows.EventSentBack: {"Sent back to an earlier stage",
		"The partnership found an earlier stage was not followed. Please take the next steps on the case record."},
	workflows.EventReviewConfirmed: {"Earlier stages confirmed",
		"The partnership confirmed the earlier stages were followed; the case awaits the partnership's meeting."},
	workflows.EventAgreementProposed: {"Agreed outcome proposed",
		"If you act for the other side, please read the proposed outcome and confirm or reject it."},
	workflows.EventAgreementConfirm: {"Resolved: agreement confirmed",
		"The agreed outcome and its actions are on the case record. Please carry out the actions that are yours."},
	workflows.EventAgreementRejected: {"Proposed agreement rejected",
		"The case stays open at this stage. Please continue the discussion."},
	workflows.EventWithdrawn: {"Withdrawn",
		"No further action is needed on this disagreement."},
	workflows.EventOutcome: {"Partnership outcome recorded",
		"Please read the partnership's outcome and any learning on the case record."},
	workflows.EventCancelled: {"Closed by an operator",
		"The case was cancelled by an operator of the service and is closed. Please read why on the case record; raise it again if the disagreement is not resolved."},
	workflows.EventReset: {"Case restored to an earlier point",
		"An operator restored the case to an earlier point after a fault. Please check the case record: it says where the case now stands."},
}

// renderer renders the notifications of one recorded step.
type renderer struct {
	c         workflows.Case
	loc       *time.Location
	publicURL string
	// batch are the events recorded together, which a notification that
	// tells of several (Recipient.Also) speaks for.
	batch []workflows.Event
}

// also are the events of the batch a notification tells of besides its own.
func (r renderer) also(seqs []int) []workflows.Event {
	var out []workflows.Event
	for _, seq := range seqs {
		for _, e := range r.batch {
			if e.Seq == seq {
				out = append(out, e)
			}
		}
	}
	return out
}

var _ store.Renderer = renderer{}

// mailView is what both the plain-text and HTML mail show.
type mailView struct {
	Name, Title, Ref, ChildRef, Urgent, RecordedBy, Status, Stage, Due, Ask, Link, Why, SafetyNotice string
	// What are the texts escalate wrote for the events the mail tells of,
	// one paragraph each; what people typed is never among them.
	What []string
	// Overdue: the current stage's deadline has passed and it stays open.
	Overdue bool
}

func noticeOf(typ string) notice {
	if n, ok := notices[typ]; ok {
		return n
	}
	return notice{title: typ, ask: "Please read the case record."}
}

func (r renderer) view(ev workflows.Event, to workflows.Recipient) (mailView, string) {
	n := noticeOf(ev.Type)
	c := r.c
	v := mailView{
		Name: to.Name, Title: n.title, Ref: c.Ref, ChildRef: c.ChildRef, Ask: n.ask, Why: to.Why,
		Status:       strings.ReplaceAll(c.Status, "_", " "),
		Stage:        fmt.Sprintf("%d, %s", c.Stage.Number, c.Stage.Name),
		SafetyNotice: c.SafetyNotice,
	}
	if c.Stage.StepName != "" {
		v.Stage += ", " + c.Stage.StepName
	} else if c.Stage.Level > 1 {
		v.Stage += fmt.Sprintf(", level %d", c.Stage.Level)
	}
	if c.Urgent {
		v.Urgent = "This disagreement is marked URGENT: please act today."
	}
	also := r.also(to.Also)
	for _, e := range append([]workflows.Event{ev}, also...) {
		switch {
		case e.Type == workflows.EventCancelled:
			// The operator's reason is typed text: it stays on the record.
			v.What = append(v.What, "The case was cancelled by an operator of the service.")
		case e.ByEmail == "" && e.Text != "":
			// Written by escalate itself: no personal detail beyond the parties.
			v.What = append(v.What, e.Text)
		}
	}
	if ev.ByEmail != "" {
		v.RecordedBy = fmt.Sprintf("Recorded by %s at %s.", ev.By, ev.At.In(r.loc).Format("15:04 Mon 2 Jan 2006 MST"))
	}
	if !c.Closed() {
		v.Due = c.Stage.DueAt.In(r.loc).Format("15:04 Mon 2 Jan 2006 MST")
		if c.Stage.Overdue {
			v.Overdue = true
			v.Due += " (OVERDUE: it passed without a written outcome)"
		}
	}
	if r.publicURL != "" {
		// The case page: a person not signed in goes through sign-in and
		// back to it.
		v.Link = fmt.Sprintf("%s/cases/%s", strings.TrimRight(r.publicURL, "/"), c.Ref)
	}
	// A notification that tells of the case moving on (a deadline passing
	// and the next stage, an escalation and its stage, a send-back) says
	// where it went, and asks what the new stage asks.
	moved := ""
	entersStage := false
	for _, e := range append([]workflows.Event{ev}, also...) {
		entersStage = entersStage || e.Type == workflows.EventStageEntered || e.Type == workflows.EventStepEntered
	}
	if ev.Type != workflows.EventOpened {
		for _, e := range append([]workflows.Event{ev}, also...) {
			if e.Type == workflows.EventStageEntered || e.Type == workflows.EventStepEntered {
				if e.Seq != ev.Seq {
					moved = "stage " + v.Stage
				}
				v.Ask = noticeOf(e.Type).ask
				if from := c.Stage.RecordMissingFrom; from != 0 && e.Type == workflows.EventStageEntered {
					// The previous stage ran out with nothing on the record.
					v.Ask = fmt.Sprintf("If you act at stage %d: before anything else, please record on the case record what happened at stage %d: "+
						"nothing was recorded there before its deadline passed. Then discuss the disagreement with your opposite number and record the outcome before the deadline.",
						c.Stage.Number, from)
				}
			}
		}
	}
	if entersStage && !c.Closed() {
		// A side that has named nobody for a stage above the practitioners
		// is asked to, with the link to the case.
		for _, side := range c.Stage.AwaitingContact {
			v.Ask += fmt.Sprintf(" Nobody is named yet to act for the %s's side at stage %d: if that is your side, please name the person who acts for it (on the case page: add a contact).",
				side, c.Stage.Number)
		}
	}
	// The subject names the stage the event happened at; an escalation
	// names where the case went.
	stage := ev.Stage
	if stage == 0 {
		stage = c.Stage.Number
	}
	subject := fmt.Sprintf("[%s] %s: stage %d", c.Ref, n.title, stage)
	switch {
	case ev.Type == workflows.EventEscalated && stage != c.Stage.Number:
		subject = fmt.Sprintf("[%s] Escalated from stage %d to stage %d", c.Ref, stage, c.Stage.Number)
	case ev.Type == workflows.EventEscalated:
		subject = fmt.Sprintf("[%s] Escalated at stage %d", c.Ref, stage)
		if moved != "" {
			subject += ": now " + moved
		}
	case moved != "":
		subject = fmt.Sprintf("[%s] %s at stage %d: moved to %s", c.Ref, n.title, stage, moved)
	}
	if moved != "" {
		v.Title = fmt.Sprintf("%s: the case moved to %s", n.title, moved)
	}
	if c.Urgent {
		subject = "URGENT " + subject
	}
	return v, subject
}

// Mail writes a notification's subject, plain text and HTML. Free text that
// people typed (notes, reasons, outcomes) stays on the case record: mail
// carries the reference, the stage, the deadline and a link, not the detail
// about the child.
func (r renderer) Mail(ev workflows.Event, to workflows.Recipient) store.Mail {
	v, subject := r.view(ev, to)
	var b strings.Builder
	fmt.Fprintf(&b, "Dear %s,\n\n", v.Name)
	fmt.Fprintf(&b, "%s on case %s (child reference %s).\n\n", v.Title, v.Ref, v.ChildRef)
	if v.Urgent != "" {
		fmt.Fprintf(&b, "%s\n\n", v.Urgent)
	}
	for _, w := range v.What {
		fmt.Fprintf(&b, "%s\n\n", w)
	}
	if v.RecordedBy != "" {
		fmt.Fprintf(&b, "%s\n\n", v.RecordedBy)
	}
	fmt.Fprintf(&b, "Status: %s\n", v.Status)
	fmt.Fprintf(&b, "Current stage: %s\n", v.Stage)
	if v.Due != "" {
		fmt.Fprintf(&b, "Stage deadline: %s\n", v.Due)
	}
	fmt.Fprintf(&b, "\nWhat is asked of you: %s\n", v.Ask)
	if v.Link != "" {
		fmt.Fprintf(&b, "Case record: %s\n", v.Link)
	}
	fmt.Fprintf(&b, "\nYou are told because you: %s.\n\n", v.Why)
	fmt.Fprintf(&b, "%s\n", v.SafetyNotice)

	var h bytes.Buffer
	if err := mailHTML.Execute(&h, v); err != nil {
		// The template is fixed and its data plain strings: this cannot
		// happen, and the plain text still goes.
		h.Reset()
	}
	return store.Mail{Subject: subject, Text: b.String(), HTML: h.String()}
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}: {{.Ref}}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #111; line-height: 1.4; max-width: 40em">
<p style="border: 2px solid #b00020; background: #fff4f4; padding: 0.6em 0.8em; font-weight: bold">{{.SafetyNotice}}</p>
<p>Dear {{.Name}},</p>
<p><strong>{{.Title}}</strong> on case <strong>{{.Ref}}</strong> (child reference {{.ChildRef}}).</p>
{{if .Urgent}}<p style="color: #b00020; font-weight: bold">{{.Urgent}}</p>{{end}}
{{range .What}}<p>{{.}}</p>{{end}}
{{if .RecordedBy}}<p>{{.RecordedBy}}</p>{{end}}
<table style="border-collapse: collapse">
<tr><th style="text-align: left; padding: 0.2em 1em 0.2em 0">Status</th><td>{{.Status}}</td></tr>
<tr><th style="text-align: left; padding: 0.2em 1em 0.2em 0">Current stage</th><td>{{.Stage}}</td></tr>
{{if .Due}}<tr><th style="text-align: left; padding: 0.2em 1em 0.2em 0">Stage deadline</th><td{{if .Overdue}} style="color: #b00020; font-weight: bold"{{end}}>{{.Due}}</td></tr>{{end}}
</table>
<p><strong>What is asked of you:</strong> {{.Ask}}</p>
{{if .Link}}<p><a href="{{.Link}}">Open the case record</a></p>{{end}}
<p style="color: #555; font-size: 0.9em">You are told because you: {{.Why}}.</p>
</body></html>
`))

// WebhookEvent is the JSON posted to an agency's webhook for one event. It
// carries what an agency's system needs to find and fetch the case, not
// what people wrote about the child: that stays behind the API.
type WebhookEvent struct {
	ID       string           `json:"id"` // stable: the same for every attempt
	Agency   string           `json:"agency"`
	Ref      string           `json:"ref"`
	Seq      int              `json:"seq"`
	Type     string           `json:"type"`
	Title    string           `json:"title"`
	At       time.Time        `json:"at"`
	EvStage  int              `json:"event_stage"`
	Policy   string           `json:"policy"`
	ChildRef string           `json:"child_ref"`
	Category string           `json:"category"`
	Urgent   bool             `json:"urgent"`
	Status   string           `json:"status"`
	Stage    WebhookCaseStage `json:"stage"`
	URL      string           `json:"url,omitempty"`
}

// WebhookCaseStage is where the case stands after the event.
type WebhookCaseStage struct {
	Number  int        `json:"number"`
	Name    string     `json:"name"`
	DueAt   *time.Time `json:"due_at"`
	Overdue bool       `json:"overdue"`
}

// Webhook writes the JSON posted to an agency for an event.
func (r renderer) Webhook(ev workflows.Event, agency string) ([]byte, error) {
	c := r.c
	w := WebhookEvent{
		ID: DeliveryID(c.Ref, ev.Seq, agency), Agency: agency, Ref: c.Ref, Seq: ev.Seq, Type: ev.Type,
		Title: notices[ev.Type].title, At: ev.At.UTC(), EvStage: ev.Stage, Policy: c.Policy, ChildRef: c.ChildRef,
		Category: c.Category, Urgent: c.Urgent, Status: c.Status,
		Stage: WebhookCaseStage{Number: c.Stage.Number, Name: c.Stage.Name, Overdue: c.Stage.Overdue},
	}
	if !c.Closed() {
		due := c.Stage.DueAt.UTC()
		w.Stage.DueAt = &due
	}
	if r.publicURL != "" {
		w.URL = fmt.Sprintf("%s/v1/cases/%s", strings.TrimRight(r.publicURL, "/"), c.Ref)
	}
	return json.Marshal(w)
}
