package cases

import (
	"testing"

	"escalate/policies"
	"escalate/workflows"
)

// The contract's access rules, person by person, for one case.
func TestAccessRules(t *testing.T) {
	c := workflows.Case{Policy: "northamptonshire",
		Raiser:     workflows.Party{Email: "Hana@nhft.example", Agency: "nhft"},
		Respondent: workflows.Party{Email: "sam@nct.example", Agency: "nct"},
		Contacts:   []workflows.Contact{{Party: workflows.Party{Email: "mo@nct.example", Agency: "nct"}, Side: workflows.SideRespondent}},
		Advisers:   []workflows.Adviser{{Party: workflows.Party{Email: "cat@caf.example"}}},
	}
	for _, x := range []struct {
		who                        string
		p                          Principal
		read, act, eitherSide, ovs bool
	}{
		{"raiser (any case of email)", Principal{Email: "HANA@nhft.example ", Role: RolePractitioner}, true, true, false, false},
		{"respondent", Principal{Email: "sam@nct.example", Role: RolePractitioner}, true, true, false, false},
		{"contact", Principal{Email: "mo@nct.example", Role: RoleManager, Agency: "nct"}, true, true, false, false},
		{"adviser", Principal{Email: "cat@caf.example", Role: RolePractitioner}, true, true, false, false},
		{"manager of an agency of the case", Principal{Email: "boss@nct.example", Role: RoleManager, Agency: "nct"}, true, false, false, false},
		{"manager of another agency", Principal{Email: "boss@police.example", Role: RoleManager, Agency: "police"}, false, false, false, false},
		{"manager with no agency", Principal{Email: "boss@x.example", Role: RoleManager}, false, false, false, false},
		{"practitioner of an agency of the case", Principal{Email: "other@nct.example", Role: RolePractitioner, Agency: "nct"}, false, false, false, false},
		{"the policy's partnership", Principal{Email: "pat@nscp.example", Role: RolePartnership, Agency: "northamptonshire"}, true, true, true, true},
		{"another partnership", Principal{Email: "dee@dscp.example", Role: RolePartnership, Agency: "devon"}, false, false, false, true},
		{"admin", Principal{Email: "admin@x.example", Role: RoleAdmin}, true, true, true, true},
		{"no email", Principal{Role: RolePractitioner}, false, false, false, false},
	} {
		if got := CanRead(x.p, c); got != x.read {
			t.Errorf("%s: CanRead %v", x.who, got)
		}
		if got := CanAct(x.p, c); got != x.act {
			t.Errorf("%s: CanAct %v", x.who, got)
		}
		if got := ActsForEitherSide(x.p, c); got != x.eitherSide {
			t.Errorf("%s: ActsForEitherSide %v", x.who, got)
		}
		if got := Oversees(x.p); got != x.ovs {
			t.Errorf("%s: Oversees %v", x.who, got)
		}
	}
	for _, x := range []struct {
		p      Principal
		asked  string
		policy string
		ok     bool
	}{
		{Principal{Role: RoleAdmin}, "", "", true},
		{Principal{Role: RoleAdmin}, "devon", "devon", true},
		{Principal{Role: RolePartnership, Agency: "devon"}, "", "devon", true},
		{Principal{Role: RolePartnership, Agency: "devon"}, "devon", "devon", true},
		{Principal{Role: RolePartnership, Agency: "devon"}, "northamptonshire", "", false},
		{Principal{Role: RolePartnership}, "", "", false},
		{Principal{Role: RoleManager, Agency: "nct"}, "", "", false},
	} {
		if policy, ok := OverseenPolicy(x.p, x.asked); policy != x.policy || ok != x.ok {
			t.Errorf("OverseenPolicy(%+v, %q) = %q, %v", x.p, x.asked, policy, ok)
		}
	}
}

