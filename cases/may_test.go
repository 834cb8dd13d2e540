package cases

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"escalate/policies"
	"escalate/workflows"
)

func testService(t *testing.T, now time.Time) *Service {
	t.Helper()
	pols, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return NewService(Config{Policies: pols, Now: func() time.Time { return now }})
}

func mayList(m map[string]bool) string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// What each person may do now is the access rule and then the case
// workflow's own validators over the case as recorded: a proposal is
// confirmed only by the other side, withdrawn only by the raiser's, and a
// closed case offers nothing.
func TestMay(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s := testService(t, now)
	open := workflows.Case{Ref: "NSCP-2026-00001", Policy: "northamptonshire", Status: workflows.StatusOpen,
		Stage:      workflows.StageState{Number: 1, StartedAt: now.Add(-time.Hour), DueAt: now.Add(48 * time.Hour)},
		Raiser:     workflows.Party{Name: "Hana", Email: "hana@nhft.example", Agency: "nhft"},
		Respondent: workflows.Party{Name: "Sam", Email: "sam@nct.example", Agency: "nct"}}
	hana := Principal{Name: "Hana", Email: "hana@nhft.example", Agency: "nhft", Role: RolePractitioner}
	sam := Principal{Name: "Sam", Email: "sam@nct.example", Agency: "nct", Role: RolePractitioner}
	mo := Principal{Name: "Mo", Email: "mo@nct.example", Agency: "nct", Role: RoleManager}
	pat := Principal{Name: "Pat", Email: "pat@nscp.example", Agency: "northamptonshire", Role: RolePartnership}

	for _, x := range []struct {
		who  string
		p    Principal
		c    workflows.Case
		want string
	}{
		{"raiser", hana, open, "agreement.propose contact deadline escalate note withdraw"},
		{"respondent", sam, open, "agreement.propose contact deadline escalate note"},
		{"manager of an agency, not a party", mo, open, StepIn},
		{"partnership", pat, open, "contact escalate note"},
	} {
		if got := mayList(s.May(context.Background(), x.p, x.c)); got != x.want {
			t.Errorf("%s: %q, want %q", x.who, got, x.want)
		}
	}

	proposed := open
	proposed.Status = workflows.StatusAgreementProposed
	proposed.Agreement = &workflows.Agreement{ProposedBy: "Sam", ProposedBySide: workflows.SideRespondent, Outcome: "o"}
	if got := s.May(context.Background(), hana, proposed); !got[workflows.UpdateConfirmAgreement] || !got[workflows.UpdateRejectAgreement] || got[workflows.UpdateProposeAgreement] {
		t.Errorf("raiser, outcome proposed by the other side: %q", mayList(got))
	}
	if got := s.May(context.Background(), sam, proposed); got[workflows.UpdateConfirmAgreement] || !got[workflows.UpdateRejectAgreement] {
		t.Errorf("respondent, own proposal: %q", mayList(got))
	}

	pending := open
	pending.PendingDeadline = &workflows.PendingDeadline{DueAt: now.Add(24 * time.Hour), ProposedBy: "Sam", ProposedBySide: workflows.SideRespondent, Stage: 1}
	if !s.May(context.Background(), hana, pending)[workflows.UpdateConfirmDeadline] || s.May(context.Background(), sam, pending)[workflows.UpdateConfirmDeadline] {
		t.Error("a proposed deadline is confirmed by the other side only")
	}

	closed := open
	closed.Status = workflows.StatusResolved
	if got := mayList(s.May(context.Background(), hana, closed)); got != "" {
		t.Errorf("closed case offers %q", got)
	}
	unknown := open
	unknown.Policy = "nowhere"
	if got := mayList(s.May(context.Background(), hana, unknown)); got != "" {
		t.Errorf("case of an unknown policy offers %q", got)
	}
}

