package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"escalate/store"
	"escalate/workflows"
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
	errUnavailable     = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "a service escalate depends on is unavailable; nothing was changed, please try again"}
	errInternal        = &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "something went wrong; the request ID identifies it in the logs"}
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
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case workflows.ErrConflict:
			return conflict(appErr.Message())
		case workflows.ErrRuleViolation:
			return ruleViolation(appErr.Message(), nil)
		case workflows.ErrForbidden:
			return errForbidden
		}
	}
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.As(err, &unavailable), errors.As(err, &deadline),
		errors.Is(err, context.DeadlineExceeded), store.IsUnavailable(err):
		s.log.WarnContext(c.Request.Context(), "dependency unavailable", "request_id", requestID(c), "error", err)
		return errUnavailable
	}
	s.log.ErrorContext(c.Request.Context(), "request failed", "request_id", requestID(c), "method", c.Request.Method,
		"path", c.FullPath(), "error", err)
	return errInternal
}

// bindJSON decodes the body strictly into dst and validates it, turning
// every decoding or validation failure into a 400 naming the field.
func bindJSON(c *gin.Context, dst any) error {
	err := c.ShouldBindJSON(dst)
	if err == nil {
		return nil
	}
	return bindError(err)
}

func bindError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var verrs validator.ValidationErrors
	switch {
	case errors.As(err, &maxErr):
		return invalid("the body is over 64 KiB", nil)
	case errors.Is(err, io.EOF):
		return invalid("the body is empty; send a JSON object", nil)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("the body is not valid JSON", nil)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invalid("the body must be a JSON object", nil)
		}
		return invalidField(field, "must be "+jsonType(typeErr.Type.String()))
	case errors.As(err, &verrs):
		fields := map[string]string{}
		for _, fe := range verrs {
			fields[fieldPath(fe.Namespace())] = describe(fe)
		}
		return invalid("the request is not valid", fields)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidField(name, "unknown field")
	}
	return invalid("the body could not be read", nil)
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// fieldPath turns "createCaseRequest.respondent.email" into "respondent.email".
func fieldPath(ns string) string {
	if i := strings.Index(ns, "."); i >= 0 {
		return ns[i+1:]
	}
	return ns
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required", "notblank":
		return "required"
	case "max":
		switch fe.Kind() {
		case reflect.Slice:
			return "at most " + fe.Param() + " items"
		case reflect.String:
			return "at most " + fe.Param() + " characters"
		}
		return "at most " + fe.Param()
	case "min":
		return "at least " + fe.Param()
	case "email":
		return "must be an email address"
	case "oneof":
		return "must be one of: " + fe.Param()
	case "childref":
		return "letters, digits, '-' and '/' only, at most 64"
	}
	return "is not valid (" + fe.Tag() + ")"
}
