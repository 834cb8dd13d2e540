package policies

import (
	"strings"
	"testing"
	"time"
)

var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}()

func ew(t *testing.T) Clock {
	t.Helper()
	c, err := NewClock(CalendarEnglandAndWales, "Europe/London", "17:00")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func lt(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, london)
}

// Expected deadlines are worked out by hand from the gov.uk bank holiday
// lists, never from the code under test.
func TestAddWorkingDaysTable(t *testing.T) {
	c := ew(t)
	cases := []struct {
		why   string
		start time.Time
		n     int
		want  time.Time
	}{
		{"plain week: Mon +2", lt(2026, 11, 23, 9, 0), 2, lt(2026, 11, 25, 17, 0)},
		{"Thu +2 crosses the weekend", lt(2026, 11, 26, 9, 0), 2, lt(2026, 11, 30, 17, 0)},
		{"Fri +1 is Monday", lt(2026, 11, 27, 16, 59), 1, lt(2026, 11, 30, 17, 0)},
		{"start Saturday: day zero is Saturday", lt(2026, 11, 28, 10, 0), 1, lt(2026, 11, 30, 17, 0)},
		{"start Sunday", lt(2026, 11, 29, 10, 0), 2, lt(2026, 12, 1, 17, 0)},
		{"start after 17:00 still counts that day as day zero", lt(2026, 11, 23, 22, 0), 1, lt(2026, 11, 24, 17, 0)},
		{"start just after midnight", lt(2026, 11, 24, 0, 1), 1, lt(2026, 11, 25, 17, 0)},
		{"Mon +5 is next Monday", lt(2026, 11, 23, 9, 0), 5, lt(2026, 11, 30, 17, 0)},
		{"+10 is two weeks", lt(2026, 11, 9, 9, 0), 10, lt(2026, 11, 23, 17, 0)},
		// Christmas 2026: Fri 25 Dec, Boxing Day Sat 26 -> substitute Mon 28 Dec; New Year Fri 1 Jan 2027.
		{"contract example: Thu 24 Dec 2026 14:00 +2", lt(2026, 12, 24, 14, 0), 2, lt(2026, 12, 30, 17, 0)},
		{"Christmas 2026 +5 crosses New Year", lt(2026, 12, 24, 14, 0), 5, lt(2027, 1, 5, 17, 0)},
		{"start on Christmas Day 2026", lt(2026, 12, 25, 9, 0), 1, lt(2026, 12, 29, 17, 0)},
		{"Wed 23 Dec 2026 +10", lt(2026, 12, 23, 9, 0), 10, lt(2027, 1, 11, 17, 0)},
		// Christmas 2020: Fri 25, Boxing Day Sat 26 -> Mon 28.
		{"Christmas 2020", lt(2020, 12, 24, 12, 0), 1, lt(2020, 12, 29, 17, 0)},
		// Christmas 2021: Sat 25 -> Mon 27, Sun 26 -> Tue 28.
		{"Christmas 2021 both substitutes", lt(2021, 12, 24, 12, 0), 1, lt(2021, 12, 29, 17, 0)},
		// Christmas 2022: Sun 25 -> Tue 27, Boxing Day Mon 26.
		{"Christmas 2022", lt(2022, 12, 23, 12, 0), 1, lt(2022, 12, 28, 17, 0)},
		// New Year 2022: Sat 1 Jan -> Mon 3 Jan.
		{"New Year 2022 substitute Monday", lt(2021, 12, 31, 12, 0), 1, lt(2022, 1, 4, 17, 0)},
		// New Year 2023: Sun 1 Jan -> Mon 2 Jan.
		{"New Year 2023 substitute Monday", lt(2022, 12, 30, 12, 0), 1, lt(2023, 1, 3, 17, 0)},
		// Easter 2025: Good Friday 18 Apr, Easter Monday 21 Apr.
		{"Easter 2025", lt(2025, 4, 17, 10, 0), 1, lt(2025, 4, 22, 17, 0)},
		// Easter 2026: 3 Apr and 6 Apr.
		{"Easter 2026", lt(2026, 4, 2, 10, 0), 2, lt(2026, 4, 8, 17, 0)},
		// Easter 2027: 26 Mar and 29 Mar.
		{"Easter 2027", lt(2027, 3, 25, 10, 0), 1, lt(2027, 3, 30, 17, 0)},
		// Early May: 5 May 2025, 4 May 2026, 3 May 2027.
		{"early May 2025", lt(2025, 5, 2, 10, 0), 1, lt(2025, 5, 6, 17, 0)},
		{"early May 2026", lt(2026, 5, 1, 10, 0), 1, lt(2026, 5, 5, 17, 0)},
		{"early May 2027", lt(2027, 4, 30, 10, 0), 1, lt(2027, 5, 4, 17, 0)},
		// Spring (late May): 26 May 2025, 25 May 2026, 31 May 2027.
		{"late May 2025", lt(2025, 5, 23, 10, 0), 1, lt(2025, 5, 27, 17, 0)},
		{"late May 2026", lt(2026, 5, 22, 10, 0), 1, lt(2026, 5, 26, 17, 0)},
		{"late May 2027", lt(2027, 5, 28, 10, 0), 1, lt(2027, 6, 1, 17, 0)},
		// Summer: 25 Aug 2025, 31 Aug 2026, 30 Aug 2027.
		{"August 2025", lt(2025, 8, 22, 10, 0), 1, lt(2025, 8, 26, 17, 0)},
		{"August 2026", lt(2026, 8, 28, 10, 0), 1, lt(2026, 9, 1, 17, 0)},
		{"August 2027", lt(2027, 8, 27, 10, 0), 1, lt(2027, 8, 31, 17, 0)},
		// One-offs: 2022 spring holiday moved to Thu 2 Jun, jubilee Fri 3 Jun; state funeral Mon 19 Sep 2022; coronation Mon 8 May 2023.
		{"2022 jubilee weekend", lt(2022, 6, 1, 10, 0), 1, lt(2022, 6, 6, 17, 0)},
		{"2022 no late-May holiday on 30 May", lt(2022, 5, 27, 10, 0), 1, lt(2022, 5, 30, 17, 0)},
		{"2022 state funeral", lt(2022, 9, 16, 10, 0), 1, lt(2022, 9, 20, 17, 0)},
		{"2023 coronation and early May", lt(2023, 5, 5, 10, 0), 1, lt(2023, 5, 9, 17, 0)},
		// Clock changes: BST starts Sun 29 Mar 2026, ends Sun 25 Oct 2026.
		{"across spring forward: GMT start, BST deadline", lt(2026, 3, 27, 10, 0), 1, lt(2026, 3, 30, 17, 0)},
		{"across fall back: BST start, GMT deadline", lt(2026, 10, 23, 10, 0), 1, lt(2026, 10, 26, 17, 0)},
		// 23:30 UTC on Wed 1 Jul 2026 is 00:30 BST on Thursday 2 Jul: day zero is Thursday.
		{"UTC instant already the next London day", time.Date(2026, 7, 1, 23, 30, 0, 0, time.UTC), 1, lt(2026, 7, 3, 17, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.why, func(t *testing.T) {
			got := c.AddWorkingDays(tc.start, tc.n)
			if !got.Equal(tc.want) {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, want %s", tc.start.Format(time.RFC3339), tc.n,
					got.Format("Mon 2 Jan 2006 15:04 MST"), tc.want.Format("Mon 2 Jan 2006 15:04 MST"))
			}
			// The deadline is 17:00 London time with the offset of that date.
			if _, off := got.Zone(); off != wantOffset(got) || got.In(london).Hour() != 17 {
				t.Fatalf("deadline %s not at 17:00 local", got)
			}
		})
	}
}

