package policies

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rickar/cal/v2/gb"
)

// Every expected date in this file was worked out by hand from the gov.uk
// bank-holiday lists for England and Wales and the UK clock-change dates
// (BST 2026: Sun 29 Mar to Sun 25 Oct; 2027: Sun 28 Mar to Sun 31 Oct),
// never from the code under test.

// instantLayout shows an instant with its offset and zone abbreviation, so
// that a deadline at the right instant but in the wrong zone still fails.
const instantLayout = "2006-01-02T15:04:05-07:00 MST"

// englandClock is the clock of the contract: england-and-wales,
// Europe/London, working day ending at 17:00.
func englandClock(t *testing.T) Clock {
	t.Helper()
	c, err := NewClock(CalendarEnglandAndWales, "Europe/London", "17:00")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// instant parses an RFC 3339 instant written in a test table.
func instant(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad instant %q in the table: %v", s, err)
	}
	return v
}

func TestAddWorkingDaysEnglandAndWales(t *testing.T) {
	c := englandClock(t)
	cases := []struct {
		why   string
		start string // RFC 3339; the zone it is written in must not matter
		n     int
		want  string // instantLayout: exact instant, offset and zone
	}{
		// Plain weeks (June 2026, BST, no bank holiday).
		{"Mon +1 is Tue", "2026-06-08T10:00:00+01:00", 1, "2026-06-09T17:00:00+01:00 BST"},
		{"Mon +5 is the next Mon", "2026-06-08T10:00:00+01:00", 5, "2026-06-15T17:00:00+01:00 BST"},
		{"Thu +2 skips Sat and Sun", "2026-06-11T10:00:00+01:00", 2, "2026-06-15T17:00:00+01:00 BST"},
		{"start Friday: +1 is Monday", "2026-06-12T09:00:00+01:00", 1, "2026-06-15T17:00:00+01:00 BST"},
		{"start Saturday: day zero is the Saturday, +1 is Monday", "2026-06-13T11:00:00+01:00", 1, "2026-06-15T17:00:00+01:00 BST"},
		{"start Sunday: +1 is Monday", "2026-06-14T11:00:00+01:00", 1, "2026-06-15T17:00:00+01:00 BST"},
		{"start Sunday: +2 is Tuesday", "2026-06-14T11:00:00+01:00", 2, "2026-06-16T17:00:00+01:00 BST"},
		{"start after 17:00: day zero is still that Monday", "2026-06-08T18:30:00+01:00", 1, "2026-06-09T17:00:00+01:00 BST"},
		{"start 23:59 local: still that Monday", "2026-06-08T23:59:00+01:00", 1, "2026-06-09T17:00:00+01:00 BST"},
		{"start exactly 17:00: still that Monday", "2026-06-08T17:00:00+01:00", 1, "2026-06-09T17:00:00+01:00 BST"},
		{"start at local midnight: day zero is the new day (Tue)", "2026-06-09T00:00:00+01:00", 1, "2026-06-10T17:00:00+01:00 BST"},

		// Starting on a bank holiday: the holiday is day zero.
		{"start on Spring bank holiday Mon 25 May 2026", "2026-05-25T10:00:00+01:00", 1, "2026-05-26T17:00:00+01:00 BST"},
		{"start on Good Friday 3 Apr 2026: Easter Mon 6 Apr skipped", "2026-04-03T10:00:00+01:00", 1, "2026-04-07T17:00:00+01:00 BST"},
		{"start on Christmas Day 2026: Boxing Day substitute Mon 28 skipped", "2026-12-25T09:00:00Z", 1, "2026-12-29T17:00:00+00:00 GMT"},
		{"start on the Boxing Day substitute Mon 28 Dec 2026", "2026-12-28T09:00:00Z", 1, "2026-12-29T17:00:00+00:00 GMT"},

		// Christmas and New Year substitutes.
		{"2020: Christmas Fri 25, Boxing Day Sat 26 -> Mon 28", "2020-12-24T12:00:00Z", 1, "2020-12-29T17:00:00+00:00 GMT"},
		{"2021: Christmas Sat -> Mon 27, Boxing Day Sun -> Tue 28", "2021-12-24T12:00:00Z", 1, "2021-12-29T17:00:00+00:00 GMT"},
		{"2022: Boxing Day Mon 26, Christmas Sun -> Tue 27", "2022-12-23T12:00:00Z", 1, "2022-12-28T17:00:00+00:00 GMT"},
		{"2023: Christmas Mon 25, Boxing Day Tue 26, no substitutes", "2023-12-22T12:00:00Z", 1, "2023-12-27T17:00:00+00:00 GMT"},
		{"contract example: 14:00 Thu 24 Dec 2026 +2 is 17:00 Wed 30 Dec", "2026-12-24T14:00:00Z", 2, "2026-12-30T17:00:00+00:00 GMT"},
		{"2027: Christmas Sat -> Mon 27, Boxing Day Sun -> Tue 28", "2027-12-24T12:00:00Z", 1, "2027-12-29T17:00:00+00:00 GMT"},
		{"New Year 2022: Sat 1 Jan -> Mon 3 Jan", "2021-12-31T12:00:00Z", 1, "2022-01-04T17:00:00+00:00 GMT"},
		{"New Year 2023: Sun 1 Jan -> Mon 2 Jan", "2022-12-30T12:00:00Z", 1, "2023-01-03T17:00:00+00:00 GMT"},
		{"New Year 2027: Fri 1 Jan", "2026-12-31T12:00:00Z", 1, "2027-01-04T17:00:00+00:00 GMT"},

		// n = 1, 5 and 10 spanning Christmas and New Year.
		{"Thu 24 Dec 2026 +1: 25 and 28 are holidays", "2026-12-24T14:00:00Z", 1, "2026-12-29T17:00:00+00:00 GMT"},
		{"Thu 24 Dec 2026 +5: 29, 30, 31, (1 Jan), 4, 5", "2026-12-24T14:00:00Z", 5, "2027-01-05T17:00:00+00:00 GMT"},
		{"Thu 24 Dec 2026 +10: 29, 30, 31, 4-8, 11, 12 Jan", "2026-12-24T14:00:00Z", 10, "2027-01-12T17:00:00+00:00 GMT"},
		{"Wed 23 Dec 2026 +10: 24, 29, 30, 31, 4-8, 11 Jan", "2026-12-23T09:00:00Z", 10, "2027-01-11T17:00:00+00:00 GMT"},
		{"Wed 24 Dec 2025 +1: Christmas Thu, Boxing Day Fri", "2025-12-24T10:00:00Z", 1, "2025-12-29T17:00:00+00:00 GMT"},
		{"Wed 24 Dec 2025 +5: 29, 30, 31, (1 Jan), 2, 5", "2025-12-24T10:00:00Z", 5, "2026-01-05T17:00:00+00:00 GMT"},
		{"Wed 24 Dec 2025 +10: 29, 30, 31, 2, 5-9, 12 Jan", "2025-12-24T10:00:00Z", 10, "2026-01-12T17:00:00+00:00 GMT"},

		// Easter.
		{"Easter 2025: Good Friday 18 Apr, Easter Monday 21 Apr", "2025-04-17T10:00:00+01:00", 1, "2025-04-22T17:00:00+01:00 BST"},
		{"Easter 2026: Good Friday 3 Apr, Easter Monday 6 Apr (+1)", "2026-04-02T10:00:00+01:00", 1, "2026-04-07T17:00:00+01:00 BST"},
		{"Easter 2026 (+2)", "2026-04-02T10:00:00+01:00", 2, "2026-04-08T17:00:00+01:00 BST"},
		{"Easter 2026 inside +10 from Mon 30 Mar", "2026-03-30T10:00:00+01:00", 10, "2026-04-15T17:00:00+01:00 BST"},
		{"Easter 2027: 26 and 29 Mar, and BST starts Sun 28 Mar", "2027-03-25T10:00:00Z", 1, "2027-03-30T17:00:00+01:00 BST"},

		// Early May, Spring (late May) and Summer bank holidays.
		{"early May 2025: Mon 5 May", "2025-05-02T10:00:00+01:00", 1, "2025-05-06T17:00:00+01:00 BST"},
		{"early May 2026: Mon 4 May", "2026-05-01T10:00:00+01:00", 1, "2026-05-05T17:00:00+01:00 BST"},
		{"early May 2027: Mon 3 May", "2027-04-30T10:00:00+01:00", 1, "2027-05-04T17:00:00+01:00 BST"},
		{"Spring 2025: Mon 26 May", "2025-05-23T10:00:00+01:00", 1, "2025-05-27T17:00:00+01:00 BST"},
		{"Spring 2026: Mon 25 May", "2026-05-22T10:00:00+01:00", 1, "2026-05-26T17:00:00+01:00 BST"},
		{"Spring 2027: Mon 31 May, deadline in June", "2027-05-28T10:00:00+01:00", 1, "2027-06-01T17:00:00+01:00 BST"},
		{"Summer 2025: Mon 25 Aug", "2025-08-22T10:00:00+01:00", 1, "2025-08-26T17:00:00+01:00 BST"},
		{"Summer 2026: Mon 31 Aug, deadline in September", "2026-08-28T10:00:00+01:00", 1, "2026-09-01T17:00:00+01:00 BST"},
		{"Summer 2027: Mon 30 Aug", "2027-08-27T10:00:00+01:00", 1, "2027-08-31T17:00:00+01:00 BST"},

		// One-off bank holidays.
		{"2020: early May moved to Fri 8 May (VE Day)", "2020-05-07T10:00:00+01:00", 1, "2020-05-11T17:00:00+01:00 BST"},
		{"2020: Mon 4 May was a working day", "2020-05-01T10:00:00+01:00", 1, "2020-05-04T17:00:00+01:00 BST"},
		{"2022 jubilee: Spring Thu 2 Jun and Platinum Jubilee Fri 3 Jun", "2022-06-01T10:00:00+01:00", 1, "2022-06-06T17:00:00+01:00 BST"},
		{"2022: no late-May holiday on Mon 30 May", "2022-05-27T10:00:00+01:00", 1, "2022-05-30T17:00:00+01:00 BST"},
		{"2022 state funeral: Mon 19 Sep", "2022-09-16T10:00:00+01:00", 1, "2022-09-20T17:00:00+01:00 BST"},
		{"2023 coronation: Mon 8 May", "2023-05-05T10:00:00+01:00", 1, "2023-05-09T17:00:00+01:00 BST"},
		{"2023: early May Mon 1 and coronation Mon 8 May in one +5", "2023-04-28T10:00:00+01:00", 5, "2023-05-09T17:00:00+01:00 BST"},

		// Clock changes: the deadline is 17:00 local with that day's offset.
		{"spring forward: GMT start Fri 27 Mar 2026, BST deadline", "2026-03-27T10:00:00Z", 1, "2026-03-30T17:00:00+01:00 BST"},
		{"start on the spring-forward Sunday itself (00:30 GMT)", "2026-03-29T00:30:00Z", 1, "2026-03-30T17:00:00+01:00 BST"},
		{"fall back: BST start Fri 23 Oct 2026, GMT deadline", "2026-10-23T10:00:00+01:00", 1, "2026-10-26T17:00:00+00:00 GMT"},
		{"start in the first 01:30 of fall-back Sunday (BST)", "2026-10-25T00:30:00Z", 1, "2026-10-26T17:00:00+00:00 GMT"},
		{"start in the repeated 01:30 of fall-back Sunday (GMT)", "2026-10-25T01:30:00Z", 1, "2026-10-26T17:00:00+00:00 GMT"},

		// The local day, not the UTC day (or the writer's), is day zero.
		{"23:30Z Wed 1 Jul 2026 is 00:30 BST Thu 2 Jul", "2026-07-01T23:30:00Z", 1, "2026-07-03T17:00:00+01:00 BST"},
		{"23:30Z Wed 14 Jan 2026 is still Wed in London (GMT)", "2026-01-14T23:30:00Z", 1, "2026-01-15T17:00:00+00:00 GMT"},
		{"01:30+05:30 Tue 9 Jun is 21:00 BST Mon 8 Jun", "2026-06-09T01:30:00+05:30", 1, "2026-06-09T17:00:00+01:00 BST"},
		{"22:00-05:00 Fri 12 Jun is 04:00 BST Sat 13 Jun", "2026-06-12T22:00:00-05:00", 1, "2026-06-15T17:00:00+01:00 BST"},
	}
	for _, tc := range cases {
		t.Run(tc.why, func(t *testing.T) {
			start := instant(t, tc.start)
			got := c.AddWorkingDays(start, tc.n)
			if s := got.Format(instantLayout); s != tc.want {
				t.Errorf("AddWorkingDays(%s, %d) = %s (%s), want %s", tc.start, tc.n, s, got.Weekday(), tc.want)
			}
			if loc := got.Location().String(); loc != "Europe/London" {
				t.Errorf("deadline in %s, want Europe/London", loc)
			}
			if !got.After(start) {
				t.Errorf("deadline %s is not after the start %s", got, start)
			}
		})
	}
}

