package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/config"
)

// clubhouse is an estate made for one booking test: households with a
// resident each, an agent, and facilities added by the test.
type clubhouse struct {
	*estate
	residents []*client
	agent     *client
}

// newClubhouse makes an estate with n households (the estate's own first)
// and signs their residents and the agent in.
func newClubhouse(t *testing.T, s *testServer, prefix string, n int) *clubhouse {
	t.Helper()
	e := newEstate(t, s, prefix, map[string]string{"agent": "AGENT"})
	hash, err := auth.HashPassword("demo1234", 4)
	if err != nil {
		t.Fatal(err)
	}
	c := &clubhouse{estate: e, agent: s.login(t, e.user("agent"))}
	c.residents = append(c.residents, s.login(t, e.Resident))
	ctx := context.Background()
	for i := 1; i < n; i++ {
		var unit, pid string
		name := fmt.Sprintf("%s.home%02d", e.Code, i)
		if err := s.app.DB.GetContext(ctx, &unit, `INSERT INTO units (property_id, building_id, code) VALUES ($1, $2, $3) RETURNING id`,
			e.ID, e.Building, fmt.Sprintf("A-%04d", 200+i)); err != nil {
			t.Fatal(err)
		}
		if err := s.app.DB.GetContext(ctx, &pid, `INSERT INTO people (username, name, password_hash) VALUES ($1, $1, $2) RETURNING id`, name, hash); err != nil {
			t.Fatal(err)
		}
		s.exec(t, `INSERT INTO residencies (person_id, unit_id, relation) VALUES ($1, $2, 'OWNER')`, pid, unit)
		c.residents = append(c.residents, s.login(t, name))
	}
	return c
}

// facility adds a facility open every day 09:00-22:00 in one-hour slots.
func (c *clubhouse) facility(t *testing.T, s *testServer, code string, capacity, quota int) string {
	t.Helper()
	var id string
	if err := s.app.DB.Get(&id, `INSERT INTO facilities (property_id, code, name, name_zh, opens, closes, slot_minutes, capacity,
	max_slots, advance_days, weekly_quota, cancel_hours) VALUES ($1, $2, $2, $2, '09:00', '22:00', 60, $3, 3, 14, $4, 24) RETURNING id`,
		c.ID, code, capacity, quota); err != nil {
		t.Fatal(err)
	}
	return id
}

const bookingFields = `id status startsAt endsAt unit { id } facility { id name } fee { amountCents currency }`

type bookingOut struct {
	ID, Status       string
	StartsAt, EndsAt time.Time
	Unit             struct{ ID string }
}

const bookMutation = `mutation($f: ID!, $at: Time!, $n: Int) { bookFacility(facilityId: $f, startsAt: $at, slots: $n) { ` + bookingFields + ` } }`

// monthTokens keeps access tokens valid while a test moves its clock by days.
func monthTokens(c *config.Config) { c.AccessTTL = 60 * 24 * time.Hour }

// hk is a Hong Kong wall-clock time.
func hkTime(s string) string {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, time.FixedZone("HKT", 8*3600))
	if err != nil {
		panic(err)
	}
	return t.UTC().Format(time.RFC3339)
}

// raceFor has every resident book the same slot at once and returns the
// winners and the codes of the losers.
func raceFor(t *testing.T, c *clubhouse, facility, at string) (wins int, codes map[string]int) {
	t.Helper()
	var mu sync.Mutex
	codes = map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, r := range c.residents {
		wg.Add(1)
		go func(r *client) {
			defer wg.Done()
			<-start
			resp := r.do(bookMutation, map[string]any{"f": facility, "at": at})
			mu.Lock()
			defer mu.Unlock()
			if len(resp.Errors) == 0 {
				wins++
			} else {
				codes[resp.code()]++
			}
		}(r)
	}
	close(start)
	wg.Wait()
	return wins, codes
}

