package policies

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: any bytes are either refused with a message naming the file,
// or accepted as a policy that keeps the loader's promises.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"northamptonshire.yaml", "nottingham-nottinghamshire.yaml", "devon.yaml", "four-stage.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id: x\n"))
	f.Add([]byte("id: d\nref_prefix: DD\ndrill_of: devon\ndrill_within: 3 seconds\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if p.DrillOf != "" {
			return // resolved against its base policy by Load
		}
		if len(p.Stages) == 0 || p.SafetyNotice == "" || len(p.Categories) == 0 {
			t.Fatalf("accepted an incomplete policy: %+v", p)
		}
		c, err := p.Clock()
		if err != nil {
			t.Fatalf("accepted a policy without a clock: %v", err)
		}
		if c.StartOfDay >= c.EndOfDay && (p.ClockHoursEndInWorkingTime || p.StartOfDay != DefaultStartOfDay) {
			t.Fatalf("accepted a working day from %s to %s", p.StartOfDay, p.EndOfDay)
		}
		if other, ok := p.Category(CategoryOther); !ok || !other.NeedsDetail {
			t.Fatalf("accepted a policy without the category other: %+v", p.Categories)
		}
		mailboxes := []Contact{p.BusinessOffice}
		for _, a := range p.Agencies {
			if a.EscalationContact == nil {
				t.Fatalf("accepted agency %s without an escalation contact", a.ID)
			}
			mailboxes = append(mailboxes, *a.EscalationContact)
		}
		for _, m := range []*Contact{p.LearningTo, p.OutcomeReportTo} {
			if m != nil {
				mailboxes = append(mailboxes, *m)
			}
		}
		for _, m := range mailboxes {
			if emailProblem(m.Email) != "" || strings.ContainsAny(m.Name+m.Email, "\r\n") {
				t.Fatalf("accepted mailbox %q <%q>", m.Name, m.Email)
			}
		}
		for i, s := range p.Stages {
			if s.Number != i+1 {
				t.Fatalf("stage %d numbered %d", i+1, s.Number)
			}
			if s.Timescale.Unit == UnitAgreed && s.DefaultTimescale == nil {
				t.Fatalf("agreed stage without default")
			}
			if s.OnTimeout == OnTimeoutEscalate && i == len(p.Stages)-1 {
				t.Fatalf("last stage escalates")
			}
		}
	})
}

// FuzzParseTimescale: whatever is accepted renders back to itself.
func FuzzParseTimescale(f *testing.F) {
	for _, s := range []string{"2 working days", "24 hours", "30 seconds", "agreed per case", "1 minute", "0 hours", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTimescale(s)
		if err != nil {
			return
		}
		if ts.Unit != UnitAgreed && ts.Amount < 1 {
			t.Fatalf("accepted %q as %+v", s, ts)
		}
		back, err := ParseTimescale(ts.String())
		if err != nil || back != ts {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, ts, ts.String(), back, err)
		}
	})
}
