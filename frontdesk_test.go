package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/auth"
)

// desk is an estate made for a front-desk test: the estate's household
// (resident) and a neighbouring one (neighbour), a guard, a manager and
// an agent, and a gate post.
type desk struct {
	*estate
	Neighbour     string // username
	NeighbourUnit string
	Gate          string // post id
}

func newDesk(t *testing.T, s *testServer, prefix string) *desk {
	t.Helper()
	e := newEstate(t, s, prefix, map[string]string{"guard": "GUARD", "boss": "MANAGER", "agent": "AGENT"})
	d := &desk{estate: e, Neighbour: e.Code + ".neighbour"}
	ctx := context.Background()
	hash, err := auth.HashPassword("demo1234", 4)
	if err != nil {
		t.Fatal(err)
	}
	db := s.app.DB
	var pid string
	if err := db.GetContext(ctx, &d.NeighbourUnit, `INSERT INTO units (property_id, building_id, code) VALUES ($1, $2, 'A-0202') RETURNING id`, e.ID, e.Building); err != nil {
		t.Fatal(err)
	}
	if err := db.GetContext(ctx, &pid, `INSERT INTO people (username, name, password_hash) VALUES ($1, $1, $2) RETURNING id`, d.Neighbour, hash); err != nil {
		t.Fatal(err)
	}
	s.exec(t, `INSERT INTO residencies (person_id, unit_id, relation) VALUES ($1, $2, 'OWNER')`, pid, d.NeighbourUnit)
	if err := db.GetContext(ctx, &d.Gate, `INSERT INTO guard_posts (property_id, code, name, kind, standing) VALUES ($1, 'GATE', 'Estate gate', 'GATE', '{07:00-15:00,15:00-23:00}') RETURNING id`, e.ID); err != nil {
		t.Fatal(err)
	}
	return d
}

const passFields = `id code qrPayload status visitorName partySize unit { id }`

type passOut struct {
	ID, Code, QRPayload, Status string
	VisitorName                 *string
	PartySize                   int
	Unit                        struct{ ID string }
}

const visitFields = `id walkIn answer doNotAdmit visitorName idType idLast4 idHandBackSeconds idWithinTarget departedAt purgedAt passId unit { id }`

type visitOut struct {
	ID                string
	WalkIn            bool
	Answer            string
	DoNotAdmit        bool
	VisitorName       *string
	IDType            *string
	IDLast4           *string
	IDHandBackSeconds *float64
	IDWithinTarget    *bool
	DepartedAt        *time.Time
	PurgedAt          *time.Time
	PassID            *string
	Unit              struct{ ID string }
}

func (c *client) preRegister(unitID, name string, from, to time.Time) passOut {
	c.t.Helper()
	var out struct{ PreRegisterVisitor passOut }
	c.must(`mutation($in: PreRegisterVisitorInput!) { preRegisterVisitor(input: $in) { `+passFields+` } }`, map[string]any{"in": map[string]any{
		"unitId": unitID, "visitorName": name, "expectedFrom": from.Format(time.RFC3339), "expectedTo": to.Format(time.RFC3339), "partySize": 2,
		"carPlate": "ab 1234", "purpose": "dinner"}}, &out)
	return out.PreRegisterVisitor
}

const arrivalMutation = `mutation($in: VisitorArrivalInput!) { registerVisitorArrival(input: $in) { warnings visit { ` + visitFields + ` } } }`

type arrivalOut struct {
	Warnings []string
	Visit    visitOut
}

func (c *client) arrive(in map[string]any) arrivalOut {
	c.t.Helper()
	var out struct{ RegisterVisitorArrival arrivalOut }
	c.must(arrivalMutation, map[string]any{"in": in}, &out)
	return out.RegisterVisitorArrival
}

// inboxKinds answers the kinds and visit ids of the person's notifications,
// newest first.
func (c *client) inbox() []struct {
	Kind, Title string
	VisitID     *string
} {
	c.t.Helper()
	var out struct {
		MyNotifications struct {
			Edges []struct {
				Node struct {
					Kind, Title string
					VisitID     *string
				}
			}
		}
	}
	c.must(`{ myNotifications(first: 50) { edges { node { kind title visitId } } } }`, nil, &out)
	var ns []struct {
		Kind, Title string
		VisitID     *string
	}
	for _, e := range out.MyNotifications.Edges {
		ns = append(ns, struct {
			Kind, Title string
			VisitID     *string
		}{e.Node.Kind, e.Node.Title, e.Node.VisitID})
	}
	return ns
}

