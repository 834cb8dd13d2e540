// Package api serves the HTTP contract of ../shared/spec/api.md with Gin.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"escalate/cases"
	"escalate/internal/egress"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

//go:embed openapi.json
var openapiJSON []byte

// maxBody is the contract's limit on request bodies.
const maxBody = 64 << 10

// Server holds the API's dependencies.
type Server struct {
	store     *store.Store
	temporal  client.Client
	policies  *policies.Registry
	adminHash []byte
	log       *slog.Logger
	now       func() time.Time
	limits    *limiter
	// authFails counts failed authentications per client address.
	authFails *limiter
	// trustedProxies may say, in X-Forwarded-For, whom they forward.
	trustedProxies []string
	// corsOrigins are the origins CORS_ORIGINS allows; none: CORS is off.
	corsOrigins map[string]bool
	// metrics is the registry /metrics serves; http records requests in it.
	metrics *prometheus.Registry
	http    *httpMetrics
	// webhookAllowPrivate: webhooks may point at private networks.
	webhookAllowPrivate bool
	resolver            egress.Resolver
	// codec serves /codec (codec.go); uiOrigin is the one browser origin
	// allowed there; codecTrustsLocalUI lets that origin in from loopback
	// without a token (escalate dev only).
	codec              converter.PayloadCodec
	uiOrigin           string
	codecTrustsLocalUI bool
	sessions           func(*http.Request) (cases.Principal, bool)
	// cases is the core that starts cases and acts on them.
	cases *cases.Service
}

// Config is what New needs.
type Config struct {
	Store      *store.Store
	Temporal   client.Client
	Policies   *policies.Registry
	AdminToken string // ESCALATE_ADMIN_TOKEN; empty means no bootstrap admin
	Log        *slog.Logger
	// WritesPerMinute per token on write routes (burst WriteBurst); 0 means
	// no limit.
	WritesPerMinute int
	WriteBurst      int
	// CORSOrigins are the exact origins (ParseOrigins) whose browser pages
	// may call the API; empty means CORS is off.
	CORSOrigins []string
	// Metrics is the process's Prometheus registry, served at /metrics (a
	// process that also runs the worker registers the SDK's metrics in
	// it); nil: the API makes its own.
	Metrics *prometheus.Registry
	// WebhookAllowPrivate (WEBHOOK_ALLOW_PRIVATE) lets an admin set a
	// webhook whose host is or resolves to an address that is not public
	// (loopback, private, link-local, ...); the worker's poster must be
	// given the same. Off, such a webhook is a 400.
	WebhookAllowPrivate bool
	// Resolver looks up webhook hosts; nil is net.DefaultResolver.
	Resolver egress.Resolver
	// AuthFailuresPerMinute per client address (burst AuthFailureBurst):
	// beyond them every /v1 request from that address is a 429 until the
	// budget refills; 0 means no limit.
	AuthFailuresPerMinute int
	AuthFailureBurst      int
	// TrustedProxies (ParseTrustedProxies) are the reverse proxies whose
	// X-Forwarded-For names the client; none: the connection's peer is
	// the client, whatever headers say.
	TrustedProxies []string
	// Codec is the payload codec every Temporal client uses; the API reads
	// memos through it and serves it at POST /codec/encode and
	// /codec/decode to admins. Nil: memos are read plain and /codec is 404.
	Codec converter.PayloadCodec
	// TemporalUIOrigin is the Temporal Web UI's origin: the one browser
	// origin allowed to call /codec. Empty: none.
	TemporalUIOrigin string
	// CodecTrustsLocalUI (escalate dev only, whose Web UI has no sign-in):
	// a /codec request from TemporalUIOrigin over a loopback connection
	// needs no token.
	CodecTrustsLocalUI bool
	// Sessions, when set, names the person signed in to the pages with a
	// request's session cookie: an admin's session may use /codec, so the
	// Web UI (set to include credentials) decodes for a signed-in operator.
	Sessions func(*http.Request) (cases.Principal, bool)
	// MaxInFlight (MAX_CHANGES_IN_FLIGHT) is how many case starts and
	// actions this process has at Temporal at once; the rest queue for up
	// to AdmitWait, then answer 503 with nothing changed (cases/admit.go).
	// 0 is cases.DefaultMaxInFlight, negative no limit.
	MaxInFlight int
	AdmitWait   time.Duration
}

