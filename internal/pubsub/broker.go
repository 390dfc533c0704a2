package pubsub

import (
	"context"
	"sync"
)

// Broker carries "an event was committed" messages between the processes
// that share one event log. A message is only a hint: the hub reads the log
// for anything it cannot take directly from the message.
type Broker interface {
	// Publish sends messages to every listener (in every process), in
	// their order; a broker that can sends them in one round trip.
	Publish(ctx context.Context, payloads ...[]byte) error
	// Listen calls deliver with every message until ctx ends, and with nil
	// whenever messages may have been missed (after a (re)connect). deliver
	// must not block.
	Listen(ctx context.Context, deliver func(payload []byte))
	// String names the broker in the log.
	String() string
}

// Local is the single-node broker: messages go to the listeners in this
// process only.
type Local struct {
	mu        sync.Mutex
	listeners map[*func([]byte)]struct{}
}

// NewLocal returns an in-process broker.
func NewLocal() *Local { return &Local{listeners: map[*func([]byte)]struct{}{}} }

// Publish hands the payloads to every listener of this process.
func (l *Local) Publish(_ context.Context, payloads ...[]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, payload := range payloads {
		for f := range l.listeners {
			(*f)(payload)
		}
	}
	return nil
}

// Listen delivers this process's messages until ctx ends.
func (l *Local) Listen(ctx context.Context, deliver func([]byte)) {
	key := &deliver
	l.mu.Lock()
	l.listeners[key] = struct{}{}
	l.mu.Unlock()
	deliver(nil)
	<-ctx.Done()
	l.mu.Lock()
	delete(l.listeners, key)
	l.mu.Unlock()
}

func (l *Local) String() string { return "in-process (single instance; set REDIS_URL to run several)" }
