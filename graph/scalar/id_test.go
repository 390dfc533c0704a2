package scalar

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/google/uuid"
)

var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// FuzzUnmarshalID feeds ids as a client may send them. Whatever reads as a
// UUID comes out in the one canonical spelling, which PostgreSQL reads and
// which compares equal as text to the server's own ids; anything else
// comes out as it went in, for its field to judge. Reading is idempotent.
func FuzzUnmarshalID(f *testing.F) {
	for _, s := range []string{
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
		"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"6ba7b8109dad11d180b400c04fd430c8", "42", "", "not-an-id", "\x00", "6ba7b810-9dad-11d1-80b4-00c04fd430c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := UnmarshalID(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if again, _ := UnmarshalID(id); again != id {
			t.Fatalf("%q read as %q, then as %q", s, id, again)
		}
		if _, err := uuid.Parse(s); err == nil {
			if !canonicalUUID.MatchString(id) {
				t.Fatalf("%q read as %q, not a canonical UUID", s, id)
			}
		} else if id != s {
			t.Fatalf("%q, not a UUID, read as %q", s, id)
		}
	})
}

// A number is an id too (GraphQL lets a client send 42 for "42").
func TestUnmarshalIDNumber(t *testing.T) {
	for _, v := range []any{json.Number("42"), int64(42), 42} {
		if id, err := UnmarshalID(v); err != nil || id != "42" {
			t.Errorf("%v read as %q, %v", v, id, err)
		}
	}
	if _, err := UnmarshalID(map[string]any{}); err == nil {
		t.Error("an object read as an id")
	}
}
