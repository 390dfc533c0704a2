package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const addMessage = `mutation($id: ID!, $text: String!, $vis: Visibility) {
	addRequestMessage(input: {requestId: $id, text: $text, visibility: $vis}) { id text visibility author { id } } }`

// liveMessage is a MESSAGE event as a phone receives it.
type liveMessage struct {
	ID, Type   string
	Note       *string
	Visibility string
}

// subscribeNotes follows requestEvents with notes, from since.
func (w *wsClient) subscribeNotes(id, requestID string, since *string) {
	w.t.Helper()
	vars := map[string]any{"rid": requestID}
	if since != nil {
		vars["since"] = *since
	}
	p, _ := json.Marshal(map[string]any{
		"query":     `subscription($rid: ID, $since: ID) { requestEvents(requestId: $rid, since: $since) { id type note visibility } }`,
		"variables": vars,
	})
	w.start(id, p)
}

func (w *wsClient) message() liveMessage {
	w.t.Helper()
	m := w.next(10 * time.Second)
	var p struct {
		Data   struct{ RequestEvents liveMessage }
		Errors []gqlError
	}
	if m.Type != "next" || json.Unmarshal(m.Payload, &p) != nil || len(p.Errors) > 0 {
		w.t.Fatalf("want an event, got %s %s", m.Type, m.Payload)
	}
	return p.Data.RequestEvents
}

// A public message reaches the resident's phone live; an internal one
// never does, live or on resuming; staff get both.
func TestThreadLiveAndInternal(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "TL", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent, tech := s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	r := resident.submit(e.Plumbing, "Dripping tap")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	before := agent.get(r.ID).Timeline
	since := before[len(before)-1].ID

	home, desk := resident.ws(), agent.ws()
	home.subscribeNotes("m", r.ID, nil)
	desk.subscribeNotes("m", r.ID, nil)
	home.quiet(100 * time.Millisecond)

	tech.must(addMessage, map[string]any{"id": r.ID, "text": "staff only: the resident is rude", "vis": "INTERNAL"}, nil)
	var pub struct {
		AddRequestMessage struct{ ID, Text, Visibility string }
	}
	tech.must(addMessage, map[string]any{"id": r.ID, "text": "I will come at three"}, &pub)
	if pub.AddRequestMessage.Visibility != "PUBLIC" || pub.AddRequestMessage.Text != "I will come at three" {
		t.Fatalf("added %+v", pub)
	}
	got := home.message()
	if got.Type != "MESSAGE" || got.ID != pub.AddRequestMessage.ID || got.Note == nil || *got.Note != "I will come at three" {
		t.Fatalf("the resident's phone got %+v first", got)
	}
	home.quiet(200 * time.Millisecond)
	if a, b := desk.message(), desk.message(); a.Visibility != "INTERNAL" || b.Visibility != "PUBLIC" {
		t.Fatalf("the desk got %+v then %+v", a, b)
	}

	// Resuming from before both: the internal one is still never sent.
	again := resident.ws()
	again.subscribeNotes("r", r.ID, &since)
	if got := again.message(); got.ID != pub.AddRequestMessage.ID {
		t.Fatalf("resumed with %+v", got)
	}
	again.quiet(200 * time.Millisecond)

	// A resident cannot write an internal message.
	resident.fails("FORBIDDEN", addMessage, map[string]any{"id": r.ID, "text": "x", "vis": "INTERNAL"})
	resident.fails("INVALID_INPUT", addMessage, map[string]any{"id": r.ID, "text": "  "})
	other := s.login(t, "resident.lee")
	other.fails("NOT_FOUND", addMessage, map[string]any{"id": r.ID, "text": "hello"})

	// The thread, as each reads it, and unread counts per viewer.
	const thread = `query($id: ID!, $first: Int, $after: String) { request(id: $id) { unreadMessages
		messages(first: $first, after: $after) { edges { cursor node { text visibility author { id } } } pageInfo { hasNextPage endCursor } } } }`
	type page struct {
		Request struct {
			UnreadMessages int
			Messages       struct {
				Edges []struct {
					Cursor string
					Node   struct{ Text, Visibility string }
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
	}
	var hp, ap page
	raw := resident.do(thread, map[string]any{"id": r.ID})
	if strings.Contains(string(raw.Data), "staff only") {
		t.Fatalf("the household's thread holds the internal message: %s", raw.Data)
	}
	_ = json.Unmarshal(raw.Data, &hp)
	if len(hp.Request.Messages.Edges) != 1 || hp.Request.UnreadMessages != 1 {
		t.Fatalf("household thread %+v", hp)
	}
	agent.must(thread, map[string]any{"id": r.ID, "first": 1}, &ap)
	if len(ap.Request.Messages.Edges) != 1 || ap.Request.Messages.Edges[0].Node.Text != "I will come at three" ||
		!ap.Request.Messages.PageInfo.HasNextPage || ap.Request.UnreadMessages != 2 {
		t.Fatalf("agent's first page %+v", ap)
	}
	agent.must(thread, map[string]any{"id": r.ID, "first": 1, "after": ap.Request.Messages.PageInfo.EndCursor}, &ap)
	if len(ap.Request.Messages.Edges) != 1 || ap.Request.Messages.Edges[0].Node.Visibility != "INTERNAL" || ap.Request.Messages.PageInfo.HasNextPage {
		t.Fatalf("agent's second page %+v", ap)
	}
	resident.must(`mutation($id: ID!) { markMessagesRead(requestId: $id) { unreadMessages } }`, map[string]any{"id": r.ID}, nil)
	resident.must(thread, map[string]any{"id": r.ID}, &hp)
	if hp.Request.UnreadMessages != 0 {
		t.Fatalf("after reading: %d unread", hp.Request.UnreadMessages)
	}

	// The resident writes: the first-asker (the agent) and the assignee are
	// each told once; the resident is told of nobody's own message.
	agentBefore, techBefore := messageNotices(agent, r.ID), messageNotices(tech, r.ID)
	resident.must(addMessage, map[string]any{"id": r.ID, "text": "Three is fine"}, nil)
	for c, before := range map[*client]int{agent: agentBefore, tech: techBefore} {
		if n := messageNotices(c, r.ID) - before; n != 1 {
			t.Errorf("%s told %d times of the resident's message", c.id, n)
		}
	}
	if n := messageNotices(resident, r.ID); n != 1 { // of the technician's public message
		t.Errorf("the resident told %d times", n)
	}
}

// messageNotices counts the person's MESSAGE notifications about a request.
func messageNotices(c *client, requestID string) int {
	c.t.Helper()
	var out struct {
		MyNotifications struct {
			Edges []struct {
				Node struct {
					Kind    string
					Request *struct{ ID string }
				}
			}
		}
	}
	c.must(`{ myNotifications(first: 100) { edges { node { kind request { id } } } } }`, nil, &out)
	n := 0
	for _, e := range out.MyNotifications.Edges {
		if e.Node.Kind == "MESSAGE" && e.Node.Request != nil && e.Node.Request.ID == requestID {
			n++
		}
	}
	return n
}
