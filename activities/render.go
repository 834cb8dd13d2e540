package activities

import (
	"fmt"
	"strings"
	"time"

	"escalate/workflows"
)

// what each event asks of the people told of it.
var asks = map[string]string{
	workflows.EventOpened:            "Please acknowledge the disagreement and agree a plan of action with the other side within the stage's timescale.",
	workflows.EventStageEntered:      "If you act at this stage, please discuss the disagreement with your opposite number and record the outcome before the deadline.",
	workflows.EventNote:              "Please read the note on the case record.",
	workflows.EventContact:           "Please note who now acts for each side.",
	workflows.EventEscalated:         "Please read the reason and evidence on the case record.",
	workflows.EventDeadlineChanged:   "Please note the agreed deadline.",
	workflows.EventDeadlinePassed:    "The stage's timescale has passed without a written outcome. Please act now.",
	workflows.EventAgreementProposed: "If you act for the other side, please read the proposed outcome and confirm or reject it.",
	workflows.EventAgreementConfirm:  "The agreed outcome and its actions are on the case record. Please carry out the actions that are yours.",
	workflows.EventAgreementRejected: "The case stays open at this stage. Please continue the discussion.",
	workflows.EventWithdrawn:         "No further action is needed on this disagreement.",
	workflows.EventOutcome:           "Please read the partnership's outcome and any learning on the case record.",
}

var titles = map[string]string{
	workflows.EventOpened:            "Professional disagreement raised",
	workflows.EventStageEntered:      "Stage started",
	workflows.EventNote:              "Note recorded",
	workflows.EventContact:           "Contact recorded",
	workflows.EventEscalated:         "Escalated",
	workflows.EventDeadlineChanged:   "Deadline agreed",
	workflows.EventDeadlinePassed:    "Deadline passed",
	workflows.EventAgreementProposed: "Agreed outcome proposed",
	workflows.EventAgreementConfirm:  "Resolved: agreement confirmed",
	workflows.EventAgreementRejected: "Proposed agreement rejected",
	workflows.EventWithdrawn:         "Withdrawn",
	workflows.EventOutcome:           "Partnership outcome recorded",
}

// Render writes a notification's subject and plain-text body. Free text that
// people typed (notes, reasons, outcomes) stays on the case record: mail
// carries the reference, the stage, the deadline and a link, not the detail
// about the child.
func Render(ev workflows.Event, r workflows.Recipient, c workflows.Case, loc *time.Location, publicURL string) (string, string) {
	title := titles[ev.Type]
	if title == "" {
		title = ev.Type
	}
	subject := fmt.Sprintf("[%s] %s: stage %d", c.Ref, title, c.Stage.Number)
	if c.Urgent {
		subject = "URGENT " + subject
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Dear %s,\n\n", r.Name)
	fmt.Fprintf(&b, "%s on case %s (child reference %s).\n\n", title, c.Ref, c.ChildRef)
	if c.Urgent {
		fmt.Fprintf(&b, "This disagreement is marked URGENT: please act today.\n\n")
	}
	if ev.ByEmail == "" {
		// Written by escalate itself: no personal detail beyond the parties.
		fmt.Fprintf(&b, "%s\n\n", ev.Text)
	} else {
		fmt.Fprintf(&b, "Recorded by %s at %s.\n\n", ev.By, ev.At.In(loc).Format("15:04 Mon 2 Jan 2006 MST"))
	}
	fmt.Fprintf(&b, "Status: %s\n", strings.ReplaceAll(c.Status, "_", " "))
	fmt.Fprintf(&b, "Current stage: %d, %s\n", c.Stage.Number, c.Stage.Name)
	if !c.Closed() {
		fmt.Fprintf(&b, "Stage deadline: %s\n", c.Stage.DueAt.In(loc).Format("15:04 Mon 2 Jan 2006 MST"))
	}
	fmt.Fprintf(&b, "\nWhat is asked of you: %s\n", asks[ev.Type])
	if publicURL != "" {
		fmt.Fprintf(&b, "Case record: %s/v1/cases/%s\n", strings.TrimRight(publicURL, "/"), c.Ref)
	}
	fmt.Fprintf(&b, "\nYou are told because you: %s.\n\n", r.Why)
	fmt.Fprintf(&b, "%s\n", c.SafetyNotice)
	return subject, b.String()
}
