package scalar

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
)

// Whatever a client sends as a Time, the answer is a time within bounds or
// INVALID_INPUT, never a panic or another error.
func FuzzUnmarshalTime(f *testing.F) {
	for _, seed := range []string{
		"2026-11-27T14:30:00+08:00", "2026-11-27T06:30:00.123456789Z", "9999-12-31T23:59:59Z",
		"0001-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "", "now", "2026-11-27", "2026-11-27T14:30:00+24:00",
		"\x00", "2026-11-27T14:30:00\x00Z", "1999-12-31T23:59:59.999999999Z", "2100-01-01T00:00:00Z",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []any{s, json.RawMessage(mustJSON(s))} {
			tm, err := UnmarshalTime(v)
			if err != nil {
				if e, ok := apperr.As(err); !ok || e.Code != apperr.InvalidInput {
					t.Fatalf("%q: %v is not INVALID_INPUT", s, err)
				}
				continue
			}
			if tm.Before(MinTime) || !tm.Before(MaxTime) {
				t.Fatalf("%q accepted as %v, out of bounds", s, tm)
			}
			// What is accepted reads back as the same instant.
			var back string
			_ = json.Unmarshal([]byte(marshal(tm)), &back)
			again, err := time.Parse(time.RFC3339Nano, back)
			if err != nil || !again.Equal(tm) {
				t.Fatalf("%q -> %v -> %q does not round-trip", s, tm, back)
			}
		}
	})
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func marshal(t time.Time) string {
	var b []byte
	w := writer{&b}
	MarshalTime(t).MarshalGQL(w)
	return string(b)
}

type writer struct{ b *[]byte }

func (w writer) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

func TestTimeBounds(t *testing.T) {
	for _, s := range []string{"9999-01-01T00:00:00Z", "1970-01-01T00:00:00Z"} {
		if _, err := UnmarshalTime(s); apperr.CodeOf(err) != apperr.InvalidInput {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := UnmarshalTime("2026-11-27T14:30:00+08:00"); err != nil {
		t.Error(err)
	}
}
