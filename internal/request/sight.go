package request

import (
	"strconv"

	"github.com/kproperty/onestop/internal/auth"
)

// Sight says who may read an event, or its note: everyone who may see the
// request (the household included), or its staff only.
type Sight string

// The two sights. A household never receives what is StaffOnly: not in the
// timeline, not in the message thread, not live.
const (
	Everyone  Sight = "PUBLIC"
	StaffOnly Sight = "INTERNAL"
)

// staffOnlyEvents are the event types written for colleagues: the household
// sees neither the event nor its note. A send-back is the worker handing
// the job to the service center; the promise clock's rungs, the callback's
// bookkeeping and the director's follow-up are the company's own affairs.
var staffOnlyEvents = map[EventType]bool{
	EvSentBack:          true,
	EvWarned:            true,
	EvBreached:          true,
	EvEscalated:         true,
	EvCallbackAttempted: true,
	EvCalledBack:        true,
	EvFollowedUp:        true,
}

// householdNotes are the event types whose note staff write for the
// household: what the service center says as it accepts the request (its
// promise), what was done, why it was cancelled, the answer to their
// rating. Every other note written by staff (an assignment's, a
// transfer's, a hold's, a callback's) is for colleagues. A note the
// household writes itself is always theirs to read.
var householdNotes = map[EventType]bool{
	EvAccepted:      true,
	EvCompleted:     true,
	EvCancelled:     true,
	EvRatingReplied: true,
	EvMessage:       true,
}

// sightOf settles an event's sight as it is recorded: the per-type rule,
// tightened (never loosened) by what the step set explicitly. byHousehold
// says the step was the household's own (its row is one the household
// takes), so its note is theirs.
func sightOf(e *Event, byHousehold bool) {
	if staffOnlyEvents[e.Type] {
		e.Internal = true
	}
	if e.Internal || (e.Note != nil && !byHousehold && !householdNotes[e.Type]) {
		e.NoteInternal = true
	}
	if e.Note == nil {
		e.NoteInternal = e.Internal
	}
}

// IDText is the event's id as clients read it: its place in the log, in
// decimal.
func (e Event) IDText() string { return strconv.FormatInt(e.ID, 10) }

// Visibility is who may read the event.
func (e Event) Visibility() Sight {
	if e.Internal {
		return StaffOnly
	}
	return Everyone
}

// NoteVisibility is who may read the event's note; nil when it has none.
func (e Event) NoteVisibility() *Sight {
	if e.Note == nil {
		return nil
	}
	s := Everyone
	if e.NoteInternal {
		s = StaffOnly
	}
	return &s
}

// SeesInternal reports whether the actor reads a request with the staff's
// eyes: an admin, the property's staff, the household's butler, or the
// worker or first-asker of the request. Anyone else who may see it (the
// household) reads only what is meant for them.
func SeesInternal(a *auth.Actor, r Audience) bool {
	if a.Admin || a.Serves(r.UnitID) {
		return true
	}
	if _, staff := a.RoleAt(r.PropertyID); staff {
		return true
	}
	return (r.AssigneeID != nil && *r.AssigneeID == a.PersonID) ||
		(r.FirstResponderID != nil && *r.FirstResponderID == a.PersonID)
}

// ViewOf is the event as the actor may read it, judged against the
// request's audience: staff read it whole; the household does not get a
// staff-only event at all (false), and gets a public event with a staff-only
// note without the note or its data.
func ViewOf(a *auth.Actor, r Audience, e Event) (Event, bool) {
	if SeesInternal(a, r) {
		return e, true
	}
	if e.Internal {
		return Event{}, false
	}
	if e.NoteInternal {
		e.Note, e.Data = nil, nil
	}
	return e, true
}

// ViewAll is ViewOf over a list, keeping the order.
func ViewAll(a *auth.Actor, r Audience, evs []Event) []Event {
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		if v, ok := ViewOf(a, r, e); ok {
			out = append(out, v)
		}
	}
	return out
}