// The start's own zone never changes the deadline: the same instant written
// in UTC, in London and in New York gives the same answer.
func TestAddWorkingDaysIgnoresTheStartsZone(t *testing.T) {
	c := englandClock(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"2026-12-24T14:00:00Z", "2026-07-01T23:30:00Z", "2026-03-29T00:30:00Z", "2026-10-25T01:30:00Z"} {
		start := instant(t, s)
		want := c.AddWorkingDays(start.UTC(), 2)
		for _, loc := range []*time.Location{time.UTC, c.Location, ny} {
			if got := c.AddWorkingDays(start.In(loc), 2); !got.Equal(want) || got.Format(instantLayout) != want.Format(instantLayout) {
				t.Errorf("%s in %s: %s, want %s", s, loc, got.Format(instantLayout), want.Format(instantLayout))
			}
		}
	}
}

// A clock with another end of day and another zone.
func TestAddWorkingDaysOtherEndOfDayAndZone(t *testing.T) {
	for _, tc := range []struct {
		why, tz, eod, start string
		n                   int
		want                string
	}{
		{"end of day 09:30", "Europe/London", "09:30", "2026-12-24T14:00:00Z", 2, "2026-12-30T09:30:00+00:00 GMT"},
		{"end of day 00:00: the start of the nth working day", "Europe/London", "00:00", "2026-06-08T10:00:00+01:00", 1, "2026-06-09T00:00:00+01:00 BST"},
		{"default zone and end of day", "", "", "2026-12-24T14:00:00Z", 2, "2026-12-30T17:00:00+00:00 GMT"},
		// 23:30Z Thu 24 Dec is 00:30 CET Fri 25 Dec in Paris: day zero is the
		// Friday, a bank holiday of the calendar; Mon 28 is one too.
		{"another time zone decides day zero", "Europe/Paris", "17:00", "2026-12-24T23:30:00Z", 1, "2026-12-29T17:00:00+01:00 CET"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			c, err := NewClock(CalendarEnglandAndWales, tc.tz, tc.eod)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AddWorkingDays(instant(t, tc.start), tc.n).Format(instantLayout); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// englandAndWales2022to2027 is every bank holiday of England and Wales from
// 2022 to 2027 as gov.uk lists it: date, a word of its name, and whether it
// is a substitute day.
var englandAndWales2022to2027 = []struct {
	date, name string
	substitute bool
}{
	{"2022-01-03", "New Year", true},
	{"2022-04-15", "Good Friday", false},
	{"2022-04-18", "Easter Monday", false},
	{"2022-05-02", "Early May", false},
	{"2022-06-02", "Spring", false},
	{"2022-06-03", "Jubilee", false},
	{"2022-08-29", "Summer", false},
	{"2022-09-19", "State Funeral", false},
	{"2022-12-26", "Boxing Day", false},
	{"2022-12-27", "Christmas Day", true},
	{"2023-01-02", "New Year", true},
	{"2023-04-07", "Good Friday", false},
	{"2023-04-10", "Easter Monday", false},
	{"2023-05-01", "Early May", false},
	{"2023-05-08", "Coronation", false},
	{"2023-05-29", "Spring", false},
	{"2023-08-28", "Summer", false},
	{"2023-12-25", "Christmas Day", false},
	{"2023-12-26", "Boxing Day", false},
	{"2024-01-01", "New Year", false},
	{"2024-03-29", "Good Friday", false},
	{"2024-04-01", "Easter Monday", false},
	{"2024-05-06", "Early May", false},
	{"2024-05-27", "Spring", false},
	{"2024-08-26", "Summer", false},
	{"2024-12-25", "Christmas Day", false},
	{"2024-12-26", "Boxing Day", false},
	{"2025-01-01", "New Year", false},
	{"2025-04-18", "Good Friday", false},
	{"2025-04-21", "Easter Monday", false},
	{"2025-05-05", "Early May", false},
	{"2025-05-26", "Spring", false},
	{"2025-08-25", "Summer", false},
	{"2025-12-25", "Christmas Day", false},
	{"2025-12-26", "Boxing Day", false},
	{"2026-01-01", "New Year", false},
	{"2026-04-03", "Good Friday", false},
	{"2026-04-06", "Easter Monday", false},
	{"2026-05-04", "Early May", false},
	{"2026-05-25", "Spring", false},
	{"2026-08-31", "Summer", false},
	{"2026-12-25", "Christmas Day", false},
	{"2026-12-28", "Boxing Day", true},
	{"2027-01-01", "New Year", false},
	{"2027-03-26", "Good Friday", false},
	{"2027-03-29", "Easter Monday", false},
	{"2027-05-03", "Early May", false},
	{"2027-05-31", "Spring", false},
	{"2027-08-30", "Summer", false},
	{"2027-12-27", "Christmas Day", true},
	{"2027-12-28", "Boxing Day", true},
}

func ymd(t *testing.T, s string) (int, time.Month, int) {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatalf("bad date %q in the table: %v", s, err)
	}
	return d.Date()
}

func TestBankHolidaysEnglandAndWales2022to2027(t *testing.T) {
	c := englandClock(t)
	for _, h := range englandAndWales2022to2027 {
		t.Run(h.date, func(t *testing.T) {
			y, m, d := ymd(t, h.date)
			name, ok := c.BankHoliday(y, m, d)
			if !ok {
				t.Fatalf("%s is not a bank holiday, want %s", h.date, h.name)
			}
			if !strings.Contains(strings.ToLower(name), strings.ToLower(h.name)) {
				t.Errorf("%s is %q, want %s", h.date, name, h.name)
			}
			if sub := strings.HasSuffix(name, "(substitute day)"); sub != h.substitute {
				t.Errorf("%s is %q: substitute %v, want %v", h.date, name, sub, h.substitute)
			}
			if c.IsWorkingDay(y, m, d) {
				t.Errorf("%s is a working day", h.date)
			}
		})
	}
}

// Days that are not bank holidays of England and Wales, many of them
// holidays elsewhere or in another year.
func TestOrdinaryDaysEnglandAndWales(t *testing.T) {
	c := englandClock(t)
	for _, tc := range []struct {
		date, why string
		working   bool
	}{
		{"2026-12-24", "Christmas Eve, Thursday", true},
		{"2026-12-31", "New Year's Eve, Thursday", true},
		{"2025-01-02", "2 January is a Scottish holiday only", true},
		{"2026-03-17", "St Patrick's Day is Northern Ireland only", true},
		{"2026-11-30", "St Andrew's Day (Mon) is Scotland only", true},
		{"2026-08-03", "first Monday of August is Scotland's summer holiday", true},
		{"2027-07-12", "Battle of the Boyne is Northern Ireland only", true},
		{"2022-05-30", "last Monday of May 2022: moved to 2 June", true},
		{"2023-06-05", "the 2022 jubilee does not recur", true},
		{"2023-09-19", "the 2022 state funeral does not recur", true},
		{"2024-05-08", "the 2023 coronation does not recur", true},
		{"2020-05-04", "first Monday of May 2020: moved to VE Day", true},
		{"2026-04-02", "Maundy Thursday", true},
		{"2026-04-07", "Easter Tuesday", true},
		{"2026-06-10", "an ordinary Wednesday", true},
		{"2026-12-29", "Tuesday after the Boxing Day substitute", true},
		{"2021-12-25", "Christmas on a Saturday: the holiday is Monday", false},
		{"2022-12-25", "Christmas on a Sunday: the holiday is Tuesday", false},
		{"2026-12-26", "Boxing Day on a Saturday: the holiday is Monday", false},
		{"2026-06-13", "an ordinary Saturday", false},
		{"2026-06-14", "an ordinary Sunday", false},
	} {
		t.Run(tc.date+" "+tc.why, func(t *testing.T) {
			y, m, d := ymd(t, tc.date)
			if name, hol := c.BankHoliday(y, m, d); hol {
				t.Errorf("BankHoliday(%s) = %q, want none", tc.date, name)
			}
			if got := c.IsWorkingDay(y, m, d); got != tc.working {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tc.date, got, tc.working)
			}
		})
	}
}

// Every weekday of 2022-2027 not in the list above is a working day, and
// no weekend day is.
func TestEveryOtherWeekdayIsWorking2022to2027(t *testing.T) {
	c := englandClock(t)
	holiday := map[string]bool{}
	for _, h := range englandAndWales2022to2027 {
		holiday[h.date] = true
	}
	for d := time.Date(2022, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		key := d.Format("2006-01-02")
		weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		if got, want := c.IsWorkingDay(d.Date()), !weekend && !holiday[key]; got != want {
			t.Errorf("IsWorkingDay(%s, %s) = %v, want %v", key, d.Weekday(), got, want)
		}
		if !weekend {
			if _, hol := c.BankHoliday(d.Date()); hol != holiday[key] {
				t.Errorf("BankHoliday(%s, %s) = %v, want %v", key, d.Weekday(), hol, holiday[key])
			}
		}
	}
}

// IsWorkingDay normalises out-of-range dates like time.Date does.
func TestIsWorkingDayNormalises(t *testing.T) {
	c := englandClock(t)
	// 32 December 2026 is Fri 1 January 2027, New Year's Day.
	if c.IsWorkingDay(2026, time.December, 32) {
		t.Error("32 Dec 2026 (1 Jan 2027) is a working day")
	}
	// 0 January 2027 is Thu 31 December 2026.
	if !c.IsWorkingDay(2027, time.January, 0) {
		t.Error("0 Jan 2027 (31 Dec 2026) is not a working day")
	}
}

// The calendar's weekday bank holidays over a century are exactly those of
// rickar/cal/v2/gb (plus the 2022 state funeral): gov.uk's names for
// Christmas and Boxing Day did not move a date.
func TestEnglandAndWalesDatesMatchGB(t *testing.T) {
	c := englandClock(t)
	want := map[string]bool{"2022-09-19": true}
	for y := 1995; y <= 2100; y++ {
		for _, h := range gb.Holidays {
			if _, obs := h.Calc(y); !obs.IsZero() {
				want[obs.Format("2006-01-02")] = true
			}
		}
	}
	for d := time.Date(1995, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() <= 2100; d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		key := d.Format("2006-01-02")
		if _, hol := c.BankHoliday(d.Date()); hol != want[key] {
			t.Errorf("%s (%s): bank holiday %v, gb says %v", key, d.Weekday(), hol, want[key])
		}
	}
}

// Whenever Christmas Day is a Sunday, Boxing Day stays on Monday 26 and the
// Christmas substitute is Tuesday 27 (gov.uk); whenever it is a Saturday,
// Christmas is Monday 27 and Boxing Day Tuesday 28.
func TestChristmasSubstituteNames(t *testing.T) {
	c := englandClock(t)
	for _, tc := range []struct {
		year       int
		day26      string
		day27      string
		day28      string
		christmas  time.Weekday
		holidayOn  []int
		workingDay []int
	}{
		{2011, "Boxing Day", "Christmas Day (substitute day)", "", time.Sunday, []int{26, 27}, []int{28}},
		{2022, "Boxing Day", "Christmas Day (substitute day)", "", time.Sunday, []int{26, 27}, []int{28}},
		{2033, "Boxing Day", "Christmas Day (substitute day)", "", time.Sunday, []int{26, 27}, []int{28}},
		{2021, "", "Christmas Day (substitute day)", "Boxing Day (substitute day)", time.Saturday, []int{27, 28}, []int{29}},
		{2027, "", "Christmas Day (substitute day)", "Boxing Day (substitute day)", time.Saturday, []int{27, 28}, []int{29}},
		{2026, "", "", "Boxing Day (substitute day)", time.Friday, []int{25, 28}, []int{24, 29}},
	} {
		t.Run(fmt.Sprint(tc.year), func(t *testing.T) {
			if wd := time.Date(tc.year, 12, 25, 0, 0, 0, 0, time.UTC).Weekday(); wd != tc.christmas {
				t.Fatalf("table: Christmas %d is a %s", tc.year, wd)
			}
			for d, want := range map[int]string{26: tc.day26, 27: tc.day27, 28: tc.day28} {
				if want == "" {
					continue
				}
				if got, _ := c.BankHoliday(tc.year, time.December, d); got != want {
					t.Errorf("%d Dec %d: %q, want %q", d, tc.year, got, want)
				}
			}
			for _, d := range tc.holidayOn {
				if c.IsWorkingDay(tc.year, time.December, d) {
					t.Errorf("%d Dec %d is a working day", d, tc.year)
				}
			}
			for _, d := range tc.workingDay {
				if !c.IsWorkingDay(tc.year, time.December, d) {
					t.Errorf("%d Dec %d is not a working day", d, tc.year)
				}
			}
		})
	}
}

func TestClosuresAreNotWorkingDays(t *testing.T) {
	c := englandClock(t)
	c.Closures = []string{"2026-06-09", "2026-12-29"}
	for _, tc := range []struct {
		why, start string
		n          int
		want       string
	}{
		{"Tue 9 Jun closed: Mon +1 is Wed", "2026-06-08T10:00:00+01:00", 1, "2026-06-10T17:00:00+01:00 BST"},
		{"29 Dec closed too: Thu 24 Dec +2 is Thu 31", "2026-12-24T14:00:00Z", 2, "2026-12-31T17:00:00+00:00 GMT"},
	} {
		if got := c.AddWorkingDays(instant(t, tc.start), tc.n).Format(instantLayout); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.why, got, tc.want)
		}
	}
	if name, ok := c.BankHoliday(2026, time.June, 9); !ok || name != "partnership closure" {
		t.Errorf("closure: %q %v", name, ok)
	}
	if !c.IsWorkingDay(2026, time.June, 10) {
		t.Error("the day after a closure is not a working day")
	}
	// A clock without closures is unaffected.
	if !englandClock(t).IsWorkingDay(2026, time.June, 9) {
		t.Error("closure leaked into another clock")
	}
}