// Twenty households booking the last place of a room at once: exactly one
// wins, the rest are CONFLICT, and only the winner's booking exists.
// Of a class of five, exactly five win and the slot's count says five.
func TestConcurrentBookingsOfOneSlot(t *testing.T) {
	s := sharedServer(t)
	c := newClubhouse(t, s, "BK", 20)
	room := c.facility(t, s, "room", 1, 2)
	class := c.facility(t, s, "class", 5, 2)
	at := hkTime("2026-11-30 19:00")

	wins, codes := raceFor(t, c, room, at)
	if wins != 1 || codes["CONFLICT"] != 19 {
		t.Fatalf("room: %d winners, losers %v; want 1 and 19 CONFLICT", wins, codes)
	}
	var n int
	if err := s.app.DB.Get(&n, `SELECT count(*) FROM facility_bookings WHERE facility_id = $1`, room); err != nil || n != 1 {
		t.Fatalf("room bookings stored: %d (%v)", n, err)
	}

	wins, codes = raceFor(t, c, class, at)
	if wins != 5 || codes["CONFLICT"] != 15 {
		t.Fatalf("class: %d winners, losers %v; want 5 and 15 CONFLICT", wins, codes)
	}
	var taken int
	if err := s.app.DB.Get(&n, `SELECT count(*) FROM facility_bookings WHERE facility_id = $1`, class); err != nil || n != 5 {
		t.Fatalf("class bookings stored: %d (%v)", n, err)
	}
	if err := s.app.DB.Get(&taken, `SELECT taken FROM facility_slot_places WHERE facility_id = $1`, class); err != nil || taken != 5 {
		t.Fatalf("class places taken: %d (%v)", taken, err)
	}
	// Only the winners were announced: to their households and the center.
	if err := s.app.DB.Get(&n, `SELECT count(*) FROM notifications WHERE person_id = $1 AND kind = 'BOOKING' AND title LIKE 'Booked: class %'`,
		c.agent.id); err != nil || n != 5 {
		t.Fatalf("the center heard of %d class bookings (%v), want 5", n, err)
	}

	var slots struct {
		FacilitySlots []struct {
			StartsAt         time.Time
			Taken, Available int
			Open             bool
		}
	}
	c.residents[0].must(`query($f: ID!) { facilitySlots(facilityId: $f, date: "2026-11-30") { startsAt taken available open } }`,
		map[string]any{"f": class}, &slots)
	for _, sl := range slots.FacilitySlots {
		if sl.StartsAt.Format(time.RFC3339) == at && (sl.Taken != 5 || sl.Available != 0 || sl.Open) {
			t.Errorf("the full slot reads %+v", sl)
		}
	}
	if len(slots.FacilitySlots) != 13 {
		t.Errorf("09:00-22:00 in hours is 13 slots, got %d", len(slots.FacilitySlots))
	}
}

