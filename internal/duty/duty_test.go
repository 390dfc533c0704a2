package duty

import (
	"testing"
	"time"
)

// Windows keep their local start across a daylight-saving change, skip
// weekends and holidays without a holiday start, and use it where there is
// one.
func TestWindows(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Zone: ny, WeekdayStart: "18:30", Minutes: 30, Holidays: []time.Time{time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}}
	// November 2026: clocks go back on Sunday the 1st.
	ws, err := Windows(w, time.Date(2026, 11, 1, 0, 0, 0, 0, ny))
	if err != nil {
		t.Fatal(err)
	}
	// 21 weekdays, less Thanksgiving.
	if len(ws) != 20 {
		t.Fatalf("%d windows", len(ws))
	}
	for _, x := range ws {
		l := x[0].In(ny)
		if l.Hour() != 18 || l.Minute() != 30 || x[1].Sub(x[0]) != 30*time.Minute || l.Day() == 26 {
			t.Fatalf("window %s", l)
		}
	}
	w.HolidayStart = "10:00"
	ws, _ = Windows(w, time.Date(2026, 11, 1, 0, 0, 0, 0, ny))
	if len(ws) != 30 || ws[0][0].In(ny).Hour() != 10 || ws[0][0].UTC().Hour() != 15 {
		t.Fatalf("%d windows, the first at %s", len(ws), ws[0][0].UTC())
	}
	// March 2027: before the 14th 18:30 is 23:30 UTC, after it 22:30.
	w.HolidayStart = ""
	ws, _ = Windows(w, time.Date(2027, 3, 1, 0, 0, 0, 0, ny))
	if ws[0][0].UTC().Hour() != 23 || ws[len(ws)-1][0].UTC().Hour() != 22 {
		t.Fatalf("UTC starts %s, %s", ws[0][0].UTC(), ws[len(ws)-1][0].UTC())
	}
}

func TestCoverageAt(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	d := Duty{StartsAt: start, EndsAt: start.Add(30 * time.Minute)}
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	for _, c := range []struct {
		in   *int
		now  int
		want Coverage
	}{{nil, -5, Upcoming}, {nil, 0, Open}, {nil, 30, Missed}, {ptr(-3), 40, OnTime}, {ptr(0), 40, OnTime}, {ptr(1), 40, Late}} {
		d.CheckedInAt = nil
		if c.in != nil {
			t := at(*c.in)
			d.CheckedInAt = &t
		}
		if got := d.CoverageAt(at(c.now)); got != c.want {
			t.Errorf("checked in %v, at %d: %s, want %s", c.in, c.now, got, c.want)
		}
	}
}

func ptr(v int) *int { return &v }
