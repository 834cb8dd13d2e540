package policies

import (
	"fmt"
	"sort"
	"time"
)

// A case's bank holidays are part of its policy snapshot as dates, not as a
// calendar's name: the dates come from code (this package and the calendar
// library), and code changes. Resolved once when the case starts, they are
// what the case's workflow counts working days with for the rest of its
// life, so an upgrade of the library or a corrected rule here never moves a
// running case's deadline, on a new run or on replay.

// HolidayYearsAfter is how many years after the start year a snapshot's
// bank holidays cover: the start year and two more. A stage lasts days or
// weeks and a whole case a few months, so two full years after the start
// year (at least 24 months from any start) covers the life of every case
// the procedures foresee, with room for one that stalls; the list stays
// small (about 25 dates for England and Wales).
const HolidayYearsAfter = 2

// Holidays is a calendar resolved into dates for a span of years.
type Holidays struct {
	// Calendar is the name the dates were resolved from (for people; the
	// dates alone decide).
	Calendar string `json:"calendar"`
	// From and To are the first and last dates covered (yyyy-mm-dd, local
	// dates of the policy's time zone).
	From string `json:"from"`
	To   string `json:"to"`
	// Dates are the bank holidays in [From, To], substitute days included,
	// sorted by date.
	Dates []Holiday `json:"dates"`
}

// Holiday is one bank holiday.
type Holiday struct {
	Date string `json:"date"` // yyyy-mm-dd
	Name string `json:"name"`
}

// dateLayout is how dates are written in policies and snapshots.
const dateLayout = "2006-01-02"

// ResolveHolidays lists the bank holidays of a named calendar from 1
// January of fromYear to 31 December of toYear.
func ResolveHolidays(calendar string, fromYear, toYear int) (Holidays, error) {
	if _, ok := calendars[calendar]; !ok {
		return Holidays{}, fmt.Errorf("unknown calendar %q (known: %v)", calendar, CalendarNames())
	}
	if toYear < fromYear || toYear-fromYear > 20 {
		return Holidays{}, fmt.Errorf("years %d to %d: give at most 20 years, in order", fromYear, toYear)
	}
	h := Holidays{
		Calendar: calendar,
		From:     fmt.Sprintf("%04d-01-01", fromYear),
		To:       fmt.Sprintf("%04d-12-31", toYear),
		Dates:    []Holiday{},
	}
	first, last := h.From, h.To
	names := map[string]string{}
	var dates []string
	add := func(obs time.Time, name string) {
		d := obs.Format(dateLayout)
		if d < first || d > last {
			return
		}
		if _, ok := names[d]; !ok {
			names[d] = name
			dates = append(dates, d)
		}
	}
	// Each holiday's observed date, year by year (TestResolveHolidaysIsBankHolidayDayByDay holds it to BankHoliday), named as BankHoliday
	// names it: a holiday of the date's own year first, in the calendar's
	// order, then one of the year before observed in this one (a
	// substitute day); the first found names the date.
	hs := calendars[calendar]
	for y := fromYear; y <= toYear; y++ {
		for _, hol := range hs {
			actual, observed := hol.Calc(y)
			if observed.IsZero() || observed.Year() != y {
				continue
			}
			name := hol.Name
			if !observed.Equal(actual) {
				name += " (substitute day)"
			}
			add(observed, name)
		}
	}
	for y := fromYear; y <= toYear; y++ {
		for _, hol := range hs {
			if _, observed := hol.Calc(y - 1); !observed.IsZero() && observed.Year() == y {
				add(observed, hol.Name+" (substitute day)")
			}
		}
	}
	sort.Strings(dates)
	for _, d := range dates {
		h.Dates = append(h.Dates, Holiday{Date: d, Name: names[d]})
	}
	return h, nil
}

// covers reports whether the date (yyyy-mm-dd) is within the resolved span.
func (h *Holidays) covers(date string) bool {
	return date >= h.From && date <= h.To
}

// lookup is the bank holiday on date, if the resolved dates have one.
func (h *Holidays) lookup(date string) (string, bool) {
	i := sort.Search(len(h.Dates), func(i int) bool { return h.Dates[i].Date >= date })
	if i < len(h.Dates) && h.Dates[i].Date == date {
		return h.Dates[i].Name, true
	}
	return "", false
}

// Snapshot is the policy as a case starting at start runs under it: its
// calendar resolved into dates from the start year (in the policy's time
// zone) through HolidayYearsAfter years after, and the partnership's
// closure dates (closures recorded through the API, yyyy-mm-dd) added to
// the policy's own. Dates already listed are not repeated; the result's
// closures are sorted. The policy p is not changed.
func Snapshot(p Policy, start time.Time, closures []string) (Policy, error) {
	loc, err := loadZone(p.Timezone)
	if err != nil {
		return Policy{}, err
	}
	year := start.In(loc).Year()
	h, err := ResolveHolidays(p.Calendar, year, year+HolidayYearsAfter)
	if err != nil {
		return Policy{}, err
	}
	p.Holidays = &h
	p.Closures = MergeClosures(p.Closures, closures...)
	return p, nil
}

// MergeClosures is the closure dates of have and add, each once, sorted,
// in a new slice (have is never changed). A value that is not a date
// (yyyy-mm-dd) is left out.
func MergeClosures(have []string, add ...string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(have)+len(add))
	for _, list := range [][]string{have, add} {
		for _, d := range list {
			if seen[d] || !IsDate(d) {
				continue
			}
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// IsDate reports whether s is a real calendar date written yyyy-mm-dd.
func IsDate(s string) bool {
	if !datePattern.MatchString(s) {
		return false
	}
	_, err := time.Parse(dateLayout, s)
	return err == nil
}

// Covers reports whether the clock's bank holidays are known for the local
// date of t: always for a clock that uses a named calendar; for a
// snapshot's resolved dates, only within their span. Past the span the
// clock counts weekends (and closures) only; see BankHoliday.
func (c Clock) Covers(t time.Time) bool {
	if c.Holidays == nil {
		return true
	}
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	return c.Holidays.covers(t.In(loc).Format(dateLayout))
}
