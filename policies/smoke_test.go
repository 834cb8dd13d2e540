package policies

import (
	"testing"
	"time"
)

func TestContractExample(t *testing.T) {
	r, err := Load("drill")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("northamptonshire")
	loc, _ := time.LoadLocation("Europe/London")
	got, err := p.StageDue(1, time.Date(2026, 12, 24, 14, 0, 0, 0, loc))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 30, 17, 0, 0, 0, loc)
	if !got.Equal(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if _, ok := r.Get("northamptonshire-drill"); !ok {
		t.Fatal("no drill")
	}
}