func hasNote(ns []struct {
	Kind, Title string
	VisitID     *string
}, kind, visitID string) bool {
	for _, n := range ns {
		if n.Kind == kind && (visitID == "" || (n.VisitID != nil && *n.VisitID == visitID)) {
			return true
		}
	}
	return false
}

// A pass from issue to arrival: listed for the household, used once by
// the guard's scan (the QR payload) with only the ID's last four kept, the
// host told, the visit ended; a cancelled pass admits nobody.
func TestVisitorPassLifecycle(t *testing.T) {
	s := sharedServer(t)
	d := newDesk(t, s, "VP")
	res, guard := s.login(t, d.Resident), s.login(t, d.user("guard"))
	now := s.clock.Now()
	p := res.preRegister(d.Unit, "Mr Tam", now.Add(-10*time.Minute), now.Add(2*time.Hour))
	if len(p.Code) != 6 || p.QRPayload != "ONESTOP-PASS:"+p.Code || p.Status != "ACTIVE" || p.PartySize != 2 {
		t.Fatalf("pass %+v", p)
	}
	other := res.preRegister(d.Unit, "Ms Chow", now, now.Add(time.Hour))
	var mine struct{ MyVisitorPasses []passOut }
	res.must(`{ myVisitorPasses { `+passFields+` } }`, nil, &mine)
	if len(mine.MyVisitorPasses) != 2 {
		t.Fatalf("myVisitorPasses %+v", mine.MyVisitorPasses)
	}

	// The whole document number is refused: only the last four are kept.
	taken := now.Add(-5 * time.Second).Format(time.RFC3339)
	r := guard.fails("INVALID_INPUT", arrivalMutation, map[string]any{"in": map[string]any{"propertyId": d.ID, "code": p.QRPayload,
		"idType": "HKID", "idLast4": "A1234563", "idTakenAt": taken}})
	if r.field() != "idLast4" {
		t.Fatalf("field %q", r.field())
	}
	a := guard.arrive(map[string]any{"propertyId": d.ID, "code": p.QRPayload, "postId": d.Gate, "idType": "HKID", "idLast4": "563a", "idTakenAt": taken})
	v := a.Visit
	if v.WalkIn || v.Answer != "PRE_REGISTERED" || v.PassID == nil || *v.PassID != p.ID || v.Unit.ID != d.Unit ||
		v.VisitorName == nil || *v.VisitorName != "Mr Tam" || *v.IDLast4 != "563A" || len(a.Warnings) != 0 {
		t.Fatalf("arrival %+v", a)
	}
	var stored string
	if err := s.app.DB.Get(&stored, `SELECT row_to_json(v)::text FROM visits v WHERE id = $1`, v.ID); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "A123456") {
		t.Fatalf("the full number was stored: %s", stored)
	}
	if !hasNote(res.inbox(), "VISITOR_ARRIVED", v.ID) {
		t.Fatal("the host was not told of the arrival")
	}
	// A used code admits nobody else.
	guard.fails("CONFLICT", arrivalMutation, map[string]any{"in": map[string]any{"propertyId": d.ID, "code": p.Code}})

	var ret struct{ ReturnVisitorId visitOut }
	guard.must(`mutation($v: ID!, $at: Time!) { returnVisitorId(visitId: $v, at: $at) { `+visitFields+` } }`,
		map[string]any{"v": v.ID, "at": now.Add(15 * time.Second).Format(time.RFC3339)}, &ret)
	if ret.ReturnVisitorId.IDHandBackSeconds == nil || *ret.ReturnVisitorId.IDHandBackSeconds != 20 || !*ret.ReturnVisitorId.IDWithinTarget {
		t.Fatalf("returned %+v", ret.ReturnVisitorId)
	}
	var dep struct{ RecordVisitorDeparture visitOut }
	guard.must(`mutation($v: ID!) { recordVisitorDeparture(visitId: $v) { `+visitFields+` } }`, map[string]any{"v": v.ID}, &dep)
	if dep.RecordVisitorDeparture.DepartedAt == nil {
		t.Fatal("no departure")
	}
	guard.fails("CONFLICT", `mutation($v: ID!) { recordVisitorDeparture(visitId: $v) { id } }`, map[string]any{"v": v.ID})

	var c struct{ CancelVisitorPass passOut }
	res.must(`mutation($id: ID!) { cancelVisitorPass(id: $id) { `+passFields+` } }`, map[string]any{"id": other.ID}, &c)
	if c.CancelVisitorPass.Status != "CANCELLED" {
		t.Fatalf("cancelled %+v", c.CancelVisitorPass)
	}
	res.fails("CONFLICT", `mutation($id: ID!) { cancelVisitorPass(id: $id) { id } }`, map[string]any{"id": other.ID})
	guard.fails("CONFLICT", arrivalMutation, map[string]any{"in": map[string]any{"propertyId": d.ID, "code": other.Code}})
	guard.fails("NOT_FOUND", arrivalMutation, map[string]any{"in": map[string]any{"propertyId": d.ID, "code": "ZZZZZZ"}})
}

