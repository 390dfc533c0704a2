// Package promise computes promise times: when a job of a given completion
// target is due if started now, counting either every minute or only the
// property's business hours, in the property's own time zone.
package promise

import (
	"slices"
	"time"
)

// Hours are a property's business hours.
type Hours struct {
	// Open and Close are offsets from local midnight.
	Open, Close time.Duration
	// Days are the working weekdays.
	Days []time.Weekday
	Loc  *time.Location
}

// Due returns when work of the given length, started at start, is due.
// With businessOnly the minutes are counted inside business hours only: a
// two-hour job accepted at 17:00 on a Friday is due at 10:00 on Monday.
func Due(start time.Time, minutes int, businessOnly bool, h Hours) time.Time {
	need := time.Duration(minutes) * time.Minute
	if !businessOnly || len(h.Days) == 0 || h.Close <= h.Open {
		return start.Add(need)
	}
	t := start.In(h.Loc)
	// A bounded walk: at most one step per day, and no target spans years.
	for i := 0; i < 3660 && need > 0; i++ {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, h.Loc)
		open, close := at(day, h.Open), at(day, h.Close)
		if slices.Contains(h.Days, day.Weekday()) && t.Before(close) {
			if t.Before(open) {
				t = open
			}
			if left := close.Sub(t); left >= need {
				return t.Add(need)
			} else {
				need -= left
			}
		}
		t = at(day.AddDate(0, 0, 1), 0)
	}
	return t
}

// at is day's local wall clock at offset d, correct across daylight-saving
// changes because it goes through the calendar, not through Add.
func at(day time.Time, d time.Duration) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, day.Location())
}

// WarnAt returns when a promise running from start to due has used up the
// given fraction of its time.
func WarnAt(start, due time.Time, fraction float64) time.Time {
	return start.Add(time.Duration(float64(due.Sub(start)) * fraction))
}
