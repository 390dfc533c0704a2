package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/duty"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/visitor"
)

// deskTx is one front-desk transaction: the visitor and duty nouns' Tx.
// Its notifications wait until the end and are written, under the outbox's
// ordering lock, just before commit, as the request outbox does.
type deskTx struct {
	tx    *sqlx.Tx
	notes []notification.Notification
}

var (
	_ visitor.Tx = (*deskTx)(nil)
	_ duty.Tx    = (*deskTx)(nil)
)

// Notify stages notifications for the flush before commit.
func (t *deskTx) Notify(ns ...notification.Notification) { t.notes = append(t.notes, ns...) }

type deskNoteRow struct {
	PersonID  string    `json:"person_id"`
	Kind      string    `json:"kind"`
	VisitID   *string   `json:"visit_id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func (t *deskTx) flush(ctx context.Context) error {
	if len(t.notes) == 0 {
		return nil
	}
	if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, outboxLockKey); err != nil {
		return mapErr(err)
	}
	rows := make([]deskNoteRow, len(t.notes))
	for i, n := range t.notes {
		rows[i] = deskNoteRow{PersonID: n.PersonID, Kind: string(n.Kind), VisitID: n.VisitID, Title: n.Title, Body: n.Body, CreatedAt: n.CreatedAt}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO notifications (person_id, kind, visit_id, title, body, created_at, push_next_at)
SELECT y.person_id, y.kind, y.visit_id, y.title, y.body, y.created_at, y.created_at
FROM jsonb_to_recordset($1::jsonb) AS y(person_id uuid, kind text, visit_id uuid, title text, body text, created_at timestamptz)`, string(b))
	return mapErr(err)
}

func deskInTx(ctx context.Context, db *DB, fn func(*deskTx) error, wrote func()) error {
	notified := false
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		t := &deskTx{tx: tx}
		if err := fn(t); err != nil {
			return err
		}
		notified = len(t.notes) > 0
		return t.flush(ctx)
	})
	if err == nil && notified && wrote != nil {
		// Rung after commit: the live path reads the new notifications at
		// once instead of at its next poll.
		wrote()
	}
	return err
}

// VisitorStore implements visitor.Store.
type VisitorStore struct {
	db *DB
	// Notified, if set, is rung after a transaction that wrote
	// notifications has committed.
	Notified func()
}

// NewVisitorStore returns the visitor store.
func NewVisitorStore(db *DB) *VisitorStore { return &VisitorStore{db: db} }

var _ visitor.Store = (*VisitorStore)(nil)

// InTx runs fn in one transaction.
func (s *VisitorStore) InTx(ctx context.Context, fn func(visitor.Tx) error) error {
	return deskInTx(ctx, s.db, func(t *deskTx) error { return fn(t) }, s.Notified)
}

const passCols = `id, property_id, unit_id, created_by, code, visitor_name, phone, expected_from, expected_to, party_size, car_plate, purpose, status, created_at, cancelled_at`

const visitCols = `v.id, v.property_id, v.unit_id, v.pass_id, v.guard_id, v.post_id, v.visitor_name, v.party_size, v.car_plate, v.purpose,
v.id_type, v.id_last4, v.id_taken_at, v.id_returned_at, v.walk_in, v.answer, v.answered_by, v.answered_at, v.do_not_admit,
v.arrived_at, v.departed_at, v.purged_at, u.code AS unit_code`

// PassesOfUnits lists the households' passes, latest expected first.
func (s *VisitorStore) PassesOfUnits(ctx context.Context, unitIDs []string, limit int) ([]visitor.Pass, error) {
	out := []visitor.Pass{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+passCols+` FROM visitor_passes
WHERE unit_id = ANY($1::uuid[]) ORDER BY expected_from DESC, id LIMIT $2`, pq.Array(unitIDs), limit)
	return out, mapErr(err)
}

