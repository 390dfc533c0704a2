package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/portfolio"
	"github.com/kproperty/onestop/internal/promiseclock"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

func (t requestTx) CurrentButler(ctx context.Context, unitID string, at time.Time) (*string, error) {
	var id string
	err := t.getFixed(ctx, &id, `SELECT butler_id FROM butler_assignments
WHERE unit_id = $1 AND from_at <= $2 AND (to_at IS NULL OR to_at > $2) ORDER BY from_at DESC LIMIT 1`, unitID, at)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	return &id, err
}

func (t requestTx) StaffWithRole(ctx context.Context, propertyID string, roles ...person.Role) ([]string, error) {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	ids := []string{}
	err := t.selectFixed(ctx, &ids, `SELECT person_id FROM staff_roles WHERE property_id = $1 AND role = ANY($2) ORDER BY person_id`,
		propertyID, pq.Array(names))
	return ids, err
}

func (t requestTx) PromiseSettings(ctx context.Context, propertyID string) (property.PromiseSettings, error) {
	return readPromiseSettings(ctx, t.getFixed, propertyID, "")
}

// readPromiseSettings reads a property's promise clock rules with get; lock
// is appended to the query (e.g. FOR UPDATE).
func readPromiseSettings(ctx context.Context, get func(context.Context, any, string, ...any) error, propertyID, lock string) (property.PromiseSettings, error) {
	var row struct {
		Open          string        `db:"open"`
		Close         string        `db:"close"`
		Days          pq.Int64Array `db:"days"`
		WarnFraction  float64       `db:"warn_fraction"`
		DirectorAfter int           `db:"director_after_minutes"`
	}
	err := get(ctx, &row, `SELECT to_char(business_open, 'HH24:MI') AS open, to_char(business_close, 'HH24:MI') AS close,
	business_days AS days, warn_fraction, director_after_minutes FROM properties WHERE id = $1 `+lock, propertyID)
	if err != nil {
		return property.PromiseSettings{}, err
	}
	ps := property.PromiseSettings{WarnFraction: row.WarnFraction, DirectorAfter: time.Duration(row.DirectorAfter) * time.Minute}
	ps.Open, ps.Close = clockOffset(row.Open), clockOffset(row.Close)
	for _, d := range row.Days {
		ps.Days = append(ps.Days, time.Weekday(d%7)) // ISO Sunday is 7
	}
	return ps, nil
}

func clockOffset(hhmm string) time.Duration {
	var h, m int
	fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
}

func (t requestTx) DispatchRule(ctx context.Context, propertyID, categoryID string) (dispatch.Rule, error) {
	var r dispatch.Rule
	// The category's own rule wins over the property's default.
	err := get(ctx, t.q, &r, `SELECT property_id, category_id, mode, role, max_open_jobs FROM dispatch_rules
WHERE property_id = $1 AND (category_id = $2 OR category_id IS NULL)
ORDER BY category_id IS NULL LIMIT 1`, propertyID, categoryID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return dispatch.ManualRule, nil
	}
	return r, err
}

// dispatchLockBase keys the advisory lock that serializes automatic
// dispatch per property, so two jobs accepted at once cannot both take a
// worker's last free slot.
const dispatchLockBase = 727100

func (t requestTx) PickWorker(ctx context.Context, r *request.Request, rule dispatch.Rule, skill *string) (*string, error) {
	if _, err := t.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, dispatchLockBase, r.PropertyID); err != nil {
		return nil, mapErr(err)
	}
	var id string
	err := get(ctx, t.q, &id, `
SELECT s.person_id FROM staff_roles s
CROSS JOIN LATERAL (SELECT count(*) AS open FROM service_requests o
	WHERE o.assignee_id = s.person_id AND o.status IN ('ASSIGNED', 'IN_PROGRESS')) jobs
WHERE s.property_id = $1 AND s.role = $2 AND s.availability = 'AVAILABLE'
  AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM staff_skills k WHERE k.person_id = s.person_id AND k.skill = $3))
  AND jobs.open < $4
ORDER BY jobs.open, (s.zone_building_id IS NOT DISTINCT FROM (SELECT building_id FROM units WHERE id = $5)) DESC, s.person_id
LIMIT 1`, r.PropertyID, string(rule.Role), skill, rule.MaxOpenJobs, r.UnitID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	return &id, err
}

