// Package pubsub delivers committed request events to live subscribers.
//
// Each process runs one Hub. Its tailer is the source of truth: it keeps a
// cursor (the last event id it delivered) and reads the event log in
// PostgreSQL after it, in id order. The broker (Redis pub/sub across
// instances, or an in-process one for a single node) only wakes the tailer
// early and, when an event is exactly the next one, saves the read. A timer
// wakes the tailer too, so an event whose publish was lost (Redis down, or
// the process died between commit and publish) is still delivered.
package pubsub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/request"
)

// Store is the event log as the hub reads it.
type Store interface {
	// InstallationID identifies the event log: installations that share a
	// broker channel tell their messages apart by it.
	InstallationID(ctx context.Context) (string, error)
	// LastEventID returns the id of the newest committed event, 0 for none.
	LastEventID(ctx context.Context) (int64, error)
	// EventsAfter returns up to limit events with id > after, in id order.
	EventsAfter(ctx context.Context, after int64, limit int) ([]request.Event, error)
	// VisibleEvents returns up to limit events with after < id <= upTo that
	// the actor may see (only requestID's when it is not empty), in id order.
	VisibleEvents(ctx context.Context, a *auth.Actor, requestID string, after, upTo int64, limit int) ([]request.Event, error)
	// SightChanges returns the sight changes with after < id <= upTo, in
	// id order.
	SightChanges(ctx context.Context, after, upTo int64) ([]SightChange, error)
	// Actors loads the people's sight (roles, households, portfolio) as it
	// is now; people who no longer exist are missing from the answer.
	Actors(ctx context.Context, personIDs []string) (map[string]*auth.Actor, error)
	// RequestVisible returns apperr.ErrNotFound unless the actor may see the request.
	RequestVisible(ctx context.Context, a *auth.Actor, id string) error
	// LastNotificationID returns the id of the newest notification, 0 for none.
	LastNotificationID(ctx context.Context) (int64, error)
	// NotificationsAfter returns up to limit notifications with id > after,
	// in id order.
	NotificationsAfter(ctx context.Context, after int64, limit int) ([]notification.Notification, error)
	// PersonNotifications returns up to limit of the person's
	// notifications with after < id <= upTo, in id order.
	PersonNotifications(ctx context.Context, personID string, after, upTo int64, limit int) ([]notification.Notification, error)
}

// Options tune a Hub. Zero values take the defaults.
type Options struct {
	// PollInterval is how often the tailer reads the log without being
	// woken; it bounds how late an event whose publish was lost arrives.
	PollInterval time.Duration
	// Buffer is how many events may wait for one subscriber; one that falls
	// further behind is closed with a ResumeError rather than slowing
	// everyone else down or holding unbounded memory.
	Buffer int
	// Batch is how many events one read of the log returns at most.
	Batch int
	Log   *slog.Logger
	// Clock stamps deliveries, to tell how long after its step an event
	// reached its subscribers; nil means the real clock.
	Clock clock.Clock
	// Observer, if set, hears what the hub does, for the metrics.
	Observer Observer
	// Tracer, if set, traces the live path: a publish is a child of the
	// call that committed the event, and the relay and delivery on every
	// instance continue the same trace (its context travels in the broker
	// message).
	Tracer trace.TracerProvider
}

// Observer hears what the hub does with events. Its methods are called
// from the hub's goroutines and must not block.
type Observer interface {
	// Published reports one event sent to the broker, or failed to be.
	Published(err error)
	// Relayed reports n events the tailer took in and delivered: from a
	// broker message (source "broker"), from this process's own commit
	// (source "local") or read from the event log (source "log").
	Relayed(source string, n int)
	// Delivered reports one event queued to one subscriber, lag after the
	// step that recorded it.
	Delivered(lag time.Duration)
}

type noObserver struct{}

func (noObserver) Published(error)         {}
func (noObserver) Relayed(string, int)     {}
func (noObserver) Delivered(time.Duration) {}

func (o *Options) defaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider()
	}
}

