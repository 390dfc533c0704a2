package main

import (
	"slices"
	"testing"
	"time"
)

type dutyOut struct {
	ID, Day, Coverage string
	StartsAt, EndsAt  time.Time
	CheckedInAt       *time.Time
	Person            struct{ ID string }
}

const dutyFields = `id day startsAt endsAt checkedInAt coverage person { id }`

func (c *client) generateRota(propertyID, month string) []dutyOut {
	c.t.Helper()
	var out struct{ GenerateGreetingRota []dutyOut }
	c.must(`mutation($p: ID!, $m: String!) { generateGreetingRota(propertyId: $p, month: $m) { `+dutyFields+` } }`,
		map[string]any{"p": propertyID, "m": month}, &out)
	return out.GenerateGreetingRota
}

// fair checks that the windows are shared with counts at most one apart
// among every one of the rota's staff.
func fair(t *testing.T, rota []dutyOut, staff []string) {
	t.Helper()
	count := map[string]int{}
	for _, d := range rota {
		if !slices.Contains(staff, d.Person.ID) {
			t.Fatalf("%s is not on the rota's staff", d.Person.ID)
		}
		count[d.Person.ID]++
	}
	lo, hi := len(rota), 0
	for _, p := range staff {
		lo, hi = min(lo, count[p]), max(hi, count[p])
	}
	if hi-lo > 1 {
		t.Fatalf("unfair rota: %v", count)
	}
}

// A month's rota in a zone with daylight saving (New York, March 2027:
// clocks go forward on the 14th) starts every window at 18:30 local time
// on each side of the change, one a day, shared fairly; in Hong Kong (no
// daylight saving) an office tower's window is 08:30 on working days only,
// not on a holiday.
func TestGreetingRotaFairAcrossDST(t *testing.T) {
	s := sharedServer(t)
	ny := newEstate(t, s, "NY", map[string]string{"boss": "MANAGER", "a1": "AGENT", "a2": "AGENT", "b1": "BUTLER", "guard": "GUARD"})
	s.exec(t, `UPDATE properties SET time_zone = 'America/New_York' WHERE id = $1`, ny.ID)
	boss := s.login(t, ny.user("boss"))
	staff := []string{boss.id, s.login(t, ny.user("a1")).id, s.login(t, ny.user("a2")).id, s.login(t, ny.user("b1")).id}
	rota := boss.generateRota(ny.ID, "2027-03")
	if len(rota) != 31 {
		t.Fatalf("%d windows in March", len(rota))
	}
	loc, _ := time.LoadLocation("America/New_York")
	for i, d := range rota {
		local := d.StartsAt.In(loc)
		if local.Hour() != 18 || local.Minute() != 30 || local.Day() != i+1 || d.EndsAt.Sub(d.StartsAt) != 30*time.Minute || d.Day != local.Format(time.DateOnly) {
			t.Fatalf("window %d starts %s (%s)", i, local, d.Day)
		}
	}
	if rota[0].StartsAt.UTC().Hour() != 23 || rota[30].StartsAt.UTC().Hour() != 22 {
		t.Fatalf("UTC starts %s and %s do not follow daylight saving", rota[0].StartsAt.UTC(), rota[30].StartsAt.UTC())
	}
	fair(t, rota, staff)
	// Generating again keeps the month as it is.
	if again := boss.generateRota(ny.ID, "2027-03"); len(again) != 31 || again[5].Person.ID != rota[5].Person.ID {
		t.Fatal("generating again changed the rota")
	}
	// The next month carries the counts on: over both, still fair.
	april := boss.generateRota(ny.ID, "2027-04")
	fair(t, append(rota, april...), staff)
	s.login(t, ny.user("guard")).fails("FORBIDDEN", `mutation($p: ID!) { generateGreetingRota(propertyId: $p, month: "2027-05") { id } }`, map[string]any{"p": ny.ID})

	kt := newEstate(t, s, "OT", map[string]string{"boss": "MANAGER", "a1": "AGENT", "a2": "AGENT"})
	s.exec(t, `UPDATE properties SET kind = 'OFFICE' WHERE id = $1`, kt.ID)
	kboss := s.login(t, kt.user("boss"))
	kboss.must(`mutation($p: ID!) { setGreetingWindow(propertyId: $p, weekdayStart: "08:30", holidays: ["2026-12-25"]) }`, map[string]any{"p": kt.ID}, nil)
	kboss.fails("INVALID_INPUT", `mutation($p: ID!) { setGreetingWindow(propertyId: $p, weekdayStart: "8.30") }`, map[string]any{"p": kt.ID})
	office := kboss.generateRota(kt.ID, "2026-12")
	// December 2026: 23 weekdays, less Christmas Day.
	if len(office) != 22 {
		t.Fatalf("%d office windows", len(office))
	}
	for _, d := range office {
		local := d.StartsAt.In(hk)
		if local.Hour() != 8 || local.Minute() != 30 || local.Weekday() == time.Saturday || local.Weekday() == time.Sunday || d.Day == "2026-12-25" {
			t.Fatalf("office window %s", local)
		}
	}
	fair(t, office, []string{kboss.id, s.login(t, kt.user("a1")).id, s.login(t, kt.user("a2")).id})
	var read struct{ GreetingRota []dutyOut }
	s.login(t, kt.user("a1")).must(`query($p: ID!) { greetingRota(propertyId: $p, month: "2026-12") { `+dutyFields+` } }`, map[string]any{"p": kt.ID}, &read)
	if len(read.GreetingRota) != 22 {
		t.Fatalf("rota read back %d", len(read.GreetingRota))
	}
}

