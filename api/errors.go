package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"escalate/cases"
	"escalate/store"
)

// apiError is an error with its HTTP status and the contract's code.
type apiError struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func invalid(msg string, fields map[string]string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Message: msg, Fields: fields}
}

func invalidField(field, why string) *apiError {
	return invalid("the request is not valid", map[string]string{field: why})
}

func ruleViolation(msg string, fields map[string]string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "rule_violation", Message: msg, Fields: fields}
}

var (
	errUnauthenticated = &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "a valid bearer token is required"}
	errForbidden       = &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "you may not do this"}
	errNotFound        = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	errUnavailable     = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: cases.ErrUnavailable.Message}
	errInternal        = &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "something went wrong; the request ID identifies it in the logs"}
	// errRecordRefused: the database refused a value that passed the API's
	// checks; the workflow undid the change.
	errRecordRefused = &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Message: "a value in this request cannot be recorded; nothing was changed"}
	// errMaybeDone: a change was sent but its answer did not come in time.
	errMaybeDone = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "a service escalate depends on did not answer in time, so whether the change was made is not known; read it back before trying again"}
)

func conflict(msg string) *apiError {
	return &apiError{Status: http.StatusConflict, Code: "conflict", Message: msg}
}

// handler is a gin handler that returns its error instead of writing it.
type handler func(c *gin.Context) error

// wrap is the one place errors become responses.
func (s *Server) wrap(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.writeError(c, err)
		}
	}
}

func (s *Server) writeError(c *gin.Context, err error) {
	e := s.classify(c, err)
	body := gin.H{"code": e.Code, "message": e.Message, "request_id": requestID(c)}
	if len(e.Fields) > 0 {
		body["fields"] = e.Fields
	}
	if e.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	c.AbortWithStatusJSON(e.Status, gin.H{"error": body})
}

// classify maps any error to the contract's error model. Internal detail is
// logged, never returned.
func (s *Server) classify(c *gin.Context, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if ce, ok := cases.AsError(err); ok {
		return s.fromCore(c, ce, err)
	}
	var unavailable *serviceerror.Unavailable
	var storeTimeout *store.TimeoutError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.As(err, &storeTimeout):
		// PostgreSQL took the call but did not answer within the store's
		// deadline. Only a write that may have reached it leaves the
		// outcome unknown; a read, or a call that sent nothing, changed
		// nothing, whatever the request's method.
		s.log.WarnContext(c.Request.Context(), "PostgreSQL did not answer in time", "request_id", requestID(c), "error", err)
		if storeTimeout.MayHaveWritten {
			return errMaybeDone
		}
		return errUnavailable
	case timedOut(err):
		s.log.WarnContext(c.Request.Context(), "dependency timed out", "request_id", requestID(c), "error", err)
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			return errUnavailable // a read changes nothing
		}
		return errMaybeDone
	case errors.As(err, &unavailable), store.IsUnavailable(err):
		s.log.WarnContext(c.Request.Context(), "dependency unavailable", "request_id", requestID(c), "error", err)
		return errUnavailable
	}
	s.log.ErrorContext(c.Request.Context(), "request failed", "request_id", requestID(c), "method", c.Request.Method,
		"path", c.FullPath(), "error", err)
	return errInternal
}

// fromCore maps a refusal of the core (package cases) to the contract's
// status and code, with the core's own message and field reasons.
func (s *Server) fromCore(c *gin.Context, ce *cases.Error, err error) *apiError {
	switch ce.Kind {
	case cases.Invalid:
		return invalid(ce.Message, ce.Fields)
	case cases.Rule:
		return ruleViolation(ce.Message, ce.Fields)
	case cases.Forbidden:
		return errForbidden
	case cases.NotFound:
		return errNotFound
	case cases.Conflict:
		return conflict(ce.Message)
	case cases.Unavailable:
		// The core says which: a dependency down, or too busy to take the
		// change (cases.ErrUnavailable, cases.ErrBusy); both changed nothing.
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: ce.Message}
	case cases.OutcomeUnknown:
		return outcomeUnknown(ce.Message)
	case cases.RecordRefused:
		s.log.ErrorContext(c.Request.Context(), "record refused a value", "request_id", requestID(c), "error", err)
		return errRecordRefused
	}
	return errInternal
}

// timedOut reports whether err is a wait that ended before the answer came:
// the request may have reached Temporal (or PostgreSQL) and been acted on.
func timedOut(err error) bool { return cases.TimedOut(err) }

// outcomeUnknown is a 503 for a change Temporal may have accepted before
// the wait for its answer ended: unlike errUnavailable it does not say that
// nothing was changed, and it says how to find out.
func outcomeUnknown(msg string) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: msg}
}

// notAccepted reports whether Temporal answered a start or an update with a
// refusal that means it recorded nothing: the request was malformed for it,
// the namespace is missing, or it was not allowed. Timeouts and Unavailable
// are not refusals: Temporal may have acted before the answer was lost.
func notAccepted(err error) bool { return cases.NotAccepted(err) }
