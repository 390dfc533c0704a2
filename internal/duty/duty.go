// Package duty is the front desk's staffing: guard posts with their shifts
// and standing windows, guards checking in and out of a post, and the
// greeting duty (迎候) rota of the management staff, with its swaps,
// check-ins, reminders and missed windows.
package duty

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
)

// The notification kinds of greeting duty.
const (
	// KindReminder reminds the person on duty before the window.
	KindReminder notification.Kind = "GREETING_REMINDER"
	// KindMissed tells the managers nobody checked in for a window.
	KindMissed notification.Kind = "GREETING_MISSED"
	// KindSwap tells the managers a swap waits for approval, and the two
	// staff what was decided.
	KindSwap notification.Kind = "GREETING_SWAP"
)

// RemindBefore is how long before a greeting window its person is reminded.
const RemindBefore = 15 * time.Minute

// CheckInEarliest is how long before a window a check-in is taken.
const CheckInEarliest = 30 * time.Minute

// Post is a guard post: an estate gate, a lobby or a car park.
type Post struct {
	ID         string   `db:"id"`
	PropertyID string   `db:"property_id"`
	Code       string   `db:"code"`
	Name       string   `db:"name"`
	Kind       string   `db:"kind"`
	Standing   []string `db:"-"`
	// OnDuty are the guards checked in now.
	OnDuty []string `db:"-"`
}

// CheckIn is one guard's time at a post.
type CheckIn struct {
	ID           string     `db:"id"`
	PostID       string     `db:"post_id"`
	GuardID      string     `db:"guard_id"`
	CheckedInAt  time.Time  `db:"checked_in_at"`
	CheckedOutAt *time.Time `db:"checked_out_at"`
}

// Coverage is how a greeting window went.
type Coverage string

// The coverages.
const (
	Upcoming Coverage = "UPCOMING"
	Open     Coverage = "OPEN"
	OnTime   Coverage = "STAFFED"
	Late     Coverage = "LATE"
	Missed   Coverage = "MISSED"
)

// Duty is one greeting window and the person who stands it.
type Duty struct {
	ID          string     `db:"id"`
	PropertyID  string     `db:"property_id"`
	Day         time.Time  `db:"day"`
	StartsAt    time.Time  `db:"starts_at"`
	EndsAt      time.Time  `db:"ends_at"`
	PersonID    string     `db:"person_id"`
	CheckedInAt *time.Time `db:"checked_in_at"`
}

// CoverageAt says how the window stands at now: staffed on time (checked
// in by the start), late (after the start, before the end), missed (no
// check-in by the end), or still to come.
func (d Duty) CoverageAt(now time.Time) Coverage {
	switch {
	case d.CheckedInAt != nil && !d.CheckedInAt.After(d.StartsAt):
		return OnTime
	case d.CheckedInAt != nil:
		return Late
	case !now.Before(d.EndsAt):
		return Missed
	case !now.Before(d.StartsAt):
		return Open
	}
	return Upcoming
}

// Swap is a request to trade two greeting windows.
type Swap struct {
	ID          string     `db:"id"`
	PropertyID  string     `db:"property_id"`
	DutyID      string     `db:"duty_id"`
	WithDutyID  string     `db:"with_duty_id"`
	RequestedBy string     `db:"requested_by"`
	Status      string     `db:"status"`
	DecidedBy   *string    `db:"decided_by"`
	CreatedAt   time.Time  `db:"created_at"`
	DecidedAt   *time.Time `db:"decided_at"`
}

// Window is a property's greeting window setting.
type Window struct {
	Zone *time.Location
	// WeekdayStart and HolidayStart are local "15:04" times; empty: no
	// window on such days.
	WeekdayStart string
	HolidayStart string
	Minutes      int
	Point        string
	Holidays     []time.Time
}

// Store is the storage duty needs.
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	Posts(ctx context.Context, propertyID string) ([]Post, error)
	PostByID(ctx context.Context, id string) (Post, error)
	Duties(ctx context.Context, propertyID string, from, to time.Time) ([]Duty, error)
	Window(ctx context.Context, propertyID string) (Window, error)
	// SetGreetingWindow writes the property's greeting window and, in the
	// same transaction, calls record with the one it replaced.
	SetGreetingWindow(ctx context.Context, propertyID string, weekday, holiday *string, minutes int, holidays []string, record func(w audit.Writer, before Window) error) error
}

