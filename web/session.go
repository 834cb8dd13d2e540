package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"escalate/activities"
	"escalate/cases"
	"escalate/store"
)

func init() { gin.SetMode(gin.ReleaseMode) }

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// newSecret is 256 random bits, URL-safe.
func newSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// secretShape: what newSecret makes (43 URL-safe base64 characters).
func secretShape(v string) bool {
	if len(v) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// ---- who is signed in ----

const (
	principalKey = "principal"
	sessionKey   = "session"
)

// signedInAs is the person of the request's live session, if any.
func signedInAs(c *gin.Context) (cases.Principal, bool) {
	p, ok := c.Get(principalKey)
	if !ok {
		return cases.Principal{}, false
	}
	return p.(cases.Principal), true
}

// session loads the request's session from its cookie, if it is live, and
// the person it signs in. A session whose person can no longer sign in (no
// token, no case naming them) is ended.
func (s *Server) session(c *gin.Context) {
	if strings.HasPrefix(c.Request.URL.Path, "/static/") {
		c.Next()
		return
	}
	ck, err := c.Request.Cookie(s.sessionCookie)
	if err != nil || !secretShape(ck.Value) {
		c.Next()
		return
	}
	ctx := c.Request.Context()
	hash := hashSecret(ck.Value)
	sess, err := s.st.UseSession(ctx, hash, s.now(), s.cfg.IdleTimeout)
	if errors.Is(err, store.ErrNotFound) {
		s.clearCookie(c, s.sessionCookie)
		c.Next()
		return
	}
	if err != nil {
		s.storeFailed(c, err)
		c.Abort()
		return
	}
	me, err := s.person(ctx, sess.Email)
	if errors.Is(err, store.ErrNotFound) {
		_ = s.st.DeleteSession(ctx, hash)
		s.clearCookie(c, s.sessionCookie)
		c.Next()
		return
	}
	if err != nil {
		s.storeFailed(c, err)
		c.Abort()
		return
	}
	c.Set(sessionKey, sess)
	c.Set(principalKey, me)
	c.Next()
}

// person is who a signed-in address is: its account, or the party a case
// names; else, for an address a policy mails case links to without naming
// it a party (an agency's escalation contact, a partnership's mailbox),
// the least the procedure needs (cases.PolicyPerson). ErrNotFound if none.
func (s *Server) person(ctx context.Context, email string) (cases.Principal, error) {
	person, err := s.st.PersonByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return cases.Principal{}, err
	}
	if err == nil && person.FromToken {
		return cases.Principal{Name: person.Name, Email: person.Email, Agency: person.Agency, Role: person.Role}, nil
	}
	// Without an account, a policy's contact keeps what the policy gives
	// it even once a case names it (an escalation contact who stepped in
	// still reads its agency's other cases): that reach includes acting
	// wherever a case names them, as any party.
	if s.cfg.Policies != nil {
		if p, ok := cases.PolicyPerson(s.cfg.Policies.All(), email); ok {
			return p, nil
		}
	}
	if err == nil {
		return cases.Principal{Name: person.Name, Email: person.Email, Agency: person.Agency, Role: person.Role}, nil
	}
	return cases.Principal{}, store.ErrNotFound
}

// Principal is the person signed in with r's session cookie, for the other
// handlers the binary serves beside the pages (the codec endpoint lets an
// admin's session decode for the Temporal Web UI). It uses the session, as
// a page would: an idle or expired one is no session.
func (s *Server) Principal(r *http.Request) (cases.Principal, bool) {
	ck, err := r.Cookie(s.sessionCookie)
	if err != nil || !secretShape(ck.Value) {
		return cases.Principal{}, false
	}
	sess, err := s.st.UseSession(r.Context(), hashSecret(ck.Value), s.now(), s.cfg.IdleTimeout)
	if err != nil {
		return cases.Principal{}, false
	}
	person, err := s.st.PersonByEmail(r.Context(), sess.Email)
	if err != nil {
		return cases.Principal{}, false
	}
	return cases.Principal{TokenID: "session", Name: person.Name, Email: person.Email, Agency: person.Agency, Role: person.Role}, true
}

