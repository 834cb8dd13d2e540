// Package web is escalate's pages for people: practitioners, managers,
// directors and the partnership's business office, in a browser, often on a
// phone, arriving from a notification's link. The pages sign people in with
// a one-time link mailed to them and hold a server-side session (a cookie,
// never a bearer token); every form carries a CSRF token. They read cases
// through the same rules as the JSON API (package cases, and the store's
// read rule), never through the API over HTTP.
//
// Templates and static files (GOV.UK Frontend, built by make web-assets)
// are embedded in the binary.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/activities"
	"escalate/cases"
	"escalate/internal/clientkey"
	"escalate/internal/textrule"
	"escalate/policies"
	"escalate/store"
)

//go:embed static
var staticFS embed.FS

// Defaults of Config.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	// LinkLifetime is how long a sign-in link works (once).
	LinkLifetime = 15 * time.Minute
)

// Config is what New needs.
type Config struct {
	Store    *store.Store
	Policies *policies.Registry
	// Mailer sends sign-in links; nil: nobody can sign in (the start
	// page says so), because a link is a credential and is never logged.
	Mailer activities.Mailer
	// PublicURL is the base of the links mailed; https makes the cookies
	// Secure and __Host- prefixed.
	PublicURL string
	// IdleTimeout (SESSION_IDLE_TIMEOUT) ends a session not used for that
	// long; MaxAge (SESSION_MAX_AGE) ends every session that long after
	// sign-in, however busy.
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client, for the sign-in limits (as the API's TRUSTED_PROXIES).
	TrustedProxies []string
	Log            *slog.Logger
	// Digests keeps the partnership digest's schedule in step with the
	// meeting dates set on the partnership's pages; nil: escalate setup does.
	Digests DigestScheduler
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Cases is the core the pages raise and act on cases through, the
	// JSON API's own (one rule, one place); nil: the pages only read.
	Cases *cases.Service
	// Observe, when set, records every page request in the process's
	// metrics (by route pattern, never by path: a sign-in link's secret
	// is in its path).
	Observe gin.HandlerFunc
}

// Server serves the pages.
type Server struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	now    func() time.Time
	secure bool
	// cookie names: __Host- prefixed when secure.
	sessionCookie, formCookie string
	// sign-in requests allowed per address and per client address.
	perAddress, perClient *limiter
	// mail sends sign-in links off the request, so that the answer takes
	// the same time whether or not the address is known; at most
	// mailQueue wait, beyond which requests are dropped and logged.
	mail chan signInJob
	wg   sync.WaitGroup
	// sent is called after each sign-in request's mail work (tests).
	sent func()
	// staticVersion is appended to static URLs so a new build is fetched.
	staticVersion string
}

const mailQueue = 64

// New builds the pages' server and starts its mail sender; Close stops it.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Cases == nil {
		// Without Temporal: pages read; every change is "unavailable".
		cfg.Cases = cases.NewService(cases.Config{Store: cfg.Store, Policies: cfg.Policies, Log: cfg.Log, Now: cfg.Now})
	}
	s := &Server{cfg: cfg, st: cfg.Store, log: cfg.Log, now: cfg.Now,
		secure:     strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://"),
		perAddress: newLimiter(signInsPerAddress, signInsPerAddressBurst),
		perClient:  newLimiter(signInsPerClient, signInsPerClientBurst),
		mail:       make(chan signInJob, mailQueue),
	}
	s.sessionCookie, s.formCookie = "escalate_session", "escalate_form"
	if s.secure {
		s.sessionCookie, s.formCookie = "__Host-"+s.sessionCookie, "__Host-"+s.formCookie
	}
	s.staticVersion = staticVersion()
	s.wg.Add(1)
	go s.mailer()
	return s
}

// Close stops the mail sender once the links queued are sent.
func (s *Server) Close() {
	close(s.mail)
	s.wg.Wait()
}

// apiPaths are served by the JSON API (with the Temporal codec endpoint),
// everything else by the pages.
func apiPath(p string) bool {
	switch p {
	case "/v1", "/healthz", "/readyz", "/metrics", "/openapi.json", "/codec":
		return true
	}
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/codec/")
}

// With serves the JSON API's paths (/v1/..., /healthz, /readyz, /metrics,
// /openapi.json) with apiHandler, unchanged, and every other path with the
// pages.
func (s *Server) With(apiHandler http.Handler) http.Handler {
	pages := s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiPath(r.URL.Path) {
			apiHandler.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	})
}

