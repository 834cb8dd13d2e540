package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// A load is one operation run by many clients: closed (each client sends
// its next request when the last is answered) or at a fixed rate (requests
// sent on a schedule whatever the answers, so a slow answer delays nothing
// behind it and shows in the latency, not in a lower rate).

// op runs one operation as client i; an error counts as a failure.
type op func(ctx context.Context, client int) error

type result struct {
	Name      string  `json:"name"`
	Clients   int     `json:"clients,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	OK        int     `json:"ok"`
	Failed    int     `json:"failed"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	FirstErr  string  `json:"first_error,omitempty"`
	// CPU milliseconds per successful operation: this process (API,
	// worker, load) and the dev server.
	SelfCPUms float64 `json:"self_cpu_ms_per_op"`
	DevCPUms  float64 `json:"dev_cpu_ms_per_op"`
	// Temporal RPCs the API made per operation, and their time.
	RPCs string `json:"rpcs,omitempty"`
	// DevCPUTotalMs is the dev server's CPU over the whole measurement,
	// whether or not anything completed.
	DevCPUTotalMs float64 `json:"dev_cpu_total_ms"`
	latencies     []time.Duration
	// from and to are the measured stretch.
	from, to time.Time
}

func (r result) String() string {
	s := fmt.Sprintf("%-28s %5.1f/s  p50 %7.1f ms  p99 %7.1f ms  (%d ok, %d failed in %.0f s)",
		r.Name, r.PerSecond, r.P50ms, r.P99ms, r.OK, r.Failed, r.Seconds)
	s += fmt.Sprintf("  CPU/op: bench %.1f ms, dev server %.1f ms", r.SelfCPUms, r.DevCPUms)
	if r.FirstErr != "" {
		s += "\n      first error: " + r.FirstErr
	}
	if r.RPCs != "" {
		s += "\n      API's Temporal calls per op: " + r.RPCs
	}
	return s
}

// meter and rpcs are set once the system runs (main.go).
var (
	meter cpuMeter
	rpcs  = newRPCTimer()
)

// settle waits until the dev server is nearly idle (under a tenth of a
// core for a second), for at most two minutes: what an earlier
// measurement left running (workflows whose starts timed out, their
// notifications) must not be charged to the next.
func settle() {
	if meter.devPid == 0 {
		return
	}
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); {
		a := procCPU(meter.devPid)
		time.Sleep(time.Second)
		if procCPU(meter.devPid)-a < 100*time.Millisecond {
			return
		}
	}
}

// measure wraps a measured stretch: CPU and the API's Temporal calls.
func measure() func(res *result) {
	before := meter.sample()
	rpcs.reset()
	return func(res *result) {
		after := meter.sample()
		res.DevCPUTotalMs = float64((after.dev - before.dev).Microseconds()) / 1000
		if res.OK > 0 {
			res.SelfCPUms = float64((after.self - before.self).Microseconds()) / 1000 / float64(res.OK)
			res.DevCPUms = float64((after.dev - before.dev).Microseconds()) / 1000 / float64(res.OK)
		}
		res.RPCs = rpcs.perOp(res.OK)
	}
}

type recorder struct {
	mu    sync.Mutex
	lat   []time.Duration
	fail  int
	first error
}

func (r *recorder) run(ctx context.Context, f op, client int) {
	r.runUntil(ctx, time.Time{}, f, client)
}

// runUntil runs f; it counts only if it ends before end (zero: any time).
// A request still running at the end is left to finish, uncounted, so the
// next measurement does not start on the server's backlog of this one.
func (r *recorder) runUntil(ctx context.Context, end time.Time, f op, client int) {
	start := time.Now()
	err := f(ctx, client)
	took := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !end.IsZero() && time.Now().After(end) {
		return
	}
	if err != nil {
		if ctx.Err() != nil {
			return // the run was stopped: neither
		}
		r.fail++
		if r.first == nil {
			r.first = err
		}
		return
	}
	r.lat = append(r.lat, took)
}

func (r *recorder) result(name string, elapsed time.Duration) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := result{Name: name, OK: len(r.lat), Failed: r.fail, Seconds: elapsed.Seconds(), latencies: r.lat}
	if r.first != nil {
		res.FirstErr = r.first.Error()
	}
	res.PerSecond = float64(res.OK) / elapsed.Seconds()
	res.P50ms, res.P99ms, res.MaxMs = percentileMs(r.lat, 0.50), percentileMs(r.lat, 0.99), percentileMs(r.lat, 1)
	return res
}

func percentileMs(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return math.NaN()
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	return float64(s[i].Microseconds()) / 1000
}

