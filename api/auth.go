package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/store"
)

// Roles a token may have.
const (
	RolePractitioner = cases.RolePractitioner
	RoleManager      = cases.RoleManager
	RolePartnership  = cases.RolePartnership
	RoleAdmin        = cases.RoleAdmin
)

// principal is the person a bearer token belongs to.
type principal = cases.Principal

const principalKey = "principal"

func caller(c *gin.Context) principal {
	p, _ := c.Get(principalKey)
	return p.(principal)
}

// authenticate resolves the bearer token to its person, or answers 401.
// Failed authentications are counted per client address; a client out of
// them gets 429 (authBlocked) before its token is looked up.
func (s *Server) authenticate(c *gin.Context) {
	if s.authBlocked(c) {
		return
	}
	h := c.GetHeader("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" || len(secret) > 256 {
		s.authFailed(c)
		return
	}
	sum := sha256.Sum256([]byte(secret))
	if s.adminHash != nil && subtle.ConstantTimeCompare(sum[:], s.adminHash) == 1 {
		c.Set(principalKey, principal{TokenID: "bootstrap", Name: "Bootstrap administrator", Email: "admin@escalate.invalid", Agency: "escalate", Role: RoleAdmin})
		c.Next()
		return
	}
	// The lookup is by hash: a database index compares hashes, never the
	// secret, so timing reveals nothing about valid tokens.
	t, err := s.store.TokenByHash(c.Request.Context(), sum[:])
	if errors.Is(err, store.ErrNotFound) {
		s.authFailed(c)
		return
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !t.ExpiresAt.After(s.now())) {
		s.authFailed(c)
		return
	}
	c.Set(principalKey, principal{TokenID: t.ID, Name: t.Name, Email: t.Email, Agency: t.Agency, Role: t.Role})
	c.Next()
}

// ---- who may do what: the rules live in package cases ----

var (
	canRead           = cases.CanRead
	canAct            = cases.CanAct
	partnershipOf     = cases.PartnershipOf
	actsForEitherSide = cases.ActsForEitherSide
	oversees          = cases.Oversees
)

// overseenPolicy is cases.OverseenPolicy with the contract's refusal.
func overseenPolicy(p principal, asked string) (string, error) {
	policy, ok := cases.OverseenPolicy(p, asked)
	if !ok {
		return "", errForbidden
	}
	return policy, nil
}

func viewer(p principal) store.Viewer {
	return store.Viewer{Email: p.Email, Agency: p.Agency, Role: p.Role}
}

// ---- tokens ----

type createTokenRequest struct {
	Name      string `json:"name" binding:"required,notblank,singleline,max=200"`
	Email     string `json:"email" binding:"required,singleline,email,max=254"`
	Agency    string `json:"agency" binding:"required,notblank,singleline,max=200"`
	Role      string `json:"role" binding:"required,singleline,oneof=practitioner manager partnership admin"`
	ExpiresAt string `json:"expires_at" binding:"singleline"`
}

type tokenResponse struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	Agency    string     `json:"agency"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) createToken(c *gin.Context) error {
	me := caller(c)
	if me.Role != RoleAdmin {
		return errForbidden
	}
	var req createTokenRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	var expires *time.Time
	if req.ExpiresAt != "" {
		t, err := parseTime("expires_at", req.ExpiresAt)
		if err != nil {
			return err
		}
		if !t.After(s.now()) {
			return invalidField("expires_at", "must be in the future")
		}
		expires = &t
	}
	if req.Role == RolePartnership {
		if _, ok := s.policies.Get(req.Agency); !ok {
			return invalidField("agency", "a partnership person's agency must be a policy id")
		}
	}
	secret, id, hash := newToken()
	t, err := s.store.CreateToken(c.Request.Context(), store.Token{
		ID: id, Name: strings.TrimSpace(req.Name), Email: strings.TrimSpace(req.Email), Agency: strings.TrimSpace(req.Agency),
		Role: req.Role, CreatedBy: me.TokenID, ExpiresAt: expires,
	}, hash)
	if err != nil {
		return err
	}
	s.log.Info("token created", "request_id", requestID(c), "token_id", t.ID, "role", t.Role, "by", me.TokenID)
	c.JSON(http.StatusCreated, tokenResponse{ID: t.ID, Token: secret, Name: t.Name, Email: t.Email, Agency: t.Agency,
		Role: t.Role, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt})
	return nil
}

// newToken makes a secret with 256 bits of randomness, its public id and the
// SHA-256 hash that is all the database keeps.
func newToken() (secret, id string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret = "esc_" + base64.RawURLEncoding.EncodeToString(b[:])
	var i [8]byte
	_, _ = rand.Read(i[:])
	id = "tok_" + hex.EncodeToString(i[:])
	sum := sha256.Sum256([]byte(secret))
	return secret, id, sum[:]
}

func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalidField(field, "must be an RFC 3339 time with an offset, e.g. 2026-12-30T17:00:00Z")
	}
	return t, nil
}

type listTokensQuery struct {
	Revoked *bool `form:"revoked"`
	Limit   *int  `form:"limit" binding:"omitempty,min=1,max=1000"`
}

// tokenInfo is a token as listed: who it is for and its state, never the
// secret or its hash.
type tokenInfo struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	Agency    string     `json:"agency"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// listTokens lists tokens for an admin, so one that should no longer work
// can be found and revoked: active ones by default, all with revoked=true.
func (s *Server) listTokens(c *gin.Context) error {
	if caller(c).Role != RoleAdmin {
		return errForbidden
	}
	var q listTokensQuery
	if err := bindQuery(c, &q); err != nil {
		return err
	}
	limit := 200
	if q.Limit != nil {
		limit = *q.Limit
	}
	toks, err := s.store.Tokens(c.Request.Context(), q.Revoked != nil && *q.Revoked, limit)
	if err != nil {
		return err
	}
	out := make([]tokenInfo, 0, len(toks))
	for _, t := range toks {
		out = append(out, tokenInfo{ID: t.ID, Name: t.Name, Email: t.Email, Agency: t.Agency, Role: t.Role,
			CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt})
	}
	c.JSON(http.StatusOK, gin.H{"tokens": out})
	return nil
}

// revokeToken revokes a token at once: its next request is a 401.
func (s *Server) revokeToken(c *gin.Context) error {
	me := caller(c)
	if me.Role != RoleAdmin {
		return errForbidden
	}
	id := c.Param("id")
	if !tokenIDPattern.MatchString(id) {
		return errNotFound
	}
	if err := s.store.RevokeToken(c.Request.Context(), id); err != nil {
		return err
	}
	s.log.Info("token revoked", "request_id", requestID(c), "token_id", id, "by", me.TokenID)
	c.Status(http.StatusNoContent)
	return nil
}
