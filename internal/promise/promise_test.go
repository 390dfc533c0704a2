package promise

import (
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	hk, _ := time.LoadLocation("Asia/Hong_Kong")
	h := Hours{Open: 9 * time.Hour, Close: 18 * time.Hour, Days: []time.Weekday{1, 2, 3, 4, 5}, Loc: hk}
	local := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, hk)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name     string
		start    string
		minutes  int
		business bool
		want     string
	}{
		{"wall clock", "2026-11-27 17:00", 120, false, "2026-11-27 19:00"},
		{"inside the day", "2026-11-26 10:00", 120, true, "2026-11-26 12:00"},
		{"Friday evening rolls to Monday", "2026-11-27 17:00", 120, true, "2026-11-30 10:00"},
		{"before opening", "2026-11-26 07:30", 30, true, "2026-11-26 09:30"},
		{"weekend start", "2026-11-28 12:00", 60, true, "2026-11-30 10:00"},
		{"a full day and a bit", "2026-11-26 09:00", 9*60 + 30, true, "2026-11-27 09:30"},
		{"ends exactly at closing", "2026-11-26 17:00", 60, true, "2026-11-26 18:00"},
	}
	for _, c := range cases {
		got := Due(local(c.start), c.minutes, c.business, h)
		if want := local(c.want); !got.Equal(want) {
			t.Errorf("%s: due %s, want %s", c.name, got.In(hk).Format("Mon 2006-01-02 15:04"), want.Format("Mon 2006-01-02 15:04"))
		}
	}
}

func TestWarnAt(t *testing.T) {
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	if got := WarnAt(start, start.Add(10*time.Hour), 0.8); !got.Equal(start.Add(8 * time.Hour)) {
		t.Fatalf("warn at %s", got)
	}
}