// signedIn sends a browser that is not signed in through sign-in, and back
// to the page it asked for.
func (s *Server) signedIn(h func(*gin.Context, cases.Principal)) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := signedInAs(c)
		if !ok {
			next := c.Request.URL.Path
			if q := c.Request.URL.RawQuery; q != "" {
				next += "?" + q
			}
			c.Redirect(http.StatusSeeOther, "/sign-in?next="+url.QueryEscape(next))
			return
		}
		h(c, p)
	}
}

// ---- CSRF ----

// csrfField is the hidden field every form carries.
const csrfField = "csrf_token"

// csrfToken is the token the request's forms carry: the session's own
// when signed in; otherwise a random value also set in a cookie (double
// submit), which a page on another site can neither read nor, with
// SameSite=Lax, send with a cross-site POST.
func (s *Server) csrfToken(c *gin.Context) string {
	if v, ok := c.Get(sessionKey); ok {
		return v.(store.Session).CSRF
	}
	if tok, ok := c.Get("form_token"); ok {
		return tok.(string)
	}
	if ck, err := c.Request.Cookie(s.formCookie); err == nil && secretShape(ck.Value) {
		c.Set("form_token", ck.Value)
		return ck.Value
	}
	tok := newSecret()
	s.setCookie(c, s.formCookie, tok, 0)
	c.Set("form_token", tok)
	return tok
}

// checkCSRF refuses every POST whose form lacks the right token, or that a
// browser says came from another site, with a 403 page.
func (s *Server) checkCSRF(c *gin.Context) {
	if c.Request.Method != http.MethodPost {
		c.Next()
		return
	}
	if c.GetHeader("Sec-Fetch-Site") == "cross-site" {
		s.log.Warn("page: cross-site POST refused", "request_id", requestID(c), "route", c.FullPath())
		s.errorPage(c, http.StatusForbidden)
		return
	}
	got := c.PostForm(csrfField)
	var want string
	if v, ok := c.Get(sessionKey); ok {
		want = v.(store.Session).CSRF
	} else if ck, err := c.Request.Cookie(s.formCookie); err == nil && secretShape(ck.Value) {
		want = ck.Value
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		s.log.Warn("page: POST without its CSRF token refused", "request_id", requestID(c), "route", c.FullPath())
		s.errorPage(c, http.StatusForbidden)
		return
	}
	c.Next()
}

// ---- cookies ----

func (s *Server) setCookie(c *gin.Context, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(c.Writer, ck)
}

func (s *Server) clearCookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// ---- where to go after signing in ----

// safeNext is next if it is a path on this site (it starts with one "/",
// not "//" or "/\", and parses with no scheme or host), else "".
func safeNext(next string) string {
	if next == "" || len(next) > 1000 || !cleanLine(next) || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsRune(next, '\\') {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	// Signing in again, or out, is never where anyone was going.
	if strings.HasPrefix(u.Path, "/sign-in") || strings.HasPrefix(u.Path, "/sign-out") {
		return ""
	}
	return next
}

// landing is where a person goes once signed in when no next was given.
const landing = "/cases"

// ---- sign-in ----

type signInForm struct {
	Email string
	Next  string
}

func (s *Server) signInForm(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if _, ok := signedInAs(c); ok {
		c.Redirect(http.StatusSeeOther, orDefault(next, landing))
		return
	}
	s.render(c, http.StatusOK, "signin", "Sign in", signInForm{Next: next}, nil)
}

// requestLink mails a sign-in link to the address given if it may sign in,
// and answers the same page, at once, whether or not it may: the lookup
// and the mail happen after the answer.
func (s *Server) requestLink(c *gin.Context) {
	form := signInForm{Email: strings.TrimSpace(c.PostForm("email")), Next: safeNext(c.PostForm("next"))}
	if why := emailProblem(form.Email); why != "" {
		s.render(c, http.StatusUnprocessableEntity, "signin", "Sign in", form, []fieldError{{Field: "email", Message: why}})
		return
	}
	email := strings.ToLower(form.Email)
	now := s.now()
	if ok, wait := s.perClient.allow(clientKey(c), now); !ok {
		s.tooMany(c, wait)
		return
	}
	// The per-address budget is the same for addresses that may sign in
	// and those that may not, so being refused says nothing about one.
	if ok, wait := s.perAddress.allow(hex.EncodeToString(hashSecret(email)), now); !ok {
		s.tooMany(c, wait)
		return
	}
	select {
	case s.mail <- signInJob{email: email, next: form.Next, requestID: requestID(c)}:
	default:
		s.log.Warn("sign-in link not sent: too many waiting to be mailed", "request_id", requestID(c))
	}
	s.render(c, http.StatusOK, "signin_sent", "Check your email", form, nil)
}

func (s *Server) tooMany(c *gin.Context, wait time.Duration) {
	secs := int(wait/time.Second) + 1
	c.Header("Retry-After", fmt.Sprint(secs))
	s.errorPage(c, http.StatusTooManyRequests)
}

// emailProblem says why v is not an email address the service can mail,
// or "".
func emailProblem(v string) string {
	switch {
	case v == "":
		return "Enter your work email address"
	case len(v) > 254 || !cleanLine(v):
		return "Enter an email address in the correct format, like name@example.org"
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndex(v, "@")+1:], ".") {
		return "Enter an email address in the correct format, like name@example.org"
	}
	return ""
}

