package main

import (
	"testing"

	"github.com/google/uuid"
)

// A claim on a request the caller cannot see reads exactly as one on a
// request that does not exist, so claiming does not tell that a request
// exists. The one exception is a colleague of the pool's role who claims a
// job just taken from the pool: they saw it there, and hear that it was
// taken.
func TestClaimUnseenIsNotFound(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "CU", map[string]string{"agent": "AGENT", "c1": "CLEANER", "c2": "CLEANER", "tech": "TECHNICIAN", "guard": "GUARD"})
	s.exec(t, `INSERT INTO dispatch_rules (property_id, category_id, mode, role) VALUES ($1, $2, 'POOL', 'CLEANER')`, e.ID, e.Cleaning)
	resident, agent := s.login(t, e.Resident), s.login(t, e.user("agent"))
	c1, c2 := s.login(t, e.user("c1")), s.login(t, e.user("c2"))
	tech, guard := s.login(t, e.user("tech")), s.login(t, e.user("guard"))
	claim := `mutation($id: ID!) { claimRequest(id: $id) { id } }`
	missing := guard.fails("NOT_FOUND", claim, map[string]any{"id": uuid.NewString()})
	same := func(who string, r gqlResponse) {
		t.Helper()
		if r.Errors[0].Message != missing.Errors[0].Message {
			t.Errorf("%s hears %q, and %q for a missing request", who, r.Errors[0].Message, missing.Errors[0].Message)
		}
	}

	pooled := resident.submit(e.Cleaning, "Corridor spill")
	agent.act(accept, map[string]any{"id": pooled.ID})
	c1.must(claim, map[string]any{"id": pooled.ID}, nil)
	same("a technician claiming a taken cleaning job", tech.fails("NOT_FOUND", claim, map[string]any{"id": pooled.ID}))
	same("a guard claiming a taken cleaning job", guard.fails("NOT_FOUND", claim, map[string]any{"id": pooled.ID}))
	c2.fails("CONFLICT", claim, map[string]any{"id": pooled.ID})

	// Plumbing is dispatched by hand: it was never in anyone's pool.
	manual := resident.submit(e.Plumbing, "Basin leak")
	agent.act(accept, map[string]any{"id": manual.ID})
	agent.act(assign, map[string]any{"id": manual.ID, "to": tech.id})
	same("a cleaner claiming an assigned plumbing job", c2.fails("NOT_FOUND", claim, map[string]any{"id": manual.ID}))
	same("a guard claiming an assigned plumbing job", guard.fails("NOT_FOUND", claim, map[string]any{"id": manual.ID}))
}
