package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

// householdSight is, for each event type, whether the household sees the
// event and whether it reads the note staff wrote on it.
var householdSight = map[string]struct{ event, note bool }{
	"SUBMITTED":          {true, true},
	"ACCEPTED":           {true, true},
	"ASSIGNED":           {true, false},
	"REASSIGNED":         {true, false},
	"STARTED":            {true, false},
	"COMPLETED":          {true, true},
	"CONFIRMED":          {true, true},
	"REOPENED":           {true, false}, // by callback: the agent's note; the resident's own is checked apart
	"CANCELLED":          {true, true},
	"CLOSED":             {true, false},
	"TRANSFERRED":        {true, false},
	"SENT_BACK":          {false, false},
	"ON_HOLD":            {true, false},
	"RESUMED":            {true, false},
	"URGED":              {true, true},
	"WARNED":             {false, false},
	"BREACHED":           {false, false},
	"ESCALATED":          {false, false},
	"AUTO_CONFIRMED":     {true, false},
	"CALLBACK_ATTEMPTED": {false, false},
	"CALLED_BACK":        {false, false},
	"FOLLOWED_UP":        {false, false},
	"RATING_REPLIED":     {true, true},
}

// Every event type is read as the household and as staff: staff read every
// event and note; the household never reads a note written for colleagues
// (a send-back's, a transfer's, a hold's, a callback's) or an event that is
// staff-only.
func TestHouseholdViewOfEveryEventType(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.AccessTTL = 30 * 24 * time.Hour })
	e := newEstate(t, s, "HS", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "tech2": "TECHNICIAN", "boss": "MANAGER", "dir": "DIRECTOR"})
	s.exec(t, `UPDATE units SET vip = true WHERE id = $1`, e.Unit)
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech, tech2 := s.login(t, e.user("tech")), s.login(t, e.user("tech2"))
	dir := s.login(t, e.user("dir"))
	id := func(r req) map[string]any { return map[string]any{"id": r.ID} }
	tick := func(d time.Duration) {
		t.Helper()
		s.clock.Advance(d)
		if _, err := s.app.Clock.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	secret := func(s string) string { return "staff only: " + s }

	// A: most of the flow, with a note for colleagues at every step that
	// takes one.
	a := resident.submit(e.Plumbing, "Leak under the sink")
	agent.act(accept, map[string]any{"id": a.ID, "note": "A plumber will come this afternoon"})
	agent.act(assign, map[string]any{"id": a.ID, "to": tech.id, "note": secret("send Lam")})
	tech.must(`mutation($id: ID!, $to: ID!) { transferRequest(id: $id, assigneeId: $to, reason: "staff only: not my job, transfer") { id } }`,
		map[string]any{"id": a.ID, "to": tech2.id}, nil)
	tech2.must(`mutation($id: ID!) { sendBackRequest(id: $id, reason: "staff only: not my job") { id } }`, id(a), nil)
	agent.act(assign, map[string]any{"id": a.ID, "to": tech.id})
	agent.act(assign, map[string]any{"id": a.ID, "to": tech2.id, "note": secret("reassigned")})
	tech2.must(`mutation($id: ID!) { holdRequest(id: $id, reason: "staff only: waiting for a cheap part") { id } }`, id(a), nil)
	tech2.must(`mutation($id: ID!) { resumeRequest(id: $id) { id } }`, id(a), nil)
	resident.must(`mutation($id: ID!) { urgeRequest(id: $id) { id } }`, id(a), nil)
	for range 8 {
		tick(2 * time.Hour) // warned, breached, escalated
	}
	tech2.act(start, id(a))
	tech2.act(complete, map[string]any{"id": a.ID, "note": "Pipe joint resealed"})
	resident.act(confirm, map[string]any{"id": a.ID, "ok": false, "comment": "Still dripping"})
	tech2.act(start, id(a))
	tech2.act(complete, map[string]any{"id": a.ID, "note": "Joint replaced"})
	resident.act(confirm, map[string]any{"id": a.ID, "ok": true, "rating": 4, "comment": "Fine now"})
	agent.must(`mutation($id: ID!) { replyToRating(id: $id, reply: "Thank you for your patience") { id } }`, id(a), nil)
	agent.act(attempt, map[string]any{"id": a.ID, "method": "PHONE", "outcome": "NO_ANSWER", "note": secret("no answer, try evening")})
	agent.act(callBack, map[string]any{"id": a.ID, "method": "PHONE", "sat": 5, "note": secret("happy, but chatty")})
	dir.act(followUp, map[string]any{"id": a.ID, "note": secret("visited, they complain a lot")})

	// B: cancelled by the service center, with a reason for the household.
	b := resident.submit(e.Cleaning, "Corridor")
	agent.act(accept, id(b))
	agent.act(cancel, map[string]any{"id": b.ID, "reason": "The corridor is cleaned on Mondays"})

	// C: auto-confirmed, then reopened by an unhappy callback.
	c := resident.submit(e.Cleaning, "Lobby glass")
	agent.act(accept, id(c))
	agent.act(assign, map[string]any{"id": c.ID, "to": tech.id})
	tech.act(start, id(c))
	tech.act(complete, map[string]any{"id": c.ID, "note": "Glass wiped"})
	s.clock.Advance(73 * time.Hour)
	if _, err := s.app.Callbacks.AutoConfirmDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	agent.act(callBack, map[string]any{"id": c.ID, "method": "PHONE", "sat": 1, "note": secret("angry, redo it")})

	const q = `query($id: ID!) { request(id: $id) { timeline(last: 200) { id type note actor { id } } } }`
	covered := map[string]bool{}
	for _, r := range []req{a, b, c} {
		var staff, home struct{ Request struct{ Timeline []event } }
		agent.must(q, id(r), &staff)
		raw := resident.do(q, id(r))
		if len(raw.Errors) > 0 {
			t.Fatalf("household read: %+v", raw.Errors)
		}
		if strings.Contains(string(raw.Data), "staff only") {
			t.Errorf("the household reads a note written for colleagues: %s", raw.Data)
		}
		if err := json.Unmarshal(raw.Data, &home); err != nil {
			t.Fatal(err)
		}
		seen := map[string]event{}
		for _, ev := range home.Request.Timeline {
			seen[ev.ID] = ev
		}
		for _, ev := range staff.Request.Timeline {
			covered[ev.Type] = true
			want, ok := householdSight[ev.Type]
			if !ok {
				t.Fatalf("no expectation for %s", ev.Type)
			}
			got, shown := seen[ev.ID]
			if shown != want.event {
				t.Errorf("%s: household sees the event %v, want %v", ev.Type, shown, want.event)
				continue
			}
			if !shown {
				continue
			}
			byHousehold := ev.Actor != nil && ev.Actor.ID == resident.id
			switch {
			case ev.Note == nil:
				if got.Note != nil {
					t.Errorf("%s: household note %q where staff read none", ev.Type, *got.Note)
				}
			case want.note || byHousehold:
				if got.Note == nil || *got.Note != *ev.Note {
					t.Errorf("%s: household note %v, want %q", ev.Type, got.Note, *ev.Note)
				}
			default:
				if got.Note != nil {
					t.Errorf("%s: household reads the staff note %q", ev.Type, *got.Note)
				}
			}
		}
	}
	for typ := range householdSight {
		if !covered[typ] {
			t.Errorf("no %s event was made", typ)
		}
	}
}
