// Package dataset generates the benchmarks' data set: one large property
// with its residents, staff and a year of request history, written straight
// into the tables in a few set-based statements (seconds, not the hours the
// API would take). It is benchmark data only: the rows are shaped as the
// request engine leaves them (statuses, timelines, assignees), but they are
// not made by it.
package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/auth"
)

// Options size the data set.
type Options struct {
	// Code is the property's code (2-8 capitals or digits).
	Code string
	// Units is how many households the property has, in ten blocks.
	Units int
	// Residents is how many residents live there; resident i lives in unit
	// i modulo Units, so Residents == Units gives each their own household.
	Residents int
	// Requests is how many requests were made over the past year.
	Requests int
	// Agents, Butlers and Technicians are the property's staff. Every
	// other household is in a butler's portfolio.
	Agents, Butlers, Technicians int
	// Password is every generated person's password.
	Password string
	// Now is the end of the history (the server's "now").
	Now time.Time
}

// Default is the property the benchmarks use: 5,000 units, 10,000
// residents (two per household) and 20,000 requests over the year.
func Default() Options {
	return Options{Code: "BENCH", Units: 5000, Residents: 10000, Requests: 20000,
		Agents: 50, Butlers: 10, Technicians: 40, Password: "bench1234", Now: time.Now()}
}

// Usernames of the generated people: resident i (from 1), agent i, and so on.
func Resident(code string, i int) string   { return fmt.Sprintf("%s.r%d", strings.ToLower(code), i) }
func Agent(code string, i int) string      { return fmt.Sprintf("%s.agent%d", strings.ToLower(code), i) }
func Butler(code string, i int) string     { return fmt.Sprintf("%s.butler%d", strings.ToLower(code), i) }
func Technician(code string, i int) string { return fmt.Sprintf("%s.tech%d", strings.ToLower(code), i) }

