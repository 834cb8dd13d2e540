package activities

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// A step the record refuses for a conflicting event fails for good, as a
// record_conflict, logged as an error; PostgreSQL being down is retried.
func TestRecordConflictIsNotRetried(t *testing.T) {
	var logs bytes.Buffer
	a := &Activities{Log: slog.New(slog.NewTextHandler(&logs, nil))}
	in := workflows.RecordEventsInput{Ref: "NSCP-2026-00001", Events: []workflows.Event{{Seq: 4}, {Seq: 5}}}

	err := a.recordFailed(in, &store.RecordConflictError{Ref: in.Ref, Seq: 4, Why: "the record already holds a different event with this number"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != ErrTypeRecordConflict || !errors.Is(err, store.ErrRecordConflict) {
		t.Fatalf("conflict: %v, want a non-retryable %s", err, ErrTypeRecordConflict)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "RECORD CONFLICT") || !strings.Contains(logs.String(), "seq=4") {
		t.Fatalf("conflict not logged loudly: %s", logs.String())
	}

	err = a.recordFailed(in, errors.New("connection refused"))
	if errors.As(err, &appErr) || !strings.Contains(err.Error(), "events 4..5") {
		t.Fatalf("PostgreSQL down: %v, want a plain (retried) error", err)
	}
}

// An opening by hash names its snapshot by hash and nothing else: none
// named, or the snapshot carried too, is refused for good before the
// record is touched (this Activities has no store: a write would panic).
func TestRecordOpeningRefusesWhatIsNotAnOpeningByHash(t *testing.T) {
	a := &Activities{}
	opened := []workflows.Event{{Seq: 1, Type: workflows.EventOpened}}
	for name, in := range map[string]workflows.RecordEventsInput{
		"no hash":         {Ref: "NSCP-2026-00001", Events: opened},
		"hash and policy": {Ref: "NSCP-2026-00001", Events: opened, PolicyHash: strings.Repeat("ab", 32), Policy: &policies.Policy{ID: "p"}},
	} {
		_, err := a.RecordOpening(t.Context(), in)
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.NonRetryable() {
			t.Errorf("%s: %v, want a non-retryable refusal", name, err)
		}
	}
}
