package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/billing"
	"github.com/kproperty/onestop/internal/booking"
	"github.com/kproperty/onestop/internal/request"
)

// BookingStore implements booking.Store and billing.Store.
type BookingStore struct{ db *DB }

// NewBookingStore returns the store of bookings, quotes and payments.
func NewBookingStore(db *DB) *BookingStore { return &BookingStore{db: db} }

var (
	_ booking.Store = (*BookingStore)(nil)
	_ booking.Tx    = requestTx{}
	_ billing.Tx    = requestTx{}
)

// Tx is the booking side of a request transaction.
func (s *BookingStore) Tx(tx request.Tx) booking.Tx { return tx.(requestTx) }

// BillingStore is the billing side of the same store.
type BillingStore struct{ *BookingStore }

// Billing returns the store as billing.Store.
func (s *BookingStore) Billing() BillingStore { return BillingStore{s} }

// Tx is the billing side of a request transaction.
func (BillingStore) Tx(tx request.Tx) billing.Tx { return tx.(requestTx) }

const facilityCols = `f.id, f.property_id, f.code, f.name, f.name_zh, to_char(f.opens, 'HH24:MI') AS opens,
	to_char(f.closes, 'HH24:MI') AS closes, array_to_string(f.days, ',') AS days, f.slot_minutes, f.capacity, f.max_slots, f.advance_days, f.weekly_quota,
	f.cancel_hours, f.fee_cents, f.deposit_cents, f.currency, f.active, p.time_zone`

const bookingCols = `b.id, b.facility_id, b.property_id, b.unit_id, b.booked_by, lower(b.during) AS starts_at,
	upper(b.during) AS ends_at, b.exclusive, b.status, b.fee_cents, b.deposit_cents, b.currency, b.created_at,
	b.cancelled_at, b.checked_in_at, b.marked_by`

const activityCols = `a.id, a.property_id, a.title, a.title_zh, a.place, a.starts_at, a.ends_at, a.capacity,
	a.signup_opens_at, a.signup_closes_at, a.per_household,
	coalesce((SELECT sum(places) FROM activity_signups s WHERE s.activity_id = a.id AND s.status = 'CONFIRMED'), 0) AS confirmed_places,
	coalesce((SELECT sum(places) FROM activity_signups s WHERE s.activity_id = a.id AND s.status = 'WAITING'), 0) AS waiting_places,
	coalesce((SELECT sum(attended) FROM activity_signups s WHERE s.activity_id = a.id AND s.status = 'CONFIRMED'), 0) AS attended`

const signUpCols = `s.id::text AS id, s.activity_id, a.property_id, s.unit_id, s.signed_up_by, s.places, s.status, s.created_at,
	s.promoted_at, s.cancelled_at, s.checked_in_at, s.attended`

// UnitProperties maps each household to its property.
func (s *BookingStore) UnitProperties(ctx context.Context, unitIDs []string) (map[string]string, error) {
	var rows []struct {
		ID         string `db:"id"`
		PropertyID string `db:"property_id"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT id, property_id FROM units WHERE id = ANY($1::uuid[])`, pq.Array(unitIDs)); err != nil {
		return nil, mapErr(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.ID] = r.PropertyID
	}
	return out, nil
}

// Facility reads one facility.
func (s *BookingStore) Facility(ctx context.Context, id string) (*booking.Facility, error) {
	var f booking.Facility
	err := get(ctx, s.db, &f, `SELECT `+facilityCols+` FROM facilities f JOIN properties p ON p.id = f.property_id WHERE f.id = $1`, id)
	return &f, err
}

// Facilities lists the facilities of the properties (all when nil).
func (s *BookingStore) Facilities(ctx context.Context, propertyIDs []string) ([]*booking.Facility, error) {
	out := []*booking.Facility{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+facilityCols+` FROM facilities f JOIN properties p ON p.id = f.property_id
WHERE $1::uuid[] IS NULL OR f.property_id = ANY($1::uuid[]) ORDER BY p.code, f.code LIMIT 100`, nullArray(propertyIDs))
	return out, mapErr(err)
}

// nullArray is an array parameter that is NULL for a nil slice: "all".
func nullArray(ids []string) any {
	if ids == nil {
		return nil
	}
	return pq.Array(ids)
}

