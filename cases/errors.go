package cases

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"escalate/store"
	"escalate/workflows"
)

// Kind is what sort of refusal an Error is. The JSON API maps each to its
// status and code (api/errors.go); the pages map them to the GOV.UK error
// summary or an error page.
type Kind int

const (
	// Invalid: a value is malformed, missing or out of range (400
	// invalid_request); Fields names them.
	Invalid Kind = iota + 1
	// Rule: a procedure rule says no (422 rule_violation).
	Rule
	// Forbidden: the person may read the case but not do this (403).
	Forbidden
	// NotFound: no such case, or one the person may not read (404): the two
	// are never told apart.
	NotFound
	// Conflict: the case's state does not allow it (409).
	Conflict
	// Unavailable: Temporal or PostgreSQL did not answer before anything
	// was changed (503, "nothing was changed").
	Unavailable
	// OutcomeUnknown: a change was sent but its answer did not come; the
	// message says how to find out (503).
	OutcomeUnknown
	// RecordRefused: PostgreSQL refused a value that passed the checks; the
	// workflow undid the change (400).
	RecordRefused
)

// Error is a refusal of the core, with the message and field reasons the
// person is shown (the JSON API's own words).
type Error struct {
	Kind    Kind
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string { return e.Message }

// Field is the reason given for field, or "".
func (e *Error) Field(field string) string { return e.Fields[field] }

// InvalidFields is a 400 with a reason per field.
func InvalidFields(msg string, fields map[string]string) *Error {
	return &Error{Kind: Invalid, Message: msg, Fields: fields}
}

// InvalidField is a 400 naming one field.
func InvalidField(field, why string) *Error {
	return InvalidFields("the request is not valid", map[string]string{field: why})
}

// RuleViolation is a 422: a procedure rule says no.
func RuleViolation(msg string, fields map[string]string) *Error {
	return &Error{Kind: Rule, Message: msg, Fields: fields}
}

// ConflictError is a 409: the case's state does not allow it.
func ConflictError(format string, args ...any) *Error {
	return &Error{Kind: Conflict, Message: fmt.Sprintf(format, args...)}
}

var (
	// ErrNotFound: no such case, or one the person may not see.
	ErrNotFound = &Error{Kind: NotFound, Message: "not found"}
	// ErrForbidden: the person may see the case but not do this.
	ErrForbidden = &Error{Kind: Forbidden, Message: "you may not do this"}
	// ErrUnavailable: a dependency did not answer and nothing was changed.
	ErrUnavailable = &Error{Kind: Unavailable, Message: "a service escalate depends on is unavailable; nothing was changed, please try again"}
	// ErrRecordRefused: the database refused a value; nothing was changed.
	ErrRecordRefused = &Error{Kind: RecordRefused, Message: "a value in this request cannot be recorded; nothing was changed"}
)

func outcomeUnknown(format string, args ...any) *Error {
	return &Error{Kind: OutcomeUnknown, Message: fmt.Sprintf(format, args...)}
}

// AsError is err as the core's refusal, if it is one: an *Error, or a
// refusal of the case's workflow (its validators' conflict and rule
// violations, a value the record refused), or a case not found in the
// store. Anything else (a dependency that failed) is not.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case workflows.ErrConflict:
			return &Error{Kind: Conflict, Message: appErr.Message()}, true
		case workflows.ErrRuleViolation:
			return &Error{Kind: Rule, Message: appErr.Message()}, true
		case workflows.ErrRecordRefused:
			return ErrRecordRefused, true
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound, true
	}
	return nil, false
}

// TimedOut reports whether err is a wait that ended before the answer came:
// the request may have reached Temporal (or PostgreSQL) and been acted on.
func TimedOut(err error) bool {
	var updateTimeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	var deadline *serviceerror.DeadlineExceeded
	var canceled *serviceerror.Canceled
	return errors.As(err, &updateTimeout) || errors.As(err, &deadline) || errors.As(err, &canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// NotAccepted reports whether Temporal answered a start or an update with a
// refusal that means it recorded nothing: the request was malformed for it,
// the namespace is missing, or it was not allowed. Timeouts and Unavailable
// are not refusals: Temporal may have acted before the answer was lost.
func NotAccepted(err error) bool {
	var invalidArg *serviceerror.InvalidArgument
	var nsNotFound *serviceerror.NamespaceNotFound
	var denied *serviceerror.PermissionDenied
	var precondition *serviceerror.FailedPrecondition
	var unimplemented *serviceerror.Unimplemented
	if TimedOut(err) {
		return false
	}
	return errors.As(err, &invalidArg) || errors.As(err, &nsNotFound) || errors.As(err, &denied) ||
		errors.As(err, &precondition) || errors.As(err, &unimplemented)
}

// TemporalUnavailable: Temporal answered Unavailable.
func TemporalUnavailable(err error) bool {
	var unavailable *serviceerror.Unavailable
	return errors.As(err, &unavailable)
}

// recordRefused: the workflow could not record the change (PostgreSQL
// refused a value), so nothing was changed.
func recordRefused(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == workflows.ErrRecordRefused
}
