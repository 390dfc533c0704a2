package main

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Every action from every status it is not allowed from fails with CONFLICT
// and changes nothing: not the status, not the version, not the timeline.
func TestIllegalTransitions(t *testing.T) {
	s := sharedServer(t)
	// Mr Lee's household is not VIP, so the callback closes the request
	// without waiting for a director's follow-up.
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	cat := lee.categoryID("HV", "plumbing")

	type step struct {
		who  *client
		op   string
		vars func(id string) map[string]any
	}
	id := func(id string) map[string]any { return map[string]any{"id": id} }
	steps := map[string]step{
		"accept":   {agent, accept, func(i string) map[string]any { return map[string]any{"id": i, "at": s.later()} }},
		"assign":   {agent, assign, func(i string) map[string]any { return map[string]any{"id": i, "to": tech.id} }},
		"start":    {tech, start, id},
		"complete": {tech, complete, func(i string) map[string]any { return map[string]any{"id": i, "note": "done"} }},
		"confirm":  {lee, confirm, func(i string) map[string]any { return map[string]any{"id": i, "ok": true, "rating": 5} }},
		"callback": {agent, callBack, func(i string) map[string]any { return map[string]any{"id": i, "method": "PHONE", "sat": 5} }},
	}
	order := []string{"accept", "assign", "start", "complete", "confirm", "callback"}
	// legal[status] lists the actions the table allows from it (for the
	// actor each step uses).
	legal := map[string]map[string]bool{
		"SUBMITTED":   {"accept": true},
		"ACCEPTED":    {"assign": true},
		"ASSIGNED":    {"assign": true, "start": true},
		"IN_PROGRESS": {"complete": true},
		"COMPLETED":   {"confirm": true},
		"CONFIRMED":   {"callback": true},
		"CLOSED":      {},
		"CANCELLED":   {},
	}
	// Walk one request through the flow; at each status try every action
	// that is not allowed there.
	r := lee.submit(cat, "Shower mixer drips")
	tryIllegal := func(status string) {
		t.Helper()
		before := lee.get(r.ID)
		for _, name := range order {
			if legal[status][name] {
				continue
			}
			st := steps[name]
			want := "CONFLICT"
			if st.who == tech && before.Assignee == nil {
				// Until it is assigned to them, the technician does
				// not even see the request.
				want = "NOT_FOUND"
			}
			st.who.fails(want, st.op, st.vars(r.ID))
		}
		after := lee.get(r.ID)
		if after.Status != status || after.Version != before.Version || len(after.Timeline) != len(before.Timeline) {
			t.Fatalf("illegal attempts at %s changed the request: %+v -> %+v", status, before, after)
		}
	}
	for _, name := range order {
		tryIllegal(lee.get(r.ID).Status)
		st := steps[name]
		st.who.act(st.op, st.vars(r.ID))
	}
	tryIllegal("CLOSED")
	lee.fails("CONFLICT", cancel, map[string]any{"id": r.ID, "reason": "too late"})
	agent.fails("CONFLICT", cancel, map[string]any{"id": r.ID, "reason": "too late"})

	c := lee.submit(cat, "Cancelled before acceptance")
	lee.act(cancel, map[string]any{"id": c.ID, "reason": "fixed it myself"})
	tryIllegalOn := r
	r = c
	tryIllegal("CANCELLED")
	r = tryIllegalOn
}

// Who may take each step is part of the table too: a resident cannot
// dispatch, a technician cannot accept, nobody but the assignee starts.
func TestForbiddenActors(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	butler := s.login(t, "butler.ho")

	r := chan_.submit(chan_.categoryID("HV", "plumbing"), "Toilet running")
	chan_.fails("FORBIDDEN", accept, map[string]any{"id": r.ID, "at": s.later()})
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	chan_.fails("FORBIDDEN", assign, map[string]any{"id": r.ID, "to": tech.id})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	// The butler does not see a request that is not theirs at all.
	butler.fails("NOT_FOUND", start, map[string]any{"id": r.ID})
	// The agent sees it but is not the assignee.
	agent.fails("FORBIDDEN", start, map[string]any{"id": r.ID})
	tech.act(start, map[string]any{"id": r.ID})
	tech.act(complete, map[string]any{"id": r.ID, "note": "flapper replaced"})
	tech.fails("FORBIDDEN", confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5})
	// Assigning to someone who does not work at the property is bad input.
	r2 := chan_.submit(chan_.categoryID("HV", "plumbing"), "Basin leak")
	agent.act(accept, map[string]any{"id": r2.ID, "at": s.later()})
	fung := s.login(t, "tech.fung") // K Tower's technician
	resp := agent.fails("INVALID_INPUT", assign, map[string]any{"id": r2.ID, "to": fung.id})
	if resp.field() != "assigneeId" {
		t.Fatalf("field %q, want assigneeId", resp.field())
	}
}

