package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/config"
)

// testRedisURL is the Redis the tests share (REDIS_URL, as make test sets it).
func testRedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// withRedis points a server at a Redis and an event channel. Each test
// group uses a channel of its own, so test runs sharing the machine's Redis
// do not hear each other.
func withRedis(url, channel string, more ...func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.RedisURL, c.RedisChannel = url, channel
		for _, f := range more {
			f(c)
		}
	}
}

func testChannel() string { return "onestop-test:" + uuid.NewString() }

// brokerKinds are the two ways events travel, for the contract tests both
// must pass: Redis between two instances (staff on one, the phone on the
// other), and the in-process broker of a single instance.
var brokerKinds = []struct {
	name    string
	servers func(t *testing.T) (a, b *testServer)
}{
	{"redis", func(t *testing.T) (*testServer, *testServer) {
		ch := testChannel()
		return startServer(t, withRedis(testRedisURL(), ch)), startServer(t, withRedis(testRedisURL(), ch))
	}},
	{"in-process", func(t *testing.T) (*testServer, *testServer) {
		s := startServer(t, nil)
		return s, s
	}},
}

// driveWholeFlow takes a new request of the resident's through the whole
// one-stop flow on server s and returns its id.
func driveWholeFlow(t *testing.T, s *testServer, resident *client) string {
	t.Helper()
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	me := &client{t: t, srv: s, token: resident.token, id: resident.id}
	r := me.submit(me.categoryID("HV", "plumbing"), "Kitchen tap is leaking")
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.act(start, map[string]any{"id": r.ID})
	tech.act(complete, map[string]any{"id": r.ID, "note": "washer replaced"})
	me.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5})
	agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 5})
	return r.ID
}

const wholeFlow = "SUBMITTED ACCEPTED ASSIGNED STARTED COMPLETED CONFIRMED CLOSED"

func ascending(t *testing.T, evs []liveEvent) {
	t.Helper()
	var prev int64
	for _, e := range evs {
		id, err := strconv.ParseInt(e.ID, 10, 64)
		if err != nil || id <= prev {
			t.Fatalf("event ids not ascending: %+v", evs)
		}
		prev = id
	}
}