// The rules of a booking, each refused with a clear error: outside the
// booking window, off the slot grid, longer than allowed, over the
// household's weekly quota, in a closure; a cancellation after the cut-off
// is the service center's; a no-show counts towards suspension.
func TestBookingRules(t *testing.T) {
	s := startServer(t, monthTokens)
	c := newClubhouse(t, s, "BR", 2)
	room := c.facility(t, s, "room", 1, 2)
	r := c.residents[0]

	resp := r.fails("INVALID_INPUT", bookMutation, map[string]any{"f": room, "at": hkTime("2026-12-20 19:00")})
	if resp.field() != "startsAt" || !strings.Contains(resp.Errors[0].Message, "14 days ahead") {
		t.Errorf("advance window: %+v", resp.Errors)
	}
	if resp := r.fails("INVALID_INPUT", bookMutation, map[string]any{"f": room, "at": hkTime("2026-11-30 19:30")}); resp.field() != "startsAt" {
		t.Errorf("off the grid: %+v", resp.Errors)
	}
	if resp := r.fails("INVALID_INPUT", bookMutation, map[string]any{"f": room, "at": hkTime("2026-11-30 21:00"), "n": 2}); resp.field() != "startsAt" {
		t.Errorf("past closing: %+v", resp.Errors)
	}
	if resp := r.fails("INVALID_INPUT", bookMutation, map[string]any{"f": room, "at": hkTime("2026-11-30 10:00"), "n": 4}); resp.field() != "slots" {
		t.Errorf("longest booking: %+v", resp.Errors)
	}

	var first, second struct{ BookFacility bookingOut }
	r.must(bookMutation, map[string]any{"f": room, "at": hkTime("2026-11-30 10:00"), "n": 2}, &first)
	r.must(bookMutation, map[string]any{"f": room, "at": hkTime("2026-12-02 10:00")}, &second)
	resp = r.fails("CONFLICT", bookMutation, map[string]any{"f": room, "at": hkTime("2026-12-04 10:00")})
	if !strings.Contains(resp.Errors[0].Message, "2 booking(s)") {
		t.Errorf("quota: %+v", resp.Errors)
	}
	// Another week has its own quota; the other household is unaffected.
	r.must(bookMutation, map[string]any{"f": room, "at": hkTime("2026-12-07 10:00")}, nil)
	// An overlap with the two-hour booking is refused by PostgreSQL.
	c.residents[1].fails("CONFLICT", bookMutation, map[string]any{"f": room, "at": hkTime("2026-11-30 11:00")})

	closeF := `mutation($f: ID!, $from: Time!, $to: Time!) { closeFacility(facilityId: $f, from: $from, to: $to, reason: "repainting") { reason } }`
	closure := map[string]any{"f": room, "from": hkTime("2026-12-01 09:00"), "to": hkTime("2026-12-01 22:00")}
	c.agent.fails("FORBIDDEN", closeF, closure)
	s.exec(t, `UPDATE staff_roles SET role = 'MANAGER' WHERE person_id = $1`, c.agent.id)
	c.agent.must(closeF, closure, nil)
	if resp := c.residents[1].fails("CONFLICT", bookMutation, map[string]any{"f": room, "at": hkTime("2026-12-01 15:00")}); !strings.Contains(resp.Errors[0].Message, "closed") {
		t.Errorf("closure: %+v", resp.Errors)
	}

	// Friday 10:00 now: Monday's booking is past its 24-hour cut-off only
	// after Sunday 10:00.
	cancelB := `mutation($id: ID!) { cancelBooking(id: $id) { id status } }`
	s.clock.Set(testEpoch.Add(49 * time.Hour))
	if resp := r.fails("CONFLICT", cancelB, map[string]any{"id": first.BookFacility.ID}); !strings.Contains(resp.Errors[0].Message, "24 hours") {
		t.Errorf("cut-off: %+v", resp.Errors)
	}
	var cancelled struct{ CancelBooking struct{ Status string } }
	c.agent.must(cancelB, map[string]any{"id": first.BookFacility.ID}, &cancelled)
	if cancelled.CancelBooking.Status != "CANCELLED" {
		t.Fatalf("the center's cancellation: %+v", cancelled)
	}
	// The freed slot can be booked again by the other household.
	c.residents[1].must(bookMutation, map[string]any{"f": room, "at": hkTime("2026-11-30 11:00")}, nil)

	// A no-show, marked once the booking started, and a check-in.
	checkIn := `mutation($id: ID!, $ok: Boolean!) { checkInBooking(id: $id, attended: $ok) { id status } }`
	r.fails("FORBIDDEN", checkIn, map[string]any{"id": second.BookFacility.ID, "ok": false})
	c.agent.fails("CONFLICT", checkIn, map[string]any{"id": second.BookFacility.ID, "ok": false})
	s.clock.Set(time.Date(2026, 12, 2, 2, 5, 0, 0, time.UTC))
	var marked struct{ CheckInBooking struct{ Status string } }
	c.agent.must(checkIn, map[string]any{"id": second.BookFacility.ID, "ok": false}, &marked)
	if marked.CheckInBooking.Status != "NO_SHOW" {
		t.Fatalf("no-show: %+v", marked)
	}
	// Three no-shows within 30 days (the default rule) suspend booking.
	s.exec(t, `UPDATE properties SET no_show_limit = 1 WHERE id = $1`, c.ID)
	resp = r.fails("FORBIDDEN", bookMutation, map[string]any{"f": room, "at": hkTime("2026-12-10 10:00")})
	if !strings.Contains(resp.Errors[0].Message, "no-shows") {
		t.Errorf("suspension: %+v", resp.Errors)
	}
}