// Bookings lists a facility's live bookings overlapping [from, to).
func (s *BookingStore) Bookings(ctx context.Context, facilityID string, from, to time.Time) ([]*booking.Booking, error) {
	out := []*booking.Booking{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+bookingCols+` FROM facility_bookings b
WHERE b.facility_id = $1 AND b.status <> 'CANCELLED' AND b.during && tstzrange($2, $3) ORDER BY lower(b.during)`, facilityID, from, to)
	return out, mapErr(err)
}

// Closures lists a facility's closures overlapping [from, to).
func (s *BookingStore) Closures(ctx context.Context, facilityID string, from, to time.Time) ([]booking.Closure, error) {
	out := []booking.Closure{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT facility_id, lower(during) AS from_at, upper(during) AS to_at, reason
FROM facility_closures WHERE facility_id = $1 AND during && tstzrange($2, $3)`, facilityID, from, to)
	return out, mapErr(err)
}

// BookingsOf lists the households' bookings ending after from.
func (s *BookingStore) BookingsOf(ctx context.Context, unitIDs []string, from time.Time) ([]*booking.Booking, error) {
	out := []*booking.Booking{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+bookingCols+` FROM facility_bookings b
WHERE b.unit_id = ANY($1::uuid[]) AND upper(b.during) > $2 ORDER BY lower(b.during), b.id LIMIT 100`, pq.Array(unitIDs), from)
	return out, mapErr(err)
}

// BookingByID reads one booking.
func (s *BookingStore) BookingByID(ctx context.Context, id string) (*booking.Booking, error) {
	var b booking.Booking
	err := get(ctx, s.db, &b, `SELECT `+bookingCols+` FROM facility_bookings b WHERE b.id = $1`, id)
	return &b, err
}

// Activities lists the activities of the properties (all when nil) that
// have not ended, soonest first.
func (s *BookingStore) Activities(ctx context.Context, propertyIDs []string, from time.Time) ([]*booking.Activity, error) {
	out := []*booking.Activity{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+activityCols+` FROM activities a
WHERE ($1::uuid[] IS NULL OR a.property_id = ANY($1::uuid[])) AND a.ends_at > $2 ORDER BY a.starts_at, a.id LIMIT 50`, nullArray(propertyIDs), from)
	return out, mapErr(err)
}

// ActivityByID reads one activity with its figures.
func (s *BookingStore) ActivityByID(ctx context.Context, id string) (*booking.Activity, error) {
	var a booking.Activity
	err := get(ctx, s.db, &a, `SELECT `+activityCols+` FROM activities a WHERE a.id = $1`, id)
	return &a, err
}

// SignUpsOf lists the activities' sign-ups in the order they were made.
func (s *BookingStore) SignUpsOf(ctx context.Context, activityIDs []string) ([]*booking.SignUp, error) {
	out := []*booking.SignUp{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+signUpCols+` FROM activity_signups s JOIN activities a ON a.id = s.activity_id
WHERE s.activity_id = ANY($1::uuid[]) ORDER BY s.id`, pq.Array(activityIDs))
	return out, mapErr(err)
}

// GuidedVisit reads the visit a request booked.
func (s *BookingStore) GuidedVisit(ctx context.Context, requestID string) (*booking.GuidedVisit, error) {
	var v booking.GuidedVisit
	err := get(ctx, s.db, &v, `SELECT request_id, property_id, kind, party_size, lower(during) AS starts_at, upper(during) AS ends_at, guide_id
FROM guided_visits WHERE request_id = $1`, requestID)
	return &v, err
}

// QuoteOf reads a request's quote.
func (s *BookingStore) QuoteOf(ctx context.Context, requestID string) (*billing.Quote, error) {
	var q billing.Quote
	err := get(ctx, s.db, &q, `SELECT * FROM quotes WHERE request_id = $1`, requestID)
	return &q, err
}

func (t requestTx) LockFacility(ctx context.Context, id string) (*booking.Facility, error) {
	var f booking.Facility
	err := get(ctx, t.q, &f, `SELECT `+facilityCols+` FROM facilities f JOIN properties p ON p.id = f.property_id WHERE f.id = $1 FOR UPDATE OF f`, id)
	return &f, err
}

func (t requestTx) LockHousehold(ctx context.Context, unitID string) error {
	_, err := t.q.ExecContext(ctx, `SELECT 1 FROM units WHERE id = $1 FOR UPDATE`, unitID)
	return mapErr(err)
}

func (t requestTx) CountBookings(ctx context.Context, unitID, facilityID string, from, to time.Time) (int, error) {
	var n int
	err := get(ctx, t.q, &n, `SELECT count(*) FROM facility_bookings WHERE unit_id = $1 AND facility_id = $2
AND status <> 'CANCELLED' AND lower(during) >= $3 AND lower(during) < $4`, unitID, facilityID, from, to)
	return n, err
}

func (t requestTx) NoShows(ctx context.Context, unitID, propertyID string, since time.Time) ([]time.Time, error) {
	out := []time.Time{}
	err := sqlx.SelectContext(ctx, t.q, &out, `SELECT lower(during) FROM facility_bookings
WHERE unit_id = $1 AND property_id = $2 AND status = 'NO_SHOW' AND lower(during) >= $3 ORDER BY lower(during)`, unitID, propertyID, since)
	return out, mapErr(err)
}

func (t requestTx) NoShowRule(ctx context.Context, propertyID string) (int, int, error) {
	var row struct {
		Limit int `db:"no_show_limit"`
		Days  int `db:"no_show_suspend_days"`
	}
	err := get(ctx, t.q, &row, `SELECT no_show_limit, no_show_suspend_days FROM properties WHERE id = $1`, propertyID)
	return row.Limit, row.Days, err
}

func (t requestTx) ClosedDuring(ctx context.Context, facilityID string, from, to time.Time) (bool, error) {
	var closed bool
	err := get(ctx, t.q, &closed, `SELECT EXISTS (SELECT 1 FROM facility_closures WHERE facility_id = $1 AND during && tstzrange($2, $3))`,
		facilityID, from, to)
	return closed, err
}

// errTaken is the answer to a booking PostgreSQL refused for want of room.
var errTaken = apperr.New(apperr.Conflict, "that time is already taken; choose another slot")

// constraintErr turns the constraints that hold capacity (an exclusion or
// a check) into CONFLICT.
func constraintErr(err error, conflict *apperr.Error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && (pqErr.Code == "23P01" || pqErr.Code == "23514") {
		return conflict
	}
	return mapErr(err)
}

func (t requestTx) InsertBooking(ctx context.Context, b *booking.Booking) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO facility_bookings (id, facility_id, property_id, unit_id, booked_by, during,
	exclusive, status, fee_cents, deposit_cents, currency, created_at)
VALUES ($1, $2, $3, $4, $5, tstzrange($6, $7), $8, $9, $10, $11, $12, $13)`, b.ID, b.FacilityID, b.PropertyID, b.UnitID, b.BookedBy,
		b.StartsAt, b.EndsAt, b.Exclusive, b.Status, b.FeeCents, b.DepositCents, b.Currency, b.CreatedAt)
	return constraintErr(err, errTaken)
}

