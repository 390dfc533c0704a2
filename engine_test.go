package main

import (
	"context"
	"testing"
	"time"
)

const hold = `mutation($id: ID!, $at: Time) { holdRequest(id: $id, reason: "waiting for a part", resumeAt: $at) { id onHold } }`

// Work completed while on hold ends the hold as a resume would: its time
// is added to the due time before the promise's fate is decided, so a
// technician who waited two days for a part with the clock stopped keeps
// the promise.
func TestCompletingOnHoldCreditsTheHold(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "CH", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident, agent, tech := s.login(t, e.Resident), s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	r := resident.submit(e.Plumbing, "Boiler")
	accepted := agent.act(accept, map[string]any{"id": r.ID, "at": s.clock.Now().Add(4 * time.Hour).Format(time.RFC3339)})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.act(start, map[string]any{"id": r.ID})
	s.clock.Advance(time.Hour)
	tech.must(hold, map[string]any{"id": r.ID}, nil)
	s.clock.Advance(48 * time.Hour)
	tech.act(complete, map[string]any{"id": r.ID, "note": "new valve fitted"})

	got := agent.view(r.ID)
	if got.OnHold {
		t.Fatal("still on hold after completion")
	}
	if want := accepted.PromisedAt.Add(48 * time.Hour); got.DueAt == nil || !got.DueAt.Equal(want) {
		t.Fatalf("due %v, want the promise plus the 48 h on hold, %v", got.DueAt, want)
	}
	var kept *bool
	if err := s.app.DB.QueryRowContext(context.Background(), `SELECT promise_kept FROM service_requests WHERE id = $1`, r.ID).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept == nil || !*kept {
		t.Fatalf("promise kept = %v: the hold was counted against it", kept)
	}
	// Nothing is left for the clock to do.
	s.clock.Advance(12 * time.Hour)
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := agent.view(r.ID); got.Breached || statuses(got.Timeline) != "SUBMITTED ACCEPTED ASSIGNED STARTED ON_HOLD COMPLETED" {
		t.Fatalf("after the clock ran: breached %v, %s", got.Breached, statuses(got.Timeline))
	}
}

// A request cancelled while on hold is no longer on hold, and its planned
// resume never fires: no table row moves a cancelled request.
func TestCancellingOnHoldEndsTheHold(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "CX", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident, agent, tech := s.login(t, e.Resident), s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	r := resident.submit(e.Plumbing, "Leak")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.must(hold, map[string]any{"id": r.ID, "at": s.clock.Now().Add(time.Hour).Format(time.RFC3339)}, nil)
	agent.act(cancel, map[string]any{"id": r.ID, "reason": "the resident fixed it"})
	if got := agent.view(r.ID); got.OnHold {
		t.Fatal("a cancelled request is still on hold")
	}
	s.clock.Advance(2 * time.Hour)
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := agent.view(r.ID); got.Status != "CANCELLED" || statuses(got.Timeline) != "SUBMITTED ACCEPTED ASSIGNED ON_HOLD CANCELLED" {
		t.Fatalf("after the planned resume time: %s %s", got.Status, statuses(got.Timeline))
	}
}

// A reopened VIP request that is then cancelled owes the director nothing:
// it leaves the follow-up queue, and a follow-up is refused as for any
// cancelled request.
func TestCancellingAReopenedVIPRequestEndsItsFollowUp(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	agent, tech, director := s.login(t, "agent.wong"), s.login(t, "tech.lam"), s.login(t, "director.ng")
	r := completed(t, s, chan_, agent, tech, "plumbing", "Bath drain")
	chan_.act(confirm, map[string]any{"id": r.ID, "ok": false, "comment": "still slow"})
	pending := func() bool {
		var out struct {
			Request struct{ FollowUpPending bool }
		}
		director.must(`query($id: ID!) { request(id: $id) { followUpPending } }`, map[string]any{"id": r.ID}, &out)
		return out.Request.FollowUpPending
	}
	if !pending() {
		t.Fatal("the reopened VIP request owes no follow-up")
	}
	agent.act(cancel, map[string]any{"id": r.ID, "reason": "Mrs Chan will use her own plumber"})
	if pending() {
		t.Fatal("the cancelled request still owes the director's follow-up")
	}
	var out struct {
		Requests struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	director.must(`{ requests(filter: {followUpPending: true}, first: 100) { edges { node { id } } } }`, nil, &out)
	for _, e := range out.Requests.Edges {
		if e.Node.ID == r.ID {
			t.Fatal("the cancelled request is still in the director's follow-up queue")
		}
	}
	director.fails("CONFLICT", followUp, map[string]any{"id": r.ID, "note": "called"})
}

// A promise or a planned resume years ahead is a typing error, not a
// promise: refused, naming the field, with nothing written.
func TestPromiseWithinAYear(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "PY", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident, agent := s.login(t, e.Resident), s.login(t, e.user("agent"))
	r := resident.submit(e.Plumbing, "Tap")
	far := s.clock.Now().AddDate(2, 0, 0).Format(time.RFC3339)
	if res := agent.fails("INVALID_INPUT", accept, map[string]any{"id": r.ID, "at": far}); res.field() != "promisedAt" {
		t.Fatalf("field %q", res.field())
	}
	if got := agent.get(r.ID); got.Status != "SUBMITTED" {
		t.Fatalf("a refused promise changed the request: %s", got.Status)
	}
	agent.act(accept, map[string]any{"id": r.ID})
	if res := agent.fails("INVALID_INPUT", hold, map[string]any{"id": r.ID, "at": far}); res.field() != "resumeAt" {
		t.Fatalf("field %q", res.field())
	}
}
