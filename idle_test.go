package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
)

// A keep-alive connection left idle is closed by the server once
// IDLE_TIMEOUT passes, so idle clients cannot hold connections open
// without end. (The test's own wait is only a generous upper bound.)
func TestIdleConnectionIsClosed(t *testing.T) {
	cfg := config.Config{
		DatabaseURL:  testDBURL,
		JWTSecret:    "test-secret-test-secret-test-secret!",
		AccessTTL:    15 * time.Minute,
		PasswordCost: 4,
		IdleTimeout:  200 * time.Millisecond,
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := newApp(context.Background(), cfg, clock.NewManual(testEpoch), log)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, app, ln, 5*time.Second, log) }()
	defer func() { stop(); <-done }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("healthz: %d, close %v", resp.StatusCode, resp.Close)
	}
	// The connection stays open for another request; the client sends
	// none, and the server hangs up.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := rd.ReadByte(); err != io.EOF {
		t.Fatalf("an idle connection was not closed: %v", err)
	}
}
