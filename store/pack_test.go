package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// packPolicy is the pack tests' directory: three agencies and one only the
// contacts table names.
func packPolicy() policies.Policy {
	return policies.Policy{ID: "pa", Name: "Test partnership", Calendar: policies.CalendarEnglandAndWales, Timezone: "Europe/London",
		EndOfDay: "17:00",
		Categories: []policies.Category{{ID: "communication", Label: "Communication"}, {ID: "threshold", Label: "Threshold"},
			{ID: "roles", Label: "Roles"}},
		Agencies: []policies.Agency{{ID: "nhft", Name: "Health Foundation Trust"}, {ID: "nct", Name: "Children's Trust"},
			{ID: "police", Name: "Police"}},
		Directory: []policies.DirectoryEntry{{Agency: "schools", Role: "dsl"}},
		Stages:    []policies.Stage{{Number: 1, Name: "One"}, {Number: 2, Name: "Two"}, {Number: 3, Name: "Three"}},
	}
}

// openWithPolicy records a case's opening with its policy snapshot, as the
// workflow's first step does, with the agencies as declared.
func openWithPolicy(t *testing.T, st *store.Store, p policies.Policy, ref, raiser, respondent string, created time.Time) {
	t.Helper()
	c := workflows.Case{Ref: ref, Policy: p.ID, Status: workflows.StatusOpen, ChildRef: "C", Category: "communication", Summary: "s",
		CreatedAt: created, Stage: workflows.StageState{Number: 1, Name: "One", StartedAt: created, DueAt: created.Add(48 * time.Hour)},
		Raiser: workflows.Party{Name: "R", Email: "r@x.example", Agency: raiser}, Respondent: workflows.Party{Name: "S", Email: "s@x.example", Agency: respondent},
		Contacts: []workflows.Contact{}, Version: 1}
	in := workflows.RecordEventsInput{Ref: ref, RunID: "run-1", Case: c, Policy: &p, Timezone: "Europe/London",
		Events: []workflows.Event{{Seq: 1, At: created, Type: workflows.EventOpened, Stage: 1, By: "R", Text: "opened"}}}
	if _, err := st.RecordEvents(context.Background(), in, render); err != nil {
		t.Fatalf("record %s: %v", ref, err)
	}
}

