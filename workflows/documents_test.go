package workflows_test

import (
	"strings"
	"testing"
	"time"

	"escalate/workflows"
)

// Each test here names the rule of a source document (shared/seeds/) or of
// the contract (shared/spec/api.md) it holds the workflow to.

// Contract v1.1, "Categories": "Every policy has a category other; a case
// with it needs category_detail (1-200 characters), shown wherever the
// category is." The documents' lists are examples only (northamptonshire-
// escalating-for-the-right-outcome.txt, "Areas of Conflict": "this is by no
// means an exhaustive list"), so the record says what an "other"
// disagreement is about.
func TestCategoryOtherShowsItsDetail(t *testing.T) {
	start := local(2026, 11, 23, 9, 0)
	h := newHarness(t, start, func(in *workflows.CaseInput) {
		in.Category = "other"
		in.CategoryDetail = "School transport plan for a child in care"
	})
	h.at(time.Hour, workflows.UpdateWithdraw, workflows.WithdrawInput{By: asRaiser, Reason: "Sorted"})
	h.run()
	c := h.finished()
	if c.Category != "other" || c.CategoryDetail != "School transport plan for a child in care" {
		t.Errorf("case category %q detail %q", c.Category, c.CategoryDetail)
	}
	opened := eventsOf(h.acts, workflows.EventOpened)
	if len(opened) != 1 || !strings.Contains(opened[0].Text, "Category: Other: School transport plan for a child in care.") {
		t.Errorf("opening event: %+v", opened)
	}
}