// Log lists a property's visits, newest first.
func (s *VisitorStore) Log(ctx context.Context, f visitor.LogFilter) ([]visitor.Visit, error) {
	out := []visitor.Visit{}
	var name *string
	if f.Name != nil {
		n := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(*f.Name) + "%"
		name = &n
	}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+visitCols+` FROM visits v JOIN units u ON u.id = v.unit_id
WHERE v.property_id = $1 AND v.arrived_at >= $2 AND v.arrived_at < $3
  AND ($4::uuid IS NULL OR v.unit_id = $4::uuid) AND ($5::text IS NULL OR v.visitor_name ILIKE $5)
ORDER BY v.arrived_at DESC, v.id LIMIT $6`, f.PropertyID, f.From, f.To, f.UnitID, name, f.Limit)
	return out, mapErr(err)
}

// Visit reads one visit.
func (s *VisitorStore) Visit(ctx context.Context, id string) (visitor.Visit, error) {
	var v visitor.Visit
	err := get(ctx, s.db, &v, `SELECT `+visitCols+` FROM visits v JOIN units u ON u.id = v.unit_id WHERE v.id = $1`, id)
	return v, err
}

// DoNotAdmitList is a household's list, by name.
func (s *VisitorStore) DoNotAdmitList(ctx context.Context, unitID string) ([]visitor.Barred, error) {
	out := []visitor.Barred{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT id, unit_id, name, note, created_at FROM do_not_admit WHERE unit_id = $1 ORDER BY lower(name) LIMIT 100`, unitID)
	return out, mapErr(err)
}

// PropertyZone loads a property's time zone.
func (s *VisitorStore) PropertyZone(ctx context.Context, propertyID string) (*time.Location, error) {
	return propertyZone(ctx, s.db, propertyID)
}

func propertyZone(ctx context.Context, q sqlx.QueryerContext, propertyID string) (*time.Location, error) {
	var tz string
	if err := get(ctx, q, &tz, `SELECT time_zone FROM properties WHERE id = $1`, propertyID); err != nil {
		return nil, err
	}
	return property.LoadTimeZone(tz)
}

// Purge clears the personal data of visits and passes past each
// property's retention period (90 days without a setting).
func (s *VisitorStore) Purge(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE visits v SET visitor_name = NULL, car_plate = NULL, purpose = NULL, id_last4 = NULL, purged_at = $1
FROM properties p LEFT JOIN front_desk_settings fs ON fs.property_id = p.id
WHERE v.property_id = p.id AND v.purged_at IS NULL
  AND v.arrived_at < $1::timestamptz - make_interval(days => COALESCE(fs.retention_days, 90))`, now)
		if err != nil {
			return mapErr(err)
		}
		a, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `UPDATE visitor_passes vp SET visitor_name = NULL, phone = NULL, car_plate = NULL, purpose = NULL, purged_at = $1
FROM properties p LEFT JOIN front_desk_settings fs ON fs.property_id = p.id
WHERE vp.property_id = p.id AND vp.purged_at IS NULL
  AND vp.expected_to < $1::timestamptz - make_interval(days => COALESCE(fs.retention_days, 90))`, now)
		if err != nil {
			return mapErr(err)
		}
		b, _ := res.RowsAffected()
		n = int(a + b)
		return nil
	})
	return n, err
}

// UnitProperty answers a unit's property and door number.
func (t *deskTx) UnitProperty(ctx context.Context, unitID string) (string, string, error) {
	var r struct {
		P string `db:"property_id"`
		C string `db:"code"`
	}
	err := get(ctx, t.tx, &r, `SELECT property_id, code FROM units WHERE id = $1`, unitID)
	return r.P, r.C, err
}

// UnitByCode finds a property's unit by its door number.
func (t *deskTx) UnitByCode(ctx context.Context, propertyID, code string) (string, error) {
	var id string
	err := get(ctx, t.tx, &id, `SELECT id FROM units WHERE property_id = $1 AND upper(code) = $2`, propertyID, code)
	return id, err
}

// CodeTaken reports whether a pass code is in use at the property.
func (t *deskTx) CodeTaken(ctx context.Context, propertyID, code string) (bool, error) {
	var n int
	err := get(ctx, t.tx, &n, `SELECT count(*) FROM visitor_passes WHERE property_id = $1 AND code = $2`, propertyID, code)
	return n > 0, err
}

