package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// A value PostgreSQL cannot store (issue 10: a NUL in a note, SQLSTATE
// 22021) is named as refused, so the activity fails without retrying for
// ever; a database that is merely unreachable is not.
func TestRefusedCodeNamesDataErrors(t *testing.T) {
	st := testStore(t)
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	_, err := st.RecordEvents(context.Background(), sampleInput(1, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: at, Type: workflows.EventNote, Stage: 1, By: "Hana", Text: "a\x00b"}), render)
	if err == nil {
		t.Fatal("a NUL in an event's text was stored")
	}
	if code := store.RefusedCode(err); code != "22021" && code != "22P05" {
		t.Fatalf("RefusedCode(%v) = %q, want a class 22 code", err, code)
	}
	if code := store.RefusedCode(errors.New("connection refused")); code != "" {
		t.Errorf("a connection error was named refused: %q", code)
	}
	if code := store.RefusedCode(context.DeadlineExceeded); code != "" {
		t.Errorf("a timeout was named refused: %q", code)
	}
	// Nothing of the refused batch was written.
	if _, err := st.GetCase(context.Background(), "NSCP-2026-00001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused batch left a case behind: %v", err)
	}
}
