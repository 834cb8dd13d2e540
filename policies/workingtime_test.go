package policies

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// Clock hours that end outside working time.
//
// The rule (README.md, "Deadlines"), a partnership's own choice made with
// clock_hours_end_in_working_time: a deadline of "N hours" or "N minutes"
// that falls outside working time moves to the next moment of working time,
// the start of the next working day; it is never earlier than the clock
// hours give. Working time is a working day of the policy's calendar, from
// start_of_day to end_of_day, both included.
//
// Why: four-stage-resolving-professional-differences.txt, "3. Stage One:
// Preventing Disputes": the line managers' "contact should take place within
// twenty-four hours". Twenty-four hours from 15:00 on a Friday is 15:00 on
// Saturday, when nobody works; the first moment anyone can be expected to
// make that contact is the start of Monday's working day. The document does
// not say so: four-stage.yaml lists it under partnership_settings.
//
// Every expected instant below was worked out by hand from the gov.uk
// bank-holiday lists and the UK clock changes (BST 2026: Sun 29 Mar to Sun
// 25 Oct; 2027 from Sun 28 Mar), never from the code under test.

// workingTimeClock is englandClock (09:00 to 17:00 Europe/London) with clock
// hours ending in working time.
func workingTimeClock(t *testing.T, calendar string) Clock {
	t.Helper()
	c, err := NewClock(calendar, "Europe/London", "17:00")
	if err != nil {
		t.Fatal(err)
	}
	if c.StartOfDay != 9*time.Hour {
		t.Fatalf("NewClock's working day starts at %s, want 09:00", c.StartOfDay)
	}
	c.ClockHoursEndInWorkingTime = true
	return c
}

