package postgres_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
	"github.com/kproperty/onestop/internal/stats"
)

// submitAt makes a request at the fixture's property p, created at at, in a
// committed statement of its own, and returns its id.
func submitAt(t *testing.T, db *postgres.DB, f *rollupFixture, p int, at time.Time) string {
	t.Helper()
	id := uuid.NewString()
	prop := f.props[p]
	if _, err := db.Exec(`INSERT INTO service_requests (id, number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
		channel, status, description, promised_at, created_at, updated_at)
	VALUES ($1, $8, $2, $3, $4, $5, $5, gen_random_uuid(), 'APP', 'SUBMITTED', 'fold', $6, $7, $7)`,
		id, prop, f.units[prop][0], f.cats[prop][0], f.people[0], at.Add(4*time.Hour), at, "FOLD-"+id); err != nil {
		t.Fatal(err)
	}
	return id
}

func pendingOf(t *testing.T, db *postgres.DB, id string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM request_day_changes WHERE request_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return n
}

func rolledUp(t *testing.T, q sqlx.Queryer, prop string) int {
	t.Helper()
	var n int
	if err := sqlx.Get(q, &n, `SELECT coalesce(sum(total), 0) FROM request_day_stats WHERE property_id = $1`, prop); err != nil {
		t.Fatal(err)
	}
	return n
}

