package gqlws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// feed is an executor whose every operation is a subscription that sends
// what the test puts in its channel, and ends with the errors the test
// adds, as a resolver built on a hub does.
type feed struct {
	events chan string
	mu     sync.Mutex
	ctxs   []context.Context
}

func (f *feed) CreateOperationContext(_ context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	return &graphql.OperationContext{RawQuery: p.Query, Operation: &ast.OperationDefinition{Operation: ast.Subscription},
		RecoverFunc: func(_ context.Context, err any) error { return errors.New("internal error") }}, nil
}

func (f *feed) DispatchOperation(ctx context.Context, _ *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	f.mu.Lock()
	f.ctxs = append(f.ctxs, ctx)
	f.mu.Unlock()
	return func(ctx context.Context) *graphql.Response {
		select {
		case e, ok := <-f.events:
			if !ok {
				return nil
			}
			if e == "fail" {
				AddSubscriptionError(ctx, &gqlerror.Error{Message: "resume", Extensions: map[string]any{"code": "RESUME_REQUIRED"}})
				return nil
			}
			return &graphql.Response{Data: json.RawMessage(`{"e":"` + e + `"}`)}
		case <-ctx.Done():
			return nil
		}
	}, ctx
}

func (f *feed) DispatchError(context.Context, gqlerror.List) *graphql.Response { return nil }

type handler struct {
	t    *Transport
	exec graphql.GraphExecutor
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.t.Do(w, r, h.exec) }

// serve starts the transport with the options and returns its ws:// URL.
func serve(t *testing.T, o Options, exec graphql.GraphExecutor) string {
	t.Helper()
	srv := httptest.NewServer(handler{New(o), exec})
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

type msg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func send(t *testing.T, c *websocket.Conn, m msg) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := c.Write(t.Context(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, c *websocket.Conn) (msg, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return msg{}, err
	}
	var m msg
	return m, json.Unmarshal(b, &m)
}

func expect(t *testing.T, c *websocket.Conn, typ string) msg {
	t.Helper()
	m, err := recv(t, c)
	if err != nil || m.Type != typ {
		t.Fatalf("got %+v, %v; want %s", m, err, typ)
	}
	return m
}

func closed(t *testing.T, c *websocket.Conn) websocket.CloseError {
	t.Helper()
	for {
		if _, err := recv(t, c); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("ended without a close frame: %v", err)
			}
			return ce
		}
	}
}

func started(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c := dial(t, url)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack")
	send(t, c, msg{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"subscription { e }"}`)})
	return c
}

// Results go out as next; an error the resolver adds ends the operation
// with an error message, and the operation's context ends only after it
// is sent; the context says the operation came over a socket.
func TestResultsThenError(t *testing.T) {
	f := &feed{events: make(chan string, 2)}
	c := started(t, serve(t, Options{}, f))
	f.events <- "a"
	if m := expect(t, c, "next"); m.ID != "1" || string(m.Payload) != `{"data":{"e":"a"}}` {
		t.Fatalf("next %+v", m)
	}
	f.mu.Lock()
	ctx := f.ctxs[0]
	f.mu.Unlock()
	if !OverWebsocket(ctx) {
		t.Fatal("the operation's context does not say it came over a socket")
	}
	f.events <- "fail"
	m := expect(t, c, "error")
	if m.ID != "1" || !strings.Contains(string(m.Payload), "RESUME_REQUIRED") {
		t.Fatalf("error %+v", m)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the operation's context did not end after its error")
	}
}

// The server may end a socket with a code and reason of its choosing (the
// session ended, a shutdown); the operations end without complete, and a
// hook added once it has ended runs at once.
func TestCloseWithReason(t *testing.T) {
	f := &feed{events: make(chan string)}
	socks := make(chan *Socket, 1)
	url := serve(t, Options{Opened: func(s *Socket) func() { socks <- s; return func() {} }}, f)
	c := started(t, url)
	s := <-socks
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.ctxs) == 1 })
	s.Close(CloseForbidden, "Forbidden: the session has ended")
	ce := closed(t, c)
	if ce.Code != CloseForbidden || ce.Reason != "Forbidden: the session has ended" {
		t.Fatalf("closed with %d %q", ce.Code, ce.Reason)
	}
	ran := make(chan struct{})
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.ended })
	s.OnEnd(func() { close(ran) })
	select {
	case <-ran:
	default:
		t.Fatal("a hook added after the end did not run")
	}
}

// A client that stops answering pings is dropped after two.
func TestMissedPongsDrop(t *testing.T) {
	f := &feed{events: make(chan string)}
	url := serve(t, Options{PingInterval: 30 * time.Millisecond}, f)
	c := dial(t, url)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack")
	pings := 0
	for {
		m, err := recv(t, c)
		if err != nil {
			break
		}
		if m.Type == "ping" {
			pings++
		}
	}
	if pings != 2 {
		t.Fatalf("dropped after %d unanswered pings, want 2", pings)
	}
	// One that answers stays.
	c = dial(t, url)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack")
	for range 5 {
		expect(t, c, "ping")
		send(t, c, msg{Type: "pong"})
	}
}

// Without connection_init in time the socket closes with 4408.
func TestInitTimeout(t *testing.T) {
	c := dial(t, serve(t, Options{InitTimeout: 50 * time.Millisecond}, &feed{}))
	if ce := closed(t, c); ce.Code != CloseInitTimeout {
		t.Fatalf("closed with %d", ce.Code)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