// New builds the server.
func New(cfg Config) *Server {
	s := &Server{
		store: cfg.Store, temporal: cfg.Temporal, policies: cfg.Policies,
		log: cfg.Log, now: time.Now, corsOrigins: originSet(cfg.CORSOrigins),
		webhookAllowPrivate: cfg.WebhookAllowPrivate, resolver: cfg.Resolver,
		codec: cfg.Codec, uiOrigin: strings.ToLower(cfg.TemporalUIOrigin), codecTrustsLocalUI: cfg.CodecTrustsLocalUI, sessions: cfg.Sessions,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = prometheus.NewRegistry()
	}
	s.cases = cases.NewService(cases.Config{Store: cfg.Store, Temporal: cfg.Temporal, Policies: cfg.Policies, Log: s.log,
		Now: func() time.Time { return s.now() }, DataConverter: s.dataConverter(),
		MaxInFlight: cfg.MaxInFlight, AdmitWait: cfg.AdmitWait})
	s.http = newHTTPMetrics(s.metrics)
	s.metrics.MustRegister(newCaseCollector(cfg.Store, s.now))
	s.metrics.MustRegister(newGateCollector(s.cases))
	if cfg.WritesPerMinute > 0 {
		burst := cfg.WriteBurst
		if burst <= 0 {
			burst = cfg.WritesPerMinute
		}
		s.limits = newLimiter(cfg.WritesPerMinute, burst, 0)
	}
	if cfg.AuthFailuresPerMinute > 0 {
		s.authFails = newLimiter(cfg.AuthFailuresPerMinute, cfg.AuthFailureBurst, 0)
	}
	s.trustedProxies = cfg.TrustedProxies
	if cfg.AdminToken != "" {
		h := sha256.Sum256([]byte(cfg.AdminToken))
		s.adminHash = h[:]
	}
	return s
}

var childRefPattern = cases.ChildRefPattern

func init() {
	gin.SetMode(gin.ReleaseMode)
	if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
		// The field rules are the core's, which the pages apply too.
		cases.RegisterRules(v)
	}
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	r := gin.New()
	// Gin trusts every peer's X-Forwarded-For by default: anyone could
	// then pick the address failed authentications count against.
	if err := r.SetTrustedProxies(s.trustedProxies); err != nil {
		s.log.Error("TRUSTED_PROXIES not usable: trusting no proxy", "error", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.Use(s.requestID, s.accessLog, s.http.observe, s.recover, securityHeaders, s.cleanInput, limitBody)
	r.Use(s.cors)
	r.NoRoute(s.wrap(func(*gin.Context) error { return errNotFound }))
	r.NoMethod(s.wrap(func(*gin.Context) error { return errNotFound }))

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openapiJSON) })
	r.GET("/metrics", metricsHandler(s.metrics))

	codec := r.Group("/codec", s.codecOrigin)
	codec.OPTIONS("/encode")
	codec.OPTIONS("/decode")
	codec.POST("/encode", s.codecAuthenticate, s.wrap(s.codecEncode))
	codec.POST("/decode", s.codecAuthenticate, s.wrap(s.codecDecode))

	v1 := r.Group("/v1", s.authenticate, s.rateLimit)
	v1.GET("/policies", s.wrap(s.listPolicies))
	v1.GET("/policies/:id", s.wrap(s.getPolicy))
	v1.POST("/admin/tokens", s.wrap(s.createToken))
	v1.GET("/admin/tokens", s.wrap(s.listTokens))
	v1.DELETE("/admin/tokens/:id", s.wrap(s.revokeToken))
	v1.GET("/admin/webhooks", s.wrap(s.listWebhooks))
	v1.PUT("/admin/webhooks/:agency", s.wrap(s.putWebhook))
	v1.DELETE("/admin/webhooks/:agency", s.wrap(s.deleteWebhook))
	v1.POST("/admin/policies/:policy/closures", s.wrap(s.addClosure))
	v1.GET("/admin/policies/:policy/closures", s.wrap(s.listClosures))
	v1.POST("/cases", s.wrap(s.createCase))
	v1.GET("/cases", s.wrap(s.listCases))
	v1.GET("/cases/:ref", s.wrap(s.getCase))
	v1.GET("/cases/:ref/record", s.wrap(s.getRecord))
	v1.GET("/cases/:ref/record.html", s.wrap(s.getRecordHTML))
	v1.POST("/cases/:ref/notes", s.wrap(s.addNote))
	v1.POST("/cases/:ref/contacts", s.wrap(s.addContact))
	v1.POST("/cases/:ref/escalations", s.wrap(s.escalate))
	v1.POST("/cases/:ref/deadline", s.wrap(s.agreeDeadline))
	v1.POST("/cases/:ref/deadline/confirm", s.wrap(s.confirmDeadline))
	v1.POST("/cases/:ref/agreement", s.wrap(s.proposeAgreement))
	v1.POST("/cases/:ref/agreement/confirm", s.wrap(s.confirmAgreement))
	v1.POST("/cases/:ref/agreement/reject", s.wrap(s.rejectAgreement))
	v1.POST("/cases/:ref/withdrawal", s.wrap(s.withdraw))
	v1.POST("/cases/:ref/outcome", s.wrap(s.recordOutcome))
	v1.POST("/cases/:ref/review", s.wrap(s.review))
	v1.POST("/cases/:ref/meetings", s.wrap(s.recordMeeting))
	v1.GET("/reports/summary", s.wrap(s.reportSummary))
	v1.GET("/notifications", s.wrap(s.undelivered))
	return r
}

