package main

import (
	"slices"
	"testing"
)

// WEBHOOK_ALLOW_PRIVATE is off unless set to a true value, and a value
// that is not a boolean stops the process rather than being guessed at.
func TestWebhookAllowPrivateConfig(t *testing.T) {
	for value, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true} {
		t.Setenv("WEBHOOK_ALLOW_PRIVATE", value)
		c, err := loadConfig()
		if err != nil || c.WebhookAllowPrivate != want {
			t.Errorf("WEBHOOK_ALLOW_PRIVATE=%q: %v %v, want %v", value, c.WebhookAllowPrivate, err, want)
		}
	}
	t.Setenv("WEBHOOK_ALLOW_PRIVATE", "yes please")
	if _, err := loadConfig(); err == nil {
		t.Error("WEBHOOK_ALLOW_PRIVATE=\"yes please\" accepted")
	}
}

// Failed authentications are limited by default (10 a minute, 20 at once,
// per client address); 0 turns it off; nonsense stops the process.
func TestAuthFailureConfig(t *testing.T) {
	c, err := loadConfig()
	if err != nil || c.AuthFailuresPerMinute != 10 || c.AuthFailureBurst != 20 || len(c.TrustedProxies) != 0 {
		t.Fatalf("defaults: %d/%d proxies %v, %v", c.AuthFailuresPerMinute, c.AuthFailureBurst, c.TrustedProxies, err)
	}
	t.Setenv("AUTH_FAILURES_PER_MINUTE", "0")
	if c, err := loadConfig(); err != nil || c.AuthFailuresPerMinute != 0 {
		t.Fatalf("0: %d %v", c.AuthFailuresPerMinute, err)
	}
	for _, v := range []string{"-1", "ten"} {
		t.Setenv("AUTH_FAILURES_PER_MINUTE", v)
		if _, err := loadConfig(); err == nil {
			t.Errorf("AUTH_FAILURES_PER_MINUTE=%q accepted", v)
		}
	}
	t.Setenv("AUTH_FAILURES_PER_MINUTE", "10")
	t.Setenv("TRUSTED_PROXIES", " 10.0.0.5, 10.1.0.0/16 ,fd00::/8")
	if c, err := loadConfig(); err != nil || !slices.Equal(c.TrustedProxies, []string{"10.0.0.5/32", "10.1.0.0/16", "fd00::/8"}) {
		t.Fatalf("TRUSTED_PROXIES: %v %v", c.TrustedProxies, err)
	}
	for _, v := range []string{"0.0.0.0/0", "::/0", "10.0.0.5,*", "proxy.internal", "fe80::1%eth0"} {
		t.Setenv("TRUSTED_PROXIES", v)
		if _, err := loadConfig(); err == nil {
			t.Errorf("TRUSTED_PROXIES=%q accepted", v)
		}
	}
}
