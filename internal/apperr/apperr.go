// Package apperr defines the errors that clients may see. Domain packages
// decide the code; the GraphQL edge maps it once to extensions.code. Any error
// that is not an *Error is internal: it is logged and never shown.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error class that apps switch on.
type Code string

// The codes the API promises. Clients rely on these strings; never rename one.
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	InvalidInput    Code = "INVALID_INPUT"
	Conflict        Code = "CONFLICT"
	RateLimited     Code = "RATE_LIMITED"
	Internal        Code = "INTERNAL"
	// QueryTooComplex refuses an operation before it runs: too deep, too
	// costly, too many aliases or root fields (docs/security.md).
	QueryTooComplex Code = "QUERY_TOO_COMPLEX"
	// Timeout is an operation that ran past its deadline and was cancelled;
	// nothing it was writing was kept.
	Timeout Code = "TIMEOUT"
	// Unavailable means a backing service (PostgreSQL) could not be reached;
	// the same call may succeed if retried a little later.
	Unavailable Code = "UNAVAILABLE"
)

// Error is a client-facing error: a code, a human message and, for
// INVALID_INPUT, the input field at fault.
type Error struct {
	Code    Code
	Message string
	Field   string
	// RetryAfter, for RATE_LIMITED, is how long the client should wait
	// before trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// New returns an error with the given code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an INVALID_INPUT error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: InvalidInput, Message: fmt.Sprintf(format, args...), Field: field}
}

// Limited returns a RATE_LIMITED error telling the client when to retry.
func Limited(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Code: RateLimited, Message: fmt.Sprintf(format, args...), RetryAfter: retryAfter}
}

// ErrNotFound is the one answer for a missing record and for one the viewer
// may not see, so that ids cannot be probed.
var ErrNotFound = &Error{Code: NotFound, Message: "not found"}

// As returns the client-facing error inside err, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns err's code, INTERNAL for anything not made by this package.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}
