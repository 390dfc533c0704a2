package request

import (
	"testing"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

const (
	prop    = "11111111-1111-1111-1111-111111111111"
	other   = "22222222-2222-2222-2222-222222222222"
	unit    = "33333333-3333-3333-3333-333333333333"
	owner   = "44444444-4444-4444-4444-444444444444"
	family  = "55555555-5555-5555-5555-555555555555"
	agentID = "66666666-6666-6666-6666-666666666666"
	techID  = "77777777-7777-7777-7777-777777777777"
	strange = "88888888-8888-8888-8888-888888888888"
)

func ptr(s string) *string { return &s }

var (
	resident   = &auth.Actor{PersonID: owner, Units: []string{unit}}
	familyMem  = &auth.Actor{PersonID: family, Units: []string{unit}}
	agent      = &auth.Actor{PersonID: agentID, Staff: map[string]person.Role{prop: person.Agent}}
	otherAgent = &auth.Actor{PersonID: strange, Staff: map[string]person.Role{other: person.Agent}}
	tech       = &auth.Actor{PersonID: techID, Staff: map[string]person.Role{prop: person.Technician}}
	admin      = &auth.Actor{PersonID: strange, Admin: true}
	manager    = &auth.Actor{PersonID: agentID, Staff: map[string]person.Role{prop: person.Manager}}
	director   = &auth.Actor{PersonID: agentID, Staff: map[string]person.Role{prop: person.Director}}
)

// The server's own steps are found only by LookupSystem.
func TestLookupSystem(t *testing.T) {
	if tr, d := LookupSystem(AutoConfirm, reqAt(Completed)); d != Allowed || tr.To != Confirmed || tr.Event != EvAutoConfirmed {
		t.Errorf("auto-confirm from COMPLETED: %+v %v", tr, d)
	}
	if _, d := LookupSystem(AutoConfirm, reqAt(Confirmed)); d != WrongStatus {
		t.Errorf("auto-confirm from CONFIRMED: %v, want WrongStatus", d)
	}
	if _, d := LookupSystem(Confirm, reqAt(Completed)); d != NotAllowed {
		t.Errorf("the system confirmed as the customer: %v", d)
	}
}

func reqAt(s Status) *Request {
	return &Request{Status: s, Audience: Audience{PropertyID: prop, UnitID: unit, RequesterID: owner, AssigneeID: ptr(techID)}}
}

// The table, checked action by action: who may take it and from where.
func TestLookup(t *testing.T) {
	all := []Status{Submitted, Accepted, Assigned, InProgress, Completed, Confirmed, Closed, Cancelled}
	cases := []struct {
		action Action
		actor  *auth.Actor
		from   []Status // the statuses it is allowed from; CONFLICT from the rest
		to     Status
	}{
		{Accept, agent, []Status{Submitted}, Accepted},
		{Accept, admin, []Status{Submitted}, Accepted},
		{Assign, agent, []Status{Accepted, Assigned}, Assigned},
		{Start, tech, []Status{Assigned}, InProgress},
		{Complete, tech, []Status{InProgress}, Completed},
		{Confirm, resident, []Status{Completed}, Confirmed},
		{Confirm, familyMem, []Status{Completed}, Confirmed},
		{Reopen, resident, []Status{Completed}, Assigned},
		{Cancel, resident, []Status{Submitted, Accepted, Assigned}, Cancelled},
		{Cancel, agent, []Status{Submitted, Accepted, Assigned, InProgress}, Cancelled},
		{CallBack, agent, []Status{Confirmed}, Closed},
		{CallBackReopen, agent, []Status{Confirmed}, Assigned},
		{CallBackAttempt, agent, []Status{Confirmed}, ""},
		{FollowUp, director, []Status{Assigned, InProgress, Completed, Confirmed}, ""},
		{FollowUp, admin, []Status{Assigned, InProgress, Completed, Confirmed}, ""},
		{ReplyRating, agent, []Status{Assigned, InProgress, Completed, Confirmed, Closed}, ""},
		{ReplyRating, tech, []Status{Assigned, InProgress, Completed, Confirmed, Closed}, ""},
	}
	for _, c := range cases {
		for _, st := range all {
			tr, d := Lookup(c.action, c.actor, reqAt(st))
			allowed := false
			for _, f := range c.from {
				allowed = allowed || f == st
			}
			switch {
			case allowed && c.to == "" && (d != Allowed || tr.To != st):
				// A row that keeps the status reports it as its target.
				t.Errorf("%s by %s from %s: got %v to %s, want allowed to stay", c.action, c.actor.PersonID[:1], st, d, tr.To)
			case allowed && c.to != "" && (d != Allowed || tr.To != c.to):
				t.Errorf("%s by %s from %s: got %v to %s, want allowed to %s", c.action, c.actor.PersonID[:1], st, d, tr.To, c.to)
			case !allowed && d != WrongStatus:
				t.Errorf("%s by %s from %s: got %v, want WrongStatus", c.action, c.actor.PersonID[:1], st, d)
			}
		}
	}
	// Parties that never may take an action hear NotAllowed whatever the status.
	never := []struct {
		action Action
		actor  *auth.Actor
	}{
		{Accept, resident}, {Accept, tech}, {Accept, otherAgent},
		{Assign, resident}, {Assign, tech},
		{Start, agent}, {Start, resident},
		{Complete, agent},
		{Confirm, agent}, {Confirm, tech}, {Reopen, tech},
		{Cancel, tech}, {CallBack, resident}, {CallBack, tech},
		// The director's follow-up is the director's own; the agent and
		// the manager cannot record it for them. Nobody plays the system.
		{FollowUp, agent}, {FollowUp, manager}, {FollowUp, resident},
		{ReplyRating, resident}, {AutoConfirm, agent}, {AutoConfirm, admin}, {Close, admin},
	}
	for _, c := range never {
		for _, st := range all {
			if _, d := Lookup(c.action, c.actor, reqAt(st)); d != NotAllowed {
				t.Errorf("%s by %s from %s: got %v, want NotAllowed", c.action, c.actor.PersonID[:1], st, d)
			}
		}
	}
}

// Every status but the ends can be left, and every transition's event type
// is set: a row added without one would write an untyped event. Rows that
// keep the status (an empty To: a note on the timeline, such as a reply to
// the rating of a closed request) do not count as leaving it.
func TestTableIsComplete(t *testing.T) {
	leaves := map[Status]bool{}
	for _, tr := range Transitions {
		if tr.Event == "" || tr.By == 0 || len(tr.From) == 0 {
			t.Errorf("incomplete row %+v", tr)
		}
		if tr.To == "" {
			continue
		}
		for _, f := range tr.From {
			leaves[f] = true
		}
	}
	for _, st := range []Status{Submitted, Accepted, Assigned, InProgress, Completed, Confirmed} {
		if !leaves[st] {
			t.Errorf("no way out of %s", st)
		}
	}
	for _, st := range []Status{Closed, Cancelled} {
		if leaves[st] {
			t.Errorf("%s should be final", st)
		}
	}
}

func TestVisible(t *testing.T) {
	a := Audience{PropertyID: prop, UnitID: unit, RequesterID: owner}
	assigned := a
	assigned.AssigneeID = ptr(techID)
	asked := a
	asked.FirstResponderID = ptr(techID)
	butler := &auth.Actor{PersonID: techID, Staff: map[string]person.Role{prop: person.Butler}}
	cases := []struct {
		name  string
		actor *auth.Actor
		aud   Audience
		want  bool
	}{
		{"requester", resident, a, true},
		{"household member", familyMem, a, true},
		{"service center of the property", agent, a, true},
		{"service center elsewhere", otherAgent, a, false},
		{"admin", admin, a, true},
		{"technician, unassigned", tech, a, false},
		{"technician, assigned", tech, assigned, true},
		{"butler, first-asker", butler, asked, true},
		{"butler, not theirs", butler, a, false},
		{"butler of the household", &auth.Actor{PersonID: techID, Staff: map[string]person.Role{prop: person.Butler}, Portfolio: []string{unit}}, a, true},
		{"stranger", &auth.Actor{PersonID: strange}, a, false},
	}
	for _, c := range cases {
		if got := Visible(c.actor, c.aud); got != c.want {
			t.Errorf("%s: Visible = %v, want %v", c.name, got, c.want)
		}
	}
}
