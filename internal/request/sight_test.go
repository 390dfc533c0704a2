package request

import (
	"testing"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

// Every event type, read by the household and by staff.
func TestSightOfEveryEventType(t *testing.T) {
	all := []EventType{EvSubmitted, EvAccepted, EvAssigned, EvReassigned, EvStarted, EvCompleted, EvConfirmed,
		EvReopened, EvCancelled, EvClosed, EvTransferred, EvSentBack, EvClaimed, EvHandedOver, EvOnHold, EvResumed,
		EvUrged, EvWarned, EvBreached, EvEscalated, EvAutoConfirmed, EvCallbackAttempted, EvCalledBack,
		EvFollowedUp, EvRatingReplied, EvMessage}
	aud := Audience{PropertyID: "p", UnitID: "u", RequesterID: "resident"}
	household := &auth.Actor{PersonID: "resident", Units: []string{"u"}}
	staff := &auth.Actor{PersonID: "agent", Staff: map[string]person.Role{"p": person.Agent}}
	note := "written by staff"
	for _, typ := range all {
		for _, byHousehold := range []bool{false, true} {
			e := Event{Type: typ, Note: &note, Audience: aud}
			sightOf(&e, byHousehold)
			if got, ok := ViewOf(staff, aud, e); !ok || got.Note == nil {
				t.Errorf("%s: staff read %+v, %v", typ, got, ok)
			}
			got, ok := ViewOf(household, aud, e)
			if ok != !staffOnlyEvents[typ] {
				t.Errorf("%s: household sees it %v", typ, ok)
			}
			wantNote := ok && (byHousehold || householdNotes[typ])
			if (got.Note != nil) != wantNote {
				t.Errorf("%s (by household %v): household reads the note %v, want %v", typ, byHousehold, got.Note != nil, wantNote)
			}
		}
	}
	// A note marked internal by its writer stays internal whoever the
	// type's rule would show it to.
	e := Event{Type: EvCompleted, Note: &note, Internal: true, Audience: aud}
	sightOf(&e, true)
	if _, ok := ViewOf(household, aud, e); ok {
		t.Error("an internal event reached the household")
	}
}
