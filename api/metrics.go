package api

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"escalate/cases"
	"escalate/store"
)

// metricsTimeout bounds the database reads of one scrape.
const metricsTimeout = 5 * time.Second

// httpMetrics count the API's requests by route and status, with their
// latency.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "escalate_http_requests_total",
			Help: "HTTP requests answered, by method, route (as registered) and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "escalate_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe is the middleware that records every request. Unknown paths are
// one route, "unmatched", so a scanner cannot grow the label set.
func (m *httpMetrics) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	m.latency.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
}

// caseCollector reads, at each scrape, the counts /metrics serves from
// PostgreSQL: notifications by channel and status (failed ones ran out of
// attempts), cases by policy and status, and open cases by stage and
// overdue. Counts only: nothing about a case or a person.
type caseCollector struct {
	store *store.Store
	now   func() time.Time

	up, notifications, failed, waiting, cases, overdue, open *prometheus.Desc
}

func newCaseCollector(st *store.Store, now func() time.Time) *caseCollector {
	return &caseCollector{store: st, now: now,
		up: prometheus.NewDesc("escalate_store_up", "1 if this scrape could read the counts below from PostgreSQL.", nil, nil),
		notifications: prometheus.NewDesc("escalate_notifications",
			"Notifications recorded, by channel and delivery status (failed: no attempts left).", []string{"channel", "status"}, nil),
		failed: prometheus.NewDesc("escalate_notifications_failed",
			"Notifications that could not be delivered after every attempt.", nil, nil),
		waiting: prometheus.NewDesc("escalate_notifications_waiting_seconds",
			"How long the notification waiting longest for the worker's dispatcher has been due (0: none is); growing, no dispatcher is running or it cannot keep up.", nil, nil),
		cases:   prometheus.NewDesc("escalate_cases", "Cases by policy and status.", []string{"policy", "status"}, nil),
		overdue: prometheus.NewDesc("escalate_cases_overdue", "Open cases past their stage deadline, by policy.", []string{"policy"}, nil),
		open: prometheus.NewDesc("escalate_cases_open", "Open cases by policy, stage and whether the stage is past its deadline.",
			[]string{"policy", "stage", "overdue"}, nil),
	}
}

func (cc *caseCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cc.up, cc.notifications, cc.failed, cc.waiting, cc.cases, cc.overdue, cc.open} {
		ch <- d
	}
}

func (cc *caseCollector) Collect(ch chan<- prometheus.Metric) {
	if cc.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	notes, err := cc.store.NotificationCounts(ctx)
	var cases []store.CaseCount
	if err == nil {
		cases, err = cc.store.CaseCounts(ctx, cc.now())
	}
	var open []store.OpenStageCount
	if err == nil {
		open, err = cc.store.OpenStageCounts(ctx, cc.now())
	}
	var waiting time.Duration
	if err == nil {
		waiting, err = cc.store.DispatchWaiting(ctx)
	}
	if err != nil {
		ch <- prometheus.MustNewConstMetric(cc.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(cc.up, prometheus.GaugeValue, 1)
	var failed int64
	for _, n := range notes {
		ch <- prometheus.MustNewConstMetric(cc.notifications, prometheus.GaugeValue, float64(n.Count), n.Channel, n.Status)
		if n.Status == store.NoteFailed {
			failed += n.Count
		}
	}
	ch <- prometheus.MustNewConstMetric(cc.failed, prometheus.GaugeValue, float64(failed))
	ch <- prometheus.MustNewConstMetric(cc.waiting, prometheus.GaugeValue, waiting.Seconds())
	overdue := map[string]int64{}
	var order []string
	for _, c := range cases {
		ch <- prometheus.MustNewConstMetric(cc.cases, prometheus.GaugeValue, float64(c.Count), c.Policy, c.Status)
		if _, ok := overdue[c.Policy]; !ok {
			order = append(order, c.Policy)
		}
		overdue[c.Policy] += c.Overdue
	}
	for _, p := range order {
		ch <- prometheus.MustNewConstMetric(cc.overdue, prometheus.GaugeValue, float64(overdue[p]), p)
	}
	for _, o := range open {
		ch <- prometheus.MustNewConstMetric(cc.open, prometheus.GaugeValue, float64(o.Count), o.Policy, strconv.Itoa(o.Stage),
			strconv.FormatBool(o.Overdue))
	}
}

// metricsHandler serves the registry in the Prometheus text format: the
// API's own metrics, the counts above and, in a process that also runs the
// worker, the Temporal SDK's worker metrics.
func metricsHandler(reg prometheus.Gatherer) gin.HandlerFunc {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// ObserveHTTP is the middleware that records a request in this server's
// HTTP metrics, for the people's pages served beside the API: they count
// in the same series, by route pattern (never a path, which can carry a
// sign-in link's secret).
func (s *Server) ObserveHTTP() gin.HandlerFunc { return s.http.observe }

// Cases is the core this server starts and acts on cases through, for the
// pages served beside it (one rule, one place).
func (s *Server) Cases() *cases.Service { return s.cases }

// gateCollector reports the queue of changes waiting for Temporal
// (cases/admit.go): a queue that stays long, or refusals that grow, say
// Temporal is not keeping up with the changes sent to it.
type gateCollector struct {
	cases                    *cases.Service
	inFlight, waiting, limit *prometheus.Desc
	refused                  *prometheus.Desc
}

func newGateCollector(cs *cases.Service) *gateCollector {
	return &gateCollector{cases: cs,
		inFlight: prometheus.NewDesc("escalate_changes_in_flight", "Case starts and actions sent to Temporal and not yet answered.", nil, nil),
		waiting:  prometheus.NewDesc("escalate_changes_waiting", "Case starts and actions queued for room at Temporal.", nil, nil),
		limit:    prometheus.NewDesc("escalate_changes_in_flight_max", "The most changes this process sends to Temporal at once (0: no limit).", nil, nil),
		refused: prometheus.NewDesc("escalate_changes_refused_total",
			"Case starts and actions refused (503, nothing changed) after waiting in vain for room at Temporal.", nil, nil),
	}
}

func (gc *gateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{gc.inFlight, gc.waiting, gc.limit, gc.refused} {
		ch <- d
	}
}

func (gc *gateCollector) Collect(ch chan<- prometheus.Metric) {
	g := gc.cases.Gate()
	ch <- prometheus.MustNewConstMetric(gc.inFlight, prometheus.GaugeValue, float64(g.InFlight))
	ch <- prometheus.MustNewConstMetric(gc.waiting, prometheus.GaugeValue, float64(g.Waiting))
	ch <- prometheus.MustNewConstMetric(gc.limit, prometheus.GaugeValue, float64(g.Max))
	ch <- prometheus.MustNewConstMetric(gc.refused, prometheus.CounterValue, float64(g.Refused))
}
