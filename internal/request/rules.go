package request

import (
	"slices"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

// Action is a lifecycle operation a person asks for.
type Action string

// The actions of the one-stop flow.
const (
	Accept   Action = "accept"
	Assign   Action = "assign"
	Start    Action = "start"
	Complete Action = "complete"
	Confirm  Action = "confirm"
	Reopen   Action = "reopen"
	Cancel   Action = "cancel"
	CallBack Action = "callback"
	Transfer Action = "transfer"
	SendBack Action = "send back"
	Claim    Action = "claim"
	Hold     Action = "hold"
	Resume   Action = "resume"
	Urge     Action = "urge"
	// CallBackReopen is a callback that found the customer unsatisfied
	// (satisfaction 1-2): unsatisfied means not done.
	CallBackReopen Action = "callback (unsatisfied)"
	// CallBackAttempt is a callback that did not reach the customer, or
	// that the customer declined.
	CallBackAttempt Action = "record a callback attempt on"
	AutoConfirm     Action = "auto-confirm"
	FollowUp        Action = "record the director's follow-up of"
	ReplyRating     Action = "reply to the rating of"
	// Close is the system closing a confirmed request once nothing more is
	// owed on it: no callback task open and no follow-up pending.
	Close Action = "close"
	// CallBackReached is a satisfied callback of a request that still owes
	// the director's follow-up: the call is recorded and the follow-up
	// closes the request.
	CallBackReached Action = "record the callback of"
	// HandOver moves a household's open requests to its new butler.
	HandOver Action = "hand over"
	// Message adds to the request's thread; it changes no status.
	Message Action = "write on"
	// Quote, AcceptQuote and RecordPayment are the price of a paid
	// request: they add to the timeline and move no status.
	Quote         Action = "quote"
	AcceptQuote   Action = "accept the quote of"
	RecordPayment Action = "record the payment of"

	// The system's own steps.

	// Route accepts a butler-mode household's new request for its butler.
	Route Action = "route"
	// AutoAssign sends an accepted request to a worker: the household's
	// butler, or the best free worker under an AUTO dispatch rule.
	AutoAssign Action = "auto-assign"
	// PlannedResume ends a hold at its planned time.
	PlannedResume Action = "resume at the planned time"
	// Release sends a leaver's open work back to the service center.
	Release Action = "release"
	// Warn, Breach and Escalate are the promise clock's rungs.
	Warn     Action = "warn"
	Breach   Action = "breach"
	Escalate Action = "escalate"
)

// Party is a part someone can play towards a request.
type Party uint8

// The parties. A person may play several at once (a staff member who is
// also the assignee, say).
const (
	// Household is the requester or any resident of the request's unit.
	Household Party = 1 << iota
	// Center is the service center of the request's property (an agent,
	// manager or director there) or a company admin.
	Center
	// Assignee is the staff member the request is assigned to.
	Assignee
	// StaffMember is anyone working at the request's property; claiming from
	// the grab pool further needs the pool's role.
	StaffMember
	// Director is the office director (管理處主任) of the request's
	// property, or a company admin.
	Director
	// System is the server itself (the scheduled jobs); no person plays it.
	System
)

// Transition is one row of the lifecycle table: an action, the statuses it
// may start from, the status it leads to (empty: it stays where it is, the
// step only adds to the timeline), and who may take it.
type Transition struct {
	Action Action
	From   []Status
	To     Status
	By     Party
	Event  EventType
}

// Transitions is the whole lifecycle. Every status change in the system goes
// through one of these rows; nothing else moves a request.
var Transitions = []Transition{
	{Accept, []Status{Submitted}, Accepted, Center, EvAccepted},
	{Assign, []Status{Accepted, Assigned}, Assigned, Center, EvAssigned},
	{Start, []Status{Assigned}, InProgress, Assignee, EvStarted},
	{Complete, []Status{InProgress}, Completed, Assignee, EvCompleted},
	{Confirm, []Status{Completed}, Confirmed, Household, EvConfirmed},
	// A customer who is not satisfied sends it back to the same worker.
	{Reopen, []Status{Completed}, Assigned, Household, EvReopened},
	// The customer may withdraw before work starts; the center may cancel
	// any open request, with a reason.
	{Cancel, []Status{Submitted, Accepted, Assigned}, Cancelled, Household, EvCancelled},
	{Cancel, []Status{Submitted, Accepted, Assigned, InProgress}, Cancelled, Center, EvCancelled},
	// Work the customer leaves unanswered is confirmed for them after the
	// configured number of days.
	{AutoConfirm, []Status{Completed}, Confirmed, System, EvAutoConfirmed},
	// The callback (回訪): a satisfied customer closes it, an unsatisfied
	// one sends it back to the same worker, a missed call is only noted.
	{CallBack, []Status{Confirmed}, Closed, Center, EvClosed},
	// A worker hands a job to a colleague, or back to the service center.
	{Transfer, []Status{Assigned, InProgress}, Assigned, Assignee | Center, EvTransferred},
	{SendBack, []Status{Assigned, InProgress}, Accepted, Assignee, EvSentBack},
	// The grab pool (搶單): the first eligible worker to claim it gets it.
	{Claim, []Status{Accepted}, Assigned, StaffMember, EvClaimed},
	// Waiting for parts or for the resident stops the promise clock.
	{Hold, []Status{Accepted, Assigned, InProgress}, "", Assignee | Center, EvOnHold},
	{Resume, []Status{Accepted, Assigned, InProgress}, "", Assignee | Center, EvResumed},
	// The customer chases an open request (催單).
	{Urge, []Status{Submitted, Accepted, Assigned, InProgress}, "", Household, EvUrged},
	{CallBackReopen, []Status{Confirmed}, Assigned, Center, EvReopened},
	{CallBackAttempt, []Status{Confirmed}, "", Center, EvCallbackAttempted},
	// A VIP household's director follow-up, owed from completion on.
	{FollowUp, []Status{Assigned, InProgress, Completed, Confirmed}, "", Director, EvFollowedUp},
	{ReplyRating, []Status{Assigned, InProgress, Completed, Confirmed, Closed}, "", Center | Assignee, EvRatingReplied},
	{Close, []Status{Confirmed}, Closed, System, EvClosed},
	{CallBackReached, []Status{Confirmed}, "", Center, EvCalledBack},
	// A household's new butler takes over its open work.
	{HandOver, []Status{Submitted, Accepted, Assigned, InProgress, Completed}, "", Center, EvHandedOver},
	// The thread between the household and the staff handling the request,
	// open for as long as the request is kept.
	{Message, []Status{Submitted, Accepted, Assigned, InProgress, Completed, Confirmed, Closed, Cancelled}, "",
		Household | Center | Assignee | StaffMember | Director, EvMessage},
	// A paid request is quoted and the quote accepted before work starts;
	// its payment is recorded at any point until it closes (a refund even
	// after).
	{Quote, []Status{Submitted, Accepted, Assigned}, "", Center, EvQuoted},
	{AcceptQuote, []Status{Submitted, Accepted, Assigned}, "", Household, EvQuoteAccepted},
	{RecordPayment, []Status{Accepted, Assigned, InProgress, Completed, Confirmed, Closed}, "", Center, EvPaymentRecorded},

	// The server's own steps: routing, automatic dispatch and the promise
	// clock. They obey the table like everyone else's.
	{Route, []Status{Submitted}, Accepted, System, EvAccepted},
	{AutoAssign, []Status{Accepted}, Assigned, System, EvAssigned},
	{PlannedResume, []Status{Accepted, Assigned, InProgress}, "", System, EvResumed},
	{Warn, []Status{Accepted, Assigned, InProgress}, "", System, EvWarned},
	{Breach, []Status{Accepted, Assigned, InProgress}, "", System, EvBreached},
	{Escalate, []Status{Accepted, Assigned, InProgress}, "", System, EvEscalated},
	// A worker who leaves the company hands their open jobs back.
	{Release, []Status{Assigned, InProgress}, Accepted, System, EvSentBack},
}

// PartiesOf returns every part the actor plays towards a request. In a
// butler-mode property the household's butler plays the service center for
// that household.
func PartiesOf(a *auth.Actor, r *Request) Party {
	var p Party
	if r.RequesterID == a.PersonID || a.LivesIn(r.UnitID) {
		p |= Household
	}
	if a.IsCenterAt(r.PropertyID) || (r.ButlerID != nil && *r.ButlerID == a.PersonID) {
		p |= Center
	}
	if _, ok := a.RoleAt(r.PropertyID); ok {
		p |= StaffMember
	}
	if r.AssigneeID != nil && *r.AssigneeID == a.PersonID {
		p |= Assignee
	}
	if a.Admin {
		p |= Director
	} else if role, ok := a.RoleAt(r.PropertyID); ok && role == person.Director {
		p |= Director
	}
	return p
}

// Decision is the outcome of asking the table for an action.
type Decision int

// The outcomes, in the order they are reported: a caller who may not take
// the action at all hears FORBIDDEN before hearing about the status.
const (
	Allowed Decision = iota
	NotAllowed
	WrongStatus
)

// Lookup finds the row for an action taken by the actor from the request's
// current status.
func Lookup(action Action, a *auth.Actor, r *Request) (Transition, Decision) {
	parties := PartiesOf(a, r)
	decision := NotAllowed
	for _, t := range Transitions {
		if t.Action != action || parties&t.By == 0 {
			continue
		}
		if slices.Contains(t.From, r.Status) {
			if t.To == "" {
				t.To = r.Status
			}
			return t, Allowed
		}
		decision = WrongStatus
	}
	return Transition{}, decision
}

// LookupSystem finds the row for a step the server takes on its own.
func LookupSystem(action Action, r *Request) (Transition, Decision) {
	decision := NotAllowed
	for _, t := range Transitions {
		if t.Action != action || t.By&System == 0 {
			continue
		}
		if slices.Contains(t.From, r.Status) {
			return t, Allowed
		}
		decision = WrongStatus
	}
	return Transition{}, decision
}

// Visible reports whether the actor may see a request (or an event with this
// audience). The same rule is written as SQL in the postgres store; a test
// holds the two together.
//   - an admin sees everything;
//   - a resident sees their household's requests and those they made;
//   - a butler sees the requests of the households in their portfolio;
//   - the service center (agent, manager, director) sees its property's;
//   - any staff member sees what is assigned to them or what they first
//     received (a butler, a technician, a guard a resident spoke to), and
//     what waits in their property's grab pool.
func Visible(a *auth.Actor, r Audience) bool {
	if a.Admin {
		return true
	}
	if r.RequesterID == a.PersonID || a.SharesHome(r.UnitID, r.RequesterID) || a.Serves(r.UnitID) {
		return true
	}
	if role, ok := a.RoleAt(r.PropertyID); ok && role.IsServiceCenter() {
		return true
	}
	if r.AssigneeID != nil && *r.AssigneeID == a.PersonID {
		return true
	}
	if _, staff := a.RoleAt(r.PropertyID); staff && r.Pooled {
		return true
	}
	return r.FirstResponderID != nil && *r.FirstResponderID == a.PersonID
}

// CanBeAssigned reports whether a staff role can be sent to do work.
func CanBeAssigned(r person.Role) bool {
	switch r {
	case person.Agent, person.Butler, person.Technician, person.Cleaner, person.Guard, person.Manager:
		return true
	}
	return false
}
