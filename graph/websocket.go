package graph

import (
	"net/http"
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
	return initTimeoutConn{c}, nil
}

type initTimeoutConn struct {
	transport.WebsocketConn
}

func (c initTimeoutConn) WriteClose(code int, message string) error {
	if code == transport.WebsocketCloseProtocolError && message == gqlgenInitTimeout {
		code, message = closeInitTimeout, "Connection initialisation timeout"
	}
	return c.WebsocketConn.WriteClose(code, message)
}

// The transport looks for these optional interfaces to enforce its read
// limit and the ping/pong deadline, so the wrapper must pass them on.

func (c initTimeoutConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c initTimeoutConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
