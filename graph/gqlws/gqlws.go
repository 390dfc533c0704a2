// Package gqlws serves GraphQL over websockets in the graphql-transport-ws
// protocol (the protocol of the graphql-ws library, which Apollo and urql
// clients speak), as a transport of gqlgen's handler.
//
// It is built to hold little while a socket waits: one goroutine of its
// own reads the socket (the HTTP request's returns), an operation has one
// goroutine (gqlgen's executor blocks in it until the next result), pings
// and the init timeout ride on one timer, a socket has one context, and a write
// buffer is taken from a pool only while a message is written.
package gqlws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
)

// Subprotocol is the only protocol the transport speaks.
const Subprotocol = "graphql-transport-ws"

// The protocol's close codes. graphql-ws clients decide from the code
// whether to reconnect, so each fault has its own.
const (
	CloseNormal                   = websocket.CloseNormalClosure
	CloseBadMessage               = 4400
	CloseUnauthorized             = 4401
	CloseForbidden                = 4403
	CloseSubprotocolNotAcceptable = 4406
	CloseInitTimeout              = 4408
	CloseDuplicateID              = 4409
	CloseTooManyInits             = 4429
)

// defaultReadLimit bounds one client message unless Options say otherwise;
// a subscribe message is a query and its variables, a few kilobytes.
const defaultReadLimit = 1 << 20

// writeWait bounds one write: a client that stops reading cannot hold an
// operation's goroutine for longer.
const writeWait = 10 * time.Second

// closeWait is how long a closing socket waits for the client's close
// frame before it drops the connection.
const closeWait = time.Second

// readBufferSize is a socket's read buffer, held for as long as the socket
// is open. Client messages are small, and a larger one is read through it
// in pieces.
const readBufferSize = 1024

// writeBufferSize is the buffer a message is written through; the pool
// lends one to a socket only while it writes.
const writeBufferSize = 4096

var writePool sync.Pool

// InitFunc accepts or refuses a socket by its connection_init payload. It
// returns the context its operations run in, derived from ctx, which ends
// when the socket does. A refusal closes the socket: with the code and
// reason of a *CloseError, or else with 4403.
type InitFunc func(ctx context.Context, s *Socket, payload map[string]any) (context.Context, error)

// CloseError is a refusal with the close code and reason to send.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return e.Reason }

// Options configure the transport.
type Options struct {
	// OriginPatterns are the browser origins (host patterns, as path.Match
	// reads them) that may open a socket besides the server's own host.
	// A request without an Origin header (a native app) is always allowed.
	OriginPatterns []string
	// Init accepts a socket at connection_init; nil accepts every one.
	Init InitFunc
	// InitTimeout is how long a socket may wait before connection_init;
	// zero means no bound.
	InitTimeout time.Duration
	// PingInterval is how often the server pings; a client that leaves two
	// pings unanswered is dropped. Zero sends no pings.
	PingInterval time.Duration
	// ReadLimit bounds one client message; zero means 1 MiB.
	ReadLimit int64
	// Opened, if set, is told of every socket that opens; the function it
	// returns is called once the socket has ended.
	Opened func(*Socket) (ended func())
}

// Transport is the gqlgen transport for websocket requests.
type Transport struct {
	o        Options
	upgrader websocket.Upgrader
}

var _ graphql.Transport = (*Transport)(nil)

// New returns a transport with the options.
func New(o Options) *Transport {
	if o.ReadLimit == 0 {
		o.ReadLimit = defaultReadLimit
	}
	t := &Transport{o: o}
	t.upgrader = websocket.Upgrader{
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: &writePool,
		Subprotocols:    []string{Subprotocol},
		CheckOrigin:     t.checkOrigin,
	}
	return t
}

