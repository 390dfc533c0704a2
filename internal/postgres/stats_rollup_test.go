package postgres_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"pgregory.net/rapid"

	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
	"github.com/kproperty/onestop/internal/stats"
)

// rollupZones are the zones the rollup is tried in: no daylight saving,
// the American and European changes (which fall inside the days the
// requests are made on), a zone three quarters of an hour off, and one a
// day away from the others.
var rollupZones = []string{"Asia/Hong_Kong", "America/New_York", "Europe/London", "Pacific/Chatham", "Pacific/Kiritimati", "UTC"}

// rollupFixture is three properties, each with two categories and two
// units, and workers shared by all (a worker's running score crosses properties).
type rollupFixture struct {
	props, zones []string
	cats, units  map[string][]string
	people       []string
}

func newRollupFixture(t *testing.T, db *postgres.DB) *rollupFixture {
	t.Helper()
	f := &rollupFixture{cats: map[string][]string{}, units: map[string][]string{}}
	tag := uuid.NewString()[:6]
	for i := 0; i < 6; i++ {
		var id string
		if err := db.Get(&id, `INSERT INTO people (username, name, password_hash) VALUES ($1, 'Rollup worker', 'x') RETURNING id`,
			fmt.Sprintf("rollup.%s.%d", tag, i)); err != nil {
			t.Fatal(err)
		}
		f.people = append(f.people, id)
	}
	for i, zone := range []string{"Asia/Hong_Kong", "America/New_York", "Europe/London"} {
		var id, building string
		code := fmt.Sprintf("R%s%d", strings.ToUpper(tag[:5]), i)
		if err := db.Get(&id, `INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ($1, 'Rollup', 'RESIDENTIAL', 'SERVICE_CENTER', $2) RETURNING id`,
			code, zone); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&building, `INSERT INTO buildings (property_id, code, name) VALUES ($1, 'A', 'A') RETURNING id`, id); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 2; j++ {
			var cat, unit string
			if err := db.Get(&cat, `INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes) VALUES ($1, $2, 'REPAIR', 'C', 'C', 240) RETURNING id`,
				id, fmt.Sprint("c", j)); err != nil {
				t.Fatal(err)
			}
			if err := db.Get(&unit, `INSERT INTO units (property_id, building_id, code) VALUES ($1, $2, $3) RETURNING id`, id, building, fmt.Sprint("U", j)); err != nil {
				t.Fatal(err)
			}
			f.cats[id] = append(f.cats[id], cat)
			f.units[id] = append(f.units[id], unit)
		}
		f.props = append(f.props, id)
		f.zones = append(f.zones, zone)
	}
	return f
}

// rollupBase is the first instant requests are made at: the 25 days after
// it hold both the American (8 March 2026) and the European (29 March)
// change to summer time.
var rollupBase = time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)

