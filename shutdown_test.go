package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
)

// SIGTERM lets a mutation in flight commit and answer, and tells each live
// subscriber where to resume before its socket closes.
func TestShutdownFinishesCallsAndResumesSubscribers(t *testing.T) {
	// The server as run builds it, on the test's clock.
	cfg := config.Config{
		DatabaseURL: testDBURL,
		JWTSecret:   "test-secret-test-secret-test-secret!",
		DemoData:    true,
		AccessTTL:   15 * time.Minute,
		// The lowest cost bcrypt allows: these are throwaway passwords.
		PasswordCost: 4,
	}
	clk := clock.NewManual(testEpoch)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := newApp(context.Background(), cfg, clk, log)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, app, ln, 30*time.Second, log) }()
	s := &testServer{Server: &httptest.Server{URL: "http://" + ln.Addr().String()}, app: app, clock: clk}
	lee, agent := s.login(t, "resident.lee"), s.login(t, "agent.wong")
	r := lee.submit(lee.categoryID("HV", "plumbing"), "Shower drain blocked")
	w := lee.ws()
	w.subscribe("1", &r.ID, nil)
	w.quiet(100 * time.Millisecond)
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	seen := w.event()

	// Another session holds the request's row, so the cancellation the
	// agent sends next waits inside its transaction.
	db, err := sqlx.Connect("postgres", testDBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT 1 FROM service_requests WHERE id = $1 FOR UPDATE`, r.ID); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		resp gqlResponse
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		body, _ := json.Marshal(map[string]any{"query": cancel, "variables": map[string]any{"id": r.ID, "reason": "plumber came by"}})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+agent.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var out gqlResponse
		err = json.NewDecoder(resp.Body).Decode(&out)
		answered <- answer{out, err}
	}()
	waitFor(t, 10*time.Second, "the mutation to wait for the row", func() bool {
		var n int
		_ = db.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		return n > 0
	})

	stop() // SIGTERM

	m := w.next(10 * time.Second)
	var errs []gqlError
	if m.Type != "error" || m.ID != "1" || json.Unmarshal(m.Payload, &errs) != nil || len(errs) != 1 {
		t.Fatalf("the subscriber got %s %s, want an error frame", m.Type, m.Payload)
	}
	if errs[0].Extensions["code"] != "RESUME_REQUIRED" || errs[0].Extensions["since"] != seen.ID {
		t.Fatalf("the subscriber got %+v, want RESUME_REQUIRED since %s", errs[0], seen.ID)
	}
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the websocket stayed open")
	}

	if err := tx.Rollback(); err != nil { // the row is free again
		t.Fatal(err)
	}
	a := <-answered
	if a.err != nil || len(a.resp.Errors) > 0 {
		t.Fatalf("the mutation in flight answered %+v %v", a.resp.Errors, a.err)
	}
	var status string
	if err := db.Get(&status, `SELECT status FROM service_requests WHERE id = $1`, r.ID); err != nil || status != "CANCELLED" {
		t.Fatalf("after shutdown the request is %s (%v), want CANCELLED", status, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}
