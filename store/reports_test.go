package store_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// reportCase is one case for the report tests: what its snapshot says and
// the record that got it there.
type reportCase struct {
	ref, policy, category, raiser, respondent, status string
	created                                           time.Time
	// entered are the stages entered, in order; the last is where it stands
	// unless stage says otherwise (a case sent back).
	entered []int
	stage   int
	due     time.Time
	closed  time.Time
	// missed are deadline_passed events: stage at instant.
	missed []missedDeadline
	// learning, with how it was recorded: "agreement", "outcome" or
	// "proposed" (an agreement not yet confirmed, proposed at learningAt).
	learning, learningBy string
	learningAt           time.Time
}

type missedDeadline struct {
	stage int
	at    time.Time
}

// record writes the case through RecordEvents, as the workflow does.
func (rc reportCase) record(t *testing.T, st *store.Store) {
	t.Helper()
	stage := rc.stage
	if stage == 0 {
		stage = rc.entered[len(rc.entered)-1]
	}
	due := rc.due
	if due.IsZero() {
		due = rc.created.Add(48 * time.Hour)
	}
	c := workflows.Case{
		Ref: rc.ref, Policy: rc.policy, Status: rc.status, ChildRef: "C1", Category: rc.category, Summary: "s",
		CreatedAt: rc.created, Stage: workflows.StageState{Number: stage, Name: fmt.Sprint("Stage ", stage), StartedAt: rc.created, DueAt: due},
		Raiser:     workflows.Party{Name: "R", Email: "r@" + rc.raiser + ".example", Agency: rc.raiser},
		Respondent: workflows.Party{Name: "S", Email: "s@" + rc.respondent + ".example", Agency: rc.respondent},
		Contacts:   []workflows.Contact{},
	}
	if !rc.closed.IsZero() {
		closed := rc.closed
		c.ClosedAt = &closed
	}
	switch rc.learningBy {
	case "agreement":
		at := rc.closed
		c.Agreement = &workflows.Agreement{ProposedBy: "S", Outcome: "agreed", Learning: rc.learning, ConfirmedBy: "R", At: &at, ProposedAt: at.Add(-time.Hour)}
		c.Learning, c.Outcome = rc.learning, "agreed"
	case "outcome":
		c.Learning, c.Outcome = rc.learning, "partnership outcome"
	case "proposed":
		c.Agreement = &workflows.Agreement{ProposedBy: "S", Outcome: "proposed", Learning: rc.learning, ProposedAt: rc.learningAt}
	}
	var evs []workflows.Event
	add := func(at time.Time, typ string, stage int) *workflows.Event {
		evs = append(evs, workflows.Event{Seq: len(evs) + 1, At: at, Type: typ, Stage: stage, By: "escalate", Text: typ})
		return &evs[len(evs)-1]
	}
	add(rc.created, workflows.EventOpened, 1)
	from := 0
	for i, n := range rc.entered {
		e := add(rc.created.Add(time.Duration(i)*time.Minute), workflows.EventStageEntered, n)
		e.FromStage, e.ToStage, e.Move = from, n, workflows.MoveEscalated
		if from == 0 {
			e.Move = workflows.MoveOpened
		}
		from = n
	}
	if rc.stage != 0 && rc.stage != from {
		e := add(rc.created.Add(time.Hour), workflows.EventSentBack, from)
		e.FromStage, e.ToStage, e.Move = from, rc.stage, workflows.MoveSentBack
		e = add(rc.created.Add(time.Hour), workflows.EventStageEntered, rc.stage)
		e.FromStage, e.ToStage, e.Move = from, rc.stage, workflows.MoveSentBack
	}
	for _, m := range rc.missed {
		add(m.at, workflows.EventDeadlinePassed, m.stage)
	}
	if !rc.closed.IsZero() {
		typ := map[string]string{workflows.StatusResolved: workflows.EventAgreementConfirm, workflows.StatusUnresolved: workflows.EventOutcome,
			workflows.StatusWithdrawn: workflows.EventWithdrawn}[rc.status]
		e := add(rc.closed, typ, stage)
		yes := rc.status == workflows.StatusResolved
		e.Resolved, e.ClosedStatus = &yes, rc.status
	}
	c.Version = len(evs)
	in := workflows.RecordEventsInput{Ref: c.Ref, RunID: "run-1", Case: c, Events: evs, Timezone: "Europe/London"}
	if _, err := st.RecordEvents(context.Background(), in, render); err != nil {
		t.Fatalf("record %s: %v", rc.ref, err)
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// reportCases: policy pa's reporting year 2026/27 (from 1 April 2026 00:00
// BST, 2026-03-31T23:00Z, to 1 April 2027 00:00 BST, 2027-03-31T23:00Z),
// cases either side of both ends, and a case of another policy.
var reportCases = []reportCase{
	// Resolved at stage 2 after 48 hours: Tuesday and Wednesday, 2 working days.
	{ref: "A1", policy: "pa", category: "communication", raiser: "nhft", respondent: "nct", status: workflows.StatusResolved,
		created: utc("2026-05-04T09:00:00Z"), entered: []int{1, 2}, closed: utc("2026-05-06T09:00:00Z"),
		learning: "Share plans sooner", learningBy: "agreement"},
	// Resolved at stage 1 the same day: 6 hours, 0 working days.
	{ref: "A2", policy: "pa", category: "communication", raiser: "nhft", respondent: "police", status: workflows.StatusResolved,
		created: utc("2026-06-01T10:00:00Z"), entered: []int{1}, closed: utc("2026-06-01T16:00:00Z")},
	// Friday to Wednesday: 122 hours, 3 working days.
	{ref: "A3", policy: "pa", category: "threshold", raiser: "police", respondent: "nct", status: workflows.StatusResolved,
		created: utc("2026-06-05T10:00:00Z"), entered: []int{1}, closed: utc("2026-06-10T12:00:00Z")},
	// Friday to Tuesday over the August bank holiday: 96 hours, 1 working day.
	{ref: "A4", policy: "pa", category: "threshold", raiser: "nhft", respondent: "nct", status: workflows.StatusResolved,
		created: utc("2026-08-28T09:00:00Z"), entered: []int{1}, closed: utc("2026-09-01T09:00:00Z")},
	// Climbed to 3, sent back to 2; open and overdue.
	{ref: "A5", policy: "pa", category: "communication", raiser: "nct", respondent: "nhft", status: workflows.StatusOpen,
		created: utc("2026-10-01T09:00:00Z"), entered: []int{1, 2, 3}, stage: 2, due: utc("2026-10-10T16:00:00Z"),
		missed: []missedDeadline{{1, utc("2026-10-02T16:00:00Z")}, {2, utc("2026-10-03T16:00:00Z")}}},
	// Unresolved at the partnership stage, with its learning.
	{ref: "A6", policy: "pa", category: "roles", raiser: "nct", respondent: "police", status: workflows.StatusUnresolved,
		created: utc("2026-07-01T09:00:00Z"), entered: []int{1, 2, 3, 4, 5}, closed: utc("2026-07-20T12:00:00Z"),
		missed: []missedDeadline{{1, utc("2026-07-03T16:00:00Z")}, {2, utc("2026-07-08T16:00:00Z")},
			{3, utc("2026-07-13T16:00:00Z")}, {4, utc("2026-07-16T16:00:00Z")}},
		learning: "Escalate sooner", learningBy: "outcome"},
	// Withdrawn, by an agency not in the directory.
	{ref: "A7", policy: "pa", category: "roles", raiser: "gp-surgery", respondent: "nct", status: workflows.StatusWithdrawn,
		created: utc("2026-09-10T09:00:00Z"), entered: []int{1}, closed: utc("2026-09-11T09:00:00Z")},
	// An agreement proposed with learning; not yet due.
	{ref: "A8", policy: "pa", category: "threshold", raiser: "police", respondent: "nct", status: workflows.StatusAgreementProposed,
		created: utc("2026-10-20T09:00:00Z"), entered: []int{1}, due: utc("2026-12-01T17:00:00Z"),
		learning: "Joint visit helped", learningBy: "proposed", learningAt: utc("2026-10-25T09:00:00Z")},
	// The period's edges: E0 and E3 just outside, E1 and E2 just inside.
	{ref: "E0", policy: "pa", category: "communication", raiser: "ics", respondent: "nct", status: workflows.StatusWithdrawn,
		created: utc("2026-03-31T22:59:59Z"), entered: []int{1}, closed: utc("2026-04-01T09:00:00Z")},
	{ref: "E1", policy: "pa", category: "communication", raiser: "nhft", respondent: "nct", status: workflows.StatusWithdrawn,
		created: utc("2026-03-31T23:00:00Z"), entered: []int{1}, closed: utc("2026-04-01T09:00:00Z")},
	{ref: "E2", policy: "pa", category: "roles", raiser: "nhft", respondent: "nct", status: workflows.StatusWithdrawn,
		created: utc("2027-03-31T22:59:59Z"), entered: []int{1}, closed: utc("2027-03-31T23:30:00Z")},
	{ref: "E3", policy: "pa", category: "roles", raiser: "ics", respondent: "nct", status: workflows.StatusWithdrawn,
		created: utc("2027-03-31T23:00:00Z"), entered: []int{1}, closed: utc("2027-04-01T09:00:00Z")},
	// Raised the year before: its stage-2 deadline passed in this one; open and overdue.
	{ref: "B1", policy: "pa", category: "threshold", raiser: "ics", respondent: "nct", status: workflows.StatusOpen,
		created: utc("2026-03-20T09:00:00Z"), entered: []int{1, 2}, due: utc("2026-04-02T16:00:00Z"),
		missed: []missedDeadline{{1, utc("2026-03-25T16:00:00Z")}, {2, utc("2026-04-02T16:00:00Z")}}},
	// Resolved with learning the year before.
	{ref: "B2", policy: "pa", category: "communication", raiser: "schools", respondent: "nct", status: workflows.StatusResolved,
		created: utc("2025-12-01T09:00:00Z"), entered: []int{1}, closed: utc("2026-01-10T09:00:00Z"),
		learning: "Old learning", learningBy: "agreement"},
	// Another policy's case: overdue, a deadline missed.
	{ref: "C1", policy: "pb", category: "communication", raiser: "schools", respondent: "nct", status: workflows.StatusOpen,
		created: utc("2026-06-01T09:00:00Z"), entered: []int{1}, due: utc("2026-06-05T16:00:00Z"),
		missed: []missedDeadline{{1, utc("2026-06-05T16:00:00Z")}}},
}

var reportDirectory = []store.ReportAgency{
	{Policy: "pa", Agency: "nhft", Name: "Health"}, {Policy: "pa", Agency: "nct", Name: "Children's Trust"},
	{Policy: "pa", Agency: "police", Name: "Police"}, {Policy: "pa", Agency: "schools"}, {Policy: "pa", Agency: "ics"},
	{Policy: "pb", Agency: "schools"}, {Policy: "pb", Agency: "nct"},
}

func reportClock(t *testing.T) policies.Clock {
	t.Helper()
	c, err := policies.NewClock(policies.CalendarEnglandAndWales, "Europe/London", "17:00")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.005 }

// The summary counts what the partnership reports, for the period, from
// the record.
func TestSummaryReport(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	for _, rc := range reportCases {
		rc.record(t, st)
	}
	clock := reportClock(t)
	from, to := utc("2026-03-31T23:00:00Z"), utc("2027-03-31T23:00:00Z")
	now := utc("2026-11-01T12:00:00Z")
	var paDirectory []store.ReportAgency
	for _, a := range reportDirectory {
		if a.Policy == "pa" {
			paDirectory = append(paDirectory, a)
		}
	}
	r, err := st.Summary(ctx, store.ReportFilter{Policy: "pa", From: from, To: to, Now: now,
		Clocks: map[string]policies.Clock{"pa": clock}, Directory: paDirectory})
	if err != nil {
		t.Fatal(err)
	}
	if r.Raised != 10 {
		t.Errorf("raised %d, want 10 (A1-A8, E1, E2)", r.Raised)
	}
	for name, got := range map[string][2]map[string]int{
		"by_category":          {r.ByCategory, {"communication": 4, "threshold": 3, "roles": 3}},
		"by_raising_agency":    {r.ByRaisingAgency, {"nhft": 5, "police": 2, "nct": 2, "gp-surgery": 1}},
		"by_responding_agency": {r.ByRespondingAgency, {"nct": 7, "police": 2, "nhft": 1}},
		"by_highest_stage":     {r.ByHighestStage, {"1": 7, "2": 1, "3": 1, "5": 1}},
		"by_status": {r.ByStatus, {workflows.StatusResolved: 4, workflows.StatusOpen: 1, workflows.StatusUnresolved: 1,
			workflows.StatusWithdrawn: 3, workflows.StatusAgreementProposed: 1}},
		"deadlines_missed_by_stage": {r.DeadlinesMissedByStage, {"1": 2, "2": 3, "3": 1, "4": 1}},
	} {
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("%s = %v, want %v", name, got[0], got[1])
		}
	}
	// Stage 1: A2 6h/0d, A3 122h/3d, A4 96h/1d; stage 2: A1 48h/2d.
	want := []store.ResolutionTimes{
		{Stage: 1, Resolved: 3, MedianHours: 96, P90Hours: 116.8, MedianWorkingDays: 1, P90WorkingDays: 2.6},
		{Stage: 2, Resolved: 1, MedianHours: 48, P90Hours: 48, MedianWorkingDays: 2, P90WorkingDays: 2},
	}
	if len(r.TimeToResolution) != len(want) {
		t.Fatalf("time to resolution %+v, want %+v", r.TimeToResolution, want)
	}
	for i, w := range want {
		g := r.TimeToResolution[i]
		if g.Stage != w.Stage || g.Resolved != w.Resolved || !near(g.MedianHours, w.MedianHours) || !near(g.P90Hours, w.P90Hours) ||
			!near(g.MedianWorkingDays, w.MedianWorkingDays) || !near(g.P90WorkingDays, w.P90WorkingDays) {
			t.Errorf("time to resolution at stage %d: %+v, want %+v", w.Stage, g, w)
		}
	}
	// A5's two, A6's four, and B1's stage-2 deadline (raised the year before,
	// missed in this one); not B1's stage-1 deadline nor the other policy's.
	if r.DeadlinesMissed != 7 {
		t.Errorf("deadlines missed %d, want 7", r.DeadlinesMissed)
	}
	// Open now: A5, A8 and B1 (raised before the period); overdue: A5, B1.
	if r.OpenNow != 3 || r.OverdueNow != 2 {
		t.Errorf("open now %d, overdue now %d; want 3 and 2", r.OpenNow, r.OverdueNow)
	}
	wantNone := []store.ReportAgency{{Policy: "pa", Agency: "schools"}, {Policy: "pa", Agency: "ics"}}
	if !reflect.DeepEqual(r.AgenciesWithoutEscalations, wantNone) {
		t.Errorf("agencies without escalations %+v, want %+v", r.AgenciesWithoutEscalations, wantNone)
	}
	wantLearning := []store.LearningEntry{
		{Ref: "A1", Policy: "pa", Category: "communication", Stage: 2, Learning: "Share plans sooner", At: utc("2026-05-06T09:00:00Z"), Source: store.LearningAgreement},
		{Ref: "A6", Policy: "pa", Category: "roles", Stage: 5, Learning: "Escalate sooner", At: utc("2026-07-20T12:00:00Z"), Source: store.LearningOutcome},
		{Ref: "A8", Policy: "pa", Category: "threshold", Stage: 1, Learning: "Joint visit helped", At: utc("2026-10-25T09:00:00Z"), Source: store.LearningProposedAgreement},
	}
	if len(r.Learning) != len(wantLearning) {
		t.Fatalf("learning %+v, want %+v", r.Learning, wantLearning)
	}
	for i, w := range wantLearning {
		g := r.Learning[i]
		if g.Ref != w.Ref || g.Policy != w.Policy || g.Category != w.Category || g.Stage != w.Stage || g.Learning != w.Learning ||
			!g.At.Equal(w.At) || g.Source != w.Source {
			t.Errorf("learning %d: %+v, want %+v", i, g, w)
		}
	}

	// Every policy: the other policy's case counts too, and its directory
	// is checked against its own cases.
	all, err := st.Summary(ctx, store.ReportFilter{From: from, To: to, Now: now,
		Clocks: map[string]policies.Clock{"pa": clock, "pb": clock}, Directory: reportDirectory})
	if err != nil {
		t.Fatal(err)
	}
	if all.Raised != 11 || all.ByCategory["communication"] != 5 || all.DeadlinesMissed != 8 || all.OpenNow != 4 || all.OverdueNow != 3 {
		t.Errorf("all policies: raised %d, communication %d, missed %d, open %d, overdue %d; want 11, 5, 8, 4, 3",
			all.Raised, all.ByCategory["communication"], all.DeadlinesMissed, all.OpenNow, all.OverdueNow)
	}
	// pb's nct raised nothing but had C1 raised with it: not without.
	if !reflect.DeepEqual(all.AgenciesWithoutEscalations, wantNone) {
		t.Errorf("all policies, agencies without escalations %+v, want %+v", all.AgenciesWithoutEscalations, wantNone)
	}

	// June 2026 only: A2 and A3; nothing missed, no learning; nct raised
	// none but had A3 raised with it, so only schools and ics had none.
	june, err := st.Summary(ctx, store.ReportFilter{Policy: "pa", From: utc("2026-05-31T23:00:00Z"), To: utc("2026-06-30T23:00:00Z"),
		Now: now, Clocks: map[string]policies.Clock{"pa": clock}, Directory: paDirectory})
	if err != nil {
		t.Fatal(err)
	}
	if june.Raised != 2 || !reflect.DeepEqual(june.ByRaisingAgency, map[string]int{"nhft": 1, "police": 1}) ||
		june.DeadlinesMissed != 0 || len(june.DeadlinesMissedByStage) != 0 || len(june.Learning) != 0 {
		t.Errorf("June: %+v", june)
	}
	if len(june.TimeToResolution) != 1 || june.TimeToResolution[0].Resolved != 2 || !near(june.TimeToResolution[0].MedianHours, 64) {
		t.Errorf("June time to resolution: %+v, want stage 1, 2 resolved, median 64 hours", june.TimeToResolution)
	}
	wantNone = []store.ReportAgency{{Policy: "pa", Agency: "schools"}, {Policy: "pa", Agency: "ics"}}
	if !reflect.DeepEqual(june.AgenciesWithoutEscalations, wantNone) {
		t.Errorf("June, agencies without escalations %+v, want %+v", june.AgenciesWithoutEscalations, wantNone)
	}
	// Still open and overdue now, whatever the period.
	if june.OpenNow != 3 || june.OverdueNow != 2 {
		t.Errorf("June: open now %d, overdue now %d", june.OpenNow, june.OverdueNow)
	}

	// A period with nothing in it is a report of zeros and empty lists,
	// never nulls.
	empty, err := st.Summary(ctx, store.ReportFilter{Policy: "nobody", From: from, To: to, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Raised != 0 || empty.ByCategory == nil || empty.TimeToResolution == nil || empty.Learning == nil ||
		empty.AgenciesWithoutEscalations == nil || empty.OpenNow != 0 {
		t.Errorf("empty report: %+v", empty)
	}
}

func TestPercentile(t *testing.T) {
	if got := store.Percentile([]float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, 0.9); !near(got, 9.1) {
		t.Errorf("p90 of 1..10 = %v, want 9.1", got)
	}
	if got := store.Percentile([]float64{4, 1, 3, 2}, 0.5); !near(got, 2.5) {
		t.Errorf("median of 1..4 = %v, want 2.5", got)
	}
	if got := store.Percentile(nil, 0.5); got != 0 {
		t.Errorf("median of nothing = %v", got)
	}
}

// The report reads the events' structured fields: the highest stage from
// the stages moves went to (to_stage), the stage and time of resolution
// from the event that resolved the case, whatever the events' texts, types
// of entry or the case row's stage say.
func TestSummaryReadsEventFields(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	created := utc("2026-05-04T09:00:00Z")
	resolvedAt := utc("2026-05-05T09:00:00Z")
	yes := true
	c := workflows.Case{
		Ref: "F1", Policy: "pa", Status: workflows.StatusResolved, ChildRef: "C1", Category: "communication", Summary: "s",
		CreatedAt: created, ClosedAt: &resolvedAt,
		// The row says stage 1; the record says the case went to 4 and back
		// and was resolved at stage 2.
		Stage:      workflows.StageState{Number: 1, StartedAt: created, DueAt: created.Add(48 * time.Hour)},
		Raiser:     workflows.Party{Name: "R", Email: "r@nhft.example", Agency: "nhft"},
		Respondent: workflows.Party{Name: "S", Email: "s@nct.example", Agency: "nct"},
		Contacts:   []workflows.Contact{},
	}
	misleading := "Stage 5 entered; the case is closed unresolved at stage 3."
	evs := []workflows.Event{
		{Type: workflows.EventOpened, Stage: 1},
		{Type: workflows.EventStageEntered, Stage: 1, ToStage: 1, Move: workflows.MoveOpened},
		{Type: workflows.EventEscalated, Stage: 1, FromStage: 1, ToStage: 4, Move: workflows.MoveEscalated},
		{Type: workflows.EventStageEntered, Stage: 1, FromStage: 1, ToStage: 4, Move: workflows.MoveEscalated},
		{Type: workflows.EventSentBack, Stage: 4, FromStage: 4, ToStage: 2, Move: workflows.MoveSentBack},
		{Type: workflows.EventStageEntered, Stage: 2, FromStage: 4, ToStage: 2, Move: workflows.MoveSentBack},
		{Type: workflows.EventAgreementConfirm, Stage: 2, Resolved: &yes, ClosedStatus: workflows.StatusResolved},
	}
	for i := range evs {
		evs[i].Seq, evs[i].At, evs[i].By, evs[i].Text = i+1, created.Add(time.Duration(i)*time.Minute), "escalate", misleading
	}
	evs[len(evs)-1].At = resolvedAt
	c.Version = len(evs)
	if _, err := st.RecordEvents(ctx, workflows.RecordEventsInput{Ref: c.Ref, RunID: "run-1", Case: c, Events: evs, Timezone: "Europe/London"}, render); err != nil {
		t.Fatal(err)
	}
	r, err := st.Summary(ctx, store.ReportFilter{Policy: "pa", From: utc("2026-03-31T23:00:00Z"), To: utc("2027-03-31T23:00:00Z"),
		Now: resolvedAt, Clocks: map[string]policies.Clock{"pa": reportClock(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.ByHighestStage) != "map[4:1]" {
		t.Errorf("highest stage %v, want stage 4 (the stage a move went to)", r.ByHighestStage)
	}
	if len(r.TimeToResolution) != 1 || r.TimeToResolution[0].Stage != 2 || !near(r.TimeToResolution[0].MedianHours, 24) {
		t.Errorf("time to resolution %+v, want one case resolved at stage 2 after 24 hours", r.TimeToResolution)
	}
}