func (t requestTx) TakePlaces(ctx context.Context, f *booking.Facility, slots []time.Time, delta int) error {
	if delta < 0 {
		_, err := t.q.ExecContext(ctx, `UPDATE facility_slot_places SET taken = taken + $3
WHERE facility_id = $1 AND starts_at = ANY($2::timestamptz[])`, f.ID, pq.Array(slots), delta)
		return mapErr(err)
	}
	// One statement, slots in time order: concurrent bookings of
	// overlapping slots lock their rows in the same order and never
	// deadlock; the check refuses the one that would overfill a slot.
	_, err := t.q.ExecContext(ctx, `INSERT INTO facility_slot_places (facility_id, starts_at, capacity, taken)
SELECT $1, s, $3, $4 FROM unnest($2::timestamptz[]) AS s ORDER BY s
ON CONFLICT (facility_id, starts_at) DO UPDATE SET taken = facility_slot_places.taken + excluded.taken`,
		f.ID, pq.Array(slots), f.Capacity, delta)
	return constraintErr(err, apperr.New(apperr.Conflict, "every place in that slot is taken; choose another"))
}

func (t requestTx) LockBooking(ctx context.Context, id string) (*booking.Booking, error) {
	var b booking.Booking
	err := get(ctx, t.q, &b, `SELECT `+bookingCols+` FROM facility_bookings b WHERE b.id = $1 FOR UPDATE`, id)
	return &b, err
}

func (t requestTx) UpdateBooking(ctx context.Context, b *booking.Booking) error {
	_, err := t.q.ExecContext(ctx, `UPDATE facility_bookings SET status = $2, cancelled_at = $3, checked_in_at = $4, marked_by = $5
WHERE id = $1`, b.ID, b.Status, b.CancelledAt, b.CheckedInAt, b.MarkedBy)
	return mapErr(err)
}