// The rollup agrees with the requests it summarizes: after random
// sequences of changes (requests made, accepted, assigned, completed,
// reopened, confirmed, rated, called back, breached, escalated, cancelled,
// moved to another day or property, removed, and properties moved to another
// time zone), some in one transaction, every figure of serviceStats and
// staffStats read through the rollup equals the one read from every
// request, for windows of whole local days and for windows that cut days,
// at one property and at all; and the rollup's rows equal a rebuild from
// scratch.
func TestRollupAgreesWithRequests(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, dbURL)
	f := newRollupFixture(t, db)
	store := postgres.NewStatsStore(db)

	var made []string
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		moves := rapid.IntRange(1, 40).Draw(rt, "moves")
		tx, err := db.Beginx()
		if err != nil {
			rt.Fatal(err)
		}
		commit := func() {
			if err := tx.Commit(); err != nil {
				rt.Fatalf("commit: %v", err)
			}
			if tx, err = db.Beginx(); err != nil {
				rt.Fatal(err)
			}
		}
		exec := func(q string, args ...any) {
			if _, err := tx.Exec(q, args...); err != nil {
				rt.Fatalf("%v\n%s", err, q)
			}
		}
		pickReq := func() (string, bool) {
			if len(made) == 0 {
				return "", false
			}
			return made[rapid.IntRange(0, len(made)-1).Draw(rt, "request")], true
		}
		for i := 0; i < moves; i++ {
			move := rapid.SampledFrom([]string{"submit", "submit", "accept", "assign", "complete", "reopen", "confirm", "rate",
				"callback", "breach", "cancel", "move day", "move property", "remove", "rezone", "callback task", "close task", "commit"}).Draw(rt, "move")
			minutes := func(label string) time.Duration {
				return time.Duration(rapid.IntRange(1, 600).Draw(rt, label)) * time.Minute
			}
			if move == "submit" {
				p := rapid.IntRange(0, len(f.props)-1).Draw(rt, "property")
				prop := f.props[p]
				c := rapid.IntRange(0, 1).Draw(rt, "category")
				at := rollupBase.Add(time.Duration(rapid.IntRange(0, 25*24*60).Draw(rt, "created minute")) * time.Minute)
				if rapid.Bool().Draw(rt, "on a midnight") {
					// Requests on the very edge of a day.
					at = at.Truncate(time.Hour)
				}
				id := uuid.NewString()
				n++
				exec(`INSERT INTO service_requests (id, number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
					channel, status, description, promised_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6, gen_random_uuid(), 'APP', 'SUBMITTED', 'rollup', $7, $8, $8)`,
					id, fmt.Sprintf("RU-%s-%d", id[:8], n), prop, f.units[prop][c], f.cats[prop][c], f.people[0],
					at.Add(4*time.Hour), at)
				made = append(made, id)
				continue
			}
			if move == "commit" {
				commit()
				continue
			}
			if move == "rezone" {
				p := rapid.IntRange(0, len(f.props)-1).Draw(rt, "property")
				zone := rapid.SampledFrom(rollupZones).Draw(rt, "zone")
				exec(`UPDATE properties SET time_zone = $2 WHERE id = $1`, f.props[p], zone)
				f.zones[p] = zone
				continue
			}
			id, ok := pickReq()
			if !ok {
				continue
			}
			switch move {
			case "accept":
				exec(`UPDATE service_requests SET status = 'ACCEPTED', accepted_at = coalesce(accepted_at, created_at + $2::interval),
					due_at = created_at + interval '4 hours' WHERE id = $1`, id, minutes("after").String())
			case "assign":
				who := f.people[rapid.IntRange(1, len(f.people)-1).Draw(rt, "worker")]
				exec(`UPDATE service_requests SET status = 'ASSIGNED', assignee_id = $2 WHERE id = $1`, id, who)
			case "complete":
				exec(`UPDATE service_requests SET status = 'COMPLETED', completed_at = created_at + $2::interval,
					first_completed_at = coalesce(first_completed_at, created_at + $2::interval),
					promise_kept = coalesce(promise_kept, created_at + $2::interval <= coalesce(due_at, promised_at))
				WHERE id = $1`, id, minutes("after").String())
			case "reopen":
				exec(`UPDATE service_requests SET status = 'ASSIGNED', reopen_count = reopen_count + 1, due_at = created_at + interval '2 days' WHERE id = $1`, id)
			case "confirm":
				exec(`UPDATE service_requests SET status = 'CONFIRMED', confirmed_at = coalesce(confirmed_at, created_at + interval '1 day') WHERE id = $1`, id)
			case "rate":
				exec(`UPDATE service_requests SET rating = $2, rating_timeliness = $3, rating_attitude = $4 WHERE id = $1`, id,
					rapid.IntRange(1, 5).Draw(rt, "rating"), nullable(rt, "timeliness"), nullable(rt, "attitude"))
			case "callback":
				exec(`UPDATE service_requests SET callback_reached = true, callback_satisfaction_sum = callback_satisfaction_sum + $2,
					callback_satisfaction_n = callback_satisfaction_n + 1 WHERE id = $1`, id, rapid.IntRange(1, 5).Draw(rt, "satisfaction"))
			case "breach":
				exec(`UPDATE service_requests SET breach_count = breach_count + 1, escalation_count = escalation_count + $2 WHERE id = $1`,
					id, rapid.IntRange(0, 1).Draw(rt, "escalated"))
			case "cancel":
				exec(`UPDATE service_requests SET status = 'CANCELLED' WHERE id = $1`, id)
			case "move day":
				exec(`UPDATE service_requests SET created_at = created_at + $2::interval WHERE id = $1`, id,
					fmt.Sprintf("%d minutes", rapid.IntRange(-3*24*60, 3*24*60).Draw(rt, "by minutes")))
			case "move property":
				p := f.props[rapid.IntRange(0, len(f.props)-1).Draw(rt, "to property")]
				exec(`UPDATE service_requests SET property_id = $2, category_id = $3, unit_id = $4 WHERE id = $1`, id, p, f.cats[p][0], f.units[p][0])
			case "remove":
				exec(`DELETE FROM callback_tasks WHERE request_id = $1`, id)
				exec(`DELETE FROM service_requests WHERE id = $1`, id)
			case "callback task":
				// Callbacks overdue are read from the tasks, not the
				// rollup, by another statement; it too must agree.
				due := fmt.Sprintf("%d minutes", rapid.IntRange(0, 3*24*60).Draw(rt, "due after"))
				if rapid.Bool().Draw(rt, "still open") {
					exec(`INSERT INTO callback_tasks (request_id, property_id, reason, status, due_at, created_at)
					SELECT id, property_id, 'CONFIRMED', 'OPEN', created_at + $2::interval, created_at FROM service_requests WHERE id = $1
					ON CONFLICT DO NOTHING`, id, due)
				} else {
					exec(`INSERT INTO callback_tasks (request_id, property_id, reason, status, due_at, created_at, closed_at)
					SELECT id, property_id, 'CONFIRMED', 'DONE', created_at + $2::interval, created_at, created_at + $3::interval
					FROM service_requests WHERE id = $1`, id, due, minutes("closed after").String())
				}
			case "close task":
				exec(`UPDATE callback_tasks SET status = 'DONE', closed_at = due_at + $2::interval WHERE request_id = $1 AND status = 'OPEN'`,
					id, fmt.Sprintf("%d minutes", rapid.IntRange(-600, 3*24*60).Draw(rt, "closed")))
			}
		}
		if err := tx.Commit(); err != nil {
			rt.Fatalf("commit: %v", err)
		}

		// Windows: each property's whole local days (as the console asks),
		// windows that cut days at either end, and every property at once.
		var queries []stats.Query
		asOf := rollupBase.Add(time.Duration(rapid.IntRange(0, 31*24).Draw(rt, "asOf hour")) * time.Hour)
		for i, prop := range f.props {
			loc, err := time.LoadLocation(f.zones[i])
			if err != nil {
				rt.Fatal(err)
			}
			from := time.Date(2026, 3, 3+rapid.IntRange(0, 6).Draw(rt, "from day"), 0, 0, 0, 0, loc)
			to := from.AddDate(0, 0, rapid.IntRange(1, 28).Draw(rt, "days"))
			queries = append(queries, stats.Query{PropertyIDs: []string{prop}, From: from, To: to, AsOf: minTime(to, asOf)})
			cutFrom := from.Add(time.Duration(rapid.IntRange(-36*60, 36*60).Draw(rt, "cut from")) * time.Minute)
			cutTo := to.Add(time.Duration(rapid.IntRange(-36*60, 36*60).Draw(rt, "cut to")) * time.Minute)
			if cutFrom.Before(cutTo) {
				queries = append(queries, stats.Query{PropertyIDs: []string{prop}, From: cutFrom, To: cutTo, AsOf: minTime(cutTo, asOf)})
			}
		}
		all := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
		queries = append(queries, stats.Query{PropertyIDs: f.props, From: all, To: all.AddDate(0, 0, 32), AsOf: asOf},
			stats.Query{PropertyIDs: f.props, From: all.Add(7 * time.Hour), To: all.AddDate(0, 0, 27).Add(5 * time.Hour), AsOf: asOf})
		for _, q := range queries {
			got, err := store.ServiceStats(ctx, q)
			if err != nil {
				rt.Fatal(err)
			}
			want, err := store.RawServiceStats(ctx, q)
			if err != nil {
				rt.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				rt.Fatalf("serviceStats over %s..%s (asOf %s) at %v:\nrollup %s\nraw    %s", q.From, q.To, q.AsOf, q.PropertyIDs, show(got), show(want))
			}
			gotStaff, err := store.StaffStats(ctx, q)
			if err != nil {
				rt.Fatal(err)
			}
			wantStaff, err := store.RawStaffStats(ctx, q)
			if err != nil {
				rt.Fatal(err)
			}
			if !reflect.DeepEqual(gotStaff, wantStaff) {
				rt.Fatalf("staffStats over %s..%s (asOf %s) at %v:\nrollup %s\nraw    %s", q.From, q.To, q.AsOf, q.PropertyIDs, show(gotStaff), show(wantStaff))
			}
		}
		checkRollupRows(rt, db)
	})
}

