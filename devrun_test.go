package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination that a test reads while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A development server says where to go (the GraphiQL URL, on loopback)
// and which database it uses, without its password.
func TestDevRunSaysWhereToGo(t *testing.T) {
	// The password is ignored by the test server's trust authentication;
	// it is there to be kept out of the log.
	dbURL := strings.Replace(testDBURL, "postgres@", "postgres:s3cret-pw@", 1)
	if dbURL == testDBURL {
		t.Skipf("cannot add a password to %s", testDBURL)
	}
	env := map[string]string{"DEV": "1", "DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0"}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	graphiql := regexp.MustCompile(`GraphiQL at (http://127\.0\.0\.1:[0-9]+/)`)
	deadline := time.Now().Add(30 * time.Second)
	var m []string
	for m = graphiql.FindStringSubmatch(logs.String()); m == nil; m = graphiql.FindStringSubmatch(logs.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no GraphiQL URL in the log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", m[1], resp.StatusCode)
	}
	out := logs.String()
	if strings.Contains(out, "s3cret-pw") {
		t.Fatalf("the log shows the database password:\n%s", out)
	}
	dbName := testDBURL[strings.LastIndex(testDBURL, "/")+1:]
	if i := strings.Index(dbName, "?"); i >= 0 {
		dbName = dbName[:i]
	}
	if !strings.Contains(out, "connecting to PostgreSQL") || !strings.Contains(out, dbName) {
		t.Fatalf("the log does not name the database %s:\n%s", dbName, out)
	}
	if strings.Contains(out, "reachable from the network") {
		t.Fatalf("a loopback server warned about the network:\n%s", out)
	}
}