// InsertPass writes a new pass.
func (t *deskTx) InsertPass(ctx context.Context, p *visitor.Pass) error {
	return get(ctx, t.tx, &p.ID, `INSERT INTO visitor_passes (property_id, unit_id, created_by, code, visitor_name, phone, expected_from, expected_to,
party_size, car_plate, purpose, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		p.PropertyID, p.UnitID, p.CreatedBy, p.Code, p.VisitorName, p.Phone, p.ExpectedFrom, p.ExpectedTo, p.PartySize, p.CarPlate, p.Purpose, p.Status, p.CreatedAt)
}

// PassForUpdate reads and locks a pass by id, or by code at a property.
func (t *deskTx) PassForUpdate(ctx context.Context, id, propertyID, code string) (visitor.Pass, error) {
	var p visitor.Pass
	if id != "" {
		return p, get(ctx, t.tx, &p, `SELECT `+passCols+` FROM visitor_passes WHERE id = $1 FOR UPDATE`, id)
	}
	return p, get(ctx, t.tx, &p, `SELECT `+passCols+` FROM visitor_passes WHERE property_id = $1 AND code = $2 FOR UPDATE`, propertyID, code)
}

// SetPassStatus moves a pass.
func (t *deskTx) SetPassStatus(ctx context.Context, id string, st visitor.PassStatus, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE visitor_passes SET status = $2,
cancelled_at = CASE WHEN $2 = 'CANCELLED' THEN $3::timestamptz ELSE cancelled_at END WHERE id = $1`, id, st, at)
	return mapErr(err)
}

// InsertVisit writes a new visit.
func (t *deskTx) InsertVisit(ctx context.Context, v *visitor.Visit) error {
	return get(ctx, t.tx, &v.ID, `INSERT INTO visits (property_id, unit_id, pass_id, guard_id, post_id, visitor_name, party_size, car_plate, purpose,
id_type, id_last4, id_taken_at, walk_in, answer, do_not_admit, arrived_at)
SELECT $1, $2, $3, $4, gp.id, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
FROM (SELECT 1) one LEFT JOIN guard_posts gp ON gp.id = $5::uuid AND gp.property_id = $1
WHERE $5::uuid IS NULL OR gp.id IS NOT NULL
RETURNING id`, v.PropertyID, v.UnitID, v.PassID, v.GuardID, v.PostID, v.VisitorName, v.PartySize, v.CarPlate, v.Purpose,
		v.IDType, v.IDLast4, v.IDTakenAt, v.WalkIn, v.Answer, v.DoNotAdmit, v.ArrivedAt)
}

// VisitForUpdate reads and locks a visit.
func (t *deskTx) VisitForUpdate(ctx context.Context, id string) (visitor.Visit, error) {
	var v visitor.Visit
	err := get(ctx, t.tx, &v, `SELECT `+visitCols+` FROM visits v JOIN units u ON u.id = v.unit_id WHERE v.id = $1 FOR UPDATE OF v`, id)
	return v, err
}

// UpdateVisit writes what changes on a visit after arrival.
func (t *deskTx) UpdateVisit(ctx context.Context, v visitor.Visit) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE visits SET id_returned_at = $2, answer = $3, answered_by = $4, answered_at = $5, departed_at = $6
WHERE id = $1`, v.ID, v.IDReturnedAt, v.Answer, v.AnsweredBy, v.AnsweredAt, v.DepartedAt)
	return mapErr(err)
}

// Barred reports whether the name is on the household's list.
func (t *deskTx) Barred(ctx context.Context, unitID, name string) (bool, error) {
	var n int
	err := get(ctx, t.tx, &n, `SELECT count(*) FROM do_not_admit WHERE unit_id = $1 AND lower(name) = lower($2)`, unitID, strings.TrimSpace(name))
	return n > 0, err
}

// AddBarred adds a name to the household's list (again: the note changes).
func (t *deskTx) AddBarred(ctx context.Context, b *visitor.Barred, by string) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO do_not_admit (unit_id, name, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (unit_id, lower(name)) DO UPDATE SET note = EXCLUDED.note`, b.UnitID, b.Name, b.Note, by, b.CreatedAt)
	return mapErr(err)
}

