package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/internal/testdb"
	"escalate/store"
	"escalate/workflows"
)

// What the report's triggers (store/migrations/000016) cost the record: a
// case's life (opened, escalated, a deadline passed, resolved: four
// RecordEvents steps) with them on and off, in one run, so
//
//	go test -run '^$' -bench RecordEventsRollups -count 5 ./store/
//
// interleaves the two and their ratio is what they add.
func BenchmarkRecordEventsRollups(b *testing.B) {
	ctx := context.Background()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin := strings.Replace(base, "/postgres?", fmt.Sprintf("/escalate_store_rb_%d_%d?", os.Getpid(), time.Now().UnixNano()%1e9), 1)
	b.Cleanup(func() { _ = testdb.Drop(context.Background(), admin) })
	if err := store.Prepare(ctx, admin); err != nil {
		b.Fatal(err)
	}
	app, err := store.AppURL(admin)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := store.ParseRecordKeys(testKey)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(ctx, app, store.Options{Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	n := 0
	for _, on := range []bool{true, false} {
		verb := map[bool]string{true: "ENABLE", false: "DISABLE"}[on]
		name := map[bool]string{true: "triggers on", false: "triggers off"}[on]
		b.Run(name, func(b *testing.B) {
			for _, tr := range store.ReportTriggers {
				if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s %s TRIGGER %s", tr[0], verb, tr[1])); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n++
				created := start.Add(time.Duration(n) * 7 * time.Minute)
				rc := &rollupCase{at: created, c: workflows.Case{
					Ref: fmt.Sprintf("B%07d", n), Policy: "pa", Status: workflows.StatusOpen, ChildRef: "C1", Category: "communication",
					Summary: "s", CreatedAt: created,
					Stage:      workflows.StageState{Number: 1, Name: "Stage", StartedAt: created, DueAt: created.Add(48 * time.Hour)},
					Raiser:     workflows.Party{Name: "R", Email: "r@x.example", Agency: "nhft"},
					Respondent: workflows.Party{Name: "S", Email: "s@y.example", Agency: "nct"},
					Contacts:   []workflows.Contact{},
				}}
				opened := rc.move(1, workflows.MoveOpened, workflows.EventStageEntered)
				opened.FromStage = 0
				rc.step(b, st, workflows.Event{Type: workflows.EventOpened, Stage: 1}, opened)
				rc.at = rc.at.Add(time.Hour)
				esc := rc.move(2, workflows.MoveEscalated, workflows.EventEscalated)
				entered := esc
				entered.Type, entered.Stage = workflows.EventStageEntered, 2
				rc.step(b, st, esc, entered)
				rc.at = rc.at.Add(48 * time.Hour)
				rc.step(b, st, workflows.Event{Type: workflows.EventDeadlinePassed, Stage: 2})
				rc.at = rc.at.Add(time.Hour)
				yes := true
				at := rc.at
				rc.c.Status, rc.c.ClosedAt = workflows.StatusResolved, &at
				rc.step(b, st, workflows.Event{Type: workflows.EventAgreementConfirm, Stage: 2, Resolved: &yes, ClosedStatus: workflows.StatusResolved})
			}
		})
	}
}
