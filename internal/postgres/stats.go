package postgres

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/stats"
)

// StatsStore implements stats.Store. Every figure is defined in docs/kpis.md;
// the SQL below is that definition. Each answer is four statements whatever
// the window: one for the timing and rate figures, one for the counts by
// status and category, one for the callback backlog. Each groups by
// GROUPING SETS, so the totals and the per-day series come from the same
// pass.
type StatsStore struct{ db *DB }

// NewStatsStore returns the stats store.
func NewStatsStore(db *DB) *StatsStore { return &StatsStore{db: db} }

var _ stats.Store = (*StatsStore)(nil)

// cohortSQL is the window's requests: created in [$2, $3) at the properties
// $1 (all when null), with the local day of their creation in their
// property's time zone.
const cohortSQL = `
cohort AS (
	-- The promise is measured against its running form: the time told to
	-- the customer plus any time the job spent on hold.
	SELECT r.id, r.status, r.category_id, r.assignee_id, r.created_at, COALESCE(r.due_at, r.promised_at) AS promised_at, r.rating,
	       r.first_completed_at, r.promise_kept, r.accepted_at, r.confirmed_at, r.reopen_count,
	       r.breach_count, r.escalation_count, r.callback_reached, r.callback_satisfaction_sum, r.callback_satisfaction_n,
	       r.rating_timeliness, r.rating_attitude,
	       (r.created_at AT TIME ZONE p.time_zone)::date AS day
	FROM service_requests r JOIN properties p ON p.id = r.property_id
	WHERE ($1::uuid[] IS NULL OR r.property_id = ANY($1::uuid[]))
	  AND r.created_at >= $2 AND r.created_at < $3
)`

type figureRow struct {
	AllDays        bool            `db:"all_days"`
	Day            sql.NullTime    `db:"day"`
	MedianAccept   sql.NullFloat64 `db:"median_accept"`
	P90Accept      sql.NullFloat64 `db:"p90_accept"`
	MedianComplete sql.NullFloat64 `db:"median_complete"`
	P90Complete    sql.NullFloat64 `db:"p90_complete"`
	figureSums
}

// figureSums are the figures that add up: a window's are its days' sums.
type figureSums struct {
	Total           int `db:"total"`
	PromiseDue      int `db:"promise_due"`
	PromiseKept     int `db:"promise_kept"`
	Breaches        int `db:"breaches"`
	Escalations     int `db:"escalations"`
	Completed       int `db:"completed"`
	Reopened        int `db:"reopened"`
	Confirmed       int `db:"confirmed"`
	CalledBack      int `db:"called_back"`
	SatisfactionSum int `db:"satisfaction_sum"`
	SatisfactionN   int `db:"satisfaction_n"`
}

func (f *figureSums) add(o figureSums) {
	f.Total += o.Total
	f.PromiseDue += o.PromiseDue
	f.PromiseKept += o.PromiseKept
	f.Breaches += o.Breaches
	f.Escalations += o.Escalations
	f.Completed += o.Completed
	f.Reopened += o.Reopened
	f.Confirmed += o.Confirmed
	f.CalledBack += o.CalledBack
	f.SatisfactionSum += o.SatisfactionSum
	f.SatisfactionN += o.SatisfactionN
}

const rawFiguresSQL = `WITH ` + cohortSQL + `,
j AS (
	-- Every figure reads the request's own tally (written with its events),
	-- so the window costs one range scan of requests, not a probe of the
	-- event log per request.
	SELECT c.day, c.promised_at, c.first_completed_at AS completed_at, c.promise_kept,
	       extract(epoch FROM c.accepted_at - c.created_at) / 60 AS accept_minutes,
	       extract(epoch FROM c.first_completed_at - c.created_at) / 60 AS complete_minutes,
	       c.breach_count AS breaches, c.escalation_count AS escalations,
	       c.reopen_count > 0 AS reopened, c.confirmed_at IS NOT NULL AS confirmed,
	       c.callback_reached AS reached, c.callback_satisfaction_sum AS satisfaction_sum,
	       c.callback_satisfaction_n AS satisfaction_n
	FROM cohort c
)
SELECT GROUPING(day) = 1 AS all_days, day, count(*) AS total,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY accept_minutes) AS median_accept,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY accept_minutes) AS p90_accept,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY complete_minutes) AS median_complete,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY complete_minutes) AS p90_complete,
       count(*) FILTER (WHERE promise_kept IS NOT NULL OR (completed_at IS NULL AND promised_at < $4)) AS promise_due,
       count(*) FILTER (WHERE promise_kept) AS promise_kept,
       coalesce(sum(breaches), 0) AS breaches, coalesce(sum(escalations), 0) AS escalations,
       count(*) FILTER (WHERE completed_at IS NOT NULL) AS completed,
       count(*) FILTER (WHERE reopened) AS reopened,
       count(*) FILTER (WHERE confirmed) AS confirmed,
       count(*) FILTER (WHERE confirmed AND reached) AS called_back,
       coalesce(sum(satisfaction_sum), 0) AS satisfaction_sum, coalesce(sum(satisfaction_n), 0) AS satisfaction_n
FROM j
GROUP BY GROUPING SETS ((day), ())`

