package graph

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kproperty/onestop/internal/pubsub"
)

// codeResumeRequired ends a subscription the server could not continue;
// extensions.since tells the client where to resume.
const codeResumeRequired = "RESUME_REQUIRED"

// source is a hub subscription of either kind: request events or a
// person's notifications.
type source[T any] interface {
	Next(ctx context.Context) (T, error)
	Close()
}

// stream turns a subscription into the channel gqlgen reads. Its goroutine
// exits when ctx ends (the client stopped or the socket closed) or the
// subscription fails; either way it unregisters the subscription and
// closes the channel, which completes the operation. live counts the
// stream until the transport is done with it.
func stream[T any](ctx context.Context, sub source[T], log *slog.Logger, live *Live) <-chan *T {
	out := make(chan *T)
	live.streamStarted()
	go func() {
		// Once out is closed the transport sends the operation's error
		// frame (or complete) and only then cancels ctx, so ctx's end is
		// the moment the client has been told why the stream ended.
		defer func() { <-ctx.Done(); live.streamEnded() }()
		defer close(out)
		defer sub.Close()
		for {
			v, err := sub.Next(ctx)
			if err != nil {
				if ctx.Err() == nil {
					transport.AddSubscriptionError(ctx, subscriptionError(ctx, err, log))
				}
				return
			}
			select {
			case out <- &v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// subscriptionError is the error that ends a running subscription. It goes
// out without the error presenter, so it is shaped here the same way.
func subscriptionError(ctx context.Context, err error, log *slog.Logger) *gqlerror.Error {
	var resume *pubsub.ResumeError
	if errors.As(err, &resume) {
		return resumeError(resume)
	}
	id := RequestID(ctx)
	log.ErrorContext(ctx, "subscription failed", "request_id", id, "err", err)
	return &gqlerror.Error{Message: "internal error (request id " + id + ")", Extensions: map[string]any{"code": "INTERNAL", "requestId": id}}
}

// resumeError tells the client to subscribe again from resume.Since.
func resumeError(resume *pubsub.ResumeError) *gqlerror.Error {
	return &gqlerror.Error{Message: resume.Error(), Extensions: map[string]any{
		"code": codeResumeRequired, "since": strconv.FormatInt(resume.Since, 10),
	}}
}
