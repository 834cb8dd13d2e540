package policies

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// readFile is a policy file of this directory as text.
func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

func TestEmailProblem(t *testing.T) {
	for _, ok := range []string{
		"business.office@nscp.example.org",
		"safeguarding.nct@nscp.example.org",
		"a@b.example",
		"first.last+escalations@sub.domain.example.org",
		"o'neill@school.example.org",
		"UPPER@Example.ORG",
		"x-y_z@a-b.example",
	} {
		if p := emailProblem(ok); p != "" {
			t.Errorf("%q refused: %s", ok, p)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "missing"},
		{"business office", "no @"},
		{"office@nscp.example.org\r\nBcc: all@example.org", "line break"},
		{"office@nscp.example.org\n", "line break"},
		{"office\t@nscp.example.org", "line break or another control character"},
		{"office\x00@nscp.example.org", "control character"},
		{"office@nscp.example.org\u0085", "control character"},
		{"off\xffice@nscp.example.org", "not valid UTF-8"},
		{"a@b@example.org", "more than one @"},
		{"@example.org", "1 to 64 characters"},
		{strings.Repeat("a", 65) + "@example.org", "1 to 64 characters"},
		{"a@" + strings.Repeat("b", 250) + ".org", "longer than 254"},
		{".a@example.org", "a dot at the start or end"},
		{"a.@example.org", "a dot at the start or end"},
		{"a..b@example.org", "two in a row"},
		{"a b@example.org", "' ' is not allowed before @"},
		{"Office <office@example.org>", "is not allowed before @"},
		{"\"quoted\"@example.org", "is not allowed before @"},
		{"é@example.org", "is not allowed before @"},
		{"a@localhost", "the domain needs a dot"},
		{"a@example..org", "is not a host name"},
		{"a@.example.org", "is not a host name"},
		{"a@example.org.", "is not a host name"},
		{"a@-example.org", "is not a host name"},
		{"a@example-.org", "is not a host name"},
		{"a@exa_mple.org", "is not a host name"},
		{"a@exa mple.org", "is not a host name"},
		{"a@[127.0.0.1]", "is not a host name"},
		{"a@127.0.0.1", "does not end in a top-level domain"},
		{"a@" + strings.Repeat("b", 64) + ".org", "is not a host name"},
	} {
		if p := emailProblem(tc.in); !strings.Contains(p, tc.want) {
			t.Errorf("emailProblem(%q) = %q, want it to contain %q", tc.in, p, tc.want)
		}
	}
}