func (t requestTx) SetAvailability(ctx context.Context, personID string, a dispatch.Availability, onlyIf *dispatch.Availability) error {
	_, err := t.q.ExecContext(ctx, `UPDATE staff_roles SET availability = $2 WHERE person_id = $1 AND ($3::text IS NULL OR availability = $3)`,
		personID, string(a), (*string)(onlyIf))
	return mapErr(err)
}

func (t requestTx) FreeIfIdle(ctx context.Context, people []string) error {
	if len(people) == 0 {
		return nil
	}
	_, err := t.q.ExecContext(ctx, `UPDATE staff_roles s SET availability = 'AVAILABLE'
WHERE s.person_id = ANY($1::uuid[]) AND s.availability = 'BUSY'
  AND NOT EXISTS (SELECT 1 FROM service_requests r WHERE r.assignee_id = s.person_id AND r.status = 'IN_PROGRESS')`, pq.Array(people))
	return mapErr(err)
}

const runningSQL = `NOT r.on_hold AND r.status IN ('ACCEPTED', 'ASSIGNED', 'IN_PROGRESS')`

func (t requestTx) Due(ctx context.Context, step promiseclock.Step, now time.Time, limit int) ([]*request.Request, error) {
	var where string
	switch step {
	case promiseclock.StepResume:
		where = `r.on_hold AND r.hold_until <= $1 AND r.status IN ('ACCEPTED', 'ASSIGNED', 'IN_PROGRESS')`
	case promiseclock.StepWarn:
		where = `r.warned_at IS NULL AND r.warn_at <= $1 AND ` + runningSQL
	case promiseclock.StepBreach:
		where = `r.breached_at IS NULL AND r.due_at <= $1 AND ` + runningSQL
	case promiseclock.StepDirector:
		where = `r.escalation_level = 1 AND ` + runningSQL + ` AND r.escalated_at + make_interval(mins => (SELECT director_after_minutes FROM properties p WHERE p.id = r.property_id)) <= $1`
	default:
		return nil, fmt.Errorf("unknown clock step %q", step)
	}
	rows := []*request.Request{}
	err := sqlx.SelectContext(ctx, t.q, &rows, `SELECT `+requestCols+` FROM service_requests r WHERE `+where+`
ORDER BY r.id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
	return rows, mapErr(err)
}

func (t requestTx) OpenRequestsOfUnit(ctx context.Context, unitID string) ([]*request.Request, error) {
	rows := []*request.Request{}
	err := sqlx.SelectContext(ctx, t.q, &rows, `SELECT `+requestCols+` FROM service_requests r
WHERE r.unit_id = $1 AND r.status NOT IN ('CONFIRMED', 'CLOSED', 'CANCELLED') ORDER BY r.created_at FOR UPDATE`, unitID)
	return rows, mapErr(err)
}

func (t requestTx) HandOverPortfolio(ctx context.Context, unitID, butlerID, by string, from time.Time) (*string, error) {
	var prev *string
	err := get(ctx, t.q, &prev, `WITH closed AS (
	UPDATE butler_assignments SET to_at = GREATEST($2::timestamptz, from_at + interval '1 second')
	WHERE unit_id = $1 AND to_at IS NULL RETURNING butler_id)
SELECT (SELECT butler_id FROM closed)`, unitID, from)
	if err != nil {
		return nil, err
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO butler_assignments (unit_id, butler_id, from_at, assigned_by) VALUES ($1, $2, $3, $4)`,
		unitID, butlerID, from, by)
	if err == nil && prev != nil {
		t.loseSight(*prev)
	}
	return prev, mapErr(err)
}