// Supports takes every upgrade request.
func (t *Transport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// checkOrigin allows a request without Origin (a native app), from the
// server's own host, or from a host matching one of the patterns.
func (t *Transport) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(r.Host, u.Host) {
		return true
	}
	for _, p := range t.o.OriginPatterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// Do accepts a socket and returns; a goroutine of the socket's own reads
// it until it ends. The request's goroutine is not kept for that: it holds
// the HTTP server's buffers and the stack of the whole handler chain, more
// than a waiting socket needs. The socket's context keeps the request's
// values (its id, the caller's address and language) but not its end.
func (t *Transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	conn, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered with an HTTP error already.
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	s := &Socket{t: t, conn: conn, exec: exec, ctx: ctx, cancel: cancel}
	// Told before Do returns, so that a shutdown that has begun by then
	// finds the socket.
	var ended func()
	if t.o.Opened != nil {
		ended = t.o.Opened(s)
	}
	go s.serve(ended)
}

// serve reads the socket until it ends, then lets go of it.
func (s *Socket) serve(ended func()) {
	t := s.t
	if ended != nil {
		defer ended()
	}
	defer s.end()
	if s.conn.Subprotocol() != Subprotocol {
		s.Close(CloseSubprotocolNotAcceptable, "Subprotocol not acceptable")
		s.drain()
		return
	}
	s.conn.SetReadLimit(t.o.ReadLimit)
	if t.o.InitTimeout > 0 {
		s.mu.Lock()
		s.arm(t.o.InitTimeout)
		s.mu.Unlock()
	}
	for {
		typ, b, err := s.conn.ReadMessage()
		if err != nil {
			return
		}
		if s.isClosing() {
			continue // waiting for the client's close frame
		}
		if typ != websocket.TextMessage {
			s.Close(CloseBadMessage, "Invalid message received")
			continue
		}
		s.receive(b)
	}
}

// Socket is one open websocket.
type Socket struct {
	t    *Transport
	conn *websocket.Conn
	exec graphql.GraphExecutor
	// ctx ends when the socket does, and every operation with it.
	ctx    context.Context
	cancel context.CancelFunc

	// wmu lets one message at a time be written.
	wmu sync.Mutex

	mu sync.Mutex
	// opCtx is what Init returned: the context operations run in.
	opCtx  context.Context
	inited bool // connection_init received
	acked  bool // and accepted
	// ops are the running operations; a socket runs few at a time.
	ops     []*operation
	closing bool
	// timer runs out the init timeout, then sends the pings.
	timer      *time.Timer
	unanswered int // pings without a pong since
	onEnd      []func()
	ended      bool
}

// OnEnd has f called once the socket has ended, or at once if it has.
func (s *Socket) OnEnd(f func()) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		f()
		return
	}
	s.onEnd = append(s.onEnd, f)
	s.mu.Unlock()
}

// Close ends the socket with a close code and reason: its operations end
// at once, without a complete, and the close frame follows whatever they
// have sent. Only the first call counts.
func (s *Socket) Close(code int, reason string) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	deadline := time.Now().Add(closeWait)
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, clip(reason)), deadline)
	// The reader waits for the client's close frame no longer.
	_ = s.conn.SetReadDeadline(deadline)
}

// drop ends the socket without a close frame: its client stopped
// answering, so nothing it is sent would be read.
func (s *Socket) drop() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	_ = s.conn.Close()
}

// drain reads until the client's close frame or the close deadline.
func (s *Socket) drain() {
	for {
		if _, _, err := s.conn.ReadMessage(); err != nil {
			return
		}
	}
}

// end releases what the socket holds once its reader has stopped.
func (s *Socket) end() {
	s.mu.Lock()
	s.closing, s.ended = true, true
	if s.timer != nil {
		s.timer.Stop()
	}
	onEnd := s.onEnd
	s.onEnd = nil
	s.mu.Unlock()
	s.cancel()
	_ = s.conn.Close()
	for _, f := range onEnd {
		f()
	}
}

func (s *Socket) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// arm sets the socket's one timer; s.mu is held.
func (s *Socket) arm(d time.Duration) {
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.tick)
		return
	}
	s.timer.Reset(d)
}

// tick is the timer: before connection_init it is the init timeout, after
// it the ping.
func (s *Socket) tick() {
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return
	case !s.inited:
		s.mu.Unlock()
		s.Close(CloseInitTimeout, "Connection initialisation timeout")
		return
	case !s.acked:
		// connection_init is being checked; the ack arms the pings.
		s.mu.Unlock()
		return
	case s.unanswered >= 2:
		s.mu.Unlock()
		s.drop()
		return
	}
	s.unanswered++
	s.arm(s.t.o.PingInterval)
	s.mu.Unlock()
	// A write in progress is a client still reading; a ping behind a write
	// that does not finish would wait for nothing, and the missing pong
	// drops the client either way.
	if s.wmu.TryLock() {
		s.writeLocked(pingFrame)
		s.wmu.Unlock()
	}
}

var (
	pingFrame = []byte(`{"type":"ping"}`)
	pongFrame = []byte(`{"type":"pong"}`)
	ackFrame  = []byte(`{"type":"connection_ack"}`)
)

