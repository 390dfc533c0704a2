package main

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

const readReq = `query($id: ID!) { request(id: $id) { id } }`

// Nobody sees data that is not theirs, and an invisible request answers
// exactly like one that does not exist.
func TestVisibility(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	lee := s.login(t, "resident.lee")
	ko := s.login(t, "tenant.ko")
	agentHV := s.login(t, "agent.wong")
	agentKT := s.login(t, "agent.siu")
	fung := s.login(t, "tech.fung")
	butler := s.login(t, "butler.ho")
	admin := s.login(t, "admin")
	director := s.login(t, "director.ng")

	r := lee.submit(lee.categoryID("HV", "complaint"), "Noise from the flat above")

	missing := chan_.fails("NOT_FOUND", readReq, map[string]any{"id": uuid.NewString()})
	for name, c := range map[string]*client{"another household": chan_, "another property's tenant": ko,
		"another property's agent": agentKT, "another property's technician": fung, "a butler it is not assigned to": butler} {
		got := c.fails("NOT_FOUND", readReq, map[string]any{"id": r.ID})
		if got.Errors[0].Message != missing.Errors[0].Message {
			t.Errorf("%s: message %q differs from a missing id's %q", name, got.Errors[0].Message, missing.Errors[0].Message)
		}
		// Nor can they act on it.
		c.fails("NOT_FOUND", cancel, map[string]any{"id": r.ID, "reason": "x"})
	}
	for _, c := range []*client{lee, agentHV, admin, director} {
		c.get(r.ID)
	}
	// A malformed id is just another id that does not exist.
	chan_.fails("NOT_FOUND", readReq, map[string]any{"id": "not-a-uuid"})

	// Lists obey the same rule.
	list := `query($f: RequestFilter) { requests(filter: $f, first: 100) { edges { node { id property { code } } } } }`
	var out struct {
		Requests struct {
			Edges []struct {
				Node struct {
					ID       string
					Property struct{ Code string }
				}
			}
		}
	}
	for _, c := range []*client{chan_, ko, agentKT, butler} {
		c.must(list, nil, &out)
		for _, e := range out.Requests.Edges {
			if e.Node.ID == r.ID {
				t.Errorf("%s lists a request that is not theirs", c.id)
			}
		}
	}
	agentKT.must(list, nil, &out)
	for _, e := range out.Requests.Edges {
		if e.Node.Property.Code != "KT" {
			t.Errorf("K Tower's agent lists an HV request %s", e.Node.ID)
		}
	}
	// Filtering by another property does not widen what one sees.
	hv := s.propertyID(t, admin, "HV")
	agentKT.must(list, map[string]any{"f": map[string]any{"propertyId": hv}}, &out)
	if len(out.Requests.Edges) != 0 {
		t.Errorf("K Tower's agent filtered HV and got %d requests", len(out.Requests.Edges))
	}
	// The categories of another property are not listed either.
	agentKT.fails("NOT_FOUND", `query($p: ID) { serviceCategories(propertyId: $p) { id } }`, map[string]any{"p": hv})
}

func (s *testServer) propertyID(t *testing.T, admin *client, code string) string {
	t.Helper()
	var out struct {
		Me struct{ Properties []struct{ ID, Code string } }
	}
	admin.must(`{ me { properties { id code } } }`, nil, &out)
	for _, p := range out.Me.Properties {
		if p.Code == code {
			return p.ID
		}
	}
	t.Fatalf("no property %s", code)
	return ""
}

// The request list is a Relay connection, newest first, pages of at most 100.
func TestRequestListPaging(t *testing.T) {
	s := startServer(t, nil)
	e := newEstate(t, s, "PG", nil)
	ko := s.login(t, e.Resident)
	cat := e.Cleaning
	var made []string
	for i := 0; i < 5; i++ {
		made = append(made, ko.submit(cat, "Meeting room tidy-up").ID)
		s.clock.Advance(time.Minute)
	}
	q := `query($after: String, $f: RequestFilter) { requests(first: 2, after: $after, filter: $f) {
		edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		Requests struct {
			Edges []struct {
				Cursor string
				Node   struct{ ID, Status string }
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	var seen []string
	var after any
	for {
		var p page
		ko.must(q, map[string]any{"after": after, "f": map[string]any{"createdFrom": testEpoch.Format(time.RFC3339)}}, &p)
		for _, e := range p.Requests.Edges {
			seen = append(seen, e.Node.ID)
		}
		if !p.Requests.PageInfo.HasNextPage {
			break
		}
		after = *p.Requests.PageInfo.EndCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d requests, want 5", len(seen))
	}
	for i := range seen {
		if seen[i] != made[len(made)-1-i] {
			t.Fatalf("order %v, want newest first of %v", seen, made)
		}
	}
	ko.fails("INVALID_INPUT", `{ requests(first: 101) { edges { cursor } } }`, nil)
	ko.fails("INVALID_INPUT", `{ requests(after: "garbage") { edges { cursor } } }`, nil)
	var p page
	ko.must(q, map[string]any{"f": map[string]any{"status": []string{"CLOSED"}, "createdFrom": testEpoch.Format(time.RFC3339)}}, &p)
	if len(p.Requests.Edges) != 0 {
		t.Fatalf("status filter let through %+v", p.Requests.Edges)
	}
}
