package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A case's history grows by about the same number of bytes with every note,
// however many came before, and an update's result stays small: before the
// workflow kept its state lean, each update answered with the whole case,
// history included, so a note cost more the more notes the case had
// (measured on the code before: 10 to 25 notes, about 19 KB a note; 25 to
// 40, about 26 KB; the results reached 25 KB at 40 notes). Now: about 5 KB
// a note throughout, results of about 80 bytes.
func TestHistoryGrowsLinearlyWithNotes(t *testing.T) {
	cli := os.Getenv("TEMPORAL_CLI")
	if cli == "" {
		cli = "../../bin/temporal"
	}
	cli, err := filepath.Abs(cli)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("the Temporal CLI is needed at %s (make test installs it): %v", cli, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := start(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	var sizes []Size
	for i, n := range []int{10, 25, 40} {
		sz, err := s.measure(ctx, "TEST-2026-0000"+string(rune('1'+i)), n)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d notes: %d events, %d bytes in %d runs; largest update result %d bytes", n, sz.Events, sz.Bytes, sz.Runs, sz.MaxUpdateResult)
		if sz.MaxUpdateResult > 256 {
			t.Errorf("%d notes: an update result of %d bytes; want it small, without the case", n, sz.MaxUpdateResult)
		}
		sizes = append(sizes, sz)
	}
	early := float64(sizes[1].Bytes-sizes[0].Bytes) / 15
	late := float64(sizes[2].Bytes-sizes[1].Bytes) / 15
	t.Logf("bytes a note: %.0f from 10 to 25 notes, %.0f from 25 to 40", early, late)
	if late > 1.25*early {
		t.Errorf("a note costs %.0f bytes from 25 to 40 notes but %.0f from 10 to 25: the history grows faster than the notes", late, early)
	}
}