// notificationsOf subscribes to the client's notifications.
func (c *client) notificationsLive() *wsClient {
	c.t.Helper()
	w := c.ws()
	p, _ := json.Marshal(map[string]any{"query": `subscription { notifications { id kind title visitId } }`})
	w.start("n", p)
	return w
}

// nextNote reads the next live notification.
func (w *wsClient) nextNote() (kind, visitID string) {
	w.t.Helper()
	m := w.next(10 * time.Second)
	var got struct {
		Data struct {
			Notifications struct {
				Kind    string
				VisitID *string
			}
		}
	}
	if m.Type != "next" || json.Unmarshal(m.Payload, &got) != nil || got.Data.Notifications.VisitID == nil {
		w.t.Fatalf("want a visit notification, got %s %s", m.Type, m.Payload)
	}
	return got.Data.Notifications.Kind, *got.Data.Notifications.VisitID
}

// A walk-in asks the household live; a resident's answer reaches the
// guard's app live. A decline reaches it the same way.
func TestWalkInAnsweredLive(t *testing.T) {
	s := sharedServer(t)
	d := newDesk(t, s, "WI")
	res, guard := s.login(t, d.Resident), s.login(t, d.user("guard"))
	host, gate := res.notificationsLive(), guard.notificationsLive()
	time.Sleep(100 * time.Millisecond) // let both subscriptions register

	a := guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "Courier Lau", "purpose": "delivery"})
	if !a.Visit.WalkIn || a.Visit.Answer != "PENDING" {
		t.Fatalf("walk-in %+v", a.Visit)
	}
	if kind, id := host.nextNote(); kind != "VISITOR_WAITING" || id != a.Visit.ID {
		t.Fatalf("host heard %s %s", kind, id)
	}
	var ans struct{ AnswerVisitor visitOut }
	res.must(`mutation($v: ID!) { answerVisitor(visitId: $v, admit: true) { `+visitFields+` } }`, map[string]any{"v": a.Visit.ID}, &ans)
	if ans.AnswerVisitor.Answer != "ADMITTED" {
		t.Fatalf("answer %+v", ans.AnswerVisitor)
	}
	if kind, id := gate.nextNote(); kind != "VISITOR_ANSWERED" || id != a.Visit.ID {
		t.Fatalf("guard heard %s %s", kind, id)
	}
	var seen struct{ Visit visitOut }
	guard.must(`query($v: ID!) { visit(id: $v) { `+visitFields+` } }`, map[string]any{"v": a.Visit.ID}, &seen)
	if seen.Visit.Answer != "ADMITTED" {
		t.Fatalf("the guard reads %+v", seen.Visit)
	}
	res.fails("CONFLICT", `mutation($v: ID!) { answerVisitor(visitId: $v, admit: false) { id } }`, map[string]any{"v": a.Visit.ID})

	b := guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "Salesman"})
	if kind, id := host.nextNote(); kind != "VISITOR_WAITING" || id != b.Visit.ID {
		t.Fatalf("host heard %s %s", kind, id)
	}
	res.must(`mutation($v: ID!) { answerVisitor(visitId: $v, admit: false) { id } }`, map[string]any{"v": b.Visit.ID}, nil)
	if kind, id := gate.nextNote(); kind != "VISITOR_ANSWERED" || id != b.Visit.ID {
		t.Fatalf("guard heard %s %s", kind, id)
	}
	guard.must(`query($v: ID!) { visit(id: $v) { `+visitFields+` } }`, map[string]any{"v": b.Visit.ID}, &seen)
	if seen.Visit.Answer != "DECLINED" {
		t.Fatalf("the guard reads %+v", seen.Visit)
	}
}