// A case's agencies are kept by the directory's id, matched from what was
// declared (an id or a name, in any case); one outside the directory has
// none and counts as outside; the pack counts each agency on both sides.
func TestMeetingPackAgenciesByDirectoryID(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	p := packPolicy()
	at := utc("2026-06-01T10:00:00Z")
	openWithPolicy(t, st, p, "P1", "health foundation trust", "NCT", at)
	openWithPolicy(t, st, p, "P2", "Children's Trust", "A GP surgery", at.Add(time.Hour))
	openWithPolicy(t, st, p, "P3", "nhft", "police", at.Add(2*time.Hour))
	// The year before: P0 only.
	openWithPolicy(t, st, p, "P0", "police", "nct", utc("2025-06-10T10:00:00Z"))

	pack, err := st.MeetingPack(ctx, store.PackFilter{Policy: p, From: utc("2026-03-31T23:00:00Z"), To: utc("2027-03-31T23:00:00Z"),
		Now: utc("2026-06-02T12:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	cur := pack.Current
	if cur.Raised != 3 || !reflect.DeepEqual(cur.Raising, map[string]int{"nhft": 2, "nct": 1}) ||
		!reflect.DeepEqual(cur.Receiving, map[string]int{"nct": 1, store.OutsideDirectory: 1, "police": 1}) {
		t.Errorf("raised %d, raising %v, receiving %v", cur.Raised, cur.Raising, cur.Receiving)
	}
	if len(cur.Without) != 1 || cur.Without[0].ID != "schools" {
		t.Errorf("without %+v, want schools only (police only received, and counts)", cur.Without)
	}
	if len(cur.Months) != 12 || cur.Months[2].Total != 3 || cur.Months[2].ByCategory["communication"] != 3 ||
		cur.Months[2].Start.Format("2006-01") != "2026-06" {
		t.Errorf("months: %d, June %+v", len(cur.Months), cur.Months[2])
	}
	if cur.ByHighestStage[1] != 3 || cur.ByHighestStage[3] != 0 || cur.ByCategory["roles"] != 0 {
		t.Errorf("by stage %v, by category %v", cur.ByHighestStage, cur.ByCategory)
	}
	ye := pack.YearEarlier
	if ye.Raised != 1 || ye.Raising["police"] != 1 || ye.Receiving["nct"] != 1 || len(ye.Without) != 2 {
		t.Errorf("year earlier: %+v", ye)
	}
	if pack.OpenNow != 4 || pack.OverdueNow != 1 {
		t.Errorf("open now %d, overdue now %d; want 4 and 1 (P0)", pack.OpenNow, pack.OverdueNow)
	}

	// The list: by agency (either side), category, period, status.
	list, more, err := st.PartnershipCases(ctx, store.PartnershipFilter{Policy: "pa", Agency: "nct", Now: utc("2026-06-02T12:00:00Z")})
	if err != nil || more {
		t.Fatal(err, more)
	}
	if refs(list) != "P2 P1 P0" {
		t.Errorf("nct's cases: %s", refs(list))
	}
	list, _, err = st.PartnershipCases(ctx, store.PartnershipFilter{Policy: "pa", Agency: "nct", From: utc("2026-04-01T00:00:00Z"),
		Status: "open", Overdue: true, Now: utc("2026-06-10T12:00:00Z")})
	if err != nil || refs(list) != "P2 P1" {
		t.Errorf("nct's overdue this year: %s %v", refs(list), err)
	}
	list, _, err = st.PartnershipCases(ctx, store.PartnershipFilter{Policy: "pa", Category: "roles", Now: utc("2026-06-02T12:00:00Z")})
	if err != nil || len(list) != 0 {
		t.Errorf("roles: %s %v", refs(list), err)
	}
	list, more, err = st.PartnershipCases(ctx, store.PartnershipFilter{Policy: "pa", Limit: 2, Status: "closed", Now: at})
	if err != nil || len(list) != 0 || more {
		t.Errorf("closed: %s %v", refs(list), err)
	}
	list, more, err = st.PartnershipCases(ctx, store.PartnershipFilter{Policy: "pa", Limit: 2, Now: at})
	if err != nil || refs(list) != "P3 P2" || !more {
		t.Errorf("limit 2: %s more %v %v", refs(list), more, err)
	}
}

func refs(cs []workflows.Case) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += " "
		}
		out += c.Ref
	}
	return out
}

