package graph

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/pubsub"
	"github.com/kproperty/onestop/internal/request"
)

// codeResumeRequired ends a subscription the server could not continue;
// extensions.since tells the client where to resume.
const codeResumeRequired = "RESUME_REQUIRED"

// stream turns a subscription into the channel gqlgen reads. Its goroutine
// exits when ctx ends (the client stopped or the socket closed) or the
// subscription fails; either way it unregisters the subscription and
// closes the channel, which completes the operation.
func stream(ctx context.Context, sub *pubsub.Subscription, log *slog.Logger) <-chan *request.Event {
	out := make(chan *request.Event)
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			e, err := sub.Next(ctx)
			if err != nil {
				if ctx.Err() == nil {
					transport.AddSubscriptionError(ctx, subscriptionError(ctx, err, log))
				}
				return
			}
			select {
			case out <- &e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// inboxStream is stream for a person's notifications.
func inboxStream(ctx context.Context, sub *pubsub.InboxSubscription, log *slog.Logger) <-chan *notification.Notification {
	out := make(chan *notification.Notification)
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			n, err := sub.Next(ctx)
			if err != nil {
				if ctx.Err() == nil {
					transport.AddSubscriptionError(ctx, subscriptionError(ctx, err, log))
				}
				return
			}
			select {
			case out <- &n:
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
		return &gqlerror.Error{Message: resume.Error(), Extensions: map[string]any{
			"code": codeResumeRequired, "since": strconv.FormatInt(resume.Since, 10),
		}}
	}
	id := RequestID(ctx)
	log.ErrorContext(ctx, "subscription failed", "request_id", id, "err", err)
	return &gqlerror.Error{Message: "internal error (request id " + id + ")", Extensions: map[string]any{"code": "INTERNAL", "requestId": id}}
}