// windowSQL splits the window, per property, into the local days that lie
// whole inside it, [lo, hi), whose figures are read from the per-day rollup
// (request_day_stats, see migrations 00017 and 00020: request changes are
// logged in their own transaction and folded into it before the read), and the requests of the partial days at
// either end (edge), read one by one. The console asks for local
// midnights, so a year is 365 rollup rows and no edge at all.
//
// A day is whole when its first instant is not before from (the instant
// just before from falls on an earlier local date) and it is before to's
// local date. The edge scans reach three hours past the whole days, more
// than any daylight-saving shift, and keep only the requests whose day is
// outside them, so each request is counted once, by one side or the other.
const windowSQL = `
win AS (
	SELECT p.id, p.time_zone, b.lo, b.hi, (b.lo::timestamp AT TIME ZONE p.time_zone) AS lo_at, (b.hi::timestamp AT TIME ZONE p.time_zone) AS hi_at
	FROM properties p
	CROSS JOIN LATERAL (SELECT ($2::timestamptz AT TIME ZONE p.time_zone)::date AS d,
	                           (($2::timestamptz - interval '1 microsecond') AT TIME ZONE p.time_zone)::date AS before) f
	CROSS JOIN LATERAL (SELECT CASE WHEN f.before < f.d THEN f.d ELSE f.d + 1 END AS lo,
	                           ($3::timestamptz AT TIME ZONE p.time_zone)::date AS hi) b
	WHERE $1::uuid[] IS NULL OR p.id = ANY($1::uuid[])
),
edge AS (
	SELECT x.* FROM win w
	CROSS JOIN LATERAL (
		SELECT r FROM service_requests r
		WHERE r.property_id = w.id AND r.created_at >= $2
		  AND r.created_at < CASE WHEN w.lo < w.hi THEN LEAST($3, w.lo_at + interval '3 hours') ELSE $3 END
		  AND (w.lo >= w.hi OR (r.created_at AT TIME ZONE w.time_zone)::date < w.lo)
		UNION ALL
		SELECT r FROM service_requests r
		WHERE w.lo < w.hi AND r.property_id = w.id
		  AND r.created_at >= GREATEST($2, w.hi_at - interval '3 hours') AND r.created_at < $3
		  AND (r.created_at AT TIME ZONE w.time_zone)::date >= w.hi
	) e
	CROSS JOIN LATERAL request_day_piece(e.r) x
)`

// piecesSQL is the window as rows of the rollup's shape: the whole days'
// rows and, for each edge request, a row of one.
const piecesSQL = windowSQL + `,
pieces AS (
	SELECT s.day, s.total, s.by_status, s.by_category, s.accept_minutes, s.complete_minutes, s.open_promises,
	       s.verdicts, s.kept, s.breaches, s.escalations, s.completed, s.reopened, s.confirmed, s.called_back,
	       s.satisfaction_sum, s.satisfaction_n
	FROM win w JOIN request_day_stats s ON s.property_id = w.id AND s.day >= w.lo AND s.day < w.hi
	WHERE s.total > 0
	UNION ALL
	SELECT day, 1, jsonb_build_object(status, 1), jsonb_build_object(category, 1), array_remove(ARRAY[accept], NULL),
	       array_remove(ARRAY[complete], NULL), array_remove(ARRAY[open_promise], NULL),
	       verdict, kept, breaches, escalations, completed, reopened, confirmed, called_back, satisfaction_sum, satisfaction_n
	FROM edge
)`

