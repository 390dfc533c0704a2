package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/config"
)

const viewFields = `id status assignee { id } firstResponder { id } pooled onHold dueAt promisedAt warned breached escalationLevel
	timeline { type note actor { id } }`

type clockReq struct {
	ID              string
	Status          string
	Assignee        *struct{ ID string }
	FirstResponder  *struct{ ID string }
	Pooled          bool
	OnHold          bool
	DueAt           *time.Time
	PromisedAt      *time.Time
	Warned          bool
	Breached        bool
	EscalationLevel int
	Timeline        []event
}

func (c *client) view(id string) clockReq {
	c.t.Helper()
	var out struct{ Request clockReq }
	c.must(`query($id: ID!) { request(id: $id) { `+viewFields+` } }`, map[string]any{"id": id}, &out)
	return out.Request
}

// In a butler-mode estate a household's request goes straight to its
// butler: accepted in their name with the category's default promise and
// assigned to them. A household with no butler falls back to the center.
func TestButlerModeRequestLandsWithTheButler(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	lee := s.login(t, "resident.lee")
	butler := s.login(t, "butler.ho")
	tech := s.login(t, "tech.lam")

	r := chan_.submit(chan_.categoryID("HV", "plumbing"), "Bath drains slowly")
	got := butler.view(r.ID)
	if got.Status != "ASSIGNED" || got.Assignee == nil || got.Assignee.ID != butler.id || got.FirstResponder.ID != butler.id {
		t.Fatalf("butler-mode request: %+v", got)
	}
	// Plumbing's target is four hours, told to the next whole minute.
	want := s.clock.Now().Add(4 * time.Hour)
	if w := want.Truncate(time.Minute); !w.Equal(want) {
		want = w.Add(time.Minute)
	}
	if got.PromisedAt == nil || !got.PromisedAt.Equal(want) || !got.DueAt.Equal(want) {
		t.Fatalf("promise %v due %v, want %v", got.PromisedAt, got.DueAt, want)
	}
	if statuses(got.Timeline) != "SUBMITTED ACCEPTED ASSIGNED" || got.Timeline[1].Actor.ID != butler.id {
		t.Fatalf("timeline %+v", got.Timeline)
	}
	// The butler plays the service center for the household: they dispatch
	// onward, and stay its first-asker.
	moved := butler.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	if moved.Assignee.ID != tech.id || moved.FirstResponder.ID != butler.id {
		t.Fatalf("dispatched onward: %+v", moved)
	}
	if n := notificationsAbout(t, butler, r.ID, "ASSIGNED"); n != 1 {
		t.Errorf("butler got %d assignment notifications, want 1", n)
	}

	other := lee.submit(lee.categoryID("HV", "plumbing"), "Mr Lee has no butler")
	if other.Status != "SUBMITTED" || other.Assignee != nil {
		t.Fatalf("no-butler household: %+v", other)
	}
	butler.fails("NOT_FOUND", readReq, map[string]any{"id": other.ID})
}

