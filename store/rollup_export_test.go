package store

import "context"

// SummaryExact lets the tests hold Summary to the case-by-case computation.
func (s *Store) SummaryExact(ctx context.Context, f ReportFilter) (Report, error) {
	return s.summaryExact(ctx, f)
}
