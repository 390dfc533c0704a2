package graph

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/pubsub"
)

// errcodePersistedQueryNotFound is the code the persisted-query protocol
// answers an unknown hash with; Apollo and urql clients react to it.
const errcodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"

type requestIDKey struct{}

// WithRequestID tags a context with the id that log lines and internal
// errors share, so a user's report can be matched to the log.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the context's request id.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// errorPresenter gives every error a stable extensions.code. Client errors
// keep their message; anything else is logged in full with the request id
// and shown only as a generic INTERNAL error carrying that id.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if e, ok := apperr.As(err); ok {
			gqlErr.Message = e.Message
			gqlErr.Extensions = extensionsOf(e)
			if e.Code == apperr.RateLimited {
				log.WarnContext(ctx, "rate limited", "request_id", RequestID(ctx), "client_ip", ClientIP(ctx),
					"person", personID(ctx), "path", gqlErr.Path.String(), "reason", e.Message)
			}
			field := e.Field
			if field == "" && e.Code == apperr.InvalidInput && len(gqlErr.Path) > 1 {
				// A scalar that failed to parse knows no field name, but
				// the path ends with the argument it came from.
				if name, ok := gqlErr.Path[len(gqlErr.Path)-1].(ast.PathName); ok {
					field = string(name)
				}
			}
			if field != "" {
				gqlErr.Extensions["field"] = field
			}
			return gqlErr
		}
		var resume *pubsub.ResumeError
		if errors.As(err, &resume) {
			// A subscription refused while the server shuts down.
			return resumeError(resume)
		}
		var parsed *gqlerror.Error
		if errors.As(err, &parsed) && parsed.Extensions != nil {
			// Errors gqlgen raises itself: parse and validation failures
			// and bad variables are the client's input.
			if code, ok := parsed.Extensions["code"].(string); ok && code != "" {
				if code == errcodePersistedQueryNotFound {
					// The persisted-query protocol's own signal: the app
					// sends the query's text once and carries on.
					return parsed
				}
				parsed.Extensions["code"] = string(apperr.InvalidInput)
				parsed.Extensions["reason"] = code
				return parsed
			}
		}
		if gqlErr.Path == nil && gqlErr.Extensions == nil && errors.As(err, &parsed) {
			// A validation error with no code of its own.
			parsed.Extensions = map[string]any{"code": string(apperr.InvalidInput)}
			return parsed
		}
		id := RequestID(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			log.WarnContext(ctx, "operation timed out", "request_id", id, "path", gqlErr.Path.String(), "err", err)
			return &gqlerror.Error{
				Message:    fmt.Sprintf("the operation took too long and was stopped (request id %s)", id),
				Path:       gqlErr.Path,
				Extensions: map[string]any{"code": string(apperr.Timeout), "requestId": id},
			}
		}
		if unavailable(err) {
			log.ErrorContext(ctx, "database unavailable", "request_id", id, "path", gqlErr.Path.String(), "err", err)
			return &gqlerror.Error{
				Message:    fmt.Sprintf("the service is briefly unavailable; try again shortly (request id %s)", id),
				Path:       gqlErr.Path,
				Extensions: map[string]any{"code": string(apperr.Unavailable), "requestId": id},
			}
		}
		log.ErrorContext(ctx, "internal error", "request_id", id, "path", gqlErr.Path.String(), "err", err)
		return &gqlerror.Error{
			Message:    fmt.Sprintf("internal error (request id %s)", id),
			Path:       gqlErr.Path,
			Extensions: map[string]any{"code": string(apperr.Internal), "requestId": id},
		}
	}
}

// extensionsOf is the extensions object of a client error: its code, and
// for RATE_LIMITED the whole seconds to wait (retryAfter).
func extensionsOf(e *apperr.Error) map[string]any {
	ext := map[string]any{"code": string(e.Code)}
	if e.RetryAfter > 0 {
		ext["retryAfter"] = int(math.Ceil(e.RetryAfter.Seconds()))
	}
	return ext
}

// unavailable reports whether err is a failure to reach PostgreSQL (a
// refused or dropped connection, or a server shutting down or starting up)
// rather than a fault in the call itself, so a client may retry it.
func unavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	// SQLSTATE class 08 is a connection exception; 57P01-57P03 a server
	// shutting down or not yet accepting connections.
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		code := st.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	return false
}

// recoverFunc turns a resolver panic into an INTERNAL error instead of a
// dropped connection.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "request_id", RequestID(ctx), "panic", p, "stack", string(debug.Stack()))
		return errors.New("panic in resolver")
	}
}