// figuresSQL is rawFiguresSQL read from the rollup, one row per local day
// with something to count. Sums add up day by day, and the window's total
// is their sum (in Go). What does not add up comes as the day's own values:
// every accept and complete time, of which ServiceStats takes the exact
// percentiles (percentile_cont's own arithmetic; a sort of the values in the
// database costs more than the whole rest of the answer), and the promises
// without a verdict, due when their running promise is before asOf ($4).
const figuresSQL = `WITH ` + piecesSQL + `
SELECT day, sum(total) AS total,
       sum(verdicts + (SELECT count(*) FROM unnest(open_promises) t WHERE t < $4)) AS promise_due,
       sum(kept) AS promise_kept, sum(breaches) AS breaches, sum(escalations) AS escalations,
       sum(completed) AS completed, sum(reopened) AS reopened, sum(confirmed) AS confirmed,
       sum(called_back) AS called_back, sum(satisfaction_sum) AS satisfaction_sum, sum(satisfaction_n) AS satisfaction_n,
       array_send(request_day_cat(accept_minutes)) AS accept_minutes,
       array_send(request_day_cat(complete_minutes)) AS complete_minutes
FROM pieces
GROUP BY day`

// dayRow is one local day of figuresSQL.
type dayRow struct {
	Day             time.Time   `db:"day"`
	AcceptMinutes   float8Array `db:"accept_minutes"`
	CompleteMinutes float8Array `db:"complete_minutes"`
	figureSums
}

// float8Array scans a float8[] sent in PostgreSQL's binary form
// (array_send): the values' own bits, with none of the cost of printing
// and parsing a year of them as text.
type float8Array []float64

// Scan implements sql.Scanner.
func (a *float8Array) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("float8 array: got %T", src)
	}
	// Header: dimensions, a has-nulls flag, the element type; then each
	// dimension's length and lower bound; then each value as a length and
	// its eight bytes.
	if len(b) < 12 {
		return fmt.Errorf("float8 array: %d bytes", len(b))
	}
	dims := binary.BigEndian.Uint32(b)
	if dims == 0 {
		*a = (*a)[:0]
		return nil
	}
	if dims != 1 || len(b) < 20 {
		return fmt.Errorf("float8 array: %d dimensions", dims)
	}
	n := int(binary.BigEndian.Uint32(b[12:]))
	b = b[20:]
	if len(b) != n*12 {
		return fmt.Errorf("float8 array: %d bytes for %d values", len(b), n)
	}
	out := make([]float64, n)
	for i := range out {
		if binary.BigEndian.Uint32(b) != 8 {
			return fmt.Errorf("float8 array: a null or odd value")
		}
		out[i] = math.Float64frombits(binary.BigEndian.Uint64(b[4:]))
		b = b[12:]
	}
	*a = out
	return nil
}

// percentileCont is PostgreSQL's percentile_cont(p) over sorted values, to
// the bit: the value at fractional rank p*(n-1), interpolated linearly
// between its neighbours as float8_lerp does.
func percentileCont(sorted []float64, p float64) sql.NullFloat64 {
	if len(sorted) == 0 {
		return sql.NullFloat64{}
	}
	rank := p * float64(len(sorted)-1)
	first, second := math.Floor(rank), math.Ceil(rank)
	return lerp(sorted[int(first)], sorted[int(second)], rank, first, second)
}

// lerp is percentile_cont's last step: lo + pct*(hi-lo), where pct is how
// far the rank lies past the first row.
func lerp(lo, hi, rank, first, second float64) sql.NullFloat64 {
	v := lo
	if second > first {
		// The explicit conversion keeps the product rounded on its own,
		// as in C, never fused into the addition.
		v = lo + float64((rank-first)*(hi-lo))
	}
	return sql.NullFloat64{Float64: v, Valid: true}
}

// percentileUnsorted is percentileCont over values in any order (which it
// reorders): it selects the one or two values the rank falls between
// instead of sorting them all.
func percentileUnsorted(v []float64, p float64) sql.NullFloat64 {
	if len(v) == 0 {
		return sql.NullFloat64{}
	}
	rank := p * float64(len(v)-1)
	first, second := math.Floor(rank), math.Ceil(rank)
	i := int(first)
	nth(v, i)
	lo, hi := v[i], v[i]
	if second > first {
		// After nth, nothing past i is smaller than v[i].
		hi = slices.Min(v[i+1:])
	}
	return lerp(lo, hi, rank, first, second)
}

