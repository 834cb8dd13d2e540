package policies

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLoadEmbeddedNorthamptonshire(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Get("northamptonshire")
	if !ok {
		t.Fatal("no northamptonshire policy")
	}
	if p.RefPrefix != "NSCP" || p.Calendar != CalendarEnglandAndWales || p.Timezone != "Europe/London" || p.EndOfDay != "17:00" || p.Drill || p.DrillOf != "" {
		t.Errorf("policy header: %+v", p)
	}
	want := []struct {
		days      int
		onTimeout string
		evidence  bool
	}{
		{2, OnTimeoutEscalate, false},
		{5, OnTimeoutEscalate, true},
		{5, OnTimeoutEscalate, true},
		{2, OnTimeoutMediation, true},
		{5, OnTimeoutNotify, true},
	}
	if len(p.Stages) != len(want) {
		t.Fatalf("%d stages, want %d", len(p.Stages), len(want))
	}
	for i, w := range want {
		t.Run(fmt.Sprintf("stage %d", i+1), func(t *testing.T) {
			s := p.Stages[i]
			if s.Number != i+1 {
				t.Errorf("number %d", s.Number)
			}
			if s.Timescale != (Timescale{w.days, UnitWorkingDays}) || s.Within != fmt.Sprintf("%d working days", w.days) {
				t.Errorf("timescale %+v (%q), want %d working days", s.Timescale, s.Within, w.days)
			}
			if s.OnTimeout != w.onTimeout {
				t.Errorf("on_timeout %q, want %q", s.OnTimeout, w.onTimeout)
			}
			if s.EvidenceRequired != w.evidence {
				t.Errorf("evidence_required %v, want %v", s.EvidenceRequired, w.evidence)
			}
			if s.Partnership != (i == 4) {
				t.Errorf("partnership %v", s.Partnership)
			}
			if s.Name == "" || s.Who == "" || s.AsWritten == "" {
				t.Errorf("name %q, who %q, as_written %q", s.Name, s.Who, s.AsWritten)
			}
		})
	}
	if p.LastStage() != 5 || p.PartnershipStage() != 5 {
		t.Errorf("last stage %d, partnership stage %d", p.LastStage(), p.PartnershipStage())
	}
	if !p.Stages[2].Repeat || p.Stages[3].Meeting == "" {
		t.Errorf("stage 3 repeat %v, stage 4 meeting %q", p.Stages[2].Repeat, p.Stages[3].Meeting)
	}
	if len(p.Categories) == 0 {
		t.Error("no categories")
	}
	for _, c := range p.Categories {
		if c.ID == "" || c.Label == "" {
			t.Errorf("category %+v", c)
		}
	}
	if !strings.Contains(p.SafetyNotice, "999") {
		t.Errorf("safety notice %q does not mention 999", p.SafetyNotice)
	}
	if len(p.PartnershipSettings) == 0 || !strings.Contains(p.BusinessOffice.Email, "@") {
		t.Errorf("partnership settings %d, business office %+v", len(p.PartnershipSettings), p.BusinessOffice)
	}
	if strings.Contains(strings.ToLower(p.SafetyNotice+p.Name), "complaint") {
		t.Error("the policy calls escalation a complaint")
	}
	// The embedded set: the four procedures, no drills.
	var ids []string
	for _, q := range r.All() {
		ids = append(ids, q.ID)
		if q.Drill {
			t.Errorf("embedded drill %s: drills come only from POLICY_DIR", q.ID)
		}
	}
	if got, want := strings.Join(ids, " "), "devon four-stage northamptonshire nottingham-nottinghamshire"; got != want {
		t.Errorf("All() = %s, want %s", got, want)
	}
	if _, ok := r.Get("northamptonshire-drill"); ok {
		t.Error("northamptonshire-drill is embedded")
	}
}

// The contract example through the loaded policy: stage 1 started at 14:00
// on Thu 24 Dec 2026 is due at 17:00 on Wed 30 Dec 2026.
func TestNorthamptonshireStageDue(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("northamptonshire")
	start := instant(t, "2026-12-24T14:00:00Z")
	for _, tc := range []struct {
		stage int
		want  string
	}{
		{1, "2026-12-30T17:00:00+00:00 GMT"}, // 2 working days: 29, 30
		{2, "2027-01-05T17:00:00+00:00 GMT"}, // 5: 29, 30, 31, 4, 5
		{4, "2026-12-30T17:00:00+00:00 GMT"},
		{5, "2027-01-05T17:00:00+00:00 GMT"},
	} {
		due, err := p.StageDue(tc.stage, start)
		if err != nil {
			t.Fatal(err)
		}
		if got := due.Format(instantLayout); got != tc.want {
			t.Errorf("stage %d due %s, want %s", tc.stage, got, tc.want)
		}
	}
	if _, err := p.StageDue(6, start); err == nil {
		t.Error("stage 6 has a deadline")
	}
}

func TestLoadDrill(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := r.Get("northamptonshire-drill")
	if !ok {
		t.Fatal("no northamptonshire-drill")
	}
	base, ok := r.Get("northamptonshire")
	if !ok {
		t.Fatal("loading drills lost the base policy")
	}
	if !d.Drill || d.DrillOf != "northamptonshire" || d.RefPrefix != "DRILL" || !strings.Contains(d.Name, "drill") {
		t.Errorf("drill header: drill %v, of %q, prefix %q, name %q", d.Drill, d.DrillOf, d.RefPrefix, d.Name)
	}
	if len(d.Stages) != 5 {
		t.Fatalf("%d stages", len(d.Stages))
	}
	for i, s := range d.Stages {
		if s.Timescale != (Timescale{30, UnitSeconds}) || s.Within != "30 seconds" {
			t.Errorf("drill stage %d: %+v %q", i+1, s.Timescale, s.Within)
		}
		b := base.Stages[i]
		if s.Number != b.Number || s.OnTimeout != b.OnTimeout || s.Partnership != b.Partnership || s.EvidenceRequired != b.EvidenceRequired {
			t.Errorf("drill stage %d differs from the policy's beyond its timescale", i+1)
		}
		if b.Timescale.Unit != UnitWorkingDays {
			t.Errorf("making the drill changed the base policy's stage %d: %+v", i+1, b.Timescale)
		}
	}
	if len(d.Categories) != len(base.Categories) || d.SafetyNotice != base.SafetyNotice {
		t.Error("the drill lost the policy's categories or safety notice")
	}
	start := instant(t, "2026-12-24T14:00:00Z")
	if due, err := d.StageDue(1, start); err != nil || due.Sub(start) != 30*time.Second {
		t.Errorf("drill stage 1 due %s, %v; want 30 seconds", due, err)
	}
	// Every drill in the directory lasts seconds, never working days.
	drills := 0
	for _, p := range r.All() {
		if !p.Drill {
			continue
		}
		drills++
		for _, s := range p.Stages {
			if ts := s.StepTimescale(0, false); ts.Unit != UnitSeconds {
				t.Errorf("%s stage %d: %s", p.ID, s.Number, ts)
			}
		}
	}
	if drills != 4 {
		t.Errorf("%d drills, want 4", drills)
	}
}

