package policies

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unit is the unit of a stage's timescale.
type Unit string

const (
	UnitWorkingDays Unit = "working_days"
	UnitHours       Unit = "hours"
	UnitMinutes     Unit = "minutes"
	UnitSeconds     Unit = "seconds"
	// UnitAgreed means the timescale is agreed per case; the stage then falls
	// back to the policy's default timescale when none is agreed.
	UnitAgreed Unit = "agreed"
)

// Timescale is a stage's maximum duration, parsed from the policy's words,
// for example "2 working days", "24 hours", "30 seconds", "agreed per case".
type Timescale struct {
	Amount int  `json:"amount,omitempty"`
	Unit   Unit `json:"unit"`
}

// ParseTimescale reads the timescale wording of a policy file.
func ParseTimescale(s string) (Timescale, error) {
	words := strings.Fields(strings.ToLower(strings.TrimSpace(s)))
	if len(words) == 3 && words[0] == "agreed" && words[1] == "per" && words[2] == "case" {
		return Timescale{Unit: UnitAgreed}, nil
	}
	const hint = `write a whole number and a unit, e.g. "2 working days", "24 hours", "30 minutes", "30 seconds", or "agreed per case"`
	if len(words) < 2 {
		return Timescale{}, fmt.Errorf("timescale %q: %s", s, hint)
	}
	n, err := strconv.Atoi(words[0])
	if err != nil || n < 1 {
		return Timescale{}, fmt.Errorf("timescale %q: %q is not a whole number of at least 1; %s", s, words[0], hint)
	}
	unit := strings.Join(words[1:], " ")
	var t Timescale
	switch unit {
	case "working day", "working days":
		t = Timescale{Amount: n, Unit: UnitWorkingDays}
	case "hour", "hours":
		t = Timescale{Amount: n, Unit: UnitHours}
	case "minute", "minutes":
		t = Timescale{Amount: n, Unit: UnitMinutes}
	case "second", "seconds":
		t = Timescale{Amount: n, Unit: UnitSeconds}
	default:
		return Timescale{}, fmt.Errorf("timescale %q: unknown unit %q; %s", s, unit, hint)
	}
	if max := maxAmount[t.Unit]; n > max {
		return Timescale{}, fmt.Errorf("timescale %q: more than ten years; write at most %d %s", s, max, unit)
	}
	return t, nil
}

// maxAmount bounds each unit at about ten years. A larger amount is a
// mistake, and without a bound the clock units overflow time.Duration
// (giving a deadline in the past) and working days take ages to count.
var maxAmount = map[Unit]int{
	UnitWorkingDays: 2610, // 10 years of 261 weekdays
	UnitHours:       87600,
	UnitMinutes:     87600 * 60,
	UnitSeconds:     87600 * 60 * 60,
}

// DueAt is the deadline of a stage that started at start. An agreed
// timescale has no deadline of its own: the caller passes the agreed one.
//
// Hours and minutes are real elapsed time; when the clock says clock hours
// end in working time (a policy's clock_hours_end_in_working_time), such a
// deadline that falls outside working time moves to the next moment of
// working time: the start of the next working day. Seconds, the unit of
// drills, are always plain durations.
func (t Timescale) DueAt(start time.Time, c Clock) (time.Time, error) {
	clockHours := func(d time.Duration) time.Time {
		due := start.Add(d)
		if c.ClockHoursEndInWorkingTime {
			return c.NextWorkingTime(due)
		}
		return due
	}
	switch t.Unit {
	case UnitWorkingDays:
		return c.AddWorkingDays(start, t.Amount), nil
	case UnitHours:
		return clockHours(time.Duration(t.Amount) * time.Hour), nil
	case UnitMinutes:
		return clockHours(time.Duration(t.Amount) * time.Minute), nil
	case UnitSeconds:
		return start.Add(time.Duration(t.Amount) * time.Second), nil
	}
	return time.Time{}, fmt.Errorf("timescale unit %q has no fixed deadline", t.Unit)
}

// String renders the timescale in the policy's words.
func (t Timescale) String() string {
	switch t.Unit {
	case UnitAgreed:
		return "agreed per case"
	case UnitWorkingDays:
		if t.Amount == 1 {
			return "1 working day"
		}
		return fmt.Sprintf("%d working days", t.Amount)
	}
	u := strings.TrimSuffix(string(t.Unit), "s")
	if t.Amount == 1 {
		return "1 " + u
	}
	return fmt.Sprintf("%d %ss", t.Amount, u)
}
