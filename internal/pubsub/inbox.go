package pubsub

import (
	"context"
	"strconv"
	"time"

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
// the database, then the live ones, each once and in id order, through a
// channel the hub writes into.
type InboxSubscription struct {
	hub      *Hub
	personID string
	feed     *feed[notification.Notification]
}

// SubscribeNotifications streams the person's notifications as long as
// ctx lives: after since (the id of the last one the client saw) first, or
// from now on when since is nil. end is as for Subscribe.
func (h *Hub) SubscribeNotifications(ctx context.Context, personID string, since *string, end func(error)) (*InboxSubscription, error) {
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
	if h.nidle {
		// Nobody was subscribed, so the tailer read nothing: what it
		// skipped, up to last, is nobody's to receive live.
		h.ncursor, h.nidle = max(h.ncursor, last), false
	}
	s := &InboxSubscription{hub: h, personID: personID,
		feed: newFeed(ctx, &h.mu, h.opts.Buffer, func(n *notification.Notification) int64 { return n.ID }, end)}
	s.feed.sent = from
	if from < h.ncursor {
		s.feed.fill = s.backfill(h.ncursor)
		s.feed.startPumpLocked()
	}
	set := h.inboxes[personID]
	if set == nil {
		set = map[*InboxSubscription]struct{}{}
		h.inboxes[personID] = set
	}
	set[s] = struct{}{}
	return s, nil
}

// backfill reads the person's notifications up to upTo, a page at a time.
func (s *InboxSubscription) backfill(upTo int64) func(ctx context.Context, after int64) ([]*notification.Notification, int64, bool, error) {
	return func(ctx context.Context, after int64) ([]*notification.Notification, int64, bool, error) {
		page, err := s.hub.store.PersonNotifications(ctx, s.personID, after, upTo, s.hub.opts.Batch)
		if err != nil {
			return nil, 0, false, err
		}
		out := make([]*notification.Notification, len(page))
		for i := range page {
			out[i] = &page[i]
		}
		// Everything up to upTo has been handed out once the last page
		// is: a resume need not look there again.
		reached, more := upTo, len(page) == s.hub.opts.Batch
		if more {
			reached = page[len(page)-1].ID
		}
		return out, reached, more, nil
	}
}

// tailNotifications delivers notifications in id order until ctx ends,
// when rung or polled.
func (h *Hub) tailNotifications(ctx context.Context) {
	t := time.NewTicker(h.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.nwake:
		case <-t.C:
		}
		h.catchUpNotifications(ctx)
	}
}

func (h *Hub) nudgeNotifications() {
	select {
	case h.nwake <- struct{}{}:
	default:
	}
}

// catchUpNotifications reads and delivers every notification after the
// notification cursor. While this process has no notification
// subscriber it reads nothing: the first one to come moves the cursor.
func (h *Hub) catchUpNotifications(ctx context.Context) {
	for ctx.Err() == nil {
		h.mu.Lock()
		after, idle := h.ncursor, len(h.inboxes) == 0
		h.nidle = h.nidle || idle
		h.mu.Unlock()
		if idle {
			return
		}
		ns, err := h.store.NotificationsAfter(ctx, after, h.opts.Batch)
		if err != nil {
			if ctx.Err() == nil {
				h.opts.Log.Warn("read notifications", "after", after, "err", err)
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
			if !s.feed.pushLocked(n) {
				s.unregisterLocked()
				s.feed.endLocked(&ResumeError{Reason: "subscriber too slow"})
			}
		}
	}
}

// C is the subscription's channel, for a transport to read; it is closed
// when the hub ends the subscription.
func (s *InboxSubscription) C() <-chan *notification.Notification { return s.feed.ch }

// Next returns the next notification, ctx's error when ctx ends, or a
// *ResumeError naming the last one handed out when the hub dropped the
// subscription.
func (s *InboxSubscription) Next(ctx context.Context) (notification.Notification, error) {
	n, err := s.feed.next(ctx)
	if err != nil {
		return notification.Notification{}, err
	}
	return *n, nil
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
