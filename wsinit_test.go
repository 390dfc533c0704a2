package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Apollo's and other clients put the token in connectionParams.headers;
// connection_init is accepted with the token at the top level or there, in
// either spelling of the header.
func TestWebsocketInitTokenShapes(t *testing.T) {
	s := sharedServer(t)
	token := s.login(t, "resident.lee").token
	for name, payload := range map[string]string{
		"top level":          `{"Authorization": "Bearer ` + token + `"}`,
		"headers":            `{"headers": {"Authorization": "Bearer ` + token + `"}}`,
		"headers lower case": `{"headers": {"authorization": "Bearer ` + token + `"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := s.dialWS(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			writeMsg(t, c, wsMsg{Type: "connection_init", Payload: json.RawMessage(payload)})
			m, err := readMsg(c, 5*time.Second)
			if err != nil || m.Type != "connection_ack" {
				t.Fatalf("connection_init %s answered %+v, %v", payload, m, err)
			}
		})
	}
}

// A refused connection_init closes the socket with 4403 and a reason that
// says what was wrong, so that a developer reading the close event knows.
func TestWebsocketRefusalsGiveAReason(t *testing.T) {
	s := sharedServer(t)
	for _, c := range []struct{ payload, reason string }{
		{`{}`, "Authorization"},
		{`{"headers": {}}`, "Authorization"},
		{`{"Authorization": "Bearer not-a-token"}`, "invalid or expired"},
		{`{"headers": {"Authorization": "Bearer not-a-token"}}`, "invalid or expired"},
		{`{"Authorization": "Basic dXNlcjpwdw=="}`, "Bearer"},
	} {
		t.Run(c.payload, func(t *testing.T) {
			conn, _, err := s.dialWS(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			writeMsg(t, conn, wsMsg{Type: "connection_init", Payload: json.RawMessage(c.payload)})
			var closeErr websocket.CloseError
			for {
				_, err := readMsg(conn, 10*time.Second)
				if err == nil {
					continue
				}
				if !asCloseError(err, &closeErr) {
					t.Fatalf("socket ended with %v, not a close", err)
				}
				break
			}
			if closeErr.Code != 4403 || !strings.Contains(closeErr.Reason, c.reason) {
				t.Fatalf("closed with %d %q, want 4403 with a reason naming %q", closeErr.Code, closeErr.Reason, c.reason)
			}
			if len(closeErr.Reason) > 123 {
				t.Fatalf("close reason of %d bytes: the protocol allows 123", len(closeErr.Reason))
			}
		})
	}
}

func asCloseError(err error, target *websocket.CloseError) bool {
	return errors.As(err, target)
}
