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
	sockets map[*context.CancelFunc]struct{}
	streams int
	idle    chan struct{} // closed when streams drops to zero
}

// NewLive returns an empty tracker.
func NewLive() *Live {
	return &Live{sockets: map[*context.CancelFunc]struct{}{}}
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
		key := &cancel
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
	for cancel := range l.sockets {
		(*cancel)()
	}
}
