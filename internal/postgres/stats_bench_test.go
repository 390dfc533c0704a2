package postgres_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
	"github.com/kproperty/onestop/internal/stats"
)

// benchYear is the year of generated data, in Hong Kong local time.
var (
	benchFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("HKT", 8*3600))
	benchTo   = benchFrom.AddDate(1, 0, 0)
)

// benchSeed fills a fresh database with a year of a 5,000-unit property:
// requests spread over the year, each with the seven events of the one-stop
// flow (a few reopened, breached or escalated), callbacks and callback
// tasks. BENCH_REQUESTS sets how many requests (default 150,000); a second
// property of the same size shares the tables, as in production.
func benchSeed(b *testing.B, db *postgres.DB, requests int) string {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	steps := []string{
		`INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES
			('BENCH', 'Bench Estate', 'RESIDENTIAL', 'SERVICE_CENTER', 'Asia/Hong_Kong'),
			('OTHER', 'Other Estate', 'RESIDENTIAL', 'SERVICE_CENTER', 'Asia/Hong_Kong')`,
		`INSERT INTO buildings (property_id, code, name) SELECT id, 'A', 'Block A' FROM properties`,
		`INSERT INTO units (property_id, building_id, code, vip)
			SELECT b.property_id, b.id, 'U' || g, g % 50 = 0 FROM buildings b, generate_series(1, 5000) g`,
		`INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes)
			SELECT p.id, 'c' || g, 'REPAIR', 'Category ' || g, '類別' || g, 240 FROM properties p, generate_series(1, 10) g`,
		`INSERT INTO people (username, name, password_hash)
			SELECT 'p' || g, 'Person ' || g, 'x' FROM generate_series(1, 5040) g`,
		`INSERT INTO staff_roles (person_id, property_id, role)
			SELECT pe.id, p.id, 'TECHNICIAN' FROM people pe
			JOIN properties p ON p.code = CASE WHEN substr(pe.username, 2)::int <= 5020 THEN 'BENCH' ELSE 'OTHER' END
			WHERE substr(pe.username, 2)::int > 5000`,
		// The requests: created uniformly over the year; accepted 5-65
		// minutes later with a promise 4 hours after creation; done 30-630
		// minutes after creation. Most close; the newest are still open.
		// A bulk load: the per-day rollup is built once, at the end, as
		// the migration builds it, rather than request by request.
		`ALTER TABLE service_requests DISABLE TRIGGER service_requests_day_changes`,
		`CREATE TEMP TABLE gen AS
			SELECT g AS n, p.id AS property_id, p.code,
			       '@FROM'::timestamptz + (random() * interval '365 days') AS created_at,
			       5 + random() * 60 AS accept_min, 30 + random() * 600 AS complete_min,
			       random() AS luck, 1 + (g % 5000) AS unit_n, 1 + (g % 10) AS cat_n, 1 + (g % 20) AS tech_n
			FROM generate_series(1, @N) g
			CROSS JOIN LATERAL (SELECT id, code FROM properties WHERE code = CASE WHEN g % 2 = 0 THEN 'BENCH' ELSE 'OTHER' END) p`,
		`INSERT INTO service_requests (number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
			first_responder_id, assignee_id, channel, status, description, promised_at, due_at, rating, created_at, updated_at, completed_at,
			accepted_at, first_completed_at, promise_kept, confirmed_at, reopen_count, breach_count, escalation_count)
		SELECT g.code || '-' || g.n, g.property_id, u.id, c.id, r.id, r.id, gen_random_uuid(), t.id, t.id, 'APP',
		       CASE WHEN g.luck < 0.9 THEN 'CLOSED' WHEN g.luck < 0.95 THEN 'CONFIRMED' ELSE 'COMPLETED' END,
		       'generated', g.created_at + interval '4 hours', g.created_at + interval '4 hours', 1 + floor(g.luck * 100)::int % 5,
		       g.created_at, g.created_at + g.complete_min * interval '1 minute', g.created_at + g.complete_min * interval '1 minute',
		       g.created_at + g.accept_min * interval '1 minute', g.created_at + g.complete_min * interval '1 minute', g.complete_min <= 240,
		       CASE WHEN g.luck < 0.95 THEN g.created_at + (g.complete_min + 120) * interval '1 minute' END,
		       (g.luck > 0.97)::int, (g.complete_min > 240)::int, (g.complete_min > 300 AND g.luck < 0.3)::int
		FROM gen g
		JOIN units u ON u.property_id = g.property_id AND u.code = 'U' || g.unit_n
		JOIN service_categories c ON c.property_id = g.property_id AND c.code = 'c' || g.cat_n
		JOIN people r ON r.username = 'p' || g.unit_n
		JOIN people t ON t.username = 'p' || (5000 + g.tech_n + CASE WHEN g.code = 'OTHER' THEN 20 ELSE 0 END)`,
		`CREATE TEMP TABLE genr AS SELECT r.id, r.property_id, r.unit_id, r.requester_id, r.assignee_id, r.created_at, r.status,
			g.accept_min, g.complete_min, g.luck
		FROM service_requests r JOIN gen g ON r.number = g.code || '-' || g.n`,
		`INSERT INTO request_events (request_id, type, from_status, to_status, actor_id, at, property_id, unit_id, requester_id, assignee_id)
		SELECT r.id, e.type, e.from_status, e.to_status, r.assignee_id, r.created_at + e.minutes * interval '1 minute',
		       r.property_id, r.unit_id, r.requester_id, r.assignee_id
		FROM genr r CROSS JOIN LATERAL (VALUES
			('SUBMITTED', NULL, 'SUBMITTED', 0::float8, true),
			('ACCEPTED', 'SUBMITTED', 'ACCEPTED', r.accept_min, true),
			('ASSIGNED', 'ACCEPTED', 'ASSIGNED', r.accept_min + 1, true),
			('STARTED', 'ASSIGNED', 'IN_PROGRESS', r.accept_min + 10, true),
			('BREACHED', 'IN_PROGRESS', 'IN_PROGRESS', 240, r.complete_min > 240),
			('ESCALATED', 'IN_PROGRESS', 'IN_PROGRESS', 300, r.complete_min > 300 AND r.luck < 0.3),
			('COMPLETED', 'IN_PROGRESS', 'COMPLETED', r.complete_min, true),
			('REOPENED', 'COMPLETED', 'ASSIGNED', r.complete_min + 60, r.luck > 0.97),
			('CONFIRMED', 'COMPLETED', 'CONFIRMED', r.complete_min + 120, r.status <> 'COMPLETED'),
			('CLOSED', 'CONFIRMED', 'CLOSED', r.complete_min + 1440, r.status = 'CLOSED')
		) e (type, from_status, to_status, minutes, happened)
		WHERE e.happened`,
		`INSERT INTO callback_tasks (request_id, property_id, reason, status, attempts, due_at, created_at, closed_at)
		SELECT id, property_id, 'CONFIRMED', CASE WHEN status = 'CLOSED' THEN 'DONE' ELSE 'OPEN' END, 1,
		       created_at + (complete_min + 120 + 1440) * interval '1 minute', created_at + (complete_min + 120) * interval '1 minute',
		       CASE WHEN status = 'CLOSED' THEN created_at + (complete_min + 1440) * interval '1 minute' END
		FROM genr WHERE status <> 'COMPLETED'`,
		`INSERT INTO callbacks (request_id, task_id, agent_id, method, outcome, satisfaction, at)
		SELECT t.request_id, t.id, r.assignee_id, 'PHONE', 'REACHED', 1 + floor(r.luck * 1000)::int % 5, t.closed_at
		FROM callback_tasks t JOIN genr r ON r.id = t.request_id WHERE t.status = 'DONE'`,
		// The request's callback tally, as RecordCallback keeps it.
		`UPDATE service_requests r SET callback_reached = true, callback_satisfaction_sum = c.total, callback_satisfaction_n = c.n
		FROM (SELECT request_id, sum(satisfaction) AS total, count(satisfaction) AS n FROM callbacks GROUP BY request_id) c
		WHERE c.request_id = r.id`,
		`ALTER TABLE service_requests ENABLE TRIGGER service_requests_day_changes`,
		`SELECT request_day_stats_rebuild(NULL)`,
		// What autovacuum does to settled data in production: statistics
		// for the planner, and the visibility map that lets the event
		// probes be index-only.
		`VACUUM ANALYZE`,
	}
	// One connection throughout: the staging tables are temporary.
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for i, q := range steps {
		// Only fixed numbers are put into the text; a utility statement
		// such as CREATE TABLE AS takes no parameters.
		q = strings.NewReplacer("@N", strconv.Itoa(requests*2), "@FROM", benchFrom.Format(time.RFC3339)).Replace(q)
		if _, err := conn.ExecContext(ctx, q); err != nil {
			b.Fatalf("seed step %d: %v\n%s", i, err, q)
		}
	}
	var id string
	var reqs, events int
	if err := db.QueryRowContext(ctx, `SELECT id FROM properties WHERE code = 'BENCH'`).Scan(&id); err != nil {
		b.Fatal(err)
	}
	_ = db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM service_requests WHERE property_id = $1), (SELECT count(*) FROM request_events WHERE property_id = $1)`, id).Scan(&reqs, &events)
	b.Logf("seeded %d requests and %d events for the 5,000-unit property (and as many for another) in %s", reqs, events, time.Since(start).Round(time.Second))
	return id
}

// BenchmarkServiceStats times serviceStats and staffStats over a year of a
// 5,000-unit property, and over one month of it, each read from the per-day
// rollup and, as the baseline in the same run, from every request of the
// window. docs/kpis.md and docs/performance.md record the figures; `make
// bench` reproduces them.
func BenchmarkServiceStats(b *testing.B) {
	requests := 150_000
	if v := os.Getenv("BENCH_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("BENCH_REQUESTS: %v", err)
		}
		requests = n
	}
	db := pgtest.Fresh(b)
	prop := benchSeed(b, db, requests)
	store := postgres.NewStatsStore(db)
	ctx := context.Background()
	year := stats.Query{PropertyIDs: []string{prop}, From: benchFrom, To: benchTo, AsOf: benchTo}
	month := stats.Query{PropertyIDs: []string{prop}, From: benchFrom.AddDate(0, 5, 0), To: benchFrom.AddDate(0, 6, 0), AsOf: benchFrom.AddDate(0, 6, 0)}

	// The rollup must answer what the requests answer, or its speed means
	// nothing.
	for _, q := range []stats.Query{year, month} {
		got, err := store.ServiceStats(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		want, err := store.RawServiceStats(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			b.Fatalf("the rollup and the requests disagree over %s..%s", q.From, q.To)
		}
		gotStaff, err := store.StaffStats(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		wantStaff, err := store.RawStaffStats(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if !reflect.DeepEqual(gotStaff, wantStaff) {
			b.Fatalf("staffStats: the rollup and the requests disagree over %s..%s", q.From, q.To)
		}
	}
	var load string
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(raw))[:3], " ")
	}
	b.Logf("load average before the runs: %s", load)

	// Each case runs beside its baseline: the same question answered from
	// every request of the window, as before the rollup.
	cases := []struct {
		name string
		run  func() error
	}{
		{"year", func() error {
			s, err := store.ServiceStats(ctx, year)
			if err == nil && (s.Total != requests || len(s.Daily) != 365) {
				err = fmt.Errorf("year: %d requests over %d days", s.Total, len(s.Daily))
			}
			return err
		}},
		{"year-raw", func() error { _, err := store.RawServiceStats(ctx, year); return err }},
		{"month", func() error { _, err := store.ServiceStats(ctx, month); return err }},
		{"month-raw", func() error { _, err := store.RawServiceStats(ctx, month); return err }},
		{"staff-year", func() error { _, err := store.StaffStats(ctx, year); return err }},
		{"staff-year-raw", func() error { _, err := store.RawStaffStats(ctx, year); return err }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
