package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/internal/egress"
	"escalate/store"
)

// agencyPattern is what an agency id in a path may be.
var agencyPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

type putWebhookRequest struct {
	URL string `json:"url" binding:"required,singleline,max=2000"`
}

type webhookResponse struct {
	Agency string `json:"agency"`
	URL    string `json:"url"`
	// Secret is shown once, when the webhook is set.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// putWebhook sets an agency's webhook (admin only) and answers with a new
// signing secret, shown this once. Setting it again replaces the URL and
// the secret.
func (s *Server) putWebhook(c *gin.Context) error {
	me := caller(c)
	if me.Role != RoleAdmin {
		return errForbidden
	}
	agency := c.Param("agency")
	if !agencyPattern.MatchString(agency) {
		return invalidField("agency", "letters, digits, '.', '_' or '-', at most 200")
	}
	var req putWebhookRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimSpace(req.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return invalidField("url", "must be an absolute http(s) URL without credentials, e.g. https://agency.example/escalate")
	}
	// Not this machine or the networks around it (the metadata service,
	// Temporal, PostgreSQL): the worker checks again on every connection,
	// since a name's DNS can change after this.
	if !s.webhookAllowPrivate {
		if why := egress.CheckHost(c.Request.Context(), s.resolver, u.Hostname()); why != "" {
			return invalidField("url", "must reach a public address: the host "+why)
		}
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
	w, err := s.store.PutWebhook(c.Request.Context(), store.Webhook{Agency: agency, URL: u.String(), Secret: secret, CreatedBy: me.TokenID})
	if err != nil {
		return err
	}
	s.log.Info("webhook set", "request_id", requestID(c), "agency", agency, "by", me.TokenID)
	c.JSON(http.StatusOK, webhookResponse{Agency: w.Agency, URL: w.URL, Secret: secret, CreatedAt: w.CreatedAt, CreatedBy: w.CreatedBy})
	return nil
}

// listWebhooks lists the agencies' webhooks, never their secrets.
func (s *Server) listWebhooks(c *gin.Context) error {
	if caller(c).Role != RoleAdmin {
		return errForbidden
	}
	ws, err := s.store.Webhooks(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]webhookResponse, 0, len(ws))
	for _, w := range ws {
		out = append(out, webhookResponse{Agency: w.Agency, URL: w.URL, CreatedAt: w.CreatedAt, CreatedBy: w.CreatedBy})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// deleteWebhook removes an agency's webhook.
func (s *Server) deleteWebhook(c *gin.Context) error {
	me := caller(c)
	if me.Role != RoleAdmin {
		return errForbidden
	}
	agency := c.Param("agency")
	if !agencyPattern.MatchString(agency) {
		return errNotFound
	}
	if err := s.store.DeleteWebhook(c.Request.Context(), agency); err != nil {
		return err
	}
	s.log.Info("webhook removed", "request_id", requestID(c), "agency", agency, "by", me.TokenID)
	c.Status(http.StatusNoContent)
	return nil
}
