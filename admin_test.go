package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	createProperty = `mutation($in: PropertyInput!) { createProperty(input: $in) { id code name nameEn nameZh timeZone address } }`
	createBuilding = `mutation($p: ID!, $c: String!, $n: String!, $z: String!) { createBuilding(propertyId: $p, code: $c, name: $n, nameZh: $z) { id code nameEn nameZh } }`
	createUnit     = `mutation($b: ID!, $c: String!) { createUnit(buildingId: $b, code: $c) { id code building { code } property { code } } }`
	issueCode      = `mutation($u: ID!, $r: Relation!, $n: String!, $z: String) { issueActivationCode(unitId: $u, relation: $r, name: $n, nameZh: $z) { code expiresAt } }`
	activate       = `mutation($c: String!, $u: String, $p: String!) { activateAccount(code: $c, username: $u, password: $p) { username person { id nameEn nameZh } } }`
	hireStaff      = `mutation($p: ID!, $u: String!, $n: String!, $r: Role!) { hireStaff(propertyId: $p, username: $u, name: $n, role: $r) { person { id } activationCode { code } } }`
	endResidency   = `mutation($u: ID!, $who: ID) { endResidency(unitId: $u, personId: $who) }`
	staffLeaves    = `mutation($who: ID!, $p: ID!, $b: ID) { staffLeaves(personId: $who, propertyId: $p, butlerId: $b) { sentBack handedOver } }`
	importUnits    = `mutation($p: ID!, $csv: String!) { importUnits(propertyId: $p, csv: $csv) { buildingsCreated unitsCreated unitsUnchanged } }`
	auditLogQuery  = `query($p: ID) { auditLog(propertyId: $p, first: 100) { id action entity entityId actor { id } before after } }`
)

// signIn signs someone in with their own password.
func (s *testServer) signIn(t *testing.T, username, password string) *client {
	t.Helper()
	c := s.anon(t)
	var out struct {
		Login struct {
			AccessToken string
			Viewer      struct{ ID string }
		}
	}
	c.must(`mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken viewer { id } } }`,
		map[string]any{"u": username, "p": password}, &out)
	c.token, c.id = out.Login.AccessToken, out.Login.Viewer.ID
	return c
}

// onboard issues an activation code for the unit as office, and the new
// resident spends it from the app.
func (s *testServer) onboard(t *testing.T, office *client, unit, relation, username string) *client {
	t.Helper()
	var code struct{ IssueActivationCode struct{ Code string } }
	office.must(issueCode, map[string]any{"u": unit, "r": relation, "n": "Resident " + username, "z": "住戶"}, &code)
	s.anon(t).must(activate, map[string]any{"c": code.IssueActivationCode.Code, "u": username, "p": "a-good-password"}, nil)
	return s.signIn(t, username, "a-good-password")
}

