package main

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/kproperty/onestop/graph"
)

// sweepWorld is one Harbour View request, of household A-1201, and its
// neighbourhood: the ids every other household, property and role must not
// reach through it.
type sweepWorld struct {
	request, property, unit, building, category, tech, butler, resident, notification string
	// Harbour View's bookings side: see sweepBookings.
	facility, booking, activity, signUp, paid, visitCategory string
}

// sweepCase calls one field with the world's ids. hides, when set, checks
// the answer of a field that filters rather than refuses (a list that must
// not name the request, a count that must be zero). open names those of
// the same property who may use the field with these ids, and why says
// why (a property's catalogue is its residents' to read); the sweep leaves
// them out of it.
type sweepCase struct {
	query string
	vars  func(w sweepWorld) map[string]any
	hides func(w sweepWorld, data json.RawMessage) bool
	open  neighbourhood
	why   string
}

// neighbourhood is who, of the world's own property, a field is open to.
type neighbourhood uint8

const (
	// openToStaff: anyone working at the property.
	openToStaff neighbourhood = 1 << iota
	// openToResidents: anyone living at the property.
	openToResidents
	// closed: nobody without sight of the request.
	closed neighbourhood = 0
)

// sameAsMissing are fields whose refusal of another's id is accepted
// because it reads exactly as the one for an id that does not exist, so
// nothing can be probed; each gives the variables with a missing id.
var sameAsMissing = map[string]func(w sweepWorld) map[string]any{}

func ids(w sweepWorld) map[string]any { return map[string]any{"id": w.request} }

func hidesRequest(w sweepWorld, data json.RawMessage) bool {
	return !strings.Contains(string(data), w.request)
}