// closedLoop runs f from clients clients for d after a warm-up. At the
// end no client sends again, and the requests still running are waited
// for (uncounted), so each measurement starts on a quiet server.
func closedLoop(ctx context.Context, name string, clients int, warmup, d time.Duration, f op) result {
	settle()
	if warmup > 0 {
		runClosed(ctx, clients, time.Now().Add(warmup), f, &recorder{})
	}
	rec := &recorder{}
	done := measure()
	start := time.Now()
	end := start.Add(d)
	runClosed(ctx, clients, end, f, rec)
	res := rec.result(name, d)
	done(&res)
	res.Clients = clients
	res.from, res.to = start, end
	return res
}

// opTimeout bounds one request, well past any measurement's end.
const opTimeout = 3 * time.Minute

func runClosed(ctx context.Context, clients int, end time.Time, f op, rec *recorder) {
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				octx, cancel := context.WithTimeout(ctx, opTimeout)
				rec.runUntil(octx, end, f, i)
				cancel()
			}
		}(i)
	}
	wg.Wait()
}

// fixedRate sends rate requests a second for d, each on its own goroutine,
// and waits for them all (an answer after the end still counts).
func fixedRate(ctx context.Context, name string, rate float64, d time.Duration, f op) result {
	rec := &recorder{}
	interval := time.Duration(float64(time.Second) / rate)
	n := int(rate * d.Seconds())
	var wg sync.WaitGroup
	settle()
	done := measure()
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rec.run(context.WithoutCancel(ctx), f, i)
		}(i)
	}
	wg.Wait()
	res := rec.result(name, d)
	done(&res)
	res.Rate = rate
	return res
}

// countedLoop runs f per times from each of clients clients (k counts
// 0..per-1), one after another per client, and measures the whole.
func countedLoop(ctx context.Context, name string, clients, per int, f func(ctx context.Context, client, k int) error) result {
	rec := &recorder{}
	var wg sync.WaitGroup
	settle()
	done := measure()
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k < per && ctx.Err() == nil; k++ {
				rec.run(ctx, func(ctx context.Context, i int) error { return f(ctx, i, k) }, i)
			}
		}(i)
	}
	wg.Wait()
	res := rec.result(name, time.Since(start))
	done(&res)
	res.Clients = clients
	return res
}

// Interleaved rounds. On a machine others share, a long block of escalate
// followed by a long block of the engine measures whatever else ran during
// each block as much as either side. The bench measures both in short
// rounds instead, alternating which goes first (A B, B A, A B, ...), and
// reports the median of the per-round ratios with their spread: a burst
// from another build falls on one round, not on one side.

// interleave runs each measurement once per round, rotating which goes
// first, and returns the results by measurement, then by round.
func interleave(ctx context.Context, rounds int, measurements ...func(round int) result) [][]result {
	out := make([][]result, len(measurements))
	for r := 0; r < rounds && ctx.Err() == nil; r++ {
		for k := range measurements {
			i := (k + r) % len(measurements)
			out[i] = append(out[i], measurements[i](r))
		}
	}
	return out
}

// pooled is one side's rounds as one result: operations and time added
// up, latencies merged, CPU per operation over all of them.
func pooled(name string, rs []result) result {
	p := result{Name: name}
	var self, dev float64
	for _, r := range rs {
		p.Clients, p.Rate = r.Clients, r.Rate
		p.OK += r.OK
		p.Failed += r.Failed
		p.Seconds += r.Seconds
		p.latencies = append(p.latencies, r.latencies...)
		self += r.SelfCPUms * float64(r.OK)
		dev += r.DevCPUms * float64(r.OK)
		if p.FirstErr == "" {
			p.FirstErr = r.FirstErr
		}
		p.RPCs = r.RPCs
	}
	if p.Seconds > 0 {
		p.PerSecond = float64(p.OK) / p.Seconds
	}
	p.P50ms, p.P99ms, p.MaxMs = percentileMs(p.latencies, 0.50), percentileMs(p.latencies, 0.99), percentileMs(p.latencies, 1)
	if p.OK > 0 {
		p.SelfCPUms, p.DevCPUms = self/float64(p.OK), dev/float64(p.OK)
	}
	return p
}

// perRound is f(a's round, b's round) for each round both measured.
func perRound(a, b []result, f func(a, b result) float64) []float64 {
	var out []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		out = append(out, f(a[i], b[i]))
	}
	return out
}

// median and spread (min, max) of values, NaN ones left out.
func medianSpread(vals []float64) (med, lo, hi float64) {
	var s []float64
	for _, v := range vals {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	sort.Float64s(s)
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return med, s[0], s[len(s)-1]
}
