package recordpage

import (
	"bytes"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// A deadline moved by a partnership closure is the stage's deadline on the
// record (not an agreed one), after the stage has ended too, and the entry
// says what moved it.
func TestRecordPageShowsADeadlineMovedByAClosure(t *testing.T) {
	b := newRecordCase(t, "northamptonshire", "NSCP-2025-0090", time.Date(2025, 6, 2, 8, 30, 0, 0, time.UTC), priya, tom,
		"information-sharing-services", "School nurse was not told of the child's move to a new address.")
	// Stage 1 (2 working days from Mon 2 Jun) was due Wed 4 Jun 17:00;
	// Tue 3 Jun closed: Thu 5 Jun 17:00.
	moved := b.at(2025, 6, 5, 17, 0)
	b.event(b.at(2025, 6, 2, 12, 0), workflows.EventDeadlineMoved, 1, workflows.Party{Name: "Pat Lead", Email: "pat@nscp.example"},
		"Stage 1 deadline moved from 17:00 Wed 4 Jun 2025 BST to 17:00 Thu 5 Jun 2025 BST: Tue 3 Jun 2025 is a partnership closure (State occasion), not a working day.")
	due := moved.UTC()
	b.c.History[len(b.c.History)-1].DueAt = &due
	b.c.Stage.DueAt = due
	b.deadlinePassed() // at the moved deadline, to stage 2: stage 1's row is history now
	page := New(b.c, &b.pol, store.Verification{Intact: true, Events: len(b.c.History)}, time.Date(2025, 6, 6, 13, 0, 0, 0, time.UTC))
	if len(page.Stages) != 2 || !page.Stages[0].Due.Equal(moved) || page.Stages[0].Agreed {
		t.Fatalf("stages: %+v", page.Stages)
	}
	var buf bytes.Buffer
	if err := Render(&buf, page); err != nil {
		t.Fatal(err)
	}
	text := visibleText(buf.String())
	for _, want := range []string{"Deadline moved (partnership closure)", "State occasion"} {
		if !bytes.Contains([]byte(text), []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
