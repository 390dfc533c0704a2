package booking

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// Service books facilities, activities and guided visits. Its writes run
// in the request engine's transactions, so their notifications share the
// outbox (and the inbox's resume cursor) with every request's.
type Service struct {
	store Store
	req   *request.Service
	wake  func()
}

// NewService returns the booking service. wake, if not nil, is called after
// a commit that wrote notifications, so live inboxes hear of them at once.
func NewService(store Store, req *request.Service, wake func()) *Service {
	return &Service{store: store, req: req, wake: wake}
}

// run runs fn in one transaction and wakes the live inboxes after commit.
func (s *Service) run(ctx context.Context, fn func(request.Tx, Tx) error) error {
	err := s.req.Run(ctx, func(rtx request.Tx) error { return fn(rtx, s.store.Tx(rtx)) })
	if err == nil && s.wake != nil {
		s.wake()
	}
	return err
}

// tell stages one notification for each person.
func tell(tx Tx, now time.Time, title, body string, people ...string) {
	seen := map[string]bool{}
	var ns []notification.Notification
	for _, p := range people {
		if seen[p] {
			continue
		}
		seen[p] = true
		ns = append(ns, notification.Notification{PersonID: p, Kind: notification.Booking, Title: title, Body: body, CreatedAt: now})
	}
	tx.Stage(nil, ns)
}

// hhmm is a "HH:MM" opening time as an offset from local midnight.
func hhmm(v string) time.Duration {
	var h, m int
	fmt.Sscanf(v, "%d:%d", &h, &m)
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
}

func (f *Facility) location() (*time.Location, error) {
	return property.Property{TimeZone: f.TimeZone}.LoadLocation()
}

// day returns the slots of a facility's local day, with day any time in it.
func (f *Facility) day(day time.Time, loc *time.Location) []Slot {
	d := day.In(loc)
	var out []Slot
	if !f.opensOn(d.Weekday()) {
		return out
	}
	step := time.Duration(f.SlotMinutes) * time.Minute
	for off := hhmm(f.Opens); off+step <= hhmm(f.Closes); off += step {
		start := time.Date(d.Year(), d.Month(), d.Day(), int(off/time.Hour), int(off%time.Hour/time.Minute), 0, 0, loc)
		out = append(out, Slot{StartsAt: start.UTC(), EndsAt: start.Add(step).UTC(), Capacity: f.Capacity})
	}
	return out
}

// visibleFacility reads a facility the viewer may see: one of a property
// they live or work at. Any other is NOT_FOUND, as a missing one is.
func (s *Service) visibleFacility(ctx context.Context, a *auth.Actor, id string) (*Facility, scope, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, sc, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, sc, apperr.ErrNotFound
	}
	f, err := s.store.Facility(ctx, id)
	if err != nil {
		return nil, sc, err
	}
	if !sc.property(f.PropertyID) {
		return nil, sc, apperr.ErrNotFound
	}
	return f, sc, nil
}

// Facilities lists the facilities of the properties the viewer lives or
// works at, or of one of them.
func (s *Service) Facilities(ctx context.Context, a *auth.Actor, propertyID *string) ([]*Facility, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, err
	}
	props := sc.props
	if propertyID != nil {
		if !sc.property(*propertyID) {
			return []*Facility{}, nil
		}
		props = []string{*propertyID}
	} else if sc.admin {
		props = nil
	}
	return s.store.Facilities(ctx, props)
}

// Slots lists a facility's slots on a local date ("2006-01-02"), each with
// its places taken and whether it can still be booked.
func (s *Service) Slots(ctx context.Context, a *auth.Actor, facilityID, date string) ([]Slot, error) {
	f, _, err := s.visibleFacility(ctx, a, facilityID)
	if err != nil {
		return nil, err
	}
	loc, err := f.location()
	if err != nil {
		return nil, err
	}
	d, err := time.ParseInLocation("2006-01-02", date, loc)
	if err != nil {
		return nil, apperr.Invalid("date", "date must be a day like 2026-12-05")
	}
	slots := f.day(d, loc)
	if len(slots) == 0 {
		return slots, nil
	}
	from, to := slots[0].StartsAt, slots[len(slots)-1].EndsAt
	bookings, err := s.store.Bookings(ctx, f.ID, from, to)
	if err != nil {
		return nil, err
	}
	closures, err := s.store.Closures(ctx, f.ID, from, to)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	last := lastBookable(f, now, loc)
	for i := range slots {
		sl := &slots[i]
		for _, b := range bookings {
			if b.StartsAt.Before(sl.EndsAt) && b.EndsAt.After(sl.StartsAt) {
				if b.Exclusive {
					sl.Taken = sl.Capacity
				} else {
					sl.Taken++
				}
			}
		}
		sl.Taken = min(sl.Taken, sl.Capacity)
		for _, c := range closures {
			if c.From.Before(sl.EndsAt) && c.To.After(sl.StartsAt) {
				sl.Closed = true
			}
		}
		if !sl.StartsAt.After(now) || !sl.StartsAt.Before(last) {
			sl.Closed = true
		}
	}
	return slots, nil
}

