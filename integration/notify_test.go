package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"escalate/activities"
	"escalate/store"
	"escalate/workflows"
)

// hookReceiver is an agency's webhook endpoint that refuses the first
// `refuse` requests and checks the signature of every request.
type hookReceiver struct {
	mu       sync.Mutex
	secret   string
	refuse   int
	requests int
	badSig   int
	accepted map[string]int // delivery id -> accepted count
	seen     map[string]int // delivery id -> requests
	bodies   map[string]activities.WebhookEvent
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	id := r.Header.Get(activities.HeaderDelivery)
	h.seen[id]++
	ts, err := strconv.ParseInt(r.Header.Get(activities.HeaderTimestamp), 10, 64)
	if err != nil || r.Header.Get(activities.HeaderSignature) != activities.Sign(h.secret, ts, body) {
		h.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h.requests <= h.refuse {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev activities.WebhookEvent
	_ = json.Unmarshal(body, &ev)
	h.bodies[id] = ev
	h.accepted[id]++
	w.WriteHeader(http.StatusNoContent)
}

// An agency's webhook gets every event of its cases, signed, once each,
// even when it refuses the first attempts; a delivery waiting for another
// attempt shows on the case and in /metrics.
func TestAgencyWebhooks(t *testing.T) {
	s := startSystem(t)
	recv := &hookReceiver{refuse: 2, accepted: map[string]int{}, seen: map[string]int{}, bodies: map[string]activities.WebhookEvent{}}
	hook := httptest.NewServer(recv)
	defer hook.Close()
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	respondent := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")

	var eb errorBody
	if code := s.call("PUT", "/v1/admin/webhooks/nct", raiser, map[string]string{"url": hook.URL}, &eb); code != http.StatusForbidden {
		t.Fatalf("practitioner sets a webhook: %d", code)
	}
	if code := s.call("PUT", "/v1/admin/webhooks/nct", adminToken, map[string]string{"url": "ftp://x"}, &eb); code != http.StatusBadRequest || eb.Error.Fields["url"] == "" {
		t.Fatalf("bad url: %d %+v", code, eb)
	}
	var set struct {
		Agency string `json:"agency"`
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if code := s.call("PUT", "/v1/admin/webhooks/nct", adminToken, map[string]string{"url": hook.URL}, &set); code != 200 ||
		!strings.HasPrefix(set.Secret, "whsec_") || set.URL != hook.URL {
		t.Fatalf("set webhook: %d %+v", code, set)
	}
	recv.mu.Lock()
	recv.secret = set.Secret
	recv.mu.Unlock()
	var listed []map[string]any
	if code := s.call("GET", "/v1/admin/webhooks", adminToken, nil, &listed); code != 200 || len(listed) != 1 || listed[0]["secret"] != nil {
		t.Fatalf("list webhooks: %d %v (the secret must never be listed)", code, listed)
	}

	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{
		"policy": "northamptonshire-fastdrill", "child_ref": "NCT/2026/0077", "category": "communication",
		"summary":    "Strategy minutes for Jane Doe not shared.",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
	}, &c); code != http.StatusCreated {
		t.Fatalf("create case: %d", code)
	}
	// The first delivery is refused: while Temporal waits to retry it, the
	// case and /metrics show a delivery retrying.
	var sawRetrying bool
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline) && !sawRetrying; time.Sleep(100 * time.Millisecond) {
		var cur struct {
			Notifications store.DeliverySummary `json:"notifications"`
		}
		s.call("GET", "/v1/cases/"+c.Ref, respondent, nil, &cur)
		sawRetrying = cur.Notifications.Retrying > 0
	}
	if !sawRetrying {
		t.Error("the case never showed a delivery waiting to be retried")
	}
	m := s.metrics()
	for _, want := range []string{`escalate_notifications{channel="webhook",status="retrying"}`,
		`escalate_cases{policy="northamptonshire-fastdrill",status="open"} 1`, "escalate_notifications_failed 0",
		"escalate_notifications_waiting_seconds "} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, m)
		}
	}
	if code := s.call("POST", "/v1/cases/"+c.Ref+"/withdrawal", raiser, map[string]string{"reason": "resolved by phone"}, &c); code != 200 {
		t.Fatalf("withdraw: %d", code)
	}

	// Every webhook row goes, each accepted exactly once, under the same
	// delivery id on every attempt.
	ctx := context.Background()
	var hooks []store.Notification
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		all, err := s.store.Notifications(ctx, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		hooks = hooks[:0]
		done := true
		for _, n := range all {
			if n.Channel == store.ChannelWebhook {
				hooks = append(hooks, n)
				done = done && n.Status == store.NoteSent
			}
		}
		if done && len(hooks) > 0 && len(hooks) == countEvents(t, s, c.Ref) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook deliveries not all sent: %+v", hooks)
		}
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.badSig != 0 {
		t.Errorf("%d requests with a bad signature", recv.badSig)
	}
	retried := false
	for _, n := range hooks {
		id := activities.DeliveryID(c.Ref, n.Seq, "nct")
		if recv.accepted[id] != 1 {
			t.Errorf("delivery %s accepted %d times, want once", id, recv.accepted[id])
		}
		if recv.seen[id] > 1 {
			retried = true
			if n.Attempts != recv.seen[id] {
				t.Errorf("delivery %s: %d attempts recorded, %d requests made", id, n.Attempts, recv.seen[id])
			}
		}
		ev := recv.bodies[id]
		if ev.Ref != c.Ref || ev.Seq != n.Seq || ev.Agency != "nct" || ev.ChildRef != "NCT/2026/0077" {
			t.Errorf("delivery %s body %+v", id, ev)
		}
	}
	if !retried {
		t.Error("no delivery was retried, though the first two requests were refused")
	}
	if len(recv.accepted) != len(hooks) {
		t.Errorf("%d deliveries accepted for %d recorded", len(recv.accepted), len(hooks))
	}
	for id, ev := range recv.bodies {
		if raw, _ := json.Marshal(ev); strings.Contains(string(raw), "Jane") {
			t.Errorf("delivery %s carries the summary", id)
		}
	}
}

func countEvents(t *testing.T, s *system, ref string) int {
	t.Helper()
	evs, err := s.store.Events(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// metrics reads /metrics.
func (s *system) metrics() string {
	s.t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		s.t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}
