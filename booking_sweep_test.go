package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// sweepBookings gives the sweep Harbour View's facility, a booking and a
// sign-up of Mr Lee's household, the demo activity, and a quoted paid
// request of his.
func sweepBookings(t *testing.T, s *testServer, w *sweepWorld) {
	t.Helper()
	lee, agent := s.login(t, "resident.lee"), s.login(t, "agent.wong")
	var fs struct{ Facilities []struct{ ID, Code string } }
	lee.must(`{ facilities { id code } }`, nil, &fs)
	for _, f := range fs.Facilities {
		if f.Code == "tennis-court" {
			w.facility = f.ID
		}
	}
	var b struct{ BookFacility struct{ ID string } }
	lee.must(bookMutation, map[string]any{"f": w.facility, "at": hkTime("2026-12-01 08:00")}, &b)
	w.booking = b.BookFacility.ID
	var acts struct {
		Activities []struct {
			ID      string
			SignUps []struct{ ID string }
		}
	}
	lee.must(`{ activities { id signUps { id } } }`, nil, &acts)
	w.activity, w.signUp = acts.Activities[0].ID, acts.Activities[0].SignUps[0].ID
	paid := lee.submit(lee.categoryID("HV", "aircon-wash"), "Sweep: a paid cleaning")
	agent.must(`mutation($id: ID!) { quoteRequest(id: $id, quantity: 1) { quantity } }`, map[string]any{"id": paid.ID}, nil)
	w.paid, w.visitCategory = paid.ID, lee.categoryID("HV", "guided-visit")
}

func facilityVars(w sweepWorld) map[string]any { return map[string]any{"f": w.facility} }

func init() {
	emptyList := func(field string) func(sweepWorld, json.RawMessage) bool {
		return func(_ sweepWorld, d json.RawMessage) bool { return strings.Contains(string(d), `"`+field+`":[]`) }
	}
	// The booking world is Mr Lee's household's (B-0805): the sweep's
	// neighbours from Harbour View are its owners and its staff here;
	// TestOtherHouseholdsAreRefused tries the real neighbours.
	const why = "the booking world belongs to B-0805; TestOtherHouseholdsAreRefused covers its neighbours"
	for name, c := range map[string]sweepCase{
		"Query.facilities":       {`query($p: ID) { facilities(propertyId: $p) { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, emptyList("facilities"), openToStaff | openToResidents, why},
		"Query.facilitySlots":    {`query($f: ID!) { facilitySlots(facilityId: $f, date: "2026-12-01") { taken } }`, facilityVars, nil, openToStaff | openToResidents, why},
		"Query.facilityBookings": {`query($f: ID!) { facilityBookings(facilityId: $f, date: "2026-12-01") { id } }`, facilityVars, nil, openToStaff | openToResidents, why},
		"Query.paymentFigures": {`query($p: ID) { paymentFigures(propertyId: $p, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z") { unpaid { requests } } }`,
			func(w sweepWorld) map[string]any { return map[string]any{"p": w.property} }, nil, openToStaff | openToResidents, why},
		"Mutation.closeFacility": {`mutation($f: ID!) { closeFacility(facilityId: $f, from: "2026-12-01T01:00:00Z", to: "2026-12-01T03:00:00Z", reason: "no") { reason } }`,
			facilityVars, nil, openToStaff | openToResidents, why},
		"Mutation.bookFacility":  {`mutation($f: ID!) { bookFacility(facilityId: $f, startsAt: "2026-12-01T01:00:00Z") { id } }`, facilityVars, nil, openToStaff | openToResidents, why},
		"Mutation.cancelBooking": {`mutation($id: ID!) { cancelBooking(id: $id) { id } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.booking} }, nil, openToStaff | openToResidents, why},
		"Mutation.checkInBooking": {`mutation($id: ID!) { checkInBooking(id: $id, attended: false) { id } }`,
			func(w sweepWorld) map[string]any { return map[string]any{"id": w.booking} }, nil, openToStaff | openToResidents, why},
		"Mutation.signUpForActivity": {`mutation($a: ID!) { signUpForActivity(activityId: $a) { id } }`,
			func(w sweepWorld) map[string]any { return map[string]any{"a": w.activity} }, nil, openToStaff | openToResidents, why},
		"Mutation.cancelActivitySignUp": {`mutation($id: ID!) { cancelActivitySignUp(id: $id) { id } }`,
			func(w sweepWorld) map[string]any { return map[string]any{"id": w.signUp} }, nil, openToStaff | openToResidents, why},
		"Mutation.checkInActivity": {`mutation($id: ID!) { checkInActivity(id: $id, attended: 1) { id } }`,
			func(w sweepWorld) map[string]any { return map[string]any{"id": w.signUp} }, nil, openToStaff | openToResidents, why},
		"Mutation.bookGuidedVisit": {`mutation($in: BookGuidedVisitInput!) { bookGuidedVisit(input: $in) { id } }`, func(w sweepWorld) map[string]any {
			return map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": w.visitCategory,
				"startsAt": "2026-12-01T06:00:00Z", "partySize": 2, "kind": "VISIT", "unitId": w.unit}}
		}, nil, openToStaff | openToResidents, why},
		"Mutation.quoteRequest":  {`mutation($id: ID!) { quoteRequest(id: $id, quantity: 3) { quantity } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.paid} }, nil, openToStaff | openToResidents, why},
		"Mutation.acceptQuote":   {`mutation($id: ID!) { acceptQuote(id: $id) { acceptedAt } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.paid} }, nil, openToStaff | openToResidents, why},
		"Mutation.recordPayment": {`mutation($id: ID!) { recordPayment(id: $id, payment: WAIVED) { payment } }`, func(w sweepWorld) map[string]any { return map[string]any{"id": w.paid} }, nil, openToStaff | openToResidents, why},
	} {
		sweepCases[name] = c
	}
	// A guided visit for a household of Harbour View is refused as one for
	// a household that does not exist: the caller does not live there.
	sameAsMissing["Mutation.bookGuidedVisit"] = func(w sweepWorld) map[string]any {
		return map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": w.visitCategory,
			"startsAt": "2026-12-01T06:00:00Z", "partySize": 2, "kind": "VISIT", "unitId": uuid.NewString()}}
	}
}