// Hub fans committed events out to this process's subscribers.
type Hub struct {
	store  Store
	broker Broker
	opts   Options
	// installation is the event log's identity, carried in every message.
	installation string

	// inbox holds broker messages for the tailer; a nil message only wakes it.
	inbox chan []byte
	// wake is a one-slot doorbell used when the inbox is full: the tailer
	// then reads the log, which covers whatever was dropped.
	wake chan struct{}
	// nwake is the notification tailer's doorbell, rung after events are
	// delivered (their transaction may have written notifications): the
	// notifications are read on a goroutine of their own, so that the
	// next event never waits for that read.
	nwake chan struct{}
	// outbox holds events waiting to be published, so that a mutation never
	// waits on the broker.
	outbox chan queued
	// local hands this process's own committed events to the tailer as
	// well: its subscribers need not wait for the broker's round trip,
	// and the broker's copy then finds them delivered.
	local  chan queued
	tracer trace.Tracer

	mu     sync.Mutex
	cursor int64 // the last event id delivered; written by the tailer only
	subs   map[*Subscription]struct{}
	// index finds the subscriptions an event may concern without looking
	// at the others: by each way of seeing a request (see keysOf).
	// A key's list is short for all but a property's staff keys, and a
	// slice costs far less than a set per resident.
	index map[string][]*Subscription
	// ncursor and inboxes are the same for notifications; ncursor is
	// written by the notification tailer, and by the first subscription
	// after a time without any (see catchUpNotifications).
	ncursor int64
	// nidle says the notification tailer has skipped reads for want of
	// subscribers, so ncursor may be behind.
	nidle bool
	// inboxes are keyed by person, so a notification reaches its person's
	// phones without a look at anyone else's.
	inboxes map[string]map[*InboxSubscription]struct{}
	closed  bool
	// sightGen counts the sight changes applied, so that a subscription
	// whose sight was read while one was being applied reads it again.
	sightGen uint64

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// ResumeError ends a subscription the server could not keep going. The
// client subscribes again with since = Since and misses nothing.
type ResumeError struct {
	Reason string
	Since  int64
}

func (e *ResumeError) Error() string {
	return fmt.Sprintf("%s; resume with since=%d", e.Reason, e.Since)
}

// NewHub returns a hub reading store and woken by broker; Start runs it.
func NewHub(store Store, broker Broker, opts Options) *Hub {
	opts.defaults()
	return &Hub{
		store:   store,
		broker:  broker,
		opts:    opts,
		inbox:   make(chan []byte, 1024),
		wake:    make(chan struct{}, 1),
		nwake:   make(chan struct{}, 1),
		outbox:  make(chan queued, 4096),
		local:   make(chan queued, 1024),
		tracer:  opts.Tracer.Tracer("github.com/kproperty/onestop/internal/pubsub"),
		subs:    map[*Subscription]struct{}{},
		index:   map[string][]*Subscription{},
		inboxes: map[string]map[*InboxSubscription]struct{}{},
	}
}

// Start places the cursor at the end of the log and starts the tailer, the
// broker listener and the publisher. Events committed before Start reach a
// subscriber only through since.
func (h *Hub) Start(ctx context.Context) error {
	id, err := h.store.InstallationID(ctx)
	if err != nil {
		return fmt.Errorf("installation: %w", err)
	}
	h.installation = id
	last, err := h.store.LastEventID(ctx)
	if err != nil {
		return fmt.Errorf("event log position: %w", err)
	}
	h.cursor = last
	if h.ncursor, err = h.store.LastNotificationID(ctx); err != nil {
		return fmt.Errorf("notification position: %w", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	h.stop = stop
	h.wg.Add(4)
	go func() { defer h.wg.Done(); h.broker.Listen(runCtx, h.notify) }()
	go func() { defer h.wg.Done(); h.tail(runCtx) }()
	go func() { defer h.wg.Done(); h.tailNotifications(runCtx) }()
	go func() { defer h.wg.Done(); h.publishLoop(runCtx) }()
	h.opts.Log.Info("live events", "broker", h.broker.String(), "from_event", last, "poll", h.opts.PollInterval)
	return nil
}

// Close stops the hub's goroutines and ends every subscription with a
// ResumeError, so clients reconnect (to this or another instance) and
// resume where they were.
func (h *Hub) Close() {
	if h.stop != nil {
		h.stop()
	}
	h.wg.Wait()
	h.Shutdown()
}

// Shutdown ends every subscription with a ResumeError naming the last
// event each one delivered, and refuses new ones, so clients reconnect (to
// another instance) and resume where they were. The hub keeps publishing
// the events of calls still in flight.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.dropLocked(s, "server shutting down")
	}
	for person, set := range h.inboxes {
		for s := range set {
			s.feed.endLocked(&ResumeError{Reason: "server shutting down"})
		}
		delete(h.inboxes, person)
	}
}

// Publish implements request.Publisher. It only queues: the publisher
// goroutine sends to the broker, so a slow or unreachable Redis never holds
// up (or fails) a mutation. An event that cannot be queued or sent is still
// delivered by the tailer's poll.
func (h *Hub) Publish(ctx context.Context, events []request.Event) {
	sc := trace.SpanContextFromContext(ctx)
	for _, e := range events {
		q := queued{event: e, span: sc}
		select {
		case h.outbox <- q:
		default:
			h.opts.Log.Warn("event publish queue full; the poll will deliver it", "event", e.ID)
			h.nudge()
		}
		select {
		case h.local <- q:
		default:
			// The broker's copy, or the log, will do.
		}
	}
}

// publishBatch is the most queued events publishLoop sends to the broker
// at once.
const publishBatch = 64

// publishLoop sends queued events to the broker until ctx ends: each time
// what has queued meanwhile (up to publishBatch), in one publish, so that
// under a burst of commits the broker is not a round trip per event
// behind.
func (h *Hub) publishLoop(ctx context.Context) {
	batch := make([]queued, 0, publishBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case q := <-h.outbox:
			batch = append(batch[:0], q)
		more:
			for len(batch) < publishBatch {
				select {
				case q := <-h.outbox:
					batch = append(batch, q)
				default:
					break more
				}
			}
			h.publish(ctx, batch)
		}
	}
}