// A freed place goes to the waiting list in order: the first household
// waiting is promoted and told live on its notifications subscription
// (resumed from its own cursor); one asking for more than is free keeps
// its turn, and nobody behind it jumps ahead.
func TestWaitingListPromotedInOrder(t *testing.T) {
	s := sharedServer(t)
	c := newClubhouse(t, s, "WL", 4)
	var act string
	if err := s.app.DB.Get(&act, `INSERT INTO activities (property_id, title, place, starts_at, ends_at, capacity, signup_opens_at,
	signup_closes_at, per_household) VALUES ($1, 'Tea tasting', 'Clubhouse', $2, $3, 2, $4, $2, 2) RETURNING id`,
		c.ID, hkTime("2026-12-05 14:00"), hkTime("2026-12-05 16:00"), hkTime("2026-11-20 09:00")); err != nil {
		t.Fatal(err)
	}
	signUp := `mutation($a: ID!, $n: Int) { signUpForActivity(activityId: $a, places: $n) { id status waitingPosition } }`
	type su struct {
		ID, Status      string
		WaitingPosition *int
	}
	var out [4]struct{ SignUpForActivity su }
	places := []int{2, 1, 2, 1}
	for i, r := range c.residents {
		r.must(signUp, map[string]any{"a": act, "n": places[i]}, &out[i])
	}
	if got := []string{out[0].SignUpForActivity.Status, out[1].SignUpForActivity.Status, out[2].SignUpForActivity.Status, out[3].SignUpForActivity.Status}; strings.Join(got, " ") != "CONFIRMED WAITING WAITING WAITING" {
		t.Fatalf("statuses %v", got)
	}
	if p := out[3].SignUpForActivity.WaitingPosition; p == nil || *p != 3 {
		t.Fatalf("the fourth household's position: %v", p)
	}
	c.residents[1].fails("CONFLICT", signUp, map[string]any{"a": act, "n": 1})

	// The second household listens from its own last notification.
	var inbox struct {
		MyNotifications struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	c.residents[1].must(`{ myNotifications(first: 1) { edges { node { id } } } }`, nil, &inbox)
	since := inbox.MyNotifications.Edges[0].Node.ID
	w := c.residents[1].ws()
	p, _ := json.Marshal(map[string]any{"query": `subscription($since: ID) { notifications(since: $since) { id kind title } }`,
		"variables": map[string]any{"since": since}})
	w.start("n", p)

	cancelSU := `mutation($id: ID!) { cancelActivitySignUp(id: $id) { id status } }`
	// Another household cannot cancel it.
	c.residents[2].fails("NOT_FOUND", cancelSU, map[string]any{"id": out[0].SignUpForActivity.ID})
	c.residents[0].must(cancelSU, map[string]any{"id": out[0].SignUpForActivity.ID}, nil)

	m := w.next(10 * time.Second)
	var got struct {
		Data struct{ Notifications struct{ Kind, Title string } }
	}
	if m.Type != "next" || json.Unmarshal(m.Payload, &got) != nil || got.Data.Notifications.Kind != "BOOKING" ||
		!strings.Contains(got.Data.Notifications.Title, "A place is yours") {
		t.Fatalf("want the promotion live, got %s %s", m.Type, m.Payload)
	}

	var list struct {
		Activities []struct {
			ID                                         string
			ConfirmedPlaces, WaitingPlaces, PlacesLeft int
			SignUps                                    []su
		}
	}
	c.agent.must(`{ activities { id confirmedPlaces waitingPlaces placesLeft signUps { id status waitingPosition } } }`, nil, &list)
	var found bool
	for _, a := range list.Activities {
		if a.ID != act {
			continue
		}
		found = true
		st := map[string]string{}
		for _, x := range a.SignUps {
			st[x.ID] = x.Status
		}
		if st[out[1].SignUpForActivity.ID] != "CONFIRMED" || st[out[2].SignUpForActivity.ID] != "WAITING" || st[out[3].SignUpForActivity.ID] != "WAITING" {
			t.Errorf("after promotion: %+v", a.SignUps)
		}
		if a.ConfirmedPlaces != 1 || a.WaitingPlaces != 3 || a.PlacesLeft != 1 {
			t.Errorf("figures %+v", a)
		}
	}
	if !found {
		t.Fatal("the agent does not see the activity")
	}

	// At the door: the promoted household is checked in with one person.
	var in struct{ CheckInActivity struct{ Attended int } }
	c.agent.must(`mutation($id: ID!) { checkInActivity(id: $id, attended: 1) { attended } }`, map[string]any{"id": out[1].SignUpForActivity.ID}, &in)
	c.residents[1].fails("FORBIDDEN", `mutation($id: ID!) { checkInActivity(id: $id, attended: 1) { attended } }`, map[string]any{"id": out[1].SignUpForActivity.ID})
}

// A guided visit is promised for its appointment, not for acceptance plus
// the category's 24 hours: the promise clock does not breach it a day
// after acceptance when the visit is three days ahead, and does once the
// appointment has passed. The one guide of the tower cannot be booked twice.
func TestGuidedVisitMeasuredAgainstItsAppointment(t *testing.T) {
	s := startServer(t, monthTokens)
	ko, agent := s.login(t, "tenant.ko"), s.login(t, "agent.siu")
	cat := ko.categoryID("KT", "guided-visit")
	book := `mutation($in: BookGuidedVisitInput!) { bookGuidedVisit(input: $in) { id status appointmentAt appointmentUntil promisedAt
		guidedVisit { kind partySize guide { id } } } }`
	in := map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "startsAt": hkTime("2026-11-30 15:00"), "minutes": 90,
		"partySize": 6, "kind": "STUDY_TOUR"}
	var out struct {
		BookGuidedVisit struct {
			ID, Status                      string
			AppointmentAt, AppointmentUntil time.Time
			PromisedAt                      *time.Time
			GuidedVisit                     struct {
				Kind      string
				PartySize int
				Guide     struct{ ID string }
			}
		}
	}
	ko.must(book, map[string]any{"in": in}, &out)
	v := out.BookGuidedVisit
	var guideOK bool
	if err := s.app.DB.Get(&guideOK, `SELECT EXISTS (SELECT 1 FROM staff_roles s JOIN properties p ON p.id = s.property_id
WHERE p.code = 'KT' AND s.person_id = $1 AND s.role IN ('BUTLER', 'AGENT', 'GUARD', 'MANAGER'))`, v.GuidedVisit.Guide.ID); err != nil {
		t.Fatal(err)
	}
	if !guideOK || v.GuidedVisit.PartySize != 6 || v.AppointmentUntil.Sub(v.AppointmentAt) != 90*time.Minute {
		t.Fatalf("visit %+v", v)
	}
	// Overlapping visits take the tower's other guides one by one; once
	// every guide is taken, the next is refused: nobody is double-booked.
	var guides int
	if err := s.app.DB.Get(&guides, `SELECT count(*) FROM staff_roles s JOIN properties p ON p.id = s.property_id
WHERE p.code = 'KT' AND s.role IN ('BUTLER', 'AGENT', 'GUARD', 'MANAGER')`); err != nil {
		t.Fatal(err)
	}
	overlap := func() map[string]any {
		return map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": cat, "startsAt": hkTime("2026-11-30 16:00"),
			"partySize": 2, "kind": "VISIT"}}
	}
	for i := 1; i < guides; i++ {
		ko.must(book, overlap(), nil)
	}
	if resp := ko.fails("CONFLICT", book, overlap()); !strings.Contains(resp.Errors[0].Message, "guide") {
		t.Errorf("double-booked guide: %+v", resp.Errors)
	}

	agent.fails("INVALID_INPUT", accept, map[string]any{"id": v.ID, "at": s.later()})
	r := agent.act(accept, map[string]any{"id": v.ID})
	if r.PromisedAt == nil || !r.PromisedAt.Equal(v.AppointmentUntil) {
		t.Fatalf("promised %v, want the appointment's end %v", r.PromisedAt, v.AppointmentUntil)
	}
	breached := func() bool {
		if _, err := s.app.Clock.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(statuses(agent.get(v.ID).Timeline), "BREACHED")
	}
	s.clock.Set(testEpoch.Add(25 * time.Hour))
	if breached() {
		t.Fatal("breached a day after acceptance, before the appointment")
	}
	s.clock.Set(v.AppointmentUntil.Add(time.Minute))
	if !breached() {
		t.Fatal("not breached after the appointment ended")
	}
}