// northamptonshireYAML is the embedded policy file, the base of the
// mistakes below.
func northamptonshireYAML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("northamptonshire.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineContaining is the 1-based number of the first line of doc containing s.
func lineContaining(t *testing.T, doc, s string) int {
	t.Helper()
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q is not in the document", s)
	return 0
}

// replaceOnce replaces old, which must occur in doc, once.
func replaceOnce(t *testing.T, doc, old, new string) string {
	t.Helper()
	if !strings.Contains(doc, old) {
		t.Fatalf("the fixture lacks %q", old)
	}
	return strings.Replace(doc, old, new, 1)
}

// dropSafetyNotice removes the safety_notice block, replacing it with repl.
func dropSafetyNotice(doc, repl string) string {
	var out []string
	skipping := false
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(l, "safety_notice:"):
			if repl != "" {
				out = append(out, repl)
			}
			skipping = true
		case skipping && strings.HasPrefix(l, "  "):
		default:
			skipping = false
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// messageLine is the form of every line of a refusal:
// "<file> line N: <field>: <problem>; <fix>".
func messageLine(file string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(file) + ` line [1-9][0-9]*: [^ :]+: .+; .+$`)
}

// checkRefusal asserts err refuses the file with a line that names the file,
// the line and the field, and contains the problem and the fix; and that
// every line of the message has the same form.
func checkRefusal(t *testing.T, err error, file string, line int, field, problem, fix string) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted")
	}
	form := messageLine(file)
	prefix := fmt.Sprintf("%s line %d: %s: ", file, line, field)
	found := false
	for _, l := range strings.Split(err.Error(), "\n") {
		if !form.MatchString(l) {
			t.Errorf("line %q is not %q", l, "<file> line N: <field>: <problem>; <fix>")
		}
		if strings.HasPrefix(l, prefix) {
			rest := strings.TrimPrefix(l, prefix)
			p, f, ok := strings.Cut(rest, "; ")
			if ok && strings.Contains(p, problem) && strings.Contains(f, fix) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("message:\n%s\nwant a line %q with problem %q and fix %q", err, prefix+"...", problem, fix)
	}
}