// publish sends a batch of queued events to the broker, each with a span
// of its own under the call that committed it.
func (h *Hub) publish(ctx context.Context, batch []queued) {
	spans := make([]trace.Span, 0, len(batch))
	payloads := make([][]byte, 0, len(batch))
	for _, q := range batch {
		e := q.event
		sctx, span := h.tracer.Start(trace.ContextWithSpanContext(ctx, q.span), "events.publish",
			trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attribute.Int64("onestop.event.id", e.ID)))
		m := message{Installation: h.installation, Event: e, Trace: propagation.MapCarrier{}}
		propagation.TraceContext{}.Inject(sctx, m.Trace)
		b, err := json.Marshal(m)
		if err != nil {
			h.opts.Log.Error("encode event", "event", e.ID, "err", err)
			span.End()
			continue
		}
		spans, payloads = append(spans, span), append(payloads, b)
	}
	if len(payloads) == 0 {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := h.broker.Publish(pctx, payloads...)
	cancel()
	for _, span := range spans {
		h.opts.Observer.Published(err)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	if err != nil {
		// Other instances will find the events on their next poll; this
		// one need not wait for them.
		h.opts.Log.Warn("publish events failed; subscribers get them from the poll",
			"first", batch[0].event.ID, "events", len(payloads), "err", err)
		h.nudge()
	}
}

// queued is an event waiting to be published, with the span of the call
// that committed it.
type queued struct {
	event request.Event
	span  trace.SpanContext
}

// message is what travels on the broker: an event, the installation whose
// log it belongs to, and the trace context of its publish (W3C
// traceparent), absent when tracing is off.
type message struct {
	Installation string                 `json:"installation"`
	Event        request.Event          `json:"event"`
	Trace        propagation.MapCarrier `json:"trace,omitempty"`
}

// notify hands a broker message to the tailer without ever blocking the
// broker's reader.
func (h *Hub) notify(payload []byte) {
	select {
	case h.inbox <- payload:
	default:
		h.nudge()
	}
}

// Wake has the tailer read the logs now: a change that wrote only
// notifications (a booking) reaches its subscribers without waiting for the
// poll.
func (h *Hub) Wake() {
	h.nudge()
	h.nudgeNotifications()
}

func (h *Hub) nudge() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// tail delivers events in id order until ctx ends.
func (h *Hub) tail(ctx context.Context) {
	t := time.NewTicker(h.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-h.inbox:
			h.onMessage(ctx, p)
		case q := <-h.local:
			h.onEvent(trace.ContextWithSpanContext(ctx, q.span), q.event, "local")
		case <-h.wake:
			h.catchUp(ctx)
		case <-t.C:
			h.catchUp(ctx)
		}
	}
}

