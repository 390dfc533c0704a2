package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/request"
)

// Commit-to-phone latency with 1,000 websocket subscribers on instance B
// while a resident submits on instance A, next to the raw Redis
// publish-to-receive latency measured in the same run. Run with
// `make latency`; figures are recorded in docs/latency.md.
//
// A sample is the time from the mutation's commit (when the request service
// hands the event to the publisher) to one subscriber having read and
// decoded it. The phones are goroutines in this process, on loopback, so
// they share its CPUs with both servers.
func BenchmarkCommitToPhone(b *testing.B) {
	const subscribers, events = 1000, 100
	ch := testChannel()
	tweak := withRedis(testRedisURL(), ch, func(c *config.Config) { c.SubscriberBuffer = 1024 })
	a, srvB := startServer(b, tweak), startServer(b, tweak)
	resident := a.login(b, "resident.lee")
	// Stamp each event the moment its transaction has committed, on its
	// way to the hub's publisher.
	committed := &stampingPublisher{next: a.app.Hub, at: map[int64]time.Time{}}
	a.app.Requests.SetPublisher(committed)
	token := resident.token

	// The phones: each reads its events and stamps when each id arrived.
	type stamp struct {
		id string
		at time.Time
	}
	arrivals := make(chan stamp, subscribers*events)
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, subscribers)
	for i := range conns {
		c := srvB.initWS(b, token)
		conns[i] = c
		p, _ := json.Marshal(map[string]any{"query": `subscription { requestEvents { id type toStatus } }`})
		m, _ := json.Marshal(wsMsg{ID: "1", Type: "subscribe", Payload: p})
		if err := c.Write(context.Background(), websocket.MessageText, m); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, raw, err := c.Read(context.Background())
				if err != nil {
					return
				}
				var msg struct {
					Type    string
					Payload struct {
						Data struct{ RequestEvents struct{ ID string } }
					}
				}
				if json.Unmarshal(raw, &msg) != nil {
					return
				}
				switch msg.Type {
				case "next":
					arrivals <- stamp{msg.Payload.Data.RequestEvents.ID, time.Now()}
				case "ping":
					_ = c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"pong"}`))
				}
			}
		}()
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
		wg.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for srvB.app.Hub.Subscribers() < subscribers {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d subscribed", srvB.app.Hub.Subscribers(), subscribers)
		}
		time.Sleep(10 * time.Millisecond)
	}

	cat := resident.categoryID("HV", "plumbing")
	var lat, mut []time.Duration
	b.ResetTimer()
	for i := 0; i < events; i++ {
		sent := time.Now()
		var out struct {
			SubmitRequest struct {
				Timeline []struct{ ID string }
			}
		}
		resident.must(`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { timeline { id } } }`,
			map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": fmt.Sprintf("latency %d", i)}}, &out)
		mut = append(mut, time.Since(sent))
		want := out.SubmitRequest.Timeline[0].ID
		for got := 0; got < subscribers; {
			select {
			case s := <-arrivals:
				if s.id == want {
					lat = append(lat, s.at.Sub(committed.when(want)))
					got++
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("event %s reached %d of %d subscribers", want, got, subscribers)
			}
		}
	}
	b.StopTimer()
	redisLat := redisRoundTrips(b, 1000)

	p := func(d []time.Duration, q float64) float64 {
		slices.Sort(d)
		return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(p(lat, 0.50), "phone_p50_ms")
	b.ReportMetric(p(lat, 0.99), "phone_p99_ms")
	b.ReportMetric(p(mut, 0.50), "mutation_p50_ms")
	b.ReportMetric(p(redisLat, 0.50), "redis_p50_ms")
	b.ReportMetric(p(redisLat, 0.99), "redis_p99_ms")
	b.Logf("%d subscribers x %d events: commit-to-phone p50 %.2fms p99 %.2fms (whole mutation round trip p50 %.2fms); raw Redis publish-to-receive p50 %.3fms p99 %.3fms (%d messages)",
		subscribers, events, p(lat, 0.5), p(lat, 0.99), p(mut, 0.5), p(redisLat, 0.5), p(redisLat, 0.99), len(redisLat))
}

// stampingPublisher notes when each event was handed over after commit.
type stampingPublisher struct {
	next request.Publisher
	mu   sync.Mutex
	at   map[int64]time.Time
}

func (p *stampingPublisher) Publish(ctx context.Context, evs []request.Event) {
	now := time.Now()
	p.mu.Lock()
	for _, e := range evs {
		p.at[e.ID] = now
	}
	p.mu.Unlock()
	p.next.Publish(ctx, evs)
}

func (p *stampingPublisher) when(id string) time.Time {
	n, _ := strconv.ParseInt(id, 10, 64)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at[n]
}

// redisRoundTrips publishes n messages one at a time and times each from
// PUBLISH to the subscriber reading it.
func redisRoundTrips(b *testing.B, n int) []time.Duration {
	opts, err := redis.ParseURL(testRedisURL())
	if err != nil {
		b.Fatal(err)
	}
	pubC, subC := redis.NewClient(opts), redis.NewClient(opts)
	defer pubC.Close()
	defer subC.Close()
	ctx := context.Background()
	ch := testChannel()
	ps := subC.Subscribe(ctx, ch)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil { // the subscription confirmation
		b.Fatal(err)
	}
	msgs := ps.Channel()
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := pubC.Publish(ctx, ch, fmt.Sprintf(`{"id":%d}`, i)).Err(); err != nil {
			b.Fatal(err)
		}
		select {
		case <-msgs:
			out = append(out, time.Since(start))
		case <-time.After(5 * time.Second):
			b.Fatal("redis message lost")
		}
	}
	return out
}