// runJobs runs every scheduled job once, as a tick would.
func (s *testServer) runJobs(t *testing.T) {
	t.Helper()
	for _, job := range s.app.Jobs {
		if _, err := job(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// A walk-in nobody answers within the property's answer time: the guard is
// told to ring the unit; a late answer still counts.
func TestWalkInUnanswered(t *testing.T) {
	s := startServer(t, longTokens)
	d := newDesk(t, s, "WU")
	res, guard, boss := s.login(t, d.Resident), s.login(t, d.user("guard")), s.login(t, d.user("boss"))
	var set struct {
		SetFrontDeskSettings struct{ AnswerTimeoutSeconds, RetentionDays int }
	}
	boss.must(`mutation($p: ID!) { setFrontDeskSettings(propertyId: $p, answerTimeoutSeconds: 60) { answerTimeoutSeconds retentionDays } }`,
		map[string]any{"p": d.ID}, &set)
	if set.SetFrontDeskSettings.AnswerTimeoutSeconds != 60 || set.SetFrontDeskSettings.RetentionDays != 90 {
		t.Fatalf("settings %+v", set)
	}
	guard.fails("FORBIDDEN", `mutation($p: ID!) { setFrontDeskSettings(propertyId: $p, retentionDays: 1) { retentionDays } }`, map[string]any{"p": d.ID})
	a := guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "Cousin"})
	s.clock.Advance(59 * time.Second)
	s.runJobs(t)
	if hasNote(guard.inbox(), "VISITOR_UNANSWERED", a.Visit.ID) {
		t.Fatal("told to ring before the answer time")
	}
	s.clock.Advance(2 * time.Second)
	s.runJobs(t)
	s.runJobs(t)
	n := 0
	for _, x := range guard.inbox() {
		if x.Kind == "VISITOR_UNANSWERED" && *x.VisitID == a.Visit.ID {
			n++
			if !strings.Contains(x.Title, "A-0101") {
				t.Fatalf("title %q names no unit", x.Title)
			}
		}
	}
	if n != 1 {
		t.Fatalf("told to ring %d times", n)
	}
	var seen struct{ Visit visitOut }
	guard.must(`query($v: ID!) { visit(id: $v) { `+visitFields+` } }`, map[string]any{"v": a.Visit.ID}, &seen)
	if seen.Visit.Answer != "UNANSWERED" {
		t.Fatalf("visit %+v", seen.Visit)
	}
	res.must(`mutation($v: ID!) { answerVisitor(visitId: $v, admit: true) { id } }`, map[string]any{"v": a.Visit.ID}, nil)
	if !hasNote(guard.inbox(), "VISITOR_ANSWERED", a.Visit.ID) {
		t.Fatal("the late answer did not reach the guard")
	}
}

// An arrival is told to the household visited and nobody else: not the
// neighbours, not another property's residents.
func TestArrivalToldToItsHouseholdOnly(t *testing.T) {
	s := sharedServer(t)
	d, far := newDesk(t, s, "AT"), newDesk(t, s, "AF")
	res, guard := s.login(t, d.Resident), s.login(t, d.user("guard"))
	neighbour, farRes, farNeighbour := s.login(t, d.Neighbour), s.login(t, far.Resident), s.login(t, far.Neighbour)
	p := res.preRegister(d.Unit, "Aunt", s.clock.Now(), s.clock.Now().Add(time.Hour))
	a := guard.arrive(map[string]any{"propertyId": d.ID, "code": p.Code})
	w := guard.arrive(map[string]any{"propertyId": d.ID, "unitCode": "a-0101", "visitorName": "Plumber"})
	ns := res.inbox()
	if !hasNote(ns, "VISITOR_ARRIVED", a.Visit.ID) || !hasNote(ns, "VISITOR_WAITING", w.Visit.ID) {
		t.Fatalf("host inbox %+v", ns)
	}
	for _, c := range []*client{neighbour, farRes, farNeighbour} {
		if ns := c.inbox(); len(ns) != 0 {
			t.Fatalf("someone else was told: %+v", ns)
		}
	}
}

// A name on the household's do-not-admit list warns the guard, whichever
// way the visitor comes; taking it off stops the warning.
func TestDoNotAdmitWarning(t *testing.T) {
	s := sharedServer(t)
	d := newDesk(t, s, "DN")
	res, guard := s.login(t, d.Resident), s.login(t, d.user("guard"))
	var list struct {
		DoNotAdmit []struct{ Name string }
	}
	res.must(`mutation($u: ID!) { doNotAdmit(unitId: $u, name: "Wong Tai Sin", note: "ex-tenant") { name } }`, map[string]any{"u": d.Unit}, &list)
	if len(list.DoNotAdmit) != 1 {
		t.Fatalf("list %+v", list)
	}
	a := guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "wong tai sin"})
	if !a.Visit.DoNotAdmit || len(a.Warnings) != 1 || !strings.Contains(a.Warnings[0], "do-not-admit") {
		t.Fatalf("no warning: %+v", a)
	}
	p := res.preRegister(d.Unit, "Wong Tai Sin", s.clock.Now(), s.clock.Now().Add(time.Hour))
	if b := guard.arrive(map[string]any{"propertyId": d.ID, "code": p.Code}); !b.Visit.DoNotAdmit {
		t.Fatalf("no warning with a pass: %+v", b)
	}
	// The neighbours' list is their own.
	if c := guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.NeighbourUnit, "visitorName": "Wong Tai Sin"}); c.Visit.DoNotAdmit {
		t.Fatalf("warned for another household: %+v", c)
	}
	res.must(`mutation($u: ID!) { doNotAdmit(unitId: $u, name: "WONG TAI SIN", remove: true) { name } }`, map[string]any{"u": d.Unit}, &list)
	if len(list.DoNotAdmit) != 0 {
		t.Fatalf("list %+v", list)
	}
	if e := guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "Wong Tai Sin"}); e.Visit.DoNotAdmit {
		t.Fatalf("warned after removal: %+v", e)
	}
}

