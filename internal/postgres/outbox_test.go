package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/request"
)

// The outbox draws its ids and writes its rows only once it holds the
// event-order lock: while another transaction holds the lock, a writer
// draws no event id and no notification id, and once the lock is free
// its events get ids above every id drawn before, in the order they were
// staged, and are stored under those ids with their notification.
func TestOutboxDrawsUnderTheLock(t *testing.T) {
	ctx := context.Background()
	db := demoDB(t)
	store := postgres.NewRequestStore(db)
	svc := requestService(store)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var cat, lee string
	must(db.Get(&cat, `SELECT c.id FROM service_categories c JOIN properties p ON p.id = c.property_id WHERE p.code = 'HV' AND c.code = 'plumbing'`))
	must(db.Get(&lee, `SELECT id FROM people WHERE username = 'resident.lee'`))
	leeActor, err := postgres.NewAuthStore(db).Actor(ctx, lee)
	must(err)
	r, err := svc.Submit(ctx, leeActor, request.SubmitInput{ClientRequestID: uuid.NewString(), CategoryID: cat, Description: "outbox order"})
	must(err)

	drawn := func() (events, notes int64) {
		t.Helper()
		must(db.Get(&events, `SELECT last_value FROM request_events_id_seq`))
		must(db.Get(&notes, `SELECT last_value FROM notifications_id_seq`))
		return events, notes
	}
	holder, err := db.BeginTxx(ctx, nil)
	must(err)
	defer holder.Rollback() //nolint:errcheck // a no-op after the rollback below
	_, err = holder.Exec(`SELECT pg_advisory_xact_lock(727001)`)
	must(err)
	evBefore, ntBefore := drawn()

	types := []request.EventType{request.EvAccepted, request.EvAssigned, request.EvStarted}
	type result struct {
		evs []request.Event
		err error
	}
	done := make(chan result, 1)
	go func() {
		evs, err := store.InTx(ctx, func(tx request.Tx) error {
			staged := make([]request.Event, len(types))
			for i, ty := range types {
				staged[i] = request.Event{RequestID: r.ID, Type: ty, ToStatus: r.Status, At: r.CreatedAt, Audience: r.Audience}
			}
			tx.Stage(staged, []notification.Notification{{PersonID: lee, Kind: notification.StatusChanged, RequestID: &r.ID, Title: "outbox order", CreatedAt: r.CreatedAt}})
			return nil
		})
		done <- result{evs, err}
	}()
	select {
	case <-done:
		t.Fatal("the outbox wrote while another transaction held the event-order lock")
	case <-time.After(300 * time.Millisecond):
	}
	if ev, nt := drawn(); ev != evBefore || nt != ntBefore {
		t.Fatalf("ids were drawn before the lock was held: event ids %d to %d, notification ids %d to %d", evBefore, ev, ntBefore, nt)
	}
	must(holder.Rollback())

	var evs []request.Event
	select {
	case res := <-done:
		must(res.err)
		evs = res.evs
	case <-time.After(10 * time.Second):
		t.Fatal("the outbox did not write once the lock was free")
	}
	if len(evs) != len(types) {
		t.Fatalf("%d events returned, want %d", len(evs), len(types))
	}
	for i, e := range evs {
		if e.ID <= evBefore || (i > 0 && e.ID <= evs[i-1].ID) {
			t.Fatalf("event ids %v: not above %d in the order staged", []int64{evs[0].ID, evs[1].ID, evs[2].ID}, evBefore)
		}
		var stored string
		must(db.Get(&stored, `SELECT type FROM request_events WHERE id = $1 AND request_id = $2`, e.ID, r.ID))
		if stored != string(types[i]) {
			t.Errorf("event %d is stored as %s, want %s", e.ID, stored, types[i])
		}
	}
	var titles pq.StringArray
	must(db.Get(&titles, `SELECT array_agg(title) FROM notifications WHERE id > $1 AND request_id = $2`, ntBefore, r.ID))
	if len(titles) != 1 || titles[0] != "outbox order" {
		t.Fatalf("notifications written after the lock: %v, want the one staged", titles)
	}
}