// onMessage takes the fast path when the message is this installation's
// very next event: ids become visible in commit order, so nothing can still
// come before it. Anything else of this installation means something was
// missed, and the log says what.
func (h *Hub) onMessage(ctx context.Context, payload []byte) {
	if payload == nil {
		h.catchUp(ctx)
		return
	}
	var m message
	if err := json.Unmarshal(payload, &m); err != nil || m.Event.ID <= 0 || m.Installation == "" {
		h.opts.Log.Warn("unreadable event message; reading the log instead", "err", err)
		h.catchUp(ctx)
		return
	}
	if m.Installation != h.installation {
		// Another installation's event on a shared channel: its id says
		// nothing about this log, so it neither moves the cursor nor is
		// delivered.
		return
	}
	if len(m.Trace) > 0 {
		ctx = propagation.TraceContext{}.Extract(ctx, m.Trace)
	}
	h.onEvent(ctx, m.Event, "broker")
}

// onEvent delivers an event taken in from source (a broker message, or
// this process's own commit) if it is the very next one, and reads the log
// if it is further ahead.
func (h *Hub) onEvent(ctx context.Context, e request.Event, source string) {
	if e.ID <= h.cursor {
		// Already delivered, by the poll or an earlier copy.
		return
	}
	ctx, span := h.tracer.Start(ctx, "events.relay", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.Int64("onestop.event.id", e.ID), attribute.String("onestop.events.source", source)))
	defer span.End()
	if e.ID != h.cursor+1 {
		h.catchUp(ctx)
		return
	}
	// The very next id: no sight change can come before it.
	if h.deliver(ctx, []request.Event{e}, nil) {
		h.opts.Observer.Relayed(source, 1)
		h.nudgeNotifications()
	}
}

// catchUp reads and delivers every event after the cursor.
func (h *Hub) catchUp(ctx context.Context) {
	for ctx.Err() == nil {
		start := time.Now()
		evs, err := h.store.EventsAfter(ctx, h.cursor, h.opts.Batch)
		if err != nil {
			if ctx.Err() == nil {
				h.opts.Log.Warn("read event log", "after", h.cursor, "err", err)
			}
			return
		}
		if len(evs) == 0 {
			h.nudgeNotifications()
			return
		}
		// A sight change takes an id of the event log's sequence, so only
		// a gap in the ids can hide one: only then is it looked for.
		var changes []SightChange
		if gapped(h.cursor, evs) {
			if changes, err = h.store.SightChanges(ctx, h.cursor, evs[len(evs)-1].ID); err != nil {
				if ctx.Err() == nil {
					h.opts.Log.Warn("read sight changes", "after", h.cursor, "err", err)
				}
				return
			}
		}
		// Only a read that found something is traced: an idle poll every
		// second would bury the rest.
		rctx, span := h.tracer.Start(ctx, "events.read", trace.WithTimestamp(start),
			trace.WithAttributes(attribute.Int64("onestop.events.after", h.cursor), attribute.Int("onestop.events", len(evs))))
		ok := h.deliver(rctx, evs, changes)
		span.End()
		if !ok {
			return
		}
		h.opts.Observer.Relayed("log", len(evs))
		if len(evs) < h.opts.Batch {
			h.nudgeNotifications()
			return
		}
	}
}

// gapped reports whether the ids of evs do not follow on from after one
// by one.
func gapped(after int64, evs []request.Event) bool {
	for _, e := range evs {
		if e.ID != after+1 {
			return true
		}
		after = e.ID
	}
	return false
}