func wantOffset(t time.Time) int {
	_, off := t.In(london).Zone()
	return off
}

// Every England and Wales bank holiday, 2022-2027, written out.
func TestBankHolidaysEnglandAndWales(t *testing.T) {
	c := ew(t)
	holidays := []string{
		"2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02", "2022-06-03", "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27",
		"2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29", "2023-08-28", "2023-12-25", "2023-12-26",
		"2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26",
		"2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26",
		"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
		"2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
	}
	isHoliday := map[string]bool{}
	for _, h := range holidays {
		isHoliday[h] = true
		d, _ := time.Parse("2006-01-02", h)
		if _, ok := c.BankHoliday(d.Year(), d.Month(), d.Day()); !ok {
			t.Errorf("%s should be a bank holiday", h)
		}
		if c.IsWorkingDay(d.Year(), d.Month(), d.Day()) {
			t.Errorf("%s should not be a working day", h)
		}
	}
	// And no other weekday of those years is one.
	for d := time.Date(2022, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		key := d.Format("2006-01-02")
		wd := d.Weekday()
		if wd == time.Saturday || wd == time.Sunday {
			if c.IsWorkingDay(d.Year(), d.Month(), d.Day()) {
				t.Errorf("%s is a weekend day", key)
			}
			continue
		}
		_, hol := c.BankHoliday(d.Year(), d.Month(), d.Day())
		if hol != isHoliday[key] {
			t.Errorf("%s (%s): bank holiday %v, want %v", key, wd, hol, isHoliday[key])
		}
	}
}