// A change is in the very next statistics read, though no fold job has
// run: the read folds what is pending before it reads the rows.
func TestStatsIncludeAChangeAtOnce(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Fresh(t)
	f := newRollupFixture(t, db)
	store := postgres.NewStatsStore(db)
	loc, err := time.LoadLocation(f.zones[0])
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 5, 1, 0, 0, 0, 0, loc)
	q := stats.Query{PropertyIDs: []string{f.props[0]}, From: from, To: from.AddDate(0, 0, 7), AsOf: from.AddDate(0, 0, 7)}

	id := submitAt(t, db, f, 0, from.Add(30*time.Hour))
	if pendingOf(t, db, id) == 0 {
		t.Fatal("the submission logged no change")
	}
	if n := rolledUp(t, db, f.props[0]); n != 0 {
		t.Fatalf("the day rows count %d requests before any fold; the writer should only log", n)
	}
	got, err := store.ServiceStats(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 1 || len(got.ByStatus) != 1 || got.ByStatus[0].Key != "SUBMITTED" {
		t.Fatalf("serviceStats right after the submission: total %d, by status %+v", got.Total, got.ByStatus)
	}
	if n := pendingOf(t, db, id); n != 0 {
		t.Fatalf("%d changes still pending after the read folded", n)
	}

	if _, err := db.Exec(`UPDATE service_requests SET status = 'ASSIGNED', assignee_id = $2, accepted_at = created_at + interval '9 minutes',
		due_at = created_at + interval '4 hours' WHERE id = $1`, id, f.people[1]); err != nil {
		t.Fatal(err)
	}
	got, err = store.ServiceStats(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ByStatus) != 1 || got.ByStatus[0].Key != "ASSIGNED" || got.MedianAcceptMinutes == nil || *got.MedianAcceptMinutes != 9 {
		t.Fatalf("serviceStats right after the assignment: by status %+v, median accept %v", got.ByStatus, show(got.MedianAcceptMinutes))
	}
	staff, err := store.StaffStats(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(staff) != 1 || staff[0].PersonID != f.people[1] {
		t.Fatalf("staffStats right after the assignment: %s", show(staff))
	}
	want, err := store.RawServiceStats(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rollup %s\nraw    %s", show(got), show(want))
	}
}

// A fold that does not commit (it fails, its server dies, or here it is
// rolled back) leaves the changes it took pending, and the rows as they
// were: the next fold takes them.
func TestInterruptedFoldLeavesChangesPending(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Fresh(t)
	f := newRollupFixture(t, db)
	store := postgres.NewStatsStore(db)
	if _, err := store.Fold(ctx); err != nil {
		t.Fatal(err)
	}
	id := submitAt(t, db, f, 1, time.Date(2026, 5, 3, 15, 0, 0, 0, time.UTC))
	pending := pendingOf(t, db, id)
	if pending == 0 {
		t.Fatal("the submission logged no change")
	}

	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	var took int
	if err := tx.Get(&took, `SELECT request_day_fold(500)`); err != nil {
		t.Fatal(err)
	}
	if took < pending {
		t.Fatalf("the fold took %d changes, want at least %d", took, pending)
	}
	if n := rolledUp(t, tx, f.props[1]); n != 1 {
		t.Fatalf("inside the fold the day rows count %d requests, want 1", n)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	if n := pendingOf(t, db, id); n != pending {
		t.Fatalf("%d changes pending after the fold rolled back, want %d", n, pending)
	}
	if n := rolledUp(t, db, f.props[1]); n != 0 {
		t.Fatalf("after the fold rolled back the day rows count %d requests, want 0", n)
	}
	if _, err := store.Fold(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rolledUp(t, db, f.props[1]); n != 1 {
		t.Fatalf("after the next fold the day rows count %d requests, want 1", n)
	}
	checkRollupRows(t, db)
}

// Several servers fold at once: a fold that finds another in progress
// waits for it and then folds what is left, and two folds side by side
// leave the same rows as one fold alone.
func TestConcurrentFoldsAgree(t *testing.T) {
	ctx := context.Background()
	// A database of its own, as for each test here: its thousands of
	// requests would otherwise be in every later test's admin lists, and
	// the changes pending in it are the test's alone.
	db := pgtest.Fresh(t)
	f := newRollupFixture(t, db)
	store := postgres.NewStatsStore(db)
	if _, err := store.Fold(ctx); err != nil {
		t.Fatal(err)
	}
	// Changes enough for several batches: 1,200 requests over the three
	// properties and a fortnight, half of them then accepted, a third
	// assigned and completed, some moved to another day.
	change := func() {
		t.Helper()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO service_requests (number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
				channel, status, description, promised_at, created_at, updated_at)
			SELECT 'FOLD-' || gen_random_uuid(), p.id, u.id, c.id, $1, $1, gen_random_uuid(), 'APP', 'SUBMITTED', 'fold',
				t + interval '4 hours', t, t
			FROM generate_series(1, 1200) g
			CROSS JOIN LATERAL (SELECT (ARRAY[$2, $3, $4]::uuid[])[1 + g % 3] AS pid) x
			JOIN properties p ON p.id = x.pid
			CROSS JOIN LATERAL (SELECT id FROM units WHERE property_id = p.id ORDER BY code LIMIT 1) u
			CROSS JOIN LATERAL (SELECT id FROM service_categories WHERE property_id = p.id ORDER BY code OFFSET g % 2 LIMIT 1) c
			CROSS JOIN LATERAL (SELECT '2026-06-01'::timestamptz + (g * 997 % 20160) * interval '1 minute' AS t) tt`, []any{f.people[0], f.props[0], f.props[1], f.props[2]}},
			{`UPDATE service_requests SET status = 'ACCEPTED', accepted_at = created_at + (length(number) % 50) * interval '1 minute',
				due_at = created_at + interval '4 hours'
			WHERE description = 'fold' AND status = 'SUBMITTED' AND get_byte(uuid_send(id), 0) % 2 = 0`, nil},
			{`UPDATE service_requests SET status = 'COMPLETED', assignee_id = $1, first_completed_at = created_at + interval '3 hours',
				completed_at = created_at + interval '3 hours', promise_kept = true
			WHERE description = 'fold' AND status = 'ACCEPTED' AND get_byte(uuid_send(id), 1) % 3 = 0`, []any{f.people[2]}},
			{`UPDATE service_requests SET created_at = created_at + interval '20 hours'
			WHERE description = 'fold' AND get_byte(uuid_send(id), 2) % 7 = 0`, nil},
		} {
			if _, err := db.Exec(q.sql, q.args...); err != nil {
				t.Fatalf("%v\n%s", err, q.sql)
			}
		}
	}
	const rows = `SELECT concat_ws(' | ', property_id, day, total, by_status, by_category, accept_minutes, complete_minutes,
	open_promises, verdicts, kept, completed) FROM request_day_stats WHERE total > 0 ORDER BY property_id, day`

	// One fold alone, rolled back, for the rows it gives.
	change()
	var alone []string
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		for {
			var n int
			if err := tx.Get(&n, `SELECT request_day_fold(500)`); err != nil {
				return err
			}
			if n < 500 {
				break
			}
		}
		if err := tx.Select(&alone, rows); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatal(err)
	}

	// Two folds at once over the same changes.
	g, gctx := errgroup.WithContext(ctx)
	for range 2 {
		g.Go(func() error {
			_, err := store.Fold(gctx)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	var both []string
	if err := db.Select(&both, rows); err != nil {
		t.Fatal(err)
	}
	if len(alone) == 0 || !reflect.DeepEqual(both, alone) {
		t.Fatalf("two folds at once gave other rows than one alone:\ntwo %q\none %q", both, alone)
	}

	// A fold that finds another one holding the folders' lock waits for
	// it, and then folds what it left.
	change()
	held, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback()
	var took int
	if err := held.Get(&took, `SELECT request_day_fold(500)`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := store.Fold(ctx)
		done <- err
	}()
	waiting := false
	for i := 0; i < 200 && !waiting; i++ {
		if err := db.Get(&waiting, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory')`); err != nil {
			t.Fatal(err)
		}
		if !waiting {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !waiting {
		t.Fatal("the second fold never waited for the first")
	}
	select {
	case err := <-done:
		t.Fatalf("the second fold finished while the first held the lock (%v)", err)
	default:
	}
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.Get(&left, `SELECT count(*) FROM request_day_changes`); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d changes left pending after both folds", left)
	}
	checkRollupRows(t, db)
}