// nth reorders v so that v[k] holds what a sort would put there, with
// nothing larger before it and nothing smaller after it (quickselect with
// a three-way partition, so runs of equal values cost no extra passes).
func nth(v []float64, k int) {
	lo, hi := 0, len(v)-1
	for lo < hi {
		a, b, c := v[lo], v[lo+(hi-lo)/2], v[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case v[i] < pivot:
				v[lt], v[i] = v[i], v[lt]
				lt++
				i++
			case v[i] > pivot:
				v[i], v[gt] = v[gt], v[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return
		}
	}
}

// rollupFigures turns figuresSQL's days into the rows rawFiguresSQL
// answers: each day's, and the window's (AllDays), whose sums are the
// days' sums and whose percentiles are over every day's values.
func rollupFigures(days []dayRow) []figureRow {
	out := make([]figureRow, 0, len(days)+1)
	all := figureRow{AllDays: true}
	var accepts, completes []float64
	for _, d := range days {
		r := figureRow{Day: sql.NullTime{Time: d.Day, Valid: true}, figureSums: d.figureSums}
		acc, comp := []float64(d.AcceptMinutes), []float64(d.CompleteMinutes)
		// A day of one property comes sorted from the rollup; days that
		// join several properties or edge requests do not.
		if !slices.IsSorted(acc) {
			slices.Sort(acc)
		}
		if !slices.IsSorted(comp) {
			slices.Sort(comp)
		}
		r.MedianAccept, r.P90Accept = percentileCont(acc, 0.5), percentileCont(acc, 0.9)
		r.MedianComplete, r.P90Complete = percentileCont(comp, 0.5), percentileCont(comp, 0.9)
		accepts = append(accepts, d.AcceptMinutes...)
		completes = append(completes, d.CompleteMinutes...)
		all.add(d.figureSums)
		out = append(out, r)
	}
	all.MedianAccept, all.P90Accept = percentileUnsorted(accepts, 0.5), percentileUnsorted(accepts, 0.9)
	all.MedianComplete, all.P90Complete = percentileUnsorted(completes, 0.5), percentileUnsorted(completes, 0.9)
	return append(out, all)
}

// countsSQL is rawCountsSQL read from the rollup's per-day counts.
const countsSQL = `WITH ` + piecesSQL + `
SELECT day, kind, key, sum(n) AS count
FROM pieces
CROSS JOIN LATERAL (SELECT 'status' AS kind, key, value::int AS n FROM jsonb_each_text(by_status)
                    UNION ALL
                    SELECT 'category', key, value::int FROM jsonb_each_text(by_category)) c
GROUP BY GROUPING SETS ((day, kind, key), (kind, key))
HAVING sum(n) > 0
ORDER BY kind, key`

type countRow struct {
	Day   sql.NullTime   `db:"day"`
	Kind  string         `db:"kind"`
	Key   sql.NullString `db:"key"`
	Count int            `db:"count"`
}

const rawCountsSQL = `WITH ` + cohortSQL + `
SELECT day, CASE WHEN GROUPING(status) = 0 THEN 'status' ELSE 'category' END AS kind,
       coalesce(status, category_id::text) AS key, count(*) AS count
FROM cohort
GROUP BY GROUPING SETS ((day, status), (day, category_id), (status), (category_id))
ORDER BY kind, key`

type overdueRow struct {
	Day   sql.NullTime `db:"day"`
	Count int          `db:"count"`
}

// rawOverdueSQL counts callback tasks due in [$2, $3) and still open at $3
// (the query's AsOf), grouped by the local day they fell due: the
// definition overdueSQL must agree with.
const rawOverdueSQL = `
SELECT (t.due_at AT TIME ZONE p.time_zone)::date AS day, count(*) AS count
FROM callback_tasks t JOIN properties p ON p.id = t.property_id
WHERE ($1::uuid[] IS NULL OR t.property_id = ANY($1::uuid[]))
  AND t.due_at >= $2 AND t.due_at < $3 AND t.created_at <= $3
  AND (t.closed_at IS NULL OR t.closed_at > $3)
GROUP BY GROUPING SETS ((day), ())`

// overdueSQL is rawOverdueSQL read through the indexes of the tasks still
// open and of those closed after a given instant: a task open at asOf is
// one of these, and over a window that ends now both are a handful,
// however many tasks the window's days saw.
const overdueSQL = `
SELECT (t.due_at AT TIME ZONE p.time_zone)::date AS day, count(*) AS count
FROM (
	SELECT property_id, due_at FROM callback_tasks
	WHERE closed_at IS NULL AND ($1::uuid[] IS NULL OR property_id = ANY($1::uuid[]))
	  AND due_at >= $2 AND due_at < $3 AND created_at <= $3
	UNION ALL
	SELECT property_id, due_at FROM callback_tasks
	WHERE closed_at > $3 AND ($1::uuid[] IS NULL OR property_id = ANY($1::uuid[]))
	  AND due_at >= $2 AND due_at < $3 AND created_at <= $3
) t JOIN properties p ON p.id = t.property_id
GROUP BY GROUPING SETS ((day), ())`

func statsArgs(q stats.Query) []any {
	var props any
	if q.PropertyIDs != nil {
		props = pq.Array(q.PropertyIDs)
	}
	return []any{props, q.From, q.To, q.AsOf}
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

const dayLayout = "2006-01-02"

// ServiceStats answers a window in four statements, reading the per-day
// rollup for the window's whole local days once the changes pending for it
// are folded in.
func (s *StatsStore) ServiceStats(ctx context.Context, q stats.Query) (*stats.ServiceStats, error) {
	if _, err := s.Fold(ctx); err != nil {
		return nil, err
	}
	return s.serviceStats(ctx, q, true)
}

// foldBatch is how many logged request changes one fold transaction takes:
// enough that a busy minute is one or two transactions, few enough that a
// burst (an import) never holds the folders' lock or a day's row for long.
const foldBatch = 500

// Fold moves the request changes logged since the last fold into the
// per-day rollup (migration 00020), a batch a transaction, and says how many
// it took. Writers only log; the rows change here, off their path. Several
// servers may fold at once: folders take turns on a lock of their own, and
// a change is folded once, by whichever took it. Statistics fold before
// they read, so an answer includes every change committed before it was
// asked; the scheduled job keeps the backlog that a read would wait on short.
func (s *StatsStore) Fold(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		if err := s.db.GetContext(ctx, &n, `SELECT request_day_fold($1)`, foldBatch); err != nil {
			return total, mapErr(err)
		}
		total += n
		if n < foldBatch {
			return total, nil
		}
	}
}

// serviceStats answers a window from the rollup, or (rollup false) with
// the statements that define the figures, from every request of the window.
func (s *StatsStore) serviceStats(ctx context.Context, q stats.Query, rollup bool) (*stats.ServiceStats, error) {
	args := statsArgs(q)
	// The three statements read different things and need no common
	// snapshot beyond what each has: they run side by side, each on a
	// connection of its own, so a window costs the slowest, not the sum.
	var figs []figureRow
	var counts []countRow
	var overdue []overdueRow
	g, gctx := errgroup.WithContext(ctx)
	if rollup {
		g.Go(func() error {
			var days []dayRow
			if err := sqlx.SelectContext(gctx, s.db, &days, figuresSQL, args...); err != nil {
				return err
			}
			figs = rollupFigures(days)
			return nil
		})
		g.Go(func() error { return sqlx.SelectContext(gctx, s.db, &counts, countsSQL, args[:3]...) })
		g.Go(func() error { return sqlx.SelectContext(gctx, s.db, &overdue, overdueSQL, args[0], args[1], args[3]) })
	} else {
		g.Go(func() error { return sqlx.SelectContext(gctx, s.db, &figs, rawFiguresSQL, args...) })
		g.Go(func() error { return sqlx.SelectContext(gctx, s.db, &counts, rawCountsSQL, args[:3]...) })
		g.Go(func() error {
			return sqlx.SelectContext(gctx, s.db, &overdue, rawOverdueSQL, args[0], args[1], args[3])
		})
	}
	if err := g.Wait(); err != nil {
		return nil, mapErr(err)
	}

	out := &stats.ServiceStats{Figures: emptyFigures()}
	days := map[string]*stats.Figures{}
	at := func(d sql.NullTime) *stats.Figures {
		if !d.Valid {
			return &out.Figures
		}
		key := d.Time.Format(dayLayout)
		f, ok := days[key]
		if !ok {
			e := emptyFigures()
			f = &e
			days[key] = f
		}
		return f
	}
	for _, r := range figs {
		day := r.Day
		if r.AllDays {
			day = sql.NullTime{}
		}
		f := at(day)
		f.Total = r.Total
		f.MedianAcceptMinutes, f.P90AcceptMinutes = nullFloat(r.MedianAccept), nullFloat(r.P90Accept)
		f.MedianCompleteMinutes, f.P90CompleteMinutes = nullFloat(r.MedianComplete), nullFloat(r.P90Complete)
		f.PromiseKeptRate = ratio(r.PromiseKept, r.PromiseDue)
		f.Breaches, f.Escalations = r.Breaches, r.Escalations
		f.ReopenRate = ratio(r.Reopened, r.Completed)
		f.CallbackRate = ratio(r.CalledBack, r.Confirmed)
		if r.SatisfactionN > 0 {
			v := float64(r.SatisfactionSum) / float64(r.SatisfactionN)
			f.AvgSatisfaction = &v
		}
	}
	for _, r := range counts {
		f := at(r.Day)
		c := stats.Count{Key: r.Key.String, Count: r.Count}
		if r.Kind == "status" {
			f.ByStatus = append(f.ByStatus, c)
		} else {
			f.ByCategory = append(f.ByCategory, c)
		}
	}
	for _, r := range overdue {
		at(r.Day).CallbacksOverdue = r.Count
	}
	// A chart wants every day of the window, quiet ones as zeros. Local
	// days are only well defined when the properties share a time zone.
	var zones []string
	if err := sqlx.SelectContext(ctx, s.db, &zones, `SELECT DISTINCT time_zone FROM properties WHERE $1::uuid[] IS NULL OR id = ANY($1::uuid[])`, args[0]); err != nil {
		return nil, mapErr(err)
	}
	if len(zones) == 1 {
		loc, err := property.LoadTimeZone(zones[0])
		if err != nil {
			return nil, err
		}
		last := q.To.Add(-time.Nanosecond).In(loc)
		for d := q.From.In(loc); !d.After(last) || d.Format(dayLayout) == last.Format(dayLayout); d = d.AddDate(0, 0, 1) {
			at(sql.NullTime{Time: d, Valid: true})
		}
	}
	keys := make([]string, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out.Daily = make([]stats.Day, len(keys))
	for i, k := range keys {
		out.Daily[i] = stats.Day{Date: k, Figures: *days[k]}
	}
	return out, nil
}

func emptyFigures() stats.Figures {
	return stats.Figures{ByStatus: []stats.Count{}, ByCategory: []stats.Count{}}
}

// rawStaffSQL attributes each cohort request to its assignee as it stands
// now, reading every request of the window (the definition staffSQL must
// agree with).
const rawStaffSQL = `WITH ` + cohortSQL + `,
per AS (
	SELECT c.assignee_id AS person_id,
	       count(c.first_completed_at) AS jobs_done,
	       count(*) FILTER (WHERE c.promise_kept IS NOT NULL OR (c.first_completed_at IS NULL AND c.promised_at < $4)) AS promise_due,
	       count(*) FILTER (WHERE c.promise_kept) AS promise_kept,
	       count(c.rating) AS ratings,
	       avg(c.rating)::float8 AS avg_rating,
	       avg(c.rating_timeliness)::float8 AS avg_timeliness,
	       avg(c.rating_attitude)::float8 AS avg_attitude
	FROM cohort c
	WHERE c.assignee_id IS NOT NULL
	GROUP BY c.assignee_id
)
SELECT per.person_id, per.jobs_done,
       CASE WHEN per.promise_due > 0 THEN per.promise_kept::float8 / per.promise_due END AS promise_kept_rate,
       per.ratings, per.avg_rating, per.avg_timeliness, per.avg_attitude,
       (SELECT avg(r.rating)::float8 FROM service_requests r WHERE r.assignee_id = per.person_id AND r.rating IS NOT NULL) AS score
FROM per
ORDER BY per.jobs_done DESC, per.person_id`

// staffSQL is rawStaffSQL read from the per-worker rollup. The averages
// are the rollup's sums divided as avg() divides (numeric, then float8),
// so they are the same numbers to the last bit; the running score reads
// every day of the worker's, at every property.
const staffSQL = `WITH ` + windowSQL + `,
pieces AS (
	SELECT s.assignee_id, s.jobs_done, s.open_promises, s.verdicts, s.kept, s.ratings, s.rating_sum,
	       s.timeliness_n, s.timeliness_sum, s.attitude_n, s.attitude_sum
	FROM win w JOIN request_day_staff_stats s ON s.property_id = w.id AND s.day >= w.lo AND s.day < w.hi
	WHERE s.total > 0
	UNION ALL
	SELECT assignee_id, completed, array_remove(ARRAY[open_promise], NULL), verdict, kept,
	       (rating IS NOT NULL)::int, coalesce(rating, 0), (timeliness IS NOT NULL)::int, coalesce(timeliness, 0),
	       (attitude IS NOT NULL)::int, coalesce(attitude, 0)
	FROM edge WHERE assignee_id IS NOT NULL
),
per AS (
	SELECT assignee_id AS person_id, sum(jobs_done) AS jobs_done,
	       sum(verdicts + (SELECT count(*) FROM unnest(open_promises) t WHERE t < $4)) AS promise_due,
	       sum(kept) AS promise_kept, sum(ratings) AS ratings, sum(rating_sum) AS rating_sum,
	       sum(timeliness_n) AS timeliness_n, sum(timeliness_sum) AS timeliness_sum,
	       sum(attitude_n) AS attitude_n, sum(attitude_sum) AS attitude_sum
	FROM pieces
	GROUP BY assignee_id
)
SELECT per.person_id, per.jobs_done,
       CASE WHEN per.promise_due > 0 THEN per.promise_kept::float8 / per.promise_due END AS promise_kept_rate,
       per.ratings,
       (per.rating_sum::numeric / nullif(per.ratings, 0))::float8 AS avg_rating,
       (per.timeliness_sum::numeric / nullif(per.timeliness_n, 0))::float8 AS avg_timeliness,
       (per.attitude_sum::numeric / nullif(per.attitude_n, 0))::float8 AS avg_attitude,
       (SELECT (sum(x.rating_sum)::numeric / nullif(sum(x.ratings), 0))::float8
        FROM request_day_staff_stats x WHERE x.assignee_id = per.person_id) AS score
FROM per
ORDER BY per.jobs_done DESC, per.person_id`

// StaffStats answers per-worker figures in one statement.
func (s *StatsStore) StaffStats(ctx context.Context, q stats.Query) ([]stats.StaffStats, error) {
	if _, err := s.Fold(ctx); err != nil {
		return nil, err
	}
	return s.staffStats(ctx, q, staffSQL)
}

func (s *StatsStore) staffStats(ctx context.Context, q stats.Query, query string) ([]stats.StaffStats, error) {
	out := []stats.StaffStats{}
	err := sqlx.SelectContext(ctx, s.db, &out, query, statsArgs(q)...)
	return out, mapErr(err)
}

const exportSQL = `WITH ` + cohortSQL + `
SELECT r.number, p.code AS property, sc.code AS category, u.code AS unit, r.status, r.channel,
       r.created_at, c.accepted_at, c.first_completed_at AS completed_at, r.promised_at,
       CASE WHEN c.promise_kept IS NOT NULL THEN c.promise_kept
            WHEN c.first_completed_at IS NULL AND c.promised_at < $4 THEN false END AS promise_kept,
       a.name AS assignee, f.name AS first_responder,
       r.rating, r.rating_timeliness, r.rating_attitude,
       c.reopen_count > 0 AS reopened,
       (SELECT cb.satisfaction FROM callbacks cb WHERE cb.request_id = r.id AND cb.satisfaction IS NOT NULL
        ORDER BY cb.at DESC LIMIT 1) AS satisfaction
FROM cohort c
JOIN service_requests r ON r.id = c.id
JOIN properties p ON p.id = r.property_id
JOIN service_categories sc ON sc.id = r.category_id
JOIN units u ON u.id = r.unit_id
LEFT JOIN people a ON a.id = r.assignee_id
LEFT JOIN people f ON f.id = r.first_responder_id
ORDER BY r.created_at, r.id`

// ExportRequests streams the window's requests row by row; nothing is held
// in memory beyond the row in hand.
func (s *StatsStore) ExportRequests(ctx context.Context, q stats.Query, fn func(*stats.RequestRow) error) error {
	rows, err := s.db.QueryxContext(ctx, exportSQL, statsArgs(q)...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	var row stats.RequestRow
	for rows.Next() {
		row = stats.RequestRow{}
		if err := rows.StructScan(&row); err != nil {
			return err
		}
		if err := fn(&row); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}
