package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Three instances share one database and one Redis, as a deployment behind
// a load balancer does. Subscribers on every instance, mutations on every
// instance (one after another and all at once): each subscriber gets every
// event it may see, exactly once, in id order, and nothing else, whichever
// instance committed it.
func TestThreeInstances(t *testing.T) {
	ch := testChannel()
	servers := []*testServer{
		startServer(t, withRedis(testRedisURL(), ch, longTokens)),
		startServer(t, withRedis(testRedisURL(), ch, longTokens)),
		startServer(t, withRedis(testRedisURL(), ch, longTokens)),
	}
	a := servers[0]
	e := newEstate(t, a, "SO", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	other := newEstate(t, a, "SX", nil)
	// One sign-in each; a token works on every instance.
	people := map[string]*client{
		"resident": a.login(t, e.Resident),
		"agent":    a.login(t, e.user("agent")),
		"tech":     a.login(t, e.user("tech")),
		"other":    a.login(t, other.Resident),
	}
	on := func(c *client, s *testServer) *client { return &client{t: t, srv: s, token: c.token, id: c.id} }
	var before int64
	if err := a.app.DB.Get(&before, `SELECT COALESCE(max(id), 0) FROM request_events`); err != nil {
		t.Fatal(err)
	}

	type sub struct {
		who string
		on  int
		ws  *wsClient
	}
	var subs []sub
	for i, s := range servers {
		for _, who := range []string{"resident", "agent", "tech", "other"} {
			w := on(people[who], s).ws()
			w.subscribe("1", nil, nil)
			subs = append(subs, sub{who, i, w})
		}
	}
	for i, s := range servers {
		waitFor(t, 10*time.Second, fmt.Sprintf("instance %d's subscriptions", i), func() bool { return s.app.Hub.Subscribers() == 4 })
	}

	// Three requests, each step of each on the next instance round.
	var ids []string
	for j := range 3 {
		r := on(people["resident"], servers[j]).submit(e.Plumbing, fmt.Sprintf("Leak %d", j))
		ids = append(ids, r.ID)
	}
	steps := []func(c map[string]*client, id string){
		func(c map[string]*client, id string) { c["agent"].act(accept, map[string]any{"id": id}) },
		func(c map[string]*client, id string) {
			c["agent"].act(assign, map[string]any{"id": id, "to": people["tech"].id})
		},
		func(c map[string]*client, id string) { c["tech"].act(start, map[string]any{"id": id}) },
	}
	for k, step := range steps {
		for j, id := range ids {
			s := servers[(j+k+1)%3]
			step(map[string]*client{"agent": on(people["agent"], s), "tech": on(people["tech"], s)}, id)
		}
	}
	// Then a burst: every instance takes submissions at once.
	var wg sync.WaitGroup
	codes := make(chan string, 9)
	for i, s := range servers {
		for n := range 3 {
			wg.Go(func() {
				c := on(people["resident"], s)
				r := c.do(`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`,
					map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": e.Plumbing, "description": fmt.Sprintf("Burst %d.%d", i, n)}})
				codes <- r.code()
			})
		}
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != "" {
			t.Fatalf("a submission in the burst failed: %s", c)
		}
	}

	// The estate's events, from the log: the resident and the agent may
	// see every one.
	var all []int64
	if err := a.app.DB.Select(&all, `SELECT e.id FROM request_events e JOIN service_requests r ON r.id = e.request_id
WHERE r.property_id = $1 AND e.id > $2 ORDER BY e.id`, e.ID, before); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3*4+9 {
		t.Fatalf("%d events in the log, want %d", len(all), 3*4+9)
	}
	// What each person may see, as a subscription resuming from before
	// the test reads it from the log (the same sight, checked in SQL
	// rather than in the hub).
	want := map[string][]int64{}
	for who, c := range people {
		w := on(c, servers[2]).ws()
		w.subscribe("r", nil, ptr(strconv.FormatInt(before, 10)))
		want[who] = []int64{}
		// The backlog comes at once; a second of silence ends it.
		for {
			var m wsMsg
			select {
			case m = <-w.msgs:
			case <-time.After(time.Second):
			}
			if m.Type == "" {
				break
			}
			var p struct {
				Data struct{ RequestEvents liveEvent }
			}
			if m.Type != "next" || json.Unmarshal(m.Payload, &p) != nil {
				t.Fatalf("%s's resume: %s %s", who, m.Type, m.Payload)
			}
			want[who] = append(want[who], eventID(t, p.Data.RequestEvents))
		}
	}
	if fmt.Sprint(want["resident"]) != fmt.Sprint(all) || fmt.Sprint(want["agent"]) != fmt.Sprint(all) {
		t.Fatalf("the resident resumes with %v, the agent with %v; the estate's events are %v", want["resident"], want["agent"], all)
	}
	if len(want["tech"]) < 3*2 || len(want["other"]) != 0 {
		t.Fatalf("the technician resumes with %v, the other estate's resident with %v", want["tech"], want["other"])
	}

	for _, s := range subs {
		got := make([]int64, len(want[s.who]))
		for i := range got {
			got[i] = eventID(t, s.ws.event())
		}
		// Nothing more: no copy of an event, nothing the person may not see.
		s.ws.quiet(300 * time.Millisecond)
		if fmt.Sprint(got) != fmt.Sprint(want[s.who]) {
			t.Errorf("%s on instance %d got %v, want %v", s.who, s.on, got, want[s.who])
		}
	}
}

func eventID(t *testing.T, e liveEvent) int64 {
	t.Helper()
	id, err := strconv.ParseInt(e.ID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q", e.ID)
	}
	return id
}
