package graph

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kproperty/onestop/graph/gqlws"
	"github.com/kproperty/onestop/internal/pubsub"
)

// codeResumeRequired ends a subscription the server could not continue;
// extensions.since tells the client where to resume.
const codeResumeRequired = "RESUME_REQUIRED"

// follow ties a hub subscription to its operation. The hub writes into
// the very channel the transport reads, so a subscription has no goroutine
// of its own: when ctx ends (the client stopped, the socket closed, or the
// transport has sent the error that ended the stream: it cancels ctx only
// after that frame) the hub forgets the subscription, and live counts the
// stream until then.
func follow(ctx context.Context, sub interface{ Close() }, live *Live) {
	live.streamStarted()
	context.AfterFunc(ctx, func() {
		sub.Close()
		live.streamEnded()
	})
}

// ender is what the hub calls as it ends a subscription, just before it
// closes the channel: the transport sends what the channel holds, then
// this error (RESUME_REQUIRED with since, or INTERNAL).
func ender(ctx context.Context, log *slog.Logger) func(error) {
	return func(err error) {
		if ctx.Err() == nil {
			gqlws.AddSubscriptionError(ctx, subscriptionError(ctx, err, log))
		}
	}
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
