package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const (
	historyQuery = `query($p: ID!, $u: ID, $b: ID) { butlerPortfolioHistory(propertyId: $p, unitId: $u, butlerId: $b) {
		household { id } butler { id } from to assignedBy { id } visits lastVisitAt } }`
	setShifts     = `mutation($p: ID!, $s: [ShiftInput!]!) { setShifts(propertyId: $p, shifts: $s) { code starts ends } }`
	setStaffShift = `mutation($who: ID!, $p: ID!, $s: String) { setStaffShift(personId: $who, propertyId: $p, shift: $s) {
		person { id } shiftToday { code startsAt endsAt } onShift } }`
	staffBoardQuery = `query($p: ID!) { staffBoard(propertyId: $p) { person { id } role shiftToday { code startsAt endsAt } onShift } }`
)

type period struct {
	Household, Butler struct{ ID string }
	From              time.Time
	To                *time.Time
	AssignedBy        *struct{ ID string }
	Visits            int
	LastVisitAt       *time.Time
}

// A household's butlers are a history, not only a present: each stretch
// from an assignment or handover to the next, who made it, and the visits
// the butler logged in it. The property's service center reads it,
// narrowed to a household or a butler; its other staff are FORBIDDEN and
// everyone else hears NOT_FOUND; a household of another property matches
// nothing.
func TestButlerPortfolioHistory(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "PH", map[string]string{"mgr": "MANAGER", "agent": "AGENT", "b1": "BUTLER", "b2": "BUTLER", "tech": "TECHNICIAN"})
	s.exec(t, `UPDATE properties SET service_mode = 'BUTLER' WHERE id = $1`, e.ID)
	mgr, agent, b1, b2 := s.login(t, e.user("mgr")), s.login(t, e.user("agent")), s.login(t, e.user("b1")), s.login(t, e.user("b2"))
	assign := `mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { from } }`
	visit := `mutation($u: ID!, $n: String!) { logVisit(unitId: $u, note: $n) { id } }`

	start := s.clock.Now()
	mgr.must(assign, map[string]any{"u": e.Unit, "b": b1.id}, nil)
	s.clock.Advance(2 * time.Minute)
	b1.must(visit, map[string]any{"u": e.Unit, "n": "first call"}, nil)
	s.clock.Advance(2 * time.Minute)
	b1.must(visit, map[string]any{"u": e.Unit, "n": "second call"}, nil)
	lastOfB1 := s.clock.Now()
	s.clock.Advance(2 * time.Minute)
	handover := s.clock.Now()
	mgr.must(assign, map[string]any{"u": e.Unit, "b": b2.id}, nil)
	s.clock.Advance(2 * time.Minute)
	b2.must(visit, map[string]any{"u": e.Unit, "n": "introduced myself"}, nil)

	var h struct{ ButlerPortfolioHistory []period }
	agent.must(historyQuery, map[string]any{"p": e.ID}, &h)
	if len(h.ButlerPortfolioHistory) != 2 {
		t.Fatalf("history %+v", h.ButlerPortfolioHistory)
	}
	now, before := h.ButlerPortfolioHistory[0], h.ButlerPortfolioHistory[1]
	if now.Butler.ID != b2.id || now.To != nil || now.Visits != 1 || !now.From.Equal(handover) || now.Household.ID != e.Unit {
		t.Errorf("the current stretch %+v", now)
	}
	if before.Butler.ID != b1.id || before.To == nil || !before.To.Equal(handover) || !before.From.Equal(start) || before.Visits != 2 ||
		before.LastVisitAt == nil || !before.LastVisitAt.Equal(lastOfB1) || before.AssignedBy == nil || before.AssignedBy.ID != mgr.id {
		t.Errorf("the earlier stretch %+v", before)
	}

	agent.must(historyQuery, map[string]any{"p": e.ID, "b": b1.id}, &h)
	if len(h.ButlerPortfolioHistory) != 1 || h.ButlerPortfolioHistory[0].Butler.ID != b1.id {
		t.Errorf("b1's history %+v", h.ButlerPortfolioHistory)
	}
	agent.must(historyQuery, map[string]any{"p": e.ID, "u": e.Unit}, &h)
	if len(h.ButlerPortfolioHistory) != 2 {
		t.Errorf("the household's history %+v", h.ButlerPortfolioHistory)
	}
	// Harbour View's A-1201 has a butler, but not at this property.
	chan_ := s.login(t, "resident.chan")
	var mine struct {
		Me struct{ Units []struct{ ID string } }
	}
	chan_.must(`{ me { units { id } } }`, nil, &mine)
	agent.must(historyQuery, map[string]any{"p": e.ID, "u": mine.Me.Units[0].ID}, &h)
	if len(h.ButlerPortfolioHistory) != 0 {
		t.Errorf("another property's household: %+v", h.ButlerPortfolioHistory)
	}

	s.login(t, e.user("tech")).fails("FORBIDDEN", historyQuery, map[string]any{"p": e.ID})
	for _, outsider := range []string{e.Resident, "agent.siu", "manager.cheung"} {
		s.login(t, outsider).fails("NOT_FOUND", historyQuery, map[string]any{"p": e.ID})
	}
}