// The 25-second figure from known timestamps: three registrations held
// 10, 20 and 30 seconds give a median of 20, a p90 of 28 (linear
// interpolation) and two in three within 25 s; the CSV says the same.
func TestIDHandBackFigure(t *testing.T) {
	s := sharedServer(t)
	d := newDesk(t, s, "ID")
	guard, boss := s.login(t, d.user("guard")), s.login(t, d.user("boss"))
	now := s.clock.Now()
	taken := now.Add(-40 * time.Second)
	for _, held := range []int{10, 30, 20} {
		a := guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "V", "postId": d.Gate,
			"idType": "PASSPORT", "idLast4": "K123", "idTakenAt": taken.Format(time.RFC3339)})
		guard.must(`mutation($v: ID!, $at: Time!) { returnVisitorId(visitId: $v, at: $at) { id } }`,
			map[string]any{"v": a.Visit.ID, "at": taken.Add(time.Duration(held) * time.Second).Format(time.RFC3339)}, nil)
	}
	// Taken and not yet handed back: counted as taken only.
	guard.arrive(map[string]any{"propertyId": d.ID, "unitId": d.Unit, "visitorName": "W", "idType": "HKID", "idLast4": "0007", "idTakenAt": taken.Format(time.RFC3339)})
	from, to := now.Add(-24*time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339)
	var st struct {
		FrontDeskStats struct {
			Visitors           int
			PreRegisteredShare *float64
			IDHandBack         struct {
				Taken, Returned                              int
				MedianSeconds, P90Seconds, WithinTargetShare *float64
			} `json:"idHandBack"`
			IDHandBackByGuard []struct {
				Key      string
				Returned int
			} `json:"idHandBackByGuard"`
			IDHandBackByPost []struct {
				Key      string
				Returned int
			} `json:"idHandBackByPost"`
			WalkInAnswers struct{ WalkIns, Pending int }
		}
	}
	boss.must(`query($p: ID!, $f: Time!, $t: Time!) { frontDeskStats(propertyId: $p, from: $f, to: $t) {
		visitors preRegisteredShare
		idHandBack { taken returned medianSeconds p90Seconds withinTargetShare }
		idHandBackByGuard { key returned } idHandBackByPost { key returned }
		walkInAnswers { walkIns pending } } }`, map[string]any{"p": d.ID, "f": from, "t": to}, &st)
	f := st.FrontDeskStats
	h := f.IDHandBack
	if f.Visitors != 4 || *f.PreRegisteredShare != 0 || h.Taken != 4 || h.Returned != 3 || *h.MedianSeconds != 20 || *h.P90Seconds != 28 ||
		*h.WithinTargetShare != 2.0/3.0 || f.WalkInAnswers.WalkIns != 4 || f.WalkInAnswers.Pending != 4 {
		t.Fatalf("figures %+v", f)
	}
	if len(f.IDHandBackByGuard) != 1 || f.IDHandBackByGuard[0].Key != guard.id || len(f.IDHandBackByPost) != 1 ||
		f.IDHandBackByPost[0].Key != d.Gate || f.IDHandBackByPost[0].Returned != 3 {
		t.Fatalf("by guard %+v, by post %+v", f.IDHandBackByGuard, f.IDHandBackByPost)
	}
	// The guard does not read the console's figures.
	guard.fails("NOT_FOUND", `query($p: ID!) { frontDeskStats(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { visitors } }`, map[string]any{"p": d.ID})

	req, _ := http.NewRequest(http.MethodGet, s.URL+"/export/frontdesk.csv?propertyId="+d.ID+"&from="+strings.ReplaceAll(from, "+", "%2B")+"&to="+strings.ReplaceAll(to, "+", "%2B"), nil)
	req.Header.Set("Authorization", "Bearer "+boss.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"date,metric,key,value", ",id_median_seconds,,20", ",id_p90_seconds,,28", ",id_within_25s_share,,0.6666666666666666", ",visitors,,4"} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), want+"\n") {
			t.Fatalf("CSV (%d) lacks %q:\n%s", resp.StatusCode, want, body)
		}
	}
}

