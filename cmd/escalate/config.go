package main

import (
	"escalate/cases"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"escalate/api"
	"escalate/codec"
	"escalate/policies"
	"escalate/store"
	"escalate/web"
)

// config is everything read from the environment, with the contract's defaults.
type config struct {
	HTTPAddr          string
	DatabaseURL       string
	TemporalAddress   string // empty: dev starts its own server
	TemporalNamespace string
	PolicyDir         string
	AdminToken        string
	SMTPURL           string
	SMTPFrom          string
	PublicURL         string
	WritesPerMinute   int
	WriteBurst        int
	MaxInFlight       int
	TemporalUIPort    int
	TemporalPort      int
	TemporalCLI       string
	DevDir            string
	MailDev           string // MailDev's executable, for dev
	MailDevSMTPPort   int
	MailDevWebPort    int
	LogFormat         string
	CORSOrigins       []string // CORS_ORIGINS; empty: CORS is off
	// MetricsAddr is where a worker-only process serves /metrics (the SDK's
	// worker metrics); empty: it serves none. The API serves /metrics on
	// HTTP_ADDR.
	MetricsAddr string
	// WebhookAllowPrivate (WEBHOOK_ALLOW_PRIVATE): webhooks may point at
	// loopback, private and other non-public addresses.
	WebhookAllowPrivate bool
	// AuthFailuresPerMinute, AuthFailureBurst: failed authentications per
	// client address (0: no limit).
	AuthFailuresPerMinute int
	AuthFailureBurst      int
	// TrustedProxies (TRUSTED_PROXIES): reverse proxies whose
	// X-Forwarded-For names the client; empty: none.
	TrustedProxies []string
	// DatabaseAppURL is the API's and the worker's login, which must not be
	// able to change the record; empty: DatabaseURL's host and database with
	// store.AppRole as the user. DatabaseURL is the administrator's, used
	// only to create and migrate the database.
	DatabaseAppURL string
	// DatabaseTimeout bounds each store call; DatabaseRecordTimeout the
	// transaction that writes a step of a case.
	DatabaseTimeout       time.Duration
	DatabaseRecordTimeout time.Duration
	// SessionIdleTimeout and SessionMaxAge end the pages' sessions: when
	// unused that long, and that long after sign-in however busy.
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	// RecordKey seals the record (store.ParseRecordKeys); dev keeps one in
	// DEV_DIR/record-key.
	RecordKey string

	policies *policies.Registry   // loaded at start by dev and api
	metrics  *prometheus.Registry // the process's registry, made by runServices

	// Set by loadTemporalCodec (codec.go), for dev, api and worker.
	codec              *codec.Codec // CODEC_KEYS: every Temporal client encrypts with it
	temporalUIOrigin   string       // TEMPORAL_UI_ORIGIN: the one browser origin allowed to call /codec
	codecTrustsLocalUI bool         // dev only: the UI's pages on this machine may use /codec without a token
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func loadConfig() (config, error) {
	c := config{
		HTTPAddr:          env("HTTP_ADDR", "127.0.0.1:8080"),
		DatabaseURL:       env("DATABASE_URL", store.DefaultURL),
		TemporalAddress:   env("TEMPORAL_ADDRESS", ""),
		TemporalNamespace: env("TEMPORAL_NAMESPACE", "default"),
		PolicyDir:         env("POLICY_DIR", ""),
		AdminToken:        env("ESCALATE_ADMIN_TOKEN", ""),
		SMTPURL:           env("SMTP_URL", ""),
		SMTPFrom:          env("SMTP_FROM", "escalate@localhost"),
		TemporalCLI:       env("TEMPORAL_CLI", "bin/temporal"),
		DevDir:            env("DEV_DIR", ".dev"),
		MailDev:           env("MAILDEV", ".dev/maildev/node_modules/.bin/maildev"),
		LogFormat:         env("LOG_FORMAT", "text"),
		MetricsAddr:       env("METRICS_ADDR", ""),
		DatabaseAppURL:    env("DATABASE_APP_URL", ""),
		RecordKey:         env("RECORD_KEY", ""),
	}
	var err error
	if c.TemporalUIPort, err = strconv.Atoi(env("TEMPORAL_UI_PORT", "8233")); err != nil {
		return c, fmt.Errorf("TEMPORAL_UI_PORT: %w", err)
	}
	if c.WritesPerMinute, err = strconv.Atoi(env("RATE_LIMIT_PER_MINUTE", "300")); err != nil || c.WritesPerMinute < 0 {
		return c, fmt.Errorf("RATE_LIMIT_PER_MINUTE: want a whole number of writes per minute per token (0: no limit)")
	}
	if c.WriteBurst, err = strconv.Atoi(env("RATE_LIMIT_BURST", "100")); err != nil || c.WriteBurst < 0 {
		return c, fmt.Errorf("RATE_LIMIT_BURST: want a whole number")
	}
	if c.MaxInFlight, err = strconv.Atoi(env("MAX_CHANGES_IN_FLIGHT", strconv.Itoa(cases.DefaultMaxInFlight))); err != nil || c.MaxInFlight < 1 {
		return c, fmt.Errorf("MAX_CHANGES_IN_FLIGHT: want a whole number of case starts and actions at Temporal at once, 1 or more")
	}
	if c.AuthFailuresPerMinute, err = strconv.Atoi(env("AUTH_FAILURES_PER_MINUTE", "10")); err != nil || c.AuthFailuresPerMinute < 0 {
		return c, fmt.Errorf("AUTH_FAILURES_PER_MINUTE: want a whole number of failed authentications per minute per client address (0: no limit)")
	}
	if c.AuthFailureBurst, err = strconv.Atoi(env("AUTH_FAILURES_BURST", "20")); err != nil || c.AuthFailureBurst < 0 {
		return c, fmt.Errorf("AUTH_FAILURES_BURST: want a whole number")
	}
	if c.TrustedProxies, err = api.ParseTrustedProxies(env("TRUSTED_PROXIES", "")); err != nil {
		return c, err
	}
	if c.MailDevSMTPPort, err = strconv.Atoi(env("MAILDEV_SMTP_PORT", "1025")); err != nil {
		return c, fmt.Errorf("MAILDEV_SMTP_PORT: %w", err)
	}
	if c.MailDevWebPort, err = strconv.Atoi(env("MAILDEV_WEB_PORT", "1080")); err != nil {
		return c, fmt.Errorf("MAILDEV_WEB_PORT: %w", err)
	}
	if c.TemporalPort, err = strconv.Atoi(env("TEMPORAL_PORT", "7233")); err != nil {
		return c, fmt.Errorf("TEMPORAL_PORT: %w", err)
	}
	if c.WebhookAllowPrivate, err = strconv.ParseBool(env("WEBHOOK_ALLOW_PRIVATE", "false")); err != nil {
		return c, fmt.Errorf("WEBHOOK_ALLOW_PRIVATE: want true or false")
	}
	if c.DatabaseTimeout, err = positiveDuration("DATABASE_TIMEOUT", store.DefaultTimeout); err != nil {
		return c, err
	}
	if c.DatabaseRecordTimeout, err = positiveDuration("DATABASE_RECORD_TIMEOUT", store.DefaultRecordTimeout); err != nil {
		return c, err
	}
	if c.SessionIdleTimeout, err = positiveDuration("SESSION_IDLE_TIMEOUT", web.DefaultIdleTimeout); err != nil {
		return c, err
	}
	if c.SessionMaxAge, err = positiveDuration("SESSION_MAX_AGE", web.DefaultMaxAge); err != nil {
		return c, err
	}
	if c.SessionIdleTimeout > c.SessionMaxAge {
		return c, fmt.Errorf("SESSION_IDLE_TIMEOUT (%s) is longer than SESSION_MAX_AGE (%s): a session never lives past its maximum age", c.SessionIdleTimeout, c.SessionMaxAge)
	}
	c.PublicURL = env("PUBLIC_URL", "http://"+c.HTTPAddr)
	if c.CORSOrigins, err = api.ParseOrigins(env("CORS_ORIGINS", "")); err != nil {
		return c, err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("LOG_FORMAT %q: use text or json", c.LogFormat)
	}
	return c, nil
}

func positiveDuration(key string, def time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(env(key, def.String()))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: want a duration such as 5s", key)
	}
	return d, nil
}

// appURL is the login the API and the worker use.
func (c config) appURL() (string, error) {
	if c.DatabaseAppURL != "" {
		return c.DatabaseAppURL, nil
	}
	return store.AppURL(c.DatabaseURL)
}

// recordKeys are the keys that seal the record. The API and the worker do
// not start without them: a record they cannot seal is one that anybody
// with access to the database could rewrite unnoticed.
func (c config) recordKeys() (*store.RecordKeys, error) {
	if c.RecordKey == "" {
		return nil, fmt.Errorf("RECORD_KEY is unset: the API and the worker seal the record with it; give %d random bytes, "+
			"hex or base64 (openssl rand -hex 32), the same to both, kept out of the database's reach "+
			"(escalate dev makes one in DEV_DIR/record-key)", store.MinRecordKeyBytes)
	}
	return store.ParseRecordKeys(c.RecordKey)
}

func newLogger(c config) *slog.Logger {
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}
