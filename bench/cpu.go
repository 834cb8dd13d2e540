package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// CPU time spent per operation is steadier than wall time on a shared
// machine: the bench reads its own process's (API, worker and load
// generator) and the dev server's from /proc around each measurement.

// clockTicks is USER_HZ, 100 on every Linux the bench runs on.
const clockTicks = 100

// procCPU is a process's user+system CPU time.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * time.Second / clockTicks
}

// procRSS is a process's resident set and its peak, in MiB.
func procRSS(pid int) (rss, peak float64) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// findPid is the process whose command line contains needle (the dev
// server's: its database file is in the bench's own directory), other
// than the bench's own (and `go run`'s), whose -temporal-process flag may
// name it too.
func findPid(needle string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		line := strings.ReplaceAll(string(raw), "\x00", " ")
		if strings.Contains(line, needle) && !strings.Contains(line, "-temporal-process") {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}

// cpuMeter samples the two processes' CPU.
type cpuMeter struct{ devPid int }

type cpuSample struct{ self, dev time.Duration }

func (m cpuMeter) sample() cpuSample {
	return cpuSample{self: procCPU(os.Getpid()), dev: procCPU(m.devPid)}
}

// rpcTimer adds up the time each Temporal gRPC method takes, as the API's
// client sees it: where a start's time goes.
type rpcTimer struct {
	mu    sync.Mutex
	total map[string]time.Duration
	count map[string]int
	// failed counts the calls that failed, by method and gRPC code
	// (a start Temporal did not confirm in time is retried by the SDK).
	failed map[string]int
}

func newRPCTimer() *rpcTimer {
	return &rpcTimer{total: map[string]time.Duration{}, count: map[string]int{}, failed: map[string]int{}}
}

func (t *rpcTimer) interceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		t.mu.Lock()
		name := method[strings.LastIndexByte(method, '/')+1:]
		t.total[name] += time.Since(start)
		t.count[name]++
		if err != nil {
			t.failed[name+" "+status.Code(err).String()]++
		}
		t.mu.Unlock()
		return err
	}
}

func (t *rpcTimer) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total, t.count, t.failed = map[string]time.Duration{}, map[string]int{}, map[string]int{}
}

// perOp is each method's calls and milliseconds per operation.
func (t *rpcTimer) perOp(ops int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	prefix := ""
	if ops == 0 {
		if len(t.count) == 0 {
			return ""
		}
		// Nothing completed: the calls in all, not per operation.
		ops, prefix = 1, "none completed; in all: "
	}
	names := make([]string, 0, len(t.total))
	for n := range t.total {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return t.total[names[i]] > t.total[names[j]] })
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f× %.1f ms", n, float64(t.count[n])/float64(ops),
			float64(t.total[n].Microseconds())/1000/float64(ops)))
	}
	var failed []string
	for k, n := range t.failed {
		failed = append(failed, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(failed)
	if len(failed) > 0 {
		parts = append(parts, "failed calls: "+strings.Join(failed, ", "))
	}
	return prefix + strings.Join(parts, "; ")
}

// wftMeter reads the SDK's worker metrics (client.Options.MetricsHandler
// of the workers' client) for what the dev server's CPU alone does not
// show: how long workflow tasks waited to be picked up (schedule-to-start),
// how often a worker had to rebuild a workflow from its whole history
// (sticky cache misses: a task that went to the normal queue, or a
// workflow evicted), and failed tasks. Escalate's workflow and the
// engine's are told apart by the workflow_type tag.
type wftMeter struct {
	mu   sync.Mutex
	tags map[string]string
	root *wftMeter
	// by workflow type, then metric name
	counts map[string]map[string]int64
	waits  map[string][]time.Duration // schedule-to-start
}

func newWFTMeter() *wftMeter {
	m := &wftMeter{counts: map[string]map[string]int64{}, waits: map[string][]time.Duration{}}
	m.root = m
	return m
}

func (m *wftMeter) WithTags(t map[string]string) client.MetricsHandler {
	tags := map[string]string{}
	for k, v := range m.tags {
		tags[k] = v
	}
	for k, v := range t {
		tags[k] = v
	}
	return &wftMeter{tags: tags, root: m.root}
}

func (m *wftMeter) Counter(name string) client.MetricsCounter {
	wt := m.tags["workflow_type"]
	return counterFunc(func(d int64) {
		r := m.root
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.counts[wt] == nil {
			r.counts[wt] = map[string]int64{}
		}
		r.counts[wt][name] += d
	})
}

func (m *wftMeter) Gauge(string) client.MetricsGauge { return client.MetricsNopHandler.Gauge("") }

func (m *wftMeter) Timer(name string) client.MetricsTimer {
	wt := m.tags["workflow_type"]
	return timerFunc(func(d time.Duration) {
		r := m.root
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.counts[wt] == nil {
			r.counts[wt] = map[string]int64{}
		}
		r.counts[wt][name+"_count"]++
		if name == "temporal_workflow_task_schedule_to_start_latency" && len(r.waits[wt]) < 1_000_000 {
			r.waits[wt] = append(r.waits[wt], d)
		}
	})
}

// reset starts a measurement; the function it returns says, for the
// workflow type that ran the most tasks since, the tasks' schedule-to-start
// p50, p99 and max, and the cache misses and failures per task.
func (m *wftMeter) reset() func() string {
	if m == nil {
		return func() string { return "no SDK metrics" }
	}
	m.mu.Lock()
	m.counts, m.waits = map[string]map[string]int64{}, map[string][]time.Duration{}
	m.mu.Unlock()
	return func() string {
		m.mu.Lock()
		defer m.mu.Unlock()
		top, most := "", 0
		for wt, w := range m.waits {
			if len(w) > most {
				top, most = wt, len(w)
			}
		}
		if most == 0 {
			return "no workflow tasks"
		}
		c := m.counts[top]
		tasks := float64(most)
		return fmt.Sprintf("%s: %d workflow tasks, schedule-to-start p50 %.0f ms p99 %.0f ms max %.0f ms; per task: sticky cache misses %.3f, failed %.3f",
			top, most, percentileMs(m.waits[top], 0.5), percentileMs(m.waits[top], 0.99), percentileMs(m.waits[top], 1),
			float64(c["temporal_sticky_cache_miss"])/tasks,
			float64(c["temporal_workflow_task_execution_failed"])/tasks)
	}
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