func (t requestTx) AddVisit(ctx context.Context, v portfolio.Visit) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO butler_visits (id, unit_id, butler_id, note, at) VALUES ($1, $2, $3, $4, $5)`,
		v.ID, v.UnitID, v.ButlerID, v.Note, v.At)
	return mapErr(err)
}

// DispatchStore implements dispatch.Store.
type DispatchStore struct{ db *DB }

// NewDispatchStore returns the dispatch store.
func NewDispatchStore(db *DB) *DispatchStore { return &DispatchStore{db: db} }

// SetAvailability sets a person's availability at every property.
func (s *DispatchStore) SetAvailability(ctx context.Context, personID string, a dispatch.Availability) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE staff_roles SET availability = $2 WHERE person_id = $1`, personID, string(a))
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// AvailabilityOf returns a person's availability, nil for non-staff.
func (s *DispatchStore) AvailabilityOf(ctx context.Context, personID string) (*dispatch.Availability, error) {
	var a dispatch.Availability
	err := get(ctx, s.db, &a, `SELECT availability FROM staff_roles WHERE person_id = $1 ORDER BY property_id LIMIT 1`, personID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	return &a, err
}

// SaveRule creates or replaces a dispatch rule and records it. The
// property is locked (FOR NO KEY UPDATE, which new requests' foreign keys
// do not wait for) so that two managers setting the same rule at once each
// record the rule the other left, not both the one before.
func (s *DispatchStore) SaveRule(ctx context.Context, r dispatch.Rule, record func(audit.Writer, *dispatch.Rule) error) error {
	return mapErr(s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM properties WHERE id = $1 FOR NO KEY UPDATE`, r.PropertyID); err != nil {
			return err
		}
		var before []dispatch.Rule
		if err := sqlx.SelectContext(ctx, tx, &before, `SELECT property_id, category_id, mode, role, max_open_jobs FROM dispatch_rules
WHERE property_id = $1 AND category_id IS NOT DISTINCT FROM $2`, r.PropertyID, r.CategoryID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO dispatch_rules (property_id, category_id, mode, role, max_open_jobs)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (property_id, COALESCE(category_id, '00000000-0000-0000-0000-000000000000'))
DO UPDATE SET mode = EXCLUDED.mode, role = EXCLUDED.role, max_open_jobs = EXCLUDED.max_open_jobs`,
			r.PropertyID, r.CategoryID, string(r.Mode), string(r.Role), r.MaxOpenJobs)
		if err != nil {
			return err
		}
		var prev *dispatch.Rule
		if len(before) > 0 {
			prev = &before[0]
		}
		return record(requestTx{q: tx}, prev)
	}))
}

// RemoveRule deletes a dispatch rule and records it.
func (s *DispatchStore) RemoveRule(ctx context.Context, propertyID string, categoryID *string, record func(audit.Writer, dispatch.Rule) error) (bool, error) {
	removed := false
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var gone []dispatch.Rule
		if err := sqlx.SelectContext(ctx, tx, &gone, `DELETE FROM dispatch_rules WHERE property_id = $1 AND category_id IS NOT DISTINCT FROM $2::uuid
RETURNING property_id, category_id, mode, role, max_open_jobs`, propertyID, categoryID); err != nil {
			return err
		}
		if len(gone) == 0 {
			return nil
		}
		removed = true
		return record(requestTx{q: tx}, gone[0])
	})
	return removed, mapErr(err)
}

