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
		writeMsg(t, w.conn, wsMsg{ID: "n", Type: "subscribe", Payload: p})
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
