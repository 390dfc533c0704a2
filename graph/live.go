package graph

import (
	"context"
	"sync"

	"github.com/kproperty/onestop/graph/gqlws"
)

// Live keeps track of the open websockets and of the subscription streams
// they carry, so that a shutdown can end them in order: first each stream
// sends its client the RESUME_REQUIRED error naming where to resume, then
// the sockets close. http.Server.Shutdown knows nothing of either, since a
// websocket is a hijacked connection.
type Live struct {
	mu      sync.Mutex
	sockets map[*gqlws.Socket]struct{}
	streams int
	idle    chan struct{} // closed when streams drops to zero
	// draining is closed when the server begins to shut down, so that
	// streams the hub does not feed (the live staff board) end too.
	draining  chan struct{}
	drainOnce sync.Once
}

// NewLive returns an empty tracker.
func NewLive() *Live {
	return &Live{sockets: map[*gqlws.Socket]struct{}{}, draining: make(chan struct{})}
}

// Drain tells the streams the hub does not feed to end: the server is
// shutting down.
func (l *Live) Drain() { l.drainOnce.Do(func() { close(l.draining) }) }

// open counts a socket that opened, until the function it returns is
// called.
func (l *Live) open(s *gqlws.Socket) (ended func()) {
	l.mu.Lock()
	l.sockets[s] = struct{}{}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.sockets, s)
		l.mu.Unlock()
	}
}

// streamStarted counts a running subscription; streamEnded is called once
// the transport is done with it (its error frame, if any, sent).
func (l *Live) streamStarted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams == 0 {
		l.idle = make(chan struct{})
	}
	l.streams++
}

func (l *Live) streamEnded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streams--
	if l.streams == 0 {
		close(l.idle)
	}
}

// Streams returns how many subscriptions are running. A subscription
// counts from the moment it is registered for its events: a client's
// subscribe message has no answer until something happens, so this is
// how a caller on the server's side knows it has started.
func (l *Live) Streams() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.streams
}

// WaitStreams returns when no subscription is running any more, or when
// ctx ends.
func (l *Live) WaitStreams(ctx context.Context) error {
	l.mu.Lock()
	if l.streams == 0 {
		l.mu.Unlock()
		return nil
	}
	idle := l.idle
	l.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeShutdown is the close reason of a socket the server ends as it
// shuts down; graphql-ws reconnects after a normal closure while it has
// subscriptions, and the app resumes them with since.
const closeShutdown = "the server is shutting down; reconnect"

// CloseSockets closes every open websocket with a normal closure, all at
// once: a client that does not read holds its close for a moment, not the
// others'.
func (l *Live) CloseSockets() {
	l.mu.Lock()
	socks := make([]*gqlws.Socket, 0, len(l.sockets))
	for s := range l.sockets {
		socks = append(socks, s)
	}
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Go(func() { s.Close(gqlws.CloseNormal, closeShutdown) })
	}
	wg.Wait()
}
