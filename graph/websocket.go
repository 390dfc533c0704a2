package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// closeInitTimeout is graphql-transport-ws's code for "connection_init did
// not arrive in time"; graphql-ws clients treat it as fatal rather than
// retrying a socket the server will close again.
const closeInitTimeout = 4408

// gqlgenInitTimeout is the close reason gqlgen gives when connection_init
// is late; it closes with 1002 (protocol error), which the protocol
// reserves for other faults.
const gqlgenInitTimeout = "connection initialisation timeout"

// initTimeoutCode wraps the websocket implementation so that gqlgen's
// init-timeout close goes out as 4408, as the protocol says. Everything
// else passes through.
type initTimeoutCode struct {
	transport.WebsocketImplementation
}

func (i initTimeoutCode) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := i.WebsocketImplementation.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	return &initTimeoutConn{WebsocketConn: c, active: map[string]bool{}, socket: socketFrom(r.Context())}, nil
}

// The graphql-transport-ws close codes for a client that breaks the
// protocol; gqlgen closes with 1002 for all of them, and graphql-ws
// clients decide from the code whether to retry.
const (
	closeBadMessage   = 4400
	closeUnauthorized = 4401
	closeDuplicateID  = 4409
	closeTooManyInits = 4429
)

// initTimeoutConn also watches the client's messages for protocol faults
// gqlgen closes with 1002 (or does not notice, like a reused subscription
// id) and closes with the protocol's own code instead.
type initTimeoutConn struct {
	transport.WebsocketConn
	mu     sync.Mutex
	inited bool
	// active are the subscription ids running, by the client's subscribe
	// and until either side completes them.
	active map[string]bool
	closed bool
	// socket, if the socket is tracked, may name the code and reason the
	// server ended it with.
	socket *socket
}

func (c *initTimeoutConn) WriteClose(code int, message string) error {
	if code == transport.WebsocketCloseProtocolError && message == gqlgenInitTimeout {
		code, message = closeInitTimeout, "Connection initialisation timeout"
	}
	if c.socket != nil && code == transport.WebsocketCloseNormalClosure {
		if ended, reason, ok := c.socket.closing(); ok {
			code, message = ended, reason
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	return c.WebsocketConn.WriteClose(code, message)
}

// NextReader reads one client message and checks it against the protocol
// before gqlgen decodes it.
func (c *initTimeoutConn) NextReader() (int, io.Reader, error) {
	typ, r, err := c.WebsocketConn.NextReader()
	if err != nil || c.Subprotocol() != "graphql-transport-ws" {
		return typ, r, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return typ, nil, err
	}
	var m struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(b, &m) != nil || m.Type == "" {
		return c.fault(closeBadMessage, "Invalid message received")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m.Type {
	case "connection_init":
		if c.inited {
			return c.faultLocked(closeTooManyInits, "Too many initialisation requests")
		}
		c.inited = true
	case "subscribe":
		switch {
		case !c.inited:
			return c.faultLocked(closeUnauthorized, "Unauthorized")
		case m.ID == "":
			return c.faultLocked(closeBadMessage, "Invalid message received")
		case c.active[m.ID]:
			return c.faultLocked(closeDuplicateID, "Subscriber for "+m.ID+" already exists")
		}
		c.active[m.ID] = true
	case "complete":
		delete(c.active, m.ID)
	case "ping", "pong":
	default:
		return c.faultLocked(closeBadMessage, "Invalid message received")
	}
	return typ, bytes.NewReader(b), nil
}

func (c *initTimeoutConn) fault(code int, reason string) (int, io.Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faultLocked(code, reason)
}

func (c *initTimeoutConn) faultLocked(code int, reason string) (int, io.Reader, error) {
	if !c.closed {
		c.closed = true
		_ = c.WebsocketConn.WriteClose(code, reason)
	}
	return 0, nil, transport.ErrWebsocketClosed
}

// WriteJSON notes the subscriptions the server ends, so that their ids may
// be used again.
func (c *initTimeoutConn) WriteJSON(v any) error {
	if rv := reflect.Indirect(reflect.ValueOf(v)); rv.Kind() == reflect.Struct {
		t, id := rv.FieldByName("Type"), rv.FieldByName("ID")
		if t.IsValid() && id.IsValid() && t.Kind() == reflect.String && id.Kind() == reflect.String &&
			(t.String() == "complete" || t.String() == "error") {
			c.mu.Lock()
			delete(c.active, id.String())
			c.mu.Unlock()
		}
	}
	return c.WebsocketConn.WriteJSON(v)
}

// The transport looks for these optional interfaces to enforce its read
// limit and the ping/pong deadline, so the wrapper must pass them on.

func (c *initTimeoutConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *initTimeoutConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