// RemoveBarred takes a name off the household's list.
func (t *deskTx) RemoveBarred(ctx context.Context, unitID, name string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM do_not_admit WHERE unit_id = $1 AND lower(name) = lower($2)`, unitID, name)
	return mapErr(err)
}

// Residents lists the people of a household.
func (t *deskTx) Residents(ctx context.Context, unitID string) ([]string, error) {
	out := []string{}
	err := sqlx.SelectContext(ctx, t.tx, &out, `SELECT person_id FROM residencies WHERE unit_id = $1 ORDER BY person_id`, unitID)
	return out, mapErr(err)
}

// Settings reads a property's front-desk settings, the defaults if unset.
func (t *deskTx) Settings(ctx context.Context, propertyID string) (visitor.Settings, error) {
	var st visitor.Settings
	err := get(ctx, t.tx, &st, `SELECT COALESCE(fs.retention_days, 90) AS retention_days, COALESCE(fs.answer_timeout_seconds, 120) AS answer_timeout_seconds
FROM properties p LEFT JOIN front_desk_settings fs ON fs.property_id = p.id WHERE p.id = $1`, propertyID)
	return st, err
}

// SaveSettings writes a property's retention period and answer time.
func (t *deskTx) SaveSettings(ctx context.Context, propertyID string, st visitor.Settings) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO front_desk_settings (property_id, retention_days, answer_timeout_seconds) VALUES ($1, $2, $3)
ON CONFLICT (property_id) DO UPDATE SET retention_days = EXCLUDED.retention_days, answer_timeout_seconds = EXCLUDED.answer_timeout_seconds`,
		propertyID, st.RetentionDays, st.AnswerTimeoutSeconds)
	return mapErr(err)
}

// DueUnanswered locks the walk-ins past their property's answer time.
func (t *deskTx) DueUnanswered(ctx context.Context, now time.Time, limit int) ([]visitor.Visit, error) {
	out := []visitor.Visit{}
	err := sqlx.SelectContext(ctx, t.tx, &out, `SELECT `+visitCols+` FROM visits v JOIN units u ON u.id = v.unit_id
LEFT JOIN front_desk_settings fs ON fs.property_id = v.property_id
WHERE v.answer = 'PENDING' AND v.arrived_at + make_interval(secs => COALESCE(fs.answer_timeout_seconds, 120)) <= $1
ORDER BY v.arrived_at LIMIT $2 FOR UPDATE OF v SKIP LOCKED`, now, limit)
	return out, mapErr(err)
}

// DutyStore implements duty.Store.
type DutyStore struct {
	db *DB
	// Notified, if set, is rung after a transaction that wrote
	// notifications has committed.
	Notified func()
}

// NewDutyStore returns the duty store.
func NewDutyStore(db *DB) *DutyStore { return &DutyStore{db: db} }

var _ duty.Store = (*DutyStore)(nil)

// InTx runs fn in one transaction.
func (s *DutyStore) InTx(ctx context.Context, fn func(duty.Tx) error) error {
	return deskInTx(ctx, s.db, func(t *deskTx) error { return fn(t) }, s.Notified)
}