// A property's shifts are data its managers set, and each worker's shift
// today is on the staff board with whether they are on it now. Removing a
// shift someone works, and bad shifts, are refused whole; every change is
// in the audit log. Only the property's managers, director and admins set
// them.
func TestShiftsOnTheStaffBoard(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "SH", map[string]string{"mgr": "MANAGER", "dir": "DIRECTOR", "agent": "AGENT", "tech": "TECHNICIAN", "cleaner": "CLEANER"})
	mgr, agent := s.login(t, e.user("mgr")), s.login(t, e.user("agent"))
	tech, cleaner := s.login(t, e.user("tech")), s.login(t, e.user("cleaner"))

	var got struct {
		Shifts []struct{ Code, Starts, Ends string }
	}
	agent.must(`query($p: ID!) { shifts(propertyId: $p) { code starts ends } }`, map[string]any{"p": e.ID}, &got)
	if len(got.Shifts) != 3 || got.Shifts[0].Code != "EARLY" || got.Shifts[0].Starts != "07:00" || got.Shifts[2].Ends != "07:00" {
		t.Fatalf("a new property's shifts %+v", got.Shifts)
	}

	hk, _ := time.LoadLocation("Asia/Hong_Kong")
	now := s.clock.Now().In(hk)
	hhmm := func(d time.Duration) string { return now.Add(d).Format("15:04") }
	// A shift under way now and one that starts later, whatever the hour
	// the clock reads.
	shifts := []map[string]any{
		{"code": "EARLY", "starts": "07:00", "ends": "15:00"},
		{"code": "CURRENT", "starts": hhmm(-time.Hour), "ends": hhmm(time.Hour)},
		{"code": "upcoming", "starts": hhmm(2 * time.Hour), "ends": hhmm(3 * time.Hour)},
	}
	for _, bad := range [][]map[string]any{
		{},
		{{"code": "A", "starts": "07:00", "ends": "07:00"}},
		{{"code": "A", "starts": "07:00", "ends": "15:00"}, {"code": "a", "starts": "09:00", "ends": "10:00"}},
		{{"code": "A", "starts": "7am", "ends": "15:00"}},
	} {
		if r := mgr.fails("INVALID_INPUT", setShifts, map[string]any{"p": e.ID, "s": bad}); r.field() != "shifts" {
			t.Errorf("%v: field %q", bad, r.field())
		}
	}
	agent.fails("FORBIDDEN", setShifts, map[string]any{"p": e.ID, "s": shifts})
	s.login(t, "manager.cheung").fails("NOT_FOUND", setShifts, map[string]any{"p": e.ID, "s": shifts})

	mgr.must(setStaffShift, map[string]any{"who": cleaner.id, "p": e.ID, "s": "MIDDLE"}, nil)
	// MIDDLE is worked: it cannot go.
	if r := mgr.fails("INVALID_INPUT", setShifts, map[string]any{"p": e.ID, "s": shifts}); !strings.Contains(r.Errors[0].Message, "MIDDLE") {
		t.Errorf("removing a worked shift: %s", r.Errors[0].Message)
	}
	mgr.must(setStaffShift, map[string]any{"who": cleaner.id, "p": e.ID, "s": "EARLY"}, nil)
	mgr.must(setShifts, map[string]any{"p": e.ID, "s": shifts}, nil)
	agent.must(`query($p: ID!) { shifts(propertyId: $p) { code starts ends } }`, map[string]any{"p": e.ID}, &got)
	if len(got.Shifts) != 3 {
		t.Fatalf("shifts after the change %+v", got.Shifts)
	}

	var one struct {
		SetStaffShift struct {
			Person     struct{ ID string }
			ShiftToday *struct {
				Code             string
				StartsAt, EndsAt time.Time
			}
			OnShift bool
		}
	}
	if r := mgr.fails("INVALID_INPUT", setStaffShift, map[string]any{"who": tech.id, "p": e.ID, "s": "MIDDLE"}); r.field() != "shift" {
		t.Errorf("a removed shift: field %q", r.field())
	}
	mgr.fails("INVALID_INPUT", setStaffShift, map[string]any{"who": s.login(t, "tech.lam").id, "p": e.ID, "s": "CURRENT"})
	agent.fails("FORBIDDEN", setStaffShift, map[string]any{"who": tech.id, "p": e.ID, "s": "CURRENT"})
	mgr.must(setStaffShift, map[string]any{"who": tech.id, "p": e.ID, "s": "current"}, &one)
	sh := one.SetStaffShift.ShiftToday
	wantStart := time.Date(now.Year(), now.Month(), now.Day(), now.Add(-time.Hour).Hour(), now.Minute(), 0, 0, hk)
	if sh == nil || sh.Code != "CURRENT" || !sh.StartsAt.Equal(wantStart) || sh.EndsAt.Sub(sh.StartsAt) != 2*time.Hour || !one.SetStaffShift.OnShift {
		t.Fatalf("the technician's shift %+v, on shift %v; want from %s", sh, one.SetStaffShift.OnShift, wantStart)
	}

	mgr.must(setStaffShift, map[string]any{"who": cleaner.id, "p": e.ID, "s": "UPCOMING"}, nil)
	var board struct {
		StaffBoard []struct {
			Person     struct{ ID string }
			ShiftToday *struct{ Code string }
			OnShift    bool
		}
	}
	agent.must(staffBoardQuery, map[string]any{"p": e.ID}, &board)
	seen := map[string]bool{}
	for _, row := range board.StaffBoard {
		switch row.Person.ID {
		case tech.id:
			seen["tech"] = row.ShiftToday != nil && row.ShiftToday.Code == "CURRENT" && row.OnShift
		case cleaner.id:
			seen["cleaner"] = row.ShiftToday != nil && row.ShiftToday.Code == "UPCOMING" && !row.OnShift
		case agent.id:
			seen["agent"] = row.ShiftToday == nil && !row.OnShift
		}
	}
	if !seen["tech"] || !seen["cleaner"] || !seen["agent"] {
		t.Fatalf("board %+v", board.StaffBoard)
	}
	// Two hours on, the technician's shift is over and the cleaner's on.
	s.clock.Advance(2*time.Hour + time.Minute)
	agent = s.login(t, e.user("agent"))
	agent.must(staffBoardQuery, map[string]any{"p": e.ID}, &board)
	for _, row := range board.StaffBoard {
		if (row.Person.ID == tech.id && row.OnShift) || (row.Person.ID == cleaner.id && !row.OnShift) {
			t.Errorf("after two hours: %+v", row)
		}
	}

	log := auditOf(t, s.login(t, e.user("dir")), e.ID)
	var shiftChanges, staffChanges int
	for _, en := range log {
		switch en.Action {
		case "setShifts":
			shiftChanges++
			if !strings.Contains(text(en.Before), "MIDDLE") || !strings.Contains(text(en.After), "CURRENT") {
				t.Errorf("setShifts entry %+v", en)
			}
		case "setStaffShift":
			staffChanges++
		}
	}
	if shiftChanges != 1 || staffChanges != 4 {
		t.Errorf("%d setShifts and %d setStaffShift entries, want 1 and 4", shiftChanges, staffChanges)
	}
}

