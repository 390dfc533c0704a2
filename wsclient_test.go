package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsMsg is one graphql-transport-ws message.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient is a graphql-transport-ws client, as the graphql-ws library
// speaks it: it answers pings and hands every other message to the test.
type wsClient struct {
	t    testing.TB
	srv  *testServer
	conn *websocket.Conn
	msgs chan wsMsg
	// done is closed when the socket is; err then says why.
	done chan struct{}
	err  error
	// answered holds the operation ids the server has sent anything for.
	answered sync.Map
}

// dialWS opens a websocket to the server's /query without sending anything.
func (s *testServer) dialWS(t testing.TB, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/query", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPHeader:   header,
	})
}

func writeMsg(t testing.TB, c *websocket.Conn, m wsMsg) {
	t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("websocket write: %v", err)
	}
}

func readMsg(c *websocket.Conn, timeout time.Duration) (wsMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return wsMsg{}, err
	}
	var m wsMsg
	return m, json.Unmarshal(b, &m)
}

// initWS opens a websocket and completes connection_init with the token.
func (s *testServer) initWS(t testing.TB, token string) *websocket.Conn {
	t.Helper()
	c, _, err := s.dialWS(t, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	writeMsg(t, c, wsMsg{Type: "connection_init", Payload: json.RawMessage(`{"Authorization":"Bearer ` + token + `"}`)})
	m, err := readMsg(c, 5*time.Second)
	if err != nil || m.Type != "connection_ack" {
		t.Fatalf("connection_init answered %+v, %v", m, err)
	}
	return c
}

// ws opens a signed-in graphql-transport-ws connection for the client.
func (c *client) ws() *wsClient {
	c.t.Helper()
	conn := c.srv.initWS(c.t, c.token)
	w := &wsClient{t: c.t, srv: c.srv, conn: conn, msgs: make(chan wsMsg, 10000), done: make(chan struct{})}
	go w.read()
	c.t.Cleanup(func() { conn.CloseNow() })
	return w
}

func (w *wsClient) read() {
	defer close(w.done)
	for {
		_, b, err := w.conn.Read(context.Background())
		if err != nil {
			w.err = err
			return
		}
		var m wsMsg
		if err := json.Unmarshal(b, &m); err != nil {
			w.err = err
			return
		}
		if m.Type == "ping" {
			b, _ := json.Marshal(wsMsg{Type: "pong"})
			_ = w.conn.Write(context.Background(), websocket.MessageText, b)
			continue
		}
		if m.ID != "" {
			w.answered.Store(m.ID, true)
		}
		w.msgs <- m
	}
}

// start sends a subscribe message and returns once the subscription is
// running on the server, or has been answered (refused, or with its first
// result). The protocol acknowledges no subscription, and the server sets
// one up while it goes on reading the socket, so a test that acts at once
// over HTTP could otherwise commit its event before the subscription
// exists, and wait for it in vain.
func (w *wsClient) start(id string, payload json.RawMessage) {
	w.t.Helper()
	w.answered.Delete(id)
	before := w.srv.app.Live.Streams()
	writeMsg(w.t, w.conn, wsMsg{ID: id, Type: "subscribe", Payload: payload})
	// Not fatal when it runs out: another stream of the test may have
	// ended meanwhile, and the test's own reads will say what is missing.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if _, ok := w.answered.Load(id); ok || w.srv.app.Live.Streams() > before {
			return
		}
	}
}

// eventFields is what the tests read of a live event.
const eventFields = `id type fromStatus toStatus request { id status } actor { id }`

// liveEvent is one event as a subscription delivers it.
type liveEvent struct {
	ID         string
	Type       string
	FromStatus *string
	ToStatus   string
	Request    struct{ ID, Status string }
	Actor      *struct{ ID string }
}

// subscribe starts requestEvents under the operation id.
func (w *wsClient) subscribe(id string, requestID, since *string) {
	w.t.Helper()
	vars := map[string]any{}
	if requestID != nil {
		vars["rid"] = *requestID
	}
	if since != nil {
		vars["since"] = *since
	}
	p, _ := json.Marshal(map[string]any{
		"query":     `subscription($rid: ID, $since: ID) { requestEvents(requestId: $rid, since: $since) { ` + eventFields + ` } }`,
		"variables": vars,
	})
	w.start(id, p)
}

// next returns the next message, failing the test after timeout.
func (w *wsClient) next(timeout time.Duration) wsMsg {
	w.t.Helper()
	select {
	case m := <-w.msgs:
		return m
	case <-time.After(timeout):
		w.t.Fatalf("no message within %s", timeout)
	}
	return wsMsg{}
}

// event returns the next event; any other message fails the test.
func (w *wsClient) event() liveEvent {
	w.t.Helper()
	m := w.next(10 * time.Second)
	var p struct {
		Data   struct{ RequestEvents liveEvent }
		Errors []gqlError
	}
	if m.Type != "next" || json.Unmarshal(m.Payload, &p) != nil || len(p.Errors) > 0 {
		w.t.Fatalf("want an event, got %s %s", m.Type, m.Payload)
	}
	return p.Data.RequestEvents
}

// events returns the next n events.
func (w *wsClient) events(n int) []liveEvent {
	w.t.Helper()
	out := make([]liveEvent, n)
	for i := range out {
		out[i] = w.event()
	}
	return out
}

// quiet fails the test if a message arrives within d.
func (w *wsClient) quiet(d time.Duration) {
	w.t.Helper()
	select {
	case m := <-w.msgs:
		w.t.Fatalf("unexpected message %s %s", m.Type, m.Payload)
	case <-time.After(d):
	}
}

// failure returns the errors a subscription ended with at once.
func (w *wsClient) failure() gqlResponse {
	w.t.Helper()
	m := w.next(10 * time.Second)
	for m.Type == "complete" { // of an earlier operation
		m = w.next(10 * time.Second)
	}
	var r gqlResponse
	switch m.Type {
	case "next":
		_ = json.Unmarshal(m.Payload, &r)
	case "error":
		_ = json.Unmarshal(m.Payload, &r.Errors)
	}
	if len(r.Errors) == 0 {
		w.t.Fatalf("want an error, got %s %s", m.Type, m.Payload)
	}
	return r
}

func types(evs []liveEvent) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(e.Type)
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }
