// Package metrics holds escalate's Prometheus registry parts that more than
// one process kind uses: the Temporal SDK's worker and client metrics.
package metrics

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkLabels are the tags the Temporal Go SDK puts on its metrics. Every SDK
// metric carries all of them (empty where a tag was not given), because a
// Prometheus metric has one fixed set of labels; a tag outside this list is
// dropped.
var sdkLabels = []string{"namespace", "task_queue", "worker_type", "poller_type", "workflow_type", "activity_type",
	"operation", "failure_reason", "cause", "nexus_service", "nexus_operation", "client_name"}

// sdkBuckets are latency buckets (seconds) for the SDK's timers: task
// schedule-to-start and execution latencies, from milliseconds to minutes.
var sdkBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// SDK is a client.MetricsHandler that records the Temporal SDK's metrics
// (task slots, poller counts, schedule-to-start latency, activity and
// workflow task failures, requests) in a Prometheus registry.
type SDK struct {
	vecs *sdkVecs
	tags map[string]string
}

type sdkVecs struct {
	reg      prometheus.Registerer
	mu       sync.Mutex
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	timers   map[string]*prometheus.HistogramVec
}

var _ client.MetricsHandler = (*SDK)(nil)

// NewSDK records the SDK's metrics in reg.
func NewSDK(reg prometheus.Registerer) *SDK {
	return &SDK{vecs: &sdkVecs{reg: reg, counters: map[string]*prometheus.CounterVec{},
		gauges: map[string]*prometheus.GaugeVec{}, timers: map[string]*prometheus.HistogramVec{}}}
}

// WithTags returns a handler whose metrics carry tags as well.
func (h *SDK) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &SDK{vecs: h.vecs, tags: merged}
}

func (h *SDK) labels() prometheus.Labels {
	l := make(prometheus.Labels, len(sdkLabels))
	for _, k := range sdkLabels {
		l[k] = h.tags[k]
	}
	return l
}

// Counter is a Prometheus counter of the SDK's name with _total.
func (h *SDK) Counter(name string) client.MetricsCounter {
	v := h.vecs.counter(promName(name) + "_total")
	c := v.With(h.labels())
	return counterFunc(func(d int64) {
		if d > 0 {
			c.Add(float64(d))
		}
	})
}

// Gauge is a Prometheus gauge of the SDK's name.
func (h *SDK) Gauge(name string) client.MetricsGauge {
	g := h.vecs.gauge(promName(name)).With(h.labels())
	return gaugeFunc(g.Set)
}

// Timer is a Prometheus histogram, in seconds, of the SDK's name.
func (h *SDK) Timer(name string) client.MetricsTimer {
	o := h.vecs.timer(promName(name) + "_seconds").With(h.labels())
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

func (v *sdkVecs) counter(name string) *prometheus.CounterVec {
	return vecFor(v, v.counters, name, func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK counter " + name + "."}, sdkLabels)
	})
}

func (v *sdkVecs) gauge(name string) *prometheus.GaugeVec {
	return vecFor(v, v.gauges, name, func() *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name + "."}, sdkLabels)
	})
}

func (v *sdkVecs) timer(name string) *prometheus.HistogramVec {
	return vecFor(v, v.timers, name, func() *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK latency " + name + ".",
			Buckets: sdkBuckets}, sdkLabels)
	})
}

// vecFor is the metric vector of name in vecs, made and registered on
// first use (or the one already registered under that name).
func vecFor[V prometheus.Collector](v *sdkVecs, vecs map[string]V, name string, make func() V) V {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vec, ok := vecs[name]; ok {
		return vec
	}
	vecs[name] = register(v.reg, make()).(V)
	return vecs[name]
}

// register adds c to reg, or returns the collector already registered
// under its name (a second client in the same process shares it).
func register(reg prometheus.Registerer, c prometheus.Collector) prometheus.Collector {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			return are.ExistingCollector
		}
		panic(err) // a name clash with a different shape: a programming error
	}
	return c
}

// promName makes an SDK metric name a valid Prometheus name.
func promName(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, name)
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		name = "_" + name
	}
	return name
}

// SDKLabels lists the labels every SDK metric carries, sorted (for docs).
func SDKLabels() []string {
	out := append([]string(nil), sdkLabels...)
	sort.Strings(out)
	return out
}