// Posts lists a property's posts with who is checked in at each.
func (s *DutyStore) Posts(ctx context.Context, propertyID string) ([]duty.Post, error) {
	var rows []struct {
		duty.Post
		Standing pq.StringArray `db:"standing"`
		OnDuty   pq.StringArray `db:"on_duty"`
	}
	err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT gp.id, gp.property_id, gp.code, gp.name, gp.kind, gp.standing,
ARRAY(SELECT c.guard_id::text FROM post_checkins c WHERE c.post_id = gp.id AND c.checked_out_at IS NULL ORDER BY c.checked_in_at LIMIT 20) AS on_duty
FROM guard_posts gp WHERE gp.property_id = $1 ORDER BY gp.code LIMIT 50`, propertyID)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]duty.Post, len(rows))
	for i, r := range rows {
		out[i] = r.Post
		out[i].Standing, out[i].OnDuty = []string(r.Standing), []string(r.OnDuty)
	}
	return out, nil
}

// PostByID reads one post.
func (s *DutyStore) PostByID(ctx context.Context, id string) (duty.Post, error) {
	var r struct {
		duty.Post
		Standing pq.StringArray `db:"standing"`
	}
	err := get(ctx, s.db, &r, `SELECT id, property_id, code, name, kind, standing FROM guard_posts WHERE id = $1`, id)
	r.Post.Standing = []string(r.Standing)
	return r.Post, err
}

const dutyCols = `id, property_id, day, starts_at, ends_at, person_id, checked_in_at`

// Duties lists a property's greeting windows starting in [from, to).
func (s *DutyStore) Duties(ctx context.Context, propertyID string, from, to time.Time) ([]duty.Duty, error) {
	out := []duty.Duty{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+dutyCols+` FROM greeting_duties
WHERE property_id = $1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at`, propertyID, from, to)
	return out, mapErr(err)
}

// Window reads a property's greeting window. Without a setting, an office
// building greets in the half hour before a 09:00 working day on working
// days only, and a residential estate in the evening return peak from
// 18:30, every day.
func (s *DutyStore) Window(ctx context.Context, propertyID string) (duty.Window, error) {
	return s.windowTx(ctx, s.db, propertyID)
}

func (s *DutyStore) windowTx(ctx context.Context, q sqlx.QueryerContext, propertyID string) (duty.Window, error) {
	var r struct {
		TZ       string         `db:"time_zone"`
		Weekday  sql.NullString `db:"weekday_start"`
		Holiday  sql.NullString `db:"holiday_start"`
		Minutes  int            `db:"minutes"`
		Point    string         `db:"point"`
		Holidays pq.StringArray `db:"holidays"`
	}
	err := get(ctx, q, &r, `SELECT p.time_zone,
CASE WHEN fs.greeting_set THEN to_char(fs.greeting_weekday_start, 'HH24:MI')
     WHEN p.kind = 'OFFICE' THEN '08:30' ELSE '18:30' END AS weekday_start,
CASE WHEN fs.greeting_set THEN to_char(fs.greeting_holiday_start, 'HH24:MI')
     WHEN p.kind = 'OFFICE' THEN NULL ELSE '18:30' END AS holiday_start,
COALESCE(fs.greeting_minutes, 30) AS minutes, COALESCE(fs.greeting_point, 'Lobby') AS point,
COALESCE(fs.holidays::text[], '{}') AS holidays
FROM properties p LEFT JOIN front_desk_settings fs ON fs.property_id = p.id WHERE p.id = $1`, propertyID)
	if err != nil {
		return duty.Window{}, err
	}
	loc, err := property.LoadTimeZone(r.TZ)
	if err != nil {
		return duty.Window{}, err
	}
	w := duty.Window{Zone: loc, WeekdayStart: r.Weekday.String, HolidayStart: r.Holiday.String, Minutes: r.Minutes, Point: r.Point}
	for _, h := range r.Holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil {
			return duty.Window{}, err
		}
		w.Holidays = append(w.Holidays, d)
	}
	return w, nil
}

// SetGreetingWindow writes a property's greeting window setting (local
// "15:04" starts; nil: no window on such days).
func (s *DutyStore) SetGreetingWindow(ctx context.Context, propertyID string, weekday, holiday *string, minutes int, holidays []string, record func(audit.Writer, duty.Window) error) error {
	return mapErr(s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		// Changes of one property's window take turns, so each records the
		// window the other left (FOR NO KEY UPDATE: new rows' foreign keys
		// do not wait for it).
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM properties WHERE id = $1 FOR NO KEY UPDATE`, propertyID); err != nil {
			return err
		}
		before, err := s.windowTx(ctx, tx, propertyID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO front_desk_settings (property_id, greeting_set, greeting_weekday_start, greeting_holiday_start, greeting_minutes, holidays)
VALUES ($1, true, $2::time, $3::time, $4, $5::date[])
ON CONFLICT (property_id) DO UPDATE SET greeting_set = true, greeting_weekday_start = EXCLUDED.greeting_weekday_start, greeting_holiday_start = EXCLUDED.greeting_holiday_start,
greeting_minutes = EXCLUDED.greeting_minutes, holidays = EXCLUDED.holidays`,
			propertyID, weekday, holiday, minutes, pq.Array(holidays))
		if err != nil {
			return err
		}
		return record(requestTx{q: tx}, before)
	}))
}

// Post reads one post.
func (t *deskTx) Post(ctx context.Context, id string) (duty.Post, error) {
	var p duty.Post
	err := get(ctx, t.tx, &p, `SELECT id, property_id, code, name, kind FROM guard_posts WHERE id = $1`, id)
	return p, err
}

// OpenCheckIn is the guard's current check-in, if any, locked.
func (t *deskTx) OpenCheckIn(ctx context.Context, guardID string) (*duty.CheckIn, error) {
	var c duty.CheckIn
	err := sqlx.GetContext(ctx, t.tx, &c, `SELECT id, post_id, guard_id, checked_in_at, checked_out_at FROM post_checkins
WHERE guard_id = $1 AND checked_out_at IS NULL FOR UPDATE`, guardID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr(err)
	}
	return &c, nil
}

// InsertCheckIn writes a check-in.
func (t *deskTx) InsertCheckIn(ctx context.Context, c *duty.CheckIn) error {
	return get(ctx, t.tx, &c.ID, `INSERT INTO post_checkins (post_id, guard_id, checked_in_at) VALUES ($1, $2, $3) RETURNING id`, c.PostID, c.GuardID, c.CheckedInAt)
}

// CheckOut ends a check-in.
func (t *deskTx) CheckOut(ctx context.Context, id string, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE post_checkins SET checked_out_at = $2 WHERE id = $1`, id, at)
	return mapErr(err)
}