// message is a client message.
type message struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// receive handles one client message, closing the socket with the
// protocol's code for one that breaks it.
func (s *Socket) receive(b []byte) {
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		s.Close(CloseBadMessage, "Invalid message received")
		return
	}
	switch m.Type {
	case "connection_init":
		s.init(m.Payload)
	case "ping":
		if !objectOrNone(m.Payload) {
			s.Close(CloseBadMessage, "Invalid message received")
			return
		}
		if len(m.Payload) == 0 || string(m.Payload) == "null" {
			s.write(pongFrame)
			return
		}
		s.write(frame("pong", "", m.Payload))
	case "pong":
		if !objectOrNone(m.Payload) {
			s.Close(CloseBadMessage, "Invalid message received")
			return
		}
		s.mu.Lock()
		s.unanswered = 0
		s.mu.Unlock()
	case "subscribe":
		s.subscribe(m.ID, m.Payload)
	case "complete":
		if m.ID == "" {
			s.Close(CloseBadMessage, "Invalid message received")
			return
		}
		// The id is free again at once: the client may subscribe with it
		// before the operation's goroutine has wound down.
		s.mu.Lock()
		op := s.find(m.ID)
		if op != nil {
			op.stopped = true
			s.remove(op)
		}
		s.mu.Unlock()
		if op != nil {
			op.cancel()
		}
	default:
		s.Close(CloseBadMessage, "Invalid message received")
	}
}

// objectOrNone reports whether a payload is absent, null or an object, as
// the protocol wants of connection_init, ping and pong.
func objectOrNone(p json.RawMessage) bool {
	p = bytes.TrimSpace(p)
	return len(p) == 0 || string(p) == "null" || p[0] == '{'
}

func (s *Socket) init(payload json.RawMessage) {
	s.mu.Lock()
	if s.inited {
		s.mu.Unlock()
		s.Close(CloseTooManyInits, "Too many initialisation requests")
		return
	}
	s.inited = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	var p map[string]any
	if !objectOrNone(payload) || (len(payload) > 0 && json.Unmarshal(payload, &p) != nil) {
		s.Close(CloseBadMessage, "Invalid message received")
		return
	}
	ctx := s.ctx
	if s.t.o.Init != nil {
		// Init reads the database, on a stack deeper than the reader
		// needs while it waits; it runs on a goroutine of its own so that
		// the reader's stays small.
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			ctx, err = s.t.o.Init(s.ctx, s, p)
		}()
		<-done
		if err != nil {
			code, reason := CloseForbidden, "Forbidden"
			var ce *CloseError
			if errors.As(err, &ce) {
				code, reason = ce.Code, ce.Reason
			}
			s.Close(code, reason)
			return
		}
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.opCtx, s.acked = ctx, true
	if s.t.o.PingInterval > 0 {
		s.arm(s.t.o.PingInterval)
	}
	s.mu.Unlock()
	s.write(ackFrame)
}

// find returns the running operation of the id; s.mu is held.
func (s *Socket) find(id string) *operation {
	for _, op := range s.ops {
		if op.id == id {
			return op
		}
	}
	return nil
}

// remove forgets a finished operation; s.mu is held.
func (s *Socket) remove(op *operation) {
	for i, o := range s.ops {
		if o == op {
			last := len(s.ops) - 1
			s.ops[i] = s.ops[last]
			s.ops[last] = nil
			s.ops = s.ops[:last]
			if len(s.ops) == 0 {
				s.ops = nil
			}
			return
		}
	}
}

// clip cuts a close reason to the 123 bytes a close frame has room for.
func clip(reason string) string {
	if len(reason) <= 123 {
		return reason
	}
	reason = reason[:123]
	for !utf8.ValidString(reason) {
		reason = reason[:len(reason)-1]
	}
	return reason
}

// write sends one message. A write that fails leaves the connection
// broken, so it is closed; the reader then ends the socket.
func (s *Socket) write(b []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.writeLocked(b)
}

func (s *Socket) writeLocked(b []byte) {
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		s.drop()
	}
}

// frame is a server message: {"id":…,"type":…,"payload":…}.
func frame(typ, id string, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+len(id)+len(typ)+40)
	b = append(b, '{')
	if id != "" {
		b = append(b, `"id":`...)
		b = appendString(b, id)
		b = append(b, ',')
	}
	b = append(b, `"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if payload != nil {
		b = append(b, `,"payload":`...)
		b = append(b, payload...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
