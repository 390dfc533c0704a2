package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/pubsub"
)

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
			gqlErr.Extensions = map[string]any{"code": string(e.Code)}
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
		log.ErrorContext(ctx, "internal error", "request_id", id, "path", gqlErr.Path.String(), "err", err)
		return &gqlerror.Error{
			Message:    fmt.Sprintf("internal error (request id %s)", id),
			Path:       gqlErr.Path,
			Extensions: map[string]any{"code": string(apperr.Internal), "requestId": id},
		}
	}
}

// recoverFunc turns a resolver panic into an INTERNAL error instead of a
// dropped connection.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "request_id", RequestID(ctx), "panic", p, "stack", string(debug.Stack()))
		return errors.New("panic in resolver")
	}
}