func TestParseRefusals(t *testing.T) {
	const file = "policies/x.yaml"
	type edit func(t *testing.T, doc string) string
	replace := func(old, new string) edit {
		return func(t *testing.T, doc string) string { return replaceOnce(t, doc, old, new) }
	}
	whole := func(s string) edit { return func(*testing.T, string) string { return s } }
	cases := []struct {
		name    string
		edit    edit
		at      string // a text on the line the message must name ("" = line 1)
		field   string
		problem string
		fix     string
	}{
		// Timescales.
		{"unknown timescale unit",
			replace("within: 5 working days\n    as_written: within 5 working days of stage 1", "within: 5 workdays\n    as_written: x"),
			"within: 5 workdays", "stages[1].within", `unknown unit "workdays"`, "README.md (Policies)"},
		{"plain days are ambiguous",
			replace("within: 2 working days\n    as_written: acknowledgement", "within: 2 days\n    as_written: acknowledgement"),
			"within: 2 days", "stages[0].within", `unknown unit "days"`, "README.md (Policies)"},
		{"zero working days",
			replace("within: 5 working days\n    as_written: mediation", "within: 0 working days\n    as_written: mediation"),
			"within: 0 working days", "stages[4].within", "at least 1", "README.md (Policies)"},
		{"more than ten years",
			replace("within: 2 working days\n    as_written: acknowledgement", "within: 100000 hours\n    as_written: acknowledgement"),
			"within: 100000 hours", "stages[0].within", "more than ten years", "README.md (Policies)"},
		{"agreed per case without a default",
			replace("within: 2 working days\n    as_written: acknowledgement", "within: agreed per case\n    as_written: acknowledgement"),
			"within: agreed per case", "stages[0].within", "needs the partnership's default", `add default: "5 working days"`},
		{"a default on a fixed stage",
			replace("within: 2 working days\n    as_written: acknowledgement", "within: 2 working days\n    default: 3 working days\n    as_written: acknowledgement"),
			"default: 3 working days", "stages[0].default", "apply only to an \"agreed per case\" stage", "remove them"},

		// Stages and on_timeout.
		{"stage numbers out of order",
			replace("  - number: 3", "  - number: 4"),
			"- number: 4", "stages[2].number", "stage number 4 out of order", "this one should be 3"},
		{"mediation with no partnership stage",
			replace("    partnership: true", "    partnership: false"),
			"on_timeout: mediation", "stages[3].on_timeout", `"mediation" points nowhere`, "mark the last stage partnership: true"},
		{"unknown on_timeout",
			replace("on_timeout: mediation", "on_timeout: shout"),
			"on_timeout: shout", "stages[3].on_timeout", `unknown action "shout"`, `use "escalate", "mediation" or "notify"`},
		{"on_timeout left empty",
			replace("on_timeout: mediation", `on_timeout: ""`),
			`on_timeout: ""`, "stages[3].on_timeout", `unknown action ""`, `use "escalate", "mediation" or "notify"`},
		{"escalate at the last stage",
			replace("on_timeout: notify", "on_timeout: escalate # last"),
			"# last", "stages[4].on_timeout", "the last stage cannot escalate", `use "notify" at the last stage`},
		{"partnership stage not last",
			replace("    meeting: Resolution meeting", "    meeting: Resolution meeting\n    partnership: true # early"),
			"# early", "stages[3].partnership", "must be the last stage", "move it to the end"},
		{"stage without a name",
			replace("    name: Direct manager to manager discussion", `    name: ""`),
			`name: ""`, "stages[1].name", "missing", "name the stage"},

		// Calendar and clock.
		{"unknown calendar",
			replace("calendar: england-and-wales", "calendar: wales"),
			"calendar: wales", "calendar", `unknown calendar "wales"`, "use one of england-and-wales, northern-ireland, scotland"},
		{"unknown time zone",
			replace("timezone: Europe/London", "timezone: Europe/Londinium"),
			"timezone: Europe/Londinium", "timezone", `unknown time zone "Europe/Londinium"`, "IANA time zone"},
		{"host-dependent time zone",
			replace("timezone: Europe/London", "timezone: Local"),
			"timezone: Local", "timezone", `unknown time zone "Local"`, "IANA time zone"},
		{"end of day not a time",
			replace(`end_of_day: "17:00"`, "end_of_day: 5pm"),
			"end_of_day: 5pm", "end_of_day", `end of day "5pm"`, `e.g. "17:00"`},
		{"closure not a date",
			replace("reminder: half-way", "closures: [2026-12-24, 2026-02-30]\nreminder: half-way"),
			"closures:", "closures[1]", `"2026-02-30" is not a date`, "yyyy-mm-dd"},

		// Header fields.
		{"lower-case ref_prefix",
			replace("ref_prefix: NSCP", "ref_prefix: nscp"),
			"ref_prefix: nscp", "ref_prefix", `"nscp" is not a reference prefix`, "use 2 to 10 capital letters or digits"},
		{"one-letter ref_prefix",
			replace("ref_prefix: NSCP", "ref_prefix: N"),
			"ref_prefix: N", "ref_prefix", `"N" is not a reference prefix`, "use 2 to 10 capital letters or digits"},
		{"ref_prefix with a hyphen",
			replace("ref_prefix: NSCP", "ref_prefix: NS-CP"),
			"ref_prefix: NS-CP", "ref_prefix", `"NS-CP" is not a reference prefix`, "capital letters"},
		{"ref_prefix too long",
			replace("ref_prefix: NSCP", "ref_prefix: ABCDEFGHIJK"),
			"ref_prefix: ABCDEFGHIJK", "ref_prefix", `"ABCDEFGHIJK" is not a reference prefix`, "capital letters"},
		{"bad id",
			replace("id: northamptonshire", "id: Northamptonshire"),
			"id: Northamptonshire", "id", `"Northamptonshire" is not a policy id`, "lower-case letters"},
		{"empty safety_notice",
			func(t *testing.T, doc string) string { return dropSafetyNotice(doc, `safety_notice: ""`) },
			`safety_notice: ""`, "safety_notice", "missing", "give the immediate-risk notice shown whenever a case starts"},
		{"blank safety_notice",
			func(t *testing.T, doc string) string { return dropSafetyNotice(doc, `safety_notice: "   "`) },
			`safety_notice: "   "`, "safety_notice", "missing", "give the immediate-risk notice"},
		{"no safety_notice at all: the line is the policy's first field",
			func(t *testing.T, doc string) string { return dropSafetyNotice(doc, "") },
			"id: northamptonshire", "safety_notice", "missing", "give the immediate-risk notice"},
		{"business office without an email address",
			replace("email: business.office@nscp.example.org", "email: business office"),
			"email: business office", "business_office.email", "not an email address", "mailbox"},
		{"two categories with one id",
			replace("  - id: threshold-health-service", "  - id: threshold-csc-assessment # again"),
			"# again", "categories[1].id", `"threshold-csc-assessment" is not a new category id`, "unique"},
		{"unknown reminder",
			replace("reminder: half-way", "reminder: daily"),
			"reminder: daily", "reminder", `unknown reminder "daily"`, `use "half-way", "three-quarters"`},
		{"unknown deadlines_agreed_by",
			replace("deadlines_agreed_by: both", "deadlines_agreed_by: raiser"),
			"deadlines_agreed_by: raiser", "deadlines_agreed_by", `unknown deadlines_agreed_by "raiser"`, `use "both"`},

		// Fields the format does not have (yaml KnownFields).
		{"unknown top-level field",
			replace("calendar: england-and-wales", "colour: blue\ncalendar: england-and-wales"),
			"colour: blue", "colour", `"colour" is not a field of a policy`, "remove it or correct its spelling"},
		{"misspelt top-level field",
			replace("safety_notice: >-", "safety_notise: >-"),
			"safety_notise:", "safety_notise", `"safety_notise" is not a field of a policy`, "correct its spelling"},
		{"unknown stage field",
			replace("    repeat: true", "    repeat: true\n    repeats: 3"),
			"repeats: 3", "stages[2].repeats", `"repeats" is not a field of a stage`, "remove it or correct its spelling"},
		{"unknown business_office field",
			replace("  name: NSCP Business Office", "  name: NSCP Business Office\n  phone: 01604"),
			"phone: 01604", "business_office.phone", `"phone" is not a field of a contact`, "remove it"},
		{"a field given twice",
			replace("ref_prefix: NSCP", "ref_prefix: NSCP\nid: other"),
			"id: other", "id", "given twice (first at line 5)", "keep only one"},
		{"a word where a number goes",
			replace("  - number: 1", "  - number: one"),
			"number: one", "stages[0].number", "cannot unmarshal !!str `one` into int", "write a whole number"},
		{"a word where true or false goes",
			replace("    evidence_required: false", "    evidence_required: perhaps"),
			"evidence_required: perhaps", "stages[0].evidence_required", "cannot unmarshal", "write true or false"},
		{"a mapping where text goes",
			replace("calendar: england-and-wales", "calendar:\n  name: england-and-wales"),
			"  name: england-and-wales", "calendar", "cannot unmarshal !!map into string", "write text"},
		{"text where a list of categories goes",
			replace("categories:\n", "categories: all of them\nx_categories:\n"),
			"categories: all of them", "categories", "cannot unmarshal", "write a list"},

		// The file as a whole.
		{"empty file", whole(""), "", "(document)", "the file is empty", "write a policy"},
		{"comments only", whole("# a policy will go here\n"), "", "(document)", "the file is empty", "write a policy"},
		{"a list, not a policy", whole("- id: northamptonshire\n"), "", "(document)", "not a list", "start from a copy of policies/northamptonshire.yaml"},
		{"a single value, not a policy", whole("northamptonshire\n"), "", "(document)", "not a single value", "start from a copy"},
		{"two documents in one file",
			func(t *testing.T, doc string) string { return doc + "---\nid: another\n" },
			"id: another", "(document)", "a second YAML document", "put each policy in its own file"},

		// YAML syntax: the line the mistake is on, the key there if any.
		{"invalid YAML: unclosed bracket on the only line", whole("id: [unclosed"), "", "id", "did not find expected ',' or ']'", "fix the YAML"},
		{"invalid YAML: unclosed bracket in a stage",
			replace("    who: The line managers' own line managers", "    who: [The line managers' own line managers"),
			"who: [The line", "who", "did not find expected ',' or ']'", "fix the YAML"},
		{"invalid YAML: a colon inside a value",
			replace("name: Northamptonshire Safeguarding Children Partnership", "name: Northamptonshire: Safeguarding Children Partnership"),
			"name: Northamptonshire:", "name", "mapping values are not allowed in this context", "fix the YAML"},
		{"invalid YAML: a tab for indentation",
			replace("  name: NSCP Business Office", "\tname: NSCP Business Office"),
			"\tname: NSCP Business Office", "name", "tab character", "indentation with spaces"},
		{"invalid YAML: unterminated quote",
			replace("ref_prefix: NSCP", `ref_prefix: "NSCP`),
			`ref_prefix: "NSCP`, "ref_prefix", "unexpected end of stream", "matching quotes"},
		{"invalid YAML: a list item where a key goes",
			replace("reminder: half-way", "reminder: half-way\n- stray"),
			"- stray", "(syntax)", "did not find expected key", "fix the YAML"},
		{"invalid YAML: unknown alias",
			replace("timezone: Europe/London", "timezone: *zone"),
			"timezone: *zone", "timezone", "unknown anchor 'zone' referenced", "fix the YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.edit(t, northamptonshireYAML(t))
			line := 1
			if tc.at != "" {
				line = lineContaining(t, doc, tc.at)
			}
			_, err := Parse(file, []byte(doc))
			checkRefusal(t, err, file, line, tc.field, tc.problem, tc.fix)
		})
	}
}