// The core's refusals: field rules in the API's words, before anything is
// sent; a case reference that cannot be one is not found; the workflow's
// refusals become the core's kinds.
func TestRefusals(t *testing.T) {
	s := testService(t, time.Now())
	me := Principal{Name: "Hana", Email: "hana@nhft.example", Agency: "nhft", Role: RolePractitioner}
	_, err := s.Start(context.Background(), me, StartRequest{Policy: "northamptonshire", ChildRef: "Jo Bloggs", Category: "communication",
		Summary: "s\x1b", Respondent: PartyRequest{Name: "Sam", Email: "not-an-address", Agency: "nct"}}, "")
	e, ok := AsError(err)
	if !ok || e.Kind != Invalid || e.Fields["child_ref"] != "letters, digits, '-' and '/' only, at most 64" ||
		e.Fields["summary"] != "must not contain control characters (only newlines and tabs)" || e.Fields["respondent.email"] != "must be an email address" {
		t.Fatalf("start: %v %+v", err, e)
	}
	_, err = s.Start(context.Background(), me, StartRequest{Policy: "northamptonshire", ChildRef: "NCT/1", Category: "other",
		Summary: "s", Respondent: PartyRequest{Name: "Sam", Email: "sam@nct.example", Agency: "nct"}}, "")
	if e, ok := AsError(err); !ok || e.Kind != Rule || e.Fields["category_detail"] == "" {
		t.Fatalf("other without detail: %v", err)
	}
	_, err = s.Start(context.Background(), me, StartRequest{Policy: "northamptonshire", ChildRef: "NCT/1", Category: "communication",
		Summary: "s", Respondent: PartyRequest{Name: "Sam", Email: "sam@nct.example", Agency: "nct"}}, "key\x00")
	if e, ok := AsError(err); !ok || e.Kind != Invalid || e.Fields["Idempotency-Key"] == "" {
		t.Fatalf("bad key: %v", err)
	}
	// Without Temporal, a valid start changes nothing and says so.
	_, err = s.Start(context.Background(), me, StartRequest{Policy: "northamptonshire", ChildRef: "NCT/1", Category: "communication",
		Summary: "s", Respondent: PartyRequest{Name: "Sam", Email: "sam@nct.example", Agency: "nct"}}, "")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("start without Temporal: %v", err)
	}
	if _, err := s.Note(me, NoteRequest{Text: strings.Repeat("n", 10001)}); err == nil || err.(*Error).Fields["text"] != "at most 10000 characters" {
		t.Fatalf("long note: %v", err)
	}
	if _, err := s.Deadline(me, DeadlineRequest{DueAt: "tomorrow", Reason: "r"}); err == nil || err.(*Error).Fields["due_at"] == "" {
		t.Fatalf("deadline not a time: %v", err)
	}
	if _, err := s.Act(context.Background(), me, "../etc", s.ConfirmAgreement(me), ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad reference: %v", err)
	}
	for typ, kind := range map[string]Kind{workflows.ErrConflict: Conflict, workflows.ErrRuleViolation: Rule, workflows.ErrRecordRefused: RecordRefused} {
		e, ok := AsError(temporal.NewNonRetryableApplicationError("why", typ, nil))
		if !ok || e.Kind != kind {
			t.Errorf("%s: %+v", typ, e)
		}
	}
	if _, ok := AsError(errors.New("connection refused")); ok {
		t.Error("a failed dependency counted as a refusal")
	}
}

// Stepping in (the core's StepIn action) is for a manager of exactly one
// side's agency who is not a party: a manager of neither agency, a party of
// either side (a manager among them), a manager outside their scope and a
// stranger are refused by the action's own rule, and never offered it.
func TestStepInRefusals(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s := testService(t, now)
	open := workflows.Case{Ref: "NSCP-2026-00001", Policy: "northamptonshire", Status: workflows.StatusOpen,
		Stage:      workflows.StageState{Number: 1, StartedAt: now.Add(-time.Hour), DueAt: now.Add(48 * time.Hour)},
		Raiser:     workflows.Party{Name: "Hana", Email: "hana@nhft.example", Agency: "nhft"},
		Respondent: workflows.Party{Name: "Sam", Email: "sam@nct.example", Agency: "nct"},
		Contacts: []workflows.Contact{{Party: workflows.Party{Name: "Lee", Email: "lee@nct.example", Agency: "nct"},
			Side: workflows.SideRaiser}}}
	for _, x := range []struct {
		who string
		p   Principal
	}{
		{"a manager of neither agency", Principal{Name: "Bo", Email: "bo@police.example", Agency: "police", Role: RoleManager}},
		{"a manager with no agency", Principal{Name: "Bo", Email: "bo@x.example", Role: RoleManager}},
		{"the raiser, a manager", Principal{Name: "Hana", Email: "HANA@nhft.example", Agency: "nhft", Role: RoleManager}},
		{"the respondent, a manager", Principal{Name: "Sam", Email: "sam@nct.example", Agency: "nct", Role: RoleManager}},
		{"the other side's contact, a manager of the respondent's agency", Principal{Name: "Lee", Email: "lee@nct.example", Agency: "nct", Role: RoleManager}},
		{"a manager of an agency of the case, scoped to another policy", Principal{Name: "Mo", Email: "mo@nct.example", Agency: "nct", Role: RoleManager, Scopes: []string{"devon"}}},
		{"a practitioner of an agency of the case", Principal{Name: "Al", Email: "al@nct.example", Agency: "nct", Role: RolePractitioner}},
		{"a stranger", Principal{Name: "X", Email: "x@elsewhere.example", Role: RolePractitioner}},
		{"the policy's partnership", Principal{Name: "Pat", Email: "pat@nscp.example", Agency: "northamptonshire", Role: RolePartnership}},
	} {
		if s.StepIn(x.p).Allowed(x.p, open) {
			t.Errorf("%s may step in", x.who)
		}
		if s.May(context.Background(), x.p, open)[StepIn] {
			t.Errorf("%s is offered stepping in", x.who)
		}
	}
	mo := Principal{Name: "Mo", Email: "mo@nhft.example", Agency: "nhft", Role: RoleManager}
	a := s.StepIn(mo)
	if !a.Allowed(mo, open) || a.Update != workflows.UpdateContact {
		t.Fatalf("a manager of the raiser's agency may not step in: %+v", a)
	}
	if in, ok := a.Arg(open).(workflows.ContactInput); !ok || in.Side != workflows.SideRaiser || in.Email != mo.Email || in.Role != StepInRole {
		t.Errorf("steps in as %+v", a.Arg(open))
	}
}