// Tx is what one duty change reads and writes.
type Tx interface {
	Post(ctx context.Context, id string) (Post, error)
	OpenCheckIn(ctx context.Context, guardID string) (*CheckIn, error)
	InsertCheckIn(ctx context.Context, c *CheckIn) error
	CheckOut(ctx context.Context, id string, at time.Time) error
	// Rota staff: the property's management staff, with how many greeting
	// windows each has stood before from.
	RotaStaff(ctx context.Context, propertyID string, before time.Time) ([]Load, error)
	DutiesBetween(ctx context.Context, propertyID string, from, to time.Time) ([]Duty, error)
	InsertDuty(ctx context.Context, d *Duty) error
	DutyForUpdate(ctx context.Context, id string) (Duty, error)
	SetDutyPerson(ctx context.Context, id, personID string) error
	SetCheckedIn(ctx context.Context, id string, at time.Time) error
	InsertSwap(ctx context.Context, s *Swap) error
	SwapForUpdate(ctx context.Context, id string) (Swap, error)
	DecideSwap(ctx context.Context, id, status, by string, at time.Time) error
	Managers(ctx context.Context, propertyID string) ([]string, error)
	// DueReminders and DueMissed lock the windows to remind of and the
	// missed ones not yet reported, skipping rows another instance holds,
	// and mark them done.
	DueReminders(ctx context.Context, now time.Time, before time.Duration, limit int) ([]Duty, error)
	DueMissed(ctx context.Context, now time.Time, limit int) ([]Duty, error)
	Notify(ns ...notification.Notification)
}

// Load is one staff member and the greeting windows they have stood.
type Load struct {
	PersonID string `db:"person_id"`
	Count    int    `db:"count"`
}

// Service runs posts and greeting duty.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns the duty service.
func NewService(store Store, clk clock.Clock) *Service { return &Service{store: store, clock: clk} }

func isStaff(a *auth.Actor, propertyID string) bool {
	_, ok := a.RoleAt(propertyID)
	return a.Admin || ok
}

func isManager(a *auth.Actor, propertyID string) bool {
	r, ok := a.RoleAt(propertyID)
	return a.Admin || (ok && (r == person.Manager || r == person.Director))
}

// RotaRoles are the management staff who take turns at the greeting point.
var RotaRoles = []person.Role{person.Agent, person.Butler, person.Manager, person.Director}

// Posts lists a property's posts with who is on duty at each; for its staff.
func (s *Service) Posts(ctx context.Context, a *auth.Actor, propertyID string) ([]Post, error) {
	if !isStaff(a, propertyID) {
		return nil, apperr.ErrNotFound
	}
	return s.store.Posts(ctx, propertyID)
}

// CheckInPost puts a guard at a post; a guard still checked in elsewhere
// is checked out there first.
func (s *Service) CheckInPost(ctx context.Context, a *auth.Actor, postID string) (CheckIn, error) {
	var c CheckIn
	err := s.store.InTx(ctx, func(tx Tx) error {
		p, err := tx.Post(ctx, postID)
		if err != nil {
			return err
		}
		if r, ok := a.RoleAt(p.PropertyID); !ok || r != person.Guard {
			if isStaff(a, p.PropertyID) {
				return apperr.New(apperr.Forbidden, "only the property's guards stand at posts")
			}
			return apperr.ErrNotFound
		}
		now := s.clock.Now()
		open, err := tx.OpenCheckIn(ctx, a.PersonID)
		if err != nil {
			return err
		}
		if open != nil {
			if open.PostID == postID {
				c = *open
				return nil
			}
			if err := tx.CheckOut(ctx, open.ID, now); err != nil {
				return err
			}
		}
		c = CheckIn{PostID: postID, GuardID: a.PersonID, CheckedInAt: now}
		return tx.InsertCheckIn(ctx, &c)
	})
	return c, err
}

// CheckOutPost ends the guard's time at a post.
func (s *Service) CheckOutPost(ctx context.Context, a *auth.Actor, postID string) (CheckIn, error) {
	var c CheckIn
	err := s.store.InTx(ctx, func(tx Tx) error {
		p, err := tx.Post(ctx, postID)
		if err != nil {
			return err
		}
		if !isStaff(a, p.PropertyID) {
			return apperr.ErrNotFound
		}
		open, err := tx.OpenCheckIn(ctx, a.PersonID)
		if err != nil {
			return err
		}
		if open == nil || open.PostID != postID {
			return apperr.New(apperr.Conflict, "you are not checked in at this post")
		}
		now := s.clock.Now()
		c = *open
		c.CheckedOutAt = &now
		return tx.CheckOut(ctx, open.ID, now)
	})
	return c, err
}