// SightChange is a point in the event log after which the people may see
// less than before (a household handed to another butler, a move-out, a
// role taken away). It takes an id of the event log's sequence.
type SightChange struct {
	ID     int64
	People []string
}

// deliver advances the cursor over evs and queues each event for every
// subscriber that may see it. It never blocks on a subscriber: one that
// has fallen too far behind is dropped with a ResumeError.
//
// A subscription's actor is the one its websocket authenticated, and sight
// can be lost while the socket stays open. The hub holds each
// subscriber's sight and narrows it at each sight change of the log, in
// the log's order: before it delivers any later event, it reads the
// people's sight afresh (one query for all the changes of the batch) and
// narrows their subscriptions to it. If that read fails, nothing is
// delivered and the cursor stays, so the next wake-up tries again; deliver
// reports whether it delivered. Batches without a sight change, all but a
// few, read nothing.
func (h *Hub) deliver(ctx context.Context, evs []request.Event, changes []SightChange) bool {
	ctx, span := h.tracer.Start(ctx, "events.deliver", trace.WithAttributes(attribute.Int("onestop.events", len(evs))))
	defer span.End()
	deliveries := 0
	defer func() { span.SetAttributes(attribute.Int("onestop.deliveries", deliveries)) }()
	var fresh map[string]*auth.Actor
	if len(changes) > 0 {
		var people []string
		for _, c := range changes {
			people = append(people, c.People...)
		}
		slices.Sort(people)
		var err error
		if fresh, err = h.store.Actors(ctx, slices.Compact(people)); err != nil {
			if ctx.Err() == nil {
				h.opts.Log.Warn("read subscribers' sight", "err", err)
			}
			return false
		}
	}

	deliveredAt := h.opts.Clock.Now()
	var slow []*Subscription
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range evs {
		e := &evs[i]
		for len(changes) > 0 && changes[0].ID < e.ID {
			h.narrowLocked(changes[0], fresh)
			changes = changes[1:]
		}
		if e.ID <= h.cursor {
			continue
		}
		h.cursor = e.ID
		h.eachCandidate(e, func(s *Subscription) {
			v := s.viewOf(e)
			if v == nil {
				return
			}
			if s.feed.pushLocked(v) {
				deliveries++
				h.opts.Observer.Delivered(deliveredAt.Sub(e.At))
			} else {
				slow = append(slow, s)
			}
		})
		// Dropped only now: the index's lists may not change under
		// eachCandidate.
		for _, s := range slow {
			h.dropLocked(s, "subscriber too slow")
		}
		slow = slow[:0]
	}
	for _, c := range changes {
		h.narrowLocked(c, fresh)
	}
	return true
}

// narrowLocked limits the sight of the change's people's subscriptions to
// what they see now (fresh; someone missing from it sees nothing).
func (h *Hub) narrowLocked(c SightChange, fresh map[string]*auth.Actor) {
	for _, p := range c.People {
		now, ok := fresh[p]
		if !ok {
			now = &auth.Actor{PersonID: p} // the person is gone
		}
		for _, s := range h.index["p:"+p] {
			if s.actor.PersonID == p {
				s.actor = s.actor.Within(now)
			}
		}
	}
	h.sightGen++
}

// keysOf are the ways an actor may see requests, as index keys: as a
// person (requester, assignee, first-asker), by household (lived in or in
// a butler's portfolio), as a property's service center, as its staff
// (the grab pool), or everything (an admin). Sight only ever narrows while
// a subscription lives, so the keys it registered with stay a superset.
// Every subscription stands under its person's key, where a sight change
// finds it.
func keysOf(a *auth.Actor) []string {
	keys := []string{"p:" + a.PersonID}
	if a.Admin {
		return append(keys, "*")
	}
	for _, u := range a.Units {
		keys = append(keys, "u:"+u)
	}
	for _, u := range a.Portfolio {
		keys = append(keys, "u:"+u)
	}
	for _, p := range a.CenterProperties() {
		keys = append(keys, "c:"+p)
	}
	for _, p := range a.PropertyIDs() {
		keys = append(keys, "s:"+p)
	}
	return keys
}

