// Command escalate is the whole service in one binary:
//
//	escalate dev      Temporal dev server (unless TEMPORAL_ADDRESS), database, worker and API
//	escalate api      the HTTP API
//	escalate worker   the Temporal worker
//	escalate migrate  create the database if missing and apply migrations
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"escalate/policies"
)

const usage = `usage: escalate <command>

commands:
  dev       run everything on this machine: a Temporal dev server with its Web UI
            (unless TEMPORAL_ADDRESS is set), the database, the worker and the API
  api       run the HTTP API
  worker    run the Temporal worker
  migrate   create the database if missing and apply migrations, then exit

configuration is read from the environment; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "escalate:", err)
		os.Exit(2)
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	if cmd := os.Args[1]; cmd == "dev" || cmd == "api" {
		// Refuse bad policy files before starting anything, each mistake
		// on its own line with file, line, field and fix.
		if cfg.policies, err = policies.Load(cfg.PolicyDir); err != nil {
			fmt.Fprintf(os.Stderr, "escalate: the policy files were refused:\n%v\n", err)
			os.Exit(2)
		}
	}
	if cmd := os.Args[1]; cmd == "dev" || cmd == "api" || cmd == "worker" {
		// Nothing reaches Temporal unencrypted: no keys, no start.
		if err := loadTemporalCodec(&cfg, cmd == "dev", log); err != nil {
			fmt.Fprintln(os.Stderr, "escalate:", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, cfg, log)
	case "api":
		err = runServices(ctx, cfg, log, false, true)
	case "worker":
		err = runServices(ctx, cfg, log, true, false)
	case "migrate":
		err = runMigrate(ctx, cfg, log)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "escalate: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("escalate stopped", "error", err)
		os.Exit(1)
	}
}