var sweepCases = map[string]sweepCase{
	"Query.request": {`query($id: ID!) { request(id: $id) { id } }`, ids, func(_ sweepWorld, d json.RawMessage) bool { return strings.Contains(string(d), `"request":null`) }, closed, ""},
	"Query.requests": {`query($p: ID, $a: ID, $c: ID, $u: ID, $b: ID, $f: ID) { requests(filter: {propertyId: $p, assigneeId: $a,
		categoryId: $c, unitId: $u, buildingId: $b, firstResponderId: $f, text: "Sweep", sort: URGENCY}) { edges { node { id } } } }`,
		func(w sweepWorld) map[string]any {
			return map[string]any{"p": w.property, "a": w.butler, "c": w.category, "u": w.unit, "b": w.building, "f": w.butler}
		}, hidesRequest, closed, ""},
	"Query.serviceCategories": {`query($p: ID) { serviceCategories(propertyId: $p) { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil,
		openToStaff | openToResidents, "a property's catalogue is its residents' and staff's to read"},
	"Query.dispatchRules": {`query($p: ID!) { dispatchRules(propertyId: $p) { mode } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil,
		openToStaff, "a property's dispatch rules are its staff's to read"},
	"Query.callbackQueue": {`query($p: ID) { callbackQueue(propertyId: $p) { edges { node { id } } } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Query.serviceStats": {`query($p: ID) { serviceStats(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { total } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Query.staffStats": {`query($p: ID) { staffStats(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { jobsDone } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.submitRequest": {`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`, func(w sweepWorld) map[string]any {
		return map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": w.category, "description": "not yours",
			"unitId": w.unit, "onBehalfOfResidentId": w.resident}}
	}, nil, openToStaff, "any employee a resident asks takes the request for them (first-ask responsibility)"},
	"Mutation.acceptRequest":   {`mutation($id: ID!) { acceptRequest(id: $id) { id } }`, ids, nil, closed, ""},
	"Mutation.assignRequest":   {`mutation($id: ID!, $to: ID!) { assignRequest(id: $id, assigneeId: $to) { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.request, "to": w.tech} }, nil, closed, ""},
	"Mutation.startRequest":    {`mutation($id: ID!) { startRequest(id: $id) { id } }`, ids, nil, closed, ""},
	"Mutation.completeRequest": {`mutation($id: ID!) { completeRequest(id: $id, note: "done") { id } }`, ids, nil, closed, ""},
	"Mutation.confirmRequest":  {`mutation($id: ID!) { confirmRequest(id: $id, satisfied: true, rating: 5) { id } }`, ids, nil, closed, ""},
	"Mutation.cancelRequest":   {`mutation($id: ID!) { cancelRequest(id: $id, reason: "no") { id } }`, ids, nil, closed, ""},
	"Mutation.recordCallback":  {`mutation($id: ID!) { recordCallback(id: $id, method: PHONE, satisfaction: 5) { id } }`, ids, nil, closed, ""},
	"Mutation.recordFollowUp":  {`mutation($id: ID!) { recordFollowUp(id: $id, note: "hi") { id } }`, ids, nil, closed, ""},
	"Mutation.replyToRating":   {`mutation($id: ID!) { replyToRating(id: $id, reply: "thanks") { id } }`, ids, nil, closed, ""},
	"Mutation.assignButler": {`mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { from } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"u": w.unit, "b": w.butler} }, nil, closed, ""},
	"Mutation.logVisit":          {`mutation($u: ID!) { logVisit(unitId: $u, note: "hello") { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"u": w.unit} }, nil, closed, ""},
	"Mutation.claimRequest":      {`mutation($id: ID!) { claimRequest(id: $id) { id } }`, ids, nil, closed, ""},
	"Mutation.transferRequest":   {`mutation($id: ID!, $to: ID!) { transferRequest(id: $id, assigneeId: $to, reason: "mine") { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.request, "to": w.tech} }, nil, closed, ""},
	"Mutation.sendBackRequest":   {`mutation($id: ID!) { sendBackRequest(id: $id, reason: "no") { id } }`, ids, nil, closed, ""},
	"Mutation.holdRequest":       {`mutation($id: ID!) { holdRequest(id: $id, reason: "wait") { id } }`, ids, nil, closed, ""},
	"Mutation.resumeRequest":     {`mutation($id: ID!) { resumeRequest(id: $id) { id } }`, ids, nil, closed, ""},
	"Mutation.addRequestMessage": {`mutation($id: ID!) { addRequestMessage(input: {requestId: $id, text: "hi"}) { id } }`, ids, nil, closed, ""},
	"Mutation.markMessagesRead":  {`mutation($id: ID!) { markMessagesRead(requestId: $id) { id } }`, ids, nil, closed, ""},
	"Mutation.urgeRequest":       {`mutation($id: ID!) { urgeRequest(id: $id) { id } }`, ids, nil, closed, ""},
	"Mutation.setDispatchRule": {`mutation($p: ID!, $c: ID) { setDispatchRule(propertyId: $p, categoryId: $c, mode: POOL) { mode } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property, "c": w.category} }, nil, closed, ""},
	"Mutation.setPromiseSettings": {`mutation($p: ID!) { setPromiseSettings(propertyId: $p, warnFraction: 0.1) { warnFraction } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.saveServiceCategory": {`mutation($in: ServiceCategoryInput!) { saveServiceCategory(input: $in) { id } }`, func(w sweepWorld) map[string]any {
		return map[string]any{"in": map[string]any{"propertyId": w.property, "code": "plumbing", "kind": "REPAIR", "name": "Taken", "nameZh": "取",
			"completionTargetMinutes": 1}}
	}, nil, closed, ""},
	"Mutation.setStaffProfile": {`mutation($who: ID!, $p: ID!, $z: ID) { setStaffProfile(personId: $who, propertyId: $p, skills: ["none"], zoneBuildingId: $z) { skills } }`,
		func(w sweepWorld) map[string]any {
			return map[string]any{"who": w.tech, "p": w.property, "z": w.building}
		}, nil, closed, ""},
	"Query.search": {`query($p: ID!) { search(propertyId: $p, text: "leak") { units { id } } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Query.staffBoard":       {`query($p: ID!) { staffBoard(propertyId: $p) { role } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Query.butlerPortfolios": {`query($p: ID!) { butlerPortfolios(propertyId: $p) { withoutButler { id } } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Query.auditLog":         {`query($p: ID) { auditLog(propertyId: $p) { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.updateProperty": {`mutation($p: ID!) { updateProperty(id: $p, input: {name: "Taken"}) { id } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.createBuilding": {`mutation($p: ID!) { createBuilding(propertyId: $p, code: "ZZ", name: "Z", nameZh: "Z") { id } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.createUnit": {`mutation($b: ID!) { createUnit(buildingId: $b, code: "ZZ-1") { id } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"b": w.building} }, nil, closed, ""},
	"Mutation.setHouseholdVip": {`mutation($u: ID!) { setHouseholdVip(unitId: $u, vip: true) { id } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"u": w.unit} }, nil, closed, ""},
	"Mutation.importUnits": {`mutation($p: ID!) { importUnits(propertyId: $p, csv: "building,unit\nZZ,ZZ-2\n") { unitsCreated } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.issueActivationCode": {`mutation($u: ID!) { issueActivationCode(unitId: $u, relation: FAMILY, name: "Intruder") { code } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"u": w.unit} }, nil, closed, ""},
	"Mutation.resetPassword": {`mutation($who: ID!) { resetPassword(personId: $who) { code } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"who": w.resident} }, nil, closed, ""},
	"Mutation.endResidency": {`mutation($u: ID!) { endResidency(unitId: $u) }`,
		func(w sweepWorld) map[string]any { return map[string]any{"u": w.unit} }, nil, closed, ""},
	"Mutation.hireStaff": {`mutation($p: ID!) { hireStaff(propertyId: $p, username: "sweep.intruder", name: "Intruder", role: AGENT) { person { id } } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.updateStaff": {`mutation($who: ID!, $p: ID!) { updateStaff(personId: $who, propertyId: $p, role: CLEANER) }`,
		func(w sweepWorld) map[string]any { return map[string]any{"who": w.tech, "p": w.property} }, nil, closed, ""},
	"Mutation.staffLeaves": {`mutation($who: ID!, $p: ID!) { staffLeaves(personId: $who, propertyId: $p) { sentBack } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"who": w.tech, "p": w.property} }, nil, closed, ""},
	"Query.butlerPortfolioHistory": {`query($p: ID!, $u: ID, $b: ID) { butlerPortfolioHistory(propertyId: $p, unitId: $u, butlerId: $b) { from } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property, "u": w.unit, "b": w.butler} }, nil, closed, ""},
	"Query.shifts": {`query($p: ID!) { shifts(propertyId: $p) { code } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil,
		openToStaff, "a property's shifts are its staff's to read"},
	"Mutation.setShifts": {`mutation($p: ID!) { setShifts(propertyId: $p, shifts: [{code: "EARLY", starts: "07:00", ends: "15:00"}, {code: "MIDDLE", starts: "15:00", ends: "23:00"}, {code: "NIGHT", starts: "23:00", ends: "07:00"}]) { code } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, closed, ""},
	"Mutation.removeDispatchRule": {`mutation($p: ID!, $c: ID) { removeDispatchRule(propertyId: $p, categoryId: $c) }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property, "c": w.category} }, nil, closed, ""},
	"Mutation.setStaffShift": {`mutation($who: ID!, $p: ID!) { setStaffShift(personId: $who, propertyId: $p, shift: "EARLY") { onShift } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"who": w.tech, "p": w.property} }, nil, closed, ""},
	"Mutation.markNotificationsRead": {`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`,
		func(w sweepWorld) map[string]any { return map[string]any{"ids": []string{w.notification}} },
		func(_ sweepWorld, d json.RawMessage) bool {
			return strings.Contains(string(d), `"markNotificationsRead":0`)
		}, closed, ""},
}

// takesID reports whether a field takes an id, directly or in an input.
func takesID(s *ast.Schema, args ast.ArgumentDefinitionList) bool {
	var has func(t *ast.Type, depth int) bool
	has = func(t *ast.Type, depth int) bool {
		if t.Name() == "ID" {
			return true
		}
		def := s.Types[t.Name()]
		if def == nil || def.Kind != ast.InputObject || depth > 3 {
			return false
		}
		for _, f := range def.Fields {
			if has(f.Type, depth+1) {
				return true
			}
		}
		return false
	}
	for _, a := range args {
		if has(a.Type, 0) {
			return true
		}
	}
	return false
}

// sweeper is one signed-in person the sweep tries the world's ids as.
type sweeper struct {
	*client
	name string
	// as is what the person is at the world's property, if anything.
	as neighbourhood
}

// sweepSubscriptions are the cases of the subscriptions that take an id,
// called over a websocket. Each fails the test if the attacker hears of the
// world.
var sweepSubscriptions = map[string]func(t *testing.T, s *testServer, o sweeper, w sweepWorld){
	// Another's request, with or without since, is NOT_FOUND, as a missing
	// one is.
	"Subscription.requestEvents": func(t *testing.T, _ *testServer, o sweeper, w sweepWorld) {
		ws := o.ws()
		defer ws.conn.CloseNow()
		ws.subscribe("1", &w.request, nil)
		ws.subscribe("2", &w.request, ptr("0"))
		for range 2 {
			if f := ws.failure(); f.code() != "NOT_FOUND" {
				t.Errorf("%s: requestEvents of the world's request: %+v", o.name, f.Errors)
			}
		}
	},
	// Another property's staff board is NOT_FOUND, its own staff outside
	// the service center FORBIDDEN.
	"Subscription.staffBoard": func(t *testing.T, _ *testServer, o sweeper, w sweepWorld) {
		ws := o.ws()
		defer ws.conn.CloseNow()
		ws.subscribeBoard("1", w.property)
		if f := ws.failure(); f.code() != "NOT_FOUND" && f.code() != "FORBIDDEN" {
			t.Errorf("%s: staffBoard of the world's property: %+v", o.name, f.Errors)
		}
	},
	// A notification id names a place in the log, not whose: resuming from
	// just before another's notification hands out only the subscriber's
	// own. A notification of the subscriber's, written after, marks where
	// the backlog ends.
	"Subscription.notifications": func(t *testing.T, s *testServer, o sweeper, w sweepWorld) {
		ws := o.ws()
		defer ws.conn.CloseNow()
		n, _ := strconv.ParseInt(w.notification, 10, 64)
		p, _ := json.Marshal(map[string]any{"query": `subscription($s: ID) { notifications(since: $s) { id } }`, "variables": map[string]any{"s": strconv.FormatInt(n-1, 10)}})
		ws.start("1", p)
		// Read and removed after, so that no other test finds it in an inbox.
		var marker string
		if err := s.app.DB.Get(&marker, `INSERT INTO notifications (person_id, kind, title, created_at, read_at, pushed_at)
			VALUES ($1, 'STATUS_CHANGED', 'marker', now(), now(), now()) RETURNING id::text`, o.id); err != nil {
			t.Fatal(err)
		}
		defer s.exec(t, `DELETE FROM notifications WHERE id = $1`, marker)
		for {
			m := ws.next(10 * time.Second)
			var got struct {
				Data   struct{ Notifications struct{ ID string } }
				Errors []gqlError
			}
			if m.Type != "next" || json.Unmarshal(m.Payload, &got) != nil || len(got.Errors) > 0 {
				t.Fatalf("%s: notifications: %s %s", o.name, m.Type, m.Payload)
			}
			switch got.Data.Notifications.ID {
			case w.notification:
				t.Errorf("%s received another's notification %s", o.name, w.notification)
			case marker:
				return
			}
		}
	},
}

// Every query, mutation and subscription that takes an id, called with the
// ids of a Harbour View request of household A-1201 by everyone who may not
// see it, answers NOT_FOUND or FORBIDDEN (or, for a filter, leaves it out)
// and changes nothing. Those who may not see it are the people of another
// property, another household of the same estate (B-0805), and the estate's
// own staff without sight of it: its technician and its guard, to whom the
// request is not assigned. A new id-taking field without a case here fails
// the test.
func TestSweep(t *testing.T) {
	s := sharedServer(t)
	chan_, agent, tech := s.login(t, "resident.chan"), s.login(t, "agent.wong"), s.login(t, "tech.lam")
	manager, butler := s.login(t, "manager.cheung"), s.login(t, "butler.ho")
	var inbox struct {
		MyNotifications struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	// A-1201 is in butler.ho's portfolio: its request goes straight to him.
	r := chan_.submit(chan_.categoryID("HV", "plumbing"), "Sweep: basin leak")
	if r.Assignee == nil || r.Assignee.ID != butler.id {
		t.Fatalf("A-1201's request went to %+v, not its butler", r.Assignee)
	}
	w := sweepWorld{request: r.ID, unit: r.Unit.ID, category: chan_.categoryID("HV", "plumbing"), tech: tech.id, butler: butler.id, resident: chan_.id}
	var u struct {
		Request struct {
			Property struct{ ID string }
			Unit     struct{ Building struct{ ID string } }
		}
	}
	chan_.must(`query($id: ID!) { request(id: $id) { property { id } unit { building { id } } } }`, map[string]any{"id": r.ID}, &u)
	w.property, w.building = u.Request.Property.ID, u.Request.Unit.Building.ID
	butler.must(`{ myNotifications(first: 1, unreadOnly: true) { edges { node { id } } } }`, nil, &inbox)
	if len(inbox.MyNotifications.Edges) == 0 {
		t.Fatal("the butler has no unread notification to protect")
	}
	w.notification = inbox.MyNotifications.Edges[0].Node.ID
	sweepBookings(t, s, &w)

	snapshot := func() string {
		var b strings.Builder
		for _, q := range []struct {
			c     *client
			query string
			vars  map[string]any
		}{
			{agent, `query($id: ID!) { request(id: $id) { status version assignee { id } onHold pooled timeline { id } } }`, ids(w)},
			{manager, `query($p: ID!) { dispatchRules(propertyId: $p) { mode role category { id } } }`, map[string]any{"p": w.property}},
			{manager, `{ me { properties { promiseSettings { warnFraction businessOpen } } } }`, nil},
			{manager, `query($p: ID) { serviceCategories(propertyId: $p) { id code name active } }`, map[string]any{"p": w.property}},
			{butler, `{ myNotifications(first: 50) { unreadCount } }`, nil},
			{tech, `{ requests(first: 100) { edges { node { id } } } }`, nil},
			{chan_, `{ requests(first: 100) { edges { node { id } } } }`, nil},
		} {
			resp := q.c.do(q.query, q.vars)
			b.Write(resp.Data)
		}
		var portfolio string
		if err := s.app.DB.Get(&portfolio, `SELECT (SELECT count(*) FROM butler_assignments WHERE unit_id = $1) || '/' ||
			(SELECT count(*) FROM butler_visits WHERE unit_id = $1)`, w.unit); err != nil {
			t.Fatal(err)
		}
		return b.String() + portfolio
	}
	before := snapshot()

	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	var fields []string
	for _, typ := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		for _, f := range typ.Fields {
			if !strings.HasPrefix(f.Name, "__") && takesID(schema, f.Arguments) {
				fields = append(fields, typ.Name+"."+f.Name)
			}
		}
	}
	sort.Strings(fields)
	var outsiders, neighbours []sweeper
	for _, name := range []string{"tenant.ko", "agent.siu", "tech.fung"} {
		outsiders = append(outsiders, sweeper{s.login(t, name), name, closed})
	}
	for name, as := range map[string]neighbourhood{"resident.lee": openToResidents, "tech.lam": openToStaff, "guard.yip": openToStaff} {
		neighbours = append(neighbours, sweeper{s.login(t, name), name, as})
	}
	for _, name := range fields {
		if sub, ok := sweepSubscriptions[name]; ok {
			for _, o := range append(slices.Clip(outsiders), neighbours...) {
				sub(t, s, o, w)
			}
			continue
		}
		c, ok := sweepCases[name]
		if !ok {
			t.Errorf("%s takes an id but has no case in sweepCases or sweepSubscriptions", name)
			continue
		}
		attackers := slices.Clip(outsiders)
		for _, n := range neighbours {
			if c.open&n.as == 0 {
				attackers = append(attackers, n)
			}
		}
		for _, o := range attackers {
			resp := o.do(c.query, c.vars(w))
			switch {
			case resp.code() == "NOT_FOUND" || resp.code() == "FORBIDDEN":
			case c.hides != nil && len(resp.Errors) == 0 && c.hides(w, resp.Data):
			case sameAsMissing[name] != nil && len(resp.Errors) > 0:
				missing := o.do(c.query, sameAsMissing[name](w))
				if len(missing.Errors) == 0 || missing.Errors[0].Message != resp.Errors[0].Message || missing.code() != resp.code() {
					t.Errorf("%s tells an existing id from a missing one: %+v / %+v", name, resp.Errors, missing.Errors)
				}
			default:
				t.Errorf("%s as %s: %+v %s", name, o.name, resp.Errors, resp.Data)
			}
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("others changed A-1201's request or Harbour View:\nbefore %s\nafter  %s", before, after)
	}
}