// The person on duty is reminded before the window; a window nobody
// checks in for is missed and the manager told once; a late check-in is
// LATE, an early one STAFFED; a swap needs the manager's approval.
func TestGreetingDutyCoverage(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "GD", map[string]string{"boss": "MANAGER", "a1": "AGENT", "a2": "AGENT"})
	boss, a1, a2 := s.login(t, e.user("boss")), s.login(t, e.user("a1")), s.login(t, e.user("a2"))
	rota := boss.generateRota(e.ID, "2026-12")
	names := map[string]string{boss.id: e.user("boss"), a1.id: e.user("a1"), a2.id: e.user("a2")}
	// Each call signs in afresh: the clock moves days ahead of the tokens.
	as := func(id string) *client { return s.login(t, names[id]) }
	first, second, third := rota[0], rota[1], rota[2]

	// A swap: asked by the first window's person, approved by the manager.
	var sw struct{ SwapGreetingDuty struct{ ID, Status string } }
	asker := as(first.Person.ID)
	asker.must(`mutation($d: ID!, $w: ID!) { swapGreetingDuty(dutyId: $d, withDutyId: $w) { id status } }`, map[string]any{"d": first.ID, "w": second.ID}, &sw)
	if sw.SwapGreetingDuty.Status != "PENDING" {
		t.Fatalf("swap %+v", sw)
	}
	if first.Person.ID != boss.id {
		asker.fails("FORBIDDEN", `mutation($s: ID!) { decideGreetingSwap(swapId: $s, approve: true) { status } }`, map[string]any{"s": sw.SwapGreetingDuty.ID})
	}
	var dec struct{ DecideGreetingSwap struct{ Status string } }
	boss.must(`mutation($s: ID!) { decideGreetingSwap(swapId: $s, approve: true) { status } }`, map[string]any{"s": sw.SwapGreetingDuty.ID}, &dec)
	if dec.DecideGreetingSwap.Status != "APPROVED" {
		t.Fatalf("decided %+v", dec)
	}
	var read struct{ GreetingRota []dutyOut }
	boss.must(`query($p: ID!) { greetingRota(propertyId: $p, month: "2026-12") { `+dutyFields+` } }`, map[string]any{"p": e.ID}, &read)
	if read.GreetingRota[0].Person.ID != second.Person.ID || read.GreetingRota[1].Person.ID != first.Person.ID {
		t.Fatal("the approved swap did not change hands")
	}
	first.Person.ID, second.Person.ID = second.Person.ID, first.Person.ID

	// Too early to check in; the reminder comes 15 minutes before.
	as(first.Person.ID).fails("CONFLICT", `mutation($d: ID!) { checkInGreeting(dutyId: $d) { id } }`, map[string]any{"d": first.ID})
	s.clock.Set(first.StartsAt.Add(-16 * time.Minute))
	s.runJobs(t)
	if hasKind(as(first.Person.ID).inbox(), "GREETING_REMINDER") {
		t.Fatal("reminded too early")
	}
	s.clock.Set(first.StartsAt.Add(-10 * time.Minute))
	s.runJobs(t)
	if !hasKind(as(first.Person.ID).inbox(), "GREETING_REMINDER") {
		t.Fatal("not reminded")
	}
	var ci struct{ CheckInGreeting dutyOut }
	as(first.Person.ID).must(`mutation($d: ID!) { checkInGreeting(dutyId: $d) { `+dutyFields+` } }`, map[string]any{"d": first.ID}, &ci)
	if ci.CheckInGreeting.Coverage != "STAFFED" {
		t.Fatalf("coverage %s", ci.CheckInGreeting.Coverage)
	}
	if second.Person.ID != first.Person.ID {
		as(second.Person.ID).fails("FORBIDDEN", `mutation($d: ID!) { checkInGreeting(dutyId: $d) { id } }`, map[string]any{"d": first.ID})
	}

	// The second window: nobody comes. Missed at its end, told once.
	s.clock.Set(second.EndsAt.Add(time.Minute))
	s.runJobs(t)
	s.runJobs(t)
	missed := 0
	boss = s.login(t, e.user("boss"))
	for _, n := range boss.inbox() {
		if n.Kind == "GREETING_MISSED" {
			missed++
		}
	}
	if missed != 1 {
		t.Fatalf("manager told of %d missed windows", missed)
	}
	as(second.Person.ID).fails("CONFLICT", `mutation($d: ID!) { checkInGreeting(dutyId: $d) { id } }`, map[string]any{"d": second.ID})

	// The third: checked in ten minutes late.
	s.clock.Set(third.StartsAt.Add(10 * time.Minute))
	as(third.Person.ID).must(`mutation($d: ID!) { checkInGreeting(dutyId: $d) { `+dutyFields+` } }`, map[string]any{"d": third.ID}, &ci)
	if ci.CheckInGreeting.Coverage != "LATE" {
		t.Fatalf("coverage %s", ci.CheckInGreeting.Coverage)
	}
	var st struct {
		FrontDeskStats struct {
			Greeting struct{ Windows, Staffed, Late, Missed, Upcoming int }
		}
	}
	boss.must(`query($p: ID!) { frontDeskStats(propertyId: $p, from: "2026-12-01T00:00:00+08:00", to: "2027-01-01T00:00:00+08:00") { greeting { windows staffed late missed upcoming } } }`,
		map[string]any{"p": e.ID}, &st)
	g := st.FrontDeskStats.Greeting
	if g.Windows != len(rota) || g.Staffed != 1 || g.Late != 1 || g.Missed != 1 || g.Upcoming != len(rota)-3 {
		t.Fatalf("greeting figures %+v", g)
	}
}