func TestSubscriptionContract(t *testing.T) {
	for _, kind := range brokerKinds {
		t.Run(kind.name, func(t *testing.T) {
			a, b := kind.servers(t)

			t.Run("resident on B sees the whole flow driven on A, in order", func(t *testing.T) {
				leeB := b.login(t, "resident.lee")
				w := leeB.ws()
				w.subscribe("1", nil, nil)
				w.quiet(100 * time.Millisecond) // the subscription is registered
				id := driveWholeFlow(t, a, a.login(t, "resident.lee"))
				evs := w.events(7)
				if types(evs) != wholeFlow {
					t.Fatalf("events %q, want %q", types(evs), wholeFlow)
				}
				ascending(t, evs)
				for _, e := range evs {
					if e.Request.ID != id {
						t.Fatalf("event of another request: %+v", e)
					}
				}
				if evs[6].Request.Status != "CLOSED" || evs[6].ToStatus != "CLOSED" {
					t.Fatalf("last event %+v", evs[6])
				}
			})

			t.Run("visibility: households apart, technician from assignment on", func(t *testing.T) {
				leeW, chanW, techW := b.login(t, "resident.lee").ws(), b.login(t, "resident.chan").ws(), b.login(t, "tech.lam").ws()
				for _, w := range []*wsClient{leeW, chanW, techW} {
					w.subscribe("s", nil, nil)
				}
				time.Sleep(100 * time.Millisecond)
				chan_, lee, agent, tech := a.login(t, "resident.chan"), a.login(t, "resident.lee"), a.login(t, "agent.wong"), a.login(t, "tech.lam")
				// Mr Lee's household has no butler: his request goes through
				// the service center. Mrs Chan's goes straight to her butler.
				lr := lee.submit(lee.categoryID("HV", "electrical"), "Bathroom light flickers")
				cr := chan_.submit(chan_.categoryID("HV", "cleaning"), "Corridor spill")
				agent.act(accept, map[string]any{"id": lr.ID, "at": a.later()})
				agent.act(assign, map[string]any{"id": lr.ID, "to": tech.id})
				tech.act(start, map[string]any{"id": lr.ID})

				if got := leeW.events(4); types(got) != "SUBMITTED ACCEPTED ASSIGNED STARTED" || got[0].Request.ID != lr.ID {
					t.Fatalf("Mr Lee got %+v", got)
				}
				got := chanW.events(3)
				if types(got) != "SUBMITTED ACCEPTED ASSIGNED" {
					t.Fatalf("Mrs Chan got %+v", got)
				}
				for _, e := range got {
					if e.Request.ID != cr.ID {
						t.Fatalf("Mrs Chan got %+v, want only her own request %s", e, cr.ID)
					}
				}
				if got := techW.events(2); types(got) != "ASSIGNED STARTED" || got[0].Request.ID != lr.ID {
					t.Fatalf("the technician got %+v, want the request from its assignment on", got)
				}
				// Nothing else arrives: not Mr Lee's events for Mrs Chan,
				// not the earlier ones for the technician.
				chanW.quiet(300 * time.Millisecond)
				techW.quiet(0)
			})

			t.Run("resume with since: exactly the missed events, then live", func(t *testing.T) {
				lee, agent, tech := a.login(t, "resident.lee"), a.login(t, "agent.wong"), a.login(t, "tech.lam")
				r := lee.submit(lee.categoryID("HV", "plumbing"), "Drain blocked")
				phone := b.login(t, "resident.lee")
				w := phone.ws()
				w.subscribe("1", &r.ID, nil)
				w.quiet(100 * time.Millisecond)
				agent.act(accept, map[string]any{"id": r.ID, "at": a.later()})
				seen := w.event()
				if seen.Type != "ACCEPTED" {
					t.Fatalf("first live event %+v", seen)
				}
				w.conn.CloseNow() // the phone goes offline

				agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
				tech.act(start, map[string]any{"id": r.ID})

				w = phone.ws()
				w.subscribe("2", &r.ID, &seen.ID)
				missed := w.events(2)
				tech.act(complete, map[string]any{"id": r.ID, "note": "cleared"})
				live := w.event()
				all := append(missed, live)
				if types(all) != "ASSIGNED STARTED COMPLETED" {
					t.Fatalf("after resume: %q", types(all))
				}
				ascending(t, append([]liveEvent{seen}, all...))
				w.quiet(300 * time.Millisecond)

				// The same cursor without requestId gives the same events
				// (the household sees nothing else in this quiet moment).
				w2 := phone.ws()
				w2.subscribe("3", nil, &seen.ID)
				if got := w2.events(3); types(got) != "ASSIGNED STARTED COMPLETED" {
					t.Fatalf("resume without requestId: %q", types(got))
				}
			})

			t.Run("bad arguments", func(t *testing.T) {
				chan_, lee := b.login(t, "resident.chan"), a.login(t, "resident.lee")
				r := lee.submit(lee.categoryID("HV", "plumbing"), "Not Mrs Chan's")
				w := chan_.ws()
				w.subscribe("1", &r.ID, nil)
				if f := w.failure(); f.code() != "NOT_FOUND" {
					t.Fatalf("another household's request: %+v", f.Errors)
				}
				w.subscribe("2", nil, ptr("abc"))
				if f := w.failure(); f.code() != "INVALID_INPUT" || f.field() != "since" {
					t.Fatalf("bad since: %+v", f.Errors)
				}
				w.subscribe("3", nil, ptr("999999999"))
				if f := w.failure(); f.code() != "INVALID_INPUT" || f.field() != "since" {
					t.Fatalf("since from the future: %+v", f.Errors)
				}
			})
		})
	}
}

