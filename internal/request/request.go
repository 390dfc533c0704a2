// Package request is the one-stop service request: its lifecycle as a
// transition table, who may see and move it, and the event log that records
// every change.
package request

import (
	"encoding/json"
	"time"

	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
)

// Status is where a request stands in the one-stop flow.
type Status string

// The lifecycle, in the manual's order.
const (
	Submitted  Status = "SUBMITTED"
	Accepted   Status = "ACCEPTED"
	Assigned   Status = "ASSIGNED"
	InProgress Status = "IN_PROGRESS"
	Completed  Status = "COMPLETED"
	Confirmed  Status = "CONFIRMED"
	Closed     Status = "CLOSED"
	Cancelled  Status = "CANCELLED"
)

// Open reports whether work on the request is still owed.
func (s Status) Open() bool {
	switch s {
	case Closed, Cancelled, Confirmed:
		return false
	}
	return true
}

// Channel is how the request reached the company.
type Channel string

// The channels. APP is the resident's own phone; the others are staff
// recording what a customer told them.
const (
	App    Channel = "APP"
	Phone  Channel = "PHONE"
	WalkIn Channel = "WALK_IN"
	Visit  Channel = "VISIT"
	Staff  Channel = "STAFF"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	switch c {
	case App, Phone, WalkIn, Visit, Staff:
		return true
	}
	return false
}

// Audience is who a request (or one of its events) concerns; visibility is
// decided from it alone.
type Audience struct {
	PropertyID       string  `db:"property_id" json:"propertyId"`
	UnitID           string  `db:"unit_id" json:"unitId"`
	RequesterID      string  `db:"requester_id" json:"requesterId"`
	AssigneeID       *string `db:"assignee_id" json:"assigneeId,omitempty"`
	FirstResponderID *string `db:"first_responder_id" json:"firstResponderId,omitempty"`
	// Pooled requests wait in the grab pool, where the property's staff
	// see them until one claims them.
	Pooled bool `db:"pooled" json:"pooled,omitempty"`
}

