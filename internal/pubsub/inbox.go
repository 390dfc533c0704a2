package pubsub

import (
	"context"

	"github.com/kproperty/onestop/internal/notification"
)

// Notifications are written in the same transaction as the events that
// cause them, after the event writer's ordering lock is taken, so their ids
// too become visible in commit order. The hub therefore tails them exactly
// as it tails events: one read per wake-up for the whole process, fanned
// out in memory to each person's subscriptions.

// InboxSubscription is one person's live notification stream.
type InboxSubscription struct {
	hub      *Hub
	personID string
	live     chan notification.Notification
	reason   string
	last     int64
}

// SubscribeNotifications streams the person's new notifications from now
// on; earlier ones are in the inbox query.
func (h *Hub) SubscribeNotifications(personID string) (*InboxSubscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, &ResumeError{Reason: "server shutting down"}
	}
	s := &InboxSubscription{hub: h, personID: personID, live: make(chan notification.Notification, h.opts.Buffer), last: h.ncursor}
	h.inboxes[s] = struct{}{}
	return s, nil
}

// catchUpNotifications reads and delivers every notification after the
// notification cursor.
func (h *Hub) catchUpNotifications(ctx context.Context) {
	for ctx.Err() == nil {
		ns, err := h.store.NotificationsAfter(ctx, h.ncursor, h.opts.Batch)
		if err != nil {
			if ctx.Err() == nil {
				h.opts.Log.Warn("read notifications", "after", h.ncursor, "err", err)
			}
			return
		}
		h.deliverNotifications(ns)
		if len(ns) < h.opts.Batch {
			return
		}
	}
}

func (h *Hub) deliverNotifications(ns []notification.Notification) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range ns {
		if n.ID <= h.ncursor {
			continue
		}
		h.ncursor = n.ID
		for s := range h.inboxes {
			if s.personID != n.PersonID {
				continue
			}
			select {
			case s.live <- n:
			default:
				delete(h.inboxes, s)
				s.reason = "subscriber too slow; read the inbox with myNotifications"
				close(s.live)
			}
		}
	}
}

// Next returns the next notification, ctx's error when ctx ends, or a
// *ResumeError when the hub dropped the subscription.
func (s *InboxSubscription) Next(ctx context.Context) (notification.Notification, error) {
	for {
		select {
		case <-ctx.Done():
			return notification.Notification{}, ctx.Err()
		case n, ok := <-s.live:
			if !ok {
				return notification.Notification{}, &ResumeError{Reason: s.reason}
			}
			if n.ID <= s.last {
				continue
			}
			s.last = n.ID
			return n, nil
		}
	}
}

// Close unregisters the subscription.
func (s *InboxSubscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	delete(s.hub.inboxes, s)
}