// eachCandidate calls fn once for every subscription an event may
// concern; fn still decides by the visibility rule, and must not register
// or unregister anyone. The caller holds h.mu.
func (h *Hub) eachCandidate(e *request.Event, fn func(*Subscription)) {
	keys := [7]string{"*", "p:" + e.RequesterID, "u:" + e.UnitID, "c:" + e.PropertyID}
	n := 4
	if e.AssigneeID != nil {
		keys[n] = "p:" + *e.AssigneeID
		n++
	}
	if e.FirstResponderID != nil {
		keys[n] = "p:" + *e.FirstResponderID
		n++
	}
	if e.Pooled {
		keys[n] = "s:" + e.PropertyID
		n++
	}
	for _, k := range keys[:n] {
		for _, s := range h.index[k] {
			// A subscription may stand under several of the keys: the
			// event's id marks it as seen.
			if s.seen == e.ID {
				continue
			}
			s.seen = e.ID
			fn(s)
		}
	}
}

// registerLocked adds a subscription to the hub and its index.
func (h *Hub) registerLocked(s *Subscription) {
	h.subs[s] = struct{}{}
	s.keys = keysOf(s.actor)
	for _, k := range s.keys {
		h.index[k] = append(h.index[k], s)
	}
}

// unregisterLocked forgets a subscription; it may be called again.
func (h *Hub) unregisterLocked(s *Subscription) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	for _, k := range s.keys {
		list := h.index[k]
		if i := slices.Index(list, s); i >= 0 {
			// Order within a key does not matter: the last takes its place.
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
		}
		if len(list) == 0 {
			delete(h.index, k)
		} else {
			h.index[k] = list
		}
	}
}

func (h *Hub) dropLocked(s *Subscription, reason string) {
	h.unregisterLocked(s)
	s.feed.endLocked(&ResumeError{Reason: reason})
}

// Queued returns how many events wait in the publish queue for the
// broker: a queue that keeps growing means the broker is slow or down.
func (h *Hub) Queued() int { return len(h.outbox) }

// Subscribers returns how many subscriptions the hub is feeding.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Subscription is one client's stream. Its channel (C) yields the missed
// events (when subscribed with since) and then the live ones, each exactly
// once and in id order, and is closed when the hub ends the subscription
// (the end function given to Subscribe hears why first).
type Subscription struct {
	hub *Hub
	// actor is who the subscription is for, narrowed at each change of
	// their sight; guarded by hub.mu.
	actor     *auth.Actor
	requestID string
	// keys are where the hub's index holds it.
	keys []string
	// seen is the id of the last event the hub looked at it for.
	seen int64
	// feed carries pointers to the hub's one copy of each event (a copy
	// only where the subscriber's view leaves a note out): fanning an
	// event out to thousands copies nothing.
	feed *feed[request.Event]
}

