package admin

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// Shift is one of a property's shifts: local "15:04" times; Ends before
// Starts for a shift that runs past midnight.
type Shift struct {
	Code   string `db:"code" json:"code"`
	Starts string `db:"starts" json:"starts"`
	Ends   string `db:"ends" json:"ends"`
}

// ShiftSpan is a shift as it runs on one day.
type ShiftSpan struct {
	Code             string
	StartsAt, EndsAt time.Time
}

// MaxShifts bounds a property's shifts.
const MaxShifts = 20

var shiftCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,19}$`)

// On returns the shift as it runs on the local day of t in loc. time.Date
// resolves the local start and end on their own days, so the instants
// follow daylight saving.
func (s Shift) On(t time.Time, loc *time.Location) ShiftSpan {
	d := t.In(loc)
	at := func(hhmm string, day int) time.Time {
		hm, _ := time.Parse("15:04", hhmm)
		return time.Date(d.Year(), d.Month(), day, hm.Hour(), hm.Minute(), 0, 0, loc)
	}
	start, end := at(s.Starts, d.Day()), at(s.Ends, d.Day())
	if s.Ends <= s.Starts {
		end = at(s.Ends, d.Day()+1)
	}
	return ShiftSpan{Code: s.Code, StartsAt: start, EndsAt: end}
}

// Today places a worker's shift on the board: the span of the local day
// of now, and whether now falls in it or in yesterday's span (a night
// shift that started yesterday runs into today).
func (s Shift) Today(now time.Time, loc *time.Location) (ShiftSpan, bool) {
	today := s.On(now, loc)
	yesterday := s.On(now.In(loc).AddDate(0, 0, -1), loc)
	in := func(sp ShiftSpan) bool { return !now.Before(sp.StartsAt) && now.Before(sp.EndsAt) }
	return today, in(today) || in(yesterday)
}

// checkShifts validates a property's new shifts: 1 to MaxShifts, codes
// unique, times "HH:MM" and a start different from the end.
func checkShifts(in []Shift) ([]Shift, error) {
	if len(in) == 0 || len(in) > MaxShifts {
		return nil, apperr.Invalid("shifts", "a property has 1 to %d shifts", MaxShifts)
	}
	out := make([]Shift, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		s.Code = strings.ToUpper(strings.TrimSpace(s.Code))
		if !shiftCode.MatchString(s.Code) {
			return nil, apperr.Invalid("shifts", "shift code %q must be 1-20 capital letters, digits or underscores, starting with a letter", s.Code)
		}
		if seen[s.Code] {
			return nil, apperr.Invalid("shifts", "shift %s is given twice", s.Code)
		}
		seen[s.Code] = true
		for _, t := range []string{s.Starts, s.Ends} {
			if _, err := time.Parse("15:04", t); err != nil || len(t) != 5 {
				return nil, apperr.Invalid("shifts", "shift %s: %q is not a local time such as 07:00", s.Code, t)
			}
		}
		if s.Starts == s.Ends {
			return nil, apperr.Invalid("shifts", "shift %s starts when it ends", s.Code)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Shift) int { return strings.Compare(a.Starts+a.Code, b.Starts+b.Code) })
	return out, nil
}

// Shifts lists a property's shifts, by start; for its staff and admins.
func (s *Service) Shifts(ctx context.Context, a *auth.Actor, propertyID string) ([]Shift, error) {
	if err := parseID(propertyID); err != nil {
		return nil, err
	}
	if _, staff := a.RoleAt(propertyID); !staff && !a.Admin {
		return nil, apperr.ErrNotFound
	}
	return s.store.Shifts(ctx, propertyID)
}

// ShiftsOf lists a property's shifts for a caller that already may see
// the property (a guard post's).
func (s *Service) ShiftsOf(ctx context.Context, propertyID string) ([]Shift, error) {
	return s.store.Shifts(ctx, propertyID)
}

// SetShifts replaces a property's shifts. A shift someone still works
// cannot be removed: put them on another first. Its manager or director,
// or an admin.
func (s *Service) SetShifts(ctx context.Context, a *auth.Actor, propertyID string, shifts []Shift) ([]Shift, error) {
	if err := parseID(propertyID); err != nil {
		return nil, err
	}
	if err := manages(a, propertyID); err != nil {
		return nil, err
	}
	next, err := checkShifts(shifts)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		cur, err := tx.LockShifts(ctx, propertyID)
		if err != nil {
			return err
		}
		used, err := tx.ShiftsInUse(ctx, propertyID)
		if err != nil {
			return err
		}
		for _, code := range used {
			if !slices.ContainsFunc(next, func(s Shift) bool { return s.Code == code }) {
				return apperr.Invalid("shifts", "shift %s is still worked; put its staff on another shift first", code)
			}
		}
		if err := tx.ReplaceShifts(ctx, propertyID, next); err != nil {
			return err
		}
		return record(ctx, tx, a, now, &propertyID, "setShifts", "property", propertyID, cur, next)
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// SetStaffShift puts a worker on one of the property's shifts, or (nil)
// off any, and answers their board entry. Its manager or director, or an
// admin.
func (s *Service) SetStaffShift(ctx context.Context, a *auth.Actor, personID, propertyID string, code *string) (*BoardRow, error) {
	for _, id := range []string{personID, propertyID} {
		if err := parseID(id); err != nil {
			return nil, err
		}
	}
	if err := manages(a, propertyID); err != nil {
		return nil, err
	}
	if code != nil {
		c := strings.ToUpper(strings.TrimSpace(*code))
		code = &c
	}
	now := s.req.Now()
	err := s.run(ctx, func(_ request.Tx, tx Tx) error {
		shifts, err := tx.LockShifts(ctx, propertyID)
		if err != nil {
			return err
		}
		if code != nil && !slices.ContainsFunc(shifts, func(s Shift) bool { return s.Code == *code }) {
			return apperr.Invalid("shift", "the property has no shift %s", *code)
		}
		before, ok, err := tx.SetStaffShift(ctx, personID, propertyID, code)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.Invalid("personId", "not a staff member of this property")
		}
		return record(ctx, tx, a, now, &propertyID, "setStaffShift", "person", personID,
			map[string]any{"shift": before}, map[string]any{"shift": code})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.store.StaffBoard(ctx, propertyID, &personID)
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("admin: board row of %s at %s: %d rows", personID, propertyID, len(rows))
	}
	s.placeShifts(rows)
	return &rows[0], nil
}

// placeShifts sets each row's shift today and whether they are on it now.
func (s *Service) placeShifts(rows []BoardRow) {
	now := s.req.Now()
	for i := range rows {
		r := &rows[i]
		if r.Shift == nil {
			continue
		}
		loc, err := property.LoadTimeZone(r.TimeZone)
		if err != nil {
			loc = time.UTC // the zone is checked when it is set
		}
		span, on := r.Shift.Today(now, loc)
		r.ShiftToday, r.OnShift = &span, on
	}
}
