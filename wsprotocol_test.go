package main

import (
	"encoding/json"
	"testing"

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
