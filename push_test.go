package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/postgres"
)

// Pushes to phones go through the webhook sender, retried with backoff
// until the gateway takes them, and each is delivered once.
func TestPushRetries(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "PU", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech := s.login(t, e.user("tech"))

	var mu sync.Mutex
	calls := map[int64]int{}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification.Notification
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("gateway got %s", body)
		}
		mu.Lock()
		defer mu.Unlock()
		calls[n.ID]++
		if n.PersonID == tech.id && calls[n.ID] < 3 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
	}))
	defer gateway.Close()
	pusher := &notification.Pusher{
		Outbox: postgres.NewNotificationStore(s.app.DB), Sender: notification.WebhookSender{URL: gateway.URL},
		Clock: s.clock, MaxAttempts: 5, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	// Earlier tests' notifications are due too; send them first.
	for {
		n, err := pusher.Tick(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}

	r := resident.submit(e.Plumbing, "Leak")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	var id int64
	if err := s.app.DB.Get(&id, `SELECT id FROM notifications WHERE person_id = $1 AND request_id = $2`, tech.id, r.ID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if _, err := pusher.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(notification.Backoff(i+1) + time.Second)
	}
	var row struct {
		Attempts int        `db:"push_attempts"`
		Pushed   *time.Time `db:"pushed_at"`
	}
	if err := s.app.DB.Get(&row, `SELECT push_attempts, pushed_at FROM notifications WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if row.Pushed == nil || row.Attempts != 3 || calls[id] != 3 {
		t.Fatalf("pushed %v after %d attempts and %d calls, want delivered on the third", row.Pushed, row.Attempts, calls[id])
	}
}

func TestBackoff(t *testing.T) {
	if notification.Backoff(1) != 30*time.Second || notification.Backoff(2) != time.Minute || notification.Backoff(20) != time.Hour {
		t.Fatalf("backoff %v %v %v", notification.Backoff(1), notification.Backoff(2), notification.Backoff(20))
	}
}

// A push gateway that hangs holds up neither the other scheduled jobs nor
// the database: pushes go out with no transaction open and no row locked.
func TestHungPushGateway(t *testing.T) {
	release := make(chan struct{})
	sending := make(chan int64, 100)
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification.Notification
		_ = json.NewDecoder(r.Body).Decode(&n)
		sending <- n.ID
		select { // hang until the pusher gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer gateway.Close()
	defer close(release)
	s := startServer(t, func(c *config.Config) {
		longTokens(c)
		c.TickInterval = 20 * time.Millisecond
		c.PushWebhookURL = gateway.URL
	})
	e := newEstate(t, s, "HG", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident, agent, tech := s.login(t, e.Resident), s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	// A backlog of pushes, each of which will hang.
	if _, err := s.app.DB.Exec(`INSERT INTO notifications (person_id, kind, title, created_at, push_next_at)
SELECT $1, 'ASSIGNED', 'job', $2, $2 FROM generate_series(1, 10)`, tech.id, s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r := resident.submit(e.Plumbing, "Leak")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.act(start, map[string]any{"id": r.ID})
	tech.act(complete, map[string]any{"id": r.ID, "note": "fixed"})

	var hung int64
	select {
	case hung = <-sending:
	case <-time.After(10 * time.Second):
		t.Fatal("the pusher never called the gateway")
	}
	// While the push hangs, nothing waits in an open transaction (one that
	// went idle before the push began and still is) and the
	// notification's row is free.
	var hungAt time.Time
	if err := s.app.DB.Get(&hungAt, `SELECT clock_timestamp()`); err != nil {
		t.Fatal(err)
	}
	// Only a transaction that last touched the notifications counts: other
	// jobs of the server run their own short transactions meanwhile.
	var idle int
	if err := s.app.DB.Get(&idle, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND state_change < $1
  AND query ILIKE '%notifications%'`, hungAt); err != nil {
		t.Fatal(err)
	}
	if idle != 0 {
		t.Errorf("%d transactions open while a push is sent", idle)
	}
	tx, err := s.app.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT 1 FROM notifications WHERE id = $1 FOR UPDATE NOWAIT`, hung); err != nil {
		t.Errorf("the notification being pushed is locked: %v", err)
	}
	_ = tx.Rollback()

	// Auto-confirmation still runs on time while the gateway hangs.
	s.clock.Advance(3*24*time.Hour + time.Hour)
	waitFor(t, 20*time.Second, "auto-confirmation", func() bool {
		var status string
		_ = s.app.DB.Get(&status, `SELECT status FROM service_requests WHERE id = $1`, r.ID)
		return status == "CONFIRMED"
	})
}

// Two instances pushing at once never send the same notification twice.
func TestPushOncePerNotification(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "PO", map[string]string{"tech": "TECHNICIAN"})
	tech := s.login(t, e.user("tech"))
	for i := 0; i < 120; i++ {
		if _, err := s.app.DB.Exec(`INSERT INTO notifications (person_id, kind, title, created_at, push_next_at) VALUES ($1, 'ASSIGNED', 'job', $2, $2)`, tech.id, s.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	calls := map[int64]int{}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification.Notification
		_ = json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		calls[n.ID]++
		mu.Unlock()
	}))
	defer gateway.Close()
	var wg sync.WaitGroup
	for range 2 {
		p := &notification.Pusher{
			Outbox: postgres.NewNotificationStore(s.app.DB), Sender: notification.WebhookSender{URL: gateway.URL},
			Clock: s.clock, MaxAttempts: 5, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		wg.Go(func() {
			for {
				n, err := p.Tick(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	var left int
	if err := s.app.DB.Get(&left, `SELECT count(*) FROM notifications WHERE person_id = $1 AND pushed_at IS NULL`, tech.id); err != nil || left != 0 {
		t.Fatalf("%d notifications not pushed (%v)", left, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range calls {
		if n != 1 {
			t.Errorf("notification %d pushed %d times", id, n)
		}
	}
}
