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

	"google.golang.org/grpc"
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
// server's: its database file is in the bench's own directory).
func findPid(needle string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(raw), "\x00", " "), needle) {
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
}

func newRPCTimer() *rpcTimer {
	return &rpcTimer{total: map[string]time.Duration{}, count: map[string]int{}}
}

func (t *rpcTimer) interceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		t.mu.Lock()
		name := method[strings.LastIndexByte(method, '/')+1:]
		t.total[name] += time.Since(start)
		t.count[name]++
		t.mu.Unlock()
		return err
	}
}

func (t *rpcTimer) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total, t.count = map[string]time.Duration{}, map[string]int{}
}

// perOp is each method's calls and milliseconds per operation.
func (t *rpcTimer) perOp(ops int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ops == 0 {
		return ""
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
	return strings.Join(parts, "; ")
}