// RotaStaff lists the property's management staff with the greeting
// windows each has stood before the given time.
func (t *deskTx) RotaStaff(ctx context.Context, propertyID string, before time.Time) ([]duty.Load, error) {
	out := []duty.Load{}
	roles := make([]string, len(duty.RotaRoles))
	for i, r := range duty.RotaRoles {
		roles[i] = string(r)
	}
	err := sqlx.SelectContext(ctx, t.tx, &out, `SELECT sr.person_id,
(SELECT count(*) FROM greeting_duties d WHERE d.property_id = sr.property_id AND d.person_id = sr.person_id AND d.starts_at < $3) AS count
FROM staff_roles sr WHERE sr.property_id = $1 AND sr.role = ANY($2) ORDER BY sr.person_id`, propertyID, pq.Array(roles), before)
	return out, mapErr(err)
}

// DutiesBetween lists a property's greeting windows starting in [from, to).
func (t *deskTx) DutiesBetween(ctx context.Context, propertyID string, from, to time.Time) ([]duty.Duty, error) {
	out := []duty.Duty{}
	err := sqlx.SelectContext(ctx, t.tx, &out, `SELECT `+dutyCols+` FROM greeting_duties
WHERE property_id = $1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at FOR UPDATE`, propertyID, from, to)
	return out, mapErr(err)
}

// InsertDuty writes a greeting window.
func (t *deskTx) InsertDuty(ctx context.Context, d *duty.Duty) error {
	return get(ctx, t.tx, &d.ID, `INSERT INTO greeting_duties (property_id, day, starts_at, ends_at, person_id) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		d.PropertyID, d.Day.Format(time.DateOnly), d.StartsAt, d.EndsAt, d.PersonID)
}

// DutyForUpdate reads and locks a greeting window.
func (t *deskTx) DutyForUpdate(ctx context.Context, id string) (duty.Duty, error) {
	var d duty.Duty
	err := get(ctx, t.tx, &d, `SELECT `+dutyCols+` FROM greeting_duties WHERE id = $1 FOR UPDATE`, id)
	return d, err
}

// SetDutyPerson hands a window to someone else.
func (t *deskTx) SetDutyPerson(ctx context.Context, id, personID string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE greeting_duties SET person_id = $2 WHERE id = $1`, id, personID)
	return mapErr(err)
}

