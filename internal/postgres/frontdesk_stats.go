package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/frontdesk"
)

// FrontDeskStatsStore implements frontdesk.Store.
type FrontDeskStatsStore struct{ db *DB }

// NewFrontDeskStatsStore returns the front-desk figures store.
func NewFrontDeskStatsStore(db *DB) *FrontDeskStatsStore { return &FrontDeskStatsStore{db: db} }

var _ frontdesk.Store = (*FrontDeskStatsStore)(nil)

// Zone loads a property's time zone.
func (s *FrontDeskStatsStore) Zone(ctx context.Context, propertyID string) (*time.Location, error) {
	return propertyZone(ctx, s.db, propertyID)
}

// Visitors counts the visits that arrived in [from, to), in total and per
// local day.
func (s *FrontDeskStatsStore) Visitors(ctx context.Context, propertyID string, from, to time.Time, loc *time.Location) (int, int, []frontdesk.Day, error) {
	days := []frontdesk.Day{}
	err := sqlx.SelectContext(ctx, s.db, &days, `SELECT to_char((arrived_at AT TIME ZONE $4)::date, 'YYYY-MM-DD') AS day, count(*) AS visitors,
count(*) FILTER (WHERE NOT walk_in) AS pre_registered, count(*) FILTER (WHERE walk_in) AS walk_ins
FROM visits WHERE property_id = $1 AND arrived_at >= $2 AND arrived_at < $3 GROUP BY 1 ORDER BY 1`, propertyID, from, to, loc.String())
	if err != nil {
		return 0, 0, nil, mapErr(err)
	}
	total, pre := 0, 0
	for _, d := range days {
		total += d.Visitors
		pre += d.PreRegistered
	}
	return total, pre, days, nil
}

// HandBacks measures the ID hand-back of the registrations that arrived in
// [from, to): overall, by guard and by post.
func (s *FrontDeskStatsStore) HandBacks(ctx context.Context, propertyID string, from, to time.Time, target time.Duration) (frontdesk.HandBack, []frontdesk.HandBack, []frontdesk.HandBack, error) {
	rows := []struct {
		frontdesk.HandBack
		Grouping string `db:"grouping"`
	}{}
	err := sqlx.SelectContext(ctx, s.db, &rows, `WITH h AS (
  SELECT guard_id, post_id, EXTRACT(EPOCH FROM id_returned_at - id_taken_at)::float8 AS secs
  FROM visits WHERE property_id = $1 AND arrived_at >= $2 AND arrived_at < $3 AND id_taken_at IS NOT NULL)
SELECT CASE WHEN GROUPING(guard_id) = 0 THEN 'guard' WHEN GROUPING(post_id) = 0 THEN 'post' ELSE 'all' END AS grouping,
  COALESCE(guard_id::text, post_id::text, '') AS key,
  count(*) AS taken, count(secs) AS returned,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS median_seconds,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY secs) AS p90_seconds,
  count(*) FILTER (WHERE secs <= $4) AS within
FROM h GROUP BY GROUPING SETS ((), (guard_id), (post_id)) ORDER BY 1, 2`, propertyID, from, to, target.Seconds())
	if err != nil {
		return frontdesk.HandBack{}, nil, nil, mapErr(err)
	}
	var all frontdesk.HandBack
	byGuard, byPost := []frontdesk.HandBack{}, []frontdesk.HandBack{}
	for _, r := range rows {
		switch r.Grouping {
		case "all":
			all = r.HandBack
		case "guard":
			byGuard = append(byGuard, r.HandBack)
		case "post":
			if r.Key != "" {
				byPost = append(byPost, r.HandBack)
			}
		}
	}
	return all, byGuard, byPost, nil
}

// Answers counts the walk-ins that arrived in [from, to) by answer, and
// how long the answered ones took.
func (s *FrontDeskStatsStore) Answers(ctx context.Context, propertyID string, from, to time.Time) (frontdesk.Answers, error) {
	var a frontdesk.Answers
	err := get(ctx, s.db, &a, `SELECT count(*) AS walk_ins,
count(*) FILTER (WHERE answer = 'ADMITTED') AS admitted, count(*) FILTER (WHERE answer = 'DECLINED') AS declined,
count(*) FILTER (WHERE answer = 'UNANSWERED') AS unanswered, count(*) FILTER (WHERE answer = 'PENDING') AS pending,
percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM answered_at - arrived_at)::float8) AS median_seconds,
percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM answered_at - arrived_at)::float8) AS p90_seconds
FROM visits WHERE property_id = $1 AND walk_in AND arrived_at >= $2 AND arrived_at < $3`, propertyID, from, to)
	return a, err
}

// Greeting counts the greeting windows that started in [from, to) by how
// they went, as of now.
func (s *FrontDeskStatsStore) Greeting(ctx context.Context, propertyID string, from, to, now time.Time) (frontdesk.Greeting, error) {
	var g frontdesk.Greeting
	err := get(ctx, s.db, &g, `SELECT count(*) AS windows,
count(*) FILTER (WHERE checked_in_at <= starts_at) AS staffed,
count(*) FILTER (WHERE checked_in_at > starts_at) AS late,
count(*) FILTER (WHERE checked_in_at IS NULL AND ends_at <= $4) AS missed,
count(*) FILTER (WHERE checked_in_at IS NULL AND ends_at > $4) AS upcoming
FROM greeting_duties WHERE property_id = $1 AND starts_at >= $2 AND starts_at < $3`, propertyID, from, to, now)
	return g, err
}

// Standing reads each post's standing windows and the check-ins that
// overlap [from, to); a check-in still open runs until now.
func (s *FrontDeskStatsStore) Standing(ctx context.Context, propertyID string, from, to, now time.Time) ([]frontdesk.Standing, error) {
	var posts []struct {
		ID       string         `db:"id"`
		Standing pq.StringArray `db:"standing"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &posts, `SELECT id, standing FROM guard_posts WHERE property_id = $1 ORDER BY code`, propertyID); err != nil {
		return nil, mapErr(err)
	}
	var checks []struct {
		PostID string    `db:"post_id"`
		In     time.Time `db:"checked_in_at"`
		Out    time.Time `db:"out"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &checks, `SELECT c.post_id, c.checked_in_at, COALESCE(c.checked_out_at, $4) AS out
FROM post_checkins c JOIN guard_posts gp ON gp.id = c.post_id
WHERE gp.property_id = $1 AND c.checked_in_at < $3 AND COALESCE(c.checked_out_at, $4) > $2`, propertyID, from, to, now); err != nil {
		return nil, mapErr(err)
	}
	out := make([]frontdesk.Standing, len(posts))
	idx := map[string]int{}
	for i, p := range posts {
		out[i] = frontdesk.Standing{PostID: p.ID, Windows: p.Standing}
		idx[p.ID] = i
	}
	for _, c := range checks {
		i := idx[c.PostID]
		out[i].CheckIns = append(out[i].CheckIns, [2]time.Time{c.In, c.Out})
	}
	return out, nil
}