// Handing a portfolio to another butler keeps the history and moves the
// household's open requests with a HANDED_OVER event.
func TestButlerHandover(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	manager := s.login(t, "manager.cheung")
	ho := s.login(t, "butler.ho")
	var unit string
	if err := s.app.DB.Get(&unit, `SELECT u.id FROM units u JOIN properties p ON p.id = u.property_id WHERE p.code = 'HV' AND u.code = 'A-1201'`); err != nil {
		t.Fatal(err)
	}
	var hv string
	if err := s.app.DB.Get(&hv, `SELECT id FROM properties WHERE code = 'HV'`); err != nil {
		t.Fatal(err)
	}
	bh := newEstate(t, s, "BH", nil)
	// A second butler at Harbour View.
	s.exec(t, `INSERT INTO staff_roles (person_id, property_id, role) SELECT id, $1, 'BUTLER' FROM people WHERE username = $2`, hv, bh.Resident)
	kwok := s.login(t, bh.Resident)

	open := chan_.submit(chan_.categoryID("HV", "cleaning"), "Window cleaning")
	handover := `mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { butler { id } previousButler { id } movedRequests } }`
	ho.fails("FORBIDDEN", handover, map[string]any{"u": unit, "b": kwok.id})
	manager.fails("INVALID_INPUT", handover, map[string]any{"u": unit, "b": chan_.id})
	var out struct {
		AssignButler struct {
			Butler         struct{ ID string }
			PreviousButler *struct{ ID string }
			MovedRequests  int
		}
	}
	manager.must(handover, map[string]any{"u": unit, "b": kwok.id}, &out)
	t.Cleanup(func() {
		s.clock.Advance(time.Second)
		manager.must(handover, map[string]any{"u": unit, "b": ho.id}, nil)
	})
	if out.AssignButler.PreviousButler == nil || out.AssignButler.PreviousButler.ID != ho.id || out.AssignButler.MovedRequests < 1 {
		t.Fatalf("handover: %+v", out)
	}
	got := kwok.view(open.ID)
	if got.Assignee.ID != kwok.id || got.FirstResponder.ID != kwok.id || got.Timeline[len(got.Timeline)-1].Type != "HANDED_OVER" {
		t.Fatalf("after handover: %+v", got)
	}
	var history int
	if err := s.app.DB.Get(&history, `SELECT count(*) FROM butler_assignments WHERE unit_id = $1`, unit); err != nil {
		t.Fatal(err)
	}
	if history < 2 {
		t.Fatalf("%d portfolio rows: the old assignment should be kept", history)
	}
	// New requests now land with the new butler.
	s.clock.Advance(time.Second)
	if r := chan_.submit(chan_.categoryID("HV", "cleaning"), "Carpet"); r.Assignee == nil || r.Assignee.ID != kwok.id {
		t.Fatalf("new request went to %+v", r.Assignee)
	}
	// Visits are logged by the household's butler only.
	visit := `mutation($u: ID!) { logVisit(unitId: $u, note: "Checked the new aircon") { id at butler { id } } }`
	kwok.must(visit, map[string]any{"u": unit}, nil)
	ho.fails("INVALID_INPUT", visit, map[string]any{"u": unit})
}

