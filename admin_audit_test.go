package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// auditEntry is an auditLog entry as the tests read it.
type auditEntry struct {
	ID, Action, Entity, EntityID string
	Actor                        struct{ ID string }
	Before, After                *string
}

// auditOf reads a property's audit log as c, newest first.
func auditOf(t *testing.T, c *client, propertyID string) []auditEntry {
	t.Helper()
	var log struct{ AuditLog []auditEntry }
	c.must(auditLogQuery, map[string]any{"p": propertyID}, &log)
	return log.AuditLog
}

// jsonField reads one field of an entry's before or after.
func jsonField(t *testing.T, doc *string, field string) any {
	t.Helper()
	if doc == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(*doc), &m); err != nil {
		t.Fatalf("entry JSON %q: %v", *doc, err)
	}
	return m[field]
}

// The older administrative calls write the audit log too, in the same
// transaction as the change: promise settings, the catalogue (create, edit,
// retire), dispatch rules (set and removed), staff profiles, butler
// assignments and handovers, the VIP flag and the greeting window. Each
// entry names who, with the thing before and after; a refused change
// leaves none. The property's director and admins read the log; its
// manager is FORBIDDEN, and residents and other properties' staff hear
// NOT_FOUND.
func TestOlderAdministrativeCallsAreAudited(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "AU", map[string]string{"mgr": "MANAGER", "dir": "DIRECTOR", "b1": "BUTLER", "b2": "BUTLER", "tech": "TECHNICIAN", "agent": "AGENT"})
	s.exec(t, `UPDATE properties SET service_mode = 'BUTLER' WHERE id = $1`, e.ID)
	mgr, dir, adm := s.login(t, e.user("mgr")), s.login(t, e.user("dir")), s.login(t, "admin")
	b1, b2, tech := s.login(t, e.user("b1")), s.login(t, e.user("b2")), s.login(t, e.user("tech"))

	mgr.must(`mutation($p: ID!) { setPromiseSettings(propertyId: $p, warnFraction: 0.6, businessOpen: "08:30") { warnFraction } }`, map[string]any{"p": e.ID}, nil)
	mgr.fails("INVALID_INPUT", `mutation($p: ID!) { setPromiseSettings(propertyId: $p, warnFraction: 2) { warnFraction } }`, map[string]any{"p": e.ID})

	save := `mutation($in: ServiceCategoryInput!) { saveServiceCategory(input: $in) { id } }`
	cat := map[string]any{"propertyId": e.ID, "code": "aircon-wash", "kind": "CLEANING", "name": "Aircon wash", "nameZh": "洗冷氣", "completionTargetMinutes": 120}
	var created struct{ SaveServiceCategory struct{ ID string } }
	mgr.must(save, map[string]any{"in": cat}, &created)
	cat["completionTargetMinutes"] = 90
	mgr.must(save, map[string]any{"in": cat}, nil)
	cat["active"] = false
	mgr.must(save, map[string]any{"in": cat}, nil)
	cat["completionTargetMinutes"] = 0
	mgr.fails("INVALID_INPUT", save, map[string]any{"in": cat})

	rule := `mutation($p: ID!, $c: ID, $m: Int) { setDispatchRule(propertyId: $p, categoryId: $c, mode: AUTO, maxOpenJobs: $m) { mode } }`
	mgr.must(rule, map[string]any{"p": e.ID, "c": e.Plumbing, "m": 3}, nil)
	mgr.must(rule, map[string]any{"p": e.ID, "c": e.Plumbing, "m": 4}, nil)
	remove := `mutation($p: ID!, $c: ID) { removeDispatchRule(propertyId: $p, categoryId: $c) }`
	var removed struct{ RemoveDispatchRule bool }
	s.login(t, e.user("agent")).fails("FORBIDDEN", remove, map[string]any{"p": e.ID, "c": e.Plumbing})
	mgr.must(remove, map[string]any{"p": e.ID, "c": e.Plumbing}, &removed)
	if !removed.RemoveDispatchRule {
		t.Fatal("the plumbing rule was not removed")
	}
	mgr.must(remove, map[string]any{"p": e.ID, "c": e.Plumbing}, &removed)
	if removed.RemoveDispatchRule {
		t.Fatal("a rule was removed twice")
	}

	mgr.must(`mutation($who: ID!, $p: ID!, $z: ID) { setStaffProfile(personId: $who, propertyId: $p, skills: ["Plumbing", "electrical"], zoneBuildingId: $z) { skills } }`,
		map[string]any{"who": tech.id, "p": e.ID, "z": e.Building}, nil)

	assign := `mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { from } }`
	mgr.must(assign, map[string]any{"u": e.Unit, "b": b1.id}, nil)
	s.clock.Advance(time.Minute) // the handover happens later than the assignment
	mgr.must(assign, map[string]any{"u": e.Unit, "b": b2.id}, nil)
	mgr.fails("INVALID_INPUT", assign, map[string]any{"u": e.Unit, "b": b2.id})

	dir.must(`mutation($u: ID!) { setHouseholdVip(unitId: $u, vip: true) { vip } }`, map[string]any{"u": e.Unit}, nil)
	mgr.must(`mutation($p: ID!) { setGreetingWindow(propertyId: $p, weekdayStart: "08:15", minutes: 45, holidays: ["2026-12-25"]) }`, map[string]any{"p": e.ID}, nil)
	mgr.must(`mutation($p: ID!) { setFrontDeskSettings(propertyId: $p, retentionDays: 45) { retentionDays } }`, map[string]any{"p": e.ID}, nil)
	mgr.fails("INVALID_INPUT", `mutation($p: ID!) { setFrontDeskSettings(propertyId: $p, retentionDays: 0) { retentionDays } }`, map[string]any{"p": e.ID})
	var room string
	if err := s.app.DB.Get(&room, `INSERT INTO facilities (property_id, code, name, name_zh, opens, closes, slot_minutes, capacity,
	max_slots, advance_days, weekly_quota, cancel_hours) VALUES ($1, 'gym', 'Gym', '健身室', '09:00', '22:00', 60, 4, 3, 14, 3, 24) RETURNING id`, e.ID); err != nil {
		t.Fatal(err)
	}
	closeF := `mutation($f: ID!, $to: Time!) { closeFacility(facilityId: $f, from: "2026-12-01T01:00:00Z", to: $to, reason: "repainting") { reason } }`
	mgr.must(closeF, map[string]any{"f": room, "to": "2026-12-01T03:00:00Z"}, nil)
	mgr.fails("INVALID_INPUT", closeF, map[string]any{"f": room, "to": "2026-12-01T00:00:00Z"})

	log := auditOf(t, dir, e.ID)
	byAction := map[string][]auditEntry{}
	for i := len(log) - 1; i >= 0; i-- { // oldest first
		byAction[log[i].Action] = append(byAction[log[i].Action], log[i])
	}
	want := map[string]int{"setPromiseSettings": 1, "saveServiceCategory": 3, "setDispatchRule": 2, "removeDispatchRule": 1, "setStaffProfile": 1, "assignButler": 2, "setHouseholdVip": 1, "setGreetingWindow": 1, "setFrontDeskSettings": 1, "closeFacility": 1}
	for action, n := range want {
		if len(byAction[action]) != n {
			t.Errorf("%d %s entries, want %d (a refused change must leave none)", len(byAction[action]), action, n)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, en := range log {
		if en.Action != "setHouseholdVip" && en.Actor.ID != mgr.id {
			t.Errorf("%s by %s, not the manager", en.Action, en.Actor.ID)
		}
	}

	ps := byAction["setPromiseSettings"][0]
	// warn_fraction is a real: compare as the console shows it.
	if fmt.Sprintf("%.2f", jsonField(t, ps.Before, "warnFraction")) != "0.80" || fmt.Sprintf("%.2f", jsonField(t, ps.After, "warnFraction")) != "0.60" ||
		jsonField(t, ps.After, "businessOpen") != "08:30" || ps.EntityID != e.ID {
		t.Errorf("setPromiseSettings entry %+v", ps)
	}

	cats := byAction["saveServiceCategory"]
	if cats[0].Before != nil || jsonField(t, cats[0].After, "TargetMinutes") != 120.0 || cats[0].EntityID != created.SaveServiceCategory.ID {
		t.Errorf("creation entry %+v", cats[0])
	}
	if jsonField(t, cats[1].Before, "TargetMinutes") != 120.0 || jsonField(t, cats[1].After, "TargetMinutes") != 90.0 {
		t.Errorf("edit entry %+v", cats[1])
	}
	if jsonField(t, cats[2].Before, "Active") != true || jsonField(t, cats[2].After, "Active") != false {
		t.Errorf("retirement entry %+v", cats[2])
	}

	rules := byAction["setDispatchRule"]
	if rules[0].Before != nil || jsonField(t, rules[0].After, "maxOpenJobs") != 3.0 || rules[0].EntityID != e.Plumbing {
		t.Errorf("first rule entry %+v", rules[0])
	}
	if jsonField(t, rules[1].Before, "maxOpenJobs") != 3.0 || jsonField(t, rules[1].After, "maxOpenJobs") != 4.0 {
		t.Errorf("replaced rule entry %+v", rules[1])
	}

	if rm := byAction["removeDispatchRule"][0]; jsonField(t, rm.Before, "maxOpenJobs") != 4.0 || rm.After != nil || rm.EntityID != e.Plumbing {
		t.Errorf("removal entry %+v", rm)
	}

	prof := byAction["setStaffProfile"][0]
	if b, _ := json.Marshal(jsonField(t, prof.Before, "skills")); string(b) != "[]" || jsonField(t, prof.Before, "zoneBuildingId") != nil {
		t.Errorf("profile before %v", *prof.Before)
	}
	if b, _ := json.Marshal(jsonField(t, prof.After, "skills")); string(b) != `["plumbing","electrical"]` || jsonField(t, prof.After, "zoneBuildingId") != e.Building || prof.EntityID != tech.id {
		t.Errorf("profile after %v", *prof.After)
	}

	hand := byAction["assignButler"]
	if hand[0].Before != nil || jsonField(t, hand[0].After, "butlerId") != b1.id || hand[0].EntityID != e.Unit {
		t.Errorf("first assignment %+v", hand[0])
	}
	if jsonField(t, hand[1].Before, "butlerId") != b1.id || jsonField(t, hand[1].After, "butlerId") != b2.id {
		t.Errorf("handover %+v", hand[1])
	}

	vip := byAction["setHouseholdVip"][0]
	if jsonField(t, vip.Before, "VIP") != false || jsonField(t, vip.After, "VIP") != true || vip.Actor.ID != dir.id {
		t.Errorf("VIP entry %+v", vip)
	}

	gw := byAction["setGreetingWindow"][0]
	if jsonField(t, gw.Before, "minutes") != 30.0 || jsonField(t, gw.After, "minutes") != 45.0 || jsonField(t, gw.After, "weekdayStart") != "08:15" {
		t.Errorf("greeting window entry %+v", gw)
	}

	fd := byAction["setFrontDeskSettings"][0]
	if jsonField(t, fd.After, "retentionDays") != 45.0 || fd.Before == nil || jsonField(t, fd.Before, "retentionDays") == 45.0 {
		t.Errorf("front-desk settings entry %+v", fd)
	}
	if cl := byAction["closeFacility"][0]; cl.EntityID != room || cl.Before != nil || jsonField(t, cl.After, "reason") != "repainting" {
		t.Errorf("closure entry %+v", cl)
	}

	// Admins read it too; nobody else.
	if n := len(auditOf(t, adm, e.ID)); n != len(log) {
		t.Errorf("the admin reads %d entries, the director %d", n, len(log))
	}
	mgr.fails("FORBIDDEN", auditLogQuery, map[string]any{"p": e.ID})
	s.login(t, e.user("agent")).fails("FORBIDDEN", auditLogQuery, map[string]any{"p": e.ID})
	for _, outsider := range []string{e.Resident, "agent.siu", "director.ng", "resident.chan"} {
		if r := s.login(t, outsider).do(auditLogQuery, map[string]any{"p": e.ID}); r.code() != "NOT_FOUND" {
			t.Errorf("%s reading another property's audit log: %s", outsider, strings.TrimSpace(string(r.Data)))
		}
	}
}