func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// subscribeBoard starts the live staff board under the operation id.
func (w *wsClient) subscribeBoard(id, propertyID string) {
	w.t.Helper()
	p, _ := json.Marshal(map[string]any{
		"query":     `subscription($p: ID!) { staffBoard(propertyId: $p) { person { id } availability openJobs shiftToday { code } onShift } }`,
		"variables": map[string]any{"p": propertyID},
	})
	w.start(id, p)
}

type liveBoardRow struct {
	Person       struct{ ID string }
	Availability string
	ShiftToday   *struct{ Code string }
	OnShift      bool
}

// board returns the next board the subscription sends.
func (w *wsClient) board() map[string]liveBoardRow {
	w.t.Helper()
	m := w.next(15 * time.Second)
	var p struct {
		Data   struct{ StaffBoard []liveBoardRow }
		Errors []gqlError
	}
	if m.Type != "next" || json.Unmarshal(m.Payload, &p) != nil || len(p.Errors) > 0 {
		w.t.Fatalf("want a board, got %s %s", m.Type, m.Payload)
	}
	out := map[string]liveBoardRow{}
	for _, r := range p.Data.StaffBoard {
		out[r.Person.ID] = r
	}
	return out
}

// The staff board stays live over a websocket: the whole board at once,
// then again when a worker's shift or availability changes, and nothing
// while nothing changes. Only the property's service center may follow
// it.
func TestLiveStaffBoard(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "LB", map[string]string{"mgr": "MANAGER", "agent": "AGENT", "tech": "TECHNICIAN"})
	mgr, agent, tech := s.login(t, e.user("mgr")), s.login(t, e.user("agent")), s.login(t, e.user("tech"))

	w := agent.ws()
	w.subscribeBoard("1", e.ID)
	first := w.board()
	if len(first) != 3 || first[tech.id].ShiftToday != nil || first[tech.id].Availability != "AVAILABLE" {
		t.Fatalf("first board %+v", first)
	}
	w.quiet(boardQuiet)

	mgr.must(setStaffShift, map[string]any{"who": tech.id, "p": e.ID, "s": "NIGHT"}, nil)
	if b := w.board(); b[tech.id].ShiftToday == nil || b[tech.id].ShiftToday.Code != "NIGHT" {
		t.Fatalf("after the shift change %+v", b[tech.id])
	}
	tech.must(`mutation { setAvailability(status: OFF_DUTY) { id } }`, nil, nil)
	if b := w.board(); b[tech.id].Availability != "OFF_DUTY" {
		t.Fatalf("after going off duty %+v", b[tech.id])
	}

	tw := tech.ws()
	tw.subscribeBoard("1", e.ID)
	if f := tw.failure(); f.code() != "FORBIDDEN" {
		t.Errorf("the technician following the board: %+v", f.Errors)
	}
	for _, outsider := range []string{"agent.siu", e.Resident} {
		ow := s.login(t, outsider).ws()
		ow.subscribeBoard("1", e.ID)
		if f := ow.failure(); f.code() != "NOT_FOUND" {
			t.Errorf("%s following the board: %+v", outsider, f.Errors)
		}
	}
}

// boardQuiet is longer than the board's refresh: an unchanged board sends
// nothing in it.
const boardQuiet = 6 * time.Second
