package pubsub

import (
	"context"
	"sync"
)

// feedCap is the most a subscription's channel holds. Beyond it, items
// wait in a queue that exists only while a subscriber is behind: an idle
// subscription costs a small channel and no goroutine.
const feedCap = 8

// feed is the way into one subscription's channel, the very channel the
// transport reads: the hub puts each item straight into it, with no
// goroutine of the subscription's own in between. A goroutine (the pump)
// runs only while there is more than the channel holds: the backfill of a
// resume, read from the database, and live items that arrived while the
// channel was full. Once the pump has caught up, the hub writes straight in
// again.
//
// Every field is guarded by the hub's lock, mu.
type feed[T any] struct {
	mu *sync.Mutex
	ch chan *T
	// ctx is the subscription's life: when it ends the transport reads no
	// more, and the pump stops.
	ctx context.Context
	// onEnd, if set, hears why the subscription ends, before ch closes:
	// the transport sends that error once it has sent what ch holds.
	onEnd func(error)
	// err is the reason ch was closed.
	err error
	// id is an item's position in its log.
	id func(*T) int64
	// limit is how many items may wait in queue.
	limit int

	// sent is the id of the last item put into ch, or the starting point:
	// a client told to resume starts after it.
	sent int64
	// queue holds live items, in order, while the pump runs.
	queue []*T
	// pumping says a pump goroutine runs; the hub then queues instead of
	// writing into ch.
	pumping bool
	// stop, while pumping, is closed to have the pump end the
	// subscription (it alone may close ch then, since it may be sending).
	stop chan struct{}
	// ended says the subscription was ended: ch is closed, or the pump
	// has been told to close it.
	ended bool
	// fill, while backfilling, reads the next page of the log after the
	// given id: the items to send, the id the page reached and whether
	// there is more.
	fill func(ctx context.Context, after int64) (items []*T, reached int64, more bool, err error)
}

// newFeed returns a feed for at most buffer waiting items: up to feedCap
// of them in the channel, the rest in the queue.
func newFeed[T any](ctx context.Context, mu *sync.Mutex, buffer int, id func(*T) int64, onEnd func(error)) *feed[T] {
	return &feed[T]{mu: mu, ch: make(chan *T, min(buffer, feedCap)), ctx: ctx, onEnd: onEnd, id: id, limit: max(buffer-feedCap, 0)}
}

// pushLocked hands one live item to the subscriber, never blocking. It
// reports false when the subscriber has fallen too far behind; the caller
// then ends the subscription.
func (f *feed[T]) pushLocked(v *T) bool {
	if f.ended || f.id(v) <= f.sent {
		// Ended, or from before the subscription's starting point (the
		// hub's cursor may be behind the log's end it started from).
		return true
	}
	if f.pumping {
		if len(f.queue) >= f.limit {
			return false
		}
		f.queue = append(f.queue, v)
		return true
	}
	select {
	case f.ch <- v:
		f.sent = f.id(v)
		return true
	default:
	}
	if f.limit == 0 {
		return false
	}
	f.queue = append(f.queue, v)
	f.startPumpLocked()
	return true
}

func (f *feed[T]) startPumpLocked() {
	f.pumping = true
	f.stop = make(chan struct{})
	go f.pump()
}

// endLocked ends the subscription with err: at once when nothing is being
// sent, or through the pump, which may be in the middle of a send.
func (f *feed[T]) endLocked(err error) {
	if f.ended {
		return
	}
	f.ended = true
	f.err = err
	if f.pumping {
		close(f.stop)
		return
	}
	f.closeLocked()
}

func (f *feed[T]) closeLocked() {
	if re, ok := f.err.(*ResumeError); ok {
		// The client has everything up to the last item put into ch:
		// the transport sends what ch holds before the error.
		re.Since = f.sent
	}
	if f.onEnd != nil {
		f.onEnd(f.err)
	}
	f.queue = nil
	close(f.ch)
}

// pump sends the backfill, then the queue, into ch, waiting for room; it
// returns once the queue is empty (the hub writes into ch itself again),
// the subscription ended, or its context did.
func (f *feed[T]) pump() {
	for {
		f.mu.Lock()
		if f.ended {
			f.closeLocked()
			f.mu.Unlock()
			return
		}
		fill, after := f.fill, f.sent
		var v *T
		if fill == nil {
			if len(f.queue) == 0 {
				f.pumping, f.queue, f.stop = false, nil, nil
				f.mu.Unlock()
				return
			}
			v = f.queue[0]
		}
		stop := f.stop
		f.mu.Unlock()
		if fill != nil {
			if !f.backfill(fill, after, stop) {
				return
			}
			continue
		}
		if _, alive := f.send(v, stop); !alive {
			return
		}
		f.mu.Lock()
		f.queue[0] = nil
		f.queue = f.queue[1:]
		f.mu.Unlock()
	}
}

// backfill sends one page of the log. It reports false when the pump must
// return (its context ended).
func (f *feed[T]) backfill(fill func(context.Context, int64) ([]*T, int64, bool, error), after int64, stop chan struct{}) bool {
	items, reached, more, err := fill(f.ctx, after)
	if err != nil {
		if f.ctx.Err() != nil {
			return false
		}
		f.mu.Lock()
		if !f.ended {
			f.ended, f.err = true, err
		}
		f.mu.Unlock()
		return true
	}
	all := true
	for _, v := range items {
		sent, alive := f.send(v, stop)
		if !alive {
			return false
		}
		all = all && sent
	}
	f.mu.Lock()
	if all {
		// Only a page sent whole moves the resume point past what it
		// left out.
		f.sent = max(f.sent, reached)
	}
	if !more {
		f.fill = nil
	}
	f.mu.Unlock()
	return true
}

// send puts v into ch, waiting for room, and reports whether it did. When
// the subscription is ended meanwhile it sends nothing more (the pump's
// next turn closes ch); alive is false when the context ended.
func (f *feed[T]) send(v *T, stop chan struct{}) (sent, alive bool) {
	select {
	case f.ch <- v:
		f.mu.Lock()
		f.sent = max(f.sent, f.id(v))
		f.mu.Unlock()
		return true, true
	case <-stop:
		return false, true
	case <-f.ctx.Done():
		return false, false
	}
}

// next is the channel reader's side, for callers that are not a
// transport: the next item, or why the feed ended.
func (f *feed[T]) next(ctx context.Context) (*T, error) {
	select {
	case v, ok := <-f.ch:
		if !ok {
			f.mu.Lock()
			defer f.mu.Unlock()
			return nil, f.err
		}
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
