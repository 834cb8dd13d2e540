package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// limiter is a token bucket per bearer token for write routes.
type limiter struct {
	mu      sync.Mutex
	perMin  int
	burst   int
	buckets map[string]*bucket
}

type bucket struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

func newLimiter(perMinute, burst int) *limiter {
	return &limiter{perMin: perMinute, burst: burst, buckets: map[string]*bucket{}}
}

// allow reports whether key may write now, or how long to wait.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 10000 {
			for k, old := range l.buckets {
				if now.Sub(old.lastSeen) > 10*time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.perMin)/60), l.burst)}
		l.buckets[key] = b
	}
	b.lastSeen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

var errRateLimited = &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many changes from this token; wait and try again"}

// rateLimit refuses writes beyond the token's rate with 429 and Retry-After.
func (s *Server) rateLimit(c *gin.Context) {
	if s.limits == nil || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	ok, wait := s.limits.allow(caller(c).TokenID, s.now())
	if !ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.writeError(c, errRateLimited)
		return
	}
	c.Next()
}
