package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
	"github.com/kproperty/onestop/internal/pubsub"
	"github.com/kproperty/onestop/internal/pubsub/redisbroker"
	"github.com/kproperty/onestop/internal/request"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, &dbURL)) }

// Two households' units. Events carry their audience as a snapshot, so the
// tests write events for any unit against one fixture request.
const (
	unitA = "00000000-0000-4000-8000-00000000000a"
	unitB = "00000000-0000-4000-8000-00000000000b"
)

// eventLog is the real event log in PostgreSQL, with a helper that appends
// events the way the request service does (under its ordering lock).
type eventLog struct {
	*postgres.EventStore
	db *postgres.DB
	// requests holds one fixture request per unit; requestID is unit A's.
	requests  map[string]string
	requestID string
	// base is the newest event id when the test began; ids in the tests
	// are counted from it.
	base int64
}

func openLog(t *testing.T) *eventLog {
	t.Helper()
	return openLogOn(t, pgtest.Open(t, dbURL))
}

// openLogOn is openLog on a database of the caller's choice.
func openLogOn(t *testing.T, db *postgres.DB) *eventLog {
	t.Helper()
	// The hub reads each subscriber's sight afresh, so the tests' actors
	// are real people: the household lives in unit A.
	if _, err := db.Exec(`
INSERT INTO properties (id, code, name, kind, service_mode, time_zone)
VALUES ('00000000-0000-4000-8000-0000000000f1', 'HUBFIX', 'Hub fixture', 'OFFICE', 'SERVICE_CENTER', 'UTC') ON CONFLICT DO NOTHING;
INSERT INTO buildings (id, property_id, code, name)
VALUES ('00000000-0000-4000-8000-0000000000f2', '00000000-0000-4000-8000-0000000000f1', 'B', 'B') ON CONFLICT DO NOTHING;
INSERT INTO units (id, property_id, building_id, code) VALUES
  ('` + unitA + `', '00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000f2', 'A'),
  ('` + unitB + `', '00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000f2', 'B') ON CONFLICT DO NOTHING;
INSERT INTO people (id, username, name, password_hash, is_admin) VALUES
  ('` + household.PersonID + `', 'hub.household', 'Household', 'x', false),
  ('` + admin.PersonID + `', 'hub.admin', 'Admin', 'x', true) ON CONFLICT DO NOTHING;
INSERT INTO residencies (person_id, unit_id, relation) VALUES ('` + household.PersonID + `', '` + unitA + `', 'OWNER') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	l := &eventLog{EventStore: postgres.NewEventStore(db), db: db}
	code := fmt.Sprintf("H%d", time.Now().UnixNano()%1000000)
	var reqs []struct {
		ID   string `db:"id"`
		Unit string `db:"unit_id"`
	}
	err := db.Select(&reqs, `
WITH p AS (INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ($1, 'Hub test', 'OFFICE', 'SERVICE_CENTER', 'UTC') RETURNING id),
who AS (INSERT INTO people (username, name, password_hash) VALUES ($1 || '.resident', 'R', 'x') RETURNING id),
c AS (INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes) SELECT id, 'c', 'INQUIRY', 'c', 'c', 60 FROM p RETURNING id, property_id),
-- The requester lives in both units: a household sees the requests of
-- the people who live there now.
res AS (INSERT INTO residencies (person_id, unit_id, relation) SELECT who.id, u.id, 'FAMILY' FROM who, units u WHERE u.id IN ($2, $3))
INSERT INTO service_requests (number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id, channel, status, description, created_at, updated_at)
SELECT $1 || '-' || u.code, c.property_id, u.id, c.id, who.id, who.id, gen_random_uuid(), 'APP', 'SUBMITTED', 'd', now(), now()
FROM c, who, units u WHERE u.id IN ($2, $3)
RETURNING id, unit_id`, code, unitA, unitB)
	if err != nil {
		t.Fatal(err)
	}
	l.requests = map[string]string{}
	for _, r := range reqs {
		l.requests[r.Unit] = r.ID
	}
	l.requestID = l.requests[unitA]
	if l.base, err = l.LastEventID(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}

// append commits one event for the unit and returns it as stored.
func (l *eventLog) append(t *testing.T, unitID string) request.Event {
	t.Helper()
	var e request.Event
	err := l.db.InTx(context.Background(), func(tx *sqlx.Tx) error {
		if _, err := tx.Exec(`SELECT pg_advisory_xact_lock(727001)`); err != nil {
			return err
		}
		return tx.Get(&e, `INSERT INTO request_events (request_id, type, to_status, at, property_id, unit_id, requester_id)
SELECT id, 'SUBMITTED', 'SUBMITTED', now(), property_id, unit_id, requester_id FROM service_requests WHERE id = $1 AND unit_id = $2
RETURNING id, request_id, type, from_status, to_status, actor_id, note, data, at, property_id, unit_id, requester_id, assignee_id, first_responder_id, pooled`,
			l.requests[unitID], unitID)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// brokenBroker loses every message, as Redis does while it is down.
type brokenBroker struct{}

func (brokenBroker) Publish(context.Context, ...[]byte) error { return errors.New("redis is down") }
func (brokenBroker) Listen(ctx context.Context, _ func([]byte)) {
	<-ctx.Done()
}
func (brokenBroker) String() string { return "broken" }

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func startHub(t *testing.T, log *eventLog, b pubsub.Broker, o pubsub.Options) *pubsub.Hub {
	t.Helper()
	o.Log = quietLog
	h := pubsub.NewHub(log, b, o)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

var (
	household = &auth.Actor{PersonID: "00000000-0000-4000-8000-0000000000ee", Units: []string{unitA}}
	admin     = &auth.Actor{PersonID: "00000000-0000-4000-8000-0000000000ad", Admin: true}
)

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

func commit(t *testing.T, h *pubsub.Hub, log *eventLog, unitID string) request.Event {
	e := log.append(t, unitID)
	h.Publish(context.Background(), []request.Event{e})
	return e
}

// An event whose publish was lost still arrives, from the poll: here it
// was committed by another instance whose broker is down, so neither a
// message nor this hub's own commit brings it.
func TestLostPublishArrivesByPoll(t *testing.T) {
	log := openLog(t)
	h := startHub(t, log, brokenBroker{}, pubsub.Options{PollInterval: 50 * time.Millisecond})
	s, err := h.Subscribe(context.Background(), household, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := log.append(t, unitA)
	if got := next(t, s); got.ID != want.ID {
		t.Fatalf("got event %d, want %d", got.ID, want.ID)
	}
}

// A subscriber that does not read is dropped with a resume point; the
// others are not held up.
func TestSlowSubscriberIsDropped(t *testing.T) {
	log := openLog(t)
	h := startHub(t, log, pubsub.NewLocal(), pubsub.Options{Buffer: 2, PollInterval: time.Hour})
	slow, _ := h.Subscribe(context.Background(), household, nil, nil, nil)
	fast, _ := h.Subscribe(context.Background(), household, nil, nil, nil)
	for i := 0; i < 10; i++ {
		commit(t, h, log, unitA)
		if e := next(t, fast); e.ID != log.base+int64(i+1) {
			t.Fatalf("fast subscriber got %d, want %d", e.ID, log.base+int64(i+1))
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
	log := openLog(t)
	for i := 0; i < 5; i++ {
		log.append(t, []string{unitA, unitB}[i%2]) // 1, 3, 5 are the household's
	}
	h := startHub(t, log, pubsub.NewLocal(), pubsub.Options{Batch: 1, PollInterval: time.Hour})
	since := strconv.FormatInt(log.base+1, 10)
	s, err := h.Subscribe(context.Background(), household, nil, &since, nil)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, h, log, unitB) // 6: not the household's
	commit(t, h, log, unitA) // 7
	var got []int64
	for len(got) < 3 {
		got = append(got, next(t, s).ID-log.base)
	}
	if got[0] != 3 || got[1] != 5 || got[2] != 7 {
		t.Fatalf("got %v, want [3 5 7] after the start", got)
	}
	for _, bad := range []string{"x", "-1", strconv.FormatInt(log.base+99, 10)} {
		if _, err := h.Subscribe(context.Background(), household, nil, &bad, nil); err == nil {
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
			// Several at once (the hub's batch under a burst): each is
			// delivered, in order.
			if err := pub.Publish(ctx, []byte(`{"id":2}`), []byte(`{"id":3}`), []byte(`{"id":4}`)); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 4; i++ {
				select {
				case p := <-got:
					if want := fmt.Sprintf(`{"id":%d}`, i); string(p) != want {
						t.Fatalf("message %d: got %q, want %q", i, p, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("message %d not delivered", i)
				}
			}
		})
	}
}

func testRedis(t *testing.T) *redis.Options {
	t.Helper()
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// Two installations (two databases) sharing one Redis channel: each hub
// delivers its own log's events only, and loses none, although the ids of
// the two logs run side by side.
func TestInstallationsShareAChannel(t *testing.T) {
	logs := []*eventLog{openLog(t), openLogOn(t, pgtest.Fresh(t))}
	// Put both logs at the same id, so that each one's next event is
	// exactly what the other hub's cursor expects.
	for logs[0].base != logs[1].base {
		lower := logs[0]
		if logs[1].base < lower.base {
			lower = logs[1]
		}
		lower.base = lower.append(t, unitA).ID
	}
	opts := testRedis(t)
	ch := "onestop-test:" + uuid.NewString()
	var hubs []*pubsub.Hub
	var subs []*pubsub.Subscription
	for _, l := range logs {
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		h := startHub(t, l, redisbroker.New(c, ch), pubsub.Options{PollInterval: time.Hour})
		s, err := h.Subscribe(context.Background(), admin, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		hubs, subs = append(hubs, h), append(subs, s)
	}
	probe := redis.NewClient(opts)
	defer probe.Close()
	deadline := time.Now().Add(5 * time.Second)
	for probe.PubSubNumSub(context.Background(), ch).Val()[ch] < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the hubs never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The second installation commits first; then the first.
	b1 := commit(t, hubs[1], logs[1], unitA)
	a1 := commit(t, hubs[0], logs[0], unitA)
	b2 := commit(t, hubs[1], logs[1], unitA)
	a2 := commit(t, hubs[0], logs[0], unitA)
	for i, want := range [][]request.Event{{a1, a2}, {b1, b2}} {
		for _, w := range want {
			got := next(t, subs[i])
			if got.ID != w.ID || got.RequestID != logs[i].requestID {
				t.Fatalf("installation %d delivered event %d of request %s, want %d of %s", i, got.ID, got.RequestID, w.ID, logs[i].requestID)
			}
		}
	}
}

// A subscriber whose sight is taken away (here an agent's role, through
// the store's own transaction, which records the sight change in the log)
// receives no later event of what they no longer see, although no event
// was written with the change and their subscription stays open; the
// others go on receiving.
func TestSightChangeNarrowsBeforeLaterEvents(t *testing.T) {
	log := openLog(t)
	ctx := context.Background()
	var propertyID string
	if err := log.db.Get(&propertyID, `SELECT property_id FROM service_requests WHERE id = $1`, log.requestID); err != nil {
		t.Fatal(err)
	}
	agent := &auth.Actor{PersonID: uuid.NewString(), Staff: map[string]person.Role{propertyID: person.Agent}}
	if _, err := log.db.Exec(`WITH p AS (INSERT INTO people (id, username, name, password_hash) VALUES ($1, $2, 'Agent', 'x') RETURNING id)
INSERT INTO staff_roles (person_id, property_id, role) SELECT id, $3, 'AGENT' FROM p`, agent.PersonID, "hub.agent."+agent.PersonID, propertyID); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, log, pubsub.NewLocal(), pubsub.Options{PollInterval: time.Hour})
	watched, err := h.Subscribe(ctx, agent, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	control, err := h.Subscribe(ctx, admin, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := commit(t, h, log, unitA)
	if got := next(t, watched); got.ID != before.ID {
		t.Fatalf("the agent got event %d, want %d", got.ID, before.ID)
	}
	next(t, control)

	requests, admins := postgres.NewRequestStore(log.db), postgres.NewAdminStore(log.db)
	if _, err := requests.InTx(ctx, func(tx request.Tx) error {
		return admins.Tx(tx).RemoveStaffRole(ctx, agent.PersonID, propertyID)
	}); err != nil {
		t.Fatal(err)
	}
	after := commit(t, h, log, unitA)
	if got := next(t, control); got.ID != after.ID {
		t.Fatalf("the control got event %d, want %d", got.ID, after.ID)
	}
	// The hub queues an event to all its subscribers under one lock:
	// once it answers, the delivery is over.
	h.Subscribers()
	select {
	case e := <-watched.C():
		t.Fatalf("the agent whose role was taken away got event %d", e.ID)
	default:
	}
}

// A subscriber that falls behind by more than its channel holds, but not
// by more than its buffer, still gets every event in order; one that falls
// further behind is dropped with the last event it was handed as the
// resume point.
func TestBacklogBeyondTheChannelArrivesInOrder(t *testing.T) {
	log := openLog(t)
	h := startHub(t, log, pubsub.NewLocal(), pubsub.Options{Buffer: 40, PollInterval: time.Hour})
	s, err := h.Subscribe(context.Background(), household, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for range 30 {
		want = append(want, commit(t, h, log, unitA).ID)
	}
	for _, id := range want {
		if got := next(t, s); got.ID != id {
			t.Fatalf("got event %d, want %d", got.ID, id)
		}
	}
	for range 60 {
		commit(t, h, log, unitA)
	}
	last := want[len(want)-1]
	for {
		e, err := s.Next(context.Background())
		var resume *pubsub.ResumeError
		if errors.As(err, &resume) {
			if resume.Since != last {
				t.Fatalf("resume since %d, last delivered %d", resume.Since, last)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != last+1 {
			t.Fatalf("got event %d after %d", e.ID, last)
		}
		last = e.ID
	}
	if last == want[len(want)-1] {
		t.Fatal("nothing of the second burst arrived before the drop")
	}
}

// A resume the server ends while its backfill is still being sent (here a
// shutdown while the client reads nothing) names the last event the client
// was handed, not the end of the page it was reading.
func TestBackfillCutShortResumesFromTheLastSent(t *testing.T) {
	log := openLog(t)
	for range 30 {
		log.append(t, unitA)
	}
	h := startHub(t, log, pubsub.NewLocal(), pubsub.Options{Batch: 50, PollInterval: time.Hour})
	since := strconv.FormatInt(log.base, 10)
	s, err := h.Subscribe(context.Background(), household, nil, &since, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the backfill fills the channel and waits
	h.Shutdown()
	last := log.base
	for {
		e, err := s.Next(context.Background())
		var resume *pubsub.ResumeError
		if errors.As(err, &resume) {
			if resume.Since != last {
				t.Fatalf("resume since %d, last handed out %d", resume.Since, last)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		last = e.ID
	}
}