// Two agents dispatching the same request at the same moment: one wins, the
// other gets CONFLICT, and exactly one change is recorded.
//
// To make the race certain rather than likely, the test holds the request's
// row lock while both mutations run: each reads the request, then blocks on
// its write. Releasing the lock lets one write; the other finds the version
// it read is gone.
func TestConcurrentAssign(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	manager := s.login(t, "manager.cheung")
	tech := s.login(t, "tech.lam")
	butler := s.login(t, "butler.ho")

	r := chan_.submit(chan_.categoryID("HV", "electrical"), "Socket sparks")
	r = agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})

	db, err := sql.Open("postgres", testDBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(`SELECT 1 FROM service_requests WHERE id = $1 FOR UPDATE`, r.ID); err != nil {
		t.Fatal(err)
	}

	results := make([]gqlResponse, 2)
	var wg sync.WaitGroup
	for i, who := range []*client{agent, manager} {
		to := []string{tech.id, butler.id}[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = who.do(assign, map[string]any{"id": r.ID, "to": to})
		}()
	}
	// Wait until both writers are parked on the row lock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE service_requests SET status%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d writers reached the lock", waiting)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	won, conflicts := 0, 0
	for _, res := range results {
		switch res.code() {
		case "":
			won++
		case "CONFLICT":
			conflicts++
		default:
			t.Fatalf("unexpected result %+v", res.Errors)
		}
	}
	if won != 1 || conflicts != 1 {
		t.Fatalf("%d won and %d conflicted, want 1 and 1", won, conflicts)
	}
	after := agent.get(r.ID)
	if after.Version != r.Version+1 || statuses(after.Timeline) != "SUBMITTED ACCEPTED ASSIGNED" {
		t.Fatalf("after the race: version %d (was %d), timeline %q", after.Version, r.Version, statuses(after.Timeline))
	}
}

// A retried submission returns the original and creates nothing; reusing
// the id for a different request is refused.
func TestIdempotentSubmission(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.lee")
	cat := chan_.categoryID("HV", "plumbing")
	in := map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": "Water heater off"}
	q := `mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id number } }`

	// The retries race each other, as a flaky network makes them do.
	ids := make([]string, 5)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct{ SubmitRequest struct{ ID, Number string } }
			chan_.must(q, map[string]any{"in": in}, &out)
			ids[i] = out.SubmitRequest.ID
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("retries created different requests: %v", ids)
		}
	}
	var n int
	if err := s.app.DB.Get(&n, `SELECT count(*) FROM service_requests WHERE client_request_id = $1`, in["clientRequestId"]); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d rows for one clientRequestId", n)
	}
	var events int
	if err := s.app.DB.Get(&events, `SELECT count(*) FROM request_events WHERE request_id = $1 AND type = 'SUBMITTED'`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Fatalf("%d SUBMITTED events for one request", events)
	}
	in["description"] = "Something else entirely"
	chan_.fails("CONFLICT", q, map[string]any{"in": in})
}

// Bad input is refused with INVALID_INPUT naming the field, and nothing is
// written.
func TestInvalidInput(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	kt := s.login(t, "tenant.ko")
	cat := chan_.categoryID("HV", "plumbing")
	sub := `mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`
	var before int
	_ = s.app.DB.Get(&before, `SELECT count(*) FROM service_requests`)

	cases := []struct {
		name  string
		who   *client
		in    map[string]any
		field string
	}{
		{"client id not a uuid", chan_, map[string]any{"clientRequestId": "abc", "categoryId": cat, "description": "x"}, "clientRequestId"},
		{"empty description", chan_, map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": "   "}, "description"},
		{"unknown category", chan_, map[string]any{"clientRequestId": uuid.NewString(), "categoryId": uuid.NewString(), "description": "x"}, "categoryId"},
		{"another property's category", kt, map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": "x"}, "categoryId"},
		{"not my unit", chan_, map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": "x", "unitId": uuid.NewString()}, "unitId"},
		{"resident claims a phone channel", chan_, map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": "x", "channel": "PHONE"}, "channel"},
		{"staff without a resident", agent, map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": "x"}, "onBehalfOfResidentId"},
		{"preferred time in the past", chan_, map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "description": "x", "preferredTime": "2020-01-01T00:00:00Z"}, "preferredTime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.who.t = t
			r := c.who.fails("INVALID_INPUT", sub, map[string]any{"in": c.in})
			if r.field() != c.field {
				t.Fatalf("field %q, want %q (%+v)", r.field(), c.field, r.Errors)
			}
		})
	}
	chan_.t, agent.t, kt.t = t, t, t
	var after int
	_ = s.app.DB.Get(&after, `SELECT count(*) FROM service_requests`)
	if after != before {
		t.Fatalf("refused submissions wrote %d rows", after-before)
	}

	r := chan_.submit(cat, "Leak under sink")
	if resp := agent.fails("INVALID_INPUT", accept, map[string]any{"id": r.ID, "at": "2020-01-01T00:00:00Z"}); resp.field() != "promisedAt" {
		t.Fatalf("field %q", resp.field())
	}
	agent.fails("INVALID_INPUT", accept, map[string]any{"id": r.ID, "at": "next tuesday"})
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	// A literal of the wrong type never reaches a resolver.
	agent.fails("INVALID_INPUT", `mutation { startRequest(id: 5, note: 7) { id } }`, nil)
}
