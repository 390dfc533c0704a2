package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/config"
)

// A notification reaches its person's phone live, on whichever instance the
// phone is connected to, and nobody else's.
func TestNotificationsSubscription(t *testing.T) {
	channel := "onestop-test-" + uuid.NewString()
	withRedis := func(c *config.Config) {
		c.RedisURL = "redis://127.0.0.1:6379/0"
		c.RedisChannel = channel
		c.EventPollInterval = time.Hour // only Redis may wake the hub here
	}
	a, b := startServer(t, withRedis), startServer(t, withRedis)
	e := newEstate(t, a, "LN", map[string]string{"agent": "AGENT", "t1": "TECHNICIAN", "t2": "TECHNICIAN"})
	resident := a.login(t, e.Resident)
	agent := a.login(t, e.user("agent"))
	t1, t2 := a.login(t, e.user("t1")), a.login(t, e.user("t2"))

	subscribe := func(c *client) *wsClient {
		t.Helper()
		onB := b.anon(t)
		onB.token = c.token
		w := onB.ws()
		p, _ := json.Marshal(map[string]any{"query": `subscription { notifications { id kind title read request { id } } }`})
		w.start("n", p)
		return w
	}
	w1, w2 := subscribe(t1), subscribe(t2)
	time.Sleep(100 * time.Millisecond) // let both subscriptions register

	r := resident.submit(e.Plumbing, "Leak")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": t1.id})

	m := w1.next(10 * time.Second)
	var got struct {
		Data struct {
			Notifications struct {
				ID, Kind, Title string
				Read            bool
				Request         *struct{ ID string }
			}
		}
	}
	if m.Type != "next" || json.Unmarshal(m.Payload, &got) != nil {
		t.Fatalf("want a notification, got %s %s", m.Type, m.Payload)
	}
	n := got.Data.Notifications
	if n.Kind != "ASSIGNED" || n.Read || n.Request == nil || n.Request.ID != r.ID {
		t.Fatalf("notification %+v", n)
	}
	w2.quiet(300 * time.Millisecond)
}

// A websocket lives no longer than the access token that opened it.
func TestWebsocketEndsWithItsToken(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.AccessTTL = 2 * time.Second })
	w := s.login(t, "resident.lee").ws()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the socket outlived its token")
	}
}

// liveNotification reads the next notification off a notifications
// subscription.
func (w *wsClient) notification() (id, requestID string) {
	w.t.Helper()
	m := w.next(10 * time.Second)
	var got struct {
		Data struct {
			Notifications struct {
				ID, Kind string
				Request  *struct{ ID string }
			}
		}
		Errors []gqlError
	}
	if m.Type != "next" || json.Unmarshal(m.Payload, &got) != nil || len(got.Errors) > 0 || got.Data.Notifications.Request == nil {
		w.t.Fatalf("want a notification, got %s %s", m.Type, m.Payload)
	}
	return got.Data.Notifications.ID, got.Data.Notifications.Request.ID
}

func (w *wsClient) subscribeNotifications(id string, since *string) {
	w.t.Helper()
	vars := map[string]any{}
	if since != nil {
		vars["since"] = *since
	}
	p, _ := json.Marshal(map[string]any{"query": `subscription($since: ID) { notifications(since: $since) { id kind request { id } } }`, "variables": vars})
	w.start(id, p)
}

// A notifications subscription resumes like requestEvents: with since, the
// missed ones first and then live ones, no gap and no duplicate; and a
// stream the server ends names the last one it delivered.
func TestNotificationsResume(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "NR", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident, agent, tech := s.login(t, e.Resident), s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	job := func() string {
		r := resident.submit(e.Plumbing, "Leak")
		agent.act(accept, map[string]any{"id": r.ID})
		agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
		return r.ID
	}
	w := tech.ws()
	w.subscribeNotifications("1", nil)
	w.quiet(100 * time.Millisecond)
	r1 := job()
	seen, rid := w.notification()
	if rid != r1 {
		t.Fatalf("first notification is about %s, want %s", rid, r1)
	}
	w.conn.CloseNow() // offline

	r2, r3 := job(), job()
	w = tech.ws()
	w.subscribeNotifications("2", &seen)
	_, got2 := w.notification()
	_, got3 := w.notification()
	r4 := job()
	last, got4 := w.notification()
	if got2 != r2 || got3 != r3 || got4 != r4 {
		t.Fatalf("after resume: %s %s %s, want %s %s %s", got2, got3, got4, r2, r3, r4)
	}
	w.quiet(300 * time.Millisecond)
	for _, bad := range []string{"abc", "999999999"} {
		w.subscribeNotifications(bad, &bad)
		if f := w.failure(); f.code() != "INVALID_INPUT" || f.field() != "since" {
			t.Fatalf("since %s: %+v", bad, f.Errors)
		}
	}

	s.app.Hub.Shutdown()
	f := w.failure()
	if f.code() != "RESUME_REQUIRED" || f.Errors[0].Extensions["since"] != last {
		t.Fatalf("ended with %+v, want RESUME_REQUIRED since %s", f.Errors, last)
	}
	// Subscribing while the server shuts down is told the same.
	w.subscribeNotifications("4", &last)
	if f := w.failure(); f.code() != "RESUME_REQUIRED" || f.Errors[0].Extensions["since"] != last {
		t.Fatalf("subscribing during shutdown: %+v, want RESUME_REQUIRED since %s", f.Errors, last)
	}
}
