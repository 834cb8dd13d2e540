package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"escalate/internal/egress"
)

// Webhook request headers. An agency checks the signature by computing
// HMAC-SHA256 under its secret over "<timestamp>.<body>" and comparing it,
// in constant time, with the hex after "sha256=".
const (
	HeaderSignature = "X-Escalate-Signature"
	HeaderTimestamp = "X-Escalate-Timestamp"
	HeaderDelivery  = "X-Escalate-Delivery" // the same on every attempt: receivers drop repeats
	HeaderEvent     = "X-Escalate-Event"
)

// Sign returns the signature header value of body sent at timestamp.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookPoster posts signed JSON to agencies' webhooks.
type WebhookPoster struct {
	Client *http.Client
	Now    func() time.Time
}

// NewWebhookPoster returns a poster with a 10-second timeout per request
// that does not follow redirects (a redirect is a failure to fix, not a
// place to send a case's events) and uses no proxy. Unless allowPrivate
// (WEBHOOK_ALLOW_PRIVATE), it refuses to connect to any address that is
// not public (egress.Control): checked on the address really connected
// to, after DNS, so a webhook whose name later resolves to the metadata
// service, loopback or a private network reaches none of them.
func NewWebhookPoster(allowPrivate bool) *WebhookPoster {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = egress.Control
	}
	transport := &http.Transport{
		// No proxy from the environment: the check above would see the
		// proxy's address, and the proxy would connect anywhere.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
	}
	return &WebhookPoster{Client: &http.Client{
		Transport:     transport,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, Now: time.Now}
}

// Post sends one delivery; any answer but 2xx is an error.
func (p *WebhookPoster) Post(ctx context.Context, target, secret, deliveryID, event string, body []byte) error {
	if u, err := url.Parse(target); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("webhook URL is not an http(s) URL")
	}
	ts := p.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "escalate-webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	req.Header.Set(HeaderDelivery, deliveryID)
	req.Header.Set(HeaderEvent, event)
	resp, err := p.Client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
