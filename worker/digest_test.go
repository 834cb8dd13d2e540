package worker

import (
	"testing"
	"time"

	"escalate/workflows"
)

// The digest runs DigestDaysBefore days before each meeting to come (the
// next day for one nearer), at DigestHour local time, and monthly when no
// meeting is to come.
func TestDigestSpec(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 15, 0, 0, 0, london)
	type day struct{ y, m, d int }
	for _, tc := range []struct {
		name     string
		meetings []string
		reason   string
		want     []day
	}{
		{"none", nil, workflows.DigestMonthly, nil},
		{"only past", []string{"2026-10-14", "2026-12-03"}, workflows.DigestMonthly, nil},
		{"to come", []string{"2026-10-14", "2027-01-20", "2027-03-17"}, workflows.DigestBeforeMeeting, []day{{2027, 1, 13}, {2027, 3, 10}}},
		{"in three days: tomorrow", []string{"2026-12-06"}, workflows.DigestBeforeMeeting, []day{{2026, 12, 4}}},
		{"tomorrow: tomorrow", []string{"2026-12-04", "2026-12-05"}, workflows.DigestBeforeMeeting, []day{{2026, 12, 4}}},
	} {
		spec, reason := DigestSpec(tc.meetings, now, london)
		if reason != tc.reason || spec.TimeZoneName != "Europe/London" {
			t.Errorf("%s: reason %s zone %s", tc.name, reason, spec.TimeZoneName)
			continue
		}
		if tc.reason == workflows.DigestMonthly {
			if len(spec.Calendars) != 1 || spec.Calendars[0].DayOfMonth[0].Start != 1 || spec.Calendars[0].Hour[0].Start != DigestHour ||
				spec.Calendars[0].Year != nil {
				t.Errorf("%s: monthly spec %+v", tc.name, spec.Calendars)
			}
			continue
		}
		if len(spec.Calendars) != len(tc.want) {
			t.Errorf("%s: %d runs, want %d: %+v", tc.name, len(spec.Calendars), len(tc.want), spec.Calendars)
			continue
		}
		for i, w := range tc.want {
			c := spec.Calendars[i]
			if c.Year[0].Start != w.y || c.Month[0].Start != w.m || c.DayOfMonth[0].Start != w.d || c.Hour[0].Start != DigestHour {
				t.Errorf("%s: run %d %+v, want %v", tc.name, i, c, w)
			}
		}
	}
}