// readyCheckTimeout is each readiness check's own budget: a dependency
// that hangs is named as unavailable without holding up or being blamed
// for the others.
const readyCheckTimeout = 2 * time.Second

// workerFresh is how recently a worker must have polled the task queue to
// count as serving it (a poll waits up to a minute on an idle queue).
const workerFresh = 2 * time.Minute

// readyz answers 200 only when PostgreSQL and Temporal answer and a worker
// polls the cases' task queue (without one no deadline fires and no action
// is recorded); otherwise 503 naming what is not ready. The checks run at
// once, each within its own budget.
func (s *Server) readyz(c *gin.Context) {
	ctx := c.Request.Context()
	var postgres, temporal, worker string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		pctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
		defer cancel()
		postgres = "ok"
		if err := s.store.Ping(pctx); err != nil {
			s.log.WarnContext(ctx, "not ready", "request_id", requestID(c), "dependency", "postgres", "error", err)
			postgres = "unavailable"
		}
	}()
	go func() {
		defer wg.Done()
		tctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
		defer cancel()
		temporal, worker = "ok", "polling"
		if _, err := s.temporal.CheckHealth(tctx, &client.CheckHealthRequest{}); err != nil {
			s.log.WarnContext(ctx, "not ready", "request_id", requestID(c), "dependency", "temporal", "error", err)
			temporal, worker = "unavailable", "unknown"
			return
		}
		polling, err := s.workerPolling(tctx)
		switch {
		case err != nil:
			s.log.WarnContext(ctx, "not ready", "request_id", requestID(c), "dependency", "worker", "error", err)
			worker = "unknown"
		case !polling:
			worker = "none"
		}
	}()
	wg.Wait()
	checks := gin.H{"postgres": postgres, "temporal": temporal, "worker": worker}
	if postgres != "ok" || temporal != "ok" || worker != "polling" {
		c.Header("Retry-After", "5")
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
}

// workerPolling reports whether a worker has lately polled the task queue
// for both workflow and activity tasks.
func (s *Server) workerPolling(ctx context.Context) (bool, error) {
	for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := s.temporal.DescribeTaskQueue(ctx, workflows.TaskQueue, typ)
		if err != nil {
			return false, err
		}
		fresh := false
		for _, p := range resp.GetPollers() {
			if t := p.GetLastAccessTime(); t != nil && s.now().Sub(t.AsTime()) < workerFresh {
				fresh = true
				break
			}
		}
		if !fresh {
			return false, nil
		}
	}
	return true, nil
}

// ---- middleware ----

const requestIDKey = "request_id"

// requestIDPattern is a client's X-Request-ID that is echoed: printable
// ASCII without spaces or quotes, at most 64; any other is replaced.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:/+=@-]{1,64}$`)

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !requestIDPattern.MatchString(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.log.Info("http", "request_id", requestID(c), "method", c.Request.Method, "route", c.FullPath(),
		"status", c.Writer.Status(), "ms", time.Since(start).Milliseconds())
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "request_id", requestID(c), "panic", r)
			s.writeError(c, errInternal)
		}
	}()
	c.Next()
}

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	c.Next()
}

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		limit := int64(maxBody)
		if strings.HasPrefix(c.Request.URL.Path, codecPrefix) {
			limit = codecMaxBody
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	c.Next()
}

// ---- policies ----

func (s *Server) listPolicies(c *gin.Context) error {
	c.JSON(http.StatusOK, s.policies.All())
	return nil
}

func (s *Server) getPolicy(c *gin.Context) error {
	p, ok := s.policies.Get(c.Param("id"))
	if !ok {
		return errNotFound
	}
	c.JSON(http.StatusOK, p)
	return nil
}