// Automatic dispatch picks the available worker with the right role and
// skill who has the fewest open jobs, prefers one based in the request's
// building, and never goes past the cap.
func TestAutoDispatch(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "AD", map[string]string{"agent": "AGENT", "boss": "MANAGER", "t1": "TECHNICIAN", "t2": "TECHNICIAN", "t3": "TECHNICIAN", "t4": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	t1, t2, t3, t4 := s.login(t, e.user("t1")), s.login(t, e.user("t2")), s.login(t, e.user("t3")), s.login(t, e.user("t4"))
	boss := s.login(t, e.user("boss"))
	// The manager sets up dispatch: t1, t2 and t4 plumb, t2 is based in the
	// request's building, t3 has no skill; t4 then goes off duty.
	profile := `mutation($p: ID!, $prop: ID!, $s: [String!]!, $z: ID) {
		setStaffProfile(personId: $p, propertyId: $prop, skills: $s, zoneBuildingId: $z) { skills zone { id } } }`
	for _, w := range []*client{t1, t2, t4} {
		vars := map[string]any{"p": w.id, "prop": e.ID, "s": []string{"Plumbing", "plumbing"}}
		if w == t2 {
			vars["z"] = e.Building
		}
		boss.must(profile, vars, nil)
	}
	agent.fails("FORBIDDEN", profile, map[string]any{"p": t3.id, "prop": e.ID, "s": []string{"plumbing"}})
	boss.fails("INVALID_INPUT", profile, map[string]any{"p": resident.id, "prop": e.ID, "s": []string{"plumbing"}})
	boss.fails("INVALID_INPUT", profile, map[string]any{"p": t3.id, "prop": e.ID, "s": []string{}, "z": uuid.NewString()})
	boss.must(`mutation($p: ID!, $c: ID) { setDispatchRule(propertyId: $p, categoryId: $c, mode: AUTO, role: TECHNICIAN, maxOpenJobs: 2) { mode } }`,
		map[string]any{"p": e.ID, "c": e.Plumbing}, nil)
	t4.must(`mutation { setAvailability(status: OFF_DUTY) { availability } }`, nil, nil)

	next := func() clockReq {
		t.Helper()
		r := resident.submit(e.Plumbing, "Leak")
		agent.act(accept, map[string]any{"id": r.ID})
		return agent.view(r.ID)
	}
	want := []string{t2.id, t1.id, t2.id, t1.id}
	for i, w := range want {
		got := next()
		if got.Assignee == nil || got.Assignee.ID != w || got.Status != "ASSIGNED" {
			t.Fatalf("job %d went to %+v, want %s", i+1, got.Assignee, w)
		}
		if statuses(got.Timeline) != "SUBMITTED ACCEPTED ASSIGNED" {
			t.Fatalf("timeline %q", statuses(got.Timeline))
		}
	}
	// Both are at the cap of two open jobs: the fifth waits for the center.
	if got := next(); got.Assignee != nil || got.Status != "ACCEPTED" {
		t.Fatalf("past the cap: %+v", got)
	}
	// Starting work makes a worker BUSY, and a busy worker gets no new job.
	var jobs struct {
		Requests struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	t1.must(`query($a: ID) { requests(filter: {assigneeId: $a}) { edges { node { id } } } }`, map[string]any{"a": t1.id}, &jobs)
	first := jobs.Requests.Edges[0].Node.ID
	t1.act(start, map[string]any{"id": first})
	var me struct{ Me struct{ Availability string } }
	t1.must(`{ me { availability } }`, nil, &me)
	if me.Me.Availability != "BUSY" {
		t.Fatalf("after starting: %s", me.Me.Availability)
	}
	t1.act(complete, map[string]any{"id": first, "note": "fixed"})
	t1.must(`{ me { availability } }`, nil, &me)
	if me.Me.Availability != "AVAILABLE" {
		t.Fatalf("after finishing: %s", me.Me.Availability)
	}
	resident.fails("FORBIDDEN", `mutation { setAvailability(status: BUSY) { id } }`, nil)
}

// In a grab pool (搶單) eligible staff see the job and only the first claim
// wins, however close together the claims arrive.
func TestGrabPool(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "GP", map[string]string{"agent": "AGENT", "c1": "CLEANER", "c2": "CLEANER", "tech": "TECHNICIAN"})
	s.exec(t, `INSERT INTO dispatch_rules (property_id, category_id, mode, role) VALUES ($1, $2, 'POOL', 'CLEANER')`, e.ID, e.Cleaning)
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	c1, c2, tech := s.login(t, e.user("c1")), s.login(t, e.user("c2")), s.login(t, e.user("tech"))

	for round := 0; round < 5; round++ {
		r := resident.submit(e.Cleaning, "Lobby spill")
		agent.act(accept, map[string]any{"id": r.ID})
		if got := c1.view(r.ID); !got.Pooled || got.Status != "ACCEPTED" {
			t.Fatalf("pooled request: %+v", got)
		}
		tech.fails("FORBIDDEN", `mutation($id: ID!) { claimRequest(id: $id) { id } }`, map[string]any{"id": r.ID})
		results := make([]gqlResponse, 2)
		var wg sync.WaitGroup
		for i, c := range []*client{c1, c2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = c.do(`mutation($id: ID!) { claimRequest(id: $id) { assignee { id } } }`, map[string]any{"id": r.ID})
			}()
		}
		wg.Wait()
		won := 0
		for _, res := range results {
			switch res.code() {
			case "":
				won++
			case "CONFLICT":
			default:
				t.Fatalf("claim: %+v", res.Errors)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d claims won", round, won)
		}
		got := agent.view(r.ID)
		if got.Pooled || got.Assignee == nil || statuses(got.Timeline) != "SUBMITTED ACCEPTED CLAIMED" {
			t.Fatalf("after the claim: %+v", got)
		}
		if round == 0 {
			for _, c := range []*client{c1, c2} {
				if n := notificationsAbout(t, c, r.ID, "POOL"); n != 1 {
					t.Errorf("cleaner got %d pool notifications", n)
				}
			}
			if n := notificationsAbout(t, tech, r.ID, "POOL"); n != 0 {
				t.Errorf("the technician was told of a cleaners' pool")
			}
		}
	}
}

// Transfer to a colleague and send back to the center, each with a reason.
func TestTransferAndSendBack(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "TS", map[string]string{"agent": "AGENT", "t1": "TECHNICIAN", "t2": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	t1, t2 := s.login(t, e.user("t1")), s.login(t, e.user("t2"))
	r := resident.submit(e.Plumbing, "Leak")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": t1.id})
	t1.act(start, map[string]any{"id": r.ID})
	transfer := `mutation($id: ID!, $to: ID!, $why: String!) { transferRequest(id: $id, assigneeId: $to, reason: $why) { status assignee { id } } }`
	t1.fails("INVALID_INPUT", transfer, map[string]any{"id": r.ID, "to": t2.id, "why": ""})
	t1.must(transfer, map[string]any{"id": r.ID, "to": t2.id, "why": "needs a welder"}, nil)
	got := t2.view(r.ID)
	if got.Status != "ASSIGNED" || got.Assignee.ID != t2.id {
		t.Fatalf("transferred: %+v", got)
	}
	t1.fails("NOT_FOUND", readReq, map[string]any{"id": r.ID})
	t2.must(`mutation($id: ID!) { sendBackRequest(id: $id, reason: "not a plumbing job") { id } }`, map[string]any{"id": r.ID}, nil)
	got = agent.view(r.ID)
	if got.Status != "ACCEPTED" || got.Assignee != nil || statuses(got.Timeline) != "SUBMITTED ACCEPTED ASSIGNED STARTED TRANSFERRED SENT_BACK" {
		t.Fatalf("sent back: %+v %q", got, statuses(got.Timeline))
	}
}

// The promise clock, driven by an injected clock: a hold stops it; the
// warning, the breach and both escalation steps each fire exactly once,
// even with two scheduler instances ticking at the same moments.
func TestPromiseClock(t *testing.T) {
	s := startServer(t, longTokens)
	other := startServer(t, longTokens) // a second instance on the same database
	e := newEstate(t, s, "PC", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "boss": "MANAGER", "dir": "DIRECTOR"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech := s.login(t, e.user("tech"))
	boss, dir := s.login(t, e.user("boss")), s.login(t, e.user("dir"))

	start0 := s.clock.Now()
	r := resident.submit(e.Plumbing, "No hot water")
	agent.act(accept, map[string]any{"id": r.ID, "at": start0.Add(10 * time.Hour).Format(time.RFC3339)})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})

	tickBoth := func(at time.Duration) {
		t.Helper()
		s.clock.Set(start0.Add(at))
		other.clock.Set(start0.Add(at))
		var wg sync.WaitGroup
		for _, srv := range []*testServer{s, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := srv.app.Clock.Tick(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	count := func(typ string) int {
		n := 0
		for _, ev := range agent.view(r.ID).Timeline {
			if ev.Type == typ {
				n++
			}
		}
		return n
	}

	tickBoth(7 * time.Hour)
	if count("WARNED") != 0 {
		t.Fatal("warned before 80 % of the time")
	}
	// Waiting for parts from 7h to 12h: the clock stops.
	hold := `mutation($id: ID!) { holdRequest(id: $id, reason: "waiting for a thermostat") { onHold } }`
	tech.must(hold, map[string]any{"id": r.ID}, nil)
	tech.fails("CONFLICT", hold, map[string]any{"id": r.ID})
	tech.fails("CONFLICT", start, map[string]any{"id": r.ID})
	tickBoth(11 * time.Hour)
	if got := agent.view(r.ID); got.Warned || got.Breached {
		t.Fatalf("the clock ran while on hold: %+v", got)
	}
	s.clock.Set(start0.Add(12 * time.Hour))
	tech.must(`mutation($id: ID!) { resumeRequest(id: $id) { id } }`, map[string]any{"id": r.ID}, nil)
	got := agent.view(r.ID)
	if want := start0.Add(15 * time.Hour); !got.DueAt.Equal(want) || !got.PromisedAt.Equal(start0.Add(10*time.Hour)) {
		t.Fatalf("due %v (want %v), promised %v", got.DueAt, want, got.PromisedAt)
	}
	// Warning at 80 % of the running time: 8h + 5h on hold = 13h.
	tickBoth(12*time.Hour + 59*time.Minute)
	if count("WARNED") != 0 {
		t.Fatal("warned early")
	}
	for _, at := range []time.Duration{13*time.Hour + time.Minute, 13*time.Hour + 2*time.Minute} {
		tickBoth(at)
	}
	if n := count("WARNED"); n != 1 {
		t.Fatalf("%d warnings", n)
	}
	// Broken at 15h: a breach and the manager's escalation, once.
	for _, at := range []time.Duration{15*time.Hour + time.Minute, 16 * time.Hour} {
		tickBoth(at)
	}
	got = agent.view(r.ID)
	if count("BREACHED") != 1 || count("ESCALATED") != 1 || !got.Breached || got.EscalationLevel != 1 {
		t.Fatalf("after the breach: %+v", got)
	}
	// Two hours on (the default), the director.
	for _, at := range []time.Duration{17*time.Hour + 2*time.Minute, 18 * time.Hour, 30 * time.Hour} {
		tickBoth(at)
	}
	got = agent.view(r.ID)
	if count("ESCALATED") != 2 || got.EscalationLevel != 2 || count("BREACHED") != 1 || count("WARNED") != 1 {
		t.Fatalf("after the director: %+v", got.Timeline)
	}
	// Each step reached the right people, and only them.
	if notificationsAbout(t, tech, r.ID, "WARNING") != 1 || notificationsAbout(t, tech, r.ID, "BREACH") != 1 {
		t.Error("the technician was not warned once and told of the breach once")
	}
	if notificationsAbout(t, boss, r.ID, "ESCALATION") != 1 || notificationsAbout(t, dir, r.ID, "ESCALATION") != 1 {
		t.Error("manager and director should each hear of their escalation once")
	}
	if notificationsAbout(t, resident, r.ID, "ESCALATION")+notificationsAbout(t, resident, r.ID, "WARNING") != 0 {
		t.Error("the resident was told of internal escalations")
	}
}

// A hold with a resume time ends by itself.
func TestHoldResumesOnTime(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "HR", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech := s.login(t, e.user("tech"))
	r := resident.submit(e.Plumbing, "Dripping")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	at := s.clock.Now().Add(2 * time.Hour)
	tech.must(`mutation($id: ID!, $at: Time) { holdRequest(id: $id, reason: "resident away", resumeAt: $at) { id } }`,
		map[string]any{"id": r.ID, "at": at.Format(time.RFC3339)}, nil)
	s.clock.Advance(2*time.Hour + time.Minute)
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := agent.view(r.ID)
	if got.OnHold || got.Timeline[len(got.Timeline)-1].Type != "RESUMED" {
		t.Fatalf("after the resume time: %+v", got)
	}
	// Four hours' promise, paused for two hours and a minute.
	if want := at.Add(-2 * time.Hour).Add(6*time.Hour + time.Minute); !got.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", got.DueAt, want)
	}
}

// A customer may chase (催單) once an hour; the first-asker and the assignee
// hear of it.
func TestUrge(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "UR", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "other": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech, other := s.login(t, e.user("tech")), s.login(t, e.user("other"))
	r := resident.submit(e.Plumbing, "Still leaking")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	urge := `mutation($id: ID!) { urgeRequest(id: $id) { id } }`
	resident.must(urge, map[string]any{"id": r.ID}, nil)
	s.clock.Advance(59 * time.Minute)
	res := resident.fails("RATE_LIMITED", urge, map[string]any{"id": r.ID})
	if res.Errors[0].Message == "" {
		t.Fatal("no message on RATE_LIMITED")
	}
	tech.fails("FORBIDDEN", urge, map[string]any{"id": r.ID})
	s.clock.Advance(2 * time.Minute)
	resident.must(urge, map[string]any{"id": r.ID}, nil)
	if n := notificationsAbout(t, tech, r.ID, "URGE"); n != 2 {
		t.Errorf("assignee heard %d urges, want 2", n)
	}
	if n := notificationsAbout(t, agent, r.ID, "URGE"); n != 2 {
		t.Errorf("first-asker heard %d urges, want 2", n)
	}
	if n := notificationsAbout(t, other, r.ID, "URGE"); n != 0 {
		t.Errorf("an uninvolved technician heard %d urges", n)
	}
}

// The inbox: unread counts, paging, mark-read of one's own only.
func TestNotificationsInbox(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "NI", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech := s.login(t, e.user("tech"))
	for i := 0; i < 3; i++ {
		r := resident.submit(e.Plumbing, "Job")
		agent.act(accept, map[string]any{"id": r.ID})
		agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	}
	inbox := `query($after: String, $unread: Boolean) { myNotifications(first: 2, after: $after, unreadOnly: $unread) {
		unreadCount edges { node { id kind title read request { id } } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		MyNotifications struct {
			UnreadCount int
			Edges       []struct {
				Node struct {
					ID, Kind, Title string
					Read            bool
					Request         *struct{ ID string }
				}
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	var p page
	tech.must(inbox, nil, &p)
	if p.MyNotifications.UnreadCount != 3 || len(p.MyNotifications.Edges) != 2 || !p.MyNotifications.PageInfo.HasNextPage {
		t.Fatalf("inbox: %+v", p)
	}
	if n := p.MyNotifications.Edges[0].Node; n.Kind != "ASSIGNED" || n.Request == nil || n.Read {
		t.Fatalf("first notification %+v", n)
	}
	firstID := p.MyNotifications.Edges[0].Node.ID
	// Someone else's id changes nothing.
	var out struct{ MarkNotificationsRead int }
	resident.must(`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`, map[string]any{"ids": []string{firstID}}, &out)
	if out.MarkNotificationsRead != 0 {
		t.Fatal("marked another person's notification")
	}
	tech.must(`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`, map[string]any{"ids": []string{firstID}}, &out)
	if out.MarkNotificationsRead != 1 {
		t.Fatalf("marked %d", out.MarkNotificationsRead)
	}
	tech.must(inbox, map[string]any{"unread": true}, &p)
	if p.MyNotifications.UnreadCount != 2 {
		t.Fatalf("unread %d after marking one", p.MyNotifications.UnreadCount)
	}
	tech.must(`mutation { markNotificationsRead }`, nil, &out)
	if out.MarkNotificationsRead != 2 {
		t.Fatalf("mark all marked %d", out.MarkNotificationsRead)
	}
	tech.fails("INVALID_INPUT", `mutation { markNotificationsRead(ids: ["x"]) }`, nil)
}

// notificationsAbout counts the person's notifications of a kind about one
// request.
func notificationsAbout(t *testing.T, c *client, requestID, kind string) int {
	t.Helper()
	var n int
	if err := c.srv.app.DB.Get(&n, `SELECT count(*) FROM notifications WHERE person_id = $1 AND request_id = $2 AND kind = $3`, c.id, requestID, kind); err != nil {
		t.Fatal(err)
	}
	return n
}

// longTokens keeps test sessions signed in while the clock jumps hours.
func longTokens(c *config.Config) { c.AccessTTL = 72 * time.Hour }

// The console sets dispatch rules; only a manager or director may.
func TestSetDispatchRule(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "DR", map[string]string{"agent": "AGENT", "boss": "MANAGER", "c1": "CLEANER"})
	agent, boss := s.login(t, e.user("agent")), s.login(t, e.user("boss"))
	resident := s.login(t, e.Resident)
	set := `mutation($p: ID!, $c: ID, $m: DispatchMode!, $r: Role, $n: Int) {
		setDispatchRule(propertyId: $p, categoryId: $c, mode: $m, role: $r, maxOpenJobs: $n) { mode role maxOpenJobs category { id } } }`
	vars := map[string]any{"p": e.ID, "c": e.Cleaning, "m": "POOL", "r": "CLEANER", "n": 3}
	agent.fails("FORBIDDEN", set, vars)
	resident.fails("NOT_FOUND", set, vars)
	boss.fails("INVALID_INPUT", set, map[string]any{"p": e.ID, "c": e.Cleaning, "m": "POOL", "r": "CLEANER", "n": 0})
	other := newEstate(t, s, "DR2", nil)
	if r := boss.fails("INVALID_INPUT", set, map[string]any{"p": e.ID, "c": other.Cleaning, "m": "AUTO"}); r.field() != "categoryId" {
		t.Fatalf("field %q", r.field())
	}
	boss.must(set, vars, nil)
	vars["n"] = 4
	boss.must(set, vars, nil) // replaces, does not add
	boss.must(set, map[string]any{"p": e.ID, "m": "MANUAL"}, nil)
	var out struct {
		DispatchRules []struct {
			Mode, Role  string
			MaxOpenJobs int
			Category    *struct{ ID string }
		}
	}
	agent.must(`query($p: ID!) { dispatchRules(propertyId: $p) { mode role maxOpenJobs category { id } } }`, map[string]any{"p": e.ID}, &out)
	if len(out.DispatchRules) != 2 || out.DispatchRules[0].Category != nil || out.DispatchRules[1].MaxOpenJobs != 4 || out.DispatchRules[1].Mode != "POOL" {
		t.Fatalf("rules %+v", out.DispatchRules)
	}
	// The rule takes effect: a cleaning job goes to the pool.
	r := resident.submit(e.Cleaning, "Spill")
	agent.act(accept, map[string]any{"id": r.ID})
	if got := agent.view(r.ID); !got.Pooled {
		t.Fatalf("not pooled: %+v", got)
	}
}

// A butler follows every request of the households in their portfolio,
// even one a colleague took and the butler sent on to a technician.
func TestButlerSeesTheirHouseholds(t *testing.T) {
	s := sharedServer(t)
	guard := s.login(t, "guard.yip")
	chan_ := s.login(t, "resident.chan")
	butler := s.login(t, "butler.ho")
	tech := s.login(t, "tech.lam")
	var out struct{ SubmitRequest req }
	guard.must(`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { `+requestFields+` } }`, map[string]any{"in": map[string]any{
		"clientRequestId": uuid.NewString(), "categoryId": guard.categoryID("HV", "plumbing"),
		"description": "Mrs Chan stopped at the gate: leak", "onBehalfOfResidentId": chan_.id, "channel": "WALK_IN",
	}}, &out)
	r := out.SubmitRequest
	if r.FirstResponder.ID != guard.id || r.Assignee == nil || r.Assignee.ID != butler.id {
		t.Fatalf("first-asker %+v, assignee %+v", r.FirstResponder, r.Assignee)
	}
	butler.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	// No longer the assignee nor the first-asker, the butler still sees
	// it, and may still dispatch it.
	butler.get(r.ID)
	butler.act(assign, map[string]any{"id": r.ID, "to": butler.id})
	w := butler.ws()
	w.subscribe("b", &r.ID, nil)
	time.Sleep(100 * time.Millisecond)
	butler.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	if e := w.event(); e.Type != "REASSIGNED" {
		t.Fatalf("live event %+v", e)
	}
}

// Reopened work gets a new promise, and its clock starts over: a promise
// that had passed does not escalate the rework at once.
func TestReopenGivesANewPromise(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "RP", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "boss": "MANAGER"})
	resident := s.login(t, e.Resident)
	agent, tech := s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	r := resident.submit(e.Plumbing, "Leak")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.act(start, map[string]any{"id": r.ID})
	tech.act(complete, map[string]any{"id": r.ID, "note": "done"})
	s.clock.Advance(6 * time.Hour) // past the four-hour promise
	resident.act(confirm, map[string]any{"id": r.ID, "ok": false, "comment": "still leaks"})
	got := agent.view(r.ID)
	if want := s.clock.Now().Add(4 * time.Hour); got.DueAt == nil || !got.DueAt.Equal(want) || !got.PromisedAt.Equal(want) {
		t.Fatalf("after reopening: due %v promised %v, want %v", got.DueAt, got.PromisedAt, want)
	}
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := agent.view(r.ID); got.Breached || got.EscalationLevel != 0 {
		t.Fatalf("the rework was escalated at once: %+v", got)
	}
}

// Management tunes the promise clock: here the warning moves to half time.
func TestPromiseSettings(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "PS", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "boss": "MANAGER"})
	resident := s.login(t, e.Resident)
	agent, tech, boss := s.login(t, e.user("agent")), s.login(t, e.user("tech")), s.login(t, e.user("boss"))
	set := `mutation($p: ID!, $w: Float, $o: String, $d: [Int!]) {
		setPromiseSettings(propertyId: $p, warnFraction: $w, businessOpen: $o, businessDays: $d) {
			businessOpen businessClose businessDays warnFraction directorAfterMinutes } }`
	agent.fails("FORBIDDEN", set, map[string]any{"p": e.ID, "w": 0.5})
	resident.fails("NOT_FOUND", set, map[string]any{"p": e.ID, "w": 0.5})
	for _, bad := range []map[string]any{{"w": 1.5}, {"o": "25:00"}, {"o": "19:00"}, {"d": []int{}}, {"d": []int{8}}} {
		bad["p"] = e.ID
		boss.fails("INVALID_INPUT", set, bad)
	}
	var out struct {
		SetPromiseSettings struct {
			BusinessOpen, BusinessClose string
			BusinessDays                []int
			WarnFraction                float64
			DirectorAfterMinutes        int
		}
	}
	boss.must(set, map[string]any{"p": e.ID, "w": 0.5, "o": "08:30", "d": []int{1, 2, 3, 4, 5, 6}}, &out)
	got := out.SetPromiseSettings
	if got.WarnFraction != 0.5 || got.BusinessOpen != "08:30" || got.BusinessClose != "18:00" || len(got.BusinessDays) != 6 || got.DirectorAfterMinutes != 120 {
		t.Fatalf("settings %+v", got)
	}
	var prop struct {
		Request struct {
			Property struct {
				PromiseSettings *struct{ WarnFraction float64 }
			}
		}
	}
	r := resident.submit(e.Plumbing, "Leak")
	resident.must(`query($id: ID!) { request(id: $id) { property { promiseSettings { warnFraction } } } }`, map[string]any{"id": r.ID}, &prop)
	if prop.Request.Property.PromiseSettings != nil {
		t.Fatal("a resident reads the property's promise settings")
	}
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	s.clock.Advance(2*time.Hour + time.Minute) // half of plumbing's four hours
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !agent.view(r.ID).Warned {
		t.Fatal("no warning at half time")
	}
}

// Management keeps the catalogue: a new paid service, then retired.
func TestSaveServiceCategory(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "SC", map[string]string{"agent": "AGENT", "boss": "MANAGER"})
	agent, boss := s.login(t, e.user("agent")), s.login(t, e.user("boss"))
	resident := s.login(t, e.Resident)
	save := `mutation($in: ServiceCategoryInput!) { saveServiceCategory(input: $in) {
		id code kind completionTargetMinutes price { amountCents currency } businessHoursOnly skill callbackPolicy active } }`
	in := map[string]any{"propertyId": e.ID, "code": "sofa-clean", "kind": "CONTRACTED", "name": "Sofa cleaning", "nameZh": "梳化清洗",
		"completionTargetMinutes": 2880, "price": map[string]any{"amountCents": 60000, "currency": "HKD"}, "businessHoursOnly": true}
	agent.fails("FORBIDDEN", save, map[string]any{"in": in})
	resident.fails("NOT_FOUND", save, map[string]any{"in": in})
	for field, bad := range map[string]map[string]any{
		"price": {"price": nil}, "code": {"code": "Sofa Clean"}, "completionTargetMinutes": {"completionTargetMinutes": 0},
	} {
		v := map[string]any{}
		for k, x := range in {
			v[k] = x
		}
		for k, x := range bad {
			v[k] = x
		}
		if r := boss.fails("INVALID_INPUT", save, map[string]any{"in": v}); r.field() != field {
			t.Errorf("field %q, want %q", r.field(), field)
		}
	}
	var out struct {
		SaveServiceCategory struct {
			ID, Code, Kind, CallbackPolicy string
			CompletionTargetMinutes        int
			Price                          *struct{ AmountCents int }
			BusinessHoursOnly, Active      bool
		}
	}
	boss.must(save, map[string]any{"in": in}, &out)
	first := out.SaveServiceCategory
	if first.Price == nil || first.Price.AmountCents != 60000 || !first.BusinessHoursOnly || !first.Active || first.CallbackPolicy != "ALWAYS" {
		t.Fatalf("saved %+v", first)
	}
	// The resident can ask for it now.
	resident.submit(first.ID, "Three-seater, fabric")
	in["active"] = false
	boss.must(save, map[string]any{"in": in}, &out)
	if out.SaveServiceCategory.ID != first.ID || out.SaveServiceCategory.Active {
		t.Fatalf("retired %+v", out.SaveServiceCategory)
	}
	resident.fails("INVALID_INPUT", `mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": first.ID, "description": "again"}})
}

// A job waiting in the grab pool reaches the phones of the property's staff
// live, whoever's way of seeing it is the pool; another property's staff
// and another household hear nothing of it.
func TestPoolReachesStaffLive(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "PL", map[string]string{"agent": "AGENT", "c1": "CLEANER", "tech": "TECHNICIAN"})
	other := newEstate(t, s, "PO", map[string]string{"c1": "CLEANER"})
	s.exec(t, `INSERT INTO dispatch_rules (property_id, category_id, mode, role) VALUES ($1, $2, 'POOL', 'CLEANER')`, e.ID, e.Cleaning)
	resident, agent := s.login(t, e.Resident), s.login(t, e.user("agent"))
	phones := map[string]*wsClient{}
	for name, c := range map[string]*client{"cleaner": s.login(t, e.user("c1")), "tech": s.login(t, e.user("tech")),
		"other cleaner": s.login(t, other.user("c1")), "other household": s.login(t, other.Resident)} {
		w := c.ws()
		w.subscribe("all", nil, nil)
		phones[name] = w
	}
	time.Sleep(100 * time.Millisecond)
	r := resident.submit(e.Cleaning, "Spill in the lift")
	agent.act(accept, map[string]any{"id": r.ID})
	for _, name := range []string{"cleaner", "tech"} {
		if ev := phones[name].event(); ev.Type != "ACCEPTED" || ev.Request.ID != r.ID {
			t.Fatalf("%s got %+v", name, ev)
		}
	}
	for _, name := range []string{"other cleaner", "other household"} {
		phones[name].quiet(300 * time.Millisecond)
	}
}