func TestClockHoursEndInWorkingTimeEnglandAndWales(t *testing.T) {
	on := workingTimeClock(t, CalendarEnglandAndWales)
	off := englandClock(t)
	for _, tc := range []struct {
		why   string
		ts    Timescale
		start string // RFC 3339
		plain string // the clock-hour deadline, instantLayout in London
		want  string // where it ends with the setting on
	}{
		// The four-stage line managers' "within twenty-four hours".
		{"24 hours from Friday 15:00 end on Saturday: Monday 09:00", Timescale{24, UnitHours},
			"2026-06-12T15:00:00+01:00", "2026-06-13T15:00:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"Friday evening: 4 hours from 18:30 end at 22:30: Monday 09:00", Timescale{4, UnitHours},
			"2026-06-12T18:30:00+01:00", "2026-06-12T22:30:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"ending exactly at the end of the day stays", Timescale{4, UnitHours},
			"2026-06-12T13:00:00+01:00", "2026-06-12T17:00:00+01:00 BST", "2026-06-12T17:00:00+01:00 BST"},
		{"one minute after the end of Friday: Monday 09:00", Timescale{4, UnitHours},
			"2026-06-12T13:01:00+01:00", "2026-06-12T17:01:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"one second after the end of Friday: Monday 09:00", Timescale{4, UnitHours},
			"2026-06-12T13:00:01+01:00", "2026-06-12T17:00:01+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"started and ending on Saturday: Monday 09:00", Timescale{4, UnitHours},
			"2026-06-13T10:00:00+01:00", "2026-06-13T14:00:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"Sunday: Monday 09:00", Timescale{24, UnitHours},
			"2026-06-13T11:00:00+01:00", "2026-06-14T11:00:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"Sunday night to Monday midnight: Monday 09:00", Timescale{4, UnitHours},
			"2026-06-14T20:00:00+01:00", "2026-06-15T00:00:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"started on Sunday, ending Monday 10:00 (working time): stays", Timescale{24, UnitHours},
			"2026-06-14T10:00:00+01:00", "2026-06-15T10:00:00+01:00 BST", "2026-06-15T10:00:00+01:00 BST"},
		{"before the start of a working day: 09:00 that day", Timescale{4, UnitHours},
			"2026-06-15T04:00:00+01:00", "2026-06-15T08:00:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"exactly the start of the day stays", Timescale{4, UnitHours},
			"2026-06-15T05:00:00+01:00", "2026-06-15T09:00:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"a weekday night: the next morning", Timescale{4, UnitHours},
			"2026-06-16T20:00:00+01:00", "2026-06-17T00:00:00+01:00 BST", "2026-06-17T09:00:00+01:00 BST"},
		{"an ordinary weekday afternoon stays", Timescale{24, UnitHours},
			"2026-06-16T14:00:00+01:00", "2026-06-17T14:00:00+01:00 BST", "2026-06-17T14:00:00+01:00 BST"},
		{"30 minutes to 17:15 on Friday: Monday 09:00", Timescale{30, UnitMinutes},
			"2026-06-12T16:45:00+01:00", "2026-06-12T17:15:00+01:00 BST", "2026-06-15T09:00:00+01:00 BST"},
		{"30 minutes inside Friday stays", Timescale{30, UnitMinutes},
			"2026-06-12T16:15:00+01:00", "2026-06-12T16:45:00+01:00 BST", "2026-06-12T16:45:00+01:00 BST"},

		// Bank holidays, substitutes included.
		{"Christmas Day 2026 (Fri), then the weekend and the Boxing Day substitute Mon 28: Tue 29 09:00", Timescale{24, UnitHours},
			"2026-12-24T14:00:00Z", "2026-12-25T14:00:00+00:00 GMT", "2026-12-29T09:00:00+00:00 GMT"},
		{"Christmas Eve 16:30 + 1 hour is 17:30: Tue 29 Dec 09:00", Timescale{1, UnitHours},
			"2026-12-24T16:30:00Z", "2026-12-24T17:30:00+00:00 GMT", "2026-12-29T09:00:00+00:00 GMT"},
		{"on the Boxing Day substitute Mon 28 Dec 2026: Tue 29 09:00", Timescale{4, UnitHours},
			"2026-12-28T10:00:00Z", "2026-12-28T14:00:00+00:00 GMT", "2026-12-29T09:00:00+00:00 GMT"},
		{"Spring bank holiday Mon 25 May 2026: Tue 26 09:00", Timescale{24, UnitHours},
			"2026-05-22T15:00:00+01:00", "2026-05-23T15:00:00+01:00 BST", "2026-05-26T09:00:00+01:00 BST"},
		{"Summer bank holiday Mon 31 Aug 2026: Tue 1 Sep 09:00", Timescale{24, UnitHours},
			"2026-08-28T15:00:00+01:00", "2026-08-29T15:00:00+01:00 BST", "2026-09-01T09:00:00+01:00 BST"},
		{"New Year's Day Fri 1 Jan 2027: Mon 4 Jan 09:00", Timescale{24, UnitHours},
			"2026-12-31T15:00:00Z", "2027-01-01T15:00:00+00:00 GMT", "2027-01-04T09:00:00+00:00 GMT"},

		// Clock changes: 09:00 is local, with the offset of the day it falls on.
		{"spring forward 2026: Fri 27 Mar 15:00 GMT + 24 hours: Mon 30 Mar 09:00 BST", Timescale{24, UnitHours},
			"2026-03-27T15:00:00Z", "2026-03-28T15:00:00+00:00 GMT", "2026-03-30T09:00:00+01:00 BST"},
		{"across the missing hour: Sat 28 Mar 23:30 GMT + 4 hours is Sun 04:30 BST: Mon 09:00 BST", Timescale{4, UnitHours},
			"2026-03-28T23:30:00Z", "2026-03-29T04:30:00+01:00 BST", "2026-03-30T09:00:00+01:00 BST"},
		{"fall back 2026: Fri 23 Oct 16:00 BST + 24 hours: Mon 26 Oct 09:00 GMT", Timescale{24, UnitHours},
			"2026-10-23T16:00:00+01:00", "2026-10-24T16:00:00+01:00 BST", "2026-10-26T09:00:00+00:00 GMT"},
		{"in the repeated hour: Sun 25 Oct 00:30 BST + 4 hours is 03:30 GMT: Mon 09:00 GMT", Timescale{4, UnitHours},
			"2026-10-25T00:30:00+01:00", "2026-10-25T03:30:00+00:00 GMT", "2026-10-26T09:00:00+00:00 GMT"},
		{"Easter 2027 and spring forward: Thu 25 Mar 15:00 GMT + 24 hours is Good Friday; Easter Monday 29: Tue 30 Mar 09:00 BST", Timescale{24, UnitHours},
			"2027-03-25T15:00:00Z", "2027-03-26T15:00:00+00:00 GMT", "2027-03-30T09:00:00+01:00 BST"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			start := instant(t, tc.start)
			plain, err := tc.ts.DueAt(start, off)
			if err != nil {
				t.Fatal(err)
			}
			if got := plain.In(off.Location).Format(instantLayout); got != tc.plain {
				t.Fatalf("setting off: %s, want the clock-hour deadline %s", got, tc.plain)
			}
			due, err := tc.ts.DueAt(start, on)
			if err != nil {
				t.Fatal(err)
			}
			if got := due.In(on.Location).Format(instantLayout); got != tc.want {
				t.Errorf("setting on: %s, want %s", got, tc.want)
			}
			if due.Before(plain) {
				t.Errorf("moved deadline %s is before the clock-hour one %s", due, plain)
			}
			if !on.InWorkingTime(due) {
				t.Errorf("moved deadline %s is not working time", due)
			}
		})
	}
}