func TestMeetings(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	for _, d := range []string{"2026-12-10", "2026-09-01", "2026-12-10"} {
		if err := st.AddMeeting(ctx, "pa", d, "pat@x.example"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Meetings(ctx, "pa")
	if err != nil || !reflect.DeepEqual(got, []string{"2026-09-01", "2026-12-10"}) {
		t.Errorf("meetings %v %v", got, err)
	}
	if other, _ := st.Meetings(ctx, "pb"); len(other) != 0 || other == nil {
		t.Errorf("another partnership's: %#v", other)
	}
	if err := st.RemoveMeeting(ctx, "pa", "2026-09-01"); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveMeeting(ctx, "pa", "2026-09-01"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing it again: %v", err)
	}
	for i := 1; i < store.MaxMeetings; i++ {
		if err := st.AddMeeting(ctx, "pa", time.Date(2030, 1, i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), "x"); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := st.AddMeeting(ctx, "pa", "2031-01-01", "x"); !errors.Is(err, store.ErrTooManyMeetings) {
		t.Errorf("past the limit: %v", err)
	}
	if err := st.AddMeeting(ctx, "pa", "2026-12-10", "x"); err != nil {
		t.Errorf("one already kept, at the limit: %v", err)
	}
}

func TestPackPeriod(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	day := func(s string) time.Time {
		d, _ := time.ParseInLocation(time.DateOnly, s, london)
		return d
	}
	now := time.Date(2026, 12, 3, 15, 0, 0, 0, london)
	for _, tc := range []struct {
		name       string
		meetings   []string
		since      string
		next       string
		now        time.Time
		wantFromTo [2]time.Time
	}{
		{name: "none: the reporting year", now: now, wantFromTo: [2]time.Time{day("2026-04-01"), day("2027-04-01")}},
		{name: "January: the year from the April before", now: time.Date(2027, 1, 5, 9, 0, 0, 0, london),
			wantFromTo: [2]time.Time{day("2026-04-01"), day("2027-04-01")}},
		{name: "since the last meeting", meetings: []string{"2026-06-01", "2026-10-14", "2027-01-20"}, now: now,
			since: "2026-10-14", next: "2027-01-20", wantFromTo: [2]time.Time{day("2026-10-14"), day("2026-12-04")}},
		{name: "a meeting today: since the one before", meetings: []string{"2026-10-14", "2026-12-03"}, now: now,
			since: "2026-10-14", next: "2026-12-03", wantFromTo: [2]time.Time{day("2026-10-14"), day("2026-12-04")}},
		{name: "only future meetings", meetings: []string{"2027-01-20"}, now: now, next: "2027-01-20",
			wantFromTo: [2]time.Time{day("2026-04-01"), day("2027-04-01")}},
	} {
		from, to, since := store.PackPeriod(tc.meetings, tc.now, london)
		if !from.Equal(tc.wantFromTo[0]) || !to.Equal(tc.wantFromTo[1]) || since != tc.since {
			t.Errorf("%s: %s to %s since %q, want %s to %s since %q", tc.name, from, to, since, tc.wantFromTo[0], tc.wantFromTo[1], tc.since)
		}
		if next := store.NextMeeting(tc.meetings, tc.now, london); next != tc.next {
			t.Errorf("%s: next %q, want %q", tc.name, next, tc.next)
		}
	}
}

// Migration 000014 fills in the directory ids of cases opened before they
// were kept, from each case's policy snapshot: by id or by name, in any
// case; an agency outside the directory, or a case with no snapshot, gets
// none.
func TestAgencyIDBackfill(t *testing.T) {
	st, dsn := testStoreDSN(t)
	ctx := context.Background()
	p := packPolicy()
	at := utc("2026-06-01T10:00:00Z")
	openWithPolicy(t, st, p, "B1", " Health Foundation Trust ", "NCT", at)
	openWithPolicy(t, st, p, "B2", "police", "A GP surgery", at)
	openWithPolicy(t, st, p, "B3", "schools", "Children's trust", at)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ids := func() map[string][2]string {
		rows, err := conn.Query(ctx, `SELECT ref, raiser_agency_id, respondent_agency_id FROM cases ORDER BY ref`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][2]string{}
		for rows.Next() {
			var ref, a, b string
			if err := rows.Scan(&ref, &a, &b); err != nil {
				t.Fatal(err)
			}
			out[ref] = [2]string{a, b}
		}
		return out
	}
	// Opening recorded them (B3's schools only the contacts table names: an
	// id the migration, matching the agencies list, leaves to the pack).
	want := map[string][2]string{"B1": {"nhft", "nct"}, "B2": {"police", ""}, "B3": {"schools", "nct"}}
	if got := ids(); !reflect.DeepEqual(got, want) {
		t.Fatalf("at opening: %v, want %v", got, want)
	}
	if _, err := conn.Exec(ctx, `UPDATE cases SET raiser_agency_id = '', respondent_agency_id = ''`); err != nil {
		t.Fatal(err)
	}
	up := store.MigrationFile("000014_agency_ids_and_meetings.up.sql")
	start := strings.Index(up, "UPDATE cases c SET")
	end := strings.Index(up[start:], ";\n") + start
	if _, err := conn.Exec(ctx, up[start:end]); err != nil {
		t.Fatal(err)
	}
	want["B3"] = [2]string{"", "nct"}
	if got := ids(); !reflect.DeepEqual(got, want) {
		t.Errorf("backfilled: %v, want %v", got, want)
	}
	// The pack counts B3's schools all the same, matching today's directory.
	pack, err := st.MeetingPack(ctx, store.PackFilter{Policy: p, From: at.Add(-time.Hour), To: at.Add(time.Hour), Now: at})
	if err != nil {
		t.Fatal(err)
	}
	if pack.Current.Raising["schools"] != 1 || pack.Current.Receiving["nct"] != 2 || pack.Current.Receiving[store.OutsideDirectory] != 1 {
		t.Errorf("raising %v receiving %v", pack.Current.Raising, pack.Current.Receiving)
	}
}