// A paid request cannot close unpaid: the satisfied callback is refused
// with CONFLICT and nothing changes; once waived it closes.
func TestPaidRequestClosesOnlyPaidOrWaived(t *testing.T) {
	s := sharedServer(t)
	ko, agent, tech := s.login(t, "tenant.ko"), s.login(t, "agent.siu"), s.login(t, "tech.fung")
	lee := s.login(t, "resident.lee")
	quote := `mutation($id: ID!, $q: Int!) { quoteRequest(id: $id, quantity: $q) { quantity amount { amountCents currency } payment } }`
	acceptQ := `mutation($id: ID!) { acceptQuote(id: $id) { acceptedAt } }`
	pay := `mutation($id: ID!, $p: PaymentState!) { recordPayment(id: $id, payment: $p) { payment paymentRecordedBy { id } request { status } } }`

	for _, how := range []string{"WAIVED", "PAID"} {
		r := ko.submit(ko.categoryID("KT", "aircon-wash"), "Two units to clean, "+how)
		// A plumbing request is not paid.
		plumbing := ko.submit(ko.categoryID("KT", "plumbing"), "Not paid")
		agent.fails("CONFLICT", quote, map[string]any{"id": plumbing.ID, "q": 1})
		ko.fails("FORBIDDEN", quote, map[string]any{"id": r.ID, "q": 2})
		var q struct {
			QuoteRequest struct {
				Quantity int
				Amount   struct {
					AmountCents int
					Currency    string
				}
			}
		}
		agent.must(quote, map[string]any{"id": r.ID, "q": 2}, &q)
		if q.QuoteRequest.Amount.AmountCents != 96000 || q.QuoteRequest.Amount.Currency != "HKD" {
			t.Fatalf("quote %+v", q)
		}
		lee.fails("NOT_FOUND", acceptQ, map[string]any{"id": r.ID})
		agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
		agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
		// Work waits for the household to accept the price.
		if resp := tech.fails("CONFLICT", start, map[string]any{"id": r.ID}); !strings.Contains(resp.Errors[0].Message, "quote") {
			t.Errorf("start before the quote was accepted: %+v", resp.Errors)
		}
		ko.must(acceptQ, map[string]any{"id": r.ID}, nil)
		tech.act(start, map[string]any{"id": r.ID})
		tech.act(complete, map[string]any{"id": r.ID, "note": "Both cleaned"})
		ko.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5})
		before := agent.get(r.ID)
		if before.Status != "CONFIRMED" {
			t.Fatalf("%s: a paid request closed unpaid: %s", how, before.Status)
		}
		resp := agent.fails("CONFLICT", callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 5})
		if !strings.Contains(resp.Errors[0].Message, "payment is owed") {
			t.Errorf("refusal: %+v", resp.Errors)
		}
		if after := agent.get(r.ID); after.Version != before.Version || len(after.Timeline) != len(before.Timeline) {
			t.Fatalf("the refused close wrote something: %+v", after)
		}
		ko.fails("FORBIDDEN", pay, map[string]any{"id": r.ID, "p": how})
		var paid struct {
			RecordPayment struct {
				Payment           string
				PaymentRecordedBy struct{ ID string }
			}
		}
		agent.must(pay, map[string]any{"id": r.ID, "p": how}, &paid)
		if paid.RecordPayment.Payment != how || paid.RecordPayment.PaymentRecordedBy.ID != agent.id {
			t.Fatalf("payment %+v", paid)
		}
		if st := agent.get(r.ID).Status; st != "CLOSED" {
			// A callback is still owed: it closes now.
			agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 5})
		}
		got := agent.get(r.ID)
		if got.Status != "CLOSED" || !strings.Contains(statuses(got.Timeline), "QUOTED") || !strings.Contains(statuses(got.Timeline), "QUOTE_ACCEPTED STARTED") ||
			!strings.Contains(statuses(got.Timeline), "PAYMENT_RECORDED") {
			t.Fatalf("%s: %s %s", how, got.Status, statuses(got.Timeline))
		}
	}

	// The console's figures: the paid cleaning is revenue of its
	// category on the local day; the demo's quoted cleaning is owed.
	var figs struct {
		PaymentFigures struct {
			Revenue []struct {
				Day      string
				Category struct{ Code string }
				Amount   struct{ AmountCents int }
			}
			Unpaid []struct {
				Amount   struct{ AmountCents int }
				Requests int
			}
		}
	}
	agent.must(`{ paymentFigures(from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { revenue { day category { code } amount { amountCents } }
		unpaid { amount { amountCents } requests } } }`, nil, &figs)
	f := figs.PaymentFigures
	if len(f.Revenue) == 0 || f.Revenue[0].Day != "2026-11-27" || f.Revenue[0].Category.Code != "aircon-wash" || f.Revenue[0].Amount.AmountCents < 96000 {
		t.Errorf("revenue %+v", f.Revenue)
	}
	if len(f.Unpaid) != 1 || f.Unpaid[0].Amount.AmountCents < 96000 || f.Unpaid[0].Requests < 1 {
		t.Errorf("unpaid %+v", f.Unpaid)
	}
	ko.fails("FORBIDDEN", `{ paymentFigures(from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { unpaid { requests } } }`, nil)
}