// Addresses a policy mails case links to, without an account or a party's
// place on a case, get the least that lets them follow the link: an
// agency's escalation contact manages that agency's side in that
// partnership only; a partnership's mailbox reads its cases, never acts.
func TestPolicyPerson(t *testing.T) {
	pols := []policies.Policy{
		{ID: "north", BusinessOffice: policies.Contact{Name: "Office", Email: "office@north.example"},
			LearningTo: &policies.Contact{Name: "Learning", Email: "learning@north.example"},
			Agencies: []policies.Agency{{ID: "nct", EscalationContact: &policies.Contact{Name: "NCT duty", Email: "Duty@nct.example"}},
				{ID: "nhft", EscalationContact: &policies.Contact{Name: "NHFT lead", Email: "lead@nhft.example"}}}},
		{ID: "north-drill", Agencies: []policies.Agency{{ID: "nct", EscalationContact: &policies.Contact{Name: "NCT duty", Email: "duty@nct.example"}}}},
		{ID: "south", OutcomeReportTo: &policies.Contact{Name: "Chair", Email: "chair@south.example"}},
	}
	duty, ok := PolicyPerson(pols, " DUTY@nct.example")
	if !ok || duty.Role != RoleManager || duty.Agency != "nct" || len(duty.Scopes) != 2 || duty.Scopes[0] != "north" || duty.Scopes[1] != "north-drill" {
		t.Fatalf("escalation contact: %+v %v", duty, ok)
	}
	office, ok := PolicyPerson(pols, "office@north.example")
	if !ok || office.Role != RoleObserver || len(office.Scopes) != 1 || office.Scopes[0] != "north" {
		t.Fatalf("business office: %+v", office)
	}
	if chair, ok := PolicyPerson(pols, "chair@south.example"); !ok || chair.Role != RoleObserver || chair.Scopes[0] != "south" {
		t.Fatalf("report mailbox: %+v", chair)
	}
	if _, ok := PolicyPerson(pols, "nobody@nct.example"); ok {
		t.Fatal("an unknown address is somebody")
	}
	if _, ok := PolicyPerson(pols, ""); ok {
		t.Fatal("an empty address is somebody")
	}

	northCase := workflows.Case{Policy: "north", Raiser: workflows.Party{Email: "hana@nhft.example", Agency: "nhft"},
		Respondent: workflows.Party{Email: "sam@nct.example", Agency: "nct"}}
	southCase := northCase
	southCase.Policy = "south"
	otherAgencies := northCase
	otherAgencies.Raiser.Agency, otherAgencies.Respondent.Agency = "police", "school"
	for _, x := range []struct {
		who             string
		p               Principal
		c               workflows.Case
		read, act, step bool
	}{
		{"escalation contact, its agency's case in its partnership", duty, northCase, true, false, true},
		{"escalation contact, another partnership's case", duty, southCase, false, false, false},
		{"escalation contact, a case without its agency", duty, otherAgencies, false, false, false},
		{"business office, its partnership's case", office, northCase, true, false, false},
		{"business office, another partnership's case", office, southCase, false, false, false},
		{"an observer without a scope", Principal{Email: "x@y.example", Role: RoleObserver}, northCase, false, false, false},
	} {
		if got := CanRead(x.p, x.c); got != x.read {
			t.Errorf("%s: CanRead %v", x.who, got)
		}
		if got := CanAct(x.p, x.c); got != x.act {
			t.Errorf("%s: CanAct %v", x.who, got)
		}
		if got := StepInSide(x.p, x.c) != ""; got != x.step {
			t.Errorf("%s: StepInSide %v", x.who, got)
		}
	}
	// Stepping in is for a manager of exactly one side's agency who is not
	// yet a party.
	same := northCase
	same.Raiser.Agency = "nct"
	if StepInSide(duty, same) != "" {
		t.Error("a manager of both sides' agency steps in")
	}
	if StepInSide(Principal{Email: "sam@nct.example", Agency: "nct", Role: RoleManager}, northCase) != "" {
		t.Error("a party steps in")
	}
	if StepInSide(Principal{Email: "p@nct.example", Agency: "nct", Role: RolePractitioner}, northCase) != "" {
		t.Error("a practitioner steps in")
	}
	if got := StepInSide(Principal{Email: "m@nct.example", Agency: "nct", Role: RoleManager}, northCase); got != workflows.SideRespondent {
		t.Errorf("manager of the respondent's agency steps in for %q", got)
	}
}