// A company admin opens a new estate with no SQL: the property (its time
// zone checked), a building and a unit; an agent hired and activated; a
// household invited with a one-time code that works once and expires; the
// resident signs in with the password they chose, changes it, and submits.
func TestOnboardNewEstateEndToEnd(t *testing.T) {
	s := startServer(t, nil)
	adm := s.login(t, "admin")
	code := uniqueCode("ON")
	in := map[string]any{"code": code, "name": "Ocean Nine", "nameZh": "海九", "kind": "RESIDENTIAL",
		"serviceMode": "SERVICE_CENTER", "timeZone": "Asia/Hong_Kong", "address": "9 Ocean Road"}

	bad := map[string]any{}
	for k, v := range in {
		bad[k] = v
	}
	bad["timeZone"] = "Asia/Atlantis"
	if r := adm.fails("INVALID_INPUT", createProperty, map[string]any{"in": bad}); r.field() != "timeZone" {
		t.Fatalf("a bad zone names field %q", r.field())
	}
	s.login(t, "manager.cheung").fails("FORBIDDEN", createProperty, map[string]any{"in": in})

	var p struct {
		CreateProperty struct{ ID, Code, Name, NameEn, NameZh, TimeZone, Address string }
	}
	adm.must(createProperty, map[string]any{"in": in}, &p)
	if p.CreateProperty.NameZh != "海九" || p.CreateProperty.NameEn != "Ocean Nine" || p.CreateProperty.Address != "9 Ocean Road" {
		t.Fatalf("created %+v", p.CreateProperty)
	}
	prop := p.CreateProperty.ID
	adm.fails("INVALID_INPUT", createProperty, map[string]any{"in": in}) // the code is taken

	var b struct{ CreateBuilding struct{ ID, NameZh string } }
	adm.must(createBuilding, map[string]any{"p": prop, "c": "T1", "n": "Tower 1", "z": "第一座"}, &b)
	var u struct {
		CreateUnit struct {
			ID       string
			Building struct{ Code string }
			Property struct{ Code string }
		}
	}
	adm.must(createUnit, map[string]any{"b": b.CreateBuilding.ID, "c": "T1-0101"}, &u)
	if u.CreateUnit.Building.Code != "T1" || u.CreateUnit.Property.Code != code {
		t.Fatalf("unit %+v", u.CreateUnit)
	}
	unit := u.CreateUnit.ID

	// An agent for the new office: hired with a code for a first password.
	agentName := strings.ToLower(code) + ".agent"
	var hire struct {
		HireStaff struct {
			Person         struct{ ID string }
			ActivationCode struct{ Code string }
		}
	}
	adm.must(hireStaff, map[string]any{"p": prop, "u": agentName, "n": "Agent Ma", "r": "AGENT"}, &hire)
	s.anon(t).must(activate, map[string]any{"c": hire.HireStaff.ActivationCode.Code, "p": "agent-password"}, nil)
	agent := s.signIn(t, agentName, "agent-password")

	// The office invites the owner; the code works once.
	var issued struct {
		IssueActivationCode struct {
			Code      string
			ExpiresAt time.Time
		}
	}
	agent.must(issueCode, map[string]any{"u": unit, "r": "OWNER", "n": "Wong Siu Ming", "z": "王小明"}, &issued)
	username := strings.ToLower(code) + ".owner"
	anon := s.anon(t)
	if r := anon.fails("INVALID_INPUT", activate, map[string]any{"c": issued.IssueActivationCode.Code, "u": username, "p": "short"}); r.field() != "password" {
		t.Fatalf("a short password names %q", r.field())
	}
	var act struct {
		ActivateAccount struct {
			Username string
			Person   struct{ ID, NameEn, NameZh string }
		}
	}
	anon.must(activate, map[string]any{"c": issued.IssueActivationCode.Code, "u": username, "p": "first-password"}, &act)
	if act.ActivateAccount.Person.NameZh != "王小明" {
		t.Fatalf("activated %+v", act.ActivateAccount)
	}
	if r := anon.fails("INVALID_INPUT", activate, map[string]any{"c": issued.IssueActivationCode.Code, "u": username + "2", "p": "first-password"}); r.field() != "code" {
		t.Fatalf("a used code names %q", r.field())
	}

	// Codes expire.
	agent.must(issueCode, map[string]any{"u": unit, "r": "FAMILY", "n": "Late"}, &issued)
	s.clock.Advance(8 * 24 * time.Hour)
	anon.fails("INVALID_INPUT", activate, map[string]any{"c": issued.IssueActivationCode.Code, "u": username + "late", "p": "first-password"})
	adm, agent = s.login(t, "admin"), s.signIn(t, agentName, "agent-password") // their tokens expired meanwhile

	owner := s.signIn(t, username, "first-password")
	owner.fails("INVALID_INPUT", `mutation { changePassword(oldPassword: "wrong-one", newPassword: "second-password") }`, nil)
	owner.must(`mutation { changePassword(oldPassword: "first-password", newPassword: "second-password") }`, nil, nil)
	anon.fails("UNAUTHENTICATED", `mutation { login(username: "`+username+`", password: "first-password") { accessToken } }`, nil)
	owner = s.signIn(t, username, "second-password")

	// The office resets it: a new code, the old sessions end.
	var reset struct{ ResetPassword struct{ Code string } }
	agent.must(`mutation($who: ID!) { resetPassword(personId: $who) { code } }`, map[string]any{"who": owner.id}, &reset)
	owner.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	anon.must(activate, map[string]any{"c": reset.ResetPassword.Code, "p": "third-password"}, nil)
	owner = s.signIn(t, username, "third-password")

	// The new household asks for a service: the catalogue is the
	// property's own, added by its office.
	var cat struct{ SaveServiceCategory struct{ ID string } }
	adm.must(`mutation($in: ServiceCategoryInput!) { saveServiceCategory(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"propertyId": prop, "code": "plumbing", "kind": "REPAIR", "name": "Plumbing", "nameZh": "水喉", "completionTargetMinutes": 240}}, &cat)
	r := owner.submit(cat.SaveServiceCategory.ID, "漏水 in the kitchen")
	if r.Unit.ID != unit || r.Property.Code != code {
		t.Fatalf("submitted %+v", r)
	}
	if agent.get(r.ID).ID != r.ID {
		t.Fatal("the new office does not see its household's request")
	}

	// The property's manager edits it; the log shows before and after.
	mgrName := strings.ToLower(code) + ".manager"
	adm.must(hireStaff, map[string]any{"p": prop, "u": mgrName, "n": "Manager Lo", "r": "MANAGER"}, &hire)
	s.anon(t).must(activate, map[string]any{"c": hire.HireStaff.ActivationCode.Code, "p": "manager-password"}, nil)
	mgr := s.signIn(t, mgrName, "manager-password")
	update := `mutation($id: ID!, $in: PropertyChange!) { updateProperty(id: $id, input: $in) { nameEn timeZone } }`
	if r := mgr.fails("INVALID_INPUT", update, map[string]any{"id": prop, "in": map[string]any{"timeZone": "Mars/Olympus"}}); r.field() != "timeZone" {
		t.Fatalf("field %q", r.field())
	}
	mgr.must(update, map[string]any{"id": prop, "in": map[string]any{"name": "Ocean Nine Residences", "timeZone": "Asia/Macau"}}, nil)
	s.login(t, "manager.cheung").fails("NOT_FOUND", update, map[string]any{"id": prop, "in": map[string]any{"name": "Mine now"}})
	agent.fails("FORBIDDEN", update, map[string]any{"id": prop, "in": map[string]any{"name": "Mine now"}})
	owner.fails("NOT_FOUND", update, map[string]any{"id": prop, "in": map[string]any{"name": "Mine now"}})

	var log struct {
		AuditLog []struct {
			Action, Entity, EntityID string
			Actor                    struct{ ID string }
			Before, After            *string
		}
	}
	mgr.fails("FORBIDDEN", auditLogQuery, map[string]any{"p": prop})
	adm.must(auditLogQuery, map[string]any{"p": prop}, &log)
	var actions []string
	found := false
	for _, e := range log.AuditLog {
		actions = append(actions, e.Action)
		if e.Action == "updateProperty" && e.Actor.ID == mgr.id {
			found = true
			if e.Before == nil || !strings.Contains(*e.Before, `"Ocean Nine"`) || !strings.Contains(*e.Before, "Asia/Hong_Kong") {
				t.Errorf("before: %v", e.Before)
			}
			if e.After == nil || !strings.Contains(*e.After, "Ocean Nine Residences") || !strings.Contains(*e.After, "Asia/Macau") {
				t.Errorf("after: %v", e.After)
			}
		}
	}
	if !found {
		t.Fatalf("no updateProperty entry in %v", actions)
	}
	for _, want := range []string{"createProperty", "createBuilding", "createUnit", "hireStaff", "issueActivationCode", "activateAccount", "changePassword", "resetPassword"} {
		if !strings.Contains(strings.Join(actions, " ")+" "+auditAll(t, adm), want) {
			t.Errorf("no %s in the audit log", want)
		}
	}
	// The same as CSV, for admins.
	csv := s.getCSV(t, adm, "/export/audit.csv?propertyId="+prop)
	if !strings.HasPrefix(csv, "id,at,actor_id,actor,property_id,action,entity,entity_id,before,after\n") || !strings.Contains(csv, "Asia/Macau") {
		t.Fatalf("audit.csv:\n%s", csv)
	}
	if code := s.getStatus(t, agent, "/export/audit.csv?propertyId="+prop); code != 403 {
		t.Fatalf("an agent's audit.csv answered %d", code)
	}
}

// auditAll reads the whole log's actions, for entries with no property.
func auditAll(t *testing.T, adm *client) string {
	t.Helper()
	var log struct{ AuditLog []struct{ Action string } }
	adm.must(`{ auditLog(first: 100) { action } }`, nil, &log)
	var out []string
	for _, e := range log.AuditLog {
		out = append(out, e.Action)
	}
	return strings.Join(out, " ")
}

// A move-out ends the household's access at once, its open socket too,
// and the household that moves in next never sees its requests; the
// office keeps them.
func TestMoveOutCutsSocketAndHidesOldRequests(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "MO", map[string]string{"agent": "AGENT"})
	old, agent := s.login(t, e.Resident), s.login(t, e.user("agent"))
	mine := old.submit(e.Plumbing, "Old household's leak")

	w := old.ws()
	w.subscribe("1", nil, nil)
	w.quiet(100 * time.Millisecond)

	s.login(t, "resident.lee").fails("NOT_FOUND", endResidency, map[string]any{"u": e.Unit})
	var n struct{ EndResidency int }
	agent.must(endResidency, map[string]any{"u": e.Unit}, &n)
	if n.EndResidency != 1 {
		t.Fatalf("moved out %d", n.EndResidency)
	}
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the moved-out resident's socket is still open")
	}
	old.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	s.anon(t).fails("UNAUTHENTICATED", `mutation($u: String!) { login(username: $u, password: "demo1234") { accessToken } }`, map[string]any{"u": e.Resident})
	agent.fails("INVALID_INPUT", endResidency, map[string]any{"u": e.Unit}) // nobody lives there now

	// The new tenant sees nothing of the old household.
	tenant := s.onboard(t, agent, e.Unit, "TENANT", strings.ToLower(e.Code)+".tenant")
	if r := tenant.do(`query($id: ID!) { request(id: $id) { id } }`, map[string]any{"id": mine.ID}); r.code() != "NOT_FOUND" && !strings.Contains(string(r.Data), `"request":null`) {
		t.Fatalf("the new tenant reads the old household's request: %s %+v", r.Data, r.Errors)
	}
	theirs := tenant.submit(e.Plumbing, "New household's first request")
	var list struct {
		Requests struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	tenant.must(`{ requests(first: 100) { edges { node { id } } } }`, nil, &list)
	if len(list.Requests.Edges) != 1 || list.Requests.Edges[0].Node.ID != theirs.ID {
		t.Fatalf("the new tenant lists %+v, want only their own request", list.Requests.Edges)
	}
	// Live: the old request's next event does not reach the new tenant.
	tw := tenant.ws()
	tw.subscribe("1", nil, nil)
	tw.quiet(100 * time.Millisecond)
	agent.act(accept, map[string]any{"id": mine.ID, "at": s.later()})
	agent.act(accept, map[string]any{"id": theirs.ID, "at": s.later()})
	if ev := tw.event(); ev.Request.ID != theirs.ID {
		t.Fatalf("the new tenant heard of %s", ev.Request.ID)
	}
	// The company keeps the history.
	if agent.get(mine.ID).Status != "ACCEPTED" {
		t.Fatal("the office lost the old household's request")
	}
}

// A leaver's sessions and socket end at once; each open job goes back to
// the service center with a SENT_BACK event; the staff board shows who is
// left.
func TestLeaverWorkIsSentBack(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "LV", map[string]string{"agent": "AGENT", "mgr": "MANAGER", "t1": "TECHNICIAN", "t2": "TECHNICIAN"})
	resident, agent, mgr := s.login(t, e.Resident), s.login(t, e.user("agent")), s.login(t, e.user("mgr"))
	t1, t2 := s.login(t, e.user("t1")), s.login(t, e.user("t2"))
	started := resident.submit(e.Plumbing, "Started job")
	waiting := resident.submit(e.Plumbing, "Assigned job")
	for _, r := range []req{started, waiting} {
		agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
		agent.act(assign, map[string]any{"id": r.ID, "to": t1.id})
	}
	t1.act(start, map[string]any{"id": started.ID})
	other := resident.submit(e.Plumbing, "Someone else's job")
	agent.act(accept, map[string]any{"id": other.ID, "at": s.later()})
	agent.act(assign, map[string]any{"id": other.ID, "to": t2.id})

	w := t1.ws()
	w.subscribe("1", nil, nil)
	w.quiet(100 * time.Millisecond)

	agent.fails("FORBIDDEN", staffLeaves, map[string]any{"who": t1.id, "p": e.ID})
	s.login(t, "manager.cheung").fails("NOT_FOUND", staffLeaves, map[string]any{"who": t1.id, "p": e.ID})
	var out struct {
		StaffLeaves struct{ SentBack, HandedOver int }
	}
	mgr.must(staffLeaves, map[string]any{"who": t1.id, "p": e.ID}, &out)
	if out.StaffLeaves.SentBack != 2 {
		t.Fatalf("sent back %d jobs, want 2", out.StaffLeaves.SentBack)
	}
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the leaver's socket is still open")
	}
	t1.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	for _, r := range []req{started, waiting} {
		got := agent.get(r.ID)
		last := got.Timeline[len(got.Timeline)-1]
		if got.Status != "ACCEPTED" || got.Assignee != nil || last.Type != "SENT_BACK" || last.Actor == nil || last.Actor.ID != mgr.id {
			t.Fatalf("after leaving: %s %+v, last event %+v", got.Status, got.Assignee, last)
		}
	}
	if got := agent.get(other.ID); got.Assignee == nil || got.Assignee.ID != t2.id {
		t.Fatal("a colleague's job moved too")
	}

	var board struct {
		StaffBoard []struct {
			Person       struct{ ID string }
			Role         string
			Availability string
			OpenJobs     int
		}
	}
	mgr.must(`query($p: ID!) { staffBoard(propertyId: $p) { person { id } role availability openJobs skills building { id } } }`, map[string]any{"p": e.ID}, &board)
	seen := map[string]int{}
	for _, row := range board.StaffBoard {
		seen[row.Person.ID] = row.OpenJobs
	}
	if _, still := seen[t1.id]; still || seen[t2.id] != 1 || len(board.StaffBoard) != 3 {
		t.Fatalf("staff board %+v", board.StaffBoard)
	}
	resident.fails("NOT_FOUND", `query($p: ID!) { staffBoard(propertyId: $p) { role } }`, map[string]any{"p": e.ID})
	t2.fails("FORBIDDEN", `query($p: ID!) { staffBoard(propertyId: $p) { role } }`, map[string]any{"p": e.ID})

	var log struct {
		AuditLog []struct {
			Action        string
			EntityID      string
			Before, After *string
		}
	}
	s.login(t, "admin").must(auditLogQuery, map[string]any{"p": e.ID}, &log)
	if len(log.AuditLog) == 0 || log.AuditLog[0].Action != "staffLeaves" || log.AuditLog[0].EntityID != t1.id ||
		!strings.Contains(*log.AuditLog[0].Before, "TECHNICIAN") || !strings.Contains(*log.AuditLog[0].After, `"sentBack": 2`) {
		t.Fatalf("audit log %+v", log.AuditLog)
	}
}

// A butler who leaves hands the portfolio to the butler named, and the
// portfolios list shows it.
func TestLeavingButlerHandsOverPortfolio(t *testing.T) {
	s := sharedServer(t)
	adm := s.login(t, "admin")
	code := uniqueCode("BL")
	var p struct{ CreateProperty struct{ ID string } }
	adm.must(createProperty, map[string]any{"in": map[string]any{"code": code, "name": "Butler Lane", "nameZh": "管家里", "kind": "RESIDENTIAL",
		"serviceMode": "BUTLER", "timeZone": "Asia/Hong_Kong"}}, &p)
	prop := p.CreateProperty.ID
	var b struct{ CreateBuilding struct{ ID string } }
	adm.must(createBuilding, map[string]any{"p": prop, "c": "A", "n": "Block A", "z": "A座"}, &b)
	var units []string
	for _, c := range []string{"A-1", "A-2", "A-3"} {
		var u struct{ CreateUnit struct{ ID string } }
		adm.must(createUnit, map[string]any{"b": b.CreateBuilding.ID, "c": c}, &u)
		units = append(units, u.CreateUnit.ID)
	}
	hire := func(suffix, role string) *client {
		var h struct {
			HireStaff struct {
				Person         struct{ ID string }
				ActivationCode struct{ Code string }
			}
		}
		name := strings.ToLower(code) + "." + suffix
		adm.must(hireStaff, map[string]any{"p": prop, "u": name, "n": suffix, "r": role}, &h)
		s.anon(t).must(activate, map[string]any{"c": h.HireStaff.ActivationCode.Code, "p": "staff-password"}, nil)
		return s.signIn(t, name, "staff-password")
	}
	mgr, leaving, next := hire("mgr", "MANAGER"), hire("b1", "BUTLER"), hire("b2", "BUTLER")
	for _, u := range units[:2] {
		mgr.must(`mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { from } }`, map[string]any{"u": u, "b": leaving.id}, nil)
	}
	if r := mgr.fails("INVALID_INPUT", staffLeaves, map[string]any{"who": leaving.id, "p": prop}); r.field() != "butlerId" {
		t.Fatalf("field %q", r.field())
	}
	var out struct {
		StaffLeaves struct{ SentBack, HandedOver int }
	}
	mgr.must(staffLeaves, map[string]any{"who": leaving.id, "p": prop, "b": next.id}, &out)
	if out.StaffLeaves.HandedOver != 2 {
		t.Fatalf("handed over %d", out.StaffLeaves.HandedOver)
	}
	var pf struct {
		ButlerPortfolios struct {
			Butlers []struct {
				Butler     struct{ ID string }
				Households []struct{ ID string }
			}
			WithoutButler []struct{ ID string }
		}
	}
	mgr.must(`query($p: ID!) { butlerPortfolios(propertyId: $p) { butlers { butler { id } households { id } visitsLast30Days } withoutButler { id } } }`,
		map[string]any{"p": prop}, &pf)
	if len(pf.ButlerPortfolios.Butlers) != 1 || pf.ButlerPortfolios.Butlers[0].Butler.ID != next.id || len(pf.ButlerPortfolios.Butlers[0].Households) != 2 ||
		len(pf.ButlerPortfolios.WithoutButler) != 1 || pf.ButlerPortfolios.WithoutButler[0].ID != units[2] {
		t.Fatalf("portfolios %+v", pf.ButlerPortfolios)
	}
}

// An estate's 5,000 units load from one CSV file: a file with three bad
// lines is refused whole, naming each; the corrected file is applied once,
// and running it again changes nothing.
func TestImportFiveThousandUnits(t *testing.T) {
	s := sharedServer(t)
	adm := s.login(t, "admin")
	code := uniqueCode("IM")
	var p struct{ CreateProperty struct{ ID string } }
	adm.must(createProperty, map[string]any{"in": map[string]any{"code": code, "name": "Import Park", "nameZh": "匯入苑", "kind": "RESIDENTIAL",
		"serviceMode": "SERVICE_CENTER", "timeZone": "Asia/Hong_Kong"}}, &p)
	prop := p.CreateProperty.ID

	lines := []string{"building,building_name,building_name_zh,unit"}
	for i := 0; i < 5000; i++ {
		blk := fmt.Sprintf("B%02d", i/250+1)
		lines = append(lines, fmt.Sprintf("%s,Block %s,第%s座,%s-%03d%02d", blk, blk, blk, blk, i%250/10+1, i%10))
	}
	good := strings.Join(lines, "\n") + "\n"
	broken := append([]string{}, lines...)
	// File lines are 1-based and the header is line 1: lines[k] is line k+1.
	broken[100] = "B01,Block B01,第B01座,"           // no unit
	broken[2000] = "B09,Block B09,第B09座,B09 201/2" // bad characters
	broken[4500] = broken[4499]                    // the same unit twice
	r := adm.fails("INVALID_INPUT", importUnits, map[string]any{"p": prop, "csv": strings.Join(broken, "\n")})
	msg := r.Errors[0].Message
	for _, want := range []string{"line 101:", "line 2001:", "line 4501:", "3 bad lines"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not name %q: %s", want, msg)
		}
	}
	var count int
	if err := s.app.DB.Get(&count, `SELECT count(*) FROM units WHERE property_id = $1`, prop); err != nil || count != 0 {
		t.Fatalf("a refused file left %d units (%v)", count, err)
	}

	s.login(t, "manager.cheung").fails("NOT_FOUND", importUnits, map[string]any{"p": prop, "csv": good})
	var rep struct {
		ImportUnits struct{ BuildingsCreated, UnitsCreated, UnitsUnchanged int }
	}
	adm.must(importUnits, map[string]any{"p": prop, "csv": good}, &rep)
	if rep.ImportUnits.UnitsCreated != 5000 || rep.ImportUnits.BuildingsCreated != 20 {
		t.Fatalf("first run %+v", rep.ImportUnits)
	}
	adm.must(importUnits, map[string]any{"p": prop, "csv": good}, &rep)
	if rep.ImportUnits.UnitsCreated != 0 || rep.ImportUnits.BuildingsCreated != 0 || rep.ImportUnits.UnitsUnchanged != 5000 {
		t.Fatalf("second run %+v", rep.ImportUnits)
	}
	if err := s.app.DB.Get(&count, `SELECT count(*) FROM units WHERE property_id = $1`, prop); err != nil || count != 5000 {
		t.Fatalf("%d units (%v)", count, err)
	}
	var log struct{ AuditLog []struct{ Action string } }
	adm.must(auditLogQuery, map[string]any{"p": prop}, &log)
	imports := 0
	for _, e := range log.AuditLog {
		if e.Action == "importUnits" {
			imports++
		}
	}
	if imports != 1 {
		t.Fatalf("%d importUnits entries, want 1 (the re-run changed nothing)", imports)
	}
}

// Roles inside a property: only its director (or an admin) sets the VIP
// flag, only admins appoint managers, other staff are FORBIDDEN and
// residents hear NOT_FOUND.
func TestAdministrationRoles(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "AR", map[string]string{"agent": "AGENT", "mgr": "MANAGER", "dir": "DIRECTOR"})
	resident, agent, mgr, dir := s.login(t, e.Resident), s.login(t, e.user("agent")), s.login(t, e.user("mgr")), s.login(t, e.user("dir"))
	vip := `mutation($u: ID!, $v: Boolean!) { setHouseholdVip(unitId: $u, vip: $v) { vip } }`
	mgr.fails("FORBIDDEN", vip, map[string]any{"u": e.Unit, "v": true})
	resident.fails("NOT_FOUND", vip, map[string]any{"u": e.Unit, "v": true})
	var out struct{ SetHouseholdVip struct{ VIP bool } }
	dir.must(vip, map[string]any{"u": e.Unit, "v": true}, nil)

	mgr.fails("FORBIDDEN", hireStaff, map[string]any{"p": e.ID, "u": strings.ToLower(e.Code) + ".boss", "n": "Boss", "r": "MANAGER"})
	agent.fails("FORBIDDEN", hireStaff, map[string]any{"p": e.ID, "u": strings.ToLower(e.Code) + ".tech", "n": "Tech", "r": "TECHNICIAN"})
	resident.fails("NOT_FOUND", createBuilding, map[string]any{"p": e.ID, "c": "Z", "n": "Z", "z": "Z"})
	agent.fails("FORBIDDEN", createBuilding, map[string]any{"p": e.ID, "c": "Z", "n": "Z", "z": "Z"})
	resident.fails("NOT_FOUND", issueCode, map[string]any{"u": e.Unit, "r": "FAMILY", "n": "Cousin"})
	resident.fails("FORBIDDEN", auditLogQuery, map[string]any{})
	dir.must(auditLogQuery, map[string]any{"p": e.ID}, nil)

	// The office resets residents' passwords, not its managers'.
	reset := `mutation($who: ID!) { resetPassword(personId: $who) { code } }`
	agent.fails("FORBIDDEN", reset, map[string]any{"who": mgr.id})
	mgr.fails("FORBIDDEN", reset, map[string]any{"who": dir.id})
	agent.fails("NOT_FOUND", reset, map[string]any{"who": s.login(t, "admin").id})
	agent.must(reset, map[string]any{"who": resident.id}, nil)

	// A manager moves a technician to another property they run? Not
	// theirs: NOT_FOUND; within their own, a role change is logged.
	var h struct {
		HireStaff struct{ Person struct{ ID string } }
	}
	mgr.must(hireStaff, map[string]any{"p": e.ID, "u": strings.ToLower(e.Code) + ".tech", "n": "Tech", "r": "TECHNICIAN"}, &h)
	update := `mutation($who: ID!, $p: ID!, $r: Role!, $to: ID) { updateStaff(personId: $who, propertyId: $p, role: $r, toPropertyId: $to) }`
	var hv string
	if err := s.app.DB.Get(&hv, `SELECT id FROM properties WHERE code = 'HV'`); err != nil {
		t.Fatal(err)
	}
	mgr.fails("NOT_FOUND", update, map[string]any{"who": h.HireStaff.Person.ID, "p": e.ID, "r": "TECHNICIAN", "to": hv})
	mgr.must(update, map[string]any{"who": h.HireStaff.Person.ID, "p": e.ID, "r": "CLEANER"}, nil)
	var log struct {
		AuditLog []struct {
			Action        string
			Before, After *string
		}
	}
	dir.must(auditLogQuery, map[string]any{"p": e.ID}, &log)
	if log.AuditLog[0].Action != "updateStaff" || !strings.Contains(*log.AuditLog[0].Before, "TECHNICIAN") || !strings.Contains(*log.AuditLog[0].After, "CLEANER") {
		t.Fatalf("audit %+v", log.AuditLog[0])
	}
	_ = out
	_ = json.Valid
}

// getCSV downloads one of the console's CSV files, which must succeed.
func (s *testServer) getCSV(t *testing.T, c *client, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, body, err)
	}
	return string(body)
}

// getStatus answers the status of a download.
func (s *testServer) getStatus(t *testing.T, c *client, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The console finds requests by words of their description or of a note
// on their timeline, in Chinese as in English, and people and units; only
// for the property's service center.
func TestSearchFindsChineseText(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "SR", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident, agent := s.login(t, e.Resident), s.login(t, e.user("agent"))
	leak := resident.submit(e.Plumbing, "廚房水龍頭漏水")
	fan := resident.submit(e.Plumbing, "Bathroom fan is broken")
	agent.act(accept, map[string]any{"id": fan.ID, "at": s.later(), "note": "等待零件 from the supplier"})
	search := `query($p: ID!, $q: String!) { search(propertyId: $p, text: $q) { requests { id } people { id } units { code } } }`
	type found struct {
		Search struct {
			Requests []struct{ ID string }
			People   []struct{ ID string }
			Units    []struct{ Code string }
		}
	}
	find := func(q string) found {
		var out found
		agent.must(search, map[string]any{"p": e.ID, "q": q}, &out)
		return out
	}
	ids := func(f found) string {
		var out []string
		for _, r := range f.Search.Requests {
			out = append(out, r.ID)
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{"漏水": leak.ID, "FAN": fan.ID, "零件": fan.ID, "supplier": fan.ID, fan.Number: fan.ID, "%": "", "水龍頭": leak.ID} {
		if got := ids(find(q)); got != want {
			t.Errorf("search %q found %q, want %q", q, got, want)
		}
	}
	if f := find(strings.ToLower(e.Code) + ".resident"); len(f.Search.People) != 1 || f.Search.People[0].ID != resident.id {
		t.Errorf("people: %+v", f.Search.People)
	}
	if f := find("a-01"); len(f.Search.Units) != 1 || f.Search.Units[0].Code != "A-0101" {
		t.Errorf("units: %+v", f.Search.Units)
	}
	resident.fails("NOT_FOUND", search, map[string]any{"p": e.ID, "q": "漏水"})
	s.login(t, e.user("tech")).fails("FORBIDDEN", search, map[string]any{"p": e.ID, "q": "漏水"})
	s.login(t, "agent.wong").fails("NOT_FOUND", search, map[string]any{"p": e.ID, "q": "漏水"})
	agent.fails("INVALID_INPUT", search, map[string]any{"p": e.ID, "q": "  "})
}

// Names of places and people answer in the caller's language when the app
// asks for one, and both stay readable.
func TestNamesFollowAcceptLanguage(t *testing.T) {
	s := sharedServer(t)
	adm := s.login(t, "admin")
	code := uniqueCode("AL")
	adm.must(createProperty, map[string]any{"in": map[string]any{"code": code, "name": "Sunny Court", "nameZh": "陽光閣", "kind": "RESIDENTIAL",
		"serviceMode": "SERVICE_CENTER", "timeZone": "Asia/Hong_Kong"}}, nil)
	name := func(lang string) string {
		body, _ := json.Marshal(map[string]any{"query": `{ me { properties { code name nameEn nameZh } } }`})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adm.token)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Me struct {
					Properties []struct{ Code, Name, NameEn, NameZh string }
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Data.Me.Properties {
			if p.Code == code {
				if p.NameEn != "Sunny Court" || p.NameZh != "陽光閣" {
					t.Errorf("both names: %+v", p)
				}
				return p.Name
			}
		}
		t.Fatalf("no %s in %+v", code, out)
		return ""
	}
	for lang, want := range map[string]string{"": "Sunny Court", "en-GB,en;q=0.9": "Sunny Court", "zh-HK,zh;q=0.9,en;q=0.8": "陽光閣", "zh-Hant": "陽光閣", "fr;q=1, zh;q=0.5": "Sunny Court"} {
		if got := name(lang); got != want {
			t.Errorf("Accept-Language %q: name %q, want %q", lang, got, want)
		}
	}
}
