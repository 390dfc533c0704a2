package graph

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kproperty/onestop/graph/gqlws"
	"github.com/kproperty/onestop/internal/admin"
	"github.com/kproperty/onestop/internal/auth"
)

// boardEvery is how often a live staff board is read again. The board
// changes with jobs, availability, shifts and the hour (who is on shift),
// not all of which are events on the hub, so it is read afresh on every
// instance alike; a console or two per property read it.
const boardEvery = 5 * time.Second

// liveBoard sends a property's staff board at once, then again each time
// it reads differently. Its goroutine exits when ctx ends (the client
// stopped or the socket closed), when the server drains, or when the board
// can no longer be read (the error ends the subscription); it then closes
// the channel, which completes the operation.
func (r *Resolver) liveBoard(ctx context.Context, a *auth.Actor, propertyID string) (<-chan []admin.BoardRow, error) {
	rows, err := r.AdminService.StaffBoard(ctx, a, propertyID)
	if err != nil {
		return nil, err
	}
	out := make(chan []admin.BoardRow)
	r.live.streamStarted()
	go func() {
		defer func() { <-ctx.Done(); r.live.streamEnded() }()
		defer close(out)
		last := fingerprint(rows)
		tick := time.NewTicker(boardEvery)
		defer tick.Stop()
		for {
			if rows != nil {
				select {
				case out <- rows:
				case <-ctx.Done():
					return
				case <-r.live.draining:
					return
				}
				rows = nil
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			case <-r.live.draining:
				return
			}
			next, err := r.AdminService.StaffBoard(ctx, a, propertyID)
			if err != nil {
				if ctx.Err() == nil {
					gqlws.AddSubscriptionError(ctx, subscriptionError(ctx, err, r.log))
				}
				return
			}
			if fp := fingerprint(next); fp != last {
				rows, last = next, fp
			}
		}
	}()
	return out, nil
}

// fingerprint is what a board reads as, to tell whether it changed.
func fingerprint(rows []admin.BoardRow) string {
	b, _ := json.Marshal(rows)
	return string(b)
}
