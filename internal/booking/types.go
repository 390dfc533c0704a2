// Package booking is what a household books at its property: the
// clubhouse's facilities (會所) by the slot, places at community activities
// (社區文化活動) with their waiting lists, and guided visits (引導式服務) with
// a guide. A facility's capacity is held by PostgreSQL itself; the rules
// around it (opening hours, how far ahead, how many a week, cancellation
// cut-off, no-show suspension) are decided here.
package booking

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/request"
)

// Facility is one bookable part of a property's clubhouse: a room held
// whole (capacity 1) or a class shared by the place (capacity N).
type Facility struct {
	ID         string `db:"id"`
	PropertyID string `db:"property_id"`
	Code       string `db:"code"`
	Name       string `db:"name"`
	NameZh     string `db:"name_zh"`
	// Opens and Closes are "HH:MM" on the property's local clock.
	Opens  string `db:"opens"`
	Closes string `db:"closes"`
	// Days are the ISO weekdays it opens on (1 Monday .. 7 Sunday),
	// comma-separated.
	Days        string `db:"days"`
	SlotMinutes int    `db:"slot_minutes"`
	Capacity    int    `db:"capacity"`
	// MaxSlots is the longest booking, in slots.
	MaxSlots int `db:"max_slots"`
	// AdvanceDays is how many local days ahead a slot may be booked.
	AdvanceDays int `db:"advance_days"`
	// WeeklyQuota is how many bookings a household may hold in one local
	// week (Monday to Sunday).
	WeeklyQuota int `db:"weekly_quota"`
	// CancelHours is the cut-off: a booking is cancelled at least this
	// long before it starts.
	CancelHours  int    `db:"cancel_hours"`
	FeeCents     int64  `db:"fee_cents"`
	DepositCents int64  `db:"deposit_cents"`
	Currency     string `db:"currency"`
	Active       bool   `db:"active"`
	TimeZone     string `db:"time_zone"`
}

// Exclusive reports whether a booking holds the whole facility.
func (f *Facility) Exclusive() bool { return f.Capacity == 1 }

// Status is where a booking stands.
type Status string

// The booking statuses.
const (
	Booked    Status = "BOOKED"
	CheckedIn Status = "CHECKED_IN"
	NoShow    Status = "NO_SHOW"
	Cancelled Status = "CANCELLED"
)

// Booking is a household's hold on a facility for consecutive slots.
type Booking struct {
	ID           string     `db:"id"`
	FacilityID   string     `db:"facility_id"`
	PropertyID   string     `db:"property_id"`
	UnitID       string     `db:"unit_id"`
	BookedBy     string     `db:"booked_by"`
	StartsAt     time.Time  `db:"starts_at"`
	EndsAt       time.Time  `db:"ends_at"`
	Exclusive    bool       `db:"exclusive"`
	Status       Status     `db:"status"`
	FeeCents     int64      `db:"fee_cents"`
	DepositCents int64      `db:"deposit_cents"`
	Currency     string     `db:"currency"`
	CreatedAt    time.Time  `db:"created_at"`
	CancelledAt  *time.Time `db:"cancelled_at"`
	CheckedInAt  *time.Time `db:"checked_in_at"`
	MarkedBy     *string    `db:"marked_by"`
}

// Slot is one bookable interval of a facility's day.
type Slot struct {
	StartsAt, EndsAt time.Time
	Capacity, Taken  int
	// Closed slots are in a closure, outside the booking window, or past.
	Closed bool
}

// Closure is a time a facility is shut (maintenance).
type Closure struct {
	FacilityID string    `db:"facility_id" json:"facilityId"`
	From       time.Time `db:"from_at" json:"from"`
	To         time.Time `db:"to_at" json:"to"`
	Reason     string    `db:"reason" json:"reason"`
}

// SignUpStatus is where a household's sign-up for an activity stands.
type SignUpStatus string

// The sign-up statuses.
const (
	Confirmed       SignUpStatus = "CONFIRMED"
	Waiting         SignUpStatus = "WAITING"
	SignUpCancelled SignUpStatus = "CANCELLED"
)

// Activity is a community cultural activity with its places.
type Activity struct {
	ID             string    `db:"id"`
	PropertyID     string    `db:"property_id"`
	Title          string    `db:"title"`
	TitleZh        string    `db:"title_zh"`
	Place          string    `db:"place"`
	StartsAt       time.Time `db:"starts_at"`
	EndsAt         time.Time `db:"ends_at"`
	Capacity       int       `db:"capacity"`
	SignupOpensAt  time.Time `db:"signup_opens_at"`
	SignupClosesAt time.Time `db:"signup_closes_at"`
	PerHousehold   int       `db:"per_household"`
	// The figures: places confirmed, places waiting, people checked in.
	ConfirmedPlaces int `db:"confirmed_places"`
	WaitingPlaces   int `db:"waiting_places"`
	Attended        int `db:"attended"`
}

