// Command history measures the Temporal history of a five-stage case with
// 20 and with 300 notes, as docs/history.md reports it:
//
//	go run ./bench/history [-cli bin/temporal] [-notes 20,300]
//
// It starts a Temporal dev server (the CLI at -cli) with its default limits
// and a worker running the case workflow with stub activities, runs each
// case through the workflow's updates, and measures its history from
// outside (GetWorkflowExecutionHistory, every run of the case).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	cli := flag.String("cli", "bin/temporal", "the Temporal CLI, which runs the dev server")
	list := flag.String("notes", "20,300", "the numbers of notes, comma-separated")
	flag.Parse()
	if err := run(*cli, *list); err != nil {
		fmt.Fprintln(os.Stderr, "history:", err)
		os.Exit(1)
	}
}

func run(cli, list string) error {
	var counts []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return fmt.Errorf("-notes: %q is not a number of notes", f)
		}
		counts = append(counts, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s, err := start(ctx, cli)
	if err != nil {
		return err
	}
	defer s.stop()
	fmt.Printf("%-6s %5s %7s %10s %13s %13s %18s\n", "notes", "runs", "events", "bytes", "max run evts", "max run bytes", "max update result")
	for i, n := range counts {
		sz, err := s.measure(ctx, fmt.Sprintf("BENCH-2026-%05d", i+1), n)
		if err != nil {
			return err
		}
		fmt.Printf("%-6d %5d %7d %10d %13d %13d %18d\n", sz.Notes, sz.Runs, sz.Events, sz.Bytes, sz.MaxRunEvents, sz.MaxRunBytes, sz.MaxUpdateResult)
	}
	return nil
}
