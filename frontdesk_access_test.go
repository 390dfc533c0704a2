package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// deskWorld is one property's front-desk ids that other people must not
// reach.
type deskWorld struct {
	property, unit, pass, visit, post, duty, otherDuty, swap string
}

// deskCase calls one front-desk field with a world's ids.
type deskCase struct {
	query string
	vars  func(w deskWorld) map[string]any
}

var deskCases = map[string]deskCase{
	"Query.visit":          {`query($v: ID!) { visit(id: $v) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"v": w.visit} }},
	"Query.visitorLog":     {`query($p: ID!) { visitorLog(propertyId: $p) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"p": w.property} }},
	"Query.doNotAdmitList": {`query($u: ID!) { doNotAdmitList(unitId: $u) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"u": w.unit} }},
	"Query.posts":          {`query($p: ID!) { posts(propertyId: $p) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"p": w.property} }},
	"Query.greetingRota":   {`query($p: ID!) { greetingRota(propertyId: $p, month: "2026-12") { id } }`, func(w deskWorld) map[string]any { return map[string]any{"p": w.property} }},
	"Query.frontDeskStats": {`query($p: ID!) { frontDeskStats(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { visitors } }`,
		func(w deskWorld) map[string]any { return map[string]any{"p": w.property} }},
	"Mutation.preRegisterVisitor": {`mutation($u: ID!) { preRegisterVisitor(input: {unitId: $u, visitorName: "X", expectedFrom: "2026-11-27T02:00:00Z", expectedTo: "2026-11-27T09:00:00Z"}) { id } }`,
		func(w deskWorld) map[string]any { return map[string]any{"u": w.unit} }},
	"Mutation.cancelVisitorPass": {`mutation($id: ID!) { cancelVisitorPass(id: $id) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"id": w.pass} }},
	"Mutation.registerVisitorArrival": {`mutation($p: ID!, $u: ID) { registerVisitorArrival(input: {propertyId: $p, unitId: $u, visitorName: "X"}) { visit { id } } }`,
		func(w deskWorld) map[string]any { return map[string]any{"p": w.property, "u": w.unit} }},
	"Mutation.returnVisitorId": {`mutation($v: ID!) { returnVisitorId(visitId: $v, at: "2026-11-27T02:00:00Z") { id } }`,
		func(w deskWorld) map[string]any { return map[string]any{"v": w.visit} }},
	"Mutation.recordVisitorDeparture": {`mutation($v: ID!) { recordVisitorDeparture(visitId: $v) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"v": w.visit} }},
	"Mutation.answerVisitor":          {`mutation($v: ID!) { answerVisitor(visitId: $v, admit: true) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"v": w.visit} }},
	"Mutation.doNotAdmit":             {`mutation($u: ID!) { doNotAdmit(unitId: $u, name: "Y") { id } }`, func(w deskWorld) map[string]any { return map[string]any{"u": w.unit} }},
	"Mutation.setFrontDeskSettings": {`mutation($p: ID!) { setFrontDeskSettings(propertyId: $p, retentionDays: 1) { retentionDays } }`,
		func(w deskWorld) map[string]any { return map[string]any{"p": w.property} }},
	"Mutation.setGreetingWindow": {`mutation($p: ID!) { setGreetingWindow(propertyId: $p, weekdayStart: "06:00") }`,
		func(w deskWorld) map[string]any { return map[string]any{"p": w.property} }},
	"Mutation.checkInPost":  {`mutation($p: ID!) { checkInPost(postId: $p) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"p": w.post} }},
	"Mutation.checkOutPost": {`mutation($p: ID!) { checkOutPost(postId: $p) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"p": w.post} }},
	"Mutation.generateGreetingRota": {`mutation($p: ID!) { generateGreetingRota(propertyId: $p, month: "2031-02") { id } }`,
		func(w deskWorld) map[string]any { return map[string]any{"p": w.property} }},
	"Mutation.swapGreetingDuty": {`mutation($d: ID!, $o: ID!) { swapGreetingDuty(dutyId: $d, withDutyId: $o) { id } }`,
		func(w deskWorld) map[string]any { return map[string]any{"d": w.duty, "o": w.otherDuty} }},
	"Mutation.decideGreetingSwap": {`mutation($s: ID!) { decideGreetingSwap(swapId: $s, approve: true) { id } }`,
		func(w deskWorld) map[string]any { return map[string]any{"s": w.swap} }},
	"Mutation.checkInGreeting": {`mutation($d: ID!) { checkInGreeting(dutyId: $d) { id } }`, func(w deskWorld) map[string]any { return map[string]any{"d": w.duty} }},
}

// seedDeskWorld writes a pass, a pending walk-in, a post, two greeting
// windows far ahead and a pending swap for the unit's household.
func seedDeskWorld(s *testServer, propertyID, unitID, residentID, guardID string, staff []string) (deskWorld, error) {
	w := deskWorld{property: propertyID, unit: unitID}
	db := s.app.DB
	var first error
	must := func(err error) {
		if first == nil {
			first = err
		}
	}
	code := strings.ToUpper(uuid.NewString()[:6])
	must(db.Get(&w.pass, `INSERT INTO visitor_passes (property_id, unit_id, created_by, code, visitor_name, expected_from, expected_to, created_at)
VALUES ($1, $2, $3, $4, 'Guest', $5, $6, $5) RETURNING id`, propertyID, unitID, residentID, code, testEpoch, testEpoch.Add(48*time.Hour)))
	must(db.Get(&w.visit, `INSERT INTO visits (property_id, unit_id, guard_id, visitor_name, walk_in, answer, arrived_at, id_type, id_last4, id_taken_at)
VALUES ($1, $2, $3, 'Walker', true, 'PENDING', $4, 'HKID', '1234', $4) RETURNING id`, propertyID, unitID, guardID, testEpoch.Add(-time.Minute)))
	must(db.Get(&w.post, `INSERT INTO guard_posts (property_id, code, name, kind) VALUES ($1, $2, 'Side gate', 'GATE') RETURNING id`, propertyID, "S"+code))
	day := func(d string, who string) string {
		var id string
		at, _ := time.Parse(time.RFC3339, d+"T10:30:00Z")
		must(db.Get(&id, `INSERT INTO greeting_duties (property_id, day, starts_at, ends_at, person_id) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (property_id, day) DO UPDATE SET day = EXCLUDED.day RETURNING id`, propertyID, d, at, at.Add(30*time.Minute), who))
		return id
	}
	w.duty, w.otherDuty = day("2031-01-06", staff[0]), day("2031-01-07", staff[1])
	must(db.Get(&w.swap, `INSERT INTO greeting_swaps (property_id, duty_id, with_duty_id, requested_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		propertyID, w.duty, w.otherDuty, staff[0], testEpoch))
	return w, first
}