// Rules lists a property's dispatch rules, the default first.
func (s *DispatchStore) Rules(ctx context.Context, propertyID string) ([]dispatch.Rule, error) {
	out := []dispatch.Rule{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT property_id, category_id, mode, role, max_open_jobs FROM dispatch_rules
WHERE property_id = $1 ORDER BY category_id IS NOT NULL, category_id`, propertyID)
	return out, mapErr(err)
}

// CategoryProperty returns the property of a category.
func (s *DispatchStore) CategoryProperty(ctx context.Context, categoryID string) (string, error) {
	var id string
	err := get(ctx, s.db, &id, `SELECT property_id FROM service_categories WHERE id = $1`, categoryID)
	return id, err
}

// SettingsStore implements property.SettingsStore.
type SettingsStore struct{ db *DB }

// NewSettingsStore returns the property settings store.
func NewSettingsStore(db *DB) *SettingsStore { return &SettingsStore{db: db} }

// PromiseSettings reads a property's promise clock rules.
func (s *SettingsStore) PromiseSettings(ctx context.Context, propertyID string) (property.PromiseSettings, error) {
	return requestTx{q: s.db}.PromiseSettings(ctx, propertyID)
}

// UpdatePromiseSettings reads a property's promise clock rules with its
// row locked, lets change edit them, and writes the result before the lock
// is released: a concurrent update waits and then reads this one's result,
// so neither loses the other's change.
func (s *SettingsStore) UpdatePromiseSettings(ctx context.Context, propertyID string, change func(audit.Writer, property.PromiseSettings) (property.PromiseSettings, error)) (property.PromiseSettings, error) {
	var out property.PromiseSettings
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := readPromiseSettings(ctx, requestTx{q: tx}.getFixed, propertyID, "FOR UPDATE")
		if err != nil {
			return err
		}
		if out, err = change(requestTx{q: tx}, cur); err != nil {
			return err
		}
		days := make([]int64, len(out.Days))
		for i, d := range out.Days {
			days[i] = int64(d)
			if d == time.Sunday {
				days[i] = 7 // stored as ISO weekdays
			}
		}
		hhmm := func(d time.Duration) string {
			return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
		}
		_, err = tx.ExecContext(ctx, `UPDATE properties SET business_open = $2::time, business_close = $3::time,
	business_days = $4, warn_fraction = $5, director_after_minutes = $6 WHERE id = $1`,
			propertyID, hhmm(out.Open), hhmm(out.Close), pq.Array(days), out.WarnFraction, int(out.DirectorAfter/time.Minute))
		return mapErr(err)
	})
	if err != nil {
		return property.PromiseSettings{}, err
	}
	return out, nil
}

// SaveProfile sets a worker's zone at a property and replaces their skills.
func (s *DispatchStore) SaveProfile(ctx context.Context, p dispatch.Profile, record func(audit.Writer, dispatch.Profile) error) (bool, error) {
	ok := false
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		// The row as it was, locked: the audit entry's before.
		var cur []struct {
			Zone   *string        `db:"zone_building_id"`
			Skills pq.StringArray `db:"skills"`
		}
		if err := sqlx.SelectContext(ctx, tx, &cur, `SELECT s.zone_building_id,
	COALESCE((SELECT array_agg(k.skill ORDER BY k.skill) FROM staff_skills k WHERE k.person_id = s.person_id), '{}') AS skills
FROM staff_roles s WHERE s.person_id = $1 AND s.property_id = $2 FOR UPDATE`, p.PersonID, p.PropertyID); err != nil {
			return err
		}
		if len(cur) == 0 {
			return nil
		}
		if p.ZoneBuildingID != nil {
			var n int
			if err := get(ctx, tx, &n, `SELECT count(*) FROM buildings WHERE id = $1 AND property_id = $2`, *p.ZoneBuildingID, p.PropertyID); err != nil {
				return err
			}
			if n == 0 {
				return apperr.Invalid("zoneBuildingId", "no such building at this property")
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE staff_roles SET zone_building_id = $3 WHERE person_id = $1 AND property_id = $2`,
			p.PersonID, p.PropertyID, p.ZoneBuildingID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		ok = true
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_skills WHERE person_id = $1`, p.PersonID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_skills (person_id, skill) SELECT $1, unnest($2::text[])`, p.PersonID, pq.Array(p.Skills)); err != nil {
			return err
		}
		return record(requestTx{q: tx}, dispatch.Profile{PersonID: p.PersonID, PropertyID: p.PropertyID, Skills: []string(cur[0].Skills), ZoneBuildingID: cur[0].Zone})
	})
	return ok, mapErr(err)
}
