package activities

import (
	"context"
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
		Body: "Dear Sam,\nbody", MessageID: "nscp-2026-00001.5.9@escalate"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "sam@nct.example" {
		t.Fatalf("sink got %+v", msgs)
	}
	msg := msgs[0].Data
	for _, want := range []string{"Subject: [NSCP-2026-00001] Stage started: stage 2", "Message-ID: <nscp-2026-00001.5.9@escalate>", "Dear Sam,"} {
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
	note := workflows.Event{Seq: 5, Type: workflows.EventNote, By: "Hana", ByEmail: "hana@x", Text: "Mother's name is Jane Doe", At: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	subject, body := Render(note, workflows.Recipient{Name: "Sam", Email: "sam@x", Why: "respondent"}, c, loc, "https://escalate.example")
	if strings.Contains(body, "Jane Doe") {
		t.Fatal("a typed note reached the mail")
	}
	for _, want := range []string{"NSCP-2026-00001", "NCT/1", "URGENT", "Manager to manager", "17:00 Mon 30 Nov 2026 GMT", "999",
		"https://escalate.example/v1/cases/NSCP-2026-00001", "respondent"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if !strings.HasPrefix(subject, "URGENT [NSCP-2026-00001]") {
		t.Errorf("subject %q", subject)
	}
	for typ := range titles {
		_, b := Render(workflows.Event{Type: typ}, workflows.Recipient{}, c, loc, "")
		if strings.Contains(strings.ToLower(b), "complaint") || asks[typ] == "" {
			t.Errorf("%s: wording", typ)
		}
	}
}

// The workflow calls activities by the names in workflows/names.go.
func TestActivityNamesMatchMethods(t *testing.T) {
	typ := reflect.TypeOf(&Activities{})
	for _, name := range []string{workflows.ActivityRecordEvents, workflows.ActivityDeliverNotifications} {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("Activities has no method %s", name)
		}
	}
}