// After the property's retention period a visit keeps its counts and
// loses the visitor's personal data.
func TestVisitorDataPurged(t *testing.T) {
	s := startServer(t, nil)
	d := newDesk(t, s, "PG")
	res, guard, boss := s.login(t, d.Resident), s.login(t, d.user("guard")), s.login(t, d.user("boss"))
	boss.must(`mutation($p: ID!) { setFrontDeskSettings(propertyId: $p, retentionDays: 30) { retentionDays } }`, map[string]any{"p": d.ID}, nil)
	p := res.preRegister(d.Unit, "Old Friend", s.clock.Now(), s.clock.Now().Add(time.Hour))
	a := guard.arrive(map[string]any{"propertyId": d.ID, "code": p.Code, "idType": "HKID", "idLast4": "1234", "idTakenAt": s.clock.Now().Format(time.RFC3339)})
	day := s.clock.Now().In(hk).Format(time.DateOnly)
	s.clock.Advance(29 * 24 * time.Hour)
	s.runJobs(t)
	guard = s.login(t, d.user("guard"))
	log := func() visitOut {
		var out struct{ VisitorLog []visitOut }
		guard.must(`query($p: ID!, $d: String) { visitorLog(propertyId: $p, day: $d) { `+visitFields+` } }`, map[string]any{"p": d.ID, "d": day}, &out)
		if len(out.VisitorLog) != 1 || out.VisitorLog[0].ID != a.Visit.ID {
			t.Fatalf("log %+v", out.VisitorLog)
		}
		return out.VisitorLog[0]
	}
	if v := log(); v.PurgedAt != nil || v.VisitorName == nil {
		t.Fatalf("purged too early: %+v", v)
	}
	s.clock.Advance(2 * 24 * time.Hour)
	s.runJobs(t)
	guard = s.login(t, d.user("guard"))
	v := log()
	if v.PurgedAt == nil || v.VisitorName != nil || v.IDLast4 != nil || v.IDType == nil || v.Answer != "PRE_REGISTERED" {
		t.Fatalf("not purged: %+v", v)
	}
	res = s.login(t, d.Resident)
	var mine struct{ MyVisitorPasses []passOut }
	res.must(`{ myVisitorPasses { `+passFields+` } }`, nil, &mine)
	if len(mine.MyVisitorPasses) != 1 || mine.MyVisitorPasses[0].VisitorName != nil {
		t.Fatalf("pass not purged: %+v", mine)
	}
	boss = s.login(t, d.user("boss"))
	var st struct{ FrontDeskStats struct{ Visitors int } }
	boss.must(`query($p: ID!) { frontDeskStats(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { visitors } }`, map[string]any{"p": d.ID}, &st)
	if st.FrontDeskStats.Visitors != 1 {
		t.Fatalf("the count went with the data: %+v", st)
	}
}