// SignUp is a household's places at an activity, or its place in the
// waiting list.
type SignUp struct {
	ID          string       `db:"id"`
	ActivityID  string       `db:"activity_id"`
	PropertyID  string       `db:"property_id"`
	UnitID      string       `db:"unit_id"`
	SignedUpBy  string       `db:"signed_up_by"`
	Places      int          `db:"places"`
	Status      SignUpStatus `db:"status"`
	CreatedAt   time.Time    `db:"created_at"`
	PromotedAt  *time.Time   `db:"promoted_at"`
	CancelledAt *time.Time   `db:"cancelled_at"`
	CheckedInAt *time.Time   `db:"checked_in_at"`
	Attended    *int         `db:"attended"`
}

// VisitKind is what a guided visit is for.
type VisitKind string

// The guided visit kinds.
const (
	Visit          VisitKind = "VISIT"
	StudyTour      VisitKind = "STUDY_TOUR"
	AssessmentTeam VisitKind = "ASSESSMENT_TEAM"
	HeavyItems     VisitKind = "HEAVY_ITEMS"
)

// GuidedVisit is the booking side of a guided-visit request: when, how
// many, what for, and the guide.
type GuidedVisit struct {
	RequestID  string    `db:"request_id"`
	PropertyID string    `db:"property_id"`
	Kind       VisitKind `db:"kind"`
	PartySize  int       `db:"party_size"`
	StartsAt   time.Time `db:"starts_at"`
	EndsAt     time.Time `db:"ends_at"`
	GuideID    string    `db:"guide_id"`
}

// Store is the storage bookings need outside a transaction.
type Store interface {
	// Tx is the booking side of a request transaction, so a booking's
	// notifications go through the same outbox as a request's.
	Tx(request.Tx) Tx
	// UnitProperties maps each household to its property.
	UnitProperties(ctx context.Context, unitIDs []string) (map[string]string, error)
	Facility(ctx context.Context, id string) (*Facility, error)
	Facilities(ctx context.Context, propertyIDs []string) ([]*Facility, error)
	// Bookings lists a facility's bookings that are not cancelled and
	// overlap [from, to).
	Bookings(ctx context.Context, facilityID string, from, to time.Time) ([]*Booking, error)
	Closures(ctx context.Context, facilityID string, from, to time.Time) ([]Closure, error)
	// BookingsOf lists the households' bookings ending after from, soonest
	// first.
	BookingsOf(ctx context.Context, unitIDs []string, from time.Time) ([]*Booking, error)
	BookingByID(ctx context.Context, id string) (*Booking, error)
	Activities(ctx context.Context, propertyIDs []string, from time.Time) ([]*Activity, error)
	ActivityByID(ctx context.Context, id string) (*Activity, error)
	SignUpsOf(ctx context.Context, activityIDs []string) ([]*SignUp, error)
	GuidedVisit(ctx context.Context, requestID string) (*GuidedVisit, error)
	// AnyReminderDue reports, without a transaction, whether a guided
	// visit starting in (now, until] still awaits its reminder.
	AnyReminderDue(ctx context.Context, now, until time.Time) (bool, error)
}