// Another household of the same property is refused every booking, sign-up
// and quote that is not its own, as if it did not exist.
func TestOtherHouseholdsAreRefused(t *testing.T) {
	s := sharedServer(t)
	c := newClubhouse(t, s, "OH", 2)
	room := c.facility(t, s, "room", 1, 2)
	mine, other := c.residents[0], c.residents[1]
	var b struct{ BookFacility bookingOut }
	mine.must(bookMutation, map[string]any{"f": room, "at": hkTime("2026-12-03 12:00")}, &b)
	other.fails("NOT_FOUND", `mutation($id: ID!) { cancelBooking(id: $id) { id } }`, map[string]any{"id": b.BookFacility.ID})
	other.fails("NOT_FOUND", `mutation($id: ID!) { checkInBooking(id: $id, attended: true) { id } }`, map[string]any{"id": b.BookFacility.ID})
	var mineList, otherList struct{ MyBookings []bookingOut }
	mine.must(`{ myBookings { id status } }`, nil, &mineList)
	other.must(`{ myBookings { id status } }`, nil, &otherList)
	if len(mineList.MyBookings) != 1 || len(otherList.MyBookings) != 0 {
		t.Fatalf("myBookings: %+v / %+v", mineList, otherList)
	}
	other.fails("FORBIDDEN", `query($f: ID!) { facilityBookings(facilityId: $f, date: "2026-12-03") { id } }`, map[string]any{"f": room})

	// A sign-up and a quote of the first household are not the second's.
	var act, paidCat string
	if err := s.app.DB.Get(&act, `INSERT INTO activities (property_id, title, place, starts_at, ends_at, capacity, signup_opens_at,
	signup_closes_at) VALUES ($1, 'Choir', 'Hall', $2, $3, 10, $4, $2) RETURNING id`,
		c.ID, hkTime("2026-12-06 10:00"), hkTime("2026-12-06 12:00"), hkTime("2026-11-20 09:00")); err != nil {
		t.Fatal(err)
	}
	if err := s.app.DB.Get(&paidCat, `INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes, price_cents, currency)
	VALUES ($1, 'aircon-wash', 'CONTRACTED', 'Air-con', '冷氣', 600, 30000, 'HKD') RETURNING id`, c.ID); err != nil {
		t.Fatal(err)
	}
	var su struct{ SignUpForActivity struct{ ID string } }
	mine.must(`mutation($a: ID!) { signUpForActivity(activityId: $a) { id } }`, map[string]any{"a": act}, &su)
	other.fails("NOT_FOUND", `mutation($id: ID!) { cancelActivitySignUp(id: $id) { id } }`, map[string]any{"id": su.SignUpForActivity.ID})
	other.fails("NOT_FOUND", `mutation($id: ID!) { checkInActivity(id: $id, attended: 1) { id } }`, map[string]any{"id": su.SignUpForActivity.ID})
	paid := mine.submit(paidCat, "Clean the bedroom unit")
	c.agent.must(`mutation($id: ID!) { quoteRequest(id: $id, quantity: 1) { quantity } }`, map[string]any{"id": paid.ID}, nil)
	other.fails("NOT_FOUND", `mutation($id: ID!) { acceptQuote(id: $id) { acceptedAt } }`, map[string]any{"id": paid.ID})
	other.fails("NOT_FOUND", `mutation($id: ID!) { quoteRequest(id: $id, quantity: 9) { quantity } }`, map[string]any{"id": paid.ID})
	other.fails("NOT_FOUND", `mutation($id: ID!) { recordPayment(id: $id, payment: WAIVED) { payment } }`, map[string]any{"id": paid.ID})
	var q struct {
		Request struct{ Quote struct{ Quantity int } }
	}
	mine.must(`query($id: ID!) { request(id: $id) { quote { quantity } } }`, map[string]any{"id": paid.ID}, &q)
	if q.Request.Quote.Quantity != 1 {
		t.Fatalf("the quote changed: %+v", q)
	}
	var staff struct{ FacilityBookings []bookingOut }
	c.agent.must(`query($f: ID!) { facilityBookings(facilityId: $f, date: "2026-12-03") { id } }`, map[string]any{"f": room}, &staff)
	if len(staff.FacilityBookings) != 1 {
		t.Fatalf("the agent's day: %+v", staff)
	}
}