// Handler returns the pages' handler.
func (s *Server) Handler() http.Handler {
	r := gin.New()
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("TRUSTED_PROXIES not usable: trusting no proxy", "error", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = false
	observe := s.cfg.Observe
	if observe == nil {
		observe = func(c *gin.Context) { c.Next() }
	}
	r.Use(s.requestID, s.accessLog, observe, s.recover, s.headers, s.cleanInput, limitBody, s.session, s.checkCSRF)
	r.NoRoute(func(c *gin.Context) { s.errorPage(c, http.StatusNotFound) })

	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	r.GET("/static/*file", func(c *gin.Context) {
		if strings.HasSuffix(c.Param("file"), "/") {
			s.errorPage(c, http.StatusNotFound) // no directory listings
			return
		}
		// Static files are public and change only with a build, whose
		// version their URLs carry.
		c.Header("Cache-Control", "public, max-age=86400")
		fileServer.ServeHTTP(c.Writer, c.Request)
	})

	r.GET("/", s.start)
	r.GET("/sign-in", s.signInForm)
	r.POST("/sign-in", s.requestLink)
	r.GET("/sign-in/link/:token", s.linkPage)
	r.POST("/sign-in/link", s.useLink)
	r.POST("/sign-out", s.signOut)
	r.GET("/signed-out", s.signedOut)
	r.GET("/cases", s.signedIn(s.yourCases))
	r.GET("/cases/:ref", s.signedIn(s.casePage))
	r.GET("/cases/:ref/record", s.signedIn(s.recordPage))
	// Each group of pages registers its own routes: one line a group.
	s.raiseRoutes(r)
	s.actionRoutes(r)
	s.partnershipRoutes(r)
	return r
}

// staticVersion is a short hash of the static files, for their URLs.
func staticVersion() string {
	var b strings.Builder
	_ = fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			b.WriteString(path)
			b.WriteString(info.ModTime().String())
			data, _ := staticFS.ReadFile(path)
			b.Write(data)
		}
		return nil
	})
	sum := sha256Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:4])
}

// ---- middleware ----

const requestIDKey = "request_id"

func (s *Server) requestID(c *gin.Context) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	c.Set(requestIDKey, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// accessLog logs the route, never the path: a sign-in link's secret is in
// its path.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.log.Info("page", "request_id", requestID(c), "method", c.Request.Method, "route", c.FullPath(),
		"status", c.Writer.Status(), "ms", time.Since(start).Milliseconds())
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "request_id", requestID(c), "panic", r)
			s.errorPage(c, http.StatusInternalServerError)
		}
	}()
	c.Next()
}

// pageCSP allows the pages' own stylesheet, script and images and nothing
// else: no inline script, no framing, forms only to this service.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) headers(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.Next()
}

// cleanInput refuses a path with invalid UTF-8 or control characters (404)
// and a query that does not parse or holds them (400), before any handler:
// nothing of that kind reaches PostgreSQL or a page.
func (s *Server) cleanInput(c *gin.Context) {
	if !cleanLine(c.Request.URL.Path) {
		s.errorPage(c, http.StatusNotFound)
		return
	}
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		s.errorPage(c, http.StatusBadRequest)
		return
	}
	for k, vs := range q {
		if !cleanLine(k) {
			s.errorPage(c, http.StatusBadRequest)
			return
		}
		for _, v := range vs {
			if !cleanLine(v) {
				s.errorPage(c, http.StatusBadRequest)
				return
			}
		}
	}
	c.Next()
}

// cleanLine: the one single-line text rule (internal/textrule).
func cleanLine(v string) bool { return textrule.SingleLineProblem(v) == "" }

// maxForm is the largest form body accepted: the pages' forms are small.
const maxForm = 16 << 10

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxForm)
	}
	c.Next()
}

// clientKey is whom sign-in requests are counted against (shared with
// the API's limits).
var clientKey = clientkey.Of

// storeFailed answers a page for a store error: 503 when PostgreSQL did
// not answer, 500 otherwise; the detail goes to the log only.
func (s *Server) storeFailed(c *gin.Context, err error) {
	if storeDown(err) {
		s.unavailable(c, "page: store unavailable", err)
		return
	}
	s.log.Error("page: store", "request_id", requestID(c), "error", err)
	s.errorPage(c, http.StatusInternalServerError)
}

// storeDown: PostgreSQL did not answer (unreachable or timed out).
func storeDown(err error) bool {
	var te *store.TimeoutError
	return store.IsUnavailable(err) || asTimeout(err, &te)
}

// unavailable answers 503 with Retry-After for a dependency that did not
// answer; the detail goes to the log only.
func (s *Server) unavailable(c *gin.Context, msg string, err error) {
	s.log.Warn(msg, "request_id", requestID(c), "error", err)
	c.Header("Retry-After", "5")
	s.errorPage(c, http.StatusServiceUnavailable)
}

// background is the context sign-in mail work runs in: not the request's,
// which ends with the answer.
func background() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
