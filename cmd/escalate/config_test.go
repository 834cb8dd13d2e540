package main

import "testing"

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
