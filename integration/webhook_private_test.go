package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"escalate/activities"
	"escalate/api"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

// Without WEBHOOK_ALLOW_PRIVATE a webhook cannot reach this machine or the
// networks around it: setting one to such an address is a 400 naming
// "url" and stores nothing; and a webhook that reaches one anyway (its
// name's DNS changed after it was set, here written straight to the
// database) is refused by the worker when it connects: the endpoint is
// never called and the delivery shows as not delivered.
func TestWebhookPrivateAddresses(t *testing.T) {
	s := startSystem(t)
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer internal.Close()

	// Registration, by an API that does not allow private addresses.
	pols, err := policies.Load("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	strict := httptest.NewServer(api.New(api.Config{Store: s.store, Temporal: s.temporal, Policies: pols,
		AdminToken: adminToken, Log: quietSlog()}).Handler())
	defer strict.Close()
	strictSys := &system{t: t, url: strict.URL}
	port := internal.URL[strings.LastIndex(internal.URL, ":")+1:]
	for _, u := range []string{
		internal.URL + "/hook",
		"http://localhost:" + port + "/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:" + port + "/",
		"http://10.0.0.7/hook",
		"http://100.100.100.200/",
		"http://2130706433:" + port + "/",
	} {
		var eb errorBody
		if code := strictSys.call("PUT", "/v1/admin/webhooks/nct", adminToken, map[string]string{"url": u}, &eb); code != http.StatusBadRequest ||
			eb.Error.Code != "invalid_request" || eb.Error.Fields["url"] == "" {
			t.Errorf("PUT webhook %s: %d %+v, want 400 naming url", u, code, eb)
		}
	}
	ctx := context.Background()
	if hooks, err := s.store.Webhooks(ctx); err != nil || len(hooks) != 0 {
		t.Fatalf("webhooks stored after refusals: %v %v", hooks, err)
	}
	// A public address is still accepted (an address literal: no DNS here).
	if code := strictSys.call("PUT", "/v1/admin/webhooks/kgh", adminToken, map[string]string{"url": "https://93.184.215.14/hook"}, nil); code != http.StatusOK {
		t.Fatalf("PUT a public webhook: %d", code)
	}

	// Delivery, by a worker that does not allow private addresses.
	if _, err := s.store.PutWebhook(ctx, store.Webhook{Agency: "nct", URL: internal.URL + "/hook", Secret: "whsec_test", CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	s.stopWorker()
	s.acts.Webhooks = activities.NewWebhookPoster(false)
	s.startWorker()
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire", "child_ref": "WH/1",
		"category": "communication", "summary": "Webhook to an internal address",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	var refused *store.Notification
	for deadline := time.Now().Add(30 * time.Second); refused == nil; time.Sleep(200 * time.Millisecond) {
		all, err := s.store.Notifications(ctx, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range all {
			if n.Channel == store.ChannelWebhook && n.Status != store.NotePending {
				refused = &all[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no webhook delivery attempted: %+v", all)
		}
	}
	if refused.Status == store.NoteSent || !strings.Contains(refused.LastError, "not a public address") {
		t.Errorf("delivery to %s: status %s, error %q; want refused as not a public address", internal.URL, refused.Status, refused.LastError)
	}
	if hits.Load() != 0 {
		t.Errorf("the internal endpoint was called %d times", hits.Load())
	}
}