// ParseMonth reads "2026-12" as the first instant of that month in loc.
func ParseMonth(month string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		return time.Time{}, apperr.Invalid("month", "a month such as 2026-12")
	}
	return t, nil
}

// Windows lists the greeting windows of a month: one a day, at the
// weekday or holiday start in the property's zone. time.Date resolves each
// local start on its own day, so the UTC instants follow daylight saving.
func Windows(w Window, month time.Time) ([][2]time.Time, error) {
	var out [][2]time.Time
	for d := month; d.Month() == month.Month(); d = d.AddDate(0, 0, 1) {
		start := w.WeekdayStart
		holiday := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		for _, h := range w.Holidays {
			if h.Year() == d.Year() && h.Month() == d.Month() && h.Day() == d.Day() {
				holiday = true
			}
		}
		if holiday {
			start = w.HolidayStart
		}
		if start == "" {
			continue
		}
		hm, err := time.Parse("15:04", start)
		if err != nil {
			return nil, fmt.Errorf("greeting window %q: %w", start, err)
		}
		s := time.Date(d.Year(), d.Month(), d.Day(), hm.Hour(), hm.Minute(), 0, 0, w.Zone)
		out = append(out, [2]time.Time{s, s.Add(time.Duration(w.Minutes) * time.Minute)})
	}
	return out, nil
}

// Rota answers a property's greeting windows of a month (local), for its
// staff.
func (s *Service) Rota(ctx context.Context, a *auth.Actor, propertyID, month string) ([]Duty, error) {
	if !isStaff(a, propertyID) {
		return nil, apperr.ErrNotFound
	}
	w, err := s.store.Window(ctx, propertyID)
	if err != nil {
		return nil, err
	}
	m, err := ParseMonth(month, w.Zone)
	if err != nil {
		return nil, err
	}
	return s.store.Duties(ctx, propertyID, m, m.AddDate(0, 1, 0))
}