// Scotland and Northern Ireland have their own bank holidays; the same
// clock hours end at different moments in each.
func TestClockHoursEndInWorkingTimeOtherCalendars(t *testing.T) {
	clocks := map[string]Clock{
		CalendarEnglandAndWales: workingTimeClock(t, CalendarEnglandAndWales),
		CalendarScotland:        workingTimeClock(t, CalendarScotland),
		CalendarNorthernIreland: workingTimeClock(t, CalendarNorthernIreland),
	}
	for _, tc := range []struct {
		why                 string
		ts                  Timescale
		start               string
		england, scot, nIre string
	}{
		{"Good Friday 3 Apr 2026; Easter Monday 6 Apr is worked in Scotland", Timescale{24, UnitHours}, "2026-04-02T15:00:00+01:00",
			"2026-04-07T09:00:00+01:00 BST", "2026-04-06T09:00:00+01:00 BST", "2026-04-07T09:00:00+01:00 BST"},
		{"St Andrew's Day Mon 30 Nov 2026 (Scotland)", Timescale{24, UnitHours}, "2026-11-27T15:00:00Z",
			"2026-11-30T09:00:00+00:00 GMT", "2026-12-01T09:00:00+00:00 GMT", "2026-11-30T09:00:00+00:00 GMT"},
		{"2 January's substitute Mon 4 Jan 2027 (Scotland)", Timescale{24, UnitHours}, "2026-12-31T15:00:00Z",
			"2027-01-04T09:00:00+00:00 GMT", "2027-01-05T09:00:00+00:00 GMT", "2027-01-04T09:00:00+00:00 GMT"},
		{"Scotland's summer holiday Mon 3 Aug 2026", Timescale{24, UnitHours}, "2026-07-31T15:00:00+01:00",
			"2026-08-03T09:00:00+01:00 BST", "2026-08-04T09:00:00+01:00 BST", "2026-08-03T09:00:00+01:00 BST"},
		{"St Patrick's Day Tue 17 Mar 2026 (Northern Ireland)", Timescale{4, UnitHours}, "2026-03-16T20:00:00Z",
			"2026-03-17T09:00:00+00:00 GMT", "2026-03-17T09:00:00+00:00 GMT", "2026-03-18T09:00:00+00:00 GMT"},
		{"Battle of the Boyne Sun 12 Jul 2026, substitute Mon 13 (Northern Ireland)", Timescale{24, UnitHours}, "2026-07-10T15:00:00+01:00",
			"2026-07-13T09:00:00+01:00 BST", "2026-07-13T09:00:00+01:00 BST", "2026-07-14T09:00:00+01:00 BST"},
		{"Christmas 2026 and the Boxing Day substitute Mon 28 everywhere", Timescale{24, UnitHours}, "2026-12-24T14:00:00Z",
			"2026-12-29T09:00:00+00:00 GMT", "2026-12-29T09:00:00+00:00 GMT", "2026-12-29T09:00:00+00:00 GMT"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			for cal, want := range map[string]string{CalendarEnglandAndWales: tc.england, CalendarScotland: tc.scot, CalendarNorthernIreland: tc.nIre} {
				c := clocks[cal]
				due, err := tc.ts.DueAt(instant(t, tc.start), c)
				if err != nil {
					t.Fatal(err)
				}
				if got := due.In(c.Location).Format(instantLayout); got != want {
					t.Errorf("%s: %s, want %s", cal, got, want)
				}
			}
		})
	}
}