// Request is one customer request.
type Request struct {
	ID              string     `db:"id"`
	Number          string     `db:"number"`
	CategoryID      string     `db:"category_id"`
	SubmittedBy     string     `db:"submitted_by"`
	ClientRequestID string     `db:"client_request_id"`
	Channel         Channel    `db:"channel"`
	Status          Status     `db:"status"`
	Description     string     `db:"description"`
	PreferredTime   *time.Time `db:"preferred_time"`
	PromisedAt      *time.Time `db:"promised_at"`
	Rating          *int       `db:"rating"`
	RatingComment   *string    `db:"rating_comment"`
	// Timeliness and attitude are the rating's optional detail (1-5 each);
	// Rating is the overall score.
	RatingTimeliness *int       `db:"rating_timeliness"`
	RatingAttitude   *int       `db:"rating_attitude"`
	RatingReply      *string    `db:"rating_reply"`
	RatingRepliedAt  *time.Time `db:"rating_replied_at"`
	RatingRepliedBy  *string    `db:"rating_replied_by"`
	// CompletedAt is when the work was last reported done; an unanswered
	// completion is auto-confirmed some days after it.
	CompletedAt  *time.Time `db:"completed_at"`
	CancelReason *string    `db:"cancel_reason"`
	// AppointmentAt and AppointmentUntil are the appointment a request
	// books (a guided visit): its promise is the appointment's end, not
	// the category's completion target.
	AppointmentAt    *time.Time `db:"appointment_at"`
	AppointmentUntil *time.Time `db:"appointment_until"`
	// Version grows with every change; an update that finds another
	// version than it read fails with CONFLICT instead of overwriting.
	Version   int       `db:"version"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
	Audience
	Clock
	Tally

	// ButlerID is the household's butler now, if the property runs in
	// butler mode; looked up for each change, not stored.
	ButlerID *string `db:"-"`
	// Related is what a screen's read brought along with the request, so
	// that the response does not look it up again; nil when the read did
	// not (a write's read, a batch look-up).
	Related *Related `db:"-" json:"-"`
}

// Related is a request's category and the people it names (requester,
// assignee, first-asker, the replier to its rating), read with it.
type Related struct {
	Category property.Category
	People   []person.Person
}

// Tally is the running count of what happened to a request that the KPIs
// chart. Each field changes in the same transaction as the event it counts,
// so a year of figures reads requests, not the event log.
type Tally struct {
	ConfirmedAt             *time.Time `db:"confirmed_at"`
	ReopenCount             int        `db:"reopen_count"`
	BreachCount             int        `db:"breach_count"`
	EscalationCount         int        `db:"escalation_count"`
	CallbackReached         bool       `db:"callback_reached"`
	CallbackSatisfactionSum int        `db:"callback_satisfaction_sum"`
	CallbackSatisfactionN   int        `db:"callback_satisfaction_n"`
}

// Clock is the promise clock of a request: when it was promised, when it is
// due now that time on hold is added, and how far up the escalation ladder
// it has gone.
type Clock struct {
	AcceptedAt *time.Time `db:"accepted_at"`
	// DueAt is PromisedAt plus the time spent on hold.
	DueAt *time.Time `db:"due_at"`
	// WarnAt is when the early warning fires.
	WarnAt          *time.Time `db:"warn_at"`
	OnHold          bool       `db:"on_hold"`
	HoldReason      *string    `db:"hold_reason"`
	HoldSince       *time.Time `db:"hold_since"`
	HoldUntil       *time.Time `db:"hold_until"`
	WarnedAt        *time.Time `db:"warned_at"`
	BreachedAt      *time.Time `db:"breached_at"`
	EscalationLevel int        `db:"escalation_level"`
	EscalatedAt     *time.Time `db:"escalated_at"`
	LastUrgedAt     *time.Time `db:"last_urged_at"`
	// FirstCompletedAt is when the work was first reported done, and
	// PromiseKept whether that was within the promise then in force.
	FirstCompletedAt *time.Time `db:"first_completed_at"`
	PromiseKept      *bool      `db:"promise_kept"`
}

// Running reports whether the promise clock is ticking: the request is
// promised, not yet done, and not on hold.
func (r *Request) Running() bool {
	return r.DueAt != nil && !r.OnHold && (r.Status == Accepted || r.Status == Assigned || r.Status == InProgress)
}

// EventType names what happened.
type EventType string

// The event types on a timeline.
const (
	EvSubmitted  EventType = "SUBMITTED"
	EvAccepted   EventType = "ACCEPTED"
	EvAssigned   EventType = "ASSIGNED"
	EvReassigned EventType = "REASSIGNED"
	EvStarted    EventType = "STARTED"
	EvCompleted  EventType = "COMPLETED"
	EvConfirmed  EventType = "CONFIRMED"
	EvReopened   EventType = "REOPENED"
	EvCancelled  EventType = "CANCELLED"
	EvClosed     EventType = "CLOSED"

	EvTransferred EventType = "TRANSFERRED"
	EvSentBack    EventType = "SENT_BACK"
	EvClaimed     EventType = "CLAIMED"
	EvHandedOver  EventType = "HANDED_OVER"
	EvOnHold      EventType = "ON_HOLD"
	EvResumed     EventType = "RESUMED"
	EvUrged       EventType = "URGED"
	EvWarned      EventType = "WARNED"
	EvBreached    EventType = "BREACHED"
	EvEscalated   EventType = "ESCALATED"
	// EvAutoConfirmed is the system confirming work the customer left
	// unanswered for the configured number of days.
	EvAutoConfirmed EventType = "AUTO_CONFIRMED"
	// EvCallbackAttempted is a callback that did not reach a satisfied
	// answer and changed no status (no answer, or declined).
	EvCallbackAttempted EventType = "CALLBACK_ATTEMPTED"
	// EvCalledBack is a satisfied callback of a request that still waits
	// for the director's follow-up.
	EvCalledBack EventType = "CALLED_BACK"
	// EvFollowedUp is the director's follow-up of a VIP household.
	EvFollowedUp EventType = "FOLLOWED_UP"
	// EvRatingReplied is staff answering the customer's rating.
	EvRatingReplied EventType = "RATING_REPLIED"
	// EvMessage is a message of the request's thread: its note is the text,
	// and Internal says it is for staff only.
	EvMessage EventType = "MESSAGE"
	// EvQuoted, EvQuoteAccepted and EvPaymentRecorded are the price of a
	// paid request: quoted by the center, accepted by the household, and
	// its payment (or waiver, or refund) recorded.
	EvQuoted          EventType = "QUOTED"
	EvQuoteAccepted   EventType = "QUOTE_ACCEPTED"
	EvPaymentRecorded EventType = "PAYMENT_RECORDED"
)

// Event is one row of a request's append-only log. Its ID grows with commit
// order, so clients use it as a resume cursor.
type Event struct {
	ID         int64           `db:"id" json:"id"`
	RequestID  string          `db:"request_id" json:"requestId"`
	Type       EventType       `db:"type" json:"type"`
	FromStatus *Status         `db:"from_status" json:"fromStatus,omitempty"`
	ToStatus   Status          `db:"to_status" json:"toStatus"`
	ActorID    *string         `db:"actor_id" json:"actorId,omitempty"`
	Note       *string         `db:"note" json:"note,omitempty"`
	Data       json.RawMessage `db:"data" json:"data,omitempty"`
	At         time.Time       `db:"at" json:"at"`
	// Internal events are for staff only; NoteInternal notes too (the
	// event itself may still be the household's to see). See sight.go.
	Internal     bool `db:"internal" json:"internal,omitempty"`
	NoteInternal bool `db:"note_internal" json:"noteInternal,omitempty"`
	Audience
}

// Filter narrows a request list.
type Filter struct {
	Statuses    []Status
	PropertyID  *string
	AssigneeID  *string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	// Pooled narrows to requests (not) waiting in the grab pool.
	Pooled *bool
	// FollowUpPending narrows to requests that do (not) owe a director's
	// follow-up: the director's queue.
	FollowUpPending *bool
	// The console's narrowing: what was asked for (category), where
	// (unit, building), who first heard it, and how it came in.
	CategoryID       *string
	UnitID           *string
	BuildingID       *string
	FirstResponderID *string
	Channels         []Channel
	// Breached narrows to requests whose promise in force was (not)
	// breached; Escalated to those the promise clock has (not) escalated;
	// OnHold to those (not) on hold.
	Breached  *bool
	Escalated *bool
	OnHold    *bool
	// Overdue narrows to requests whose promise clock runs and whose due
	// time has (not) passed at Now.
	Overdue *bool
	// Paid narrows to requests whose accepted quote is paid (true) or whose
	// quote is still owed (false); requests without a quote match neither.
	Paid *bool
	// Text narrows to requests whose number, description or a note the
	// viewer may read on their timeline contains it, in any language.
	Text *string
	// Sort is the order of the list; the zero value is newest first.
	Sort Sort
	// Now is the clock's time, which Overdue is judged at; List sets it.
	Now time.Time
}

// Sort is the order of a request list.
type Sort string

// The orders. ByCreated is newest first (the default); ByDue the earliest
// due time first, requests without a promise last; ByUrgency the most
// urgent first (see Urgency).
const (
	ByCreated Sort = "CREATED"
	ByDue     Sort = "DUE"
	ByUrgency Sort = "URGENCY"
)

// Valid reports whether s is a known order (the zero value is ByCreated).
func (s Sort) Valid() bool {
	switch s {
	case "", ByCreated, ByDue, ByUrgency:
		return true
	}
	return false
}

// Or returns s, or ByCreated for the zero value.
func (s Sort) Or() Sort {
	if s == "" {
		return ByCreated
	}
	return s
}

// Urgency ranks a request for the urgency order, most urgent (0) first:
// open work whose promise was breached or that was escalated; other open
// work (those past due first, as the order then goes by due time); work
// done and awaiting the household; and finished requests last. Within a
// rank, the earliest due time comes first, requests without one last.
func Urgency(r *Request) int {
	switch r.Status {
	case Submitted, Accepted, Assigned, InProgress:
		if r.BreachedAt != nil || r.EscalationLevel > 0 {
			return 0
		}
		return 1
	case Completed:
		return 2
	}
	return 3
}

// Cursor is a position in a request list: the sort key of the last row
// read. CreatedAt is the key of the newest-first order; Due (nil for no
// due time) and Rank those of the due and urgency orders.
type Cursor struct {
	Sort      Sort
	CreatedAt time.Time
	Due       *time.Time
	Rank      int
	ID        string
}

// CursorOf is the position just after r in a list in order s.
func CursorOf(s Sort, r *Request) Cursor {
	c := Cursor{Sort: s.Or(), ID: r.ID}
	switch c.Sort {
	case ByCreated:
		c.CreatedAt = r.CreatedAt
	case ByDue:
		c.Due = r.DueAt
	case ByUrgency:
		c.Due, c.Rank = r.DueAt, Urgency(r)
	}
	return c
}
