package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A client that breaks graphql-transport-ws is closed with the protocol's
// own code, which tells graphql-ws not to retry blindly.
func TestWebsocketProtocolErrors(t *testing.T) {
	s := sharedServer(t)
	token := s.login(t, "resident.lee").token
	init := wsMsg{Type: "connection_init", Payload: json.RawMessage(`{"Authorization":"Bearer ` + token + `"}`)}
	sub := wsMsg{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"subscription { notifications { id } }"}`)}
	cases := []struct {
		name string
		send func(c *websocket.Conn)
		want websocket.StatusCode
	}{
		{"not json", func(c *websocket.Conn) {
			_ = c.Write(t.Context(), websocket.MessageText, []byte("{nope"))
		}, 4400},
		{"subscribe before connection_init", func(c *websocket.Conn) { writeMsg(t, c, sub) }, 4401},
		{"second connection_init", func(c *websocket.Conn) {
			writeMsg(t, c, init)
			writeMsg(t, c, init)
		}, 4429},
		{"subscription id in use", func(c *websocket.Conn) {
			writeMsg(t, c, init)
			writeMsg(t, c, sub)
			writeMsg(t, c, sub)
		}, 4409},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := s.dialWS(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			tc.send(c)
			if code := closeStatus(t, c); code != tc.want {
				t.Fatalf("closed with %d, want %d", code, tc.want)
			}
		})
	}
	// A finished subscription's id may be used again.
	c := s.initWS(t, token)
	defer c.CloseNow()
	writeMsg(t, c, sub)
	writeMsg(t, c, wsMsg{ID: "1", Type: "complete"})
	writeMsg(t, c, sub)
	writeMsg(t, c, wsMsg{Type: "ping"})
	for {
		m, err := readMsg(c, 5e9)
		if err != nil {
			t.Fatalf("socket closed after a reused, finished id: %v", err)
		}
		if m.Type == "pong" {
			break
		}
	}
}

// More of the protocol's faults, each with its own close code; and a
// socket that offers no graphql-transport-ws is refused with 4406 rather
// than spoken to in another protocol.
func TestWebsocketProtocolFaults(t *testing.T) {
	s := sharedServer(t)
	token := s.login(t, "resident.lee").token
	init := wsMsg{Type: "connection_init", Payload: json.RawMessage(`{"Authorization":"Bearer ` + token + `"}`)}
	cases := []struct {
		name string
		send func(c *websocket.Conn)
		want websocket.StatusCode
	}{
		{"unknown type", func(c *websocket.Conn) { writeMsg(t, c, wsMsg{Type: "start"}) }, 4400},
		{"next from the client", func(c *websocket.Conn) {
			writeMsg(t, c, init)
			writeMsg(t, c, wsMsg{ID: "1", Type: "next", Payload: json.RawMessage(`{}`)})
		}, 4400},
		{"no type", func(c *websocket.Conn) {
			_ = c.Write(t.Context(), websocket.MessageText, []byte(`{"id":"1"}`))
		}, 4400},
		{"a number for an id", func(c *websocket.Conn) {
			writeMsg(t, c, init)
			_ = c.Write(t.Context(), websocket.MessageText, []byte(`{"id":1,"type":"subscribe","payload":{"query":"{ me { id } }"}}`))
		}, 4400},
		{"subscribe without an id", func(c *websocket.Conn) {
			writeMsg(t, c, init)
			writeMsg(t, c, wsMsg{Type: "subscribe", Payload: json.RawMessage(`{"query":"{ me { id } }"}`)})
		}, 4400},
		{"subscribe without a payload", func(c *websocket.Conn) {
			writeMsg(t, c, init)
			writeMsg(t, c, wsMsg{ID: "1", Type: "subscribe"})
		}, 4400},
		{"connection_init payload not an object", func(c *websocket.Conn) {
			writeMsg(t, c, wsMsg{Type: "connection_init", Payload: json.RawMessage(`"Bearer x"`)})
		}, 4400},
		{"binary frame", func(c *websocket.Conn) {
			b, _ := json.Marshal(init)
			_ = c.Write(t.Context(), websocket.MessageBinary, b)
		}, 4400},
		{"message over 1 MiB", func(c *websocket.Conn) {
			writeMsg(t, c, init)
			big := `{"type":"ping","payload":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`
			_ = c.Write(t.Context(), websocket.MessageText, []byte(big))
		}, websocket.StatusMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := s.dialWS(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadLimit(-1)
			tc.send(c)
			if code := closeStatus(t, c); code != tc.want {
				t.Fatalf("closed with %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("no graphql-transport-ws offered", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/query", &websocket.DialOptions{Subprotocols: []string{"graphql-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if code := closeStatus(t, c); code != 4406 {
			t.Fatalf("closed with %d, want 4406", code)
		}
	})
}

// ping and pong may be sent at any time, before connection_init too; a
// pong echoes the ping's payload.
func TestWebsocketPingBeforeInit(t *testing.T) {
	s := sharedServer(t)
	c, _, err := s.dialWS(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	writeMsg(t, c, wsMsg{Type: "pong"})
	writeMsg(t, c, wsMsg{Type: "ping", Payload: json.RawMessage(`{"n":7}`)})
	m, err := readMsg(c, 5*time.Second)
	if err != nil || m.Type != "pong" || string(m.Payload) != `{"n":7}` {
		t.Fatalf("ping answered %+v, %v; want a pong with the ping's payload", m, err)
	}
}

// A query over the socket answers next and then complete; an operation the
// client completes gets nothing more, and the socket carries on.
func TestWebsocketOperationEnds(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	c := s.initWS(t, lee.token)
	defer c.CloseNow()
	writeMsg(t, c, wsMsg{ID: "q", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ me { id } }"}`)})
	m, err := readMsg(c, 5*time.Second)
	var p gqlResponse
	if err != nil || m.Type != "next" || m.ID != "q" || json.Unmarshal(m.Payload, &p) != nil || len(p.Errors) > 0 || !strings.Contains(string(m.Payload), `"me"`) {
		t.Fatalf("query answered %+v, %v", m, err)
	}
	if m, err := readMsg(c, 5*time.Second); err != nil || m.Type != "complete" || m.ID != "q" {
		t.Fatalf("after the result: %+v, %v; want complete", m, err)
	}
	writeMsg(t, c, wsMsg{ID: "s", Type: "subscribe", Payload: json.RawMessage(`{"query":"subscription { notifications { id } }"}`)})
	writeMsg(t, c, wsMsg{ID: "s", Type: "complete"})
	writeMsg(t, c, wsMsg{Type: "ping"})
	if m, err := readMsg(c, 5*time.Second); err != nil || m.Type != "pong" {
		t.Fatalf("after the client's complete: %+v, %v; want only the pong", m, err)
	}
}