// Seed writes the property into a migrated database, unless a property with
// its code is there already (then it returns at once, made false: the data
// set is made once per database). It returns the property's id.
func Seed(ctx context.Context, db *sql.DB, o Options) (id string, made bool, err error) {
	err = db.QueryRowContext(ctx, `SELECT id FROM properties WHERE code = $1`, o.Code).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if err != sql.ErrNoRows {
		return "", false, err
	}
	hash, err := auth.HashPassword(o.Password, 4)
	if err != nil {
		return "", false, err
	}
	lower := strings.ToLower(o.Code)
	perBlock := (o.Units + 9) / 10
	// Only these fixed values are put into the text: CREATE TABLE AS takes
	// no parameters.
	r := strings.NewReplacer("@CODE", o.Code, "@code", lower, "@UNITS", strconv.Itoa(o.Units),
		"@PERBLOCK", strconv.Itoa(perBlock), "@RESIDENTS", strconv.Itoa(o.Residents),
		"@REQUESTS", strconv.Itoa(o.Requests), "@AGENTS", strconv.Itoa(o.Agents),
		"@BUTLERS", strconv.Itoa(o.Butlers), "@TECHS", strconv.Itoa(o.Technicians),
		"@NOW", o.Now.UTC().Format(time.RFC3339Nano), "@HASH", hash)
	steps := []string{
		`INSERT INTO properties (code, name, kind, service_mode, time_zone)
			VALUES ('@CODE', 'Bench Gardens', 'RESIDENTIAL', 'SERVICE_CENTER', 'Asia/Hong_Kong')`,
		`INSERT INTO buildings (property_id, code, name)
			SELECT p.id, chr(64 + g), 'Block ' || chr(64 + g) FROM properties p, generate_series(1, 10) g WHERE p.code = '@CODE'`,
		`INSERT INTO units (property_id, building_id, code, vip)
			SELECT b.property_id, b.id, b.code || '-' || lpad(g::text, 4, '0'), g % 50 = 0
			FROM buildings b JOIN properties p ON p.id = b.property_id AND p.code = '@CODE', generate_series(1, @PERBLOCK) g
			WHERE (ascii(b.code) - 65) * @PERBLOCK + g <= @UNITS`,
		// The units in a stable order, 1..Units.
		`CREATE TEMP TABLE bench_units AS
			SELECT row_number() OVER (ORDER BY u.code) AS n, u.id, u.property_id
			FROM units u JOIN properties p ON p.id = u.property_id AND p.code = '@CODE'`,
		`INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes)
			SELECT p.id, c.code, 'REPAIR', c.name, c.name_zh, 240 FROM properties p,
			(VALUES ('plumbing', 'Plumbing', '水務'), ('electrical', 'Electrical', '電力'), ('aircon', 'Air conditioning', '冷氣'),
			        ('doors', 'Doors and locks', '門鎖'), ('lighting', 'Lighting', '照明'), ('pests', 'Pest control', '滅蟲'),
			        ('cleaning', 'Cleaning', '清潔'), ('lift', 'Lifts', '升降機'), ('noise', 'Noise', '噪音'), ('other', 'Other', '其他')) c (code, name, name_zh)
			WHERE p.code = '@CODE'`,
		`CREATE TEMP TABLE bench_cats AS
			SELECT row_number() OVER (ORDER BY c.code) AS n, c.id FROM service_categories c JOIN properties p ON p.id = c.property_id AND p.code = '@CODE'`,
		`INSERT INTO people (username, name, password_hash)
			SELECT '@code.r' || g, 'Resident ' || g, '@HASH' FROM generate_series(1, @RESIDENTS) g
			UNION ALL SELECT '@code.agent' || g, 'Agent ' || g, '@HASH' FROM generate_series(1, @AGENTS) g
			UNION ALL SELECT '@code.butler' || g, 'Butler ' || g, '@HASH' FROM generate_series(1, @BUTLERS) g
			UNION ALL SELECT '@code.tech' || g, 'Technician ' || g, '@HASH' FROM generate_series(1, @TECHS) g`,
		`CREATE TEMP TABLE bench_people AS
			SELECT id, split_part(substr(username, length('@code.') + 1), '.', 1) AS name,
			       regexp_replace(substr(username, length('@code.') + 1), '[0-9]+$', '') AS kind,
			       substring(username from '([0-9]+)$')::int AS n
			FROM people WHERE username LIKE '@code.%'`,
		`CREATE INDEX ON bench_people (kind, n)`,
		`INSERT INTO residencies (person_id, unit_id, relation)
			SELECT pe.id, u.id, CASE WHEN pe.n <= @UNITS THEN 'OWNER' ELSE 'FAMILY' END
			FROM bench_people pe JOIN bench_units u ON u.n = 1 + (pe.n - 1) % @UNITS WHERE pe.kind = 'r'`,
		`INSERT INTO staff_roles (person_id, property_id, role)
			SELECT pe.id, p.id, CASE pe.kind WHEN 'agent' THEN 'AGENT' WHEN 'butler' THEN 'BUTLER' ELSE 'TECHNICIAN' END
			FROM bench_people pe, properties p WHERE p.code = '@CODE' AND pe.kind IN ('agent', 'butler', 'tech')`,
		// Every other household has a butler; each butler a tenth of them.
		`INSERT INTO butler_assignments (unit_id, butler_id, from_at)
			SELECT u.id, b.id, timestamptz '@NOW' - interval '2 years'
			FROM bench_units u JOIN bench_people b ON b.kind = 'butler' AND b.n = 1 + (u.n / 2) % NULLIF(@BUTLERS, 0)
			WHERE u.n % 2 = 0`,
		// The requests, spread over the past year; the newest are still on
		// their way, the rest closed. stage: 1 submitted, 2 accepted, 3
		// assigned, 4 in progress, 5 completed, 6 confirmed, 7 closed.
		`CREATE TEMP TABLE bench_gen AS
			SELECT g AS n, timestamptz '@NOW' - ((@REQUESTS - g)::float8 / @REQUESTS) * interval '365 days' - random() * interval '10 minutes' AS created_at,
			       1 + floor(random() * @UNITS)::int AS unit_n, 1 + floor(random() * 10)::int AS cat_n,
			       1 + floor(random() * @AGENTS)::int AS agent_n, 1 + floor(random() * @TECHS)::int AS tech_n,
			       CASE WHEN g > @REQUESTS - 40 THEN 1 + (g % 6) WHEN random() < 0.02 THEN 1 + floor(random() * 6)::int ELSE 7 END AS stage,
			       5 + random() * 60 AS accept_min, 30 + random() * 600 AS complete_min
			FROM generate_series(1, @REQUESTS) g`,
		`CREATE TEMP TABLE bench_reqs AS
			SELECT gen_random_uuid() AS id, g.*, u.id AS unit_id, u.property_id, c.id AS category_id,
			       (SELECT r.person_id FROM residencies r WHERE r.unit_id = u.id ORDER BY r.relation DESC, r.person_id LIMIT 1) AS requester_id,
			       a.id AS agent_id, t.id AS tech_id
			FROM bench_gen g JOIN bench_units u ON u.n = g.unit_n JOIN bench_cats c ON c.n = g.cat_n
			JOIN bench_people a ON a.kind = 'agent' AND a.n = g.agent_n JOIN bench_people t ON t.kind = 'tech' AND t.n = g.tech_n`,
		`INSERT INTO service_requests (id, number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
			first_responder_id, assignee_id, channel, status, description, promised_at, due_at, rating, created_at, updated_at,
			accepted_at, completed_at, first_completed_at, promise_kept, confirmed_at, version)
		SELECT r.id, '@CODE-' || to_char(r.created_at AT TIME ZONE 'Asia/Hong_Kong', 'YYYYMMDD') || '-' || lpad(r.n::text, 6, '0'),
		       r.property_id, r.unit_id, r.category_id, r.requester_id, r.requester_id, gen_random_uuid(),
		       CASE WHEN r.stage >= 2 THEN r.agent_id END, CASE WHEN r.stage >= 3 THEN r.tech_id END, 'APP',
		       (ARRAY['SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS', 'COMPLETED', 'CONFIRMED', 'CLOSED'])[r.stage],
		       'Generated request ' || r.n || ': the tap in the kitchen drips and the cabinet below it is wet.',
		       CASE WHEN r.stage >= 2 THEN r.created_at + interval '4 hours' END, CASE WHEN r.stage >= 2 THEN r.created_at + interval '4 hours' END,
		       CASE WHEN r.stage >= 6 THEN 1 + r.n % 5 END, r.created_at, r.created_at + (r.stage * 60) * interval '1 minute',
		       CASE WHEN r.stage >= 2 THEN r.created_at + r.accept_min * interval '1 minute' END,
		       CASE WHEN r.stage >= 5 THEN r.created_at + r.complete_min * interval '1 minute' END,
		       CASE WHEN r.stage >= 5 THEN r.created_at + r.complete_min * interval '1 minute' END,
		       CASE WHEN r.stage >= 5 THEN r.complete_min <= 240 END,
		       CASE WHEN r.stage >= 6 THEN r.created_at + (r.complete_min + 120) * interval '1 minute' END, r.stage
		FROM bench_reqs r`,
		// The timelines, in time order so that event ids grow with time.
		`INSERT INTO request_events (request_id, type, from_status, to_status, actor_id, note, at, property_id, unit_id, requester_id, assignee_id, first_responder_id)
		SELECT r.id, e.type, e.from_status, e.to_status, e.actor, e.note, r.created_at + e.minutes * interval '1 minute',
		       r.property_id, r.unit_id, r.requester_id, CASE WHEN e.stage >= 3 THEN r.tech_id END, CASE WHEN e.stage >= 2 THEN r.agent_id END
		FROM bench_reqs r CROSS JOIN LATERAL (VALUES
			(1, 'SUBMITTED', NULL, 'SUBMITTED', r.requester_id, NULL, 0::float8),
			(2, 'ACCEPTED', 'SUBMITTED', 'ACCEPTED', r.agent_id, 'Promised within four hours.', r.accept_min),
			(3, 'ASSIGNED', 'ACCEPTED', 'ASSIGNED', r.agent_id, NULL, r.accept_min + 1),
			(4, 'STARTED', 'ASSIGNED', 'IN_PROGRESS', r.tech_id, NULL, r.accept_min + 10),
			(5, 'COMPLETED', 'IN_PROGRESS', 'COMPLETED', r.tech_id, 'Replaced the washer.', r.complete_min),
			(6, 'CONFIRMED', 'COMPLETED', 'CONFIRMED', r.requester_id, NULL, r.complete_min + 120),
			(7, 'CLOSED', 'CONFIRMED', 'CLOSED', r.agent_id, 'Called back: satisfied.', r.complete_min + 1440)
		) e (stage, type, from_status, to_status, actor, note, minutes)
		WHERE e.stage <= r.stage
		ORDER BY r.created_at + e.minutes * interval '1 minute'`,
		`ANALYZE`,
	}
	// One connection throughout: the staging tables are temporary.
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", false, err
	}
	defer conn.Close()
	for i, q := range steps {
		if _, err := conn.ExecContext(ctx, r.Replace(q)); err != nil {
			return "", false, fmt.Errorf("seed step %d: %w", i, err)
		}
	}
	for _, t := range []string{"bench_units", "bench_cats", "bench_people", "bench_gen", "bench_reqs"} {
		if _, err := conn.ExecContext(ctx, `DROP TABLE `+t); err != nil {
			return "", false, err
		}
	}
	err = db.QueryRowContext(ctx, `SELECT id FROM properties WHERE code = $1`, o.Code).Scan(&id)
	return id, err == nil, err
}
