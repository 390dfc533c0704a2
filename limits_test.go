package main

import (
	"fmt"
	"strings"
	"testing"
)

// nestedTimeline is the query that once made a 30 MB answer: a request's
// timeline, each event's request, its timeline, and so on.
func nestedTimeline(levels int) string {
	inner := "id"
	for i := 0; i < levels; i++ {
		inner = fmt.Sprintf("id timeline { id type request { %s } }", inner)
	}
	return `query($id: ID!) { request(id: $id) { ` + inner + ` } }`
}

func aliases(n int, field string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " a%d: %s", i, field)
	}
	return b.String()
}

// An operation that could make a huge answer, or repeat costly work under
// aliases, is refused before anything runs.
func TestQueryLimits(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	r := lee.submit(lee.categoryID("HV", "plumbing"), "Dripping tap")

	tooBig := lee.fails("QUERY_TOO_COMPLEX", nestedTimeline(7), map[string]any{"id": r.ID})
	if string(tooBig.Data) != "" && string(tooBig.Data) != "null" {
		t.Errorf("a refused operation ran: data %s", tooBig.Data)
	}
	// A shallow form of the same question is fine.
	lee.must(nestedTimeline(2), map[string]any{"id": r.ID}, nil)

	year := `serviceStats(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z") { total }`
	manager := s.login(t, "manager.cheung")
	manager.fails("QUERY_TOO_COMPLEX", "{"+aliases(2400, year)+" }", nil)
	manager.fails("QUERY_TOO_COMPLEX", "{"+aliases(3, year)+" }", nil)
	manager.must("{"+aliases(2, year)+" }", nil, nil)

	// Without a token, too: two hundred password checks in one request.
	s.anon(t).fails("QUERY_TOO_COMPLEX", "mutation {"+aliases(200, `login(username: "guard.yip", password: "x") { accessToken }`)+" }", nil)
	s.anon(t).fails("QUERY_TOO_COMPLEX", "mutation {"+aliases(2, `login(username: "guard.yip", password: "x") { accessToken }`)+" }", nil)

	lee.fails("QUERY_TOO_COMPLEX", `query($id: ID!) {`+aliases(1000, `request(id: $id) { id }`)+` }`, map[string]any{"id": r.ID})
	lee.fails("QUERY_TOO_COMPLEX", `query($id: ID!) {`+aliases(11, `request(id: $id) { id }`)+` }`, map[string]any{"id": r.ID})
	lee.must(`query($id: ID!) {`+aliases(10, `request(id: $id) { id }`)+` }`, map[string]any{"id": r.ID}, nil)

	// A page of 100 requests with their whole timelines is too much; with
	// the latest few events each it is not.
	lee.fails("QUERY_TOO_COMPLEX", `{ requests(first: 100) { edges { node { `+requestFields+` } } } }`, nil)
	lee.must(`{ requests(first: 100) { edges { node { id status timeline(last: 5) { id type at actor { name } } } } } }`, nil, nil)
}

// A request's timeline answers its latest events, within a bound.
func TestTimelineBounded(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	r := lee.submit(lee.categoryID("HV", "plumbing"), "Loose hinge")
	agent := s.login(t, "agent.wong")
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	var out struct {
		Request struct{ Timeline []event }
	}
	lee.must(`query($id: ID!) { request(id: $id) { timeline(last: 1) { id type } } }`, map[string]any{"id": r.ID}, &out)
	if len(out.Request.Timeline) != 1 || out.Request.Timeline[0].Type != "ACCEPTED" {
		t.Fatalf("last event %+v", out.Request.Timeline)
	}
	lee.fails("INVALID_INPUT", `query($id: ID!) { request(id: $id) { timeline(last: 201) { id } } }`, map[string]any{"id": r.ID})
}
