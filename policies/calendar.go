package policies

import (
	"fmt"
	"sort"
	"time"
	_ "time/tzdata" // deadlines must not depend on the host's zoneinfo

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/gb"
)

// Calendar names accepted in a policy file.
const (
	CalendarEnglandAndWales = "england-and-wales"
	CalendarScotland        = "scotland"
	CalendarNorthernIreland = "northern-ireland"
)

// stateFuneral2022 is the one-off bank holiday for the state funeral of
// Queen Elizabeth II, which rickar/cal/v2/gb does not carry.
var stateFuneral2022 = &cal.Holiday{
	Name:      "State Funeral of Queen Elizabeth II",
	Type:      cal.ObservanceBank,
	Month:     time.September,
	Day:       19,
	Func:      cal.CalcDayOfMonth,
	StartYear: 2022,
	EndYear:   2022,
}

// Substitute rules: a holiday on a weekend moves to the next weekday; one
// that follows another holiday (Boxing Day, 2 January) moves one further.
var (
	weekendToMonday = []cal.AltDay{{Day: time.Saturday, Offset: 2}, {Day: time.Sunday, Offset: 1}}
	followsHoliday  = []cal.AltDay{{Day: time.Saturday, Offset: 2}, {Day: time.Sunday, Offset: 2}, {Day: time.Monday, Offset: 1}}
)

// Christmas Day and Boxing Day with the gov.uk substitutes. rickar/cal/v2/gb
// gets the dates right but, when Christmas Day is a Sunday (2022, 2033),
// names Monday 26 "Christmas Day" and Tuesday 27 "Boxing Day"; gov.uk has
// Boxing Day on Monday 26 and the Christmas Day substitute on Tuesday 27.
// So Christmas on a Sunday moves two days, and Boxing Day on a Monday stays.
var (
	christmasDay = gb.ChristmasDay.Clone(&cal.Holiday{Observed: []cal.AltDay{
		{Day: time.Saturday, Offset: 2}, {Day: time.Sunday, Offset: 2}}})
	boxingDay = gb.BoxingDay.Clone(&cal.Holiday{Observed: []cal.AltDay{
		{Day: time.Saturday, Offset: 2}, {Day: time.Sunday, Offset: 2}}})
)

// withGovUKChristmas is hs with gb's Christmas Day and Boxing Day replaced by
// christmasDay and boxingDay (same dates, gov.uk's names).
func withGovUKChristmas(hs ...*cal.Holiday) []*cal.Holiday {
	out := make([]*cal.Holiday, 0, len(hs))
	for _, h := range hs {
		switch h {
		case gb.ChristmasDay:
			h = christmasDay
		case gb.BoxingDay:
			h = boxingDay
		}
		out = append(out, h)
	}
	return out
}

// Scotland's own bank holidays.
var (
	secondJanuary = &cal.Holiday{Name: "2nd January", Type: cal.ObservanceBank, Month: time.January, Day: 2,
		Func: cal.CalcDayOfMonth, Observed: followsHoliday}
	stAndrewsDay = &cal.Holiday{Name: "St Andrew's Day", Type: cal.ObservanceBank, Month: time.November, Day: 30,
		Func: cal.CalcDayOfMonth, Observed: weekendToMonday}
)

// Northern Ireland's own bank holidays.
var (
	stPatricksDay = &cal.Holiday{Name: "St Patrick's Day", Type: cal.ObservanceBank, Month: time.March, Day: 17,
		Func: cal.CalcDayOfMonth, Observed: weekendToMonday}
	battleOfTheBoyne = &cal.Holiday{Name: "Battle of the Boyne (Orangemen's Day)", Type: cal.ObservanceBank, Month: time.July, Day: 12,
		Func: cal.CalcDayOfMonth, Observed: weekendToMonday}
)

// calendars maps a calendar name to its bank holidays. The slices are never
// modified after package initialisation, so reading them from many workflow
// goroutines at once is safe.
var calendars = map[string][]*cal.Holiday{
	CalendarEnglandAndWales: append(withGovUKChristmas(gb.Holidays...), stateFuneral2022),
	CalendarScotland: withGovUKChristmas(
		gb.NewYear, secondJanuary, gb.GoodFriday, gb.EarlyMay, gb.VEDay, gb.CoronationDay,
		gb.SpringHoliday, gb.SpringHoliday2022, gb.PlatinumJubilee, gb.SummerHolidayScotland,
		stateFuneral2022, stAndrewsDay, gb.ChristmasDay, gb.BoxingDay,
	),
	CalendarNorthernIreland: append(withGovUKChristmas(gb.Holidays...), stateFuneral2022, stPatricksDay, battleOfTheBoyne),
}

