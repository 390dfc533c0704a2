package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

// A body trickled a byte at a time does not hold a connection open: the
// server gives up on it once the read deadline passes.
func TestTrickledBodyIsCutOff(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.BodyReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte("POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"))
	if err != nil {
		t.Fatal(err)
	}
	// The client never sends the rest; the server must answer or hang up
	// on its own, long before this generous wait is over.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "errors") {
			t.Fatalf("a half-sent body was answered 200: %s", body)
		}
		return
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still waits for the trickled body")
	}
}

// A query past its deadline is stopped, with its SQL, and says so with a
// code the app can tell from a fault.
func TestOperationTimeout(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.OperationTimeout = time.Nanosecond })
	// Signing in is an operation too; the token comes from another
	// instance of the same deployment.
	c := sharedServer(t).login(t, "agent.wong")
	c.srv = s
	r := c.fails("TIMEOUT", `{ requests(first: 5) { edges { node { id } } } }`, nil)
	if id, _ := r.Errors[0].Extensions["requestId"].(string); id == "" {
		t.Errorf("no request id in %+v", r.Errors[0])
	}
}