// The demo has what the apps are shown: Harbour View's clubhouse, an
// activity with a full list and a waiting list, K Tower's meeting room,
// and a quoted air-conditioner cleaning.
func TestDemoBookings(t *testing.T) {
	s := sharedServer(t)
	chan_, ko := s.login(t, "resident.chan"), s.login(t, "tenant.ko")
	var hv, kt struct {
		Facilities []struct{ Code string }
	}
	chan_.must(`{ facilities { code } }`, nil, &hv)
	ko.must(`{ facilities { code } }`, nil, &kt)
	codes := func(fs []struct{ Code string }) string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Code)
		}
		return strings.Join(out, " ")
	}
	if codes(hv.Facilities) != "bbq-pit function-room tennis-court yoga" || codes(kt.Facilities) != "meeting-room" {
		t.Fatalf("facilities: HV %s, KT %s", codes(hv.Facilities), codes(kt.Facilities))
	}
	var acts struct {
		Activities []struct {
			Title                     string
			PlacesLeft, WaitingPlaces int
		}
	}
	chan_.must(`{ activities { title placesLeft waitingPlaces } }`, nil, &acts)
	if len(acts.Activities) == 0 || acts.Activities[0].PlacesLeft != 0 || acts.Activities[0].WaitingPlaces == 0 {
		t.Fatalf("activities %+v", acts)
	}
	var reqs struct {
		Requests struct {
			Edges []struct {
				Node struct {
					Number string
					Quote  *struct{ Payment string }
				}
			}
		}
	}
	ko.must(`{ requests(first: 100) { edges { node { number quote { payment } } } } }`, nil, &reqs)
	for _, e := range reqs.Requests.Edges {
		if e.Node.Number == "KT-DEMO-0001" && e.Node.Quote != nil && e.Node.Quote.Payment == "UNPAID" {
			return
		}
	}
	t.Fatal("no quoted air-conditioner cleaning in the demo")
}
