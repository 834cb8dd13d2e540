package api

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"escalate/internal/clientkey"
)

// limiter is a token bucket per key (a bearer token's id for writes, a
// client address for failed authentications). Its memory is bounded: at
// most max keys are kept, the least recently seen dropped first, and the
// least recently seen key is dropped as others arrive once its bucket is
// full again (a fresh bucket is the same), so an attacker cycling keys
// cannot grow it.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	max     int
	entries map[string]*list.Element // of *bucket
	recent  *list.List               // front: most recently seen
}

type bucket struct {
	key      string
	lim      *rate.Limiter
	lastSeen time.Time
}

// defaultLimiterKeys bounds each limiter's memory (a few MB at most).
const defaultLimiterKeys = 10000

func newLimiter(perMinute, burst, maxKeys int) *limiter {
	if burst <= 0 {
		burst = perMinute
	}
	if maxKeys <= 0 {
		maxKeys = defaultLimiterKeys
	}
	return &limiter{
		every: rate.Limit(float64(perMinute) / 60), burst: burst, max: maxKeys,
		entries: map[string]*list.Element{}, recent: list.New(),
	}
}

// get returns key's bucket, creating it; l.mu is held.
func (l *limiter) get(key string, now time.Time) *bucket {
	if e, ok := l.entries[key]; ok {
		b := e.Value.(*bucket)
		b.lastSeen = now
		l.recent.MoveToFront(e)
		return b
	}
	for e := l.recent.Back(); e != nil; e = l.recent.Back() {
		b := e.Value.(*bucket)
		if l.recent.Len() < l.max && b.lim.TokensAt(now) < float64(l.burst) {
			break
		}
		l.recent.Remove(e)
		delete(l.entries, b.key)
	}
	b := &bucket{key: key, lim: rate.NewLimiter(l.every, l.burst), lastSeen: now}
	l.entries[key] = l.recent.PushFront(b)
	return b
}

// allow takes one token for key if it has one, or says how long to wait.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now)
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// blocked reports, without taking a token or remembering key, whether key
// has none left, and how long until it has one.
func (l *limiter) blocked(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok {
		return 0, false
	}
	tokens := e.Value.(*bucket).lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(l.every) * float64(time.Second)), true
}

// fail takes one token from key, going into debt when it has none: many
// requests sent at once all pass blocked before any has failed, and each
// failure must still cost its share, or a client could multiply its
// budget by its concurrency.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.get(key, now).lim.ReserveN(now, 1)
}

// size is how many keys are kept.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

var (
	errRateLimited     = &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many changes from this token; wait and try again"}
	errAuthRateLimited = &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many failed authentications from this address; wait and try again"}
)

// retryAfter sets Retry-After to wait, in whole seconds, at least 1.
func retryAfter(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
}

// rateLimit refuses writes beyond the token's rate with 429 and Retry-After.
func (s *Server) rateLimit(c *gin.Context) {
	if s.limits == nil || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	ok, wait := s.limits.allow(caller(c).TokenID, s.now())
	if !ok {
		retryAfter(c, wait)
		s.writeError(c, errRateLimited)
		return
	}
	c.Next()
}

// clientKey is whom failed authentications are counted against
// (internal/clientkey, shared with the pages' sign-in limit).
var clientKey = clientkey.Of

// authBlocked answers 429 for a client out of failed authentications, for
// every request, before its token is looked up: answering a right guess
// differently from a wrong one would let guessing go on.
func (s *Server) authBlocked(c *gin.Context) bool {
	if s.authFails == nil {
		return false
	}
	wait, blocked := s.authFails.blocked(clientKey(c), s.now())
	if !blocked {
		return false
	}
	s.log.Warn("authentication rate-limited", "request_id", requestID(c), "client", clientKey(c))
	retryAfter(c, wait)
	s.writeError(c, errAuthRateLimited)
	return true
}

// authFailed counts a failed authentication against the client and
// answers 401.
func (s *Server) authFailed(c *gin.Context) {
	if s.authFails != nil {
		s.authFails.fail(clientKey(c), s.now())
	}
	s.writeError(c, errUnauthenticated)
}

// ParseTrustedProxies reads TRUSTED_PROXIES: comma-separated addresses or
// CIDR prefixes of the reverse proxies in front of the API, whose
// X-Forwarded-For then names the client. Empty trusts none. A prefix that
// covers every address is refused: trusting everyone is what this guards
// against.
func ParseTrustedProxies(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("TRUSTED_PROXIES: %q is neither an IP address nor a CIDR prefix (e.g. 10.0.0.5 or 10.0.0.0/24)", p)
			}
			prefix = netip.PrefixFrom(a, a.BitLen())
		}
		if prefix.Bits() == 0 {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q trusts every address, so anyone could choose the address they are counted as; list your proxies", p)
		}
		out = append(out, prefix.Masked().String())
	}
	return out, nil
}
