package activities

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"escalate/internal/smtptest"
	"escalate/workflows"
)

func TestSMTPMailerSends(t *testing.T) {
	sink := smtptest.Start(t)
	m, err := NewSMTPMailer("smtp://"+sink.Addr(), "escalate@localhost")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = m.Send(ctx, Mail{To: "sam@nct.example", ToName: "Sam Social", Subject: "[NSCP-2026-00001] Stage started: stage 2",
		Body: "Dear Sam,\nbody", HTML: "<p>Dear Sam,</p>", MessageID: "nscp-2026-00001.5.9@escalate"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "sam@nct.example" {
		t.Fatalf("sink got %+v", msgs)
	}
	msg := msgs[0].Data
	for _, want := range []string{"Subject: [NSCP-2026-00001] Stage started: stage 2", "Message-ID: <nscp-2026-00001.5.9@escalate>", "Dear Sam,",
		"multipart/alternative", "Content-Type: text/plain", "Content-Type: text/html", "<p>Dear Sam,</p>"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

func TestNewSMTPMailerRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "mail.example:25", "http://x:25", "smtp://:25", "smtp://host:port"} {
		if _, err := NewSMTPMailer(u, "a@b"); err == nil {
			t.Errorf("accepted %q", u)
		}
	}
	m, err := NewSMTPMailer("smtp://user:pw@mail.example:587", "a@b")
	if err != nil || m.Host != "mail.example" || m.Port != 587 || m.Username != "user" || m.Password != "pw" {
		t.Fatalf("%+v %v", m, err)
	}
}

// Mail says what happened, where the case stands and the safety notice, and
// keeps what people typed on the record instead of in the mail.
func TestRenderKeepsTypedTextOffMail(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	c := workflows.Case{Ref: "NSCP-2026-00001", ChildRef: "NCT/1", Status: workflows.StatusOpen, Urgent: true,
		Stage:        workflows.StageState{Number: 2, Name: "Manager to manager", DueAt: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)},
		SafetyNotice: "call the police on 999"}
	note := workflows.Event{Seq: 5, Type: workflows.EventNote, Stage: 2, By: "Hana", ByEmail: "hana@x", Text: "Mother's name is Jane Doe", At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	r := renderer{c: c, loc: loc, publicURL: "https://escalate.example"}
	m := r.Mail(note, workflows.Recipient{Name: "Sam <Social>", Email: "sam@x", Why: "are the respondent"})
	if strings.Contains(m.Text+m.HTML, "Jane Doe") {
		t.Fatal("a typed note reached the mail")
	}
	for _, want := range []string{"NSCP-2026-00001", "NCT/1", "URGENT", "Manager to manager", "17:00 Mon 30 Nov 2026 GMT", "999",
		"https://escalate.example/cases/NSCP-2026-00001", "are the respondent", "What is asked of you"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, "Sam &lt;Social&gt;") || strings.Contains(m.HTML, "Sam <Social>") {
		t.Errorf("HTML does not escape the name:\n%s", m.HTML)
	}
	if !strings.HasPrefix(m.Subject, "URGENT [NSCP-2026-00001] Note recorded: stage 2") {
		t.Errorf("subject %q", m.Subject)
	}
	// A deadline that passed at stage 1 says so, though the case has moved on.
	passed := renderer{c: c, loc: loc}.Mail(workflows.Event{Type: workflows.EventDeadlinePassed, Stage: 1}, workflows.Recipient{Name: "Sam"})
	esc := renderer{c: c, loc: loc}.Mail(workflows.Event{Type: workflows.EventEscalated, Stage: 1}, workflows.Recipient{Name: "Sam"})
	if passed.Subject != "URGENT [NSCP-2026-00001] Deadline passed: stage 1" || esc.Subject != "URGENT [NSCP-2026-00001] Escalated from stage 1 to stage 2" {
		t.Errorf("subjects %q, %q", passed.Subject, esc.Subject)
	}
	// A closed case has no deadline to show.
	c.Status, c.Urgent = workflows.StatusResolved, false
	m = renderer{c: c, loc: loc}.Mail(workflows.Event{Type: workflows.EventAgreementConfirm}, workflows.Recipient{Name: "Sam"})
	if strings.Contains(m.Text, "Stage deadline") || strings.Contains(m.Text, "URGENT") || strings.Contains(m.Text, "Case record:") {
		t.Errorf("closed case mail:\n%s", m.Text)
	}
}

// Every event type has its own title and ask, in the procedures' words.
func TestEveryEventHasANotice(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	c := workflows.Case{Ref: "X-2026-00001", Status: workflows.StatusOpen}
	for _, typ := range workflows.EventTypes {
		n, ok := notices[typ]
		if !ok || n.title == "" || n.ask == "" {
			t.Errorf("%s: no notice", typ)
			continue
		}
		m := renderer{c: c, loc: loc}.Mail(workflows.Event{Type: typ}, workflows.Recipient{})
		if strings.Contains(strings.ToLower(m.Subject+m.Text+m.HTML), "complaint") {
			t.Errorf("%s: calls escalation a complaint", typ)
		}
	}
	if len(notices) != len(workflows.EventTypes) {
		t.Errorf("%d notices for %d event types", len(notices), len(workflows.EventTypes))
	}
}

// The webhook payload identifies the case and event and carries nothing
// people typed.
func TestWebhookPayload(t *testing.T) {
	c := workflows.Case{Ref: "NSCP-2026-00007", Policy: "northamptonshire", ChildRef: "NCT/7", Category: "communication",
		Status: workflows.StatusOpen, Summary: "Jane Doe, born 1 May", Stage: workflows.StageState{Number: 2, Name: "Managers",
			DueAt: time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)}}
	ev := workflows.Event{Seq: 9, Type: workflows.EventNote, Stage: 2, Text: "about Jane Doe", At: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	raw, err := renderer{c: c, loc: time.UTC, publicURL: "https://e.example/"}.Webhook(ev, "nct")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "Jane") {
		t.Fatalf("typed text in webhook: %s", raw)
	}
	var got WebhookEvent
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "NSCP-2026-00007.9.nct" || got.Type != "note" || got.Stage.Number != 2 || got.Stage.DueAt == nil ||
		!got.Stage.DueAt.Equal(c.Stage.DueAt) || got.URL != "https://e.example/v1/cases/NSCP-2026-00007" || got.ChildRef != "NCT/7" {
		t.Fatalf("payload %+v", got)
	}
}

// The workflow calls activities by the names in workflows/names.go.
func TestActivityNamesMatchMethods(t *testing.T) {
	typ := reflect.TypeOf(&Activities{})
	for _, name := range []string{workflows.ActivityRecordEvents, workflows.ActivityRecordOpening, workflows.ActivityDeliverNotifications, workflows.ActivityCancellation, workflows.ActivityRecordedSeq,
		workflows.ActivitySettleNotifications} {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("Activities has no method %s", name)
		}
	}
}