// Every front-desk field that takes an id answers NOT_FOUND to another
// household of the same property and to everyone of another property,
// staff or resident, and changes nothing.
func TestFrontDeskRefusesOthers(t *testing.T) {
	s := sharedServer(t)
	d, far := newDesk(t, s, "RF"), newDesk(t, s, "RO")
	res, guard, boss, agent := s.login(t, d.Resident), s.login(t, d.user("guard")), s.login(t, d.user("boss")), s.login(t, d.user("agent"))
	w, err := seedDeskWorld(s, d.ID, d.Unit, res.id, guard.id, []string{agent.id, boss.id})
	if err != nil {
		t.Fatal(err)
	}
	outsiders := map[string]*client{
		"neighbour":      s.login(t, d.Neighbour),
		"other resident": s.login(t, far.Resident),
		"other guard":    s.login(t, far.user("guard")),
		"other manager":  s.login(t, far.user("boss")),
		"other agent":    s.login(t, far.user("agent")),
	}
	snapshot := func() string {
		var b strings.Builder
		for _, r := range []gqlResponse{
			guard.do(`query($v: ID!) { visit(id: $v) { answer departedAt idReturnedAt } }`, map[string]any{"v": w.visit}),
			res.do(`{ myVisitorPasses { id status } }`, nil),
			res.do(`query($u: ID!) { doNotAdmitList(unitId: $u) { name } }`, map[string]any{"u": w.unit}),
			boss.do(`query($p: ID!) { greetingRota(propertyId: $p, month: "2031-01") { person { id } checkedInAt } }`, map[string]any{"p": w.property}),
			boss.do(`query($p: ID!) { posts(propertyId: $p) { onDuty { id } } }`, map[string]any{"p": w.property}),
			boss.do(`query($p: ID!) { visitorLog(propertyId: $p) { id } }`, map[string]any{"p": w.property}),
		} {
			b.Write(r.Data)
		}
		return b.String()
	}
	before := snapshot()
	for name, c := range deskCases {
		for who, o := range outsiders {
			if r := o.do(c.query, c.vars(w)); r.code() != "NOT_FOUND" {
				t.Errorf("%s as %s: %+v %s", name, who, r.Errors, r.Data)
			}
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("outsiders changed the front desk:\nbefore %s\nafter  %s", before, after)
	}
	// A pass code of another property does not open this one's gate.
	p := s.login(t, far.Resident).preRegister(far.Unit, "Stranger", s.clock.Now(), s.clock.Now().Add(time.Hour))
	guard.fails("NOT_FOUND", arrivalMutation, map[string]any{"in": map[string]any{"propertyId": d.ID, "code": p.Code}})
	// Nor does a post or unit of another property.
	guard.fails("NOT_FOUND", arrivalMutation, map[string]any{"in": map[string]any{"propertyId": d.ID, "unitId": far.Unit, "visitorName": "X"}})
	guard.fails("NOT_FOUND", arrivalMutation, map[string]any{"in": map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "X", "postId": far.Gate}})
}

