package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// Notifications that never reached their recipient are listed across cases
// for the partnership of each case's policy (issue 10: a raiser could keep
// the respondent from ever being told, and nobody would see it).
func TestUndeliveredNotificationsAcrossCases(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i, pol := range []string{"northamptonshire", "devon"} {
		in := sampleInput(1, workflows.StatusOpen, workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "opened"})
		in.Ref, in.Case.Ref, in.Case.Policy = workflows.CaseRef("T", 2026, int64(i+1)), workflows.CaseRef("T", 2026, int64(i+1)), pol
		if _, err := st.RecordEvents(ctx, in, render); err != nil {
			t.Fatal(err)
		}
		notes, err := st.Notifications(ctx, in.Ref)
		if err != nil || len(notes) != 1 {
			t.Fatalf("notifications of %s: %d %v", in.Ref, len(notes), err)
		}
		if err := st.MarkNotification(ctx, notes[0].ID, store.NoteFailed, errors.New("550 mailbox unavailable")); err != nil {
			t.Fatal(err)
		}
	}
	all, more, err := st.UndeliveredNotifications(ctx, store.UndeliveredFilter{Status: store.NoteFailed})
	if err != nil || more || len(all) != 2 || all[0].Policy != "devon" || all[1].Policy != "northamptonshire" {
		t.Fatalf("every policy: %+v more %v err %v", all, more, err)
	}
	if all[1].To != "sam@nct.example" || all[1].Attempts != 1 || all[1].LastError != "550 mailbox unavailable" || all[1].Seq != 1 {
		t.Errorf("listed as %+v", all[1])
	}
	mine, _, err := st.UndeliveredNotifications(ctx, store.UndeliveredFilter{Status: store.NoteFailed, Policy: "northamptonshire"})
	if err != nil || len(mine) != 1 || mine[0].Ref != "T-2026-00001" {
		t.Fatalf("one policy: %+v %v", mine, err)
	}
	page, more, err := st.UndeliveredNotifications(ctx, store.UndeliveredFilter{Status: store.NoteFailed, Limit: 1})
	if err != nil || !more || len(page) != 1 {
		t.Fatalf("first page: %+v more %v", page, more)
	}
	next, more, err := st.UndeliveredNotifications(ctx, store.UndeliveredFilter{Status: store.NoteFailed, Limit: 1, BeforeID: page[0].ID})
	if err != nil || more || len(next) != 1 || next[0].ID == page[0].ID {
		t.Fatalf("second page: %+v more %v", next, more)
	}
	if retrying, _, err := st.UndeliveredNotifications(ctx, store.UndeliveredFilter{Status: store.NoteRetrying}); err != nil || len(retrying) != 0 {
		t.Errorf("retrying: %+v %v", retrying, err)
	}
}

// Once no attempt is left, what was not delivered is failed for good,
// whatever the last attempt left (issue 13: a last attempt that timed out
// left "retrying" for ever); what was sent stays sent.
func TestSettleNotifications(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	in := sampleInput(2, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: at, Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "opened"},
		workflows.Event{Seq: 2, At: at, Type: workflows.EventStageEntered, Stage: 1, By: "escalate", Text: "stage 1"})
	if _, err := st.RecordEvents(ctx, in, render); err != nil {
		t.Fatal(err)
	}
	notes, err := st.Notifications(ctx, in.Ref)
	if err != nil || len(notes) != 2 {
		t.Fatalf("notifications: %d %v", len(notes), err)
	}
	if err := st.MarkNotification(ctx, notes[0].ID, store.NoteSent, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkNotification(ctx, notes[1].ID, store.NoteRetrying, errors.New("timeout")); err != nil {
		t.Fatal(err)
	}
	n, err := st.SettleNotifications(ctx, in.Ref, []int{1, 2})
	if err != nil || n != 1 {
		t.Fatalf("settled %d, %v; want 1", n, err)
	}
	after, err := st.Notifications(ctx, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if after[0].Status != store.NoteSent || after[1].Status != store.NoteFailed || after[1].LastError != "timeout; no attempts left" {
		t.Errorf("after settling: %s, %s %q", after[0].Status, after[1].Status, after[1].LastError)
	}
	if n, err := st.SettleNotifications(ctx, in.Ref, []int{1, 2}); err != nil || n != 0 {
		t.Errorf("settling twice: %d %v", n, err)
	}
}
