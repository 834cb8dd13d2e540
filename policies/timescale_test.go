package policies

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimescaleAccepts(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      Timescale
		canonical string // what String gives back
	}{
		{"2 working days", Timescale{2, UnitWorkingDays}, "2 working days"},
		{"1 working day", Timescale{1, UnitWorkingDays}, "1 working day"},
		{"5 working days", Timescale{5, UnitWorkingDays}, "5 working days"},
		{"24 hours", Timescale{24, UnitHours}, "24 hours"},
		{"1 hour", Timescale{1, UnitHours}, "1 hour"},
		{"30 minutes", Timescale{30, UnitMinutes}, "30 minutes"},
		{"1 minute", Timescale{1, UnitMinutes}, "1 minute"},
		{"30 seconds", Timescale{30, UnitSeconds}, "30 seconds"},
		{"1 second", Timescale{1, UnitSeconds}, "1 second"},
		{"agreed per case", Timescale{Unit: UnitAgreed}, "agreed per case"},
		// Case and spacing do not matter.
		{"2 Working Days", Timescale{2, UnitWorkingDays}, "2 working days"},
		{"2 WORKING DAYS", Timescale{2, UnitWorkingDays}, "2 working days"},
		{"  5  Working  Days ", Timescale{5, UnitWorkingDays}, "5 working days"},
		{"\t24\thours\n", Timescale{24, UnitHours}, "24 hours"},
		{"24 HOURS", Timescale{24, UnitHours}, "24 hours"},
		{"30 Seconds", Timescale{30, UnitSeconds}, "30 seconds"},
		{"Agreed per case", Timescale{Unit: UnitAgreed}, "agreed per case"},
		{"  AGREED   PER   CASE  ", Timescale{Unit: UnitAgreed}, "agreed per case"},
		// Singular and plural are both read; String writes the right one.
		{"1 working days", Timescale{1, UnitWorkingDays}, "1 working day"},
		{"3 working day", Timescale{3, UnitWorkingDays}, "3 working days"},
		{"2 hour", Timescale{2, UnitHours}, "2 hours"},
		{"1 seconds", Timescale{1, UnitSeconds}, "1 second"},
		// The largest amounts: about ten years.
		{"2610 working days", Timescale{2610, UnitWorkingDays}, "2610 working days"},
		{"87600 hours", Timescale{87600, UnitHours}, "87600 hours"},
		{"5256000 minutes", Timescale{5256000, UnitMinutes}, "5256000 minutes"},
		{"315360000 seconds", Timescale{315360000, UnitSeconds}, "315360000 seconds"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTimescale(tc.in)
			if err != nil {
				t.Fatalf("ParseTimescale(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseTimescale(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.canonical {
				t.Errorf("String() = %q, want %q", s, tc.canonical)
			}
			if back, err := ParseTimescale(got.String()); err != nil || back != got {
				t.Errorf("round trip via %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func TestParseTimescaleRefuses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // in the message, besides the input itself and the hint
	}{
		{"", "write a whole number and a unit"},
		{"   ", "write a whole number and a unit"},
		{"2", "write a whole number and a unit"},
		{"hours", "write a whole number and a unit"},
		{"agreed", "write a whole number and a unit"},
		{"two days", `"two" is not a whole number`},
		{"two working days", `"two" is not a whole number`},
		{"0 hours", `"0" is not a whole number of at least 1`},
		{"0 working days", `"0" is not a whole number of at least 1`},
		{"-1 hours", `"-1" is not a whole number of at least 1`},
		{"1.5 hours", `"1.5" is not a whole number`},
		{"2hours", "write a whole number and a unit"},
		{"hours 2", `"hours" is not a whole number`},
		{"99999999999999999999 hours", "is not a whole number"},
		{"2 fortnights", `unknown unit "fortnights"`},
		// Plain days are ambiguous (calendar or working?) and refused.
		{"2 days", `unknown unit "days"`},
		{"1 day", `unknown unit "day"`},
		{"2 Days", `unknown unit "days"`},
		{"2 calendar days", `unknown unit "calendar days"`},
		{"2 weeks", `unknown unit "weeks"`},
		{"1 month", `unknown unit "month"`},
		{"2 workingdays", `unknown unit "workingdays"`},
		{"2 working-days", `unknown unit "working-days"`},
		{"5 workdays", `unknown unit "workdays"`},
		{"2 working", `unknown unit "working"`},
		{"2 working days extra", `unknown unit "working days extra"`},
		{"48 hours (2 working days)", `unknown unit "hours (2 working days)"`},
		{"2 hrs", `unknown unit "hrs"`},
		{"30 mins", `unknown unit "mins"`},
		{"30 secs", `unknown unit "secs"`},
		{"agreed per case please", `"agreed" is not a whole number`},
		// More than about ten years: a mistake, and it would overflow.
		{"2611 working days", "more than ten years; write at most 2610 working days"},
		{"87601 hours", "more than ten years; write at most 87600 hours"},
		{"3000000 hours", "more than ten years"},
		{"5256001 minutes", "more than ten years"},
		{"315360001 seconds", "more than ten years"},
		{"9223372036854775807 seconds", "more than ten years"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTimescale(tc.in)
			if err == nil {
				t.Fatalf("ParseTimescale(%q) accepted as %+v", tc.in, got)
			}
			msg := err.Error()
			if !strings.Contains(msg, `timescale "`+tc.in+`"`) || !strings.Contains(msg, tc.want) {
				t.Errorf("message %q\nwant it to quote the input and contain %q", msg, tc.want)
			}
			if !strings.Contains(msg, "ten years") && !strings.Contains(msg, `e.g. "2 working days", "24 hours"`) {
				t.Errorf("message %q does not say what to write", msg)
			}
			if got != (Timescale{}) {
				t.Errorf("refusal returned %+v", got)
			}
		})
	}
}

func TestTimescaleString(t *testing.T) {
	for _, tc := range []struct {
		ts   Timescale
		want string
	}{
		{Timescale{2, UnitWorkingDays}, "2 working days"},
		{Timescale{1, UnitWorkingDays}, "1 working day"},
		{Timescale{10, UnitWorkingDays}, "10 working days"},
		{Timescale{24, UnitHours}, "24 hours"},
		{Timescale{1, UnitHours}, "1 hour"},
		{Timescale{30, UnitMinutes}, "30 minutes"},
		{Timescale{1, UnitMinutes}, "1 minute"},
		{Timescale{30, UnitSeconds}, "30 seconds"},
		{Timescale{1, UnitSeconds}, "1 second"},
		{Timescale{Unit: UnitAgreed}, "agreed per case"},
		{Timescale{Amount: 7, Unit: UnitAgreed}, "agreed per case"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.ts.String(); got != tc.want {
				t.Fatalf("%+v.String() = %q, want %q", tc.ts, got, tc.want)
			}
			back, err := ParseTimescale(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ts.Unit != UnitAgreed && back != tc.ts {
				t.Errorf("ParseTimescale(%q) = %+v, want %+v", tc.want, back, tc.ts)
			}
		})
	}
}

// Clock units are pure durations: real elapsed time, whatever the calendar,
// the weekend or a clock change. Expected instants worked out by hand.
func TestDueAtClockUnits(t *testing.T) {
	c := englandClock(t)
	for _, tc := range []struct {
		why   string
		ts    Timescale
		start string
		want  string // instantLayout in London
		real  time.Duration
	}{
		{"24 hours on an ordinary day", Timescale{24, UnitHours}, "2026-06-08T10:00:00+01:00", "2026-06-09T10:00:00+01:00 BST", 24 * time.Hour},
		{"24 hours across spring forward: 13:00 BST, still 24 real hours", Timescale{24, UnitHours}, "2026-03-28T12:00:00Z", "2026-03-29T13:00:00+01:00 BST", 24 * time.Hour},
		{"24 hours across fall back: 11:00 GMT, still 24 real hours", Timescale{24, UnitHours}, "2026-10-24T12:00:00+01:00", "2026-10-25T11:00:00+00:00 GMT", 24 * time.Hour},
		{"1 hour over the missing hour of spring forward", Timescale{1, UnitHours}, "2026-03-29T00:30:00Z", "2026-03-29T02:30:00+01:00 BST", time.Hour},
		{"1 hour inside the repeated hour of fall back", Timescale{1, UnitHours}, "2026-10-25T00:30:00Z", "2026-10-25T01:30:00+00:00 GMT", time.Hour},
		{"24 hours ignore bank holidays: Christmas Eve to Christmas Day", Timescale{24, UnitHours}, "2026-12-24T14:00:00Z", "2026-12-25T14:00:00+00:00 GMT", 24 * time.Hour},
		{"48 hours ignore the weekend", Timescale{48, UnitHours}, "2026-06-12T16:00:00+01:00", "2026-06-14T16:00:00+01:00 BST", 48 * time.Hour},
		{"4 hours past the end of the working day", Timescale{4, UnitHours}, "2026-06-08T15:00:00+01:00", "2026-06-08T19:00:00+01:00 BST", 4 * time.Hour},
		{"30 minutes", Timescale{30, UnitMinutes}, "2026-06-08T10:00:00+01:00", "2026-06-08T10:30:00+01:00 BST", 30 * time.Minute},
		{"1 minute", Timescale{1, UnitMinutes}, "2026-06-08T23:59:30+01:00", "2026-06-09T00:00:30+01:00 BST", time.Minute},
		{"30 seconds", Timescale{30, UnitSeconds}, "2026-06-08T10:00:00+01:00", "2026-06-08T10:00:30+01:00 BST", 30 * time.Second},
		{"1 second", Timescale{1, UnitSeconds}, "2026-12-31T23:59:59Z", "2027-01-01T00:00:00+00:00 GMT", time.Second},
		{"the largest: 87600 hours", Timescale{87600, UnitHours}, "2026-01-01T00:00:00Z", "2035-12-30T00:00:00+00:00 GMT", 87600 * time.Hour},
	} {
		t.Run(tc.why, func(t *testing.T) {
			start := instant(t, tc.start)
			due, err := tc.ts.DueAt(start, c)
			if err != nil {
				t.Fatal(err)
			}
			if got := due.In(c.Location).Format(instantLayout); got != tc.want {
				t.Errorf("DueAt = %s, want %s", got, tc.want)
			}
			if d := due.Sub(start); d != tc.real {
				t.Errorf("elapsed %s, want %s", d, tc.real)
			}
		})
	}
}

func TestDueAtWorkingDaysIsAddWorkingDays(t *testing.T) {
	c := englandClock(t)
	for _, tc := range []struct {
		ts          Timescale
		start, want string
	}{
		{Timescale{2, UnitWorkingDays}, "2026-12-24T14:00:00Z", "2026-12-30T17:00:00+00:00 GMT"},
		{Timescale{1, UnitWorkingDays}, "2026-07-01T23:30:00Z", "2026-07-03T17:00:00+01:00 BST"},
		{Timescale{5, UnitWorkingDays}, "2026-12-24T14:00:00Z", "2027-01-05T17:00:00+00:00 GMT"},
	} {
		due, err := tc.ts.DueAt(instant(t, tc.start), c)
		if err != nil {
			t.Fatal(err)
		}
		if got := due.Format(instantLayout); got != tc.want {
			t.Errorf("%s from %s = %s, want %s", tc.ts, tc.start, got, tc.want)
		}
	}
}

func TestDueAtWithoutAFixedDeadline(t *testing.T) {
	c := englandClock(t)
	start := instant(t, "2026-06-08T10:00:00+01:00")
	for _, ts := range []Timescale{{Unit: UnitAgreed}, {}, {Amount: 3, Unit: "fortnights"}} {
		if due, err := ts.DueAt(start, c); err == nil || !due.IsZero() {
			t.Errorf("%+v.DueAt = %s, %v; want an error and no deadline", ts, due, err)
		}
	}
}
