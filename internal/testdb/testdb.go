// Package testdb is for tests only: it removes the databases tests create.
// The service itself never drops a database.
package testdb

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/store"
)

// Fresh creates and migrates (store.Prepare) a database of its own for one
// test (New) and returns its administrator's URL.
func Fresh(t testing.TB, prefix string) string {
	t.Helper()
	dsn := New(t, prefix)
	if err := store.Prepare(context.Background(), dsn); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return dsn
}

// New names a database of its own for one test, after prefix, on the
// server TEST_DATABASE_URL names (its "postgres" database replaced), to be
// created by whoever prepares it, and drops it when the test ends.
func New(t testing.TB, prefix string) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	dsn := strings.Replace(base, "/postgres?", fmt.Sprintf("/%s_%d_%d?", prefix, os.Getpid(), time.Now().UnixNano()%1e9), 1)
	t.Cleanup(func() { _ = Drop(context.Background(), dsn) })
	return dsn
}

// Drop removes the database named in dsn (connecting to the server's
// "postgres" database to do so), even while connections to it remain.
func Drop(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
