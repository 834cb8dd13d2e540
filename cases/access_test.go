package cases

import (
	"testing"

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
