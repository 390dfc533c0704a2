package request

import (
	"reflect"
	"slices"
	"testing"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

// fuzzStatuses are the statuses a fuzzed request may be in: every real one
// and two that are not.
var fuzzStatuses = []Status{Submitted, Accepted, Assigned, InProgress, Completed, Confirmed, Closed, Cancelled, "", "REOPENED"}

// fuzzActions are every action of the table and two that are not.
func fuzzActions() []Action {
	var out []Action
	for _, t := range Transitions {
		if !slices.Contains(out, t.Action) {
			out = append(out, t.Action)
		}
	}
	return append(out, "", "delete")
}

// fuzzCase builds a viewer and a request from fuzzed bits: who the viewer
// is to the request (requester, resident, butler, assignee, first-asker,
// staff role at the request's property or another, admin) and where the
// request stands.
func fuzzCase(status, action uint8, rel uint16, role, otherRole uint8) (*auth.Actor, *Request, Action) {
	bit := func(i uint) bool { return rel&(1<<i) != 0 }
	me, someone := techID, strange
	who := func(i uint) string {
		if bit(i) {
			return me
		}
		return someone
	}
	r := &Request{Status: fuzzStatuses[int(status)%len(fuzzStatuses)]}
	r.PropertyID, r.UnitID, r.RequesterID = prop, unit, who(0)
	if bit(1) {
		r.AssigneeID = ptr(who(2))
	}
	if bit(3) {
		r.FirstResponderID = ptr(who(4))
	}
	if bit(5) {
		r.ButlerID = ptr(who(6))
	}
	r.Pooled = bit(7)
	a := &auth.Actor{PersonID: me, Admin: bit(8), Staff: map[string]person.Role{}}
	if bit(9) {
		a.Units = []string{unit}
	}
	if bit(10) {
		a.Portfolio = []string{unit}
	}
	roles := append([]person.Role{""}, person.StaffRoles...)
	if r := roles[int(role)%len(roles)]; r != "" {
		a.Staff[prop] = r
	}
	if r := roles[int(otherRole)%len(roles)]; r != "" {
		a.Staff[other] = r
	}
	actions := fuzzActions()
	return a, r, actions[int(action)%len(actions)]
}

// allowedBy reports whether row t lets parties take action from status.
func allowedBy(t Transition, action Action, parties Party, s Status) bool {
	return t.Action == action && t.By&parties != 0 && slices.Contains(t.From, s)
}

// checkDecision holds one answer of the table to the table itself: an
// allowed move is a row's, from one of its statuses, to its status (or
// staying put); a refusal is one no row would have allowed.
func checkDecision(t *testing.T, got Transition, d Decision, action Action, parties Party, r *Request) {
	t.Helper()
	switch d {
	case Allowed:
		for _, row := range Transitions {
			// A row that only adds to the timeline leads back to where
			// the request is: Lookup names that status, LookupSystem none.
			stays := row.To == "" && (got.To == "" || got.To == r.Status)
			if allowedBy(row, action, parties, r.Status) && got.Action == row.Action && got.By == row.By &&
				got.Event == row.Event && (got.To == row.To || stays) && slices.Equal(got.From, row.From) {
				return
			}
		}
		t.Fatalf("%q by %b from %q allowed as %+v, which is no row of the table", action, parties, r.Status, got)
	case NotAllowed, WrongStatus:
		partyMatch := false
		for _, row := range Transitions {
			if allowedBy(row, action, parties, r.Status) {
				t.Fatalf("%q by %b from %q refused (%v), but row %+v allows it", action, parties, r.Status, d, row)
			}
			partyMatch = partyMatch || (row.Action == action && row.By&parties != 0)
		}
		if (d == WrongStatus) != partyMatch {
			t.Fatalf("%q by %b from %q: %v, but a row for these parties exists: %v", action, parties, r.Status, d, partyMatch)
		}
	default:
		t.Fatalf("decision %v", d)
	}
}

// FuzzLookup asks the table for every action as viewers in every relation
// to a request in every status. No answer may allow a move that is not a
// row of the table, a person may never take the server's own steps, and
// the server never takes a person's. Asking changes neither the table nor
// the request. Sight agrees with the parties a viewer plays, and narrowing
// a viewer (a long-lived connection's Within) never widens it. The seed
// corpus covers every action from every status as every party, so an
// ordinary `go test` runs it; `go test -fuzz FuzzLookup` searches further.
func FuzzLookup(f *testing.F) {
	// The household, the center (an agent; a butler of the household),
	// the assignee, a staff member at the pool, the director, an admin,
	// another property's agent, and a stranger.
	viewers := []struct {
		rel         uint16
		role, other uint8
	}{{1<<9 | 1<<3, 0, 0}, {0, 1, 0}, {1<<5 | 1<<6 | 1<<10, 2, 0}, {1<<1 | 1<<2, 3, 0}, {1 << 7, 5, 0}, {0, 7, 0}, {1 << 8, 0, 0}, {0, 0, 1}, {0, 0, 0}}
	for action := range len(fuzzActions()) {
		for status := range len(fuzzStatuses) {
			for _, v := range viewers {
				f.Add(uint8(status), uint8(action), v.rel, v.role, v.other)
			}
		}
	}
	table := slices.Clone(Transitions)
	f.Fuzz(func(t *testing.T, status, action uint8, rel uint16, role, otherRole uint8) {
		a, r, act := fuzzCase(status, action, rel, role, otherRole)
		before := *r
		parties := PartiesOf(a, r)
		if parties&System != 0 {
			t.Fatalf("a person plays the system: %+v", a)
		}
		got, d := Lookup(act, a, r)
		checkDecision(t, got, d, act, parties, r)
		if d == Allowed && got.By&^System == 0 {
			t.Fatalf("a person may take the server's step %q", act)
		}
		sys, sd := LookupSystem(act, r)
		checkDecision(t, sys, sd, act, System, r)
		if !reflect.DeepEqual(before, *r) {
			t.Fatalf("looking up changed the request: %+v -> %+v", before, *r)
		}
		if !reflect.DeepEqual(table, Transitions) {
			t.Fatal("looking up changed the table")
		}

		seen := Visible(a, r.Audience)
		if a.Admin && !seen {
			t.Fatal("an admin does not see a request")
		}
		if parties&(Household|Assignee|Director) != 0 && !seen {
			t.Fatalf("plays %b towards the request but does not see it: %+v", parties, r.Audience)
		}
		if a.IsCenterAt(r.PropertyID) && !seen {
			t.Fatalf("the service center does not see its request")
		}
		stranger := &auth.Actor{PersonID: someoneElse}
		if Visible(stranger, r.Audience) {
			t.Fatalf("a stranger sees %+v", r.Audience)
		}
		for _, now := range []*auth.Actor{stranger, {PersonID: a.PersonID}, {PersonID: a.PersonID, Staff: map[string]person.Role{prop: person.Technician}}} {
			if Visible(a.Within(now), r.Audience) && !seen {
				t.Fatalf("narrowing %+v to %+v widened its sight", a, now)
			}
		}
	})
}

// someoneElse is nobody the fuzzed requests know.
const someoneElse = "99999999-9999-9999-9999-999999999999"
