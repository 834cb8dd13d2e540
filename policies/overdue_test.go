package policies

import (
	"testing"
	"time"
)

func TestOverdue(t *testing.T) {
	due := time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		closed bool
		now    time.Time
		want   bool
	}{
		{"before the deadline", false, due.Add(-time.Second), false},
		{"at the deadline", false, due, false},
		{"a moment after", false, due.Add(time.Microsecond), true},
		{"long after", false, due.AddDate(1, 0, 0), true},
		{"closed after the deadline", true, due.Add(time.Hour), false},
	} {
		if got := Overdue(c.closed, due, c.now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if Overdue(false, time.Time{}, due) {
		t.Error("a case with no deadline is overdue")
	}
}