// Several mistakes are all reported, one line each, in file order.
func TestParseReportsEveryMistake(t *testing.T) {
	const file = "x.yaml"
	doc := northamptonshireYAML(t)
	doc = replaceOnce(t, doc, "ref_prefix: NSCP", "ref_prefix: nscp")
	doc = replaceOnce(t, doc, "calendar: england-and-wales", "calendar: wales")
	doc = replaceOnce(t, doc, "on_timeout: notify", "on_timeout: escalate # last")
	_, err := Parse(file, []byte(doc))
	checkRefusal(t, err, file, lineContaining(t, doc, "ref_prefix: nscp"), "ref_prefix", "not a reference prefix", "capital letters")
	checkRefusal(t, err, file, lineContaining(t, doc, "calendar: wales"), "calendar", "unknown calendar", "use one of")
	checkRefusal(t, err, file, lineContaining(t, doc, "# last"), "stages[4].on_timeout", "cannot escalate", `use "notify"`)
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Errorf("%d lines, want 3:\n%s", n, err)
	}
	// Two unknown fields and a wrong kind, reported together.
	doc = northamptonshireYAML(t)
	doc = replaceOnce(t, doc, "calendar: england-and-wales", "colour: blue\ncalendar: england-and-wales")
	doc = replaceOnce(t, doc, "  - number: 2", "  - number: two")
	doc = replaceOnce(t, doc, "    repeat: true", "    repeat: true\n    repeats: 3")
	_, err = Parse(file, []byte(doc))
	checkRefusal(t, err, file, lineContaining(t, doc, "colour: blue"), "colour", "not a field of a policy", "remove it")
	checkRefusal(t, err, file, lineContaining(t, doc, "number: two"), "stages[1].number", "cannot unmarshal", "whole number")
	checkRefusal(t, err, file, lineContaining(t, doc, "repeats: 3"), "stages[2].repeats", "not a field of a stage", "remove it")
}

func TestParseAcceptsEveryEmbeddedPolicy(t *testing.T) {
	for _, name := range []string{"northamptonshire.yaml", "nottingham-nottinghamshire.yaml", "devon.yaml", "four-stage.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(name, b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// A trailing document end or an empty second document is harmless.
		if _, err := Parse(name, append(b, "---\n"...)); err != nil {
			t.Errorf("%s with a trailing ---: %v", name, err)
		}
	}
}

func TestParseDrillRefusals(t *testing.T) {
	const file = "drill/x-drill.yaml"
	good := "id: x-drill\nref_prefix: XDRILL\ndrill_of: northamptonshire\ndrill_within: 30 seconds\n"
	if p, err := Parse(file, []byte(good)); err != nil || p.DrillOf != "northamptonshire" || p.DrillWithin != "30 seconds" {
		t.Fatalf("good drill: %+v, %v", p, err)
	}
	for _, tc := range []struct {
		name, old, new, at, field, problem, fix string
	}{
		{"working days are no drill", "drill_within: 30 seconds", "drill_within: 2 working days", "drill_within", "drill_within", "is not a clock timescale", `write e.g. "30 seconds"`},
		{"agreed per case is no drill", "drill_within: 30 seconds", "drill_within: agreed per case", "drill_within", "drill_within", "is not a clock timescale", `"30 seconds"`},
		{"no drill_within", "drill_within: 30 seconds", "", "id:", "drill_within", `drill_within "" is not a clock timescale`, `"30 seconds"`},
		{"bad id", "id: x-drill", "id: X Drill", "id:", "id", `"X Drill" is not a policy id`, "lower-case letters"},
		{"bad prefix", "ref_prefix: XDRILL", "ref_prefix: x", "ref_prefix", "ref_prefix", `"x" is not a reference prefix`, "e.g. DRILL"},
		{"stages in a drill", "drill_within: 30 seconds", "drill_within: 30 seconds\nstages:\n  - number: 1", "drill_of", "drill_of", "takes its stages and categories from drill_of", "remove them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := replaceOnce(t, good, tc.old, tc.new)
			_, err := Parse(file, []byte(doc))
			checkRefusal(t, err, file, lineContaining(t, doc, tc.at), tc.field, tc.problem, tc.fix)
		})
	}
}

