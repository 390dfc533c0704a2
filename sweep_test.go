package main

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/kproperty/onestop/graph"
)

// sweepWorld is one Harbour View request and its neighbourhood, and two
// people of K Tower who must not reach any of it.
type sweepWorld struct {
	request, property, unit, building, category, tech, butler, resident, notification string
	// Harbour View's bookings side: see sweepBookings.
	facility, booking, activity, signUp, paid, visitCategory string
}

// sweepCase calls one field with Harbour View's ids. empty, when set,
// checks the answer of a field that filters rather than refuses (a list
// that must come back empty, a count that must be zero).
type sweepCase struct {
	query string
	vars  func(w sweepWorld) map[string]any
	empty func(data json.RawMessage) bool
}

// sameAsMissing are fields whose refusal of another property's id is
// accepted because it reads exactly as the one for an id that does not
// exist, so nothing can be probed. logVisit answers INVALID_INPUT (unitId:
// not in your portfolio) for any household not in the butler's care.
var sameAsMissing = map[string]func(w sweepWorld) map[string]any{
	"Mutation.logVisit": func(sweepWorld) map[string]any { return map[string]any{"u": uuid.NewString()} },
}

func ids(w sweepWorld) map[string]any { return map[string]any{"id": w.request} }

func noEdges(data json.RawMessage) bool { return !strings.Contains(string(data), `"node"`) }

