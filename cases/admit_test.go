package cases

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The gate admits up to its size at once, queues the next in order, and
// refuses (ErrBusy, nothing sent) one that waited its whole turn or whose
// caller gave up.
func TestGate(t *testing.T) {
	s := NewService(Config{MaxInFlight: 2, AdmitWait: 50 * time.Millisecond})
	ctx := context.Background()
	r1, err := s.Admit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Admit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := s.Gate(); g.InFlight != 2 || g.Max != 2 || g.Waiting != 0 {
		t.Fatalf("two admitted: %+v", g)
	}
	if _, err := s.Admit(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third with two in flight for the whole wait: %v, want ErrBusy", err)
	}
	if g := s.Gate(); g.Refused != 1 || g.Waiting != 0 {
		t.Fatalf("after one refused: %+v", g)
	}
	var e *Error
	if !errors.As(ErrBusy, &e) || e.Kind != Unavailable {
		t.Fatalf("ErrBusy is %v, want the Unavailable kind (503, nothing changed)", ErrBusy)
	}

	// One queued is admitted as soon as room is given back.
	s = NewService(Config{MaxInFlight: 1, AdmitWait: time.Minute})
	r1, _ = s.Admit(ctx)
	got := make(chan error, 1)
	go func() {
		r, err := s.Admit(ctx)
		if err == nil {
			defer r()
		}
		got <- err
	}()
	for s.Gate().Waiting != 1 {
		time.Sleep(time.Millisecond)
	}
	r1()
	if err := <-got; err != nil {
		t.Fatalf("queued after room came back: %v", err)
	}

	// A caller that gives up while queued is refused, not admitted later.
	r1, _ = s.Admit(ctx)
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for s.Gate().Waiting != 1 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := s.Admit(cctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("caller gone: %v, want ErrBusy", err)
	}
	if g := s.Gate(); g.InFlight != 1 || g.Waiting != 0 {
		t.Fatalf("a refused caller holds nothing: %+v", g)
	}
	r1()
	r2()

	// Negative: no gate at all.
	s = NewService(Config{MaxInFlight: -1})
	for range 100 {
		if _, err := s.Admit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if g := s.Gate(); g.Max != 0 {
		t.Fatalf("no gate: %+v", g)
	}
}