// checkRollupRows holds the rollup's rows, once the pending changes are
// folded, to a rebuild from the requests: the same rows (the arrays in the
// same, ascending order), and rows left empty by requests that moved away
// holding nothing.
func checkRollupRows(rt fataler, db *postgres.DB) {
	if _, err := postgres.NewStatsStore(db).Fold(context.Background()); err != nil {
		rt.Fatal(err)
	}
	const rows = `SELECT concat_ws(' | ', property_id, day, total, by_status, by_category,
	accept_minutes, complete_minutes, open_promises, verdicts, kept, breaches, escalations, completed, reopened,
	confirmed, called_back, satisfaction_sum, satisfaction_n) FROM request_day_stats WHERE total > 0 ORDER BY property_id, day`
	const staffRows = `SELECT concat_ws(' | ', property_id, day, assignee_id, total, jobs_done,
	open_promises, verdicts, kept, ratings, rating_sum, timeliness_n, timeliness_sum,
	attitude_n, attitude_sum) FROM request_day_staff_stats WHERE total > 0 ORDER BY property_id, day, assignee_id`
	const empty = `SELECT count(*) FROM request_day_stats WHERE total = 0 AND (by_status <> '{}' OR by_category <> '{}'
	OR cardinality(accept_minutes) + cardinality(complete_minutes) + cardinality(open_promises) > 0
	OR verdicts <> 0 OR kept <> 0 OR breaches <> 0 OR escalations <> 0 OR completed <> 0 OR reopened <> 0 OR confirmed <> 0
	OR called_back <> 0 OR satisfaction_sum <> 0 OR satisfaction_n <> 0)`
	var kept, keptStaff []string
	var junk int
	if err := db.Select(&kept, rows); err != nil {
		rt.Fatal(err)
	}
	if err := db.Select(&keptStaff, staffRows); err != nil {
		rt.Fatal(err)
	}
	if err := db.Get(&junk, empty); err != nil {
		rt.Fatal(err)
	}
	if junk > 0 {
		rt.Fatalf("%d rollup rows count no request but hold figures", junk)
	}
	var rebuilt, rebuiltStaff []string
	err := db.InTx(context.Background(), func(tx *sqlx.Tx) error {
		if _, err := tx.Exec(`SELECT request_day_stats_rebuild(NULL)`); err != nil {
			return err
		}
		if err := tx.Select(&rebuilt, rows); err != nil {
			return err
		}
		if err := tx.Select(&rebuiltStaff, staffRows); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		rt.Fatal(err)
	}
	if !reflect.DeepEqual(kept, rebuilt) {
		rt.Fatalf("the rollup's rows differ from a rebuild:\nkept    %q\nrebuilt %q", kept, rebuilt)
	}
	if !reflect.DeepEqual(keptStaff, rebuiltStaff) {
		rt.Fatalf("the per-worker rollup differs from a rebuild:\nkept    %q\nrebuilt %q", keptStaff, rebuiltStaff)
	}
}

var errRollback = fmt.Errorf("rolled back on purpose")

// fataler is what checkRollupRows needs of a test: *testing.T and
// *rapid.T alike.
type fataler interface {
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func nullable(rt *rapid.T, label string) *int {
	if rapid.Bool().Draw(rt, label+" given") {
		v := rapid.IntRange(1, 5).Draw(rt, label)
		return &v
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// show prints figures with their pointers followed.
func show(v any) string {
	return deepString(reflect.ValueOf(v))
}

func deepString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		if v.Elem().Kind() == reflect.Float64 {
			f := v.Elem().Float()
			return fmt.Sprintf("%v(%x)", f, math.Float64bits(f))
		}
		return deepString(v.Elem())
	case reflect.Struct:
		s := "{"
		for i := 0; i < v.NumField(); i++ {
			s += v.Type().Field(i).Name + ":" + deepString(v.Field(i)) + " "
		}
		return s + "}"
	case reflect.Slice:
		s := "["
		for i := 0; i < v.Len(); i++ {
			s += deepString(v.Index(i)) + " "
		}
		return s + "]"
	default:
		return fmt.Sprint(v.Interface())
	}
}