var hk = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Hong_Kong")
	if err != nil {
		panic(err)
	}
	return loc
}()

// The demo gives the console numbers: a week of Harbour View visitors,
// both posts covered, this month's rota at both properties (K Tower's at
// 08:30 on working days), and loading it again adds nothing.
func TestFrontDeskDemo(t *testing.T) {
	s := sharedServer(t)
	boss, siu := s.login(t, "manager.cheung"), s.login(t, "agent.siu")
	var props struct {
		Me struct{ Properties []struct{ ID, Code string } }
	}
	boss.must(`{ me { properties { id code } } }`, nil, &props)
	hv := props.Me.Properties[0].ID
	query := `query($p: ID!, $f: Time!, $t: Time!) { frontDeskStats(propertyId: $p, from: $f, to: $t) {
		visitors preRegisteredShare byDay { date visitors } idHandBack { returned withinTargetShare } walkInAnswers { walkIns admitted }
		greeting { windows staffed } postCoverage { windows covered } } }`
	vars := map[string]any{"p": hv, "f": s.clock.Now().AddDate(0, 0, -8).Format(time.RFC3339), "t": s.clock.Now().Format(time.RFC3339)}
	var st struct {
		FrontDeskStats struct {
			Visitors           int
			PreRegisteredShare *float64
			ByDay              []struct{ Visitors int }
			IDHandBack         struct {
				Returned          int
				WithinTargetShare *float64
			} `json:"idHandBack"`
			WalkInAnswers struct{ WalkIns, Admitted int }
			PostCoverage  []struct{ Windows, Covered int }
		}
	}
	boss.must(query, vars, &st)
	f := st.FrontDeskStats
	if f.Visitors < 28 || len(f.ByDay) != 7 || f.PreRegisteredShare == nil || f.IDHandBack.Returned != f.Visitors || f.IDHandBack.WithinTargetShare == nil ||
		f.WalkInAnswers.Admitted == 0 || len(f.PostCoverage) != 2 || f.PostCoverage[0].Covered == 0 {
		t.Fatalf("demo figures %+v", f)
	}
	before := f.Visitors
	if _, err := s.app.DB.SeedFrontDeskDemo(context.Background(), s.clock.Now(), func(string) (string, error) { return "x", nil }); err != nil {
		t.Fatal(err)
	}
	boss.must(query, vars, &st)
	if st.FrontDeskStats.Visitors != before {
		t.Fatalf("seeding again added visitors: %d then %d", before, st.FrontDeskStats.Visitors)
	}
	var kt struct {
		Me struct{ Properties []struct{ ID string } }
	}
	siu.must(`{ me { properties { id } } }`, nil, &kt)
	var rota struct{ GreetingRota []dutyOut }
	siu.must(`query($p: ID!) { greetingRota(propertyId: $p, month: "2026-11") { `+dutyFields+` } }`, map[string]any{"p": kt.Me.Properties[0].ID}, &rota)
	if len(rota.GreetingRota) != 21 {
		t.Fatalf("K Tower's November has %d windows", len(rota.GreetingRota))
	}
	for _, d := range rota.GreetingRota {
		if l := d.StartsAt.In(hk); l.Hour() != 8 || l.Minute() != 30 || l.Weekday() == time.Saturday || l.Weekday() == time.Sunday {
			t.Fatalf("K Tower window at %s", l)
		}
	}
	var hvRota struct{ GreetingRota []dutyOut }
	boss.must(`query($p: ID!) { greetingRota(propertyId: $p, month: "2026-11") { `+dutyFields+` } }`, map[string]any{"p": hv}, &hvRota)
	if len(hvRota.GreetingRota) != 30 {
		t.Fatalf("Harbour View's November has %d windows", len(hvRota.GreetingRota))
	}
}