// Every agency of every policy (drills included) has an escalation contact:
// its safeguarding lead or duty manager mailbox. The documents give none
// (northamptonshire-escalating-for-the-right-outcome.txt: "it is not
// possible to have contact details in this procedure due to the size of the
// partnership"), so the addresses are placeholders on .example domains and
// partnership_settings says they are the partnership's own. Nottingham's is
// the safeguarding lead of its escalation contacts table, the stand-in for
// the document's "Appendix 2: Escalation contacts Nottingham and
// Nottinghamshire".
func TestEveryAgencyHasAnEscalationContact(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.All() {
		t.Run(p.ID, func(t *testing.T) {
			if len(p.Agencies) == 0 {
				t.Fatal("no agencies")
			}
			for _, a := range p.Agencies {
				c, ok := p.EscalationContact(a.ID)
				if !ok || c.Name == "" || emailProblem(c.Email) != "" {
					t.Errorf("agency %s: escalation contact %+v, %v", a.ID, c, ok)
					continue
				}
				if !strings.HasSuffix(c.Email, ".example.org") && !strings.HasSuffix(c.Email, ".example") {
					t.Errorf("agency %s: %s is not a placeholder address", a.ID, c.Email)
				}
				if p.DrillOf == "nottingham-nottinghamshire" || p.ID == "nottingham-nottinghamshire" {
					found := false
					for _, d := range p.Directory {
						found = found || (d.Agency == a.ID && d.Role == "safeguarding-lead" && d.Email == c.Email && d.Name == c.Name)
					}
					if !found {
						t.Errorf("agency %s: escalation contact %+v is not the table's safeguarding lead", a.ID, c)
					}
				}
			}
			settings := strings.ToLower(strings.Join(p.PartnershipSettings, "\n"))
			if !strings.Contains(settings, "escalation contact") || !strings.Contains(settings, "placeholder") {
				t.Errorf("partnership_settings do not say the escalation contacts are placeholders for the partnership's own:\n%s", settings)
			}
			// Served with the agency.
			b, _ := json.Marshal(p.Agencies[0])
			if !strings.Contains(string(b), `"escalation_contact":{"name":`) {
				t.Errorf("agency JSON %s", b)
			}
		})
	}
	p, _ := r.Get("northamptonshire")
	if c, ok := p.EscalationContact("nct"); !ok || c.Email != "safeguarding.nct@nscp.example.org" {
		t.Errorf("nct: %+v %v", c, ok)
	}
	if _, ok := p.EscalationContact("a-free-text-agency"); ok {
		t.Error("an agency outside the directory has an escalation contact")
	}
	// A snapshot taken before escalation contacts existed has none.
	var old Policy
	if err := json.Unmarshal([]byte(`{"id":"old","agencies":[{"id":"nct","name":"NCT"}]}`), &old); err != nil {
		t.Fatal(err)
	}
	if a, ok := old.Agency("nct"); !ok || a.EscalationContact != nil {
		t.Errorf("old snapshot agency %+v", a)
	}
	if _, ok := old.EscalationContact("nct"); ok {
		t.Error("an old snapshot has an escalation contact")
	}
}

// The stages where a side that has named nobody falls back to its agency's
// escalation contact: every stage and step above the practitioners', not
// the partnership's.
func TestUsesEscalationContacts(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want map[[2]int]bool // {stage, step}
	}{
		{"northamptonshire", map[[2]int]bool{{1, 0}: false, {2, 0}: true, {3, 0}: true, {4, 0}: true, {5, 0}: false, {6, 0}: false}},
		{"devon", map[[2]int]bool{{1, 0}: false, {2, 0}: true, {3, 0}: true, {4, 0}: true, {5, 0}: false}},
		// Stage 1's second step is the line managers'.
		{"four-stage", map[[2]int]bool{{1, 0}: false, {1, 1}: false, {1, 2}: true, {2, 0}: true, {3, 0}: true, {4, 0}: false}},
	} {
		p, _ := r.Get(tc.id)
		for k, want := range tc.want {
			if got := p.UsesEscalationContacts(k[0], k[1]); got != want {
				t.Errorf("%s stage %d step %d: %v, want %v", tc.id, k[0], k[1], got, want)
			}
		}
	}
}

