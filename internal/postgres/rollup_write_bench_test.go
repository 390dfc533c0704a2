package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
)

// BenchmarkRollupWrite is what the per-day rollup costs a request change:
// one transaction that moves a request of a busy day (400 others on it)
// to its next status and back, with the rollup's trigger (which logs the
// change), then the same with a fold of the two changes after them (the
// work moved off the writer's path, done here in line), and, as the
// baseline in the same run, with the trigger off. fold-400 is a fold of a
// batch: one change of each of the day's 400 requests.
func BenchmarkRollupWrite(b *testing.B) {
	ctx := context.Background()
	db := pgtest.Fresh(b)
	var prop, unit, cat, person string
	if err := db.Get(&prop, `INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ('WRITE', 'W', 'RESIDENTIAL', 'SERVICE_CENTER', 'Asia/Hong_Kong') RETURNING id`); err != nil {
		b.Fatal(err)
	}
	var building string
	if err := db.Get(&building, `INSERT INTO buildings (property_id, code, name) VALUES ($1, 'A', 'A') RETURNING id`, prop); err != nil {
		b.Fatal(err)
	}
	if err := db.Get(&unit, `INSERT INTO units (property_id, building_id, code) VALUES ($1, $2, 'U1') RETURNING id`, prop, building); err != nil {
		b.Fatal(err)
	}
	if err := db.Get(&cat, `INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes) VALUES ($1, 'c', 'REPAIR', 'C', 'C', 240) RETURNING id`, prop); err != nil {
		b.Fatal(err)
	}
	if err := db.Get(&person, `INSERT INTO people (username, name, password_hash) VALUES ('writer', 'W', 'x') RETURNING id`); err != nil {
		b.Fatal(err)
	}
	day := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	// A busy day: 400 requests, accepted and completed at different times.
	if _, err := db.Exec(`INSERT INTO service_requests (number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
		channel, status, description, promised_at, due_at, created_at, updated_at, accepted_at, first_completed_at, completed_at, promise_kept)
	SELECT 'W-' || g, $1, $2, $3, $4, $4, gen_random_uuid(), 'APP', 'COMPLETED', 'busy day', $5::timestamptz + interval '4 hours',
		$5::timestamptz + interval '4 hours', $5, $5, $5::timestamptz + g * interval '10 seconds', $5::timestamptz + g * interval '1 minute',
		$5::timestamptz + g * interval '1 minute', g % 3 > 0
	FROM generate_series(1, 400) g`, prop, unit, cat, person, day); err != nil {
		b.Fatal(err)
	}
	id := uuid.NewString()
	if _, err := db.Exec(`INSERT INTO service_requests (id, number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
		channel, status, description, promised_at, created_at, updated_at)
	VALUES ($1, 'W-0', $2, $3, $4, $5, $5, gen_random_uuid(), 'APP', 'SUBMITTED', 'moved', $6::timestamptz + interval '4 hours', $6, $6)`,
		id, prop, unit, cat, person, day); err != nil {
		b.Fatal(err)
	}
	store := postgres.NewStatsStore(db)
	if _, err := store.Fold(ctx); err != nil {
		b.Fatal(err)
	}
	moveOnce := func(b *testing.B) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`UPDATE service_requests SET status = 'ACCEPTED', accepted_at = created_at + interval '7 minutes',
			due_at = created_at + interval '4 hours', version = version + 1 WHERE id = $1`, id); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE service_requests SET status = 'SUBMITTED', accepted_at = NULL, due_at = NULL WHERE id = $1`, id); err != nil {
			b.Fatal(err)
		}
	}
	moves := func(fold bool) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				moveOnce(b)
				if !fold {
					continue
				}
				if _, err := store.Fold(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("with-rollup", moves(false))
	if _, err := store.Fold(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("with-fold", moves(true))
	// What a fold costs when it has a batch to do: the busy day's 400
	// requests each changed once (confirmed, or no longer), logged by one
	// statement outside the timer, then folded.
	b.Run("fold-400", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if _, err := db.Exec(`UPDATE service_requests SET confirmed_at = CASE WHEN confirmed_at IS NULL THEN completed_at + interval '1 day' END
				WHERE property_id = $1 AND id <> $2`, prop, id); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			n, err := store.Fold(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n != 400 {
				b.Fatalf("folded %d changes, want 400", n)
			}
		}
	})
	if _, err := db.Exec(`ALTER TABLE service_requests DISABLE TRIGGER service_requests_day_changes`); err != nil {
		b.Fatal(err)
	}
	b.Run("without", moves(false))
}
