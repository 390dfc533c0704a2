package pubsub

import (
	"context"
	"strconv"

	"github.com/kproperty/onestop/internal/apperr"

	"github.com/kproperty/onestop/internal/notification"
)

// Notifications are written in the same transaction as the events that
// cause them, after the event writer's ordering lock is taken, so their ids
// too become visible in commit order. The hub therefore tails them exactly
// as it tails events: one read per wake-up for the whole process, fanned
// out in memory to each person's subscriptions.

// InboxSubscription is one person's live notification stream. Like a
// Subscription it first hands out what the person missed after since, from
// the database, then the live ones, each once and in id order.
type InboxSubscription struct {
	hub      *Hub
	personID string
	live     chan *notification.Notification
	reason   string
	// last is the id of the last notification handed out (or the starting
	// point): the resume cursor.
	last int64
	// backfillTo is the hub's notification cursor at registration:
	// notifications up to it come from the database, later ones from live.
	backfillTo int64
	backfilled bool
	backlog    []notification.Notification
}

// SubscribeNotifications streams the person's notifications: after since
// (the id of the last one the client saw) first, or from now on when since
// is nil.
func (h *Hub) SubscribeNotifications(ctx context.Context, personID string, since *string) (*InboxSubscription, error) {
	var from int64 = -1
	if since != nil {
		n, err := strconv.ParseInt(*since, 10, 64)
		if err != nil || n < 0 {
			return nil, apperr.Invalid("since", "since must be the id of a notification")
		}
		from = n
	}
	last, err := h.store.LastNotificationID(ctx)
	if err != nil {
		return nil, err
	}
	if from > last {
		return nil, apperr.Invalid("since", "since is after the newest notification")
	}
	if from < 0 {
		// From now on: after the newest notification written now, however
		// far the hub's own cursor is behind it.
		from = last
	}
	// As for events, registering and reading the cursor under one lock
	// makes the switch from the database to live exact.
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, &ResumeError{Reason: "server shutting down", Since: max(from, 0)}
	}
	s := &InboxSubscription{hub: h, personID: personID, live: make(chan *notification.Notification, h.opts.Buffer), backfillTo: h.ncursor}
	if from < 0 || from >= h.ncursor {
		s.last, s.backfilled = max(from, h.ncursor), true
	} else {
		s.last = from
	}
	set := h.inboxes[personID]
	if set == nil {
		set = map[*InboxSubscription]struct{}{}
		h.inboxes[personID] = set
	}
	set[s] = struct{}{}
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
	for i := range ns {
		n := &ns[i]
		if n.ID <= h.ncursor {
			continue
		}
		h.ncursor = n.ID
		for s := range h.inboxes[n.PersonID] {
			select {
			case s.live <- n:
			default:
				s.unregisterLocked()
				s.reason = "subscriber too slow"
				close(s.live)
			}
		}
	}
}

// Next returns the next notification, ctx's error when ctx ends, or a
// *ResumeError naming the last one handed out when the hub dropped the
// subscription.
func (s *InboxSubscription) Next(ctx context.Context) (notification.Notification, error) {
	for {
		if len(s.backlog) > 0 {
			n := s.backlog[0]
			s.backlog = s.backlog[1:]
			s.last = n.ID
			return n, nil
		}
		if !s.backfilled {
			page, err := s.hub.store.PersonNotifications(ctx, s.personID, s.last, s.backfillTo, s.hub.opts.Batch)
			if err != nil {
				return notification.Notification{}, err
			}
			if len(page) < s.hub.opts.Batch {
				s.backfilled = true
			}
			s.backlog = page
			continue
		}
		// Everything up to backfillTo has been handed out: a resume need
		// not look there again.
		s.last = max(s.last, s.backfillTo)
		select {
		case <-ctx.Done():
			return notification.Notification{}, ctx.Err()
		case n, ok := <-s.live:
			if !ok {
				return notification.Notification{}, &ResumeError{Reason: s.reason, Since: s.last}
			}
			if n.ID <= s.last {
				continue
			}
			s.last = n.ID
			return *n, nil
		}
	}
}

// Close unregisters the subscription.
func (s *InboxSubscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.unregisterLocked()
}

func (s *InboxSubscription) unregisterLocked() {
	set := s.hub.inboxes[s.personID]
	delete(set, s)
	if len(set) == 0 {
		delete(s.hub.inboxes, s.personID)
	}
}