// Subscribe starts a subscription for the actor, living as long as ctx:
// every event it may see, or only requestID's when not nil (NOT_FOUND
// unless visible now). since is the last event id the client saw; nil
// means from now on. end, if not nil, is told why the hub ends the
// subscription (a *ResumeError naming where to resume, or the error that
// stopped the backfill) just before its channel closes; it is called with
// the hub's lock held and must not block.
func (h *Hub) Subscribe(ctx context.Context, a *auth.Actor, requestID, since *string, end func(error)) (*Subscription, error) {
	var from int64 = -1
	if since != nil {
		n, err := strconv.ParseInt(*since, 10, 64)
		if err != nil || n < 0 {
			return nil, apperr.Invalid("since", "since must be the id of an event")
		}
		from = n
	}
	if requestID != nil {
		if _, err := uuid.Parse(*requestID); err != nil {
			return nil, apperr.ErrNotFound
		}
	}
	for {
		// The socket's actor may be older than the subscription: start
		// from what the person may see now. A sight change the hub
		// applies between this read and the registration below might
		// have been missed by both, so then the read is done again.
		h.mu.Lock()
		gen := h.sightGen
		h.mu.Unlock()
		fresh, err := h.store.Actors(ctx, []string{a.PersonID})
		if err != nil {
			return nil, err
		}
		now, ok := fresh[a.PersonID]
		if !ok {
			now = &auth.Actor{PersonID: a.PersonID}
		}
		actor := a.Within(now)
		s := &Subscription{hub: h, actor: actor}
		if requestID != nil {
			if err := h.store.RequestVisible(ctx, actor, *requestID); err != nil {
				return nil, err
			}
			s.requestID = *requestID
		}
		start := from
		if start != 0 {
			last, err := h.store.LastEventID(ctx)
			if err != nil {
				return nil, err
			}
			if start > last {
				return nil, apperr.Invalid("since", "since is after the newest event")
			}
			if start < 0 {
				// From now on means after the newest event committed
				// now, however far the hub's own cursor is behind it: a
				// busy hub must not hand a new subscriber events from
				// before it subscribed.
				start = last
			}
		}
		// Registering and reading the cursor under one lock is what makes
		// the switch from the log to live events exact: every event after
		// the cursor will be queued to s, every event up to it is in the
		// log.
		h.mu.Lock()
		if h.sightGen != gen {
			h.mu.Unlock()
			continue
		}
		if h.closed {
			h.mu.Unlock()
			return nil, &ResumeError{Reason: "server shutting down", Since: max(start, 0)}
		}
		s.feed = newFeed(ctx, &h.mu, h.opts.Buffer, func(e *request.Event) int64 { return e.ID }, end)
		if start < 0 || start >= h.cursor {
			s.feed.sent = max(start, h.cursor)
		} else {
			s.feed.sent = start
			s.feed.fill = s.backfill(h.cursor)
			s.feed.startPumpLocked()
		}
		h.registerLocked(s)
		h.mu.Unlock()
		return s, nil
	}
}

// backfill reads the log up to upTo, a page at a time: what the person
// may see by request, less what a household may not read (staff-only
// events).
func (s *Subscription) backfill(upTo int64) func(ctx context.Context, after int64) ([]*request.Event, int64, bool, error) {
	return func(ctx context.Context, after int64) ([]*request.Event, int64, bool, error) {
		s.hub.mu.Lock()
		a := s.actor
		s.hub.mu.Unlock()
		page, err := s.hub.store.VisibleEvents(ctx, a, s.requestID, after, upTo, s.hub.opts.Batch)
		if err != nil {
			return nil, 0, false, err
		}
		out := make([]*request.Event, 0, len(page))
		for i := range page {
			if v, ok := request.ViewOf(a, page[i].Audience, page[i]); ok {
				out = append(out, &v)
			}
		}
		// Every event up to upTo that the actor may see is handed out
		// once the last page is, so the resume point moves past the ones
		// it may not: a resume need not look at them again.
		reached, more := upTo, len(page) == s.hub.opts.Batch
		if more {
			reached = page[len(page)-1].ID
		}
		return out, reached, more, nil
	}
}

// viewOf is the event as the subscriber may read it, or nil when they may
// not see it at all: its request, and the event itself (a household never
// gets a staff-only one, nor a staff-only note). The caller holds the
// hub's lock.
func (s *Subscription) viewOf(e *request.Event) *request.Event {
	if s.requestID != "" && e.RequestID != s.requestID || !request.Visible(s.actor, e.Audience) {
		return nil
	}
	if request.SeesInternal(s.actor, e.Audience) {
		return e
	}
	v, ok := request.ViewOf(s.actor, e.Audience, *e)
	switch {
	case !ok:
		return nil
	case e.NoteInternal:
		// Only a view without the note is a copy of its own.
		c := v
		return &c
	default:
		return e
	}
}

// C is the subscription's channel, for a transport to read; it is closed
// when the hub ends the subscription.
func (s *Subscription) C() <-chan *request.Event { return s.feed.ch }

// Next returns the next event, for readers other than a transport. It
// returns ctx's error when ctx ends and a *ResumeError when the hub
// dropped the subscription.
func (s *Subscription) Next(ctx context.Context) (request.Event, error) {
	e, err := s.feed.next(ctx)
	if err != nil {
		return request.Event{}, err
	}
	return *e, nil
}

// Close unregisters the subscription; the hub forgets it at once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.unregisterLocked(s)
}
