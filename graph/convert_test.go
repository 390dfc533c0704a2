package graph

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/graph/scalar"
	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/callback"
	"github.com/kproperty/onestop/internal/request"
)

// isAfterError reports whether err is the one answer to a cursor that is
// not from the list: INVALID_INPUT on after.
func isAfterError(err error) bool {
	e, ok := apperr.As(err)
	return ok && e.Code == apperr.InvalidInput && e.Field == "after"
}

// FuzzDecodeCursor feeds list cursors, raw and base64-wrapped. A cursor is
// refused as INVALID_INPUT on after, or read as a time within the API's
// bounds and a canonical UUID (the only values PostgreSQL is then given),
// which encode back to a cursor that reads the same. The request list and
// the callback queue read their cursors the same way.
func FuzzDecodeCursor(f *testing.F) {
	r := &request.Request{ID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", CreatedAt: time.Date(2026, 11, 27, 2, 0, 0, 123456000, time.UTC)}
	f.Add(encodeCursor(r))
	f.Add(encodeTaskCursor(&callback.Task{ID: r.ID, DueAt: r.CreatedAt}))
	for _, raw := range []string{
		"2026-11-27T02:00:00Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"2026-11-27T02:00:00Z|xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"2026-11-27T02:00:00Z|6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
		"2026-11-27T02:00:00Z|{6ba7b810-9dad-11d1-80b4-00c04fd43}",
		"9999-12-31T23:59:59Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"0000-01-01T00:00:00Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"|", "", "2026-11-27T02:00:00Z", "2026-11-27T02:00:00Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8|x",
	} {
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(raw)))
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(&s)
		tc, terr := decodeTaskCursor(&s)
		if (err == nil) != (terr == nil) {
			t.Fatalf("%q: the lists disagree: %v / %v", s, err, terr)
		}
		if err != nil {
			if !isAfterError(err) || !isAfterError(terr) {
				t.Fatalf("%q: %v, %v is not INVALID_INPUT on after", s, err, terr)
			}
			return
		}
		if s == "" {
			if c != nil || tc != nil {
				t.Fatalf("an empty cursor read as %+v", c)
			}
			return
		}
		if c.CreatedAt.Before(scalar.MinTime) || !c.CreatedAt.Before(scalar.MaxTime) {
			t.Fatalf("%q read as %v, outside the API's times", s, c.CreatedAt)
		}
		if u, err := uuid.Parse(c.ID); err != nil || u.String() != c.ID {
			t.Fatalf("%q read as id %q, not a canonical UUID", s, c.ID)
		}
		if tc.ID != c.ID || !tc.DueAt.Equal(c.CreatedAt) {
			t.Fatalf("%q: task cursor %+v, list cursor %+v", s, tc, c)
		}
		again := encodeCursor(&request.Request{ID: c.ID, CreatedAt: c.CreatedAt})
		back, err := decodeCursor(&again)
		if err != nil || back.ID != c.ID || !back.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, c, again, back, err)
		}
	})
}

// FuzzNotificationIDs feeds the inbox's ids and cursor: each is refused as
// INVALID_INPUT or read as a positive id.
func FuzzNotificationIDs(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "42", "9223372036854775807", "9223372036854775808", "+7", "007", " 1", "1e3", "0x10", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := notificationCursor(&s)
		if err != nil {
			if !isAfterError(err) {
				t.Fatalf("cursor %q: %v", s, err)
			}
		} else if s != "" && n <= 0 {
			t.Fatalf("cursor %q read as %d", s, n)
		}
		ids, err := notificationIDs([]string{s})
		if err != nil {
			if e, ok := apperr.As(err); !ok || e.Code != apperr.InvalidInput || e.Field != "ids" {
				t.Fatalf("ids %q: %v", s, err)
			}
			return
		}
		if len(ids) != 1 || ids[0] <= 0 {
			t.Fatalf("ids %q read as %v", s, ids)
		}
	})
}

// FuzzDecodeRequestCursor feeds request-list cursors of every order. A
// cursor is refused as INVALID_INPUT on after, or read as its order with a
// key within the API's bounds and a canonical UUID, which encodes back to
// the same cursor; a newest-first cursor reads as the list always read it.
func FuzzDecodeRequestCursor(f *testing.F) {
	due := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	r := &request.Request{ID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", CreatedAt: time.Date(2026, 11, 27, 2, 0, 0, 123456000, time.UTC), Status: request.Assigned}
	for _, s := range []request.Sort{request.ByCreated, request.ByDue, request.ByUrgency} {
		f.Add(encodeRequestCursor(s, r))
		r.DueAt = &due
		f.Add(encodeRequestCursor(s, r))
		r.DueAt = nil
	}
	for _, raw := range []string{
		"DUE||6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"DUE|2026-11-27T02:00:00Z|6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
		"URGENCY|1||6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"URGENCY|01|2026-11-27T02:00:00Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"URGENCY|9|2026-11-27T02:00:00Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"URGENCY|-1||6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"DUE|9999-12-31T23:59:59Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"CREATED|2026-11-27T02:00:00Z|6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"DUE|", "URGENCY|||", "DUE|||",
	} {
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(raw)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeRequestCursor(&s)
		if err != nil {
			if !isAfterError(err) {
				t.Fatalf("%q: %v is not INVALID_INPUT on after", s, err)
			}
			return
		}
		if s == "" {
			if c != nil {
				t.Fatalf("an empty cursor read as %+v", c)
			}
			return
		}
		if u, err := uuid.Parse(c.ID); err != nil || u.String() != c.ID {
			t.Fatalf("%q read as id %q, not a canonical UUID", s, c.ID)
		}
		row := &request.Request{ID: c.ID, CreatedAt: c.CreatedAt}
		row.DueAt = c.Due
		switch c.Sort {
		case request.ByCreated:
			if old, err := decodeCursor(&s); err != nil || old.ID != c.ID || !old.CreatedAt.Equal(c.CreatedAt) {
				t.Fatalf("%q: newest first reads %+v, the list %+v", s, old, c)
			}
		case request.ByDue:
		case request.ByUrgency:
			// A rank is written from a status; any status of that rank will do.
			row.Status = map[int]request.Status{0: request.Assigned, 1: request.Assigned, 2: request.Completed, 3: request.Closed}[c.Rank]
			if c.Rank == 0 {
				row.EscalationLevel = 1
			}
		default:
			t.Fatalf("%q read in order %q", s, c.Sort)
		}
		if c.Due != nil && (c.Due.Before(scalar.MinTime) || !c.Due.Before(scalar.MaxTime)) {
			t.Fatalf("%q read as due %v, outside the API's times", s, c.Due)
		}
		again := encodeRequestCursor(c.Sort, row)
		back, err := decodeRequestCursor(&again)
		if err != nil || back.Sort != c.Sort || back.ID != c.ID || back.Rank != c.Rank || !back.CreatedAt.Equal(c.CreatedAt) ||
			(back.Due == nil) != (c.Due == nil) || back.Due != nil && !back.Due.Equal(*c.Due) {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, c, again, back, err)
		}
	})
}
