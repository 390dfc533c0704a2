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
