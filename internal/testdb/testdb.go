// Package testdb is for tests only: it removes the databases tests create.
// The service itself never drops a database.
package testdb

import (
	"context"

	"github.com/jackc/pgx/v5"
)

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