// writePolicy writes a file into dir and returns its path.
func writePolicy(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// another is the Northamptonshire policy under another id and prefix.
func another(t *testing.T, id, prefix string) string {
	doc := replaceOnce(t, northamptonshireYAML(t), "id: northamptonshire", "id: "+id)
	return replaceOnce(t, doc, "ref_prefix: NSCP", "ref_prefix: "+prefix)
}

func TestPolicyDirOverridesEmbedded(t *testing.T) {
	dir := t.TempDir()
	override := replaceOnce(t, northamptonshireYAML(t), "email: business.office@nscp.example.org", "email: real.office@nscp.gov.uk")
	writePolicy(t, dir, "our-northamptonshire.yaml", override)
	writePolicy(t, dir, "extra.yml", another(t, "extra", "EXTRA"))
	writePolicy(t, dir, "notes.txt", "not a policy")
	writePolicy(t, dir, "README.md", "# not a policy either")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Get("northamptonshire")
	if !ok || p.BusinessOffice.Email != "real.office@nscp.gov.uk" {
		t.Fatalf("POLICY_DIR did not replace the embedded policy: %+v", p.BusinessOffice)
	}
	var ids []string
	for _, q := range r.All() {
		ids = append(ids, q.ID)
	}
	if got, want := strings.Join(ids, " "), "devon extra four-stage northamptonshire nottingham-nottinghamshire"; got != want {
		t.Errorf("All() = %s, want %s", got, want)
	}
	// The embedded set is untouched for the next Load.
	r2, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := r2.Get("northamptonshire"); p.BusinessOffice.Email != "business.office@nscp.example.org" {
		t.Errorf("embedded policy changed: %+v", p.BusinessOffice)
	}
}

// A drill of an overridden policy drills the override.
func TestPolicyDirDrillOfOverride(t *testing.T) {
	dir := t.TempDir()
	override := replaceOnce(t, northamptonshireYAML(t), "name: Northamptonshire Safeguarding Children Partnership", "name: Overridden")
	writePolicy(t, dir, "a.yaml", override)
	writePolicy(t, dir, "b.yaml", "id: n-drill\nref_prefix: ND\ndrill_of: northamptonshire\ndrill_within: 5 seconds\n")
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := r.Get("n-drill")
	if !ok || !strings.HasPrefix(d.Name, "Overridden") || d.Stages[0].Timescale != (Timescale{5, UnitSeconds}) {
		t.Fatalf("drill: %v %q %+v", ok, d.Name, d.Stages[0].Timescale)
	}
}

func TestPolicyDirRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   [][2]string // name, body, written in order
		bad     string      // the file the message must name
		at      string      // text on the line it must name
		field   string
		problem string
		fix     string
	}{
		{"duplicate ids across files",
			[][2]string{{"a.yaml", "ANOTHER:dup:DUPA"}, {"b.yaml", "ANOTHER:dup:DUPB"}},
			"b.yaml", "id: dup", "id", `policy id "dup" is also defined in `, "give each policy its own id"},
		{"two files overriding one embedded policy",
			[][2]string{{"a.yaml", "NORTHANTS"}, {"b.yml", "NORTHANTS"}},
			"b.yml", "id: northamptonshire", "id", `policy id "northamptonshire" is also defined in `, "give each policy its own id"},
		{"a mistake in a POLICY_DIR file names its path",
			[][2]string{{"bad.yaml", "BADCAL"}},
			"bad.yaml", "calendar: wales", "calendar", `unknown calendar "wales"`, "use one of"},
		{"drill of a policy that is not loaded",
			[][2]string{{"d.yaml", "id: d-drill\nref_prefix: DD\ndrill_of: nowhere\ndrill_within: 30 seconds\n"}},
			"d.yaml", "drill_of: nowhere", "drill_of", `"nowhere" is not a loaded policy`, "name an embedded policy or one in POLICY_DIR"},
		{"drill of a drill",
			[][2]string{
				{"d1.yaml", "id: d1\nref_prefix: DA\ndrill_of: northamptonshire\ndrill_within: 30 seconds\n"},
				{"d2.yaml", "# a drill of a drill\nid: d2\nref_prefix: DB\ndrill_of: d1\ndrill_within: 30 seconds\n"},
			},
			"d2.yaml", "drill_of: d1", "drill_of", `"d1" is not a loaded policy`, "not another drill"},
		{"empty file in the directory",
			[][2]string{{"empty.yaml", ""}},
			"empty.yaml", "", "(document)", "the file is empty", "write a policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var badBody string
			for _, f := range tc.files {
				body := f[1]
				switch {
				case strings.HasPrefix(body, "ANOTHER:"):
					parts := strings.Split(body, ":")
					body = another(t, parts[1], parts[2])
				case body == "NORTHANTS":
					body = northamptonshireYAML(t)
				case body == "BADCAL":
					body = replaceOnce(t, northamptonshireYAML(t), "calendar: england-and-wales", "calendar: wales")
				}
				writePolicy(t, dir, f[0], body)
				if f[0] == tc.bad {
					badBody = body
				}
			}
			line := 1
			if tc.at != "" {
				line = lineContaining(t, badBody, tc.at)
			}
			_, err := Load(dir)
			checkRefusal(t, err, filepath.Join(dir, tc.bad), line, tc.field, tc.problem, tc.fix)
			if strings.Contains(tc.problem, "also defined in") && !strings.Contains(err.Error(), filepath.Join(dir, tc.files[0][0])) {
				t.Errorf("the message does not name the first file: %v", err)
			}
		})
	}
}

// With several bad drills the same one is reported every time, whatever the
// map order.
func TestPolicyDirDrillErrorsAreDeterministic(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		writePolicy(t, dir, id+".yaml", fmt.Sprintf("id: %s-drill\nref_prefix: DD\ndrill_of: nowhere-%s\ndrill_within: 30 seconds\n", id, id))
	}
	_, first := Load(dir)
	if first == nil {
		t.Fatal("accepted")
	}
	for i := 0; i < 20; i++ {
		if _, err := Load(dir); err == nil || err.Error() != first.Error() {
			t.Fatalf("run %d: %v\nfirst: %v", i, err, first)
		}
	}
	if n := len(strings.Split(first.Error(), "\n")); n != 6 {
		t.Errorf("%d lines, want one per bad drill:\n%s", n, first)
	}
}

func TestPolicyDirMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "POLICY_DIR") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing dir: %v", err)
	}
}

