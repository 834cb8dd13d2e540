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
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
	"go.temporal.io/sdk/client"

	"escalate/internal/egress"
	"escalate/policies"
	"escalate/store"
)

//go:embed openapi.json
var openapiJSON []byte

// maxBody is the contract's limit on request bodies.
const maxBody = 64 << 10

// temporalTimeout bounds how long a request waits for Temporal to answer.
const temporalTimeout = 20 * time.Second

// Server holds the API's dependencies.
type Server struct {
	store     *store.Store
	temporal  client.Client
	policies  *policies.Registry
	namespace string
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
	// webhookAllowPrivate: webhooks may point at private networks.
	webhookAllowPrivate bool
	resolver            egress.Resolver
}

// Config is what New needs.
type Config struct {
	Store      *store.Store
	Temporal   client.Client
	Policies   *policies.Registry
	Namespace  string
	AdminToken string // ESCALATE_ADMIN_TOKEN; empty means no bootstrap admin
	Log        *slog.Logger
	// WritesPerMinute per token on write routes (burst WriteBurst); 0 means
	// no limit.
	WritesPerMinute int
	WriteBurst      int
	// CORSOrigins are the exact origins (ParseOrigins) whose browser pages
	// may call the API; empty means CORS is off.
	CORSOrigins []string
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
}

// New builds the server.
func New(cfg Config) *Server {
	s := &Server{
		store: cfg.Store, temporal: cfg.Temporal, policies: cfg.Policies, namespace: cfg.Namespace,
		log: cfg.Log, now: time.Now, corsOrigins: originSet(cfg.CORSOrigins),
		webhookAllowPrivate: cfg.WebhookAllowPrivate, resolver: cfg.Resolver,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
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

var childRefPattern = regexp.MustCompile(`^[A-Za-z0-9/-]{1,64}$`)

func init() {
	gin.SetMode(gin.ReleaseMode)
	if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			for _, tag := range []string{"json", "form"} {
				if name := strings.SplitN(f.Tag.Get(tag), ",", 2)[0]; name != "" && name != "-" {
					return name
				}
			}
			return f.Name
		})
		_ = v.RegisterValidation("notblank", func(fl validator.FieldLevel) bool {
			return strings.TrimSpace(fl.Field().String()) != ""
		})
		_ = v.RegisterValidation("childref", func(fl validator.FieldLevel) bool {
			return childRefPattern.MatchString(fl.Field().String())
		})
		registerTextRules(v)
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
	r.Use(s.requestID, s.accessLog, s.recover, securityHeaders, s.cleanInput, limitBody)
	r.Use(s.cors)
	r.NoRoute(s.wrap(func(*gin.Context) error { return errNotFound }))
	r.NoMethod(s.wrap(func(*gin.Context) error { return errNotFound }))

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openapiJSON) })
	r.GET("/metrics", s.wrap(s.metrics))

	v1 := r.Group("/v1", s.authenticate, s.rateLimit)
	v1.GET("/policies", s.wrap(s.listPolicies))
	v1.GET("/policies/:id", s.wrap(s.getPolicy))
	v1.POST("/admin/tokens", s.wrap(s.createToken))
	v1.DELETE("/admin/tokens/:id", s.wrap(s.revokeToken))
	v1.GET("/admin/webhooks", s.wrap(s.listWebhooks))
	v1.PUT("/admin/webhooks/:agency", s.wrap(s.putWebhook))
	v1.DELETE("/admin/webhooks/:agency", s.wrap(s.deleteWebhook))
	v1.POST("/cases", s.wrap(s.createCase))
	v1.GET("/cases", s.wrap(s.listCases))
	v1.GET("/cases/:ref", s.wrap(s.getCase))
	v1.GET("/cases/:ref/record", s.wrap(s.getRecord))
	v1.GET("/cases/:ref/record.html", s.wrap(s.getRecordHTML))
	v1.POST("/cases/:ref/notes", s.wrap(s.addNote))
	v1.POST("/cases/:ref/contacts", s.wrap(s.addContact))
	v1.POST("/cases/:ref/escalations", s.wrap(s.escalate))
	v1.POST("/cases/:ref/deadline", s.wrap(s.agreeDeadline))
	v1.POST("/cases/:ref/agreement", s.wrap(s.proposeAgreement))
	v1.POST("/cases/:ref/agreement/confirm", s.wrap(s.confirmAgreement))
	v1.POST("/cases/:ref/agreement/reject", s.wrap(s.rejectAgreement))
	v1.POST("/cases/:ref/withdrawal", s.wrap(s.withdraw))
	v1.POST("/cases/:ref/outcome", s.wrap(s.recordOutcome))
	v1.POST("/cases/:ref/review", s.wrap(s.review))
	v1.POST("/cases/:ref/meetings", s.wrap(s.recordMeeting))
	v1.GET("/reports/summary", s.wrap(s.reportSummary))
	return r
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := s.store.Ping(ctx); err != nil {
		checks["postgres"] = "unavailable"
		ready = false
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"] = "unavailable"
		ready = false
	}
	if !ready {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
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
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
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