// SetCheckedIn records the check-in at the greeting point.
func (t *deskTx) SetCheckedIn(ctx context.Context, id string, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE greeting_duties SET checked_in_at = $2 WHERE id = $1`, id, at)
	return mapErr(err)
}

// InsertSwap writes a swap request.
func (t *deskTx) InsertSwap(ctx context.Context, sw *duty.Swap) error {
	return get(ctx, t.tx, &sw.ID, `INSERT INTO greeting_swaps (property_id, duty_id, with_duty_id, requested_by, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, sw.PropertyID, sw.DutyID, sw.WithDutyID, sw.RequestedBy, sw.Status, sw.CreatedAt)
}

// SwapForUpdate reads and locks a swap request.
func (t *deskTx) SwapForUpdate(ctx context.Context, id string) (duty.Swap, error) {
	var sw duty.Swap
	err := get(ctx, t.tx, &sw, `SELECT id, property_id, duty_id, with_duty_id, requested_by, status, decided_by, created_at, decided_at
FROM greeting_swaps WHERE id = $1 FOR UPDATE`, id)
	return sw, err
}

// DecideSwap records the manager's decision.
func (t *deskTx) DecideSwap(ctx context.Context, id, status, by string, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE greeting_swaps SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1`, id, status, by, at)
	return mapErr(err)
}

// Managers lists the property's managers and director.
func (t *deskTx) Managers(ctx context.Context, propertyID string) ([]string, error) {
	out := []string{}
	err := sqlx.SelectContext(ctx, t.tx, &out, `SELECT person_id FROM staff_roles WHERE property_id = $1 AND role IN ('MANAGER', 'DIRECTOR') ORDER BY person_id`, propertyID)
	return out, mapErr(err)
}

// DueReminders marks and answers the windows starting within before.
func (t *deskTx) DueReminders(ctx context.Context, now time.Time, before time.Duration, limit int) ([]duty.Duty, error) {
	out := []duty.Duty{}
	err := sqlx.SelectContext(ctx, t.tx, &out, `UPDATE greeting_duties d SET reminded_at = $1
FROM (SELECT id FROM greeting_duties WHERE reminded_at IS NULL AND checked_in_at IS NULL AND starts_at > $1 AND starts_at <= $1::timestamptz + make_interval(secs => $2::float8)
      ORDER BY starts_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
WHERE d.id = due.id RETURNING d.id, d.property_id, d.day, d.starts_at, d.ends_at, d.person_id, d.checked_in_at`, now, before.Seconds(), limit)
	return out, mapErr(err)
}

// DueMissed marks and answers the windows that ended with no check-in.
func (t *deskTx) DueMissed(ctx context.Context, now time.Time, limit int) ([]duty.Duty, error) {
	out := []duty.Duty{}
	err := sqlx.SelectContext(ctx, t.tx, &out, `UPDATE greeting_duties d SET missed_notified_at = $1
FROM (SELECT id FROM greeting_duties WHERE missed_notified_at IS NULL AND checked_in_at IS NULL AND ends_at <= $1
        -- A window missed more than a day ago is no longer news.
        AND ends_at > $1::timestamptz - interval '1 day'
      ORDER BY ends_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
WHERE d.id = due.id RETURNING d.id, d.property_id, d.day, d.starts_at, d.ends_at, d.person_id, d.checked_in_at`, now, limit)
	return out, mapErr(err)
}

// Audit writes an audit entry in the front desk's transaction.
func (t *deskTx) Audit(ctx context.Context, e audit.Entry) error {
	return requestTx{q: t.tx}.Audit(ctx, e)
}
