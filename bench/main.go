// Command bench measures escalate beside the Temporal engine it runs on, in
// one run on one dev server, and prints every figure as a ratio to the
// engine's (or to the figure before it): the machines it runs on are shared
// and noisy, so a bare time says little and a ratio measured side by side
// says what escalate adds. `make bench` runs it at sizes that finish in a
// few minutes; `make bench FULL=1` at the sizes docs/performance.md names.
//
//	go run ./bench -phases starts,fixed,actions,storm,memory,report
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	sdkworker "go.temporal.io/sdk/worker"

	"escalate/worker"
)

type options struct {
	phases      string
	clients     string
	duration    time.Duration
	warmup      time.Duration
	rate        float64
	rateFor     time.Duration
	actionCases int
	storm       int
	memory      int
	reportCases int
	temporalCLI string
	// temporalAddress and temporalProcess: a Temporal server the bench
	// did not start, and what its command line contains (for its CPU).
	temporalAddress string
	temporalProcess string
	databaseURL     string
	out             string
	profile         string
	keep            bool
	rounds          int
}

func main() {
	if role := os.Getenv("ESCALATE_BENCH_ROLE"); role != "" {
		// The bench runs itself again as a worker process whose memory
		// it reads (memory.go).
		if err := runRole(role); err != nil {
			fmt.Fprintln(os.Stderr, "bench "+role+":", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.phases, "phases", "starts,fixed,actions,storm,memory,report", "what to measure, comma-separated: starts, fixed, actions, storm, memory, report")
	flag.StringVar(&o.clients, "clients", "16,64", "closed-loop client counts for starts")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "each closed-loop measurement (each round's; starts: at 16 clients, longer in proportion beyond)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each closed-loop measurement")
	flag.IntVar(&o.rounds, "rounds", 4, "rounds of starts, fixed and actions: escalate and the engine take turns, and each ratio is the median of the rounds'")
	flag.Float64Var(&o.rate, "rate", 20, "the fixed-rate measurement's starts a second")
	flag.DurationVar(&o.rateFor, "rate-for", 30*time.Second, "how long the fixed-rate measurement sends")
	flag.IntVar(&o.actionCases, "action-cases", 8, "cases each of 16 clients agrees on in the agreement measurement")
	flag.IntVar(&o.storm, "storm", 200, "open cases whose deadline falls at one instant (full: 5000)")
	flag.IntVar(&o.memory, "memory", 300, "open cases while the worker's memory is read (full: 10000)")
	flag.IntVar(&o.reportCases, "report-cases", 100000, "cases seeded with COPY for the oversight report (full: 1000000)")
	flag.StringVar(&o.temporalCLI, "temporal-cli", "bin/temporal", "the Temporal CLI that runs the dev server")
	flag.StringVar(&o.temporalAddress, "temporal-address", os.Getenv("BENCH_TEMPORAL_ADDRESS"), "a running Temporal server's frontend (host:port, namespace default) to measure on instead of a dev server of the bench's own (default $BENCH_TEMPORAL_ADDRESS; make bench-server starts the real server on PostgreSQL and sets it)")
	flag.StringVar(&o.temporalProcess, "temporal-process", os.Getenv("BENCH_TEMPORAL_PROCESS"), "with -temporal-address: a string in the server's command line, to find its process and read its CPU (default $BENCH_TEMPORAL_PROCESS)")
	flag.StringVar(&o.databaseURL, "database-url", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL: the bench creates a fresh database beside this one and drops it after")
	flag.StringVar(&o.out, "out", "", "also write the results as JSON to this file")
	flag.StringVar(&o.profile, "profile", "", "write CPU profiles of this process (API, worker and load) for each start measurement into this directory")
	flag.BoolVar(&o.keep, "keep", false, "keep the dev server's file and the database")
	flag.IntVar(&tryPollersWF, "wf-pollers", 0, "try this many workflow task pollers (0: escalate's setting)")
	flag.IntVar(&tryPollersAct, "act-pollers", 0, "try this many activity task pollers (0: escalate's setting)")
	flag.IntVar(&tryCache, "cache", 0, "try this sticky workflow cache size (0: escalate's setting)")
	flag.Parse()
	// escalate's cache size, as worker.New sets it, unless -cache tries
	// another (the engine's worker in this process shares it).
	sdkworker.SetStickyWorkflowCacheSize(worker.StickyCacheSize)
	if tryCache > 0 {
		sdkworker.SetStickyWorkflowCacheSize(tryCache)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// report is everything one run measured, with the conditions it ran in.
type report struct {
	Started    time.Time          `json:"started"`
	Commit     string             `json:"commit"`
	GoVersion  string             `json:"go_version"`
	CPUs       int                `json:"cpus"`
	LoadBefore string             `json:"load_before"`
	LoadAfter  string             `json:"load_after"`
	Command    string             `json:"command"`
	Results    []result           `json:"results"`
	Ratios     map[string]float64 `json:"ratios"`
	// Spreads are the lowest and highest round's ratio of each ratio
	// measured in rounds (its median is in Ratios).
	Spreads map[string][2]float64 `json:"spreads,omitempty"`
	Notes   []string              `json:"notes"`
}

func (r *report) ratio(name string, v float64) {
	r.Ratios[name] = v
	fmt.Printf("  ratio %-44s %6.2f\n", name, v)
}

// ratioRounds records the median of per-round ratios, with their spread.
func (r *report) ratioRounds(name string, vals []float64) {
	med, lo, hi := medianSpread(vals)
	r.Ratios[name] = med
	if r.Spreads == nil {
		r.Spreads = map[string][2]float64{}
	}
	r.Spreads[name] = [2]float64{lo, hi}
	fmt.Printf("  ratio %-44s %6.2f  (rounds %.2f–%.2f, n=%d)\n", name, med, lo, hi, len(vals))
}

// ratiosOf records the usual ratios of a (escalate) against b (the
// engine's), measured in rounds: rate, p50, p99, and the dev server's and
// the bench's CPU per operation. what names the operation ("starts"),
// other the engine's side ("same-shape"), at the load ("16").
func (r *report) ratiosOf(what, other, at string, a, b []result) {
	name := func(figure string) string { return fmt.Sprintf("%s API÷%s @%s", figure, other, at) }
	r.ratioRounds(name(what+"/s"), perRound(a, b, func(a, b result) float64 { return safeDiv(a.PerSecond, b.PerSecond) }))
	r.ratioRounds(name("p50"), perRound(a, b, func(a, b result) float64 { return safeDiv(a.P50ms, b.P50ms) }))
	r.ratioRounds(name("p99"), perRound(a, b, func(a, b result) float64 { return safeDiv(a.P99ms, b.P99ms) }))
	r.ratioRounds(name("dev-server CPU/op"), perRound(a, b, func(a, b result) float64 { return safeDiv(a.DevCPUms, b.DevCPUms) }))
	r.ratioRounds(name("bench CPU/op"), perRound(a, b, func(a, b result) float64 { return safeDiv(a.SelfCPUms, b.SelfCPUms) }))
}

func (r *report) add(res result) result {
	r.Results = append(r.Results, res)
	fmt.Println("  " + res.String())
	return res
}

func (r *report) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.Notes = append(r.Notes, s)
	fmt.Println("  " + s)
}

func run(ctx context.Context, o options) error {
	rep := &report{Started: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		LoadBefore: loadavg(), Command: strings.Join(os.Args, " "), Ratios: map[string]float64{}}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		rep.Commit = strings.TrimSpace(string(out))
	}
	phases := map[string]bool{}
	for _, p := range strings.Split(o.phases, ",") {
		phases[strings.TrimSpace(p)] = true
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	polDir, err := os.MkdirTemp("", "escalate-bench-policies-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(polDir)
	if err := benchPolicies(repo, polDir); err != nil {
		return err
	}
	fmt.Printf("bench %s on %d CPUs, load %s\n", rep.Commit, rep.CPUs, rep.LoadBefore)
	sys, err := startSystem(ctx, systemConfig{temporalCLI: o.temporalCLI, temporalAddress: o.temporalAddress, databaseURL: o.databaseURL, policyDir: polDir, apiWorker: true})
	if sys != nil {
		defer sys.close(o.keep)
	}
	if err != nil {
		return err
	}
	serverNeedle := filepath.Join(sys.dir, "temporal.db")
	if o.temporalAddress != "" {
		serverNeedle = o.temporalProcess
		rep.note("Temporal: the server at %s, not a dev server of the bench's own (\"dev-server CPU\" below is that server's)", o.temporalAddress)
	}
	if serverNeedle != "" {
		meter = cpuMeter{devPid: findPid(serverNeedle)}
	}
	if meter.devPid == 0 {
		rep.note("the Temporal server's process was not found: its CPU is not measured")
	}
	if o.keep {
		fmt.Printf("dev server file and logs in %s, database %s\n", sys.dir, redactURL(sys.dsn))
	}
	clients := []int{}
	for _, c := range strings.Split(o.clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-clients: %q", c)
		}
		clients = append(clients, n)
	}
	most := 64
	for _, c := range clients {
		most = max(most, c)
	}
	b, err := newBench(sys, most)
	if err != nil {
		return err
	}

	var apiRate float64 // starts a second through the API at the most clients
	if phases["starts"] {
		if apiRate, err = b.starts(ctx, o, rep, clients); err != nil {
			return err
		}
	}
	if phases["fixed"] {
		b.fixed(ctx, o, rep)
	}
	if phases["actions"] {
		if err := b.actions(ctx, o, rep); err != nil {
			return err
		}
	}
	if phases["storm"] {
		if err := b.stormPhase(ctx, o, rep, apiRate); err != nil {
			return err
		}
	}
	if phases["memory"] {
		if err := b.memoryPhase(ctx, o, rep); err != nil {
			return err
		}
	}
	if phases["report"] {
		if err := b.reportPhase(ctx, o, rep); err != nil {
			return err
		}
	}
	rep.LoadAfter = loadavg()
	fmt.Printf("load after: %s\n", rep.LoadAfter)
	if o.out != "" {
		// JSON has no NaN: a figure nothing completed for is -1.
		for k, v := range rep.Ratios {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				rep.Ratios[k] = -1
			}
		}
		for i := range rep.Results {
			r := &rep.Results[i]
			for _, f := range []*float64{&r.PerSecond, &r.P50ms, &r.P99ms, &r.MaxMs, &r.SelfCPUms, &r.DevCPUms} {
				if math.IsNaN(*f) || math.IsInf(*f, 0) {
					*f = -1
				}
			}
		}
		raw, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.out, raw, 0o644); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// starts: case starts through the API beside the engine's update-with-start
// of the same shape, closed loop, in interleaved rounds; then the engine's
// plain starts once.
func (b *bench) starts(ctx context.Context, o options, rep *report, clients []int) (apiRate float64, err error) {
	fmt.Printf("starts, closed loop, %d rounds\n", o.rounds)
	apiStart := func(ctx context.Context, i int) error { _, err := b.startCase(ctx, i, nil); return err }
	sameStart := func(ctx context.Context, i int) error { _, err := b.engineStart(ctx, nil); return err }
	for _, n := range clients {
		// A closed loop on a saturated server takes as much longer per
		// request as it has more clients: the rounds grow with them, so
		// each client still completes about as many starts in one.
		scale := time.Duration(max(1, n/16))
		warmup, duration := o.warmup*scale, o.duration*scale
		var perr error
		rounds := interleave(ctx, o.rounds,
			func(r int) result {
				stop, err := startProfile(o.profile, fmt.Sprintf("starts-api-%d-round%d.pprof", n, r+1))
				if err != nil {
					perr = err
					stop = func() {}
				}
				defer stop()
				b.recent.take(0)
				takeTally()
				wft := b.sys.wftStats.reset()
				res := closedLoop(ctx, fmt.Sprintf("API start, %d clients, round %d", n, r+1), n, warmup, duration, apiStart)
				rep.add(res)
				rep.note("    escalate's worker: %s", wft())
				rep.note("    %s", b.taskTrouble(ctx, 20))
				rep.note("    %s", b.casesOpened(ctx, res))
				rep.note("    escalate logged (warnings and errors): %s", takeTally())
				return res
			},
			func(r int) result {
				b.recent.take(0)
				wft := b.sys.wftStats.reset()
				res := closedLoop(ctx, fmt.Sprintf("engine same-shape, %d clients, round %d", n, r+1), n, warmup, duration, sameStart)
				rep.add(res)
				rep.note("    engine's worker: %s", wft())
				rep.note("    %s", b.taskTrouble(ctx, 20))
				return res
			})
		if perr != nil {
			return 0, perr
		}
		api := rep.add(pooled(fmt.Sprintf("API start, %d clients, all rounds", n), rounds[0]))
		same := rep.add(pooled(fmt.Sprintf("engine same-shape, %d clients, all rounds", n), rounds[1]))
		plain := rep.add(closedLoop(ctx, fmt.Sprintf("engine plain start, %d clients", n), n, warmup, duration,
			func(ctx context.Context, i int) error { return b.plainStart(ctx) }))
		at := fmt.Sprint(n)
		rep.ratiosOf("starts", "same-shape", at, rounds[0], rounds[1])
		rep.ratio(fmt.Sprintf("starts/s API (all rounds)÷plain @%d", n), api.PerSecond/plain.PerSecond)
		rep.ratio(fmt.Sprintf("p99 API (all rounds)÷plain @%d", n), api.P99ms/plain.P99ms)
		apiRate = api.PerSecond
		if b.sameRate == 0 {
			b.sameRate = same.PerSecond
		}
	}
	// What one start leaves in Temporal: the history the dev server writes
	// and every later workflow task of the case replays.
	c, err := b.startCase(ctx, 0, nil)
	if err != nil {
		return 0, err
	}
	id, err := b.engineStart(ctx, nil)
	if err != nil {
		return 0, err
	}
	time.Sleep(2 * time.Second) // the opening's notifications sent
	ours, err := b.history(ctx, c.Ref)
	if err != nil {
		return 0, err
	}
	theirs, err := b.history(ctx, id)
	if err != nil {
		return 0, err
	}
	rep.note("history after a start: escalate %d events, %d bytes; engine same-shape %d events, %d bytes",
		ours.events, ours.bytes, theirs.events, theirs.bytes)
	rep.note("  escalate's, event by event: %s", ours.detail)
	rep.note("  the engine's, event by event: %s", theirs.detail)
	rep.ratio("history events after a start: API÷same-shape", float64(ours.events)/float64(theirs.events))
	rep.ratio("history bytes after a start: API÷same-shape", float64(ours.bytes)/float64(theirs.bytes))
	return apiRate, ctx.Err()
}

// fixed: starts at a fixed rate, the API beside the engine's same shape,
// in interleaved rounds; and, where the rate asked for is more than this
// machine's engine can take (a shared machine may be far slower than a
// server), again at half the engine's closed-loop capacity measured just
// before.
func (b *bench) fixed(ctx context.Context, o options, rep *report) {
	rates := []float64{o.rate}
	if half := math.Floor(b.sameRate / 2); b.sameRate > 0 && half < o.rate {
		rep.note("the engine's same-shape capacity here is %.1f starts/s: also measured at half of it, %.0f/s", b.sameRate, max(half, 1))
		rates = append(rates, max(half, 1))
	}
	each := max(o.rateFor/time.Duration(max(o.rounds, 1)), 5*time.Second)
	for _, rate := range rates {
		fmt.Printf("starts at a fixed %.0f a second, %d rounds of %v\n", rate, o.rounds, each)
		rounds := interleave(ctx, o.rounds,
			func(r int) result {
				return rep.add(fixedRate(ctx, fmt.Sprintf("API start @%.0f/s, round %d", rate, r+1), rate, each,
					func(ctx context.Context, i int) error { _, err := b.startCase(ctx, i, nil); return err }))
			},
			func(r int) result {
				return rep.add(fixedRate(ctx, fmt.Sprintf("engine same-shape @%.0f/s, round %d", rate, r+1), rate, each,
					func(ctx context.Context, i int) error { _, err := b.engineStart(ctx, nil); return err }))
			})
		rep.add(pooled(fmt.Sprintf("API start @%.0f/s, all rounds", rate), rounds[0]))
		rep.add(pooled(fmt.Sprintf("engine same-shape @%.0f/s, all rounds", rate), rounds[1]))
		rep.ratiosOf("done", "same-shape", fmt.Sprintf("%.0f/s", rate), rounds[0], rounds[1])
	}
}

// actions: a note, and an agreement (proposed by one side, confirmed by
// the other), beside raw updates of an engine workflow, in interleaved
// rounds.
func (b *bench) actions(ctx context.Context, o options, rep *report) error {
	const clients = 16
	fmt.Printf("actions, closed loop, %d clients, %d rounds\n", clients, o.rounds)
	refs := make([]string, clients)
	engines := make([]string, clients)
	for i := range refs {
		c, err := b.startCase(ctx, i, nil)
		if err != nil {
			return err
		}
		refs[i] = c.Ref
		if engines[i], err = b.engineStart(ctx, nil); err != nil {
			return err
		}
	}
	loop := func(name string, f op) func(r int) result {
		return func(r int) result {
			return rep.add(closedLoop(ctx, fmt.Sprintf("%s, round %d", name, r+1), clients, o.warmup, o.duration, f))
		}
	}
	notes := interleave(ctx, o.rounds,
		loop("API note", func(ctx context.Context, i int) error { return b.note(ctx, i, refs[i]) }),
		loop("engine update, one activity", func(ctx context.Context, i int) error { return b.engineTouch(ctx, engines[i], true) }),
		loop("engine update, no activity", func(ctx context.Context, i int) error { return b.engineTouch(ctx, engines[i], false) }))
	rep.add(pooled("API note, all rounds", notes[0]))
	rep.add(pooled("engine update, one activity, all rounds", notes[1]))
	rep.add(pooled("engine update, no activity, all rounds", notes[2]))
	rep.ratiosOf("notes", "same-shape update", "16", notes[0], notes[1])
	rep.ratiosOf("notes", "raw update", "16", notes[0], notes[2])

	// Agreements close their case: each client gets cases of its own,
	// made before each round.
	per := max(o.actionCases/max(o.rounds, 1), 1)
	agreements := interleave(ctx, o.rounds,
		func(r int) result {
			agreeRefs := make([][]string, clients)
			for i := range agreeRefs {
				for k := 0; k < per; k++ {
					c, err := b.startCase(ctx, i, nil)
					if err != nil {
						return result{Name: "API agreement: cases not opened", FirstErr: err.Error(), P50ms: math.NaN(), P99ms: math.NaN()}
					}
					agreeRefs[i] = append(agreeRefs[i], c.Ref)
				}
			}
			return rep.add(countedLoop(ctx, fmt.Sprintf("API agreement (propose+confirm), round %d", r+1), clients, per,
				func(ctx context.Context, i, k int) error { return b.agree(ctx, i, agreeRefs[i][k]) }))
		},
		func(r int) result {
			return rep.add(countedLoop(ctx, fmt.Sprintf("engine two updates, one activity each, round %d", r+1), clients, per,
				func(ctx context.Context, i, k int) error {
					if err := b.engineTouch(ctx, engines[i], true); err != nil {
						return err
					}
					return b.engineTouch(ctx, engines[i], true)
				}))
		})
	rep.add(pooled("API agreement (propose+confirm), all rounds", agreements[0]))
	rep.add(pooled("engine two updates, one activity each, all rounds", agreements[1]))
	rep.ratiosOf("agreements", "two same-shape updates", "16", agreements[0], agreements[1])
	return ctx.Err()
}

func startProfile(dir, name string) (stop func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