// GenerateRota fills a month's greeting windows fairly: each window goes
// to whoever has stood the fewest so far (counting earlier months, then
// this one as it fills), ties to the one who stood longest ago in this
// month, then by id. Windows already on the rota are kept; so the whole
// month ends with counts at most one apart among those who started level.
// For the property's managers, director and admins.
func (s *Service) GenerateRota(ctx context.Context, a *auth.Actor, propertyID, month string) ([]Duty, error) {
	if !isManager(a, propertyID) {
		if isStaff(a, propertyID) {
			return nil, apperr.New(apperr.Forbidden, "only the property's manager or director")
		}
		return nil, apperr.ErrNotFound
	}
	w, err := s.store.Window(ctx, propertyID)
	if err != nil {
		return nil, err
	}
	m, err := ParseMonth(month, w.Zone)
	if err != nil {
		return nil, err
	}
	windows, err := Windows(w, m)
	if err != nil {
		return nil, err
	}
	end := m.AddDate(0, 1, 0)
	err = s.store.InTx(ctx, func(tx Tx) error {
		staff, err := tx.RotaStaff(ctx, propertyID, m)
		if err != nil {
			return err
		}
		if len(staff) == 0 {
			return apperr.New(apperr.Conflict, "the property has no management staff to take turns")
		}
		existing, err := tx.DutiesBetween(ctx, propertyID, m, end)
		if err != nil {
			return err
		}
		count := map[string]int{}
		lastTurn := map[string]int{}
		for _, l := range staff {
			count[l.PersonID] = l.Count
			lastTurn[l.PersonID] = -1
		}
		have := map[string]bool{}
		for i, d := range existing {
			have[d.Day.Format(time.DateOnly)] = true
			count[d.PersonID]++
			lastTurn[d.PersonID] = i
		}
		for i, win := range windows {
			day := win[0].In(w.Zone).Format(time.DateOnly)
			if have[day] {
				continue
			}
			best := slices.MinFunc(staff, func(x, y Load) int {
				if c := count[x.PersonID] - count[y.PersonID]; c != 0 {
					return c
				}
				if c := lastTurn[x.PersonID] - lastTurn[y.PersonID]; c != 0 {
					return c
				}
				return strings.Compare(x.PersonID, y.PersonID)
			})
			dayT, _ := time.ParseInLocation(time.DateOnly, day, time.UTC)
			d := Duty{PropertyID: propertyID, Day: dayT, StartsAt: win[0], EndsAt: win[1], PersonID: best.PersonID}
			if err := tx.InsertDuty(ctx, &d); err != nil {
				return err
			}
			count[best.PersonID]++
			lastTurn[best.PersonID] = len(existing) + i
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.store.Duties(ctx, propertyID, m, end)
}

// RequestSwap asks to trade the actor's window for a colleague's; the
// property's managers are told, and one of them decides.
func (s *Service) RequestSwap(ctx context.Context, a *auth.Actor, dutyID, withDutyID string) (Swap, error) {
	var sw Swap
	err := s.store.InTx(ctx, func(tx Tx) error {
		d, err := tx.DutyForUpdate(ctx, dutyID)
		if err != nil {
			return err
		}
		if d.PersonID != a.PersonID && !isManager(a, d.PropertyID) {
			return apperr.ErrNotFound
		}
		o, err := tx.DutyForUpdate(ctx, withDutyID)
		if err != nil {
			return err
		}
		if o.PropertyID != d.PropertyID {
			return apperr.ErrNotFound
		}
		if o.PersonID == d.PersonID {
			return apperr.Invalid("withDutyId", "both windows are the same person's")
		}
		now := s.clock.Now()
		if !d.StartsAt.After(now) || !o.StartsAt.After(now) {
			return apperr.New(apperr.Conflict, "only windows still to come can be swapped")
		}
		sw = Swap{PropertyID: d.PropertyID, DutyID: d.ID, WithDutyID: o.ID, RequestedBy: a.PersonID, Status: "PENDING", CreatedAt: now}
		if err := tx.InsertSwap(ctx, &sw); err != nil {
			return err
		}
		managers, err := tx.Managers(ctx, d.PropertyID)
		if err != nil {
			return err
		}
		for _, m := range managers {
			tx.Notify(notification.Notification{PersonID: m, Kind: KindSwap, CreatedAt: now, Title: "A greeting duty swap waits for approval",
				Body: d.Day.Format(time.DateOnly) + " ⇄ " + o.Day.Format(time.DateOnly)})
		}
		return nil
	})
	return sw, err
}

// DecideSwap approves (the two windows change hands) or declines a swap;
// for the property's managers, director and admins.
func (s *Service) DecideSwap(ctx context.Context, a *auth.Actor, swapID string, approve bool) (Swap, error) {
	var sw Swap
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if sw, err = tx.SwapForUpdate(ctx, swapID); err != nil {
			return err
		}
		if !isManager(a, sw.PropertyID) {
			if isStaff(a, sw.PropertyID) {
				return apperr.New(apperr.Forbidden, "a manager approves swaps")
			}
			return apperr.ErrNotFound
		}
		if sw.Status != "PENDING" {
			return apperr.New(apperr.Conflict, "the swap was already %s", strings.ToLower(sw.Status))
		}
		now := s.clock.Now()
		sw.Status, sw.DecidedBy, sw.DecidedAt = "DECLINED", &a.PersonID, &now
		d, err := tx.DutyForUpdate(ctx, sw.DutyID)
		if err != nil {
			return err
		}
		o, err := tx.DutyForUpdate(ctx, sw.WithDutyID)
		if err != nil {
			return err
		}
		if approve {
			if !d.StartsAt.After(now) || !o.StartsAt.After(now) {
				return apperr.New(apperr.Conflict, "a window has already begun")
			}
			sw.Status = "APPROVED"
			if err := tx.SetDutyPerson(ctx, d.ID, o.PersonID); err != nil {
				return err
			}
			if err := tx.SetDutyPerson(ctx, o.ID, d.PersonID); err != nil {
				return err
			}
		}
		for _, p := range []string{d.PersonID, o.PersonID} {
			tx.Notify(notification.Notification{PersonID: p, Kind: KindSwap, CreatedAt: now, Title: "Greeting duty swap " + strings.ToLower(sw.Status),
				Body: d.Day.Format(time.DateOnly) + " ⇄ " + o.Day.Format(time.DateOnly)})
		}
		return tx.DecideSwap(ctx, sw.ID, sw.Status, a.PersonID, now)
	})
	return sw, err
}

// CheckInGreeting records the person on duty at the greeting point, from
// half an hour before the window until its end.
func (s *Service) CheckInGreeting(ctx context.Context, a *auth.Actor, dutyID string) (Duty, error) {
	var d Duty
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if d, err = tx.DutyForUpdate(ctx, dutyID); err != nil {
			return err
		}
		if d.PersonID != a.PersonID {
			if isStaff(a, d.PropertyID) {
				return apperr.New(apperr.Forbidden, "the window is someone else's")
			}
			return apperr.ErrNotFound
		}
		now := s.clock.Now()
		switch {
		case d.CheckedInAt != nil:
			return nil
		case now.Before(d.StartsAt.Add(-CheckInEarliest)):
			return apperr.New(apperr.Conflict, "too early: check in from half an hour before the window")
		case !now.Before(d.EndsAt):
			return apperr.New(apperr.Conflict, "the window is over")
		}
		d.CheckedInAt = &now
		return tx.SetCheckedIn(ctx, d.ID, now)
	})
	return d, err
}