func hasKind(ns []struct {
	Kind, Title string
	VisitID     *string
}, kind string) bool {
	return hasNote(ns, kind, "")
}

// Guards check in and out of posts; the post shows who is on duty, and
// its coverage counts the standing windows that had a guard at the start.
func TestPostCheckInAndCoverage(t *testing.T) {
	s := startServer(t, longTokens)
	d := newDesk(t, s, "PC")
	guard, boss, res := s.login(t, d.user("guard")), s.login(t, d.user("boss")), s.login(t, d.Resident)
	// 2026-11-27 06:50 in Hong Kong: just before the early standing window.
	s.clock.Set(time.Date(2026, 11, 27, 6, 50, 0, 0, hk))
	var in struct{ CheckInPost struct{ ID, PostID string } }
	guard.must(`mutation($p: ID!) { checkInPost(postId: $p) { id postId checkedInAt } }`, map[string]any{"p": d.Gate}, &in)
	boss.fails("FORBIDDEN", `mutation($p: ID!) { checkInPost(postId: $p) { id } }`, map[string]any{"p": d.Gate})
	res.fails("NOT_FOUND", `mutation($p: ID!) { checkInPost(postId: $p) { id } }`, map[string]any{"p": d.Gate})
	var posts struct {
		Posts []struct {
			Code            string
			StandingWindows []string
			Shifts          []string
			OnDuty          []struct{ ID string }
		}
	}
	boss.must(`query($p: ID!) { posts(propertyId: $p) { code standingWindows shifts onDuty { id } } }`, map[string]any{"p": d.ID}, &posts)
	if len(posts.Posts) != 1 || len(posts.Posts[0].OnDuty) != 1 || posts.Posts[0].OnDuty[0].ID != guard.id || len(posts.Posts[0].Shifts) != 3 {
		t.Fatalf("posts %+v", posts)
	}
	s.clock.Set(time.Date(2026, 11, 27, 15, 30, 0, 0, hk))
	var out struct {
		CheckOutPost struct{ CheckedOutAt *time.Time }
	}
	guard.must(`mutation($p: ID!) { checkOutPost(postId: $p) { checkedOutAt } }`, map[string]any{"p": d.Gate}, &out)
	if out.CheckOutPost.CheckedOutAt == nil {
		t.Fatal("not checked out")
	}
	guard.fails("CONFLICT", `mutation($p: ID!) { checkOutPost(postId: $p) { id } }`, map[string]any{"p": d.Gate})
	s.clock.Set(time.Date(2026, 11, 28, 0, 0, 0, 0, hk))
	var st struct {
		FrontDeskStats struct {
			PostCoverage []struct {
				PostID           string
				Windows, Covered int
				Share            float64
			}
		}
	}
	boss.must(`query($p: ID!) { frontDeskStats(propertyId: $p, from: "2026-11-27T00:00:00+08:00", to: "2026-11-28T00:00:00+08:00") { postCoverage { postId windows covered share } } }`,
		map[string]any{"p": d.ID}, &st)
	pc := st.FrontDeskStats.PostCoverage
	// The 07:00 window had the guard at its start, the 15:00 one too (out at
	// 15:30); both counted, both covered.
	if len(pc) != 1 || pc[0].Windows != 2 || pc[0].Covered != 2 {
		t.Fatalf("coverage %+v", pc)
	}
}