// calendarNames is the sorted list of calendar names, built once so that
// workflow code never iterates over the map.
var calendarNames = func() []string {
	names := make([]string, 0, len(calendars))
	for n := range calendars {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}()

// CalendarNames lists the calendars a policy may name, sorted.
func CalendarNames() []string {
	return append([]string(nil), calendarNames...)
}

// Clock is where a policy's working days live: its bank-holiday calendar,
// its time zone and the local times at which a working day starts and ends.
type Clock struct {
	Calendar string
	// Holidays, when set, are the bank holidays as dates (a case's
	// snapshot): they replace the named calendar's rules. Past their span a
	// day is no bank holiday: only weekends and closures are not working
	// days there (Covers says whether a date is within the span).
	Holidays *Holidays
	Location *time.Location
	// EndOfDay is the offset from local midnight at which a working day ends.
	EndOfDay time.Duration
	// StartOfDay is the local wall-clock time, as an offset from midnight, at
	// which a working day starts. NewClock makes it 09:00. It matters only to
	// ClockHoursEndInWorkingTime.
	StartOfDay time.Duration
	// Closures are extra non-working dates of the partnership (yyyy-mm-dd).
	Closures []string
	// ClockHoursEndInWorkingTime: a deadline of "N hours" or "N minutes"
	// that falls outside working time moves to the next moment of working
	// time (NextWorkingTime). Off, as in a zero Clock, they are plain
	// durations; "N seconds" always are.
	ClockHoursEndInWorkingTime bool
}

// DefaultStartOfDay and DefaultEndOfDay are the working day a policy has
// when it names none.
const (
	DefaultStartOfDay = "09:00"
	DefaultEndOfDay   = "17:00"
)

// NewClock checks its arguments and builds a Clock. tz "" means Europe/London,
// endOfDay "" means 17:00. The working day starts at 09:00 (set StartOfDay
// for another time) and clock hours are plain durations.
func NewClock(calendar, tz, endOfDay string) (Clock, error) {
	if _, ok := calendars[calendar]; !ok {
		return Clock{}, fmt.Errorf("unknown calendar %q (known: %v)", calendar, CalendarNames())
	}
	return clockOf(calendar, tz, endOfDay)
}

// clockOf is NewClock without the check that this code knows the calendar:
// a snapshot's resolved dates (Holidays) stand on their own.
func clockOf(calendar, tz, endOfDay string) (Clock, error) {
	loc, err := loadZone(tz)
	if err != nil {
		return Clock{}, err
	}
	eod, err := parseEndOfDay(endOfDay)
	if err != nil {
		return Clock{}, err
	}
	sod, _ := parseTimeOfDay("start of day", DefaultStartOfDay)
	return Clock{Calendar: calendar, Location: loc, EndOfDay: eod, StartOfDay: sod}, nil
}

// loadZone loads an IANA time zone; "" means Europe/London. "Local" is
// refused: a deadline must not depend on the host's time zone.
func loadZone(tz string) (*time.Location, error) {
	if tz == "" {
		tz = "Europe/London"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, fmt.Errorf("unknown time zone %q", tz)
	}
	return loc, nil
}

// parseEndOfDay reads a local time like 17:00 as an offset from midnight;
// "" means 17:00.
func parseEndOfDay(endOfDay string) (time.Duration, error) {
	if endOfDay == "" {
		endOfDay = DefaultEndOfDay
	}
	return parseTimeOfDay("end of day", endOfDay)
}

// parseStartOfDay reads a local time like 09:00 as an offset from midnight;
// "" means 09:00.
func parseStartOfDay(startOfDay string) (time.Duration, error) {
	if startOfDay == "" {
		startOfDay = DefaultStartOfDay
	}
	return parseTimeOfDay("start of day", startOfDay)
}

// parseTimeOfDay reads a 24-hour local time "15:04" as an offset from
// midnight; what names it in the message.
func parseTimeOfDay(what, s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a time like 17:00", what, s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// BankHoliday reports whether the local date of day (year, month, day only)
// is a bank holiday, substitute days included, and its name. Out-of-range
// dates are normalised as by time.Date (32 December is 1 January).
func (c Clock) BankHoliday(year int, month time.Month, day int) (string, bool) {
	year, month, day = time.Date(year, month, day, 12, 0, 0, 0, time.UTC).Date()
	want := fmt.Sprintf("%04d-%02d-%02d", year, int(month), day)
	if c.Holidays != nil {
		// A snapshot's dates decide, and only they: the named calendar's
		// rules are code, which may have changed since the case started.
		if name, ok := c.Holidays.lookup(want); ok && c.Holidays.covers(want) {
			return name, true
		}
		return c.closure(want)
	}
	for _, h := range calendars[c.Calendar] {
		actual, observed := h.Calc(year)
		if observed.IsZero() {
			continue
		}
		if observed.Year() == year && observed.Month() == month && observed.Day() == day {
			if !observed.Equal(actual) {
				return h.Name + " (substitute day)", true
			}
			return h.Name, true
		}
	}
	// A holiday of the previous year observed in this one (New Year's Day is
	// never moved back a year, but Boxing Day of year-1 could in principle be
	// observed on 2 January in a future rule set).
	for _, h := range calendars[c.Calendar] {
		_, observed := h.Calc(year - 1)
		if !observed.IsZero() && observed.Year() == year && observed.Month() == month && observed.Day() == day {
			return h.Name + " (substitute day)", true
		}
	}
	return c.closure(want)
}

// closure reports whether the date (yyyy-mm-dd) is one of the clock's
// closures.
func (c Clock) closure(date string) (string, bool) {
	for _, d := range c.Closures {
		if d == date {
			return "partnership closure", true
		}
	}
	return "", false
}

// IsWorkingDay reports whether the local calendar date is Monday to Friday
// and not a bank holiday of the clock's calendar.
func (c Clock) IsWorkingDay(year int, month time.Month, day int) bool {
	wd := time.Date(year, month, day, 12, 0, 0, 0, time.UTC).Weekday()
	if wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, hol := c.BankHoliday(year, month, day)
	return !hol
}

// WorkingDaysBetween counts the working days after the local day of start
// up to and including the local day of end, as deadlines count them: the
// same day is 0 working days; a Friday to the next Monday is 1.
func (c Clock) WorkingDaysBetween(start, end time.Time) int {
	if !end.After(start) {
		return 0
	}
	y, m, d := start.In(c.Location).Date()
	ey, em, ed := end.In(c.Location).Date()
	last := time.Date(ey, em, ed, 12, 0, 0, 0, time.UTC)
	n := 0
	// Noon-UTC anchors step one calendar date at a time, as AddWorkingDays.
	for next := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC); !next.After(last); next = next.AddDate(0, 0, 1) {
		if c.IsWorkingDay(next.Date()) {
			n++
		}
	}
	return n
}

// AddWorkingDays returns the deadline n working days after start: day zero is
// the local day on which start falls (whether or not it is a working day);
// the deadline is the end of the working day on the nth following working
// day, in the clock's time zone. n must be at least 1.
func (c Clock) AddWorkingDays(start time.Time, n int) time.Time {
	local := start.In(c.Location)
	y, m, d := local.Date()
	for n > 0 {
		// Step one calendar day using a noon-UTC anchor so that clock
		// changes never skip or repeat a date.
		next := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
		y, m, d = next.Date()
		if c.IsWorkingDay(y, m, d) {
			n--
		}
	}
	h := int(c.EndOfDay / time.Hour)
	mi := int((c.EndOfDay % time.Hour) / time.Minute)
	return time.Date(y, m, d, h, mi, 0, 0, c.Location)
}

// wallClock is the local time of day of t (already in the clock's zone) as
// an offset from midnight on the wall clock: 09:00 is 9h even on a day the
// clocks change.
func wallClock(t time.Time) time.Duration {
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
}

// InWorkingTime reports whether t is working time: a working day of the
// clock (not a weekend, bank holiday or closure) from its start of day to
// its end of day, both included, in local time.
func (c Clock) InWorkingTime(t time.Time) bool {
	local := t.In(c.Location)
	if !c.IsWorkingDay(local.Date()) {
		return false
	}
	w := wallClock(local)
	return w >= c.StartOfDay && w <= c.EndOfDay
}

// NextWorkingTime is the earliest moment of working time at or after t: t
// itself when it is working time; the start of that day when t is earlier
// on a working day; otherwise the start of the next working day. It is
// never before t.
func (c Clock) NextWorkingTime(t time.Time) time.Time {
	if c.InWorkingTime(t) {
		return t
	}
	local := t.In(c.Location)
	y, m, d := local.Date()
	if !c.IsWorkingDay(y, m, d) || wallClock(local) > c.EndOfDay {
		for {
			// Noon-UTC anchors step one calendar date at a time, as in
			// AddWorkingDays, so clock changes never skip or repeat a date.
			next := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
			y, m, d = next.Date()
			if c.IsWorkingDay(y, m, d) {
				break
			}
		}
	}
	h := int(c.StartOfDay / time.Hour)
	mi := int((c.StartOfDay % time.Hour) / time.Minute)
	return time.Date(y, m, d, h, mi, 0, 0, c.Location)
}
