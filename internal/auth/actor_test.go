package auth

import (
	"slices"
	"testing"

	"github.com/kproperty/onestop/internal/person"
)

// Within keeps only the sight both actors have: lost sight is lost, gained
// sight waits for a new connection.
func TestWithin(t *testing.T) {
	then := &Actor{PersonID: "p", Admin: true, TokenLeft: 5,
		Staff:     map[string]person.Role{"hv": person.Butler, "kt": person.Agent},
		Units:     []string{"u1"},
		Portfolio: []string{"a", "b"}}
	now := &Actor{PersonID: "p",
		Staff:     map[string]person.Role{"hv": person.Butler, "kt": person.Manager, "new": person.Agent},
		Units:     []string{"u1", "u2"},
		Portfolio: []string{"b", "c"}}
	got := then.Within(now)
	if got.Admin || got.TokenLeft != 5 || len(got.Staff) != 1 || got.Staff["hv"] != person.Butler ||
		!slices.Equal(got.Units, []string{"u1"}) || !slices.Equal(got.Portfolio, []string{"b"}) {
		t.Fatalf("narrowed to %+v", got)
	}
	if len(then.Portfolio) != 2 || !then.Admin {
		t.Fatalf("the original changed: %+v", then)
	}
}