// A partnership's own start and end of day, and its closures.
func TestClockHoursEndInWorkingTimeOwnDayAndClosures(t *testing.T) {
	c := workingTimeClock(t, CalendarEnglandAndWales)
	c.StartOfDay = 8*time.Hour + 30*time.Minute
	c.EndOfDay = 16 * time.Hour
	c.Closures = []string{"2026-06-16"} // a Tuesday
	for _, tc := range []struct {
		ts          Timescale
		start, want string
	}{
		{Timescale{2, UnitHours}, "2026-06-15T14:00:00+01:00", "2026-06-15T16:00:00+01:00 BST"}, // at the end: stays
		{Timescale{3, UnitHours}, "2026-06-15T14:00:00+01:00", "2026-06-17T08:30:00+01:00 BST"}, // 17:00; Tue closed: Wed 08:30
		{Timescale{3, UnitHours}, "2026-06-17T05:00:00+01:00", "2026-06-17T08:30:00+01:00 BST"}, // 08:00: that day's 08:30
		{Timescale{10, UnitMinutes}, "2026-06-17T08:25:00+01:00", "2026-06-17T08:35:00+01:00 BST"},
	} {
		due, err := tc.ts.DueAt(instant(t, tc.start), c)
		if err != nil {
			t.Fatal(err)
		}
		if got := due.In(c.Location).Format(instantLayout); got != tc.want {
			t.Errorf("%s from %s: %s, want %s", tc.ts, tc.start, got, tc.want)
		}
	}
}

// Seconds are the drills' unit and never move; working days already end at
// the end of a working day and are unchanged by the setting.
func TestClockHoursSettingLeavesSecondsAndWorkingDays(t *testing.T) {
	on := workingTimeClock(t, CalendarEnglandAndWales)
	off := englandClock(t)
	for _, tc := range []struct {
		ts    Timescale
		start string
	}{
		{Timescale{30, UnitSeconds}, "2026-06-12T16:59:45+01:00"}, // ends 17:00:15 on a Friday
		{Timescale{30, UnitSeconds}, "2026-06-13T10:00:00+01:00"}, // a Saturday
		{Timescale{30, UnitSeconds}, "2026-12-25T03:00:00Z"},      // Christmas night
		{Timescale{7200, UnitSeconds}, "2026-06-12T16:00:00+01:00"},
		{Timescale{2, UnitWorkingDays}, "2026-12-24T14:00:00Z"}, // the contract example
		{Timescale{1, UnitWorkingDays}, "2026-06-13T10:00:00+01:00"},
	} {
		start := instant(t, tc.start)
		a, errA := tc.ts.DueAt(start, off)
		b, errB := tc.ts.DueAt(start, on)
		if errA != nil || errB != nil || !a.Equal(b) {
			t.Errorf("%s from %s: %s (%v) with the setting, %s (%v) without", tc.ts, tc.start, b, errB, a, errA)
		}
	}
}

