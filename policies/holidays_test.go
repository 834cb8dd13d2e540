package policies

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// The resolved dates of England and Wales are exactly gov.uk's list (the
// hand-written englandAndWales2022to2027 of calendar_test.go), substitute
// days and their names included, in order, and nothing else.
func TestResolveHolidaysEnglandAndWalesIsGovUKList(t *testing.T) {
	h, err := ResolveHolidays(CalendarEnglandAndWales, 2022, 2027)
	if err != nil {
		t.Fatal(err)
	}
	if h.Calendar != CalendarEnglandAndWales || h.From != "2022-01-01" || h.To != "2027-12-31" {
		t.Errorf("span: %s %s to %s", h.Calendar, h.From, h.To)
	}
	if len(h.Dates) != len(englandAndWales2022to2027) {
		t.Fatalf("%d dates, gov.uk lists %d: %v", len(h.Dates), len(englandAndWales2022to2027), h.Dates)
	}
	for i, want := range englandAndWales2022to2027 {
		got := h.Dates[i]
		if got.Date != want.date {
			t.Errorf("date %d: %s, want %s", i, got.Date, want.date)
		}
		if !strings.Contains(strings.ToLower(got.Name), strings.ToLower(want.name)) {
			t.Errorf("%s: named %q, want %s", got.Date, got.Name, want.name)
		}
		if sub := strings.HasSuffix(got.Name, "(substitute day)"); sub != want.substitute {
			t.Errorf("%s %q: substitute %v, want %v", got.Date, got.Name, sub, want.substitute)
		}
	}
}

// Other calendars' own days, and a one-year span's exact edges.
func TestResolveHolidaysOtherCalendarsAndSpans(t *testing.T) {
	for _, tc := range []struct {
		calendar   string
		from, to   int
		want       []string // dates that must be listed
		notWant    []string // dates that must not be
		wantCount  int
		wantFrom   string
		wantToDate string
	}{
		{CalendarEnglandAndWales, 2026, 2026,
			[]string{"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28"},
			[]string{"2026-12-26", "2026-03-17", "2026-11-30", "2025-12-26", "2027-01-01"}, 8, "2026-01-01", "2026-12-31"},
		{CalendarScotland, 2026, 2026,
			[]string{"2026-01-01", "2026-01-02", "2026-04-03", "2026-08-03", "2026-11-30", "2026-12-25", "2026-12-28"},
			[]string{"2026-04-06", "2026-08-31"}, 9, "2026-01-01", "2026-12-31"},
		{CalendarNorthernIreland, 2026, 2026,
			[]string{"2026-03-17", "2026-07-13", "2026-04-06", "2026-08-31"},
			[]string{"2026-07-12", "2026-08-03"}, 10, "2026-01-01", "2026-12-31"},
		// Three years: the span a snapshot takes.
		{CalendarEnglandAndWales, 2026, 2028,
			[]string{"2026-12-28", "2027-12-27", "2027-12-28", "2028-04-14", "2028-04-17", "2028-12-25", "2028-12-26"},
			[]string{"2029-01-01", "2025-12-25"}, 24, "2026-01-01", "2028-12-31"},
	} {
		t.Run(tc.calendar, func(t *testing.T) {
			h, err := ResolveHolidays(tc.calendar, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var dates []string
			for _, d := range h.Dates {
				dates = append(dates, d.Date)
			}
			if !slices.IsSorted(dates) {
				t.Errorf("not sorted: %v", dates)
			}
			for _, d := range tc.want {
				if !slices.Contains(dates, d) {
					t.Errorf("%s missing from %v", d, dates)
				}
			}
			for _, d := range tc.notWant {
				if slices.Contains(dates, d) {
					t.Errorf("%s listed: %v", d, dates)
				}
			}
			if len(dates) != tc.wantCount {
				t.Errorf("%d dates, want %d: %v", len(dates), tc.wantCount, dates)
			}
			if h.From != tc.wantFrom || h.To != tc.wantToDate {
				t.Errorf("span %s to %s", h.From, h.To)
			}
		})
	}
}

func TestResolveHolidaysRefusals(t *testing.T) {
	for _, tc := range []struct {
		calendar string
		from, to int
		want     string
	}{
		{"wales", 2026, 2028, "unknown calendar"},
		{"", 2026, 2028, "unknown calendar"},
		{CalendarEnglandAndWales, 2028, 2026, "in order"},
		{CalendarEnglandAndWales, 2026, 2047, "at most 20 years"},
	} {
		if _, err := ResolveHolidays(tc.calendar, tc.from, tc.to); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %d-%d: %v, want %q", tc.calendar, tc.from, tc.to, err, tc.want)
		}
	}
}