// lastBookable is the end of the booking window: the end of the local day
// AdvanceDays after today.
func lastBookable(f *Facility, now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day()+f.AdvanceDays+1, 0, 0, 0, 0, loc)
}

// BookInput is a household's booking of consecutive slots.
type BookInput struct {
	FacilityID string
	StartsAt   time.Time
	// Slots is how many consecutive slots (1 when zero).
	Slots  int
	UnitID *string
}

// Book books consecutive slots of a facility for the viewer's household.
// The rules are checked here; the capacity is held by PostgreSQL, so of
// any number of concurrent bookings of the last place exactly one wins and
// the rest are CONFLICT with nothing written.
func (s *Service) Book(ctx context.Context, a *auth.Actor, in BookInput) (*Booking, error) {
	f, _, err := s.visibleFacility(ctx, a, in.FacilityID)
	if err != nil {
		return nil, err
	}
	unit, err := s.household(ctx, a, f.PropertyID, in.UnitID)
	if err != nil {
		return nil, err
	}
	if !f.Active {
		return nil, apperr.New(apperr.Conflict, "%s is not taking bookings", f.Name)
	}
	if in.Slots == 0 {
		in.Slots = 1
	}
	if in.Slots < 1 || in.Slots > f.MaxSlots {
		return nil, apperr.Invalid("slots", "the longest booking of %s is %d slot(s) of %d minutes", f.Name, f.MaxSlots, f.SlotMinutes)
	}
	loc, err := f.location()
	if err != nil {
		return nil, err
	}
	start := in.StartsAt.UTC()
	var slots []time.Time
	day := f.day(start, loc)
	for i, sl := range day {
		if sl.StartsAt.Equal(start) && i+in.Slots <= len(day) {
			for _, x := range day[i : i+in.Slots] {
				slots = append(slots, x.StartsAt)
			}
		}
	}
	if slots == nil {
		return nil, apperr.Invalid("startsAt", "%s takes bookings from %s to %s in %d-minute slots: startsAt must start one, and the booking end by closing",
			f.Name, f.Opens, f.Closes, f.SlotMinutes)
	}
	end := start.Add(time.Duration(in.Slots*f.SlotMinutes) * time.Minute)
	now := s.req.Now()
	if !start.After(now) {
		return nil, apperr.Invalid("startsAt", "that slot has already started")
	}
	if last := lastBookable(f, now, loc); !start.Before(last) {
		return nil, apperr.Invalid("startsAt", "%s is booked at most %d days ahead: the last bookable day is %s",
			f.Name, f.AdvanceDays, last.Add(-time.Minute).In(loc).Format("2006-01-02"))
	}
	b := &Booking{ID: uuid.NewString(), FacilityID: f.ID, PropertyID: f.PropertyID, UnitID: unit, BookedBy: a.PersonID,
		StartsAt: start, EndsAt: end, Exclusive: f.Exclusive(), Status: Booked, FeeCents: f.FeeCents,
		DepositCents: f.DepositCents, Currency: f.Currency, CreatedAt: now}
	err = s.run(ctx, func(rtx request.Tx, tx Tx) error {
		if err := tx.LockHousehold(ctx, unit); err != nil {
			return err
		}
		if err := s.checkSuspension(ctx, tx, unit, f.PropertyID, now, loc); err != nil {
			return err
		}
		ls := start.In(loc)
		monday := time.Date(ls.Year(), ls.Month(), ls.Day()-(int(ls.Weekday())+6)%7, 0, 0, 0, 0, loc)
		n, err := tx.CountBookings(ctx, unit, f.ID, monday, monday.AddDate(0, 0, 7))
		if err != nil {
			return err
		}
		if n >= f.WeeklyQuota {
			return apperr.New(apperr.Conflict, "your household already has %d booking(s) of %s in the week of %s, the most allowed",
				n, f.Name, monday.Format("2006-01-02"))
		}
		closed, err := tx.ClosedDuring(ctx, f.ID, start, end)
		if err != nil {
			return err
		}
		if closed {
			return apperr.New(apperr.Conflict, "%s is closed for maintenance then", f.Name)
		}
		if !b.Exclusive {
			if err := tx.TakePlaces(ctx, f, slots, 1); err != nil {
				return err
			}
		}
		if err := tx.InsertBooking(ctx, b); err != nil {
			return err
		}
		return s.announce(ctx, rtx, tx, b, f, now, "Booked")
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// announce tells the household and the property's service center of a
// booking's change, live through their inboxes.
func (s *Service) announce(ctx context.Context, rtx request.Tx, tx Tx, b *Booking, f *Facility, now time.Time, what string) error {
	people, err := tx.Residents(ctx, b.UnitID)
	if err != nil {
		return err
	}
	center, err := rtx.StaffWithRole(ctx, b.PropertyID, person.Agent, person.Manager)
	if err != nil {
		return err
	}
	loc, err := f.location()
	if err != nil {
		return err
	}
	title := fmt.Sprintf("%s: %s %s", what, f.Name, b.StartsAt.In(loc).Format("2006-01-02 15:04"))
	tell(tx, now, title, fmt.Sprintf("booking %s", b.ID), append(people, center...)...)
	return nil
}

// household is the viewer's household at the property: the one named, or
// their only one there.
func (s *Service) household(ctx context.Context, a *auth.Actor, propertyID string, want *string) (string, error) {
	if len(a.Units) == 0 {
		return "", apperr.New(apperr.Forbidden, "bookings are made by a resident for their household")
	}
	homes, err := s.store.UnitProperties(ctx, a.Units)
	if err != nil {
		return "", err
	}
	var here []string
	for _, u := range a.Units {
		if homes[u] == propertyID {
			here = append(here, u)
		}
	}
	switch {
	case want != nil:
		if !slices.Contains(here, *want) {
			return "", apperr.Invalid("unitId", "you do not live in that unit at this property")
		}
		return *want, nil
	case len(here) == 1:
		return here[0], nil
	case len(here) == 0:
		return "", apperr.ErrNotFound
	}
	return "", apperr.Invalid("unitId", "you have several homes here: say which one")
}

// checkSuspension refuses a household whose no-shows reached the
// property's limit within its window: it may book again a window after
// the last one.
func (s *Service) checkSuspension(ctx context.Context, tx Tx, unit, propertyID string, now time.Time, loc *time.Location) error {
	limit, days, err := tx.NoShowRule(ctx, propertyID)
	if err != nil {
		return err
	}
	window := time.Duration(days) * 24 * time.Hour
	shows, err := tx.NoShows(ctx, unit, propertyID, now.Add(-window))
	if err != nil {
		return err
	}
	if len(shows) >= limit {
		until := shows[len(shows)-1].Add(window)
		return apperr.New(apperr.Forbidden, "after %d no-shows your household may book again from %s",
			len(shows), until.In(loc).Format("2006-01-02 15:04"))
	}
	return nil
}

// visibleBooking is a booking the viewer may see: their household's, or
// one at a property they work at.
func (s *Service) visibleBooking(ctx context.Context, a *auth.Actor, id string) (*Booking, scope, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, sc, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, sc, apperr.ErrNotFound
	}
	b, err := s.store.BookingByID(ctx, id)
	if err != nil {
		return nil, sc, err
	}
	if !sc.household(b.UnitID) && !sc.staffAt(b.PropertyID) {
		return nil, sc, apperr.ErrNotFound
	}
	return b, sc, nil
}

// Cancel cancels a booking: the household up to the facility's cut-off
// before it starts, the property's staff at any time before it starts.
func (s *Service) Cancel(ctx context.Context, a *auth.Actor, id string) (*Booking, error) {
	seen, sc, err := s.visibleBooking(ctx, a, id)
	if err != nil {
		return nil, err
	}
	f, err := s.store.Facility(ctx, seen.FacilityID)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	var out *Booking
	err = s.run(ctx, func(rtx request.Tx, tx Tx) error {
		b, err := tx.LockBooking(ctx, id)
		if err != nil {
			return err
		}
		if b.Status != Booked {
			return apperr.New(apperr.Conflict, "cannot cancel a booking that is %s", b.Status)
		}
		if !b.StartsAt.After(now) {
			return apperr.New(apperr.Conflict, "the booking has already started")
		}
		cutoff := b.StartsAt.Add(-time.Duration(f.CancelHours) * time.Hour)
		if !sc.staffAt(b.PropertyID) && now.After(cutoff) {
			return apperr.New(apperr.Conflict, "%s bookings are cancelled at least %d hours ahead; ask the service center", f.Name, f.CancelHours)
		}
		b.Status, b.CancelledAt, b.MarkedBy = Cancelled, &now, &a.PersonID
		if err := tx.UpdateBooking(ctx, b); err != nil {
			return err
		}
		if !b.Exclusive {
			var slots []time.Time
			for t := b.StartsAt; t.Before(b.EndsAt); t = t.Add(time.Duration(f.SlotMinutes) * time.Minute) {
				slots = append(slots, t)
			}
			if err := tx.TakePlaces(ctx, f, slots, -1); err != nil {
				return err
			}
		}
		out = b
		return s.announce(ctx, rtx, tx, b, f, now, "Cancelled")
	})
	return out, err
}

// CheckIn records, for the property's staff, that the household came
// (attended) or did not (a no-show, counted towards suspension). A
// check-in opens half an hour before the start; a no-show is marked once
// the booking has started.
func (s *Service) CheckIn(ctx context.Context, a *auth.Actor, id string, attended bool) (*Booking, error) {
	seen, sc, err := s.visibleBooking(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !sc.staffAt(seen.PropertyID) {
		return nil, apperr.New(apperr.Forbidden, "the property's staff check bookings in")
	}
	f, err := s.store.Facility(ctx, seen.FacilityID)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	var out *Booking
	err = s.run(ctx, func(rtx request.Tx, tx Tx) error {
		b, err := tx.LockBooking(ctx, id)
		if err != nil {
			return err
		}
		if b.Status != Booked {
			return apperr.New(apperr.Conflict, "the booking is already %s", b.Status)
		}
		what := "Checked in"
		if attended {
			if now.Before(b.StartsAt.Add(-30*time.Minute)) || !now.Before(b.EndsAt) {
				return apperr.New(apperr.Conflict, "check-in is open from half an hour before the booking until it ends")
			}
			b.Status, b.CheckedInAt = CheckedIn, &now
		} else {
			if now.Before(b.StartsAt) {
				return apperr.New(apperr.Conflict, "a no-show is marked once the booking has started")
			}
			b.Status, what = NoShow, "No-show"
		}
		b.MarkedBy = &a.PersonID
		if err := tx.UpdateBooking(ctx, b); err != nil {
			return err
		}
		out = b
		return s.announce(ctx, rtx, tx, b, f, now, what)
	})
	return out, err
}

// MyBookings lists the viewer's households' bookings that have not ended.
func (s *Service) MyBookings(ctx context.Context, a *auth.Actor) ([]*Booking, error) {
	if len(a.Units) == 0 {
		return []*Booking{}, nil
	}
	return s.store.BookingsOf(ctx, a.Units, s.req.Now())
}

// Booking returns a booking the viewer may see.
func (s *Service) Booking(ctx context.Context, a *auth.Actor, id string) (*Booking, error) {
	b, _, err := s.visibleBooking(ctx, a, id)
	return b, err
}

// FacilityOf returns a booking's facility (already known to be visible
// through the booking).
func (s *Service) FacilityOf(ctx context.Context, id string) (*Facility, error) {
	return s.store.Facility(ctx, id)
}

// FacilityBookings lists, for the property's staff, a facility's bookings
// on a local date, to check them in at the door.
func (s *Service) FacilityBookings(ctx context.Context, a *auth.Actor, facilityID, date string) ([]*Booking, error) {
	f, sc, err := s.visibleFacility(ctx, a, facilityID)
	if err != nil {
		return nil, err
	}
	if !sc.staffAt(f.PropertyID) {
		return nil, apperr.New(apperr.Forbidden, "the property's staff see its bookings")
	}
	loc, err := f.location()
	if err != nil {
		return nil, err
	}
	d, err := time.ParseInLocation("2006-01-02", date, loc)
	if err != nil {
		return nil, apperr.Invalid("date", "date must be a day like 2026-12-05")
	}
	out, err := s.store.Bookings(ctx, f.ID, d, d.AddDate(0, 0, 1))
	if len(out) > maxDayBookings {
		out = out[:maxDayBookings]
	}
	return out, err
}

// maxDayBookings bounds one facility's day as the console reads it.
const maxDayBookings = 500

// CloseFacility shuts a facility for a time (maintenance), for the
// property's manager or director: no booking may then be made in it.
// Bookings already made are left for the service center to move.
func (s *Service) CloseFacility(ctx context.Context, a *auth.Actor, facilityID string, from, to time.Time, reason string) (*Closure, error) {
	f, _, err := s.visibleFacility(ctx, a, facilityID)
	if err != nil {
		return nil, err
	}
	if role, ok := a.RoleAt(f.PropertyID); !a.Admin && (!ok || (role != person.Manager && role != person.Director)) {
		return nil, apperr.New(apperr.Forbidden, "the property's manager or director closes a facility")
	}
	why, err := request.Text("reason", reason, true)
	if err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, apperr.Invalid("to", "a closure must end after it starts")
	}
	c := &Closure{FacilityID: f.ID, From: from.UTC(), To: to.UTC(), Reason: *why}
	err = s.req.Run(ctx, func(rtx request.Tx) error {
		tx := s.store.Tx(rtx)
		if err := tx.InsertClosure(ctx, c); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Change{ActorID: a.PersonID, At: s.req.Now(), PropertyID: &f.PropertyID,
			Action: "closeFacility", Entity: "facility", EntityID: f.ID, After: c})
	})
	return c, err
}