// A facilitator's role or independence belongs to a stage that holds a
// meeting; Northamptonshire's stage 5 is such a stage (mediation by a
// Strategic Lead not involved in the case).
func TestFacilitatorRulesNeedAMeeting(t *testing.T) {
	const file = "policies/x.yaml"
	for _, tc := range []struct {
		name, old, new, at, field string
	}{
		{"independent facilitator without a meeting",
			"    meeting: Mediation meeting\n", "    # no meeting\n", "facilitator_independent: true", "stages[4].facilitator_independent"},
		{"facilitator role without a meeting",
			"    meeting: Mediation meeting\n    facilitator_role: Mediator\n    facilitator_independent: true\n",
			"    facilitator_role: Mediator\n", "facilitator_role: Mediator", "stages[4].facilitator_role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := replaceOnce(t, northamptonshireYAML(t), tc.old, tc.new)
			_, err := Parse(file, []byte(doc))
			checkRefusal(t, err, file, lineContaining(t, doc, tc.at), tc.field,
				"a facilitator applies only to a stage that holds a meeting", "add meeting:")
		})
	}
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("northamptonshire")
	s5 := p.Stages[4]
	if s5.Meeting == "" || !s5.FacilitatorIndependent || s5.FacilitatorRole != "Mediator" {
		t.Errorf("stage 5 meeting %q independent %v role %q", s5.Meeting, s5.FacilitatorIndependent, s5.FacilitatorRole)
	}
	if s4 := p.Stages[3]; s4.FacilitatorIndependent {
		t.Error("stage 4's resolution meeting requires an independent facilitator: the document does not say so")
	}
}

// Northamptonshire stage 5: "the matter will be referred to the Business
// Office of the Safeguarding Children Partnership where one of the Strategic
// Leads will offer mediation" (northamptonshire-escalating-for-the-right-
// outcome.txt, Stage 5): its outcome follows the mediation (or the offer
// declined). Only a partnership stage with a meeting can say so.
func TestOutcomeAfterMeeting(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("northamptonshire")
	if !p.Stages[4].OutcomeAfterMeeting || p.Stages[3].OutcomeAfterMeeting {
		t.Errorf("stage 5 outcome_after_meeting %v, stage 4 %v", p.Stages[4].OutcomeAfterMeeting, p.Stages[3].OutcomeAfterMeeting)
	}
	const file = "policies/x.yaml"
	doc := replaceOnce(t, northamptonshireYAML(t), "    meeting: Resolution meeting\n", "    meeting: Resolution meeting\n    outcome_after_meeting: true\n")
	_, err = Parse(file, []byte(doc))
	checkRefusal(t, err, file, lineContaining(t, doc, "outcome_after_meeting: true"), "stages[3].outcome_after_meeting",
		"no meeting or is not the partnership stage", "remove outcome_after_meeting")
}

// Urgent timescales are per stage. Where a policy has them, every stage has
// one and partnership_settings says they are the partnership's own; Devon
// has none and says urgency there only allows skipping stages.
func TestUrgentTimescalesArePartnershipSettings(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := instant(t, "2026-11-23T09:00:00Z") // Monday
	for _, tc := range []struct {
		id     string
		urgent []string // per stage; nil: none
		// due of an urgent stage 1 started Monday 09:00
		due string
	}{
		{"northamptonshire", []string{"1 working day", "1 working day", "1 working day", "1 working day", "2 working days"}, "2026-11-24T17:00:00+00:00 GMT"},
		{"nottingham-nottinghamshire", []string{"1 working day", "1 working day"}, "2026-11-24T17:00:00+00:00 GMT"},
		{"four-stage", []string{"4 hours", "4 hours", "4 hours", "4 hours"}, "2026-11-23T13:00:00+00:00 GMT"},
		{"devon", nil, "2026-11-25T17:00:00+00:00 GMT"}, // no urgent timescale: the normal 2 working days
	} {
		t.Run(tc.id, func(t *testing.T) {
			p, ok := r.Get(tc.id)
			if !ok {
				t.Fatalf("no policy %s", tc.id)
			}
			settings := strings.ToLower(strings.Join(p.PartnershipSettings, "\n"))
			if tc.urgent != nil && len(tc.urgent) != len(p.Stages) {
				t.Fatalf("%d stages, the table has %d", len(p.Stages), len(tc.urgent))
			}
			for i, s := range p.Stages {
				want := ""
				if tc.urgent != nil {
					want = tc.urgent[i]
				}
				if s.UrgentWithin != want || (want != "") != (s.UrgentTimescale != nil) {
					t.Errorf("stage %d urgent_within %q (%v), want %q", s.Number, s.UrgentWithin, s.UrgentTimescale, want)
				}
			}
			if !strings.Contains(settings, "urgent") {
				t.Errorf("partnership_settings do not mention urgent cases:\n%s", settings)
			}
			if tc.urgent == nil && !strings.Contains(settings, "only allows a case to skip stages") {
				t.Errorf("partnership_settings do not say urgency only allows skipping stages:\n%s", settings)
			}
			s1, _ := p.Stage(1)
			c, err := p.Clock()
			if err != nil {
				t.Fatal(err)
			}
			due, err := s1.StepTimescale(0, true).DueAt(start, c)
			if err != nil {
				t.Fatal(err)
			}
			if got := due.In(c.Location).Format(instantLayout); got != tc.due {
				t.Errorf("urgent stage 1 due %s, want %s", got, tc.due)
			}
		})
	}
}

