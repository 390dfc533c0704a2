package pubsub_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/pubsub"
	"github.com/kproperty/onestop/internal/pubsub/redisbroker"
	"github.com/kproperty/onestop/internal/request"
)

// memLog is an event log in memory, standing in for PostgreSQL.
type memLog struct {
	mu  sync.Mutex
	evs []request.Event
}

func (m *memLog) append(unitID string) request.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := request.Event{ID: int64(len(m.evs) + 1), RequestID: "r1", Type: request.EvSubmitted, ToStatus: request.Submitted,
		Audience: request.Audience{PropertyID: "p1", UnitID: unitID, RequesterID: "someone"}}
	m.evs = append(m.evs, e)
	return e
}

func (m *memLog) LastEventID(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.evs)), nil
}

func (m *memLog) EventsAfter(_ context.Context, after int64, limit int) ([]request.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []request.Event
	for _, e := range m.evs {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memLog) VisibleEvents(_ context.Context, a *auth.Actor, requestID string, after, upTo int64, limit int) ([]request.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []request.Event
	for _, e := range m.evs {
		if e.ID > after && e.ID <= upTo && len(out) < limit && (requestID == "" || e.RequestID == requestID) && request.Visible(a, e.Audience) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memLog) RequestVisible(context.Context, *auth.Actor, string) error { return nil }

// brokenBroker loses every message, as Redis does while it is down.
type brokenBroker struct{}

func (brokenBroker) Publish(context.Context, []byte) error { return errors.New("redis is down") }
func (brokenBroker) Listen(ctx context.Context, _ func([]byte)) {
	<-ctx.Done()
}
func (brokenBroker) String() string { return "broken" }

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func startHub(t *testing.T, log *memLog, b pubsub.Broker, o pubsub.Options) *pubsub.Hub {
	t.Helper()
	o.Log = quietLog
	h := pubsub.NewHub(log, b, o)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

var household = &auth.Actor{PersonID: "resident", Units: []string{"u1"}}

func next(t *testing.T, s *pubsub.Subscription) request.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return e
}

func commit(h *pubsub.Hub, log *memLog, unitID string) request.Event {
	e := log.append(unitID)
	h.Publish(context.Background(), []request.Event{e})
	return e
}

// An event whose publish was lost still arrives, from the poll.
func TestLostPublishArrivesByPoll(t *testing.T) {
	log := &memLog{}
	h := startHub(t, log, brokenBroker{}, pubsub.Options{PollInterval: 50 * time.Millisecond})
	s, err := h.Subscribe(context.Background(), household, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := commit(h, log, "u1")
	if got := next(t, s); got.ID != want.ID {
		t.Fatalf("got event %d, want %d", got.ID, want.ID)
	}
}

// A subscriber that does not read is dropped with a resume point; the
// others are not held up.
func TestSlowSubscriberIsDropped(t *testing.T) {
	log := &memLog{}
	h := startHub(t, log, pubsub.NewLocal(), pubsub.Options{Buffer: 2, PollInterval: time.Hour})
	slow, _ := h.Subscribe(context.Background(), household, nil, nil)
	fast, _ := h.Subscribe(context.Background(), household, nil, nil)
	for i := 0; i < 10; i++ {
		commit(h, log, "u1")
		if e := next(t, fast); e.ID != int64(i+1) {
			t.Fatalf("fast subscriber got %d, want %d", e.ID, i+1)
		}
	}
	var last int64
	for {
		e, err := slow.Next(context.Background())
		var resume *pubsub.ResumeError
		if errors.As(err, &resume) {
			if resume.Since != last || last == 0 {
				t.Fatalf("resume since %d, last delivered %d", resume.Since, last)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = e.ID
	}
	if n := h.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers, want only the fast one", n)
	}
}

// Resuming switches from the log to live events without gap or duplicate,
// and sees only what the actor may.
func TestResumeSwitchover(t *testing.T) {
	log := &memLog{}
	for i := 0; i < 5; i++ {
		log.append([]string{"u1", "u2"}[i%2]) // 1, 3, 5 are the household's
	}
	h := startHub(t, log, pubsub.NewLocal(), pubsub.Options{Batch: 1, PollInterval: time.Hour})
	since := "1"
	s, err := h.Subscribe(context.Background(), household, nil, &since)
	if err != nil {
		t.Fatal(err)
	}
	commit(h, log, "u2") // 6: not the household's
	commit(h, log, "u1") // 7
	var got []int64
	for len(got) < 3 {
		got = append(got, next(t, s).ID)
	}
	if got[0] != 3 || got[1] != 5 || got[2] != 7 {
		t.Fatalf("got %v, want [3 5 7]", got)
	}
	for _, bad := range []string{"x", "-1", "99"} {
		if _, err := h.Subscribe(context.Background(), household, nil, &bad); err == nil {
			t.Errorf("since %q accepted", bad)
		}
	}
}

// The broker contract: whatever one broker instance publishes, every
// listener hears, and a listener is told to read the log when it
// (re)connects. Both brokers must keep it.
func TestBrokerContract(t *testing.T) {
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	kinds := map[string]func(t *testing.T) (pub, sub pubsub.Broker){
		"in-process": func(*testing.T) (pubsub.Broker, pubsub.Broker) { l := pubsub.NewLocal(); return l, l },
		"redis": func(t *testing.T) (pubsub.Broker, pubsub.Broker) {
			opts, err := redis.ParseURL(redisURL)
			if err != nil {
				t.Fatal(err)
			}
			ch := "onestop-test:" + uuid.NewString()
			c1, c2 := redis.NewClient(opts), redis.NewClient(opts)
			t.Cleanup(func() { c1.Close(); c2.Close() })
			return redisbroker.New(c1, ch), redisbroker.New(c2, ch)
		},
	}
	for name, mk := range kinds {
		t.Run(name, func(t *testing.T) {
			pub, sub := mk(t)
			got := make(chan []byte, 10)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); sub.Listen(ctx, func(p []byte) { got <- p }) }()
			defer func() { cancel(); <-done }()
			select {
			case p := <-got:
				if p != nil {
					t.Fatalf("first delivery %q, want the nil wake-up", p)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no wake-up on connect")
			}
			if err := pub.Publish(ctx, []byte(`{"id":1}`)); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-got:
				if string(p) != `{"id":1}` {
					t.Fatalf("got %q", p)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("message not delivered")
			}
		})
	}
}

func (m *memLog) LastNotificationID(context.Context) (int64, error) { return 0, nil }

func (m *memLog) NotificationsAfter(context.Context, int64, int) ([]notification.Notification, error) {
	return nil, nil
}