func TestContactRefusals(t *testing.T) {
	const file = "policies/x.yaml"
	const nct = "    escalation_contact: {name: Northamptonshire Children's Trust duty manager, email: safeguarding.nct@nscp.example.org}\n"
	for _, tc := range []struct {
		name, old, new, at, field, problem, fix string
	}{
		{"agency without an escalation contact", nct, "", "- id: nct", "agencies[1]",
			"no escalation contact", "add escalation_contact: {name: ..., email: ...}"},
		{"escalation contact without an email", nct, "    escalation_contact: {name: NCT duty manager}\n", "{name: NCT duty manager}",
			"agencies[1].escalation_contact.email", `"" is not an email address: missing`, "give the mailbox of the agency's safeguarding lead or duty manager"},
		{"escalation contact without a name", nct, "    escalation_contact: {email: safeguarding.nct@nscp.example.org}\n", "{email: safeguarding.nct",
			"agencies[1].escalation_contact.name", "missing", "name the agency's safeguarding lead or duty manager"},
		{"a line break in an escalation contact's email", nct, "    escalation_contact: {name: NCT, email: \"safeguarding.nct@nscp.example.org\\r\\nBcc: all@example.org\"}\n", "Bcc: all@",
			"agencies[1].escalation_contact.email", "contains a line break", "mailbox"},
		{"a line break in an escalation contact's name", nct, "    escalation_contact: {name: \"NCT\\nduty\", email: safeguarding.nct@nscp.example.org}\n", `NCT\nduty`,
			"agencies[1].escalation_contact.name", "contains a line break", "name the agency's"},
		{"an implausible escalation contact email", nct, "    escalation_contact: {name: NCT, email: nct@localhost}\n", "nct@localhost",
			"agencies[1].escalation_contact.email", "the domain needs a dot", "mailbox"},
		{"an unknown field in an escalation contact", nct, "    escalation_contact: {name: NCT, email: safeguarding.nct@nscp.example.org, phone: 01604}\n", "phone: 01604",
			"agencies[1].escalation_contact.phone", `"phone" is not a field of a contact`, "remove it"},
		{"an agency without a name", "    name: Northamptonshire Children's Trust (children's social care)\n", "", "- id: nct",
			"agencies[1].name", "missing", "name the agency"},
		{"business office email with a line break", "email: business.office@nscp.example.org", "email: \"business.office@nscp.example.org\\nBcc: x@example.org\"", "Bcc:",
			"business_office.email", "contains a line break", "mailbox"},
		{"business office without a name", "  name: NSCP Business Office\n", "", "business_office:",
			"business_office.name", "missing", "name the partnership business office"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := replaceOnce(t, northamptonshireYAML(t), tc.old, tc.new)
			_, err := Parse(file, []byte(doc))
			checkRefusal(t, err, file, lineContaining(t, doc, tc.at), tc.field, tc.problem, tc.fix)
		})
	}
	// The directory and category parties' mailboxes are checked the same way.
	notts, err := readFile("nottingham-nottinghamshire.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := replaceOnce(t, notts, "email: named.nurse@nuh.example.org}\n  - {agency: schools", "email: \"named.nurse@nuh.example.org\\r\\n\"}\n  - {agency: schools")
	_, err = Parse(file, []byte(doc))
	checkRefusal(t, err, file, lineContaining(t, doc, `named.nurse@nuh.example.org\r\n`), "directory[4].email", "contains a line break", "mailbox")
	four, err := readFile("four-stage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc = replaceOnce(t, four, "email: caf.tac.officer@scb.example.org", "email: caf tac@scb.example.org")
	_, err = Parse(file, []byte(doc))
	checkRefusal(t, err, file, lineContaining(t, doc, "caf tac@"), "category_parties[0].email", "is not allowed before @", "mailbox")
}

