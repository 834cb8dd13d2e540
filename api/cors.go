package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// CORS is off unless CORS_ORIGINS lists origins: then a browser page served
// from one of exactly those origins may call the API with a bearer token.
// No cookies are used, so credentials are never allowed; every other origin
// gets no Access-Control-* header at all.

const (
	corsMethods = "GET, POST, PUT, DELETE"
	corsHeaders = "Authorization, Content-Type, Idempotency-Key"
	corsExpose  = "Location, Retry-After, X-Request-ID"
)

// ParseOrigins reads CORS_ORIGINS: a comma-separated list of exact origins,
// scheme://host[:port] with no path ("https://portal.partnership.example").
// Empty means CORS is off. "*" and anything that is not an origin are
// refused, so a typo cannot open the API to every site.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if o == "*" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
			return nil, fmt.Errorf("CORS_ORIGINS: %q is not an origin: give exact origins such as https://portal.example.org (scheme and host, optional port, no path, no *)", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// cors answers preflight requests from the allowed origins and marks their
// other responses readable by them. With no origins configured it does
// nothing.
func (s *Server) cors(c *gin.Context) {
	// The codec endpoint has its own rule: the Temporal Web UI's origin
	// only (codec.go).
	if len(s.corsOrigins) == 0 || strings.HasPrefix(c.Request.URL.Path, codecPrefix) {
		c.Next()
		return
	}
	h := c.Writer.Header()
	h.Add("Vary", "Origin")
	origin := c.GetHeader("Origin")
	if origin == "" || !s.corsOrigins[origin] {
		c.Next()
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Expose-Headers", corsExpose)
	c.Next()
}

func originSet(origins []string) map[string]bool {
	if len(origins) == 0 {
		return nil
	}
	set := map[string]bool{}
	for _, o := range origins {
		set[strings.ToLower(o)] = true
	}
	return set
}
