package policies

import "time"

// Overdue is the one rule for when a case is overdue: it is still open and
// its current stage's deadline has passed (an instant at the deadline is
// not yet past it). The store's queries mirror it in SQL (store.overdueSQL)
// and a test proves they agree.
func Overdue(closed bool, due, now time.Time) bool {
	return !closed && !due.IsZero() && now.After(due)
}