var (
	hvDeskOnce  sync.Once
	hvDeskWorld deskWorld
)

// hvDesk is Harbour View's front-desk world for the schema-wide sweep.
func hvDesk() deskWorld {
	hvDeskOnce.Do(func() {
		s := shared
		var ids struct {
			Property string `db:"property"`
			Unit     string `db:"unit"`
			Resident string `db:"resident"`
			Guard    string `db:"guard"`
			Agent    string `db:"agent"`
			Manager  string `db:"manager"`
		}
		if err := s.app.DB.Get(&ids, `SELECT p.id AS property, u.id AS unit,
(SELECT id FROM people WHERE username = 'resident.lee') AS resident, (SELECT id FROM people WHERE username = 'guard.yip') AS guard,
(SELECT id FROM people WHERE username = 'agent.wong') AS agent, (SELECT id FROM people WHERE username = 'manager.cheung') AS manager
FROM properties p JOIN units u ON u.property_id = p.id WHERE p.code = 'HV' AND u.code = 'B-0805'`); err != nil {
			panic(err)
		}
		w, err := seedDeskWorld(s, ids.Property, ids.Unit, ids.Resident, ids.Guard, []string{ids.Agent, ids.Manager})
		if err != nil {
			panic(err)
		}
		hvDeskWorld = w
	})
	return hvDeskWorld
}

// The schema-wide sweep calls each front-desk field with Harbour View's ids,
// as people of other properties. The desk world is B-0805's own household
// and guard.yip's own post, so the sweep's neighbours from Harbour View are
// its owners here; TestFrontDeskRefusesOthers tries the real neighbours.
func init() {
	for name, c := range deskCases {
		sweepCases[name] = sweepCase{query: c.query, vars: func(sweepWorld) map[string]any { return c.vars(hvDesk()) },
			open: openToStaff | openToResidents, why: "the front-desk world belongs to B-0805 and guard.yip; TestFrontDeskRefusesOthers covers their neighbours"}
	}
}
