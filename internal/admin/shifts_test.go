package admin

import (
	"testing"
	"time"
)

func TestShiftToday(t *testing.T) {
	hk, _ := time.LoadLocation("Asia/Hong_Kong")
	london, _ := time.LoadLocation("Europe/London")
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	night := Shift{Code: "NIGHT", Starts: "23:00", Ends: "07:00"}
	early := Shift{Code: "EARLY", Starts: "07:00", Ends: "15:00"}
	cases := []struct {
		name       string
		s          Shift
		now        time.Time
		loc        *time.Location
		start, end time.Time
		on         bool
	}{
		{"a day shift under way", early, at(hk, 2026, 11, 27, 10, 0), hk, at(hk, 2026, 11, 27, 7, 0), at(hk, 2026, 11, 27, 15, 0), true},
		{"a day shift over", early, at(hk, 2026, 11, 27, 15, 0), hk, at(hk, 2026, 11, 27, 7, 0), at(hk, 2026, 11, 27, 15, 0), false},
		{"tonight's night shift, not yet", night, at(hk, 2026, 11, 27, 22, 59), hk, at(hk, 2026, 11, 27, 23, 0), at(hk, 2026, 11, 28, 7, 0), false},
		{"yesterday's night shift still running", night, at(hk, 2026, 11, 28, 6, 59), hk, at(hk, 2026, 11, 28, 23, 0), at(hk, 2026, 11, 29, 7, 0), true},
		// The clocks go back at 02:00 on 25 October 2026: that night is
		// nine hours long, and its end is still 07:00 local.
		{"a night across the change of clocks", night, at(london, 2026, 10, 24, 23, 30), london, at(london, 2026, 10, 24, 23, 0), at(london, 2026, 10, 25, 7, 0), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			span, on := c.s.Today(c.now, c.loc)
			if !span.StartsAt.Equal(c.start) || !span.EndsAt.Equal(c.end) || on != c.on || span.Code != c.s.Code {
				t.Fatalf("%+v on %v; want %s-%s on %v", span, on, c.start, c.end, c.on)
			}
		})
	}
	span, _ := night.Today(at(london, 2026, 10, 24, 23, 30), london)
	if d := span.EndsAt.Sub(span.StartsAt); d != 9*time.Hour {
		t.Fatalf("the night the clocks go back lasts %s", d)
	}
}

func TestCheckShifts(t *testing.T) {
	good, err := checkShifts([]Shift{{"night", "23:00", "07:00"}, {"EARLY", "07:00", "15:00"}})
	if err != nil || good[0].Code != "EARLY" || good[1].Code != "NIGHT" {
		t.Fatalf("%+v %v: want them upper-cased and by start", good, err)
	}
	for _, bad := range [][]Shift{
		nil,
		{{"A", "07:00", "07:00"}},
		{{"A", "7:00", "15:00"}},
		{{"A", "07:00", "25:00"}},
		{{"1A", "07:00", "15:00"}},
		{{"A", "07:00", "15:00"}, {"a", "08:00", "09:00"}},
	} {
		if _, err := checkShifts(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