func (t requestTx) LockActivity(ctx context.Context, id string) (*booking.Activity, error) {
	if _, err := t.q.ExecContext(ctx, `SELECT 1 FROM activities WHERE id = $1 FOR UPDATE`, id); err != nil {
		return nil, mapErr(err)
	}
	var a booking.Activity
	err := get(ctx, t.q, &a, `SELECT `+activityCols+` FROM activities a WHERE a.id = $1`, id)
	return &a, err
}

func (t requestTx) ActiveSignUp(ctx context.Context, activityID, unitID string) (*booking.SignUp, error) {
	var s booking.SignUp
	err := get(ctx, t.q, &s, `SELECT `+signUpCols+` FROM activity_signups s JOIN activities a ON a.id = s.activity_id
WHERE s.activity_id = $1 AND s.unit_id = $2 AND s.status <> 'CANCELLED'`, activityID, unitID)
	return &s, err
}

func (t requestTx) InsertSignUp(ctx context.Context, s *booking.SignUp) error {
	err := get(ctx, t.q, &s.ID, `INSERT INTO activity_signups (activity_id, unit_id, signed_up_by, places, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text`, s.ActivityID, s.UnitID, s.SignedUpBy, s.Places, s.Status, s.CreatedAt)
	return err
}

func (t requestTx) LockSignUp(ctx context.Context, id string) (*booking.SignUp, error) {
	var s booking.SignUp
	err := get(ctx, t.q, &s, `SELECT `+signUpCols+` FROM activity_signups s JOIN activities a ON a.id = s.activity_id
WHERE s.id = $1::bigint FOR UPDATE OF s`, id)
	return &s, err
}

func (t requestTx) UpdateSignUp(ctx context.Context, s *booking.SignUp) error {
	_, err := t.q.ExecContext(ctx, `UPDATE activity_signups SET status = $2, promoted_at = $3, cancelled_at = $4, checked_in_at = $5,
	attended = $6 WHERE id = $1::bigint`, s.ID, s.Status, s.PromotedAt, s.CancelledAt, s.CheckedInAt, s.Attended)
	return mapErr(err)
}

func (t requestTx) SignUpsFor(ctx context.Context, activityID string) ([]*booking.SignUp, error) {
	out := []*booking.SignUp{}
	err := sqlx.SelectContext(ctx, t.q, &out, `SELECT `+signUpCols+` FROM activity_signups s JOIN activities a ON a.id = s.activity_id
WHERE s.activity_id = $1 AND s.status <> 'CANCELLED' ORDER BY s.id`, activityID)
	return out, mapErr(err)
}

func (t requestTx) Residents(ctx context.Context, unitID string) ([]string, error) {
	out := []string{}
	err := sqlx.SelectContext(ctx, t.q, &out, `SELECT person_id FROM residencies WHERE unit_id = $1 ORDER BY person_id`, unitID)
	return out, mapErr(err)
}

func (t requestTx) FreeGuide(ctx context.Context, propertyID string, from, to time.Time) (*string, error) {
	var id string
	err := get(ctx, t.q, &id, `SELECT s.person_id FROM staff_roles s
WHERE s.property_id = $1 AND s.role IN ('BUTLER', 'AGENT', 'GUARD', 'MANAGER')
  AND NOT EXISTS (SELECT 1 FROM guided_visits v WHERE v.guide_id = s.person_id AND v.active AND v.during && tstzrange($2, $3))
ORDER BY (SELECT count(*) FROM guided_visits v WHERE v.guide_id = s.person_id AND v.active
	AND lower(v.during)::date = $2::timestamptz::date), s.person_id
LIMIT 1`, propertyID, from, to)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	return &id, err
}

func (t requestTx) InsertGuidedVisit(ctx context.Context, v *booking.GuidedVisit, _ string) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO guided_visits (request_id, property_id, kind, party_size, during, guide_id)
VALUES ($1, $2, $3, $4, tstzrange($5, $6), $7)`, v.RequestID, v.PropertyID, v.Kind, v.PartySize, v.StartsAt, v.EndsAt, v.GuideID)
	return constraintErr(err, apperr.New(apperr.Conflict, "the guide was just booked by someone else; try again"))
}

func (t requestTx) DueReminders(ctx context.Context, now, until time.Time, limit int) ([]booking.Reminder, error) {
	out := []booking.Reminder{}
	err := sqlx.SelectContext(ctx, t.q, &out, `WITH due AS (
	SELECT v.request_id FROM guided_visits v
	WHERE v.active AND v.reminded_at IS NULL AND lower(v.during) > $1 AND lower(v.during) <= $2
	ORDER BY lower(v.during) LIMIT $3 FOR UPDATE SKIP LOCKED),