// A subscription over plain HTTP would answer one event and drop the rest,
// so it is refused.
func TestSubscriptionNeedsWebsocket(t *testing.T) {
	s := sharedServer(t)
	c := s.login(t, "resident.lee")
	c.fails("INVALID_INPUT", `subscription { requestEvents { id } }`, nil)
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ownRedis runs a throwaway redis-server the test may stop and start; the
// machine's shared Redis is never touched.
type ownRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	r := &ownRedis{t: t, port: freePort(t)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *ownRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *ownRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatal("redis-server did not come up")
}

func (r *ownRedis) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// Events committed while Redis is down reach the subscriber once Redis is
// back. The poll is set to an hour, so what delivers them is the catch-up
// from the log that follows the resubscription, not the timer.
func TestEventsCommittedDuringRedisOutage(t *testing.T) {
	rd := startOwnRedis(t)
	ch := testChannel()
	slowPoll := func(c *config.Config) { c.EventPollInterval = time.Hour }
	a := startServer(t, withRedis(rd.url(), ch, slowPoll))
	b := startServer(t, withRedis(rd.url(), ch, slowPoll))

	lee, agent := a.login(t, "resident.lee"), a.login(t, "agent.wong")
	r := lee.submit(lee.categoryID("HV", "plumbing"), "Tap dripping")
	w := b.login(t, "resident.lee").ws()
	w.subscribe("1", &r.ID, nil)
	w.quiet(100 * time.Millisecond)
	agent.act(accept, map[string]any{"id": r.ID, "at": a.later()})
	if e := w.event(); e.Type != "ACCEPTED" {
		t.Fatalf("before the outage: %+v", e)
	}

	rd.stop()
	// Writes go on while Redis is down.
	agent.act(assign, map[string]any{"id": r.ID, "to": a.login(t, "tech.lam").id})
	lee.act(cancel, map[string]any{"id": r.ID, "reason": "fixed it myself"})
	w.quiet(500 * time.Millisecond)

	rd.start()
	if got := w.events(2); types(got) != "ASSIGNED CANCELLED" {
		t.Fatalf("after Redis came back: %q", types(got))
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that stops reading (a phone that froze) is dropped: its queue
// is bounded, a missed pong closes the socket, and nothing of it remains.
func TestStalledClientIsDropped(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.WSPingInterval = 200 * time.Millisecond
		c.SubscriberBuffer = 4
	})
	lee := s.login(t, "resident.lee")
	conn := s.initWS(t, lee.token)
	defer conn.CloseNow()
	stalled := &wsClient{t: t, srv: s, conn: conn}
	stalled.subscribe("1", nil, nil)
	waitFor(t, 5*time.Second, "the subscription", func() bool { return s.app.Hub.Subscribers() == 1 })

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cat := lee.categoryID("HV", "plumbing")
	for i := 0; i < 20; i++ {
		lee.submit(cat, fmt.Sprintf("Leak number %d", i))
	}
	// The client never reads again, so it never answers a ping.
	waitFor(t, 10*time.Second, "the stalled subscriber to be dropped", func() bool { return s.app.Hub.Subscribers() == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			break // the server closed the socket
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes while a client was stalled", grew)
	}
}

// Many subscribe-and-vanish cycles leave no goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	s := startServer(t, withRedis(testRedisURL(), testChannel()))
	lee := s.login(t, "resident.lee")
	r := lee.submit(lee.categoryID("HV", "plumbing"), "Leak")
	cycle := func(since *string) {
		w := lee.ws()
		w.subscribe("1", &r.ID, since)
		w.subscribe("2", nil, nil)
		waitFor(t, 5*time.Second, "subscriptions", func() bool { return s.app.Hub.Subscribers() >= 2 })
		w.conn.CloseNow() // no close handshake: the phone just vanished
		<-w.done
		waitFor(t, 5*time.Second, "unsubscribe", func() bool { return s.app.Hub.Subscribers() == 0 })
	}
	cycle(nil)
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	time.Sleep(200 * time.Millisecond)
	baseline := settle()
	for i := 0; i < 50; i++ {
		cycle(ptr("0"))
	}
	waitFor(t, 15*time.Second, fmt.Sprintf("goroutines back to baseline %d", baseline), func() bool { return settle() <= baseline+3 })
}

func closeStatus(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	for {
		if _, err := readMsg(c, 10*time.Second); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// connection_init must carry a valid token, and arrive in time; browsers
// may only connect from the allowed origins.
func TestWebsocketHandshake(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.WSInitTimeout = 300 * time.Millisecond
		c.AllowedOrigins = []string{"console.example.com"}
	})
	for name, payload := range map[string]string{
		"no token":  `{}`,
		"bad token": `{"Authorization":"Bearer not-a-token"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := s.dialWS(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			writeMsg(t, c, wsMsg{Type: "connection_init", Payload: []byte(payload)})
			if code := closeStatus(t, c); code != 4403 {
				t.Fatalf("closed with %d, want 4403", code)
			}
		})
	}
	t.Run("no connection_init", func(t *testing.T) {
		c, _, err := s.dialWS(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if code := closeStatus(t, c); code != 4408 {
			t.Fatalf("closed with %d, want 4408", code)
		}
	})
	t.Run("origins", func(t *testing.T) {
		_, resp, err := s.dialWS(t, http.Header{"Origin": {"https://evil.example.net"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("foreign origin: %v %+v", err, resp)
		}
		c, _, err := s.dialWS(t, http.Header{"Origin": {"https://console.example.com"}})
		if err != nil {
			t.Fatalf("allowed origin: %v", err)
		}
		c.CloseNow()
	})
}
