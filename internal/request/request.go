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
}

// Cursor is a position in the newest-first request list.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}