func TestNewClock(t *testing.T) {
	for _, tc := range []struct {
		calendar, tz, eod string
		wantZone          string
		wantEnd           time.Duration
		wantErr           string
	}{
		{CalendarEnglandAndWales, "Europe/London", "17:00", "Europe/London", 17 * time.Hour, ""},
		{CalendarEnglandAndWales, "", "", "Europe/London", 17 * time.Hour, ""},
		{CalendarScotland, "Europe/London", "09:30", "Europe/London", 9*time.Hour + 30*time.Minute, ""},
		{CalendarNorthernIreland, "UTC", "23:59", "UTC", 23*time.Hour + 59*time.Minute, ""},
		{CalendarEnglandAndWales, "Europe/London", "00:00", "Europe/London", 0, ""},
		{"narnia", "", "", "", 0, `unknown calendar "narnia"`},
		{"", "", "", "", 0, `unknown calendar ""`},
		{"England-and-Wales", "", "", "", 0, "unknown calendar"},
		{CalendarEnglandAndWales, "Mars/Olympus", "", "", 0, `unknown time zone "Mars/Olympus"`},
		{CalendarEnglandAndWales, "Local", "", "", 0, `unknown time zone "Local"`},
		{CalendarEnglandAndWales, "", "5pm", "", 0, `end of day "5pm"`},
		{CalendarEnglandAndWales, "", "25:00", "", 0, "end of day"},
		{CalendarEnglandAndWales, "", "17.00", "", 0, "end of day"},
		{CalendarEnglandAndWales, "", "17:00:00", "", 0, "end of day"},
	} {
		t.Run(fmt.Sprintf("%s|%s|%s", tc.calendar, tc.tz, tc.eod), func(t *testing.T) {
			c, err := NewClock(tc.calendar, tc.tz, tc.eod)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Calendar != tc.calendar || c.Location.String() != tc.wantZone || c.EndOfDay != tc.wantEnd || c.Closures != nil {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestCalendarNames(t *testing.T) {
	names := CalendarNames()
	want := []string{CalendarEnglandAndWales, CalendarNorthernIreland, CalendarScotland}
	if fmt.Sprint(names) != fmt.Sprint(want) || !sort.StringsAreSorted(names) {
		t.Fatalf("CalendarNames() = %v, want %v", names, want)
	}
	names[0] = "changed"
	if CalendarNames()[0] != CalendarEnglandAndWales {
		t.Fatal("CalendarNames returned its own slice")
	}
}

// Scotland and Northern Ireland, 2022-2027, written out from the gov.uk
// lists; every other weekday of those years must be a working day.
func TestBankHolidaysScotlandAndNorthernIreland(t *testing.T) {
	for _, tc := range []struct {
		calendar string
		holidays []string
	}{
		{CalendarScotland, []string{
			"2022-01-03", "2022-01-04", "2022-04-15", "2022-05-02", "2022-06-02", "2022-06-03", "2022-08-01", "2022-09-19", "2022-11-30", "2022-12-26", "2022-12-27",
			"2023-01-02", "2023-01-03", "2023-04-07", "2023-05-01", "2023-05-08", "2023-05-29", "2023-08-07", "2023-11-30", "2023-12-25", "2023-12-26",
			"2024-01-01", "2024-01-02", "2024-03-29", "2024-05-06", "2024-05-27", "2024-08-05", "2024-12-02", "2024-12-25", "2024-12-26",
			"2025-01-01", "2025-01-02", "2025-04-18", "2025-05-05", "2025-05-26", "2025-08-04", "2025-12-01", "2025-12-25", "2025-12-26",
			"2026-01-01", "2026-01-02", "2026-04-03", "2026-05-04", "2026-05-25", "2026-08-03", "2026-11-30", "2026-12-25", "2026-12-28",
			"2027-01-01", "2027-01-04", "2027-03-26", "2027-05-03", "2027-05-31", "2027-08-02", "2027-11-30", "2027-12-27", "2027-12-28",
		}},
		{CalendarNorthernIreland, []string{
			"2022-01-03", "2022-03-17", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02", "2022-06-03", "2022-07-12", "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27",
			"2023-01-02", "2023-03-17", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29", "2023-07-12", "2023-08-28", "2023-12-25", "2023-12-26",
			"2024-01-01", "2024-03-18", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-07-12", "2024-08-26", "2024-12-25", "2024-12-26",
			"2025-01-01", "2025-03-17", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-07-14", "2025-08-25", "2025-12-25", "2025-12-26",
			"2026-01-01", "2026-03-17", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-07-13", "2026-08-31", "2026-12-25", "2026-12-28",
			"2027-01-01", "2027-03-17", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-07-12", "2027-08-30", "2027-12-27", "2027-12-28",
		}},
	} {
		t.Run(tc.calendar, func(t *testing.T) {
			c, err := NewClock(tc.calendar, "Europe/London", "17:00")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for _, h := range tc.holidays {
				want[h] = true
			}
			for d := time.Date(2022, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
				if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
					continue
				}
				key := d.Format("2006-01-02")
				if _, hol := c.BankHoliday(d.Year(), d.Month(), d.Day()); hol != want[key] {
					t.Errorf("%s (%s): bank holiday %v, want %v", key, d.Weekday(), hol, want[key])
				}
			}
		})
	}
	// Easter Monday is a working day in Scotland: +1 from Good Friday 2026.
	sc, err := NewClock(CalendarScotland, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sc.AddWorkingDays(instant(t, "2026-04-03T10:00:00+01:00"), 1).Format(instantLayout), "2026-04-06T17:00:00+01:00 BST"; got != want {
		t.Errorf("Scotland Easter: got %s, want %s", got, want)
	}
}

// Working days between two instants count as deadlines do: day zero is the
// local day of the start.
func TestWorkingDaysBetween(t *testing.T) {
	clock, err := NewClock(CalendarEnglandAndWales, "Europe/London", "17:00")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		from, to string
		want     int
	}{
		{"2026-06-01T10:00:00Z", "2026-06-01T16:00:00Z", 0},
		{"2026-06-05T10:00:00Z", "2026-06-08T08:00:00Z", 1},
		// Christmas 2026: 25 December, and Boxing Day's substitute on Monday 28.
		{"2026-12-24T14:00:00Z", "2026-12-30T17:00:00Z", 2},
		// 23:30 UTC on 31 March is 1 April in London: day zero is 1 April.
		{"2026-03-31T23:30:00Z", "2026-04-02T09:00:00Z", 1},
		{"2026-06-05T10:00:00Z", "2026-06-01T10:00:00Z", 0},
	} {
		if got := clock.WorkingDaysBetween(utc(tc.from), utc(tc.to)); got != tc.want {
			t.Errorf("working days %s to %s = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
	// It agrees with AddWorkingDays: n working days on is n working days between.
	start := utc("2026-12-24T14:00:00Z")
	for n := 1; n <= 30; n++ {
		if got := clock.WorkingDaysBetween(start, clock.AddWorkingDays(start, n)); got != n {
			t.Errorf("%d working days after %v counts as %d", n, start, got)
		}
	}
}