func TestClosures(t *testing.T) {
	c := ew(t)
	c.Closures = []string{"2026-11-24"}
	if got, want := c.AddWorkingDays(lt(2026, 11, 23, 9, 0), 1), lt(2026, 11, 25, 17, 0); !got.Equal(want) {
		t.Fatalf("closure not skipped: %s", got)
	}
}

func TestNewClockRefusals(t *testing.T) {
	for _, tc := range []struct{ cal, tz, eod, want string }{
		{"narnia", "", "", "unknown calendar"},
		{CalendarEnglandAndWales, "Mars/Olympus", "", "time zone"},
		{CalendarEnglandAndWales, "", "5pm", "end of day"},
	} {
		if _, err := NewClock(tc.cal, tc.tz, tc.eod); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewClock(%q,%q,%q) = %v, want error about %s", tc.cal, tc.tz, tc.eod, err, tc.want)
		}
	}
}

func TestParseTimescale(t *testing.T) {
	ok := []struct {
		in   string
		want Timescale
	}{
		{"2 working days", Timescale{2, UnitWorkingDays}},
		{"1 working day", Timescale{1, UnitWorkingDays}},
		{"  5  Working  Days ", Timescale{5, UnitWorkingDays}},
		{"24 hours", Timescale{24, UnitHours}},
		{"1 hour", Timescale{1, UnitHours}},
		{"30 minutes", Timescale{30, UnitMinutes}},
		{"30 seconds", Timescale{30, UnitSeconds}},
		{"agreed per case", Timescale{Unit: UnitAgreed}},
	}
	for _, tc := range ok {
		got, err := ParseTimescale(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseTimescale(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, err := ParseTimescale(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q via %q: %+v %v", tc.in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "2", "two days", "0 hours", "-1 hours", "2 fortnights", "2 days", "1.5 hours", "48 hours (2 working days)"} {
		if _, err := ParseTimescale(bad); err == nil {
			t.Errorf("ParseTimescale(%q) accepted", bad)
		}
	}
}

// Clock durations are real elapsed time, even across a clock change.
func TestClockUnitsAcrossClockChange(t *testing.T) {
	c := ew(t)
	start := lt(2026, 3, 28, 12, 0) // the day before BST starts
	due, err := Timescale{24, UnitHours}.DueAt(start, c)
	if err != nil {
		t.Fatal(err)
	}
	if due.Sub(start) != 24*time.Hour || due.In(london).Hour() != 13 {
		t.Fatalf("24 hours from %s = %s", start, due.In(london))
	}
	if _, err := (Timescale{Unit: UnitAgreed}).DueAt(start, c); err == nil {
		t.Fatal("agreed timescale gave a deadline of its own")
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
	sc, _ := NewClock(CalendarScotland, "", "")
	if got, want := sc.AddWorkingDays(lt(2026, 4, 3, 10, 0), 1), lt(2026, 4, 6, 17, 0); !got.Equal(want) {
		t.Errorf("Scotland Easter: %s", got)
	}
}