// signInJob is one sign-in request's mail work.
type signInJob struct {
	email, next, requestID string
}

// mailer does the sign-in requests' work, one at a time, off the request.
func (s *Server) mailer() {
	defer s.wg.Done()
	for job := range s.mail {
		s.sendLink(job)
		if s.sent != nil {
			s.sent()
		}
	}
}

// sendLink mails a link to job's address if it may sign in. An address that
// may not gets nothing: no mail that would tell its owner (or whoever typed
// it) anything.
func (s *Server) sendLink(job signInJob) {
	ctx, cancel := background()
	defer cancel()
	person, err := s.person(ctx, job.email)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("sign-in link not sent: the address is not a party, contact, token holder or a policy's contact", "request_id", job.requestID)
		return
	}
	if err != nil {
		s.log.Error("sign-in link not sent", "request_id", job.requestID, "error", err)
		return
	}
	if s.cfg.Mailer == nil {
		s.log.Warn("sign-in link not sent: no SMTP_URL, and a link is never logged", "request_id", job.requestID)
		return
	}
	secret := newSecret()
	now := s.now()
	link := store.SignInLink{Hash: hashSecret(secret), Email: job.email, Next: orDefault(job.next, landing), CreatedAt: now, ExpiresAt: now.Add(LinkLifetime)}
	if err := s.st.CreateSignInLink(ctx, link); err != nil {
		s.log.Error("sign-in link not sent", "request_id", job.requestID, "error", err)
		return
	}
	href := strings.TrimRight(s.cfg.PublicURL, "/") + "/sign-in/link/" + secret
	until := localTime(link.ExpiresAt, london)
	m := activities.Mail{
		To: job.email, ToName: person.Name, Subject: "Your sign-in link for Escalate",
		Body: fmt.Sprintf("Sign in to Escalate with this link:\n\n%s\n\nIt works once, until %s (15 minutes). "+
			"If you did not ask to sign in, ignore this email: nobody can sign in without the link.\n\n"+
			"A child at immediate risk of significant harm is never a case for this service: call the police on 999 "+
			"or the children's social care front door at once.\n", href, until),
		HTML: fmt.Sprintf(`<p>Sign in to Escalate with this link:</p><p><a href="%s">Sign in to Escalate</a></p>`+
			`<p>It works once, until %s (15 minutes). If you did not ask to sign in, ignore this email: nobody can sign in without the link.</p>`+
			`<p><strong>A child at immediate risk of significant harm is never a case for this service:</strong> call the police on 999 `+
			`or the children's social care front door at once.</p>`, href, until),
		MessageID: fmt.Sprintf("signin.%s@escalate", hex.EncodeToString(hashSecret(secret)[:12])),
	}
	if err := s.cfg.Mailer.Send(ctx, m); err != nil {
		s.log.Error("sign-in link could not be mailed", "request_id", job.requestID, "to", job.email, "error", err)
		return
	}
	s.log.Info("sign-in link mailed", "request_id", job.requestID, "to", job.email)
}

type linkPageData struct {
	Token  string
	Usable bool
}