// For every start day of the span, a snapshot's clock gives the same
// deadlines as the named calendar it was resolved from, for each calendar
// and for 1, 5, 10 and 20 working days (whose deadlines stay in the span).
func TestSnapshotClockAgreesWithNamedCalendarThroughItsSpan(t *testing.T) {
	for _, calendar := range CalendarNames() {
		t.Run(calendar, func(t *testing.T) {
			named, err := NewClock(calendar, "Europe/London", "17:00")
			if err != nil {
				t.Fatal(err)
			}
			p := Policy{Calendar: calendar, Timezone: "Europe/London", EndOfDay: "17:00"}
			snap, err := Snapshot(p, time.Date(2026, time.February, 10, 9, 0, 0, 0, time.UTC), nil)
			if err != nil {
				t.Fatal(err)
			}
			resolved, err := snap.Clock()
			if err != nil {
				t.Fatal(err)
			}
			if resolved.Holidays == nil {
				t.Fatal("the snapshot's clock does not use its dates")
			}
			last := time.Date(2028, time.November, 1, 0, 0, 0, 0, time.UTC)
			for day := time.Date(2026, time.January, 1, 11, 0, 0, 0, time.UTC); day.Before(last); day = day.AddDate(0, 0, 1) {
				for _, n := range []int{1, 5, 10, 20} {
					want, got := named.AddWorkingDays(day, n), resolved.AddWorkingDays(day, n)
					if !got.Equal(want) {
						t.Fatalf("%s +%d: snapshot %s, named %s", day.Format(dateLayout), n, got, want)
					}
				}
				y, m, d := day.Date()
				if named.IsWorkingDay(y, m, d) != resolved.IsWorkingDay(y, m, d) {
					t.Fatalf("%s: working day differs", day.Format(dateLayout))
				}
			}
		})
	}
}

// A snapshot covers its start year, in the policy's time zone, through two
// years after; the policy's own closures and the recorded ones are merged,
// each once, sorted; the policy given is not changed.
func TestSnapshot(t *testing.T) {
	for _, tc := range []struct {
		why      string
		zone     string
		start    string
		from, to string
	}{
		{"mid-year", "Europe/London", "2026-06-08T10:00:00+01:00", "2026-01-01", "2028-12-31"},
		{"New Year's Eve in London (GMT)", "Europe/London", "2026-12-31T23:30:00Z", "2026-01-01", "2028-12-31"},
		{"already New Year in London", "Europe/London", "2026-12-31T19:30:00-05:00", "2027-01-01", "2029-12-31"},
		{"the policy's zone decides, not the start's", "Asia/Tokyo", "2026-12-31T16:00:00Z", "2027-01-01", "2029-12-31"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			p := Policy{ID: "p", Calendar: CalendarEnglandAndWales, Timezone: tc.zone, EndOfDay: "17:00"}
			snap, err := Snapshot(p, instant(t, tc.start), nil)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Holidays == nil || snap.Holidays.From != tc.from || snap.Holidays.To != tc.to {
				t.Fatalf("span: %+v", snap.Holidays)
			}
			if p.Holidays != nil {
				t.Error("the policy given was changed")
			}
		})
	}

	own := []string{"2026-12-29", "2026-06-09"}
	p := Policy{ID: "p", Calendar: CalendarEnglandAndWales, Timezone: "Europe/London", EndOfDay: "17:00", Closures: own}
	snap, err := Snapshot(p, instant(t, "2026-06-01T10:00:00+01:00"), []string{"2027-05-10", "2026-06-09", "not-a-date", "2026-02-30"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-06-09", "2026-12-29", "2027-05-10"}; !slices.Equal(snap.Closures, want) {
		t.Errorf("closures %v, want %v", snap.Closures, want)
	}
	if !slices.Equal(p.Closures, []string{"2026-12-29", "2026-06-09"}) {
		t.Errorf("the policy's closures were changed: %v", p.Closures)
	}
	c, err := snap.Clock()
	if err != nil {
		t.Fatal(err)
	}
	// Mon 10 May 2027 is closed: Fri 7 May +1 is Tue 11 May.
	if got := c.AddWorkingDays(instant(t, "2027-05-07T10:00:00+01:00"), 1).Format(instantLayout); got != "2027-05-11T17:00:00+01:00 BST" {
		t.Errorf("over the recorded closure: %s", got)
	}

	for _, bad := range []Policy{
		{Calendar: "atlantis", Timezone: "Europe/London"},
		{Calendar: CalendarEnglandAndWales, Timezone: "Mars/Olympus"},
	} {
		if _, err := Snapshot(bad, time.Now(), nil); err == nil {
			t.Errorf("snapshot of %+v: no error", bad)
		}
	}
}

