package workflows_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"escalate/workflows"
)

// failingDelivery records like fakeActivities but can never deliver.
type failingDelivery struct {
	*fakeActivities
	attempts map[int]int // first seq of a delivery -> attempts
}

func (f *failingDelivery) DeliverNotifications(_ context.Context, in workflows.DeliverNotificationsInput) (workflows.DeliverNotificationsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[in.Seqs[0]]++
	return workflows.DeliverNotificationsResult{}, errors.New("mail server refused the connection")
}

// A mailbox that never answers does not hold the case back: the stages
// still run out on time, each delivery is tried a bounded number of times,
// and the case closes once those tries are over. This is a case started
// before current-case version 3, which delivers by activity; the
// dispatcher's retries are tested in activities.
func TestFailingNotificationsDoNotBlockTheCase(t *testing.T) {
	start := local(2026, 11, 2, 9, 0) // Monday
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	acts := &failingDelivery{fakeActivities: &fakeActivities{notices: map[int][]workflows.Recipient{}, mails: map[int][]workflows.Recipient{}}, attempts: map[int]int{}}
	env.RegisterWorkflowWithOptions(workflows.CaseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
	env.RegisterActivity(acts)
	env.OnGetVersion("current-case", workflow.DefaultVersion, 3).Return(workflow.Version(2))
	h := &harness{t: t, env: env, acts: acts.fakeActivities, in: workflows.CaseInput{
		Ref: "NSCP-2026-00009", Policy: northamptonshire(t), ChildRef: "NCT/9", Category: "communication",
		Summary: "Minutes not shared", Raiser: raiser, Respondent: respondent,
	}}
	var atStage2 workflows.Case
	// Stage 1 (2 working days) is due at 17:00 Wednesday 4 November.
	h.query(local(2026, 11, 4, 17, 1).Sub(start), &atStage2)
	withdraw := h.at(local(2026, 11, 5, 9, 0).Sub(start), workflows.UpdateWithdraw,
		workflows.WithdrawInput{By: asRaiser, Reason: "resolved informally"})
	h.run()
	final := h.finished()
	wantDone(t, "withdraw", withdraw)
	if atStage2.Stage.Number != 2 || !atStage2.Stage.StartedAt.Equal(local(2026, 11, 4, 17, 0)) {
		t.Fatalf("after stage 1's deadline: stage %d started %v; failing mail held the case back", atStage2.Stage.Number, atStage2.Stage.StartedAt)
	}
	if final.Status != workflows.StatusWithdrawn {
		t.Fatalf("final status %s", final.Status)
	}
	if len(acts.attempts) == 0 {
		t.Fatal("no delivery was tried")
	}
	for seq, n := range acts.attempts {
		if n != workflows.DeliverMaxAttempts {
			t.Errorf("delivery from event %d tried %d times, want %d", seq, n, workflows.DeliverMaxAttempts)
		}
	}
	// Once no attempt is left, every event's notifications are marked
	// failed, whatever the last attempt managed (issue 13: a last attempt
	// that timed out left them "retrying" for ever).
	settled := map[int]bool{}
	for _, seq := range acts.settled {
		settled[seq] = true
	}
	for _, ev := range acts.events {
		if !settled[ev.Seq] {
			t.Errorf("event %d (%s): its undelivered notifications were never settled", ev.Seq, ev.Type)
		}
	}
}

// Who is told follows the one table: a reminder goes to the stage's own
// people only, the person who acted is never told, the business office
// only at the partnership stage or when overdue, and a side that has named
// nobody at a managers' stage is represented by its escalation contact
// until it does.
func TestWhoIsTold(t *testing.T) {
	start := local(2026, 11, 2, 9, 0) // Monday
	h := newHarness(t, start)
	lena := workflows.Person{Name: "Lena Lead", Email: "lena@nhft.example", Agency: "nhft", Role: "manager"}
	h.at(time.Hour, workflows.UpdateEscalate, workflows.EscalateInput{By: asRaiser, Reason: "no plan agreed", Evidence: "two calls, no answer"})
	h.at(2*time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRaiser, Side: workflows.SideRaiser, Name: lena.Name, Email: lena.Email, Role: "line manager"})
	h.at(3*time.Hour, workflows.UpdateContact, workflows.ContactInput{By: asRespondent, Side: workflows.SideRespondent, Name: "Max Manager", Email: "max@nct.example", Role: "team manager"})
	h.at(4*time.Hour, workflows.UpdateNote, workflows.NoteInput{By: lena, Text: "Spoke to Max."})
	withdraw := h.at(5*24*time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "agreed informally"})
	h.run()
	h.finished()
	wantDone(t, "withdraw", withdraw)

	told := func(typ string, stage int) []string {
		for _, e := range h.acts.events {
			if e.Type == typ && e.Stage == stage {
				var out []string
				for _, r := range h.acts.notices[e.Seq] {
					out = append(out, strings.ToLower(r.Email))
				}
				return out
			}
		}
		t.Fatalf("no %s event at stage %d", typ, stage)
		return nil
	}
	for _, c := range []struct {
		typ   string
		stage int
		want  string
	}{
		// The raiser escalated: the respondent is told, not the raiser; so
		// are both sides' escalation contacts, since nobody is named yet
		// for stage 2 (the managers' stage).
		{workflows.EventEscalated, 1, "sam@nct.example safeguarding.nhft@nscp.example.org safeguarding.nct@nscp.example.org"},
		{workflows.EventStageEntered, 2, "hana@nhft.example sam@nct.example safeguarding.nhft@nscp.example.org safeguarding.nct@nscp.example.org"},
		// A reminder goes to the stage's people: the managers, not the practitioners.
		{workflows.EventReminder, 2, "lena@nhft.example max@nct.example"},
		// Lena's note goes to everyone else.
		{workflows.EventNote, 2, "hana@nhft.example sam@nct.example max@nct.example"},
		{workflows.EventWithdrawn, 2, "sam@nct.example lena@nhft.example max@nct.example"},
	} {
		got := told(c.typ, c.stage)
		want := strings.Fields(c.want)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s at stage %d told %q, want %q", c.typ, c.stage, got, c.want)
		}
	}
}

// The README's table of who is told is the code's table.
func TestReadmeDocumentsWhoIsTold(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([^|]+) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		documented[m[1]] = strings.TrimSpace(m[2])
	}
	for _, typ := range workflows.EventTypes {
		aud, ok := workflows.Told[typ]
		if !ok {
			t.Errorf("%s: not in the Told table", typ)
			continue
		}
		if got, want := documented[typ], aud.Describe(); got != want {
			t.Errorf("README says %s is told to %q; the code says %q", typ, got, want)
		}
	}
	if len(workflows.Told) != len(workflows.EventTypes) {
		t.Errorf("Told has %d event types, EventTypes %d", len(workflows.Told), len(workflows.EventTypes))
	}
}