// linkPage is where a mailed link lands: a button that signs in (a POST),
// so that a mail scanner fetching the link does not use it up.
func (s *Server) linkPage(c *gin.Context) {
	tok := c.Param("token")
	usable := false
	if secretShape(tok) {
		err := s.st.SignInLinkUsable(c.Request.Context(), hashSecret(tok), s.now())
		switch {
		case err == nil:
			usable = true
		case !errors.Is(err, store.ErrNotFound):
			s.storeFailed(c, err)
			return
		}
	}
	if !usable {
		s.render(c, http.StatusNotFound, "signin_link", "This sign-in link does not work", linkPageData{}, nil)
		return
	}
	s.render(c, http.StatusOK, "signin_link", "Sign in", linkPageData{Token: tok, Usable: true}, nil)
}

// useLink uses a link once and starts a new session: a previous one in
// this browser is ended once the new one has started, never carried over.
func (s *Server) useLink(c *gin.Context) {
	tok := c.PostForm("token")
	if !secretShape(tok) {
		s.render(c, http.StatusNotFound, "signin_link", "This sign-in link does not work", linkPageData{}, nil)
		return
	}
	secret := newSecret()
	now := s.now()
	sess, next, err := s.st.SignIn(c.Request.Context(), hashSecret(tok), store.Session{
		Hash: hashSecret(secret), CSRF: newSecret(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.MaxAge)})
	if errors.Is(err, store.ErrNotFound) {
		s.render(c, http.StatusNotFound, "signin_link", "This sign-in link does not work", linkPageData{}, nil)
		return
	}
	if err != nil {
		s.storeFailed(c, err)
		return
	}
	// The session this browser had, if any, ends: a sign-in never carries
	// one over.
	if ck, err := c.Request.Cookie(s.sessionCookie); err == nil && secretShape(ck.Value) {
		if err := s.st.DeleteSession(c.Request.Context(), hashSecret(ck.Value)); err != nil {
			s.log.Warn("the previous session could not be deleted; it ends on its own", "request_id", requestID(c), "error", err)
		}
	}
	s.setCookie(c, s.sessionCookie, secret, s.cfg.MaxAge)
	s.clearCookie(c, s.formCookie)
	s.log.Info("signed in", "request_id", requestID(c), "email", sess.Email)
	c.Redirect(http.StatusSeeOther, orDefault(safeNext(next), landing))
}

// signOut ends the session and its cookie.
func (s *Server) signOut(c *gin.Context) {
	if ck, err := c.Request.Cookie(s.sessionCookie); err == nil && secretShape(ck.Value) {
		if err := s.st.DeleteSession(c.Request.Context(), hashSecret(ck.Value)); err != nil {
			s.storeFailed(c, err)
			return
		}
	}
	s.clearCookie(c, s.sessionCookie)
	c.Set(principalKey, nil)
	c.Redirect(http.StatusSeeOther, "/signed-out")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// ---- limits ----

// Sign-in requests: per address, 5 at once and then one every 3 minutes;
// per client address, 20 at once and then one a minute.
const (
	signInsPerAddress      = rate.Limit(1.0 / 180)
	signInsPerAddressBurst = 5
	signInsPerClient       = rate.Limit(1.0 / 60)
	signInsPerClientBurst  = 20
	limiterKeys            = 10000
)

// limiter is a token bucket per key with bounded memory: past limiterKeys
// keys, those whose bucket has refilled are forgotten (a fresh bucket is
// the same), and if none has, the oldest are.
type limiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	keys  map[string]*rate.Limiter
	order []string
}

func newLimiter(every rate.Limit, burst int) *limiter {
	return &limiter{every: every, burst: burst, keys: map[string]*rate.Limiter{}}
}

func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= limiterKeys {
			l.forget(now)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.keys[key] = lim
		l.order = append(l.order, key)
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// forget drops full buckets, then the oldest half if still too many.
func (l *limiter) forget(now time.Time) {
	kept := l.order[:0]
	for _, k := range l.order {
		if l.keys[k].TokensAt(now) >= float64(l.burst) {
			delete(l.keys, k)
			continue
		}
		kept = append(kept, k)
	}
	l.order = kept
	if len(l.order) >= limiterKeys {
		for _, k := range l.order[:len(l.order)/2] {
			delete(l.keys, k)
		}
		l.order = append([]string(nil), l.order[len(l.order)/2:]...)
	}
}

// ---- errors ----

func asTimeout(err error, te **store.TimeoutError) bool { return errors.As(err, te) }