// Issue 12, "What people are told": a deadline passing, the escalation and
// the next stage are one mail that says both, with the new stage's
// deadline and what it asks; and a stage left overdue is marked so in every
// mail. The documents ask that decisions be "shared with relevant
// personnel" (northamptonshire-escalating-for-the-right-outcome.txt,
// "Recording and Communication"), not repeated to them.
func TestOneMailTellsOfTheWholeChange(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	at := time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)
	batch := []workflows.Event{
		{Seq: 5, Type: workflows.EventDeadlinePassed, Stage: 1, By: "escalate", At: at,
			Text: "Stage 1 (Direct professional to professional discussion) passed its deadline of 17:00 Wed 25 Nov 2026 GMT without a written outcome; the case is escalated automatically."},
		{Seq: 6, Type: workflows.EventEscalated, Stage: 1, By: "escalate", At: at, Text: "Stage 1 deadline passed: escalated automatically to stage 2 (Direct manager to manager discussion)."},
		{Seq: 7, Type: workflows.EventStageEntered, Stage: 2, By: "escalate", At: at, Text: "Stage 2: Direct manager to manager discussion. Who: each practitioner's line manager. Due by 17:00 Wed 2 Dec 2026 GMT (5 working days)."},
	}
	c := workflows.Case{Ref: "NSCP-2026-00001", ChildRef: "NCT/1", Status: workflows.StatusOpen,
		Stage: workflows.StageState{Number: 2, Name: "Direct manager to manager discussion", DueAt: time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)}}
	r := renderer{c: c, loc: loc, batch: batch}
	m := r.Mail(batch[0], workflows.Recipient{Name: "Sam", Email: "sam@x", Why: "are the respondent", Also: []int{6, 7}})
	if m.Subject != "[NSCP-2026-00001] Deadline passed at stage 1: moved to stage 2, Direct manager to manager discussion" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"passed its deadline of 17:00 Wed 25 Nov 2026 GMT", "Stage 2: Direct manager to manager discussion. Who:",
		"Deadline passed: the case moved to stage 2", "17:00 Wed 2 Dec 2026 GMT", notices[workflows.EventStageEntered].ask} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("mail lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Please act now") {
		t.Errorf("the mail asks for stage 1's action after the case moved on:\n%s", m.Text)
	}

	// Nothing was recorded at stage 1 before its deadline forced the climb
	// (Northamptonshire: "evidence should be provided that all efforts at
	// the previous stage have been explored"): stage 2's people are asked
	// to record what happened there first.
	c.Stage.RecordMissingFrom = 1
	m = renderer{c: c, loc: loc, batch: batch}.Mail(batch[0], workflows.Recipient{Name: "Sam", Also: []int{6, 7}})
	if !strings.Contains(m.Text, "before anything else, please record on the case record what happened at stage 1") {
		t.Errorf("stage 2's people are not asked to record stage 1 first:\n%s", m.Text)
	}
	c.Stage.RecordMissingFrom = 0

	// A side that has named nobody for the managers' stage is asked to,
	// with the link to the case (Northamptonshire: "Requests to provide
	// management contact details should also be dealt with without delay").
	c.Stage.AwaitingContact = []string{"respondent"}
	m = renderer{c: c, loc: loc, batch: batch, publicURL: "https://escalate.example"}.Mail(batch[0], workflows.Recipient{Name: "Sam", Also: []int{6, 7}})
	if !strings.Contains(m.Text, "Nobody is named yet to act for the respondent's side at stage 2: if that is your side, please name the person who acts for it") ||
		!strings.Contains(m.Text, "https://escalate.example/cases/NSCP-2026-00001") {
		t.Errorf("the side is not asked to name its person:\n%s", m.Text)
	}
	c.Stage.AwaitingContact = nil

	// Overdue: the stage stays open past its deadline.
	c.Stage.Overdue = true
	m = renderer{c: c, loc: loc}.Mail(workflows.Event{Seq: 9, Type: workflows.EventNote, Stage: 2, By: "Hana", ByEmail: "hana@x"}, workflows.Recipient{Name: "Sam"})
	if !strings.Contains(m.Text, "Stage deadline: 17:00 Wed 2 Dec 2026 GMT (OVERDUE") || !strings.Contains(m.HTML, "OVERDUE") {
		t.Errorf("an overdue stage is not marked overdue:\n%s", m.Text)
	}
}
