package policies

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestEmbeddedNorthamptonshire(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Get("northamptonshire")
	if !ok {
		t.Fatal("no northamptonshire policy")
	}
	wantDays := []int{2, 5, 5, 2, 5}
	wantTimeout := []string{"escalate", "escalate", "escalate", "mediation", "notify"}
	if len(p.Stages) != 5 {
		t.Fatalf("%d stages", len(p.Stages))
	}
	for i, s := range p.Stages {
		if s.Number != i+1 || s.Timescale != (Timescale{wantDays[i], UnitWorkingDays}) || s.OnTimeout != wantTimeout[i] {
			t.Errorf("stage %d: %+v", i+1, s)
		}
		if s.EvidenceRequired != (i > 0) {
			t.Errorf("stage %d evidence_required %v", i+1, s.EvidenceRequired)
		}
		if s.AsWritten == "" {
			t.Errorf("stage %d: no as_written", i+1)
		}
	}
	if p.PartnershipStage() != 5 || len(p.Categories) < 8 || !strings.Contains(p.SafetyNotice, "999") || len(p.PartnershipSettings) == 0 {
		t.Errorf("policy: partnership %d, %d categories, notice %q, settings %d", p.PartnershipStage(), len(p.Categories), p.SafetyNotice, len(p.PartnershipSettings))
	}
	if strings.Contains(strings.ToLower(p.SafetyNotice+p.Name), "complaint") {
		t.Error("the policy calls escalation a complaint")
	}
	if _, ok := r.Get("northamptonshire-drill"); ok {
		t.Error("the drill policy is embedded; it must come only from POLICY_DIR")
	}
	d, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	drill, ok := d.Get("northamptonshire-drill")
	if !ok || !drill.Drill || drill.Stages[0].Timescale != (Timescale{30, UnitSeconds}) {
		t.Fatalf("drill: %v %+v", ok, drill.Stages)
	}
}

func validPolicy() string {
	b, err := os.ReadFile("northamptonshire.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// lineOf is the 1-based line of the first line containing s.
func lineOf(t *testing.T, doc, s string) int {
	t.Helper()
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in document", s)
	return 0
}

// A policy with a mistake is refused with the file, the line, the field and
// what to do.
func TestPolicyMistakesAreExplained(t *testing.T) {
	base := validPolicy()
	cases := []struct {
		name, old, new, field, fix string
	}{
		{"unknown timescale unit", "within: 5 working days\n    as_written: within 5 working days of stage 1", "within: 5 workdays\n    as_written: within 5 working days of stage 1", "stages[1].within", "working days"},
		{"stage numbers out of order", "  - number: 3", "  - number: 4", "stages[2].number", "should be 3"},
		{"escalate at the last stage", "on_timeout: notify", "on_timeout: escalate", "stages[4].on_timeout", `use "notify"`},
		{"unknown on_timeout", "on_timeout: mediation", "on_timeout: shout", "stages[3].on_timeout", `"escalate", "mediation" or "notify"`},
		{"mediation points nowhere", "    partnership: true", "    partnership: false", "stages[3].on_timeout", "partnership: true"},
		{"unknown calendar", "calendar: england-and-wales", "calendar: wales-only", "calendar", "england-and-wales"},
		{"bad ref prefix", "ref_prefix: NSCP", "ref_prefix: nscp", "ref_prefix", "capital letters"},
		{"unknown time zone", "timezone: Europe/London", "timezone: Europe/Londinium", "timezone", "IANA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.old) {
				t.Fatalf("fixture lacks %q", tc.old)
			}
			doc := strings.Replace(base, tc.old, tc.new, 1)
			_, err := Parse("policies/x.yaml", []byte(doc))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			line := lineOf(t, doc, strings.SplitN(tc.new, "\n", 2)[0])
			switch tc.name {
			case "mediation points nowhere":
				line = lineOf(t, doc, "on_timeout: mediation")
			case "escalate at the last stage":
				line = lineOf(t, doc, "partnership: true") - 2
			}
			wantPrefix := "policies/x.yaml line " + strconv.Itoa(line) + ": " + tc.field + ":"
			if !strings.Contains(msg, wantPrefix) || !strings.Contains(msg, tc.fix) {
				t.Fatalf("message %q\nwant it to contain %q and %q", msg, wantPrefix, tc.fix)
			}
		})
	}
}

func TestPolicyFileRefusals(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "line 1: (document): the file is empty"},
		{"invalid YAML", "id: [unclosed", "line 1: id: did not find expected"},
		{"unknown field", strings.Replace(validPolicy(), "calendar:", "colour: blue\ncalendar:", 1), `colour: "colour" is not a field of a policy`},
		{"missing safety notice", withoutSafetyNotice(), "safety_notice: missing; give the immediate-risk notice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "p.yaml") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestPolicyDir(t *testing.T) {
	dir := t.TempDir()
	override := strings.Replace(validPolicy(), "name: Northamptonshire Safeguarding Children Partnership", "name: Overridden", 1)
	if err := os.WriteFile(filepath.Join(dir, "n.yaml"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := r.Get("northamptonshire"); p.Name != "Overridden" {
		t.Fatalf("POLICY_DIR did not override: %q", p.Name)
	}
	// Two files in the directory with one id are refused, naming both.
	if err := os.WriteFile(filepath.Join(dir, "m.yml"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "m.yml") || !strings.Contains(err.Error(), "n.yaml") {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "POLICY_DIR") {
		t.Fatalf("missing dir: %v", err)
	}
}

// withoutSafetyNotice is the valid policy with an empty safety notice.
func withoutSafetyNotice() string {
	var out []string
	skipping := false
	for _, l := range strings.Split(validPolicy(), "\n") {
		switch {
		case strings.HasPrefix(l, "safety_notice:"):
			out = append(out, `safety_notice: ""`)
			skipping = true
		case skipping && strings.HasPrefix(l, "  "):
		default:
			skipping = false
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
