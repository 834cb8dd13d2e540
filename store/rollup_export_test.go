package store

import "context"

// SummaryExact lets the tests hold Summary to the case-by-case computation.
func (s *Store) SummaryExact(ctx context.Context, f ReportFilter) (Report, error) {
	return s.summaryExact(ctx, f)
}

// LearningOf lets the tests hold the learning kept on each case to the
// snapshot's, as the case-by-case computation reads it.
var LearningOf = learningOf