marked AS (UPDATE guided_visits v SET reminded_at = $1 FROM due WHERE v.request_id = due.request_id
	RETURNING v.request_id, v.guide_id, lower(v.during) AS starts_at)
SELECT m.request_id, r.number, r.unit_id, m.guide_id, m.starts_at FROM marked m JOIN service_requests r ON r.id = m.request_id
ORDER BY m.starts_at`, now, until, limit)
	return out, mapErr(err)
}

func (t requestTx) LockQuote(ctx context.Context, requestID string) (*billing.Quote, error) {
	var q billing.Quote
	err := get(ctx, t.q, &q, `SELECT * FROM quotes WHERE request_id = $1 FOR UPDATE`, requestID)
	return &q, err
}

func (t requestTx) PutQuote(ctx context.Context, q *billing.Quote) error {
	_, err := sqlx.NamedExecContext(ctx, t.q, `INSERT INTO quotes (request_id, unit_price_cents, quantity, amount_cents, currency,
	quoted_by, quoted_at, accepted_by, accepted_at, payment, payment_by, payment_at, payment_note)
VALUES (:request_id, :unit_price_cents, :quantity, :amount_cents, :currency, :quoted_by, :quoted_at, :accepted_by, :accepted_at,
	:payment, :payment_by, :payment_at, :payment_note)
ON CONFLICT (request_id) DO UPDATE SET unit_price_cents = excluded.unit_price_cents, quantity = excluded.quantity,
	amount_cents = excluded.amount_cents, currency = excluded.currency, quoted_by = excluded.quoted_by, quoted_at = excluded.quoted_at,
	accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at, payment = excluded.payment,
	payment_by = excluded.payment_by, payment_at = excluded.payment_at, payment_note = excluded.payment_note`, q)
	return mapErr(err)
}

// Figures reads revenue by category and local day of payment, and what is
// owed now on requests not cancelled.
func (s *BookingStore) Figures(ctx context.Context, propertyIDs []string, from, to time.Time) (*billing.Figures, error) {
	f := &billing.Figures{Revenue: []billing.Revenue{}, Unpaid: []billing.Owed{}}
	err := sqlx.SelectContext(ctx, s.db, &f.Revenue, `SELECT to_char((q.payment_at AT TIME ZONE p.time_zone)::date, 'YYYY-MM-DD') AS day,
	r.property_id, r.category_id, sum(q.amount_cents) AS amount_cents, q.currency, count(*) AS requests
FROM quotes q JOIN service_requests r ON r.id = q.request_id JOIN properties p ON p.id = r.property_id
WHERE q.payment = 'PAID' AND q.payment_at >= $2 AND q.payment_at < $3 AND ($1::uuid[] IS NULL OR r.property_id = ANY($1::uuid[]))
GROUP BY 1, 2, 3, 5 ORDER BY 1, 2, 3, 5 LIMIT 2000`, nullArray(propertyIDs), from, to)
	if err != nil {
		return nil, mapErr(err)
	}
	err = sqlx.SelectContext(ctx, s.db, &f.Unpaid, `SELECT sum(q.amount_cents) AS amount_cents, q.currency, count(*) AS requests
FROM quotes q JOIN service_requests r ON r.id = q.request_id
WHERE q.payment = 'UNPAID' AND r.status <> 'CANCELLED' AND ($1::uuid[] IS NULL OR r.property_id = ANY($1::uuid[]))
GROUP BY q.currency ORDER BY q.currency LIMIT 10`, nullArray(propertyIDs))
	return f, mapErr(err)
}

func (t requestTx) InsertClosure(ctx context.Context, c *booking.Closure) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO facility_closures (facility_id, during, reason) VALUES ($1, tstzrange($2, $3), $4)`,
		c.FacilityID, c.From, c.To, c.Reason)
	return mapErr(err)
}

// AnyReminderDue reports whether a guided visit awaits its reminder.
func (s *BookingStore) AnyReminderDue(ctx context.Context, now, until time.Time) (bool, error) {
	var due bool
	err := get(ctx, s.db, &due, `SELECT EXISTS (SELECT 1 FROM guided_visits v
WHERE v.active AND v.reminded_at IS NULL AND lower(v.during) > $1 AND lower(v.during) <= $2)`, now, until)
	return due, err
}