// Tx is what bookings read and write inside one transaction.
type Tx interface {
	// A closure is an administrative change: it is audited.
	audit.Writer
	// LockFacility reads a facility, locking it against changes.
	LockFacility(ctx context.Context, id string) (*Facility, error)
	// LockHousehold serializes one household's bookings, so its weekly
	// quota cannot be overrun by two at once.
	LockHousehold(ctx context.Context, unitID string) error
	// CountBookings counts the household's bookings of the facility,
	// not cancelled, starting in [from, to).
	CountBookings(ctx context.Context, unitID, facilityID string, from, to time.Time) (int, error)
	// NoShows lists the household's no-shows at the property since a time.
	NoShows(ctx context.Context, unitID, propertyID string, since time.Time) ([]time.Time, error)
	// NoShowRule is the property's suspension rule: so many no-shows in
	// so many days.
	NoShowRule(ctx context.Context, propertyID string) (limit, days int, err error)
	// ClosedDuring reports whether the facility is closed at any time in
	// [from, to).
	ClosedDuring(ctx context.Context, facilityID string, from, to time.Time) (bool, error)
	InsertClosure(ctx context.Context, c *Closure) error
	// InsertBooking stores a booking; an overlap on a room is CONFLICT.
	InsertBooking(ctx context.Context, b *Booking) error
	// TakePlaces adds delta places to each slot of a shared facility; a
	// slot that would overfill is CONFLICT and nothing is taken.
	TakePlaces(ctx context.Context, f *Facility, slots []time.Time, delta int) error
	LockBooking(ctx context.Context, id string) (*Booking, error)
	UpdateBooking(ctx context.Context, b *Booking) error
	LockActivity(ctx context.Context, id string) (*Activity, error)
	ActiveSignUp(ctx context.Context, activityID, unitID string) (*SignUp, error)
	InsertSignUp(ctx context.Context, s *SignUp) error
	LockSignUp(ctx context.Context, id string) (*SignUp, error)
	UpdateSignUp(ctx context.Context, s *SignUp) error
	// SignUpsFor lists an activity's sign-ups that are not cancelled, in
	// the order they were made.
	SignUpsFor(ctx context.Context, activityID string) ([]*SignUp, error)
	// Residents lists the people living in a household.
	Residents(ctx context.Context, unitID string) ([]string, error)
	// FreeGuide picks the staff member of the property free for the whole
	// interval with the fewest visits that day, or nil.
	FreeGuide(ctx context.Context, propertyID string, from, to time.Time) (*string, error)
	// InsertGuidedVisit stores a visit; a guide booked twice is CONFLICT.
	InsertGuidedVisit(ctx context.Context, v *GuidedVisit, unitID string) error
	// DueReminders locks up to limit visits starting before until that
	// have not been reminded, skipping any another instance holds, and
	// marks them reminded.
	DueReminders(ctx context.Context, now, until time.Time, limit int) ([]Reminder, error)
	// Stage queues notifications for the outbox.
	Stage(evs []request.Event, ns []notification.Notification)
}

// Reminder is one guided visit to remind its guide and household of.
type Reminder struct {
	RequestID string    `db:"request_id"`
	Number    string    `db:"number"`
	UnitID    string    `db:"unit_id"`
	GuideID   string    `db:"guide_id"`
	StartsAt  time.Time `db:"starts_at"`
}

// scope is what a viewer may see: every property (admin), or the
// properties they work at or live in, and their households.
type scope struct {
	admin bool
	props []string
	work  []string
	units []string
}

func (s scope) property(id string) bool {
	if s.admin {
		return true
	}
	for _, p := range s.props {
		if p == id {
			return true
		}
	}
	return false
}

// staffAt reports whether the viewer works at the property (or is admin).
func (s scope) staffAt(id string) bool {
	if s.admin {
		return true
	}
	for _, p := range s.work {
		if p == id {
			return true
		}
	}
	return false
}

func (s scope) household(unitID string) bool {
	for _, u := range s.units {
		if u == unitID {
			return true
		}
	}
	return false
}

// scopeOf reads what the actor may see.
func (s *Service) scopeOf(ctx context.Context, a *auth.Actor) (scope, error) {
	sc := scope{admin: a.Admin, work: a.PropertyIDs(), units: a.Units}
	sc.props = append(sc.props, sc.work...)
	if len(a.Units) > 0 {
		homes, err := s.store.UnitProperties(ctx, a.Units)
		if err != nil {
			return sc, err
		}
		for _, p := range homes {
			sc.props = append(sc.props, p)
		}
	}
	return sc, nil
}

// Available is the places left in a slot: none once it is closed.
func (s Slot) Available() int {
	if s.Closed {
		return 0
	}
	return max(s.Capacity-s.Taken, 0)
}

// Open reports whether the slot can be booked now.
func (s Slot) Open() bool { return s.Available() > 0 }

// PlacesLeft is the places not yet confirmed.
func (a *Activity) PlacesLeft() int { return max(a.Capacity-a.ConfirmedPlaces, 0) }

// OpenDays are the ISO weekdays the facility opens on (1 Monday .. 7
// Sunday).
func (f *Facility) OpenDays() []int {
	var out []int
	for _, d := range strings.Split(f.Days, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(d)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// opensOn reports whether the facility opens on a weekday.
func (f *Facility) opensOn(d time.Weekday) bool {
	iso := int(d)
	if iso == 0 {
		iso = 7
	}
	return slices.Contains(f.OpenDays(), iso)
}
