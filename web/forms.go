package web

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/store"
)

// The pages' forms send what a person typed to the core (package cases),
// the JSON API's own; its refusals come back as *cases.Error and are shown
// in the GOV.UK error summary with the core's own words, each linked to
// its field.

// fieldMap names, for one form, each of the core's field paths (as the
// API names them: "respondent.email") with the form's field id and the
// label a refusal is prefixed with.
type fieldMap map[string]struct{ ID, Label string }

// refusal is how a form shows a refusal of the core: the error summary's
// lines (a field's own, linked to it; the case's, linked to first) and
// the status to answer with. ok is false for an error that is not a
// refusal (a dependency failed), which failed answers.
func refusal(err error, fields fieldMap, first string) (errs []fieldError, status int, ok bool) {
	e, ok := cases.AsError(err)
	if !ok {
		return nil, 0, false
	}
	switch e.Kind {
	case cases.NotFound:
		return nil, http.StatusNotFound, true
	case cases.Forbidden:
		return nil, http.StatusForbidden, true
	case cases.Unavailable, cases.OutcomeUnknown:
		return nil, http.StatusServiceUnavailable, true
	}
	status = http.StatusUnprocessableEntity
	if e.Kind == cases.Conflict {
		status = http.StatusConflict
	}
	var keys []string
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		f, known := fields[k]
		if !known {
			// A field the form does not show (a part of a list, a header):
			// still said, linked to the form's first field.
			errs = append(errs, fieldError{Field: first, Message: upperFirst(k + ": " + e.Fields[k])})
			continue
		}
		if seen[f.ID] {
			continue
		}
		seen[f.ID] = true
		errs = append(errs, fieldError{Field: f.ID, Message: f.Label + ": " + e.Fields[k]})
	}
	if len(errs) == 0 || (e.Message != "" && e.Message != "the request is not valid") {
		// The case's own reason (a procedure rule, the case's state).
		errs = append([]fieldError{{Field: first, Message: upperFirst(e.Message)}}, errs...)
	}
	return errs, status, true
}

// formRefusal is refusal for a form shown again with its error summary;
// a refusal with nothing to show on the form (not found, forbidden,
// unavailable) or an error that is no refusal is answered by failed, and
// ok is false.
func (s *Server) formRefusal(c *gin.Context, err error, fields fieldMap, first string) ([]fieldError, int, bool) {
	errs, status, ok := refusal(err, fields, first)
	if !ok || status == http.StatusNotFound || status == http.StatusForbidden || status == http.StatusServiceUnavailable {
		s.failed(c, err)
		return nil, 0, false
	}
	return errs, status, true
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// failed answers a change the core could not make for a reason that is not
// a refusal: 503 when a dependency did not answer, else 500.
func (s *Server) failed(c *gin.Context, err error) {
	if e, ok := cases.AsError(err); ok {
		switch e.Kind {
		case cases.NotFound:
			s.errorPage(c, http.StatusNotFound)
			return
		case cases.Forbidden:
			s.errorPage(c, http.StatusForbidden)
			return
		case cases.OutcomeUnknown:
			s.log.Warn("page: change not confirmed", "request_id", requestID(c), "error", err)
			c.Header("Retry-After", "5")
			s.render(c, http.StatusServiceUnavailable, "error", "Sorry, we do not know yet whether that was recorded",
				errorInfo{Status: http.StatusServiceUnavailable, Heading: "Sorry, we do not know yet whether that was recorded",
					Lines: []string{"The service that records changes did not answer in time.", "Open the case again in a minute to see whether it was recorded before trying again: sending the same form again records it once."}}, nil)
			return
		case cases.Unavailable:
			s.unavailable(c, "page: core unavailable", err)
			return
		}
	}
	if storeDown(err) || cases.TimedOut(err) || cases.TemporalUnavailable(err) {
		s.unavailable(c, "page: dependency unavailable", err)
		return
	}
	s.log.Error("page: change failed", "request_id", requestID(c), "error", err)
	s.errorPage(c, http.StatusInternalServerError)
}

// core is the request's context for the core, naming the request in its
// logs.
func core(c *gin.Context) context.Context {
	return cases.WithRequestID(c.Request.Context(), requestID(c))
}

// formKey is a form's idempotency key: a random token the page put in the
// form, so that sending the same form twice (a double click, a reload)
// records it once. "" if missing or not one of ours.
func formKey(c *gin.Context) string {
	k := c.PostForm("form_key")
	if !secretShape(k) {
		return ""
	}
	return "page-" + k
}

// postForm is the value of a form field, with Windows line endings made
// newlines (browsers send textareas with CRLF; the text rule refuses CR).
func postForm(c *gin.Context, name string) string {
	return strings.ReplaceAll(c.PostForm(name), "\r\n", "\n")
}

// sessionHash is the signed-in session's key.
func sessionHash(c *gin.Context) []byte {
	v, ok := c.Get(sessionKey)
	if !ok {
		return nil
	}
	return v.(store.Session).Hash
}
