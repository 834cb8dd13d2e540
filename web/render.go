package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/cases"
)

//go:embed templates
var templateFS embed.FS

// london is the time zone pages show times in when a case's policy has
// none loaded.
var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// localTime is an instant as people read it: "5pm on Tuesday 8 December
// 2026", "9:30am on ...", "midday on ...", in loc.
func localTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "not recorded"
	}
	return clock(t, loc) + " on " + t.In(loc).Format("Monday 2 January 2006")
}

// clock is the time of day in the GOV.UK style: 5pm, 9:30am, midday,
// midnight.
func clock(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	h, m := t.Hour(), t.Minute()
	switch {
	case h == 0 && m == 0:
		return "midnight"
	case h == 12 && m == 0:
		return "midday"
	}
	suffix := "am"
	if h >= 12 {
		suffix = "pm"
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	if m == 0 {
		return fmt.Sprintf("%d%s", h12, suffix)
	}
	return fmt.Sprintf("%d:%02d%s", h12, m, suffix)
}

var funcs = template.FuncMap{
	"localTime": localTime,
	"query":     url.QueryEscape,
	"fv":        fv,
	"dv":        dv,
	"opts":      withOptions,
	"yesNo":     yesNoOptions,
	"yesNoSides": func() []option {
		return []option{{Value: "raiser", Label: "The raiser's side"}, {Value: "respondent", Label: "The respondent's side"}}
	},
	"actionRows": func() []int { return []int{1, 2, 3} },
	"evidenceWord": func(required bool) string {
		if required {
			return " (the next stage requires it)"
		}
		return " (optional)"
	},
}

// pages are the page templates, each parsed with the layout.
var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"start", "signin", "signin_sent", "signin_link", "signed_out", "cases", "case", "error", "raise", "raised", "act"} {
		out[name] = template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFS, "templates/layout.tmpl", "templates/fields.tmpl", "templates/"+name+".tmpl"))
	}
	return out
}()

// fieldError is one form field's error, for the error summary and the
// field.
type fieldError struct {
	Field   string
	Message string
}

// pageData is what every page's layout needs, with the page's own data.
type pageData struct {
	Title     string
	Person    *cases.Principal
	CSRF      string
	Errors    []fieldError
	Nav       string
	Static    string
	Page      any
	RequestID string
}

// ErrorFor is the message for a field, or "".
func (p pageData) ErrorFor(field string) string {
	for _, e := range p.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// render writes a page with the layout.
func (s *Server) render(c *gin.Context, status int, name, title string, data any, errs []fieldError) {
	pd := pageData{Title: title, Errors: errs, Page: data, Static: s.staticVersion, RequestID: requestID(c), Nav: name}
	if p, ok := signedInAs(c); ok {
		pd.Person = &p
	}
	// Signed in, every page has a form (signing out); signed out, only
	// the sign-in pages do, and only they set the form cookie.
	if pd.Person != nil || name == "signin" || name == "signin_link" {
		pd.CSRF = s.csrfToken(c)
	}
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, pd); err != nil {
		s.log.Error("page: template", "request_id", requestID(c), "page", name, "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("Sorry, there is a problem with the service. Try again later."))
		c.Abort()
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	c.Abort()
}

// errorPage is the page for an HTTP error status.
type errorInfo struct {
	Status  int
	Heading string
	Lines   []string
}

var errorTexts = map[int]errorInfo{
	http.StatusBadRequest: {Heading: "Sorry, there is a problem with that address",
		Lines: []string{"The address or what was sent with it could not be read. Check it, or go to the start page."}},
	http.StatusForbidden: {Heading: "Sorry, that form could not be sent",
		Lines: []string{"It had expired, or did not come from this service's own page.", "Go back, reload the page and try again."}},
	http.StatusNotFound: {Heading: "Page not found",
		Lines: []string{"If you typed the web address, check it is correct.", "If you followed a link to a case, you may not be one of the people who can see it, or you may need to sign in with the email address the case names."}},
	http.StatusTooManyRequests: {Heading: "Sorry, there have been too many requests",
		Lines: []string{"To protect people's accounts, sign-in links are limited. Wait a few minutes and try again."}},
	http.StatusInternalServerError: {Heading: "Sorry, there is a problem with the service",
		Lines: []string{"Try again later. Nothing you sent was changed."}},
	http.StatusServiceUnavailable: {Heading: "Sorry, the service is unavailable",
		Lines: []string{"Try again in a few minutes. Nothing you sent was changed."}},
}

func (s *Server) errorPage(c *gin.Context, status int) {
	info, ok := errorTexts[status]
	if !ok {
		info = errorTexts[http.StatusInternalServerError]
	}
	info.Status = status
	s.render(c, status, "error", info.Heading, info, nil)
}