// Every document lists its areas of disagreement as examples:
// northamptonshire-escalating-for-the-right-outcome.txt, "Areas of
// Conflict": "this is by no means an exhaustive list"; nottingham-
// nottinghamshire-escalating-for-the-right-outcome.txt: "(this list is not
// exhaustive)"; four-stage-resolving-professional-differences.txt, "1.
// Introduction": "a non-exhaustive list of potential areas of disagreement";
// devon-conflict-and-case-resolution-protocol.txt: disagreements "are most
// likely to arise around" its list. So every policy, and every drill of one,
// has the category other, which asks what the disagreement is about
// (spec/api.md, "Additions (v1.1)": category_detail, 1 to 200 characters).
func TestEveryPolicyHasCategoryOther(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.All()); n != 8 {
		t.Fatalf("%d policies, want the four and their drills", n)
	}
	for _, p := range r.All() {
		t.Run(p.ID, func(t *testing.T) {
			other, ok := p.Category(CategoryOther)
			if !ok || !other.NeedsDetail || other.Label == "" {
				t.Fatalf("category other: %+v, %v", other, ok)
			}
			for _, c := range p.Categories {
				if c.NeedsDetail != (c.ID == CategoryOther) {
					t.Errorf("category %s needs_detail %v", c.ID, c.NeedsDetail)
				}
			}
			// Served: GET /v1/policies shows which category needs a detail.
			b, err := json.Marshal(p.Categories)
			if err != nil {
				t.Fatal(err)
			}
			var served []map[string]any
			if err := json.Unmarshal(b, &served); err != nil {
				t.Fatal(err)
			}
			for _, c := range served {
				if nd, ok := c["needs_detail"].(bool); !ok || nd != (c["id"] == CategoryOther) {
					t.Errorf("served category %v", c)
				}
			}
		})
	}
}

func TestCategoryOtherRefusals(t *testing.T) {
	const file = "policies/x.yaml"
	const other = "  - id: other\n    label: Other (describe)\n    needs_detail: true\n"
	for _, tc := range []struct {
		name, old, new, at, field, problem, fix string
	}{
		{"no category other", other, "", "categories:", "categories",
			`no category "other"`, `add - {id: other, label: "Other (describe)", needs_detail: true}`},
		{"other without needs_detail", other, "  - id: other\n    label: Other (describe)\n", "- id: other", "categories[12].id",
			`category "other" must ask what the disagreement is about`, "add needs_detail: true"},
		{"other with needs_detail false", other, "  - id: other\n    label: Other (describe)\n    needs_detail: false\n", "- id: other", "categories[12].id",
			`category "other" must ask`, "add needs_detail: true"},
		{"needs_detail on another category", "    label: Communication\n", "    label: Communication\n    needs_detail: true\n",
			"needs_detail: true", "categories[11].needs_detail", `only category "other" needs a detail`, "remove needs_detail"},
		{"needs_detail not true or false", "    needs_detail: true\n", "    needs_detail: please\n", "needs_detail: please",
			"categories[12].needs_detail", "cannot unmarshal", "write true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := replaceOnce(t, northamptonshireYAML(t), tc.old, tc.new)
			_, err := Parse(file, []byte(doc))
			checkRefusal(t, err, file, lineContaining(t, doc, tc.at), tc.field, tc.problem, tc.fix)
		})
	}
}

