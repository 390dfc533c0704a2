package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// screenList is the list page a phone shows, and screenRequest one
// request's page: each nested through categories, people and timelines
// with their actors.
const (
	screenList = `query($last: Int) { requests(first: 20) { edges { node { id number status description category { name }
	requester { name } assignee { name } firstResponder { name } timeline(last: $last) { id type toStatus at note actor { id name } } } } } }`
	screenRequest = `query($id: ID!, $last: Int) { request(id: $id) { id number status description category { name }
	requester { name } assignee { name } firstResponder { name } timeline(last: $last) { id type fromStatus toStatus at note actor { id name } } } }`
)

type screenEvent struct {
	ID, Type, ToStatus string
	Note               *string
	Actor              *struct{ ID, Name string }
}

type screenReq struct {
	ID                       string
	Category                 struct{ Name string }
	Requester                struct{ Name string }
	Assignee, FirstResponder *struct{ Name string }
	Timeline                 []screenEvent
}

// maxScreenStatements is the most SQL statements a screen of requests may
// run: the viewer's actor, the requests with their categories and people,
// and the timelines with their actors.
const maxScreenStatements = 3

// A screen of requests, the list or one request's page, costs at most
// three SQL statements for every kind of viewer, whatever it nests, and
// the timelines cut in the database are the ones each viewer may read.
func TestScreenStatementCounts(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	butler := s.login(t, "butler.ho")
	tech := s.login(t, "tech.lam")

	// A request with a staff-only step in its history: the butler sends it
	// to the technician, who sends it back, and gets it again.
	r := chan_.submit(chan_.categoryID("HV", "plumbing"), "Kitchen tap drips")
	butler.act(assign, map[string]any{"id": r.ID, "to": tech.id, "note": "for the plumber"})
	tech.must(`mutation($id: ID!) { sendBackRequest(id: $id, reason: "needs a part first") { id } }`, map[string]any{"id": r.ID}, nil)
	butler.act(assign, map[string]any{"id": r.ID, "to": tech.id, "note": "the part is in"})
	tech.act(start, map[string]any{"id": r.ID})

	c := countingServer(t)
	for _, who := range []string{"resident.chan", "agent.wong", "butler.ho", "tech.lam"} {
		cl := c.ts.login(t, who)
		// The whole timeline as this viewer reads it, then its last 3.
		var full struct{ Request screenReq }
		cl.must(screenRequest, map[string]any{"id": r.ID}, &full)
		all := full.Request.Timeline
		staffOnly := slices.ContainsFunc(all, func(e screenEvent) bool { return e.Type == "SENT_BACK" })
		if staffOnly == (who == "resident.chan") || len(all) < 4 {
			t.Fatalf("%s reads the timeline %s", who, eventTypes(all))
		}
		if full.Request.Category.Name == "" || full.Request.Requester.Name == "" || full.Request.Assignee == nil || full.Request.Assignee.Name == "" {
			t.Fatalf("%s reads %+v", who, full.Request)
		}
		for _, e := range all {
			if e.Actor != nil && e.Actor.Name == "" {
				t.Fatalf("%s reads an actor without a name: %+v", who, e)
			}
		}

		n, out := c.count(t, cl, screenRequest, map[string]any{"id": r.ID, "last": 3})
		if n > maxScreenStatements {
			t.Errorf("request(id) as %s: %d SQL statements, want at most %d:\n%s", who, n, maxScreenStatements, out.texts)
		}
		var one struct{ Request screenReq }
		out.decode(t, &one)
		if got, want := eventTypes(one.Request.Timeline), eventTypes(all[len(all)-3:]); got != want {
			t.Errorf("%s: timeline(last: 3) is %s, want the last three of %s", who, got, eventTypes(all))
		}

		n, out = c.count(t, cl, screenList, map[string]any{"last": 3})
		if n > maxScreenStatements {
			t.Errorf("requests(first: 20) as %s: %d SQL statements, want at most %d:\n%s", who, n, maxScreenStatements, out.texts)
		}
		var list struct {
			Requests struct{ Edges []struct{ Node screenReq } }
		}
		out.decode(t, &list)
		found := false
		for _, e := range list.Requests.Edges {
			if e.Node.ID == r.ID {
				found = true
				if got, want := eventTypes(e.Node.Timeline), eventTypes(all[len(all)-3:]); got != want {
					t.Errorf("%s's list: timeline(last: 3) is %s, want %s", who, got, want)
				}
			}
			if e.Node.Category.Name == "" || e.Node.Requester.Name == "" || len(e.Node.Timeline) == 0 {
				t.Errorf("%s's list holds %+v", who, e.Node)
			}
		}
		if !found {
			t.Errorf("%s's list does not hold the request", who)
		}
	}
}

func eventTypes(evs []screenEvent) string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return strings.Join(out, " ")
}

// counted is one call's answer and the statements it ran.
type counted struct {
	data  json.RawMessage
	texts string
}

func (c counted) decode(t *testing.T, out any) {
	t.Helper()
	if err := json.Unmarshal(c.data, out); err != nil {
		t.Fatalf("decode %s: %v", c.data, err)
	}
}

// count runs one operation (after the same once, to warm the server's
// caches) and returns how many SQL statements the second call ran.
func (c *counter) count(t *testing.T, cl *client, query string, vars map[string]any) (int, counted) {
	t.Helper()
	cl.must(query, vars, nil)
	before := c.proxy.Count()
	c.proxy.Capture(true)
	r := cl.do(query, vars)
	n := int(c.proxy.Count() - before)
	c.proxy.Capture(false)
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v\nquery: %s", r.Errors, query)
	}
	var texts []string
	for _, s := range c.proxy.Texts() {
		if t := strings.Join(strings.Fields(s), " "); len(t) > 120 {
			texts = append(texts, "  "+t[:120]+"…")
		} else {
			texts = append(texts, "  "+t)
		}
	}
	return n, counted{data: r.Data, texts: strings.Join(texts, "\n")}
}
