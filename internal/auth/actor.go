package auth

import (
	"context"
	"slices"
	"time"

	"github.com/kproperty/onestop/internal/person"
)

// Actor is the authenticated person behind a call, with everything needed to
// decide what they may see and do. It is loaded once per HTTP request or
// websocket connection.
type Actor struct {
	PersonID string
	Username string
	Name     string
	Admin    bool
	// Staff maps property id to the person's role there.
	Staff map[string]person.Role
	// Units are the households the person belongs to as a resident.
	Units []string
	// Portfolio are the households in the person's care as their butler.
	Portfolio []string
	// Household names, for each unit in Units, the people who live there
	// now. A resident sees a household's requests asked by them, and not
	// those of a household that has moved out. Nil means not loaded (an
	// actor built in memory), and then every request of the unit counts.
	Household map[string][]string
	// TokenLeft is how long the access token that authenticated this
	// actor had left to live; a websocket closes when it runs out.
	TokenLeft time.Duration
	// Session is the session (refresh token family) of that token, empty
	// for a token that names none: a websocket checks it is still open,
	// and a phone registered for pushes under it is forgotten at logout.
	Session string
}

// Role is the single role the apps show: ADMIN, else the staff role (the
// first in the manual's order when someone works at several properties with
// different roles), else RESIDENT.
func (a *Actor) Role() person.Role {
	if a.Admin {
		return person.Admin
	}
	for _, r := range person.StaffRoles {
		for _, held := range a.Staff {
			if held == r {
				return r
			}
		}
	}
	return person.Resident
}

// IsStaff reports whether the actor works at any property.
func (a *Actor) IsStaff() bool { return len(a.Staff) > 0 }

// RoleAt returns the actor's staff role at a property, if any.
func (a *Actor) RoleAt(propertyID string) (person.Role, bool) {
	r, ok := a.Staff[propertyID]
	return r, ok
}

// CenterProperties returns the properties whose service center the actor staffs.
func (a *Actor) CenterProperties() []string {
	var ids []string
	for p, r := range a.Staff {
		if r.IsServiceCenter() {
			ids = append(ids, p)
		}
	}
	slices.Sort(ids)
	return ids
}

// IsCenterAt reports whether the actor may act as the service center of a
// property. Admins may act for every property.
func (a *Actor) IsCenterAt(propertyID string) bool {
	if a.Admin {
		return true
	}
	r, ok := a.Staff[propertyID]
	return ok && r.IsServiceCenter()
}

// Serves reports whether the unit is in the actor's butler portfolio.
func (a *Actor) Serves(unitID string) bool {
	return slices.Contains(a.Portfolio, unitID)
}

// LivesIn reports whether the actor is a resident of the unit.
func (a *Actor) LivesIn(unitID string) bool {
	return slices.Contains(a.Units, unitID)
}

// SharesHome reports whether the actor lives in the unit and sees the
// requests of requester there: someone who lives there now.
func (a *Actor) SharesHome(unitID, requesterID string) bool {
	if !a.LivesIn(unitID) {
		return false
	}
	return a.Household == nil || slices.Contains(a.Household[unitID], requesterID)
}

// PropertyIDs returns every property the actor works at.
func (a *Actor) PropertyIDs() []string {
	ids := make([]string, 0, len(a.Staff))
	for p := range a.Staff {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	return ids
}

// Within returns a copy of a whose sight (admin rights, staff roles,
// households and butler portfolio) is limited to what now also has: now is
// the same person loaded afresh. A long-lived connection narrows the actor
// it authenticated with this way, so that sight lost since (a household
// handed to another butler, a role taken away) is lost at once, while sight
// gained waits for the next connection, whose token carries it.
//
// When now has all of a's sight, a itself is the answer: actors are not
// changed once made, and a long-lived connection (one per phone) need not
// hold a second copy of an unchanged sight.
func (a *Actor) Within(now *Actor) *Actor {
	if a.sees(now) {
		return a
	}
	out := *a
	out.Admin = a.Admin && now.Admin
	out.Staff = map[string]person.Role{}
	for p, r := range a.Staff {
		if nr, ok := now.Staff[p]; ok && nr == r {
			out.Staff[p] = r
		}
	}
	out.Units = intersect(a.Units, now.Units)
	out.Portfolio = intersect(a.Portfolio, now.Portfolio)
	if a.Household != nil || now.Household != nil {
		out.Household = map[string][]string{}
		for _, u := range out.Units {
			were, are := a.Household[u], now.Household[u]
			if a.Household == nil {
				were = are
			}
			out.Household[u] = intersect(were, are)
		}
	}
	return &out
}

// sees reports whether now has all of a's sight, so that Within would
// lose nothing.
func (a *Actor) sees(now *Actor) bool {
	if a.Admin && !now.Admin || !subset(a.Units, now.Units) || !subset(a.Portfolio, now.Portfolio) {
		return false
	}
	for p, r := range a.Staff {
		if now.Staff[p] != r {
			return false
		}
	}
	if a.Household == nil {
		// Every request of the unit counts for a: still so only if it
		// does for now.
		return now.Household == nil
	}
	for _, u := range a.Units {
		if !subset(a.Household[u], now.Household[u]) {
			return false
		}
	}
	return true
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

type actorKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil for an anonymous call.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}