func TestCategoryCheckDetail(t *testing.T) {
	other := Category{ID: CategoryOther, Label: "Other (describe)", NeedsDetail: true}
	plain := Category{ID: "communication", Label: "Communication"}
	for _, tc := range []struct {
		name   string
		c      Category
		detail string
		want   string // "" accepted, else in the message
	}{
		{"other with a detail", other, "Disagreement about a school transport plan", ""},
		{"one character", other, "x", ""},
		{"200 characters", other, strings.Repeat("a", 200), ""},
		{"200 characters, not bytes", other, strings.Repeat("é", 200), ""},
		{"other without a detail", other, "", "needs category_detail"},
		{"other with only spaces", other, "   ", "needs category_detail"},
		{"201 characters", other, strings.Repeat("a", 201), "has 201 characters; write at most 200"},
		{"a newline", other, "first line\nsecond", "one line"},
		{"a carriage return", other, "header\r\nBcc: x@example.org", "one line"},
		{"a tab", other, "a\tb", "one line"},
		{"a NUL", other, "a\x00b", "one line"},
		{"a C1 control", other, "a\u0085b", "one line"},
		{"invalid UTF-8", other, "a\xffb", "not valid UTF-8"},
		{"a listed category without a detail", plain, "", ""},
		{"a listed category with a detail", plain, "more words", `category "communication" takes no category_detail`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.CheckDetail(tc.detail)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Contract v1.1, "Agreed deadlines": "Where the policy says deadlines are
// agreed by both sides, POST /v1/cases/{ref}/deadline proposes and the other
// side's POST /v1/cases/{ref}/deadline/confirm {} makes it take effect."
// Northamptonshire's document asks at every stage for "a mutually agreed
// plan of action, including timescales" (northamptonshire-escalating-for-
// the-right-outcome.txt, Stages 1 and 2); the other documents do not say who
// sets a deadline, so their "both" is the partnership's own setting and
// partnership_settings says so. None lets one side agree alone. A policy
// that says nothing agrees by both; "either" is accepted for a partnership
// whose document lets one side agree.
func TestDeadlinesAgreedByBothSides(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.All() {
		if p.DeadlinesAgreedBy != DeadlinesAgreedByBoth || !p.DeadlinesNeedBothSides() {
			t.Errorf("%s: deadlines_agreed_by %q, want both", p.ID, p.DeadlinesAgreedBy)
		}
		if p.ID == "northamptonshire" || p.DrillOf != "" {
			continue
		}
		found := false
		for _, s := range p.PartnershipSettings {
			found = found || strings.Contains(s, "agreed by both sides")
		}
		if !found {
			t.Errorf("%s: partnership_settings does not say that agreement by both sides is the partnership's own setting", p.ID)
		}
	}
	doc := replaceOnce(t, northamptonshireYAML(t), "deadlines_agreed_by: both\n", "")
	if p, err := Parse("policies/x.yaml", []byte(doc)); err != nil || p.DeadlinesAgreedBy != DeadlinesAgreedByBoth {
		t.Errorf("left out: %q, %v; want both", p.DeadlinesAgreedBy, err)
	}
	doc = replaceOnce(t, northamptonshireYAML(t), "deadlines_agreed_by: both", "deadlines_agreed_by: either")
	if p, err := Parse("policies/x.yaml", []byte(doc)); err != nil || p.DeadlinesNeedBothSides() {
		t.Errorf("either: %q, %v", p.DeadlinesAgreedBy, err)
	}
	if (Policy{}).DeadlinesNeedBothSides() {
		t.Error("a snapshot from before the setting must keep one side agreeing alone")
	}
}

// Contract v1.1, "Categories": a case with the category other needs
// category_detail, "shown wherever the category is": the record and the
// opening event show "Other: <detail>", never the label's "(describe)".
func TestCategoryShown(t *testing.T) {
	other := Category{ID: CategoryOther, Label: "Other (describe)", NeedsDetail: true}
	plain := Category{ID: "communication", Label: "Communication (and information sharing)"}
	for _, tc := range []struct {
		c            Category
		detail, want string
	}{
		{other, "School transport plan", "Other: School transport plan"},
		{other, "  School transport plan ", "Other: School transport plan"},
		{other, "", "Other (describe)"},
		{plain, "", "Communication (and information sharing)"},
		{plain, "ignored", "Communication (and information sharing)"},
		{Category{ID: CategoryOther, Label: "Anything else", NeedsDetail: true}, "x", "Anything else: x"},
	} {
		if got := tc.c.Shown(tc.detail); got != tc.want {
			t.Errorf("%q with %q: %q, want %q", tc.c.Label, tc.detail, got, tc.want)
		}
	}
}

// Nottingham, read from nottingham-nottinghamshire-escalating-for-the-right-
// outcome.txt. Its stages: the practitioners ("where disagreements are not
// resolved at a practitioner level") and "Stage Two", escalating to "the
// safeguarding lead ... for the organisation you wish to contact", found in
// "Appendix 2: Escalation contacts" or with the help of "the relevant SCB
// Business Manager" ("for assistance if you are escalating to Stage Two and
// you do not know who the safeguarding lead is"). "At every level
// professionals should consider if seeking advice or supervision from their
// line manager and / or safeguarding organisational lead would support
// them". Nothing in the document decides a case for the parties: there is no
// partnership stage. Timescales: "within a time frame which clearly protects
// the child, determined on a case-by-case basis".
func TestNottinghamAsTheDocumentHasIt(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("nottingham-nottinghamshire")
	if len(p.Stages) != 2 || p.LastStage() != 2 {
		t.Fatalf("%d stages, want the practitioners and Stage Two", len(p.Stages))
	}
	if p.PartnershipStage() != 0 {
		t.Errorf("stage %d is a partnership stage: the document has none", p.PartnershipStage())
	}
	s1, s2 := p.Stages[0], p.Stages[1]
	if s1.Name != "Practitioner level" || !strings.HasPrefix(s2.Name, "Stage Two") {
		t.Errorf("stage names %q, %q", s1.Name, s2.Name)
	}
	for _, s := range p.Stages {
		if s.Number != 2 && strings.Contains(strings.ToLower(s.Name), "stage two") {
			t.Errorf("stage %d is called %q", s.Number, s.Name)
		}
		if !strings.Contains(s.Who, "line manager and/or safeguarding organisational lead") {
			t.Errorf("stage %d: who %q does not give the advice available at every level", s.Number, s.Who)
		}
		if s.Timescale.Unit != UnitAgreed || s.DefaultTimescale == nil || s.MaximumTimescale == nil || s.UrgentTimescale == nil {
			t.Errorf("stage %d: within %q, default %v, maximum %v, urgent %v", s.Number, s.Within, s.DefaultTimescale, s.MaximumTimescale, s.UrgentTimescale)
		}
	}
	if s1.OnTimeout != OnTimeoutEscalate || s1.EvidenceRequired || s1.Repeat || len(s1.NotifyRoles) != 0 {
		t.Errorf("stage 1: %+v", s1)
	}
	if s2.OnTimeout != OnTimeoutNotify || !s2.EvidenceRequired || !s2.Repeat ||
		strings.Join(s2.NotifyRoles, ",") != "safeguarding-lead" || !s2.OfficeHelpsFindContacts {
		t.Errorf("stage two: %+v", s2)
	}
	if !strings.Contains(s2.Who, "helps find the safeguarding lead") || !strings.Contains(s2.Who, "does not decide") {
		t.Errorf("stage two: who %q does not say the business manager helps and does not decide", s2.Who)
	}
	settings := strings.Join(p.PartnershipSettings, "\n")
	for _, want := range []string{"no stage after Stage Two and no partnership decision", "never decides", "level by level",
		"partnership's reading", "two business managers", "2 working days at stage 1, 5 at Stage Two"} {
		if !strings.Contains(settings, want) {
			t.Errorf("partnership_settings do not say %q:\n%s", want, settings)
		}
	}
	for _, stale := range []string{"2, 5, 5 and 10", "stages 1 to 3", "The last stage (the partnership business manager)"} {
		if strings.Contains(settings, stale) {
			t.Errorf("partnership_settings still say %q", stale)
		}
	}
	// Default deadlines from Monday 23 Nov 2026 09:00: 2 working days, then 5.
	start := instant(t, "2026-11-23T09:00:00Z")
	for n, want := range map[int]string{1: "2026-11-25T17:00:00+00:00 GMT", 2: "2026-11-30T17:00:00+00:00 GMT"} {
		if due, err := p.StageDue(n, start); err != nil || due.Format(instantLayout) != want {
			t.Errorf("stage %d default due %s, %v; want %s", n, due.Format(instantLayout), err, want)
		}
	}
	// Where the business manager helps: an organisation the table lacks.
	for agency, want := range map[string]string{"schools": "", "notts-police": "", "a-local-charity": "safeguarding-lead"} {
		if got := strings.Join(p.MissingContacts(2, agency), ","); got != want {
			t.Errorf("stage two, %s: missing %q, want %q", agency, got, want)
		}
	}
	if got := p.MissingContacts(1, "a-local-charity"); len(got) != 0 {
		t.Errorf("stage 1 asks for contacts: %v", got)
	}
	if p.UsesEscalationContacts(1, 0) || !p.UsesEscalationContacts(2, 0) {
		t.Error("escalation contacts: stage 1 is the practitioners', Stage Two the safeguarding leads'")
	}
	// Its drill has the same two stages.
	d, _ := r.Get("nottingham-nottinghamshire-drill")
	if len(d.Stages) != 2 || d.PartnershipStage() != 0 || !d.Stages[1].OfficeHelpsFindContacts {
		t.Errorf("drill: %+v", d.Stages)
	}
}

func TestOfficeHelpsFindContactsNeedsRoles(t *testing.T) {
	const file = "policies/x.yaml"
	notts, err := readFile("nottingham-nottinghamshire.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := replaceOnce(t, notts, "    notify_roles: [safeguarding-lead]\n", "")
	_, err = Parse(file, []byte(doc))
	checkRefusal(t, err, file, lineContaining(t, doc, "office_helps_find_contacts:"), "stages[1].office_helps_find_contacts",
		"there are none", "add notify_roles")
}