func TestInWorkingTime(t *testing.T) {
	c := workingTimeClock(t, CalendarEnglandAndWales)
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"2026-06-15T08:59:59+01:00", false},
		{"2026-06-15T09:00:00+01:00", true},
		{"2026-06-15T08:30:00Z", true}, // 09:30 BST: the zone it is written in does not matter
		{"2026-06-15T17:00:00+01:00", true},
		{"2026-06-15T17:00:00.000000001+01:00", false},
		{"2026-06-15T23:59:59+01:00", false},
		{"2026-06-13T12:00:00+01:00", false}, // Saturday
		{"2026-06-14T12:00:00+01:00", false}, // Sunday
		{"2026-05-25T12:00:00+01:00", false}, // Spring bank holiday
		{"2026-12-28T12:00:00Z", false},      // Boxing Day substitute
		{"2026-12-29T12:00:00Z", true},
		{"2026-03-30T08:30:00Z", true},  // 09:30 BST, the Monday after spring forward (as GMT: before 09:00)
		{"2026-10-26T08:30:00Z", false}, // 08:30 GMT, the Monday after fall back
	} {
		if got := c.InWorkingTime(instant(t, tc.at)); got != tc.want {
			t.Errorf("InWorkingTime(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

// Property: whatever the start, the calendar, the zone and the working day,
// the moved deadline is never before the clock-hour one, is always working
// time, is the clock-hour one when that is working time, and otherwise is the
// start of the first working day that leaves no working time in between.
// Working time is checked here from IsWorkingDay and the local wall clock,
// not through InWorkingTime.
func TestClockHoursEndInWorkingTimeProperty(t *testing.T) {
	type config struct {
		name             string
		calendar, zone   string
		startDay, endDay string
		closures         []string
	}
	configs := []config{
		{name: "england 09-17", calendar: CalendarEnglandAndWales, zone: "Europe/London", startDay: "09:00", endDay: "17:00"},
		{name: "scotland 09-17", calendar: CalendarScotland, zone: "Europe/London", startDay: "09:00", endDay: "17:00"},
		{name: "northern ireland 09-17", calendar: CalendarNorthernIreland, zone: "Europe/London", startDay: "09:00", endDay: "17:00"},
		{name: "england 08:30-16:00 with closures", calendar: CalendarEnglandAndWales, zone: "Europe/London", startDay: "08:30", endDay: "16:00",
			closures: []string{"2026-06-16", "2026-12-29", "2026-12-30", "2026-12-31", "2027-03-31"}},
		{name: "another zone's clock changes", calendar: CalendarEnglandAndWales, zone: "America/New_York", startDay: "07:00", endDay: "19:00"},
	}
	length := func(ts Timescale) time.Duration {
		if ts.Unit == UnitHours {
			return time.Duration(ts.Amount) * time.Hour
		}
		return time.Duration(ts.Amount) * time.Minute
	}
	from := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	span := time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC).Sub(from)
	for ci, cf := range configs {
		t.Run(cf.name, func(t *testing.T) {
			c, err := NewClock(cf.calendar, cf.zone, cf.endDay)
			if err != nil {
				t.Fatal(err)
			}
			if c.StartOfDay, err = parseStartOfDay(cf.startDay); err != nil {
				t.Fatal(err)
			}
			c.Closures = cf.closures
			c.ClockHoursEndInWorkingTime = true
			working := func(at time.Time) bool {
				l := at.In(c.Location)
				w := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute +
					time.Duration(l.Second())*time.Second + time.Duration(l.Nanosecond())
				return c.IsWorkingDay(l.Date()) && w >= c.StartOfDay && w <= c.EndOfDay
			}
			date := func(at time.Time) time.Time {
				y, m, d := at.In(c.Location).Date()
				return time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
			}
			rng := rand.New(rand.NewSource(int64(20260101 + ci)))
			moved := 0
			for i := 0; i < 4000; i++ {
				// Whole minutes, some seconds, and the day's edges exactly.
				start := from.Add(time.Duration(rng.Int63n(int64(span/time.Minute))) * time.Minute)
				if i%3 == 0 {
					start = start.Add(time.Duration(rng.Intn(60)) * time.Second)
				}
				ts := Timescale{Amount: 1 + rng.Intn(96), Unit: UnitHours}
				if i%2 == 1 {
					ts = Timescale{Amount: 1 + rng.Intn(24*60), Unit: UnitMinutes}
				}
				if i%5 == 0 { // land exactly on a start or end of day
					l := start.In(c.Location)
					edge := c.EndOfDay
					if i%10 == 0 {
						edge = c.StartOfDay
					}
					y, m, d := l.Date()
					target := time.Date(y, m, d, int(edge/time.Hour), int(edge%time.Hour/time.Minute), 0, 0, c.Location)
					start = target.Add(-length(ts))
				}
				plain := start.Add(length(ts))
				due, err := ts.DueAt(start, c)
				if err != nil {
					t.Fatal(err)
				}
				where := fmt.Sprintf("%s from %s (clock-hour deadline %s)", ts, start.In(c.Location).Format(instantLayout), plain.In(c.Location).Format(instantLayout))
				if due.Before(plain) {
					t.Fatalf("%s: moved earlier, to %s", where, due.In(c.Location).Format(instantLayout))
				}
				if !working(due) {
					t.Fatalf("%s: %s is not working time", where, due.In(c.Location).Format(instantLayout))
				}
				if c.InWorkingTime(plain) != working(plain) || !c.InWorkingTime(due) {
					t.Fatalf("%s: InWorkingTime disagrees with the working day and the wall clock", where)
				}
				if working(plain) {
					if !due.Equal(plain) {
						t.Fatalf("%s: working time, yet moved to %s", where, due.In(c.Location).Format(instantLayout))
					}
					continue
				}
				moved++
				l := due.In(c.Location)
				if time.Duration(l.Hour())*time.Hour+time.Duration(l.Minute())*time.Minute != c.StartOfDay || l.Second() != 0 || l.Nanosecond() != 0 {
					t.Fatalf("%s: moved to %s, not the start of a working day", where, l.Format(instantLayout))
				}
				// No working time between the clock-hour deadline and the moved one.
				pd, dd := date(plain), date(due)
				if pd.Equal(dd) {
					pl := plain.In(c.Location)
					if w := time.Duration(pl.Hour())*time.Hour + time.Duration(pl.Minute())*time.Minute; w >= c.StartOfDay {
						t.Fatalf("%s: moved within the same day to %s although it was already past the start", where, l.Format(instantLayout))
					}
					continue
				}
				if pl := plain.In(c.Location); c.IsWorkingDay(pl.Date()) {
					w := time.Duration(pl.Hour())*time.Hour + time.Duration(pl.Minute())*time.Minute + time.Duration(pl.Second())*time.Second + time.Duration(pl.Nanosecond())
					if w < c.StartOfDay {
						t.Fatalf("%s: skipped that working day's start for %s", where, l.Format(instantLayout))
					}
				}
				for d := pd.AddDate(0, 0, 1); d.Before(dd); d = d.AddDate(0, 0, 1) {
					if c.IsWorkingDay(d.Date()) {
						t.Fatalf("%s: skipped working day %s for %s", where, d.Format("Mon 2 Jan 2006"), l.Format(instantLayout))
					}
				}
			}
			if moved < 1000 {
				t.Errorf("only %d of 4000 deadlines fell outside working time: the property was barely exercised", moved)
			}
		})
	}
}

// The four-stage policy sets clock_hours_end_in_working_time; its drill does
// not move its 30 seconds; a snapshot taken before the setting existed
// computes as it always did.
func TestFourStageClockHoursEndInWorkingTime(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("four-stage")
	if !p.ClockHoursEndInWorkingTime || p.StartOfDay != "09:00" || p.EndOfDay != "17:00" {
		t.Fatalf("four-stage: clock hours in working time %v, day %s to %s", p.ClockHoursEndInWorkingTime, p.StartOfDay, p.EndOfDay)
	}
	settings := strings.Join(p.PartnershipSettings, "\n")
	if !strings.Contains(settings, "moves to 09:00 on the next working day") || !strings.Contains(settings, "partnership's own setting") {
		t.Errorf("partnership_settings do not declare the setting as the partnership's own:\n%s", settings)
	}
	for id, on := range map[string]bool{"devon": false, "northamptonshire": false, "nottingham-nottinghamshire": false, "four-stage-drill": false} {
		if q, _ := r.Get(id); q.ClockHoursEndInWorkingTime != on {
			t.Errorf("%s: clock_hours_end_in_working_time %v", id, q.ClockHoursEndInWorkingTime)
		}
	}
	c, err := p.Clock()
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := p.Stage(1)
	// Stage 1 started Thursday 10:00: the professionals have one working day
	// (to Friday 17:00), then the line managers twenty-four hours, which end
	// on Saturday 17:00: Monday 09:00.
	step1, _ := s1.StepTimescale(1, false).DueAt(instant(t, "2026-06-11T10:00:00+01:00"), c)
	step2, _ := s1.StepTimescale(2, false).DueAt(step1, c)
	if got, want := step2.In(c.Location).Format(instantLayout), "2026-06-15T09:00:00+01:00 BST"; got != want || step1.In(c.Location).Format(instantLayout) != "2026-06-12T17:00:00+01:00 BST" {
		t.Errorf("line managers due %s (after professionals %s), want %s", got, step1.In(c.Location).Format(instantLayout), want)
	}
	// Urgent: 4 hours from Friday 16:00 would end at 20:00: Monday 09:00.
	for _, s := range p.Stages {
		due, err := s.StepTimescale(0, true).DueAt(instant(t, "2026-06-12T16:00:00+01:00"), c)
		if err != nil || due.In(c.Location).Format(instantLayout) != "2026-06-15T09:00:00+01:00 BST" {
			t.Errorf("urgent stage %d due %s, %v; want Monday 09:00", s.Number, due.In(c.Location).Format(instantLayout), err)
		}
	}
	// The maximum an agreed deadline may be is the moved one, too.
	if max, ok, err := p.MaxDue(2, 0, true, instant(t, "2026-06-12T16:00:00+01:00")); err != nil || !ok ||
		max.In(c.Location).Format(instantLayout) != "2026-06-15T09:00:00+01:00 BST" {
		t.Errorf("urgent stage 2 maximum %s, %v, %v", max, ok, err)
	}

	// The drill: 30 seconds, day or night.
	d, _ := r.Get("four-stage-drill")
	dc, err := d.Clock()
	if err != nil {
		t.Fatal(err)
	}
	start := instant(t, "2026-06-12T16:59:45+01:00")
	for _, s := range d.Stages {
		for step := 0; step <= len(s.Steps); step++ {
			for _, urgent := range []bool{false, true} {
				if due, err := s.StepTimescale(step, urgent).DueAt(start, dc); err != nil || due.Sub(start) != 30*time.Second {
					t.Errorf("drill stage %d step %d urgent %v: due %s, %v; want 30 seconds", s.Number, step, urgent, due, err)
				}
			}
		}
	}
	// Even a drill of minutes lasts its minutes.
	m := Drill(p, "m-drill", "MDRILL", "2 minutes")
	mc, _ := m.Clock()
	if due, _ := m.Stages[0].StepTimescale(1, false).DueAt(start, mc); due.Sub(start) != 2*time.Minute {
		t.Errorf("a drill of minutes moved: %s", due)
	}

	// A snapshot (the policy as JSON in a case's workflow input) keeps the
	// setting; one taken before the field existed lacks it and computes
	// plain clock hours, exactly as before.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var now Policy
	if err := json.Unmarshal(b, &now); err != nil || !now.ClockHoursEndInWorkingTime {
		t.Fatalf("the snapshot lost the setting: %v", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "clock_hours_end_in_working_time")
	delete(fields, "start_of_day")
	old, _ := json.Marshal(fields)
	var before Policy
	if err := json.Unmarshal(old, &before); err != nil {
		t.Fatal(err)
	}
	oc, err := before.Clock()
	if err != nil {
		t.Fatal(err)
	}
	os1, _ := before.Stage(1)
	if due, _ := os1.StepTimescale(2, false).DueAt(step1, oc); !due.Equal(step1.Add(24 * time.Hour)) {
		t.Errorf("an old snapshot's line managers due %s, want the plain 24 hours %s", due, step1.Add(24*time.Hour))
	}
}

func TestParseWorkingDayRefusals(t *testing.T) {
	const file = "policies/x.yaml"
	for _, tc := range []struct {
		name, old, new, at, field, problem, fix string
	}{
		{"start of day not a time", `end_of_day: "17:00"`, "end_of_day: \"17:00\"\nstart_of_day: 9am", "start_of_day: 9am",
			"start_of_day", `start of day "9am" is not a time`, `e.g. "09:00"`},
		{"start of day after the end", `end_of_day: "17:00"`, "end_of_day: \"17:00\"\nstart_of_day: \"18:00\"", "start_of_day:",
			"start_of_day", "would start at 18:00, not before it ends at 17:00", "make start_of_day earlier than end_of_day"},
		{"start of day at the end", `end_of_day: "17:00"`, "end_of_day: \"17:00\"\nstart_of_day: \"17:00\"", "start_of_day:",
			"start_of_day", "would start at 17:00", "earlier than end_of_day"},
		{"the default start after an early end, with the setting on", `end_of_day: "17:00"`, "end_of_day: \"08:00\"\nclock_hours_end_in_working_time: true", "clock_hours_end_in_working_time:",
			"clock_hours_end_in_working_time", "would start at 09:00, not before it ends at 08:00", "make start_of_day earlier"},
		{"not true or false", `end_of_day: "17:00"`, "end_of_day: \"17:00\"\nclock_hours_end_in_working_time: sometimes", "clock_hours_end_in_working_time:",
			"clock_hours_end_in_working_time", "cannot unmarshal", "write true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := replaceOnce(t, northamptonshireYAML(t), tc.old, tc.new)
			_, err := Parse(file, []byte(doc))
			checkRefusal(t, err, file, lineContaining(t, doc, tc.at), tc.field, tc.problem, tc.fix)
		})
	}
	// An early end of day alone (setting off, no start_of_day) is still accepted.
	doc := replaceOnce(t, northamptonshireYAML(t), `end_of_day: "17:00"`, `end_of_day: "08:00"`)
	if p, err := Parse(file, []byte(doc)); err != nil || p.StartOfDay != "09:00" {
		t.Errorf("early end of day: %v (start %q)", err, p.StartOfDay)
	}
}