var sweepCases = map[string]sweepCase{
	"Query.request":           {`query($id: ID!) { request(id: $id) { id } }`, ids, func(d json.RawMessage) bool { return strings.Contains(string(d), `"request":null`) }},
	"Query.requests":          {`query($p: ID, $a: ID) { requests(filter: {propertyId: $p, assigneeId: $a}) { edges { node { id } } } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property, "a": w.tech} }, noEdges},
	"Query.serviceCategories": {`query($p: ID) { serviceCategories(propertyId: $p) { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil},
	"Query.dispatchRules":     {`query($p: ID!) { dispatchRules(propertyId: $p) { mode } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil},
	"Query.callbackQueue":     {`query($p: ID) { callbackQueue(propertyId: $p) { edges { node { id } } } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil},
	"Query.serviceStats": {`query($p: ID) { serviceStats(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { total } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil},
	"Query.staffStats": {`query($p: ID) { staffStats(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { jobsDone } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil},
	"Mutation.submitRequest": {`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`, func(w sweepWorld) map[string]any {
		return map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": w.category, "description": "not yours",
			"unitId": w.unit, "onBehalfOfResidentId": w.resident}}
	}, nil},
	"Mutation.acceptRequest":   {`mutation($id: ID!) { acceptRequest(id: $id) { id } }`, ids, nil},
	"Mutation.assignRequest":   {`mutation($id: ID!, $to: ID!) { assignRequest(id: $id, assigneeId: $to) { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.request, "to": w.tech} }, nil},
	"Mutation.startRequest":    {`mutation($id: ID!) { startRequest(id: $id) { id } }`, ids, nil},
	"Mutation.completeRequest": {`mutation($id: ID!) { completeRequest(id: $id, note: "done") { id } }`, ids, nil},
	"Mutation.confirmRequest":  {`mutation($id: ID!) { confirmRequest(id: $id, satisfied: true, rating: 5) { id } }`, ids, nil},
	"Mutation.cancelRequest":   {`mutation($id: ID!) { cancelRequest(id: $id, reason: "no") { id } }`, ids, nil},
	"Mutation.recordCallback":  {`mutation($id: ID!) { recordCallback(id: $id, method: PHONE, satisfaction: 5) { id } }`, ids, nil},
	"Mutation.recordFollowUp":  {`mutation($id: ID!) { recordFollowUp(id: $id, note: "hi") { id } }`, ids, nil},
	"Mutation.replyToRating":   {`mutation($id: ID!) { replyToRating(id: $id, reply: "thanks") { id } }`, ids, nil},
	"Mutation.assignButler": {`mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { from } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"u": w.unit, "b": w.butler} }, nil},
	"Mutation.logVisit":        {`mutation($u: ID!) { logVisit(unitId: $u, note: "hello") { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"u": w.unit} }, nil},
	"Mutation.claimRequest":    {`mutation($id: ID!) { claimRequest(id: $id) { id } }`, ids, nil},
	"Mutation.transferRequest": {`mutation($id: ID!, $to: ID!) { transferRequest(id: $id, assigneeId: $to, reason: "mine") { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.request, "to": w.tech} }, nil},
	"Mutation.sendBackRequest": {`mutation($id: ID!) { sendBackRequest(id: $id, reason: "no") { id } }`, ids, nil},
	"Mutation.holdRequest":     {`mutation($id: ID!) { holdRequest(id: $id, reason: "wait") { id } }`, ids, nil},
	"Mutation.resumeRequest":   {`mutation($id: ID!) { resumeRequest(id: $id) { id } }`, ids, nil},
	"Mutation.urgeRequest":     {`mutation($id: ID!) { urgeRequest(id: $id) { id } }`, ids, nil},
	"Mutation.setDispatchRule": {`mutation($p: ID!, $c: ID) { setDispatchRule(propertyId: $p, categoryId: $c, mode: POOL) { mode } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property, "c": w.category} }, nil},
	"Mutation.setPromiseSettings": {`mutation($p: ID!) { setPromiseSettings(propertyId: $p, warnFraction: 0.1) { warnFraction } }`,
		func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil},
	"Mutation.saveServiceCategory": {`mutation($in: ServiceCategoryInput!) { saveServiceCategory(input: $in) { id } }`, func(w sweepWorld) map[string]any {
		return map[string]any{"in": map[string]any{"propertyId": w.property, "code": "plumbing", "kind": "REPAIR", "name": "Taken", "nameZh": "取",
			"completionTargetMinutes": 1}}
	}, nil},
	"Mutation.setStaffProfile": {`mutation($who: ID!, $p: ID!, $z: ID) { setStaffProfile(personId: $who, propertyId: $p, skills: ["none"], zoneBuildingId: $z) { skills } }`,
		func(w sweepWorld) map[string]any {
			return map[string]any{"who": w.tech, "p": w.property, "z": w.building}
		}, nil},
	"Mutation.markNotificationsRead": {`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`,
		func(w sweepWorld) map[string]any { return map[string]any{"ids": []string{w.notification}} },
		func(d json.RawMessage) bool { return strings.Contains(string(d), `"markNotificationsRead":0`) }},
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

// Every query and mutation that takes an id, called by someone of another
// property with Harbour View's ids, answers NOT_FOUND or FORBIDDEN (or,
// for a filter, nothing) and changes nothing. A new id-taking field
// without a case here fails the test. (Subscriptions are covered by
// subscription_test.go.)
func TestOtherPropertySweep(t *testing.T) {
	s := sharedServer(t)
	lee, agent, tech := s.login(t, "resident.lee"), s.login(t, "agent.wong"), s.login(t, "tech.lam")
	manager, butler := s.login(t, "manager.cheung"), s.login(t, "butler.ho")
	var w sweepWorld
	r := lee.submit(lee.categoryID("HV", "plumbing"), "Sweep: basin leak")
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	w.request, w.unit, w.category, w.tech, w.butler, w.resident = r.ID, r.Unit.ID, lee.categoryID("HV", "plumbing"), tech.id, butler.id, lee.id
	var u struct {
		Request struct {
			Property struct{ ID string }
			Unit     struct{ Building struct{ ID string } }
		}
	}
	lee.must(`query($id: ID!) { request(id: $id) { property { id } unit { building { id } } } }`, map[string]any{"id": r.ID}, &u)
	w.property, w.building = u.Request.Property.ID, u.Request.Unit.Building.ID
	var inbox struct {
		MyNotifications struct {
			UnreadCount int
			Edges       []struct{ Node struct{ ID string } }
		}
	}
	tech.must(`{ myNotifications(first: 1, unreadOnly: true) { unreadCount edges { node { id } } } }`, nil, &inbox)
	if len(inbox.MyNotifications.Edges) == 0 {
		t.Fatal("the technician has no unread notification to protect")
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
			{tech, `{ myNotifications(first: 50) { unreadCount } }`, nil},
			{butler, `{ requests(first: 100) { edges { node { id } } } }`, nil},
			{lee, `{ requests(first: 100) { edges { node { id } } } }`, nil},
		} {
			resp := q.c.do(q.query, q.vars)
			b.Write(resp.Data)
		}
		return b.String()
	}
	before := snapshot()

	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	var fields []string
	for _, typ := range []*ast.Definition{schema.Query, schema.Mutation} {
		for _, f := range typ.Fields {
			if !strings.HasPrefix(f.Name, "__") && takesID(schema, f.Arguments) {
				fields = append(fields, typ.Name+"."+f.Name)
			}
		}
	}
	sort.Strings(fields)
	outsiders := []*client{s.login(t, "tenant.ko"), s.login(t, "agent.siu"), s.login(t, "tech.fung")}
	for _, name := range fields {
		c, ok := sweepCases[name]
		if !ok {
			t.Errorf("%s takes an id but has no case in sweepCases", name)
			continue
		}
		for _, o := range outsiders {
			resp := o.do(c.query, c.vars(w))
			switch {
			case resp.code() == "NOT_FOUND" || resp.code() == "FORBIDDEN":
			case c.empty != nil && len(resp.Errors) == 0 && c.empty(resp.Data):
			case sameAsMissing[name] != nil && len(resp.Errors) > 0:
				missing := o.do(c.query, sameAsMissing[name](w))
				if len(missing.Errors) == 0 || missing.Errors[0].Message != resp.Errors[0].Message || missing.code() != resp.code() {
					t.Errorf("%s tells an existing id from a missing one: %+v / %+v", name, resp.Errors, missing.Errors)
				}
			default:
				t.Errorf("%s as an outsider: %+v %s", name, resp.Errors, resp.Data)
			}
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("outsiders changed Harbour View:\nbefore %s\nafter  %s", before, after)
	}
}