// Once resolved, the dates decide: a later change of the calendar's code
// (here: the dates edited as if the rules had changed) is what the clock
// follows, never the code's rules.
func TestSnapshotDatesDecideNotTheCode(t *testing.T) {
	p := Policy{Calendar: CalendarEnglandAndWales, Timezone: "Europe/London", EndOfDay: "17:00"}
	snap, err := Snapshot(p, instant(t, "2026-03-01T10:00:00Z"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// As resolved: the Spring bank holiday, Mon 25 May 2026, is skipped.
	c, _ := snap.Clock()
	if got := c.AddWorkingDays(instant(t, "2026-05-22T10:00:00+01:00"), 1).Format(instantLayout); got != "2026-05-26T17:00:00+01:00 BST" {
		t.Fatalf("as resolved: %s", got)
	}
	// Dates recorded by another version: 25 May is not among them, Wed 10
	// Jun is; the clock follows the record.
	h := *snap.Holidays
	h.Dates = nil
	for _, d := range snap.Holidays.Dates {
		if d.Date != "2026-05-25" {
			h.Dates = append(h.Dates, d)
		}
		if d.Date == "2026-05-04" {
			h.Dates = append(h.Dates, Holiday{Date: "2026-06-10", Name: "a day of the older version"})
		}
	}
	slices.SortFunc(h.Dates, func(a, b Holiday) int { return strings.Compare(a.Date, b.Date) })
	snap.Holidays = &h
	c, _ = snap.Clock()
	for _, tc := range []struct{ start, want string }{
		{"2026-05-22T10:00:00+01:00", "2026-05-25T17:00:00+01:00 BST"},
		{"2026-06-09T10:00:00+01:00", "2026-06-11T17:00:00+01:00 BST"},
	} {
		if got := c.AddWorkingDays(instant(t, tc.start), 1).Format(instantLayout); got != tc.want {
			t.Errorf("from %s: %s, want %s", tc.start, got, tc.want)
		}
	}
	// Even a calendar this code no longer knows works from its dates.
	snap.Calendar = "withdrawn-calendar"
	if _, err := snap.Clock(); err != nil {
		t.Errorf("snapshot of an unknown calendar with dates: %v", err)
	}
}

// Past the resolved span the clock is explicit and safe: it knows no bank
// holiday there (Covers says so, and the workflow logs a warning), counts
// only weekends and closures as non-working, and so never gives a deadline
// later than the true one: at worst a day early per unknown holiday.
func TestSnapshotClockPastItsSpan(t *testing.T) {
	p := Policy{Calendar: CalendarEnglandAndWales, Timezone: "Europe/London", EndOfDay: "17:00", Closures: []string{"2029-06-12"}}
	snap, err := Snapshot(p, instant(t, "2026-06-01T10:00:00+01:00"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := snap.Clock()
	named, _ := p.Clock()
	for _, tc := range []struct {
		why     string
		start   string
		n       int
		want    string
		covered bool // the deadline is within the span
	}{
		{"last Christmas in the span is skipped", "2028-12-22T10:00:00Z", 1, "2028-12-27T17:00:00+00:00 GMT", true},
		{"deadline on the span's last day", "2028-12-28T10:00:00Z", 1, "2028-12-29T17:00:00+00:00 GMT", true},
		{"New Year 2029 past the span: a working day", "2028-12-29T10:00:00Z", 1, "2029-01-01T17:00:00+00:00 GMT", false},
		{"Christmas 2029 (Tue) past the span: a working day", "2029-12-24T10:00:00Z", 1, "2029-12-25T17:00:00+00:00 GMT", false},
		{"weekends still are not working days", "2029-06-08T10:00:00+01:00", 1, "2029-06-11T17:00:00+01:00 BST", false},
		{"closures still are not working days", "2029-06-11T10:00:00+01:00", 1, "2029-06-13T17:00:00+01:00 BST", false},
	} {
		t.Run(tc.why, func(t *testing.T) {
			due := c.AddWorkingDays(instant(t, tc.start), tc.n)
			if got := due.Format(instantLayout); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if c.Covers(due) != tc.covered {
				t.Errorf("Covers(%s) = %v, want %v", tc.want, !tc.covered, tc.covered)
			}
			if truth := named.AddWorkingDays(instant(t, tc.start), tc.n); due.After(truth) {
				t.Errorf("past the span the deadline %s is later than the calendar's %s", due, truth)
			}
		})
	}
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"2025-12-31T23:59:00Z", false},
		{"2026-01-01T00:00:00Z", true},
		{"2028-12-31T23:59:00Z", true},
		{"2029-01-01T00:00:00Z", false},
		// 31 Dec 2028 23:30 in London is 1 Jan in Tokyo, but the clock's zone decides.
		{"2028-12-31T23:30:00Z", true},
	} {
		if got := c.Covers(instant(t, tc.at)); got != tc.want {
			t.Errorf("Covers(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
	if !named.Covers(instant(t, "2090-01-01T00:00:00Z")) {
		t.Error("a named calendar covers every date")
	}
}

// A snapshot survives the journey through JSON (the workflow's input) with
// its dates; a snapshot recorded before they existed has none and counts
// with its calendar's name.
func TestSnapshotJSON(t *testing.T) {
	p := Policy{ID: "p", Calendar: CalendarEnglandAndWales, Timezone: "Europe/London", EndOfDay: "17:00"}
	snap, err := Snapshot(p, instant(t, "2026-06-01T10:00:00+01:00"), []string{"2026-06-09"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Holidays == nil || len(back.Holidays.Dates) != len(snap.Holidays.Dates) || !slices.Equal(back.Closures, []string{"2026-06-09"}) {
		t.Fatalf("round trip lost the dates: %s", b)
	}
	c, _ := back.Clock()
	if got := c.AddWorkingDays(instant(t, "2026-06-08T10:00:00+01:00"), 1).Format(instantLayout); got != "2026-06-10T17:00:00+01:00 BST" {
		t.Errorf("after the round trip: %s", got)
	}

	var old Policy
	if err := json.Unmarshal([]byte(`{"id":"p","calendar":"england-and-wales","timezone":"Europe/London","end_of_day":"17:00"}`), &old); err != nil {
		t.Fatal(err)
	}
	oc, err := old.Clock()
	if err != nil || oc.Holidays != nil {
		t.Fatalf("old snapshot: %v %+v", err, oc.Holidays)
	}
	if got := oc.AddWorkingDays(instant(t, "2031-12-24T10:00:00Z"), 1).Format(instantLayout); got != "2031-12-29T17:00:00+00:00 GMT" {
		t.Errorf("old snapshot counts with the name: %s", got)
	}
	// A policy as served (never a snapshot) has no holidays in its JSON.
	b, _ = json.Marshal(p)
	if strings.Contains(string(b), "holidays") {
		t.Errorf("policy JSON has holidays: %s", b)
	}
}

// A policy file cannot set the resolved dates: they are the snapshot's.
func TestParseRefusesHolidays(t *testing.T) {
	doc := northamptonshireYAML(t) + "\nholidays:\n  from: 2026-01-01\n"
	if _, err := Parse("p.yaml", []byte(doc)); err == nil || !strings.Contains(err.Error(), "holidays") {
		t.Errorf("holidays in a policy file: %v", err)
	}
}

func TestMergeClosuresAndIsDate(t *testing.T) {
	for _, tc := range []struct {
		have, add, want []string
	}{
		{nil, nil, nil},
		{[]string{}, []string{}, nil},
		{nil, []string{"2027-05-10"}, []string{"2027-05-10"}},
		{[]string{"2027-05-10"}, []string{"2027-05-10"}, []string{"2027-05-10"}},
		{[]string{"2027-05-10", "2026-01-02"}, []string{"2026-12-31", "2026-01-02"}, []string{"2026-01-02", "2026-12-31", "2027-05-10"}},
		{nil, []string{"2027-02-29", "2028-02-29", "27-05-10", "2027-5-10", " 2027-05-10", "2027-05-10T00:00:00Z", ""}, []string{"2028-02-29"}},
	} {
		have := slices.Clone(tc.have)
		if got := MergeClosures(tc.have, tc.add...); !slices.Equal(got, tc.want) {
			t.Errorf("MergeClosures(%v, %v) = %v, want %v", tc.have, tc.add, got, tc.want)
		}
		if !slices.Equal(have, tc.have) {
			t.Errorf("have changed: %v", tc.have)
		}
	}
	// The result never shares the caller's array: appending to it leaves
	// have alone.
	have := make([]string, 1, 4)
	have[0] = "2026-01-05"
	got := MergeClosures(have)
	_ = append(got, "2026-01-06")
	if full := have[:2]; full[1] != "" {
		t.Errorf("have's array written: %v", full)
	}
}

// The resolved dates and names are, day by day, exactly what the named
// calendar's BankHoliday says, for every calendar over sixteen years.
func TestResolveHolidaysIsBankHolidayDayByDay(t *testing.T) {
	for _, calendar := range CalendarNames() {
		h, err := ResolveHolidays(calendar, 2020, 2035)
		if err != nil {
			t.Fatal(err)
		}
		named := Clock{Calendar: calendar}
		var want []Holiday
		for d := time.Date(2020, time.January, 1, 12, 0, 0, 0, time.UTC); d.Year() <= 2035; d = d.AddDate(0, 0, 1) {
			if name, ok := named.BankHoliday(d.Date()); ok {
				want = append(want, Holiday{Date: d.Format(dateLayout), Name: name})
			}
		}
		if !slices.Equal(h.Dates, want) {
			t.Errorf("%s: resolved %v\nday by day %v", calendar, h.Dates, want)
		}
	}
}
