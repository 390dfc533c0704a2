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

// An actor whose sight is all still there is kept as it is, and one that
// lost a household member's sight is narrowed.
func TestWithinKeepsAnUnchangedActor(t *testing.T) {
	then := &Actor{PersonID: "p", Staff: map[string]person.Role{"hv": person.Agent}, Units: []string{"u1"},
		Household: map[string][]string{"u1": {"p", "q"}}}
	now := &Actor{PersonID: "p", Staff: map[string]person.Role{"hv": person.Agent, "kt": person.Agent}, Units: []string{"u1", "u2"},
		Household: map[string][]string{"u1": {"p", "q", "r"}}}
	if got := then.Within(now); got != then {
		t.Fatalf("an unchanged sight was copied: %+v", got)
	}
	now.Household["u1"] = []string{"p"}
	if got := then.Within(now); got == then || !slices.Equal(got.Household["u1"], []string{"p"}) {
		t.Fatalf("narrowed to %+v, want the household without q", got)
	}
	if got := (&Actor{PersonID: "p", Units: []string{"u1"}}).Within(now); got.Household == nil {
		t.Fatal("an actor built in memory kept seeing every request of the unit")
	}
}
