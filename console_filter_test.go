package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// consoleList is one page of requests as the console reads it.
type consoleList struct {
	Requests struct {
		Edges []struct {
			Cursor string
			Node   consoleRow
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

type consoleRow struct {
	ID              string
	Number          string
	Status          string
	Channel         string
	CreatedAt       time.Time
	DueAt           *time.Time
	OnHold          bool
	Breached        bool
	EscalationLevel int
	FirstResponder  *struct{ ID string }
	Unit            struct{ ID string }
	Category        struct{ ID string }
}

const consoleQuery = `query($f: RequestFilter, $first: Int, $after: String) {
	requests(filter: $f, first: $first, after: $after) {
		edges { cursor node { id number status channel createdAt dueAt onHold breached escalationLevel
			firstResponder { id } unit { id } category { id } } }
		pageInfo { hasNextPage endCursor } } }`

// readAll reads a filtered list to its end, two at a time, following each
// page's end cursor.
func readAll(t *testing.T, c *client, f map[string]any) []consoleRow {
	t.Helper()
	var out []consoleRow
	var after any
	for range 50 {
		var page consoleList
		c.must(consoleQuery, map[string]any{"f": f, "first": 2, "after": after}, &page)
		for _, e := range page.Requests.Edges {
			out = append(out, e.Node)
		}
		if !page.Requests.PageInfo.HasNextPage {
			return out
		}
		after = *page.Requests.PageInfo.EndCursor
	}
	t.Fatalf("%v: no end to the list", f)
	return nil
}

func rowIDs(rows []consoleRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// The console finds a property's requests by category, household, building,
// first-asker, channel, promise state (breached, overdue now, escalated, on
// hold), payment and text in English or Chinese, in each order (newest,
// due, urgency) page by page; a household using the same filters finds
// only its own requests, and never one by a staff-only note.
func TestConsoleRequestFilters(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "CF", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "boss": "MANAGER"})
	resident, agent, tech := s.login(t, e.Resident), s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	// A second block with a household of its own, and a paid service.
	var blockB, unitB, neighbourID, paidCat string
	db := s.app.DB
	for _, q := range []struct {
		dst  *string
		sql  string
		args []any
	}{
		{&blockB, `INSERT INTO buildings (property_id, code, name) VALUES ($1, 'B', 'Block B') RETURNING id`, []any{e.ID}},
		{&unitB, `INSERT INTO units (property_id, building_id, code) VALUES ($1, $2, 'B-0101') RETURNING id`, []any{e.ID, &blockB}},
		{&neighbourID, `INSERT INTO people (username, name, password_hash) SELECT $1, $1, password_hash FROM people WHERE username = $2 RETURNING id`, []any{e.Code + ".neighbour", e.Resident}},
		{&paidCat, `INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes, price_cents, currency)
			VALUES ($1, 'sofa', 'CONTRACTED', 'Sofa cleaning', '梳化清洗', 600, 48000, 'HKD') RETURNING id`, []any{e.ID}},
	} {
		args := make([]any, len(q.args))
		for i, a := range q.args {
			if p, ok := a.(*string); ok {
				a = *p
			}
			args[i] = a
		}
		if err := db.Get(q.dst, q.sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	s.exec(t, `INSERT INTO residencies (person_id, unit_id, relation) VALUES ($1, $2, 'OWNER')`, neighbourID, unitB)
	neighbour := s.login(t, e.Code+".neighbour")

	// A minute apart, so that newest first is one order.
	tap := resident.submit(e.Plumbing, "Kitchen tap drips")
	s.clock.Advance(time.Minute)
	stairs := resident.submit(e.Cleaning, "樓梯間需要清潔")
	s.clock.Advance(time.Minute)
	sofa := resident.submit(paidCat, "Deep clean the sofa")
	s.clock.Advance(time.Minute)
	bath := neighbour.submit(e.Plumbing, "浴室水龍頭漏水")
	s.clock.Advance(time.Minute)
	var byPhone struct{ SubmitRequest struct{ ID string } }
	agent.must(`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"clientRequestId": uuid.NewString(), "categoryId": e.Cleaning, "description": "Corridor light flickers",
		"unitId": unitB, "onBehalfOfResidentId": neighbourID, "channel": "PHONE"}}, &byPhone)
	light := byPhone.SubmitRequest.ID
	s.clock.Advance(time.Minute)
	// The neighbour's sofa is quoted and owed.
	owed := neighbour.submit(paidCat, "Clean the armchair too")
	agent.must(`mutation($id: ID!) { quoteRequest(id: $id, quantity: 1) { quantity } }`, map[string]any{"id": owed.ID}, nil)
	start0 := s.clock.Now()
	at := func(d time.Duration) string { return start0.Add(d).Format(time.RFC3339) }

	// The tap is promised within the hour, the bath within three; the
	// stairs wait on hold; the sofa is quoted, accepted and paid.
	agent.act(accept, map[string]any{"id": tap.ID, "at": at(time.Hour)})
	agent.act(assign, map[string]any{"id": tap.ID, "to": tech.id})
	agent.act(accept, map[string]any{"id": bath.ID, "at": at(3 * time.Hour)})
	agent.act(assign, map[string]any{"id": bath.ID, "to": tech.id})
	agent.act(accept, map[string]any{"id": stairs.ID, "at": at(10 * time.Hour)})
	agent.act(assign, map[string]any{"id": stairs.ID, "to": tech.id})
	tech.must(`mutation($id: ID!) { holdRequest(id: $id, reason: "waiting for the cleaners") { onHold } }`, map[string]any{"id": stairs.ID}, nil)
	agent.act(accept, map[string]any{"id": sofa.ID, "at": at(20 * time.Hour)})
	agent.must(`mutation($id: ID!) { quoteRequest(id: $id, quantity: 1) { quantity } }`, map[string]any{"id": sofa.ID}, nil)
	resident.must(`mutation($id: ID!) { acceptQuote(id: $id) { acceptedAt } }`, map[string]any{"id": sofa.ID}, nil)
	agent.must(`mutation($id: ID!) { recordPayment(id: $id, payment: PAID) { payment } }`, map[string]any{"id": sofa.ID}, nil)
	say := `mutation($id: ID!, $text: String!, $v: Visibility) { addRequestMessage(input: {requestId: $id, text: $text, visibility: $v}) { id } }`
	tech.must(say, map[string]any{"id": tap.ID, "text": "已更換墊圈 (washer replaced)", "v": "PUBLIC"}, nil)
	agent.must(say, map[string]any{"id": tap.ID, "text": "住戶要求夜間上門", "v": "INTERNAL"}, nil)
	// Two hours on, the tap's promise is broken and escalated; the bath is
	// due in an hour.
	s.clock.Set(start0.Add(2 * time.Hour))
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := agent.view(tap.ID); !v.Breached || v.EscalationLevel != 1 {
		t.Fatalf("the tap after its promise: %+v", v)
	}

	all := readAll(t, agent, map[string]any{"propertyId": e.ID})
	if len(all) != 6 {
		t.Fatalf("the agent lists %d requests, want 6", len(all))
	}
	where := func(keep func(consoleRow) bool) []string {
		var out []string
		for _, r := range all {
			if keep(r) {
				out = append(out, r.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	firstAsker := *all[1].FirstResponder // the light's: the agent who took the call
	for _, c := range []struct {
		name string
		f    map[string]any
		want []string
	}{
		{"category", map[string]any{"categoryId": e.Plumbing}, []string{tap.ID, bath.ID}},
		{"unit", map[string]any{"unitId": e.Unit}, []string{tap.ID, stairs.ID, sofa.ID}},
		{"building", map[string]any{"buildingId": blockB}, []string{bath.ID, light, owed.ID}},
		{"first-asker", map[string]any{"firstResponderId": firstAsker.ID},
			where(func(r consoleRow) bool { return r.FirstResponder != nil && r.FirstResponder.ID == firstAsker.ID })},
		{"channel", map[string]any{"channel": []string{"PHONE", "WALK_IN"}}, []string{light}},
		{"breached", map[string]any{"breached": true}, []string{tap.ID}},
		{"not breached", map[string]any{"breached": false}, []string{stairs.ID, sofa.ID, bath.ID, light, owed.ID}},
		{"overdue", map[string]any{"overdue": true}, []string{tap.ID}},
		{"escalated", map[string]any{"escalated": true}, []string{tap.ID}},
		{"on hold", map[string]any{"onHold": true}, []string{stairs.ID}},
		{"paid", map[string]any{"paid": true}, []string{sofa.ID}},
		{"owed", map[string]any{"paid": false}, []string{owed.ID}},
		{"English", map[string]any{"text": "WASHER"}, []string{tap.ID}},
		{"Chinese", map[string]any{"text": "水龍頭漏水"}, []string{bath.ID}},
		{"Chinese, two characters", map[string]any{"text": "清潔"}, []string{stairs.ID}},
		{"staff note", map[string]any{"text": "夜間上門"}, []string{tap.ID}},
		{"number", map[string]any{"text": strings.ToLower(all[3].Number)}, []string{all[3].ID}},
		{"together", map[string]any{"categoryId": e.Plumbing, "breached": false, "status": []string{"ASSIGNED"}}, []string{bath.ID}},
	} {
		c.f["propertyId"] = e.ID
		got := rowIDs(readAll(t, agent, c.f))
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}

	// Each order pages through all six in its key: newest first; due
	// first (those without a promise last, by id); breached and escalated
	// first, then open work by due time, then the rest.
	unpromised := []string{light, owed.ID}
	slices.Sort(unpromised)
	created := readAll(t, agent, map[string]any{"propertyId": e.ID, "sort": "CREATED"})
	due := readAll(t, agent, map[string]any{"propertyId": e.ID, "sort": "DUE"})
	urgent := readAll(t, agent, map[string]any{"propertyId": e.ID, "sort": "URGENCY"})
	if got, want := rowIDs(created), []string{owed.ID, light, bath.ID, sofa.ID, stairs.ID, tap.ID}; !slices.Equal(got, want) {
		t.Errorf("newest first: %v, want %v", got, want)
	}
	if got, want := rowIDs(due), append([]string{tap.ID, bath.ID, stairs.ID, sofa.ID}, unpromised...); !slices.Equal(got, want) {
		t.Errorf("by due time: %v, want %v", got, want)
	}
	if got, want := rowIDs(urgent), append([]string{tap.ID, bath.ID, stairs.ID, sofa.ID}, unpromised...); !slices.Equal(got, want) {
		t.Errorf("by urgency: %v, want %v", got, want)
	}
	// Those without a promise are open but come after every promised one
	// by urgency; a request done and awaiting the household comes after them.
	tech.act(start, map[string]any{"id": bath.ID})
	tech.act(complete, map[string]any{"id": bath.ID, "note": "Sealed"})
	if got, want := rowIDs(readAll(t, agent, map[string]any{"propertyId": e.ID, "sort": "URGENCY"})),
		append(append([]string{tap.ID, stairs.ID, sofa.ID}, unpromised...), bath.ID); !slices.Equal(got, want) {
		t.Errorf("by urgency, the bath done: %v, want %v", got, want)
	}

	// A cursor read in one order is refused in another, and a malformed
	// id or an empty text is refused by name.
	var page consoleList
	agent.must(consoleQuery, map[string]any{"f": map[string]any{"propertyId": e.ID, "sort": "DUE"}, "first": 1}, &page)
	dueCursor := page.Requests.Edges[0].Cursor
	agent.must(consoleQuery, map[string]any{"f": map[string]any{"propertyId": e.ID}, "first": 1}, &page)
	for _, c := range []struct {
		sort   string
		cursor string
	}{{"CREATED", dueCursor}, {"URGENCY", dueCursor}, {"DUE", page.Requests.Edges[0].Cursor}} {
		r := agent.fails("INVALID_INPUT", consoleQuery, map[string]any{"f": map[string]any{"sort": c.sort}, "after": c.cursor})
		if r.field() != "after" {
			t.Errorf("a cursor of another order in %s: %+v", c.sort, r.Errors)
		}
	}
	if r := agent.fails("INVALID_INPUT", consoleQuery, map[string]any{"f": map[string]any{"buildingId": "B"}}); r.field() != "filter.buildingId" {
		t.Errorf("a malformed building id: %+v", r.Errors)
	}
	if r := agent.fails("INVALID_INPUT", consoleQuery, map[string]any{"f": map[string]any{"text": " "}}); r.field() != "filter.text" {
		t.Errorf("an empty text: %+v", r.Errors)
	}

	// The household uses the same filters on its own requests only.
	for _, c := range []struct {
		who  string
		f    map[string]any
		want []string
	}{
		{"resident", map[string]any{}, []string{tap.ID, stairs.ID, sofa.ID}},
		{"resident", map[string]any{"breached": true}, []string{tap.ID}},
		{"resident", map[string]any{"text": "washer"}, []string{tap.ID}},
		{"resident", map[string]any{"text": "夜間上門"}, nil},
		{"resident", map[string]any{"buildingId": blockB}, nil},
		{"resident", map[string]any{"text": "水龍頭漏水"}, nil},
		{"neighbour", map[string]any{"unitId": e.Unit}, nil},
		{"neighbour", map[string]any{"propertyId": e.ID, "categoryId": e.Plumbing}, []string{bath.ID}},
		{"neighbour", map[string]any{"text": "washer"}, nil},
		{"neighbour", map[string]any{"paid": false}, []string{owed.ID}},
		{"resident", map[string]any{"paid": false}, nil},
		{"neighbour", map[string]any{"firstResponderId": firstAsker.ID, "sort": "URGENCY"},
			where(func(r consoleRow) bool {
				return r.Unit.ID == unitB && r.FirstResponder != nil && r.FirstResponder.ID == firstAsker.ID
			})},
	} {
		who := map[string]*client{"resident": resident, "neighbour": neighbour}[c.who]
		got := rowIDs(readAll(t, who, c.f))
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s with %v: got %v, want %v", c.who, c.f, got, c.want)
		}
	}
}