// Mailboxes the documents name. four-stage-resolving-professional-
// differences.txt, "6. Stage Four": the Head of Safeguarding "will determine
// a course of action including reporting the matter to the Safeguarding
// Children Board Chair"; its flowchart: "Any identified learning will be
// referred to the SCB/SAB Learning Group". northamptonshire-escalating-for-
// the-right-outcome.txt, "Recording and Communication": good-practice
// examples go "via the Business Office so these examples can be recorded and
// shared". Devon's and Nottingham's documents name neither.
func TestLearningAndOutcomeMailboxes(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id                string
		learning, outcome string // "" none
	}{
		{"four-stage", "learning.group@scb.example.org", "board.chair@scb.example.org"},
		{"four-stage-drill", "learning.group@scb.example.org", "board.chair@scb.example.org"},
		{"northamptonshire", "business.office@nscp.example.org", ""},
		{"northamptonshire-drill", "business.office@nscp.example.org", ""},
		{"devon", "", ""},
		{"nottingham-nottinghamshire", "", ""},
	} {
		p, ok := r.Get(tc.id)
		if !ok {
			t.Fatalf("no %s", tc.id)
		}
		got := func(c *Contact) string {
			if c == nil {
				return ""
			}
			if c.Name == "" {
				t.Errorf("%s: a mailbox without a name: %+v", tc.id, c)
			}
			return c.Email
		}
		if l, o := got(p.LearningTo), got(p.OutcomeReportTo); l != tc.learning || o != tc.outcome {
			t.Errorf("%s: learning_to %q, outcome_report_to %q; want %q, %q", tc.id, l, o, tc.learning, tc.outcome)
		}
	}
	// Northamptonshire's learning goes to its business office.
	if p, _ := r.Get("northamptonshire"); *p.LearningTo != p.BusinessOffice {
		t.Errorf("learning_to %+v, business office %+v", p.LearningTo, p.BusinessOffice)
	}
	// Served by GET /v1/policies, left out where there is none.
	p, _ := r.Get("four-stage")
	b, _ := json.Marshal(p)
	for _, want := range []string{`"learning_to":{"name":"SCB/SAB Learning Group","email":"learning.group@scb.example.org"}`,
		`"outcome_report_to":{"name":"Safeguarding Children Board Chair","email":"board.chair@scb.example.org"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("four-stage JSON lacks %s", want)
		}
	}
	d, _ := r.Get("devon")
	if b, _ := json.Marshal(d); strings.Contains(string(b), "learning_to") || strings.Contains(string(b), "outcome_report_to") {
		t.Error("devon serves mailboxes it does not have")
	}
}

func TestMailboxRefusals(t *testing.T) {
	const file = "policies/x.yaml"
	const learning = "learning_to:\n  name: NSCP Business Office\n  email: business.office@nscp.example.org\n"
	for _, tc := range []struct {
		name, old, new, at, field, problem, fix string
	}{
		{"learning mailbox not an address", learning, "learning_to:\n  name: NSCP Business Office\n  email: the business office\n", "email: the business office",
			"learning_to.email", `"the business office" is not an email address`, "give the mailbox of the people learning goes to"},
		{"learning mailbox with a line break", learning, "learning_to:\n  name: NSCP Business Office\n  email: \"a@nscp.example.org\\r\\nBcc: b@example.org\"\n", "Bcc:",
			"learning_to.email", "contains a line break", "mailbox"},
		{"learning mailbox without a name", learning, "learning_to:\n  email: business.office@nscp.example.org\n", "learning_to:",
			"learning_to.name", "missing", "name the people learning goes to"},
		{"learning mailbox with an unknown field", learning, learning + "  when: always\n", "when: always",
			"learning_to.when", `"when" is not a field of a contact`, "remove it"},
		{"a list where a mailbox goes", learning, "learning_to: [business.office@nscp.example.org]\n", "learning_to:",
			"learning_to", "cannot unmarshal !!seq", "a mapping of fields"},
		{"outcome report mailbox not an address", learning, learning + "outcome_report_to: {name: Chair, email: chair}\n", "outcome_report_to:",
			"outcome_report_to.email", `"chair" is not an email address: no @`, "mailbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := replaceOnce(t, northamptonshireYAML(t), tc.old, tc.new)
			_, err := Parse(file, []byte(doc))
			checkRefusal(t, err, file, lineContaining(t, doc, tc.at), tc.field, tc.problem, tc.fix)
		})
	}
	// An outcome report needs a partnership stage to report the outcome of.
	doc := replaceOnce(t, northamptonshireYAML(t), learning, learning+"outcome_report_to: {name: Chair, email: chair@nscp.example.org}\n")
	doc = replaceOnce(t, doc, "    partnership: true\n", "")
	doc = replaceOnce(t, doc, "on_timeout: mediation", "on_timeout: escalate")
	_, err := Parse(file, []byte(doc))
	checkRefusal(t, err, file, lineContaining(t, doc, "outcome_report_to:"), "outcome_report_to",
		"there is no partnership stage whose outcome could be reported", "remove outcome_report_to")
}
