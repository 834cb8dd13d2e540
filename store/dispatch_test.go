package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// recordForDispatch records one event of ref telling n people, with its
// notifications marked for the dispatcher or not.
func recordForDispatch(t *testing.T, st *store.Store, ref string, n int, dispatch bool) {
	t.Helper()
	in := sampleInput(1, workflows.StatusOpen,
		workflows.Event{Seq: 1, At: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Type: workflows.EventOpened, Stage: 1, By: "Hana", ByEmail: "hana@nhft.example", Text: "opened"})
	in.Ref, in.Case.Ref, in.Dispatch = ref, ref, dispatch
	in.Notices[0].Recipients = nil
	for i := 0; i < n; i++ {
		in.Notices[0].Recipients = append(in.Notices[0].Recipients, workflows.Recipient{Name: fmt.Sprint("P", i), Email: fmt.Sprintf("p%d@nct.example", i)})
	}
	if _, err := st.RecordEvents(context.Background(), in, render); err != nil {
		t.Fatal(err)
	}
}

func claimIDs(t *testing.T, st *store.Store, limit int, lease time.Duration) []int64 {
	t.Helper()
	ns, err := st.ClaimNotifications(context.Background(), limit, lease)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, n := range ns {
		if n.Status != store.NotePending && n.Status != store.NoteRetrying {
			t.Fatalf("claimed a notification that is %s", n.Status)
		}
		ids = append(ids, n.ID)
	}
	return ids
}

// Only notifications marked for the dispatcher are claimed; a claim holds
// them for its lease, then they can be claimed again (a dispatcher that
// died); marked sent they are never claimed again, a retry is due when its
// time comes, and the dispatcher never marks a notification a workflow
// delivers.
func TestClaimNotifications(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	recordForDispatch(t, st, "NSCP-2026-00001", 2, false)
	if w, err := st.DispatchWaiting(ctx); err != nil || w != 0 {
		t.Fatalf("waiting %v (%v) with nothing for the dispatcher", w, err)
	}
	recordForDispatch(t, st, "NSCP-2026-00002", 3, true)
	time.Sleep(50 * time.Millisecond)
	if w, err := st.DispatchWaiting(ctx); err != nil || w < 50*time.Millisecond || w > time.Minute {
		t.Fatalf("waiting %v (%v), want the 50 ms since they were recorded", w, err)
	}

	if ids := claimIDs(t, st, 2, time.Hour); len(ids) != 2 {
		t.Fatalf("first claim of 2 took %v", ids)
	}
	third := claimIDs(t, st, 10, 50*time.Millisecond)
	if len(third) != 1 {
		t.Fatalf("second claim took %v, want the one left (the others are claimed; the workflow's are not the dispatcher's)", third)
	}
	if ids := claimIDs(t, st, 10, time.Hour); len(ids) != 0 {
		t.Fatalf("claimed %v while every one was held", ids)
	}
	if w, err := st.DispatchWaiting(ctx); err != nil || w != 0 {
		t.Fatalf("waiting %v (%v) with every one claimed", w, err)
	}
	time.Sleep(100 * time.Millisecond)
	again := claimIDs(t, st, 10, time.Hour)
	if len(again) != 1 || again[0] != third[0] {
		t.Fatalf("after its lease ran out, claimed %v, want %v again", again, third)
	}
	// Claimed twice, never marked: what a dispatcher that died leaves.
	if ns, err := st.Notifications(ctx, "NSCP-2026-00002"); err != nil {
		t.Fatal(err)
	} else {
		for _, n := range ns {
			if n.ID == again[0] && (n.Claims != 2 || n.Attempts != 0) {
				t.Fatalf("reclaimed: %d claims, %d attempts; want 2 and 0", n.Claims, n.Attempts)
			}
		}
	}
	if err := st.MarkDispatched(ctx, again[0], store.NoteRetrying, errors.New("refused"), 0); err != nil {
		t.Fatal(err)
	}
	retry := claimIDs(t, st, 10, time.Hour)
	if len(retry) != 1 || retry[0] != again[0] {
		t.Fatalf("a retry due now: claimed %v", retry)
	}
	if err := st.MarkDispatched(ctx, retry[0], store.NoteRetrying, errors.New("refused"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDispatched(ctx, retry[0], store.NoteSent, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDispatched(ctx, retry[0], store.NoteRetrying, errors.New("late"), 0); err != nil {
		t.Fatal(err)
	}
	ns, err := st.Notifications(ctx, "NSCP-2026-00002")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == retry[0] && (n.Status != store.NoteSent || n.Attempts != 3 || n.SentAt == nil) {
			t.Fatalf("after two failures and a send: %s after %d attempts (sent at %v)", n.Status, n.Attempts, n.SentAt)
		}
	}
	// The workflow's own notifications: never claimed, never marked here.
	wf, err := st.Notifications(ctx, "NSCP-2026-00001")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDispatched(ctx, wf[0].ID, store.NoteSent, nil, 0); err != nil {
		t.Fatal(err)
	}
	if wf2, _ := st.Notifications(ctx, "NSCP-2026-00001"); wf2[0].Status != store.NotePending || wf2[0].Attempts != 0 {
		t.Fatalf("the dispatcher marked a workflow's notification: %s", wf2[0].Status)
	}
	if pending, err := st.PendingNotifications(ctx, "NSCP-2026-00001", []int{1}); err != nil || len(pending) != 2 {
		t.Fatalf("the workflow's notifications pending: %d, %v", len(pending), err)
	}
}

// Dispatchers claiming at once take each notification once between them.
func TestConcurrentClaimsTakeEachOnce(t *testing.T) {
	st := testStore(t)
	for i := 0; i < 8; i++ {
		recordForDispatch(t, st, fmt.Sprintf("NSCP-2026-%05d", i+1), 5, true)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ns, err := st.ClaimNotifications(context.Background(), 3, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ns) == 0 {
					return
				}
				mu.Lock()
				for _, n := range ns {
					seen[n.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Fatalf("claimed %d distinct notifications, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("notification %d claimed %d times", id, n)
		}
	}
}

// A listener is woken when notifications for the dispatcher are
// committed, and not by those a workflow delivers.
func TestListenDispatch(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	l, err := st.ListenDispatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if woken, err := l.Wait(ctx, 100*time.Millisecond); err != nil || woken {
		t.Fatalf("woken %v (%v) with nothing recorded", woken, err)
	}
	recordForDispatch(t, st, "NSCP-2026-00001", 1, false)
	if woken, err := l.Wait(ctx, 300*time.Millisecond); err != nil || woken {
		t.Fatalf("woken %v (%v) by a workflow's notification", woken, err)
	}
	recordForDispatch(t, st, "NSCP-2026-00002", 2, true)
	if woken, err := l.Wait(ctx, 5*time.Second); err != nil || !woken {
		t.Fatalf("not woken (%v) by notifications for the dispatcher", err)
	}
	// Still listening after a wait that timed out and one that was woken.
	recordForDispatch(t, st, "NSCP-2026-00003", 1, true)
	if woken, err := l.Wait(ctx, 5*time.Second); err != nil || !woken {
		t.Fatalf("not woken the second time (%v)", err)
	}
}
