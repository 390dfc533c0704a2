package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/request"
)

// Random sequences of actions, by random parties, on one request at a
// time, through the whole server; the invariants are checked after every
// step:
//   - the status changes only through rows of the transition table, and the
//     timeline is one unbroken chain of them;
//   - no ended request holds a hold, a planned resume, a pending follow-up,
//     an open callback task or a place in the grab pool;
//   - the tally the KPIs read agrees with the event log, and the per-day
//     rollup they read, once the logged changes are folded, with the
//     requests;
//   - event ids grow with time;
//   - nobody sees a request the visibility rule does not give them;
//   - no action, allowed or not, answers INTERNAL.
//
// `go test -run TestLifecycleProperties -rapid.checks=1000` runs it longer.
func TestLifecycleProperties(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.AccessTTL = 24 * 365 * time.Hour })
	e := newEstate(t, s, "PB", map[string]string{"agent": "AGENT", "dir": "DIRECTOR", "tech": "TECHNICIAN",
		"tech2": "TECHNICIAN", "cleaner": "CLEANER"})
	other := newEstate(t, s, "PX", map[string]string{"agent": "AGENT"})
	// The household is a VIP's, so follow-ups are owed, and cleaning waits
	// in the grab pool for the property's cleaners.
	s.exec(t, `UPDATE units SET vip = true WHERE id = $1`, e.Unit)
	s.exec(t, `INSERT INTO dispatch_rules (property_id, category_id, mode, role) VALUES ($1, $2, 'POOL', 'CLEANER')`, e.ID, e.Cleaning)

	resident := s.login(t, e.Resident)
	agent, director := s.login(t, e.user("agent")), s.login(t, e.user("dir"))
	tech, tech2, cleaner := s.login(t, e.user("tech")), s.login(t, e.user("tech2")), s.login(t, e.user("cleaner"))
	stranger, strangerAgent := s.login(t, other.Resident), s.login(t, other.user("agent"))
	workers := []*client{tech, tech2, cleaner}

	// moves lists every (from, to) a row of the table allows.
	moves := map[[2]request.Status]bool{}
	for _, tr := range request.Transitions {
		for _, f := range tr.From {
			if tr.To != "" && tr.To != f {
				moves[[2]request.Status{f, tr.To}] = true
			}
		}
	}
	refusals := []string{"CONFLICT", "FORBIDDEN", "NOT_FOUND", "INVALID_INPUT", "RATE_LIMITED"}

	daysPassed := false
	type action struct {
		name string
		do   func(rt *rapid.T, id string) gqlResponse
	}
	names := map[*client]string{resident: "resident", agent: "agent", director: "director", tech: "tech", tech2: "tech2",
		cleaner: "cleaner", stranger: "stranger", strangerAgent: "stranger's agent"}
	// pick draws one of the parties, logged by name.
	pick := func(rt *rapid.T, label string, cs ...*client) *client {
		return cs[rapid.IntRange(0, len(cs)-1).Draw(rt, label+" ("+partyList(names, cs)+")")]
	}
	idv := func(id string) map[string]any { return map[string]any{"id": id} }
	actions := []action{
		{"accept", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", agent, tech).do(accept, idv(id))
		}},
		{"assign", func(rt *rapid.T, id string) gqlResponse {
			to := pick(rt, "to", tech, tech2)
			return pick(rt, "by", agent, tech).do(assign, map[string]any{"id": id, "to": to.id})
		}},
		{"start", func(rt *rapid.T, id string) gqlResponse { return pick(rt, "by", workers...).do(start, idv(id)) }},
		{"complete", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", workers...).do(complete, map[string]any{"id": id, "note": "done"})
		}},
		{"confirm", func(rt *rapid.T, id string) gqlResponse {
			if rapid.Bool().Draw(rt, "satisfied") {
				return resident.do(confirm, map[string]any{"id": id, "ok": true, "rating": rapid.IntRange(1, 5).Draw(rt, "rating")})
			}
			return resident.do(confirm, map[string]any{"id": id, "ok": false, "comment": "not right yet"})
		}},
		{"cancel", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", resident, agent).do(cancel, map[string]any{"id": id, "reason": "no longer needed"})
		}},
		{"hold", func(rt *rapid.T, id string) gqlResponse {
			vars := idv(id)
			if rapid.Bool().Draw(rt, "planned") {
				vars["at"] = s.clock.Now().Add(time.Hour).Format(time.RFC3339)
			}
			return pick(rt, "by", agent, tech, tech2).do(hold, vars)
		}},
		{"resume", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", agent, tech, tech2).do(`mutation($id: ID!) { resumeRequest(id: $id) { id } }`, idv(id))
		}},
		{"transfer", func(rt *rapid.T, id string) gqlResponse {
			to := pick(rt, "to", tech, tech2)
			return pick(rt, "by", agent, tech, tech2).do(`mutation($id: ID!, $to: ID!) { transferRequest(id: $id, assigneeId: $to, reason: "busy") { id } }`,
				map[string]any{"id": id, "to": to.id})
		}},
		{"send back", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", tech, tech2).do(`mutation($id: ID!) { sendBackRequest(id: $id, reason: "not mine") { id } }`, idv(id))
		}},
		{"claim", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", cleaner, tech).do(`mutation($id: ID!) { claimRequest(id: $id) { id } }`, idv(id))
		}},
		{"callback", func(rt *rapid.T, id string) gqlResponse {
			switch rapid.IntRange(0, 2).Draw(rt, "outcome") {
			case 0:
				return agent.do(callBack, map[string]any{"id": id, "method": "PHONE", "sat": 5})
			case 1:
				return agent.do(callBack, map[string]any{"id": id, "method": "PHONE", "sat": 1})
			}
			return agent.do(`mutation($id: ID!) { recordCallback(id: $id, method: PHONE, outcome: NO_ANSWER) { id } }`, idv(id))
		}},
		{"follow-up", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", director, agent).do(followUp, map[string]any{"id": id, "note": "spoke to the owner"})
		}},
		{"urge", func(rt *rapid.T, id string) gqlResponse {
			return resident.do(`mutation($id: ID!) { urgeRequest(id: $id) { id } }`, idv(id))
		}},
		{"stranger", func(rt *rapid.T, id string) gqlResponse {
			return pick(rt, "by", stranger, strangerAgent).do(cancel, map[string]any{"id": id, "reason": "mischief"})
		}},
		{"time passes", func(rt *rapid.T, _ string) gqlResponse {
			s.clock.Advance(time.Duration(rapid.IntRange(1, 6*60).Draw(rt, "minutes")) * time.Minute)
			// Days pass once a life at most, so a life stays within a
			// session's thirty days.
			if !daysPassed && rapid.Bool().Draw(rt, "days") {
				s.clock.Advance(72 * time.Hour)
				daysPassed = true
			}
			if _, err := s.app.Clock.Tick(context.Background()); err != nil {
				rt.Fatalf("promise clock: %v", err)
			}
			if _, err := s.app.Callbacks.AutoConfirmDue(context.Background()); err != nil {
				rt.Fatalf("auto-confirmation: %v", err)
			}
			return gqlResponse{}
		}},
	}

	users := map[*client]string{resident: e.Resident, agent: e.user("agent"), director: e.user("dir"), tech: e.user("tech"),
		tech2: e.user("tech2"), cleaner: e.user("cleaner"), stranger: other.Resident, strangerAgent: other.user("agent")}
	rapid.Check(t, func(rt *rapid.T) {
		// Time only moves forward, past any session's lifetime: each life
		// starts with everyone signed in afresh.
		for c, u := range users {
			c.token = s.login(t, u).token
		}
		daysPassed = false
		category := rapid.SampledFrom([]string{e.Plumbing, e.Cleaning}).Draw(rt, "category")
		var sub struct{ SubmitRequest struct{ ID string } }
		resident.must(`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"clientRequestId": uuid.NewString(), "categoryId": category, "description": "a random walk"}}, &sub)
		id := sub.SubmitRequest.ID
		steps := rapid.IntRange(1, 30).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			a := actions[rapid.IntRange(0, len(actions)-1).Draw(rt, "action")]
			rt.Logf("step %d: %s", i+1, a.name)
			before := snapshot(rt, s, id)
			res := a.do(rt, id)
			if code := res.code(); code != "" && !slices.Contains(refusals, code) {
				rt.Fatalf("%s answered %s: %+v", a.name, code, res.Errors)
			}
			after := snapshot(rt, s, id)
			if a.name == "stranger" && after.Version != before.Version {
				rt.Fatalf("a stranger changed the request")
			}
			checkInvariants(rt, s, id, after, moves)
			// Sight: the household and the service center always; a worker
			// when the job is theirs, they first took it, or it waits in
			// their pool; nobody of another property or household.
			for c, want := range map[*client]bool{resident: true, agent: true, director: true, stranger: false, strangerAgent: false} {
				if got := sees(c, id); got != want {
					rt.Fatalf("after %s: %s sees it = %v, want %v", a.name, names[c], got, want)
				}
			}
			for _, w := range workers {
				want := (after.Assignee != nil && *after.Assignee == w.id) || (after.FirstResponder != nil && *after.FirstResponder == w.id) || after.Pooled
				if got := sees(w, id); got != want {
					rt.Fatalf("after %s: %s sees it = %v, want %v (%+v)", a.name, names[w], got, want, after)
				}
			}
		}
	})
}

// row is what the invariants read of a request, straight from the database.
type row struct {
	Status         request.Status `db:"status"`
	Version        int            `db:"version"`
	OnHold         bool           `db:"on_hold"`
	HoldUntil      *time.Time     `db:"hold_until"`
	Pooled         bool           `db:"pooled"`
	Assignee       *string        `db:"assignee_id"`
	FirstResponder *string        `db:"first_responder_id"`
	ReopenCount    int            `db:"reopen_count"`
	BreachCount    int            `db:"breach_count"`
	Escalations    int            `db:"escalation_count"`
	SatisfactionN  int            `db:"callback_satisfaction_n"`
	PendingFollow  bool           `db:"pending_follow_up"`
	OpenTasks      int            `db:"open_tasks"`
	Callbacks      int            `db:"scored_callbacks"`
}

func snapshot(rt *rapid.T, s *testServer, id string) row {
	var r row
	if err := s.app.DB.GetContext(context.Background(), &r, `SELECT r.status, r.version, r.on_hold, r.hold_until, r.pooled,
	r.assignee_id, r.first_responder_id, r.reopen_count, r.breach_count, r.escalation_count, r.callback_satisfaction_n,
	EXISTS (SELECT 1 FROM follow_ups f WHERE f.request_id = r.id AND f.done_at IS NULL AND f.cancelled_at IS NULL) AS pending_follow_up,
	(SELECT count(*) FROM callback_tasks k WHERE k.request_id = r.id AND k.status = 'OPEN') AS open_tasks,
	(SELECT count(*) FROM callbacks c WHERE c.request_id = r.id AND c.satisfaction IS NOT NULL) AS scored_callbacks
FROM service_requests r WHERE r.id = $1`, id); err != nil {
		rt.Fatalf("read request: %v", err)
	}
	return r
}

func checkInvariants(rt *rapid.T, s *testServer, id string, r row, moves map[[2]request.Status]bool) {
	var evs []struct {
		ID   int64           `db:"id"`
		Type string          `db:"type"`
		From *request.Status `db:"from_status"`
		To   request.Status  `db:"to_status"`
		At   time.Time       `db:"at"`
	}
	if err := s.app.DB.SelectContext(context.Background(), &evs, `SELECT id, type, from_status, to_status, at FROM request_events WHERE request_id = $1 ORDER BY id`, id); err != nil {
		rt.Fatalf("read events: %v", err)
	}
	count := map[string]int{}
	trail := ""
	for i, e := range evs {
		count[e.Type]++
		trail += fmt.Sprintf(" %s(%v→%s)", e.Type, deref(e.From), e.To)
		if i == 0 {
			if e.Type != "SUBMITTED" || e.From != nil {
				rt.Fatalf("the timeline starts with %s", trail)
			}
			continue
		}
		prev := evs[i-1]
		if e.From == nil || *e.From != prev.To {
			rt.Fatalf("broken chain at %s:%s", e.Type, trail)
		}
		if e.At.Before(prev.At) {
			rt.Fatalf("event %d is older than event %d", e.ID, prev.ID)
		}
		if *e.From != e.To && !moves[[2]request.Status{*e.From, e.To}] {
			rt.Fatalf("no table row moves %s to %s:%s", *e.From, e.To, trail)
		}
	}
	if last := evs[len(evs)-1]; last.To != r.Status {
		rt.Fatalf("the request is %s but its timeline ends at %s:%s", r.Status, last.To, trail)
	}
	if r.Status == request.Closed || r.Status == request.Cancelled {
		if r.OnHold || r.HoldUntil != nil || r.Pooled || r.PendingFollow || r.OpenTasks > 0 {
			rt.Fatalf("an ended request still holds something: %+v:%s", r, trail)
		}
	}
	if r.OnHold && r.Status != request.Accepted && r.Status != request.Assigned && r.Status != request.InProgress {
		rt.Fatalf("on hold while %s:%s", r.Status, trail)
	}
	if r.Pooled && (r.Status != request.Accepted || r.Assignee != nil) {
		rt.Fatalf("in the grab pool while %s, assigned to %v", r.Status, r.Assignee)
	}
	if r.OpenTasks > 1 {
		rt.Fatalf("%d open callback tasks", r.OpenTasks)
	}
	if r.ReopenCount != count["REOPENED"] || r.BreachCount != count["BREACHED"] || r.Escalations != count["ESCALATED"] || r.SatisfactionN != r.Callbacks {
		rt.Fatalf("the tally %+v disagrees with the log %v", r, count)
	}
	var property string
	if err := s.app.DB.Get(&property, `SELECT property_id FROM service_requests WHERE id = $1`, id); err != nil {
		rt.Fatal(err)
	}
	if diff, err := rollupDiff(s.app.DB, &property); err != nil || diff != "" {
		rt.Fatalf("the per-day rollup disagrees with the requests (%v): %s:%s", err, diff, trail)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// sees reports whether the client may read the request.
func sees(c *client, id string) bool {
	res := c.do(`query($id: ID!) { request(id: $id) { id } }`, map[string]any{"id": id})
	switch res.code() {
	case "":
		return true
	case "NOT_FOUND":
		return false
	}
	c.t.Fatalf("request(id): %+v", res.Errors)
	return false
}

func partyList(names map[*client]string, cs []*client) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += ", "
		}
		out += names[c]
	}
	return out
}
