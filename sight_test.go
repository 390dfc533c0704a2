package main

import (
	"testing"
	"time"
)

// drain reads whatever arrives until nothing has for d, and returns it.
func (w *wsClient) drain(d time.Duration) []wsMsg {
	var got []wsMsg
	for {
		select {
		case m := <-w.msgs:
			got = append(got, m)
		case <-time.After(d):
			return got
		}
	}
}

// An open subscription loses sight the moment its viewer does: a butler
// whose household is handed to another butler hears nothing more of it,
// although his socket (and his token) outlive the handover.
func TestSubscriptionLosesSightAtOnce(t *testing.T) {
	// The shared server's clock, so that the portfolio's history stays in
	// order with the other handover tests'.
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	manager := s.login(t, "manager.cheung")
	ho := s.login(t, "butler.ho")
	var unit, hv string
	if err := s.app.DB.Get(&unit, `SELECT u.id FROM units u JOIN properties p ON p.id = u.property_id WHERE p.code = 'HV' AND u.code = 'A-1201'`); err != nil {
		t.Fatal(err)
	}
	if err := s.app.DB.Get(&hv, `SELECT id FROM properties WHERE code = 'HV'`); err != nil {
		t.Fatal(err)
	}
	other := newEstate(t, s, "LS", nil)
	// A second butler at Harbour View.
	s.exec(t, `INSERT INTO staff_roles (person_id, property_id, role) SELECT id, $1, 'BUTLER' FROM people WHERE username = $2`, hv, other.Resident)
	kwok := s.login(t, other.Resident)
	cleaning := chan_.categoryID("HV", "cleaning")

	hoW := ho.ws()
	hoW.subscribe("1", nil, nil)
	hoW.quiet(100 * time.Millisecond)
	before := chan_.submit(cleaning, "Before the handover")
	if e := hoW.event(); e.Request.ID != before.ID {
		t.Fatalf("butler Ho got %+v, want his household's new request", e)
	}
	hoW.drain(300 * time.Millisecond)

	handover := `mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { movedRequests } }`
	s.clock.Advance(time.Second)
	manager.must(handover, map[string]any{"u": unit, "b": kwok.id}, nil)
	t.Cleanup(func() {
		s.clock.Advance(time.Second)
		manager.must(handover, map[string]any{"u": unit, "b": ho.id}, nil)
	})
	kwokW := kwok.ws()
	kwokW.subscribe("1", nil, nil)
	kwokW.drain(300 * time.Millisecond) // the handover's own events may still be on their way
	after := chan_.submit(cleaning, "After the handover")
	if e := kwokW.event(); e.Request.ID != after.ID {
		t.Fatalf("the new butler got %+v, want the household's new request", e)
	}
	// The same delivery would have queued it to Ho too; nothing came.
	for _, m := range hoW.drain(300 * time.Millisecond) {
		t.Errorf("butler Ho still hears of the household: %s %s", m.Type, m.Payload)
	}
}

// Resuming from before a request left the viewer's sight skips its events
// instead of sending them without their request, and the stream goes on.
func TestBackfillSkipsRequestsOutOfSight(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "BF", map[string]string{"agent": "AGENT", "t1": "TECHNICIAN", "t2": "TECHNICIAN"})
	resident, agent := s.login(t, e.Resident), s.login(t, e.user("agent"))
	t1, t2 := s.login(t, e.user("t1")), s.login(t, e.user("t2"))
	moved := resident.submit(e.Plumbing, "Leak")
	since := agent.get(moved.ID).Timeline[0].ID
	agent.act(accept, map[string]any{"id": moved.ID})
	agent.act(assign, map[string]any{"id": moved.ID, "to": t1.id})
	agent.act(assign, map[string]any{"id": moved.ID, "to": t2.id}) // out of t1's sight now
	kept := resident.submit(e.Plumbing, "Another leak")
	agent.act(accept, map[string]any{"id": kept.ID})
	agent.act(assign, map[string]any{"id": kept.ID, "to": t1.id})

	w := t1.ws()
	w.subscribe("1", nil, &since)
	if ev := w.event(); ev.Request.ID != kept.ID || ev.Type != "ASSIGNED" {
		t.Fatalf("first event after resuming: %+v, want the assignment of the request still in sight", ev)
	}
	w.quiet(300 * time.Millisecond)
}
