package graph

import (
	"context"
	"net/http"
	"strings"
	"sync"
)

// Live keeps track of the open websockets and of the subscription streams
// they carry, so that a shutdown can end them in order: first each stream
// sends its client the RESUME_REQUIRED error naming where to resume, then
// the sockets close. http.Server.Shutdown knows nothing of either, since a
// websocket is a hijacked connection.
type Live struct {
	mu      sync.Mutex
	sockets map[*socket]struct{}
	streams int
	idle    chan struct{} // closed when streams drops to zero
	// draining is closed when the server begins to shut down, so that
	// streams the hub does not feed (the live staff board) end too.
	draining  chan struct{}
	drainOnce sync.Once
}

// NewLive returns an empty tracker.
func NewLive() *Live {
	return &Live{sockets: map[*socket]struct{}{}, draining: make(chan struct{})}
}

// Drain tells the streams the hub does not feed to end: the server is
// shutting down.
func (l *Live) Drain() { l.drainOnce.Do(func() { close(l.draining) }) }

// socket is one open websocket: how to end it, and the close code and
// reason to end it with when the server ends it on purpose (its session
// ended). The transport itself closes a cancelled socket as a normal
// closure; the connection wrapper puts the code and reason in its place.
type socket struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	code   int
	reason string
}

// end closes the socket with a code and reason of the protocol's.
func (s *socket) end(code int, reason string) {
	s.mu.Lock()
	if s.code == 0 {
		s.code, s.reason = code, reason
	}
	s.mu.Unlock()
	s.cancel()
}

// closing returns the code and reason the socket was ended with, if end
// was called.
func (s *socket) closing() (int, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code, s.reason, s.code != 0
}

type socketKey struct{}

func socketFrom(ctx context.Context) *socket {
	s, _ := ctx.Value(socketKey{}).(*socket)
	return s
}

// track gives every websocket a context of its own that CloseSockets
// cancels; plain HTTP calls pass through untouched, so a shutdown lets them
// finish.
func (l *Live) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		key := &socket{cancel: cancel}
		ctx = context.WithValue(ctx, socketKey{}, key)
		l.mu.Lock()
		l.sockets[key] = struct{}{}
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			delete(l.sockets, key)
			l.mu.Unlock()
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
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

// CloseSockets closes every open websocket.
func (l *Live) CloseSockets() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.sockets {
		s.cancel()
	}
}
