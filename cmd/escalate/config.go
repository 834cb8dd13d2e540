package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"escalate/api"
	"escalate/codec"
	"escalate/policies"
	"escalate/store"
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
	TemporalUIPort    int
	TemporalPort      int
	TemporalCLI       string
	DevDir            string
	MailDev           string // MailDev's executable, for dev
	MailDevSMTPPort   int
	MailDevWebPort    int
	LogFormat         string
	CORSOrigins       []string // CORS_ORIGINS; empty: CORS is off

	policies *policies.Registry // loaded at start by dev and api

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
	if c.MailDevSMTPPort, err = strconv.Atoi(env("MAILDEV_SMTP_PORT", "1025")); err != nil {
		return c, fmt.Errorf("MAILDEV_SMTP_PORT: %w", err)
	}
	if c.MailDevWebPort, err = strconv.Atoi(env("MAILDEV_WEB_PORT", "1080")); err != nil {
		return c, fmt.Errorf("MAILDEV_WEB_PORT: %w", err)
	}
	if c.TemporalPort, err = strconv.Atoi(env("TEMPORAL_PORT", "7233")); err != nil {
		return c, fmt.Errorf("TEMPORAL_PORT: %w", err)
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

func newLogger(c config) *slog.Logger {
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}
