// Package scalar holds the API's custom scalars, so that a malformed value
// is the client's INVALID_INPUT rather than an internal error.
package scalar

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/kproperty/onestop/internal/apperr"
)

// MarshalTime writes a time as RFC 3339 (with fractional seconds only when
// present).
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 time.
func UnmarshalTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.RawMessage:
		if err := json.Unmarshal(x, &s); err != nil {
			return time.Time{}, invalidTime()
		}
	default:
		return time.Time{}, invalidTime()
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalidTime()
	}
	if t.Before(MinTime) || !t.Before(MaxTime) {
		return time.Time{}, apperr.Invalid("", "a date-time must fall between %d and %d", MinTime.Year(), MaxTime.Year()-1)
	}
	return t, nil
}

// MinTime and MaxTime bound every date-time the API accepts: nothing in a
// property's service history or plans lies outside them, and a year 9999
// promise or a year 1 filter is a mistake (or a probe), not a request.
var (
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

func invalidTime() error {
	return apperr.Invalid("", "expected an RFC 3339 date-time such as 2026-11-27T14:30:00+08:00")
}