// Remind is a scheduled job: the person on duty is reminded RemindBefore
// a window, and the managers are told of each window that ended with no
// check-in.
func (s *Service) Remind(ctx context.Context) (int, error) {
	n := 0
	err := s.store.InTx(ctx, func(tx Tx) error {
		now := s.clock.Now()
		due, err := tx.DueReminders(ctx, now, RemindBefore, 100)
		if err != nil {
			return err
		}
		for _, d := range due {
			tx.Notify(notification.Notification{PersonID: d.PersonID, Kind: KindReminder, CreatedAt: now,
				Title: fmt.Sprintf("Greeting duty in %d minutes", int(d.StartsAt.Sub(now).Round(time.Minute).Minutes())), Body: "Check in at the greeting point in the app."})
		}
		missed, err := tx.DueMissed(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, d := range missed {
			managers, err := tx.Managers(ctx, d.PropertyID)
			if err != nil {
				return err
			}
			for _, m := range managers {
				tx.Notify(notification.Notification{PersonID: m, Kind: KindMissed, CreatedAt: now,
					Title: "Greeting window of " + d.Day.Format(time.DateOnly) + " missed", Body: "Nobody checked in at the greeting point."})
			}
		}
		n = len(due) + len(missed)
		return nil
	})
	return n, err
}

// SetWindow sets a property's greeting window: local "15:04" starts on
// working days and on weekends and holidays (nil: no window then), its
// length in minutes, and the holidays (2026-12-25). For the property's
// managers, director and admins; written to the audit log.
func (s *Service) SetWindow(ctx context.Context, a *auth.Actor, propertyID string, weekday, holiday *string, minutes int, holidays []string) error {
	if !isManager(a, propertyID) {
		if isStaff(a, propertyID) {
			return apperr.New(apperr.Forbidden, "only the property's manager or director")
		}
		return apperr.ErrNotFound
	}
	for field, v := range map[string]*string{"weekdayStart": weekday, "holidayStart": holiday} {
		if v == nil {
			continue
		}
		if _, err := time.Parse("15:04", *v); err != nil || len(*v) != 5 {
			return apperr.Invalid(field, "a local time such as 08:30")
		}
	}
	if minutes < 5 || minutes > 240 {
		return apperr.Invalid("minutes", "between 5 and 240")
	}
	if len(holidays) > 100 {
		return apperr.Invalid("holidays", "at most 100 holidays")
	}
	for _, h := range holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return apperr.Invalid("holidays", "dates such as 2026-12-25")
		}
	}
	now := s.clock.Now()
	after := windowView{WeekdayStart: weekday, HolidayStart: holiday, Minutes: minutes, Holidays: holidays}
	if after.Holidays == nil {
		after.Holidays = []string{}
	}
	return s.store.SetGreetingWindow(ctx, propertyID, weekday, holiday, minutes, holidays, func(w audit.Writer, before Window) error {
		return audit.Record(ctx, w, audit.Change{ActorID: a.PersonID, At: now, PropertyID: &propertyID, Action: "setGreetingWindow",
			Entity: "property", EntityID: propertyID, Before: viewWindow(before), After: after})
	})
}

// windowView is how the audit log shows a greeting window: as the API
// spells it.
type windowView struct {
	WeekdayStart *string  `json:"weekdayStart"`
	HolidayStart *string  `json:"holidayStart"`
	Minutes      int      `json:"minutes"`
	Holidays     []string `json:"holidays"`
}

func viewWindow(w Window) windowView {
	v := windowView{Minutes: w.Minutes, Holidays: []string{}}
	if w.WeekdayStart != "" {
		v.WeekdayStart = &w.WeekdayStart
	}
	if w.HolidayStart != "" {
		v.HolidayStart = &w.HolidayStart
	}
	for _, h := range w.Holidays {
		v.Holidays = append(v.Holidays, h.Format(time.DateOnly))
	}
	return v
}

// Post reads one post, for a caller that already may see it (a visit's).
func (s *Service) Post(ctx context.Context, id string) (Post, error) {
	return s.store.PostByID(ctx, id)
}

// Now is the service's clock, by which a window's coverage is judged.
func (s *Service) Now() time.Time { return s.clock.Now() }
