// Command escalate is the whole service in one binary:
//
//	escalate dev      Temporal dev server (unless TEMPORAL_ADDRESS), database, worker and API
//	escalate api      the HTTP API
//	escalate worker   the Temporal worker
//	escalate migrate  create the database if missing and apply migrations
//	escalate setup    register escalate's search attributes and digest schedules in the Temporal namespace
//	escalate drift    report cases open in one of PostgreSQL and Temporal and closed in the other
//	                  ("drift repair" closes the records whose workflow ended in Temporal)
//	escalate healthcheck api|worker   a container's health check
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
  setup     register escalate's search attributes and digest schedules in the Temporal namespace
            (idempotent; once per namespace before the workers start), then exit
  drift     report every case open in PostgreSQL whose workflow has ended in
            Temporal (terminated, cancelled, failed, missing) and every running
            workflow whose case is closed or missing; exits 1 if any remains
  drift repair
            the same, then close the records of the cases whose workflow ended,
            with a last event saying who ended it in Temporal and why
  healthcheck api|worker
            exit 0 if this host's API answers /healthz, or a worker on this
            host polls the cases' task queue (container health checks)

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
	if cmd := os.Args[1]; cmd == "dev" || cmd == "api" || cmd == "setup" {
		// Refuse bad policy files before starting anything (setup puts
		// them in the digest schedules), each mistake
		// on its own line with file, line, field and fix.
		if cfg.policies, err = policies.Load(cfg.PolicyDir); err != nil {
			fmt.Fprintf(os.Stderr, "escalate: the policy files were refused:\n%v\n", err)
			os.Exit(2)
		}
	}
	if cmd := os.Args[1]; dialsTemporal(cmd) {
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
	case "setup":
		err = runSetup(ctx, cfg, log)
	case "drift":
		err = runDrift(ctx, cfg, log, len(os.Args) > 2 && os.Args[2] == "repair")
	case "healthcheck":
		what := ""
		if len(os.Args) > 2 {
			what = os.Args[2]
		}
		if err = runHealthcheck(ctx, cfg, what); err != nil {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
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

// dialsTemporal: the commands that connect to Temporal, and so need its
// codec (every client encrypts).
func dialsTemporal(cmd string) bool {
	switch cmd {
	case "dev", "api", "worker", "setup", "drift":
		return true
	}
	return false
}
