package store

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"

	"escalate/workflows"
)

// ListCasesQuery lets the plan test EXPLAIN the list query as it is built.
var ListCasesQuery = listCasesQuery

// PrepareBefore creates the database and migrates it up to the last
// migration numbered below version, as a database was before that
// migration shipped.
func PrepareBefore(ctx context.Context, dsn string, version uint) error {
	if err := createDatabase(ctx, dsn); err != nil {
		return err
	}
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return err
	}
	var last uint
	for v, err := src.First(); err == nil && v < version; v, err = src.Next(v) {
		last = v
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Migrate(last)
}

// WriteSealV1Record writes a case row and its events as RecordEvents wrote
// them before events carried structured fields (seal version 1, no such
// columns), on a database migrated to before 000013, with the sealing key
// of keys; the structured fields of the events are ignored.
func WriteSealV1Record(ctx context.Context, adminDSN string, keys *RecordKeys, c workflows.Case, events []workflows.Event) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	snap, err := json.Marshal(c)
	if err != nil {
		return err
	}
	key := keys.sealing()
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO cases (ref, policy, status, stage, due_at, urgent, category, raiser_agency, respondent_agency,
			parties, created_at, closed_at, version, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			c.Ref, c.Policy, c.Status, c.Stage.Number, c.Stage.DueAt, c.Urgent, c.Category, c.Raiser.Agency, c.Respondent.Agency,
			c.PartyEmails(), c.CreatedAt, c.ClosedAt, c.Version, snap); err != nil {
			return err
		}
		var id caseIdentity
		if err := tx.QueryRow(ctx, `SELECT policy, coalesce(snapshot->>'child_ref', ''), coalesce(snapshot->>'summary', '')
			FROM cases WHERE ref = $1`, c.Ref).Scan(&id.Policy, &id.ChildRef, &id.Summary); err != nil {
			return err
		}
		var prev []byte
		for _, ev := range events {
			ev = workflows.Event{Seq: ev.Seq, At: ev.At.Truncate(time.Microsecond), Type: ev.Type, Stage: ev.Stage, By: ev.By,
				ByEmail: ev.ByEmail, Text: ev.Text, DueAt: ev.DueAt}
			mac := key.eventMAC(sealV1, prev, c.Ref, ev, id)
			if _, err := tx.Exec(ctx, `INSERT INTO events (ref, seq, run_id, at, type, stage, by_name, by_email, text, due_at, prev_hash, hash, key_id)
				VALUES ($1, $2, 'run-1', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				c.Ref, ev.Seq, ev.At, ev.Type, ev.Stage, ev.By, ev.ByEmail, ev.Text, ev.DueAt, prev, mac, key.id); err != nil {
				return err
			}
			prev = mac
		}
		return sealCase(ctx, tx, key, c.Ref)
	})
}
