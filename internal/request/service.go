package request

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/promise"
	"github.com/kproperty/onestop/internal/property"
)

// ErrStale is returned when a request changed between being read and being
// written: someone else moved it first.
var ErrStale = apperr.New(apperr.Conflict, "the request was changed by someone else; reload it and try again")

// errDuplicate rolls back a submission that lost a race with its own retry.
var errDuplicate = errors.New("duplicate client request id")

// Store is the storage the request service needs.
type Store interface {
	// InTx runs fn in one transaction, committing if fn returns nil.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Visible returns a request the actor may see, or apperr.ErrNotFound.
	Visible(ctx context.Context, a *auth.Actor, id string) (*Request, error)
	// VisibleMany returns those of the requests the actor may see.
	VisibleMany(ctx context.Context, a *auth.Actor, ids []string) ([]*Request, error)
	// List returns up to limit requests the actor may see, newest first,
	// after the cursor.
	List(ctx context.Context, a *auth.Actor, f Filter, limit int, after *Cursor) ([]*Request, error)
	// EventsOf returns the events of the given requests in id order.
	EventsOf(ctx context.Context, requestIDs []string) ([]Event, error)
	// ByClientID finds a submission by its submitter and phone-made id.
	ByClientID(ctx context.Context, submittedBy, clientID string) (*Request, error)
	// CallbackQueue returns up to limit open callback tasks of the given
	// properties (all when nil), due first, after the cursor.
	CallbackQueue(ctx context.Context, propertyIDs []string, limit int, after *TaskCursor) ([]*CallbackTask, error)
	// PendingFollowUps returns which of the requests owe a director's
	// follow-up.
	PendingFollowUps(ctx context.Context, requestIDs []string) (map[string]bool, error)
}

// Tx is the storage available inside one transaction.
type Tx interface {
	Request(ctx context.Context, id string) (*Request, error)
	ByClientID(ctx context.Context, submittedBy, clientID string) (*Request, error)
	Unit(ctx context.Context, id string) (*property.Unit, error)
	Property(ctx context.Context, id string) (*property.Property, error)
	Category(ctx context.Context, id string) (*property.Category, error)
	// UnitsOf lists the households a resident belongs to.
	UnitsOf(ctx context.Context, personID string) ([]string, error)
	StaffRoleAt(ctx context.Context, personID, propertyID string) (person.Role, bool, error)
	// NextSequence hands out the next number of a property's local day.
	NextSequence(ctx context.Context, propertyID string, day time.Time) (int, error)
	// Insert stores a new request; it reports false when the submitter
	// already used the client request id.
	Insert(ctx context.Context, r *Request) (bool, error)
	// Update writes r if its stored version is still r.Version, then bumps
	// r.Version; otherwise it returns ErrStale.
	Update(ctx context.Context, r *Request) error
	// AppendEvent stores ev and sets its id.
	AppendEvent(ctx context.Context, ev *Event) error
	AddCallback(ctx context.Context, c Callback) error

	// CurrentButler returns the household's butler at a time, if any.
	CurrentButler(ctx context.Context, unitID string, at time.Time) (*string, error)
	// StaffWithRole lists the people holding one of the roles at a property.
	StaffWithRole(ctx context.Context, propertyID string, roles ...person.Role) ([]string, error)
	// PromiseSettings returns a property's promise clock rules.
	PromiseSettings(ctx context.Context, propertyID string) (property.PromiseSettings, error)
	// DispatchRule returns the rule for a category at a property.
	DispatchRule(ctx context.Context, propertyID, categoryID string) (dispatch.Rule, error)
	// PickWorker chooses the worker for automatic dispatch, or nil.
	PickWorker(ctx context.Context, r *Request, rule dispatch.Rule, skill *string) (*string, error)
	// SetAvailability sets a person's availability at every property;
	// with onlyIf, only where it currently is that.
	SetAvailability(ctx context.Context, personID string, a dispatch.Availability, onlyIf *dispatch.Availability) error
	// FreeIfIdle makes a BUSY person AVAILABLE when no job of theirs is
	// in progress.
	FreeIfIdle(ctx context.Context, personID string) error
	// Notify stores notifications.
	Notify(ctx context.Context, ns []notification.Notification) error
	// Due locks up to limit requests whose promise clock has reached the
	// given step, skipping rows other instances hold.
	Due(ctx context.Context, step ClockStep, now time.Time, limit int) ([]*Request, error)
	// OpenRequestsOfUnit locks the household's requests that are not done.
	OpenRequestsOfUnit(ctx context.Context, unitID string) ([]*Request, error)
	// HandOverPortfolio ends the household's current butler assignment at
	// from and starts the new butler's, returning the previous butler.
	HandOverPortfolio(ctx context.Context, unitID, butlerID, by string, from time.Time) (*string, error)
	AddVisit(ctx context.Context, v ButlerVisit) error
	// OpenTask returns the request's open callback task, or nil.
	OpenTask(ctx context.Context, requestID string) (*CallbackTask, error)
	InsertTask(ctx context.Context, t *CallbackTask) error
	UpdateTask(ctx context.Context, t *CallbackTask) error
	// OpenFollowUp makes the request's pending director follow-up, unless
	// one is already pending.
	OpenFollowUp(ctx context.Context, requestID string, at time.Time) error
	// FollowUpPending reports whether a director follow-up is owed.
	FollowUpPending(ctx context.Context, requestID string) (bool, error)
	// DoFollowUp records the pending follow-up as done; false when none
	// was pending.
	DoFollowUp(ctx context.Context, requestID, directorID string, note *string, at time.Time) (bool, error)
	// ClaimUnanswered locks up to limit completed requests whose work was
	// done at or before cutoff, skipping any another instance holds.
	ClaimUnanswered(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
}

// Publisher hears about events once their transaction has committed.
type Publisher interface {
	Publish(ctx context.Context, events []Event)
}

// Service runs the one-stop flow.
type Service struct {
	store Store
	clock clock.Clock
	pub   Publisher
	log   *slog.Logger
	cfg   Config
}

// Config holds the callback rules a company may tune.
type Config struct {
	// AutoConfirmAfter is how long completed work may wait for the
	// customer's answer before the system confirms it.
	AutoConfirmAfter time.Duration
	// CallbackDue is how soon after confirmation the callback is due.
	CallbackDue time.Duration
	// MaxCallbackAttempts is how many failed attempts close a callback
	// task as unreachable.
	MaxCallbackAttempts int
}

// DefaultConfig is three days to answer, a callback within a day, and three
// tries to reach the customer.
var DefaultConfig = Config{AutoConfirmAfter: 72 * time.Hour, CallbackDue: 24 * time.Hour, MaxCallbackAttempts: 3}

// NewService returns a request service with DefaultConfig. pub may be nil.
func NewService(store Store, clk clock.Clock, pub Publisher, log *slog.Logger) *Service {
	return &Service{store: store, clock: clk, pub: pub, log: log, cfg: DefaultConfig}
}

// Configure replaces the callback rules; zero fields keep their defaults.
func (s *Service) Configure(c Config) {
	if c.AutoConfirmAfter > 0 {
		s.cfg.AutoConfirmAfter = c.AutoConfirmAfter
	}
	if c.CallbackDue > 0 {
		s.cfg.CallbackDue = c.CallbackDue
	}
	if c.MaxCallbackAttempts > 0 {
		s.cfg.MaxCallbackAttempts = c.MaxCallbackAttempts
	}
}

// now reads the clock at the precision PostgreSQL keeps, so that what a
// mutation returns equals what a later read returns.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// SetPublisher replaces the post-commit publisher.
func (s *Service) SetPublisher(p Publisher) { s.pub = p }

// SubmitInput is a new request as a phone or a staff member sends it.
type SubmitInput struct {
	ClientRequestID string
	CategoryID      string
	Description     string
	UnitID          *string
	PreferredTime   *time.Time
	OnBehalfOf      *string
	Channel         *Channel
}

const maxText = 2000

func text(field, v string, required bool) (*string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return nil, apperr.Invalid(field, "%s is required", field)
		}
		return nil, nil
	}
	if utf8.RuneCountInString(v) > maxText {
		return nil, apperr.Invalid(field, "%s is longer than %d characters", field, maxText)
	}
	return &v, nil
}

func optText(field string, v *string) (*string, error) {
	if v == nil {
		return nil, nil
	}
	return text(field, *v, false)
}

// Submit records a new request. A retry with the same clientRequestId by the
// same submitter returns the original and creates nothing.
func (s *Service) Submit(ctx context.Context, a *auth.Actor, in SubmitInput) (*Request, error) {
	if _, err := uuid.Parse(in.ClientRequestID); err != nil {
		return nil, apperr.Invalid("clientRequestId", "clientRequestId must be a UUID")
	}
	if err := checkIDs(map[string]*string{"categoryId": &in.CategoryID, "unitId": in.UnitID, "onBehalfOfResidentId": in.OnBehalfOf}); err != nil {
		return nil, err
	}
	desc, err := text("description", in.Description, true)
	if err != nil {
		return nil, err
	}
	now := s.now()
	// A little slack lets a phone whose clock runs behind still say "now".
	if in.PreferredTime != nil && in.PreferredTime.Before(now.Add(-5*time.Minute)) {
		return nil, apperr.Invalid("preferredTime", "preferredTime is in the past")
	}
	var created *Request
	var events []Event
	err = s.store.InTx(ctx, func(tx Tx) error {
		if prior, err := tx.ByClientID(ctx, a.PersonID, in.ClientRequestID); err == nil {
			created = prior
			return sameSubmission(prior, in, *desc)
		} else if apperr.CodeOf(err) != apperr.NotFound {
			return err
		}
		r := &Request{
			ClientRequestID: in.ClientRequestID,
			SubmittedBy:     a.PersonID,
			Description:     *desc,
			PreferredTime:   in.PreferredTime,
			CategoryID:      in.CategoryID,
			Status:          Submitted,
			Version:         1,
			CreatedAt:       now,
			UpdatedAt:       now,
		}
		units, err := s.requester(ctx, tx, a, in, r)
		if err != nil {
			return err
		}
		unit, err := pickUnit(ctx, tx, units, in.UnitID)
		if err != nil {
			return err
		}
		r.UnitID, r.PropertyID = unit.ID, unit.PropertyID
		if r.Channel != App && !a.Admin {
			if _, ok := a.RoleAt(unit.PropertyID); !ok {
				return apperr.New(apperr.Forbidden, "you do not work at this resident's property")
			}
		}
		cat, err := tx.Category(ctx, in.CategoryID)
		if apperr.CodeOf(err) == apperr.NotFound || (err == nil && (cat.PropertyID != unit.PropertyID || !cat.Active)) {
			return apperr.Invalid("categoryId", "no such service category at this property")
		} else if err != nil {
			return err
		}
		prop, err := tx.Property(ctx, unit.PropertyID)
		if err != nil {
			return err
		}
		day := now.In(prop.Location())
		seq, err := tx.NextSequence(ctx, prop.ID, day)
		if err != nil {
			return err
		}
		r.Number = fmt.Sprintf("%s-%s-%04d", prop.Code, day.Format("20060102"), seq)
		c := &change{ev: &Event{Type: EvSubmitted, ToStatus: Submitted,
			Data: mustJSON(map[string]any{"channel": r.Channel, "number": r.Number})}}
		if err := s.routeNew(ctx, tx, r, prop, c, now); err != nil {
			return err
		}
		inserted, err := tx.Insert(ctx, r)
		if err != nil {
			return err
		}
		if !inserted {
			return errDuplicate
		}
		evs, err := s.record(ctx, tx, r, c, &a.PersonID, now)
		if err != nil {
			return err
		}
		created, events = r, evs
		return nil
	})
	if errors.Is(err, errDuplicate) {
		// The retry raced the original and lost; the original is committed.
		prior, err := s.store.ByClientID(ctx, a.PersonID, in.ClientRequestID)
		if err != nil {
			return nil, err
		}
		return prior, sameSubmission(prior, in, *desc)
	}
	if err != nil {
		return nil, err
	}
	s.publish(ctx, events)
	return created, nil
}

// routeNew decides where a new request goes. In a butler-mode property a
// household with a butler has its request accepted in the butler's name at
// once, with the category's default promise, and assigned to them: they are
// its owner (and its first-asker, unless a colleague heard it first) and
// may do it or dispatch it onward. Everyone else's goes to the service
// center, which hears of it.
func (s *Service) routeNew(ctx context.Context, tx Tx, r *Request, prop *property.Property, c *change, now time.Time) error {
	if prop.ServiceMode == property.ButlerMode {
		butler, err := tx.CurrentButler(ctx, r.UnitID, now)
		if err != nil {
			return err
		}
		if butler != nil {
			if r.FirstResponderID == nil {
				r.FirstResponderID = butler
			}
			r.AcceptedAt = &now
			if err := s.promise(ctx, tx, r, nil, now); err != nil {
				return err
			}
			r.AssigneeID, r.Status = butler, Assigned
			note := "butler mode: accepted for the household's butler"
			c.also(Event{Type: EvAccepted, FromStatus: ptrStatus(Submitted), ToStatus: Accepted, ActorID: butler, Note: &note,
				Data: mustJSON(map[string]any{"promisedAt": r.PromisedAt, "butlerMode": true})})
			c.also(Event{Type: EvAssigned, FromStatus: ptrStatus(Accepted), ToStatus: Assigned, ActorID: butler,
				Data: mustJSON(map[string]any{"assigneeId": *butler, "butlerMode": true})})
			// The events are in the butler's name, so they would not
			// hear of them: tell them their household asked.
			c.notify(notification.Assigned, "Your household asked: "+r.Number, *butler)
			return nil
		}
	}
	center, err := tx.StaffWithRole(ctx, r.PropertyID, person.Agent)
	if err != nil {
		return err
	}
	c.notify(notification.StatusChanged, "New request "+r.Number, center...)
	return nil
}

// sameSubmission refuses a reused clientRequestId that carries a different
// request: the phone has a bug, and silently answering with another request
// would hide it.
func sameSubmission(prior *Request, in SubmitInput, desc string) error {
	if prior.CategoryID != in.CategoryID || prior.Description != desc {
		return apperr.New(apperr.Conflict, "clientRequestId %s was already used for request %s", in.ClientRequestID, prior.Number)
	}
	return nil
}

// requester settles who the request is for, its channel and its first-asker,
// and returns the households it may be about.
func (s *Service) requester(ctx context.Context, tx Tx, a *auth.Actor, in SubmitInput, r *Request) ([]string, error) {
	if in.OnBehalfOf == nil {
		if len(a.Units) == 0 {
			return nil, apperr.Invalid("onBehalfOfResidentId", "staff submit requests on a resident's behalf: give onBehalfOfResidentId")
		}
		if in.Channel != nil && *in.Channel != App {
			return nil, apperr.Invalid("channel", "a resident's own request comes through the APP channel")
		}
		r.RequesterID, r.Channel = a.PersonID, App
		return a.Units, nil
	}
	if !a.IsStaff() && !a.Admin {
		return nil, apperr.New(apperr.Forbidden, "only staff submit on a resident's behalf")
	}
	r.Channel = Phone
	if in.Channel != nil {
		if !in.Channel.Valid() || *in.Channel == App {
			return nil, apperr.Invalid("channel", "staff record a PHONE, WALK_IN, VISIT or STAFF request")
		}
		r.Channel = *in.Channel
	}
	units, err := tx.UnitsOf(ctx, *in.OnBehalfOf)
	if err != nil {
		return nil, err
	}
	if len(units) == 0 {
		return nil, apperr.Invalid("onBehalfOfResidentId", "no such resident")
	}
	// First-ask responsibility: whoever heard the customer owns following
	// it, through every reassignment.
	r.RequesterID, r.FirstResponderID = *in.OnBehalfOf, &a.PersonID
	return units, nil
}

func pickUnit(ctx context.Context, tx Tx, units []string, want *string) (*property.Unit, error) {
	id := ""
	switch {
	case want != nil:
		for _, u := range units {
			if u == *want {
				id = u
			}
		}
		if id == "" {
			return nil, apperr.Invalid("unitId", "the resident does not live in this unit")
		}
	case len(units) == 1:
		id = units[0]
	default:
		return nil, apperr.Invalid("unitId", "the resident has several units: say which one")
	}
	return tx.Unit(ctx, id)
}

// Get returns a request the actor may see.
func (s *Service) Get(ctx context.Context, a *auth.Actor, id string) (*Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, apperr.ErrNotFound
	}
	return s.store.Visible(ctx, a, id)
}

// GetMany returns, by id, those of the requests the actor may see; the
// others are simply absent.
func (s *Service) GetMany(ctx context.Context, a *auth.Actor, ids []string) (map[string]*Request, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	rows, err := s.store.VisibleMany(ctx, a, valid)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Request, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// MaxPage is the most items any list answers at once.
const MaxPage = 100

// List returns one page of the requests the actor may see, newest first,
// and whether more follow.
func (s *Service) List(ctx context.Context, a *auth.Actor, f Filter, first int, after *Cursor) ([]*Request, bool, error) {
	if first < 0 || first > MaxPage {
		return nil, false, apperr.Invalid("first", "first must be between 0 and %d", MaxPage)
	}
	if err := checkIDs(map[string]*string{"filter.propertyId": f.PropertyID, "filter.assigneeId": f.AssigneeID}); err != nil {
		return nil, false, err
	}
	for _, st := range f.Statuses {
		if !validStatus(st) {
			return nil, false, apperr.Invalid("filter.status", "unknown status %q", st)
		}
	}
	rows, err := s.store.List(ctx, a, f, first+1, after)
	if err != nil {
		return nil, false, err
	}
	if len(rows) > first {
		return rows[:first], true, nil
	}
	return rows, false, nil
}

func validStatus(s Status) bool {
	switch s {
	case Submitted, Accepted, Assigned, InProgress, Completed, Confirmed, Closed, Cancelled:
		return true
	}
	return false
}

// PendingFollowUps reports, for requests already known to be visible, which
// owe a director's follow-up.
func (s *Service) PendingFollowUps(ctx context.Context, ids []string) (map[string]bool, error) {
	return s.store.PendingFollowUps(ctx, ids)
}

// Timelines returns the events of requests already known to be visible,
// grouped by request id.
func (s *Service) Timelines(ctx context.Context, ids []string) (map[string][]Event, error) {
	evs, err := s.store.EventsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Event, len(ids))
	for _, e := range evs {
		out[e.RequestID] = append(out[e.RequestID], e)
	}
	return out, nil
}

// Accept takes a submitted request into the service center's hands with a
// promise of when it will be done; without one, the category's completion
// target sets it. An app submission gets its first-asker here: the
// accepting agent. The property's dispatch rule then sends it on: to the
// best free worker (AUTO), into the grab pool (POOL), or nowhere (MANUAL).
func (s *Service) Accept(ctx context.Context, a *auth.Actor, id string, promisedAt *time.Time, note *string) (*Request, error) {
	n, err := optText("note", note)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if promisedAt != nil && !promisedAt.After(now) {
		return nil, apperr.Invalid("promisedAt", "promisedAt must be in the future")
	}
	return s.move(ctx, a, id, Accept, func(tx Tx, r *Request, c *change) error {
		if r.FirstResponderID == nil {
			r.FirstResponderID = &a.PersonID
		}
		c.ev.Note = n
		r.AcceptedAt = &now
		if err := s.promise(ctx, tx, r, promisedAt, now); err != nil {
			return err
		}
		return s.dispatch(ctx, tx, r, c)
	})
}

// promise starts the promise clock: on acceptance, or again when the
// customer sends the work back.
func (s *Service) promise(ctx context.Context, tx Tx, r *Request, promisedAt *time.Time, now time.Time) error {
	settings, err := tx.PromiseSettings(ctx, r.PropertyID)
	if err != nil {
		return err
	}
	if promisedAt == nil {
		cat, err := tx.Category(ctx, r.CategoryID)
		if err != nil {
			return err
		}
		prop, err := tx.Property(ctx, r.PropertyID)
		if err != nil {
			return err
		}
		due := promise.Due(now, cat.TargetMinutes, cat.BusinessHoursOnly, promise.Hours{
			Open: settings.Open, Close: settings.Close, Days: settings.Days, Loc: prop.Location()})
		// A promise is told to a person: to the next whole minute.
		if r := due.Truncate(time.Minute); !r.Equal(due) {
			due = r.Add(time.Minute)
		}
		promisedAt = &due
	}
	p := promisedAt.UTC()
	warn := promise.WarnAt(now, p, settings.WarnFraction)
	r.PromisedAt, r.DueAt, r.WarnAt = &p, &p, &warn
	return nil
}

// dispatch applies the property's rule to a freshly accepted request.
func (s *Service) dispatch(ctx context.Context, tx Tx, r *Request, c *change) error {
	rule, err := tx.DispatchRule(ctx, r.PropertyID, r.CategoryID)
	if err != nil {
		return err
	}
	data := map[string]any{"promisedAt": r.PromisedAt, "dispatch": rule.Mode}
	c.ev.Data = mustJSON(data)
	switch rule.Mode {
	case dispatch.Auto:
		cat, err := tx.Category(ctx, r.CategoryID)
		if err != nil {
			return err
		}
		worker, err := tx.PickWorker(ctx, r, rule, cat.Skill)
		if err != nil || worker == nil {
			// Nobody eligible is free: the center dispatches by hand.
			return err
		}
		r.AssigneeID, r.Status = worker, Assigned
		c.also(Event{Type: EvAssigned, FromStatus: ptrStatus(Accepted), ToStatus: Assigned,
			Data: mustJSON(map[string]any{"assigneeId": *worker, "auto": true})})
	case dispatch.Pool:
		r.Pooled = true
		eligible, err := tx.StaffWithRole(ctx, r.PropertyID, rule.Role)
		if err != nil {
			return err
		}
		c.notify(notification.Pool, "New job in the pool", eligible...)
	}
	return nil
}

func ptrStatus(s Status) *Status { return &s }

// Assign dispatches a request to a staff member of its property, or
// reassigns it.
func (s *Service) Assign(ctx context.Context, a *auth.Actor, id, assigneeID string, note *string) (*Request, error) {
	n, err := optText("note", note)
	if err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(assigneeID); err != nil {
		return nil, apperr.Invalid("assigneeId", "no such staff member")
	}
	return s.move(ctx, a, id, Assign, func(tx Tx, r *Request, c *change) error {
		if err := s.reassign(ctx, tx, r, c, assigneeID, "assigneeId"); err != nil {
			return err
		}
		if *c.ev.FromStatus == Assigned {
			c.ev.Type = EvReassigned
		}
		c.ev.Note = n
		return nil
	})
}

// Start records that the assignee began the work.
func (s *Service) Start(ctx context.Context, a *auth.Actor, id string, note *string) (*Request, error) {
	n, err := optText("note", note)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, a, id, Start, func(tx Tx, r *Request, c *change) error {
		if r.OnHold {
			return apperr.New(apperr.Conflict, "the request is on hold: resume it first")
		}
		c.ev.Note = n
		busy := dispatch.Busy
		return tx.SetAvailability(ctx, a.PersonID, busy, ptrAvail(dispatch.Available))
	})
}

// Complete records that the work is done; the customer is asked to confirm.
func (s *Service) Complete(ctx context.Context, a *auth.Actor, id, note string) (*Request, error) {
	n, err := text("note", note, true)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, a, id, Complete, func(tx Tx, r *Request, c *change) error {
		c.ev.Note = n
		r.OnHold, r.HoldReason, r.HoldSince, r.HoldUntil = false, nil, nil, nil
		c.freed = append(c.freed, a.PersonID)
		r.CompletedAt = &c.ev.At
		if r.FirstCompletedAt == nil {
			r.FirstCompletedAt = &c.ev.At
			if r.DueAt != nil {
				kept := !c.ev.At.After(*r.DueAt)
				r.PromiseKept = &kept
			}
		}
		// A special (VIP) household hears from the director after the
		// work is done; the request cannot close until that is recorded.
		unit, err := tx.Unit(ctx, r.UnitID)
		if err != nil {
			return err
		}
		if unit.VIP {
			c.ev.Data = mustJSON(map[string]any{"followUpRequired": true})
			return tx.OpenFollowUp(ctx, r.ID, c.ev.At)
		}
		return nil
	})
}

// Rating is the customer's score of the work: overall (required) and,
// optionally, timeliness and attitude, each 1-5.
type Rating struct {
	Overall    *int
	Timeliness *int
	Attitude   *int
}

// Confirm is the customer's answer to completed work: satisfied with a
// rating closes the work, not satisfied sends it back to the same worker.
// Confirmation creates the callback task the category's policy asks for.
func (s *Service) Confirm(ctx context.Context, a *auth.Actor, id string, satisfied bool, rating Rating, comment *string) (*Request, error) {
	if !satisfied {
		c, err := text("comment", deref(comment), true)
		if err != nil {
			return nil, apperr.Invalid("comment", "say what is still wrong so the worker can put it right")
		}
		if rating.Overall != nil || rating.Timeliness != nil || rating.Attitude != nil {
			return nil, apperr.Invalid("rating", "a rating is given when the work is accepted")
		}
		return s.move(ctx, a, id, Reopen, func(tx Tx, r *Request, ch *change) error {
			ch.ev.Note = c
			return s.reopen(ctx, tx, r, ch, map[string]any{"by": "RESIDENT"})
		})
	}
	if rating.Overall == nil || *rating.Overall < 1 || *rating.Overall > 5 {
		return nil, apperr.Invalid("rating", "rating must be from 1 to 5")
	}
	for field, v := range map[string]*int{"timeliness": rating.Timeliness, "attitude": rating.Attitude} {
		if v != nil && (*v < 1 || *v > 5) {
			return nil, apperr.Invalid(field, "%s must be from 1 to 5", field)
		}
	}
	c, err := optText("comment", comment)
	if err != nil {
		return nil, err
	}
	return s.moveThen(ctx, a, id, Confirm, func(_ Tx, r *Request, ch *change) error {
		confirmed(r, ch.ev.At)
		r.Rating, r.RatingComment = rating.Overall, c
		r.RatingTimeliness, r.RatingAttitude = rating.Timeliness, rating.Attitude
		ch.ev.Note = c
		data := map[string]any{"rating": *rating.Overall}
		if rating.Timeliness != nil {
			data["timeliness"] = *rating.Timeliness
		}
		if rating.Attitude != nil {
			data["attitude"] = *rating.Attitude
		}
		ch.ev.Data = mustJSON(data)
		return nil
	}, func(tx Tx, r *Request, now time.Time) ([]Event, error) {
		return s.afterConfirm(ctx, tx, r, EvConfirmed, now)
	})
}

// Cancel withdraws a request: the customer before work starts, the service
// center at any point while it is open.
func (s *Service) Cancel(ctx context.Context, a *auth.Actor, id, reason string) (*Request, error) {
	why, err := text("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, a, id, Cancel, func(_ Tx, r *Request, c *change) error {
		r.CancelReason, r.Pooled = why, false
		c.ev.Note = why
		if r.AssigneeID != nil {
			c.freed = append(c.freed, *r.AssigneeID)
		}
		return nil
	})
}

// change is what one step does beyond the request row: its main event,
// any events that follow from it in the same step (an automatic dispatch
// after acceptance), the notifications they cause, and the workers it frees.
type change struct {
	ev     *Event
	extra  []Event
	notes  []notification.Notification
	freed  []string
	silent bool
}

func (c *change) also(ev Event) { c.extra = append(c.extra, ev) }

// notify queues a notification about the request for each person.
func (c *change) notify(kind notification.Kind, title string, people ...string) {
	for _, p := range people {
		c.notes = append(c.notes, notification.Notification{PersonID: p, Kind: kind, Title: title})
	}
}

// move is the single path by which a person changes a request: it reads the
// request, asks the transition table, lets apply fill in the details, writes
// the request, its events and their notifications in one transaction, and
// publishes after commit.
func (s *Service) move(ctx context.Context, a *auth.Actor, id string, action Action, apply func(Tx, *Request, *change) error) (*Request, error) {
	return s.moveThen(ctx, a, id, action, apply, nil)
}

// moveThen is move with a follow-on step: then runs in the same
// transaction after the change is written, and may take further steps
// (close the request, say), returning their events.
func (s *Service) moveThen(ctx context.Context, a *auth.Actor, id string, action Action, apply func(Tx, *Request, *change) error,
	then func(Tx, *Request, time.Time) ([]Event, error)) (*Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, apperr.ErrNotFound
	}
	now := s.now()
	var out *Request
	var events []Event
	err := s.store.InTx(ctx, func(tx Tx) error {
		r, err := tx.Request(ctx, id)
		if err != nil {
			return err
		}
		if !Visible(a, r.Audience) {
			if _, staff := a.RoleAt(r.PropertyID); staff && action == Claim {
				// A colleague's claim won the race: say so, rather than
				// that the job they were just shown does not exist.
				return apperr.New(apperr.Conflict, "the job was already claimed")
			}
			return apperr.ErrNotFound
		}
		if r.ButlerID, err = tx.CurrentButler(ctx, r.UnitID, now); err != nil {
			return err
		}
		t, decision := Lookup(action, a, r)
		switch decision {
		case NotAllowed:
			return apperr.New(apperr.Forbidden, "you may not %s this request", action)
		case WrongStatus:
			return apperr.New(apperr.Conflict, "cannot %s a request that is %s", action, r.Status)
		}
		events, err = s.step(ctx, tx, r, t, &a.PersonID, now, apply)
		if err != nil {
			return err
		}
		if then != nil {
			more, err := then(tx, r, now)
			if err != nil {
				return err
			}
			events = append(events, more...)
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, events)
	return out, nil
}

// step applies one row of the table to a request already read and checked
// in tx: it moves the status (if the row moves it), lets apply fill in the
// details, and writes the request, its events and their notifications.
func (s *Service) step(ctx context.Context, tx Tx, r *Request, t Transition, actorID *string, now time.Time,
	apply func(Tx, *Request, *change) error) ([]Event, error) {
	from := r.Status
	c := &change{ev: &Event{Type: t.Event, FromStatus: &from, ToStatus: t.To, At: now}}
	if t.To != "" {
		r.Status = t.To
	}
	if apply != nil {
		if err := apply(tx, r, c); err != nil {
			return nil, err
		}
	}
	return s.commit(ctx, tx, r, c, actorID, now)
}

// commit writes a change: the request row (refusing a stale one), then
// what record writes.
func (s *Service) commit(ctx context.Context, tx Tx, r *Request, c *change, actorID *string, now time.Time) ([]Event, error) {
	r.UpdatedAt = now
	if err := tx.Update(ctx, r); err != nil {
		return nil, err
	}
	return s.record(ctx, tx, r, c, actorID, now)
}

// record writes a change's events in order, the notifications they cause,
// and frees workers who have nothing left in progress.
func (s *Service) record(ctx context.Context, tx Tx, r *Request, c *change, actorID *string, now time.Time) ([]Event, error) {
	evs := append([]Event{*c.ev}, c.extra...)
	for i := range evs {
		e := &evs[i]
		e.RequestID, e.At, e.Audience = r.ID, now, r.Audience
		if e.ActorID == nil {
			e.ActorID = actorID
		}
		if e.ToStatus == "" {
			e.ToStatus = r.Status
		}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return nil, err
		}
		if !c.silent {
			s.notifyEvent(r, e, c)
		}
	}
	for i := range c.notes {
		n := &c.notes[i]
		n.RequestID, n.CreatedAt = &r.ID, now
		n.Body = fmt.Sprintf("%s: %s", r.Number, truncate(r.Description, 120))
	}
	if err := tx.Notify(ctx, dedupe(c.notes, actorID)); err != nil {
		return nil, err
	}
	for _, p := range c.freed {
		if err := tx.FreeIfIdle(ctx, p); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// notifyEvent adds the notifications every event of its type causes: the
// new assignee hears of the job; the requester and the first-asker hear of
// every status change someone else makes.
func (s *Service) notifyEvent(r *Request, e *Event, c *change) {
	tell := func(kind notification.Kind, title string, who *string) {
		if who != nil && (e.ActorID == nil || *who != *e.ActorID) {
			c.notify(kind, title, *who)
		}
	}
	switch e.Type {
	case EvAssigned, EvReassigned, EvTransferred, EvClaimed, EvHandedOver, EvReopened:
		tell(notification.Assigned, fmt.Sprintf("Job %s is yours", r.Number), r.AssigneeID)
	}
	if e.FromStatus != nil && *e.FromStatus != e.ToStatus {
		title := fmt.Sprintf("%s is now %s", r.Number, e.ToStatus)
		tell(notification.StatusChanged, title, &r.RequesterID)
		tell(notification.StatusChanged, title, r.FirstResponderID)
	}
}

// dedupe drops repeated notifications of the same kind to the same person,
// and those to the person who caused them.
func dedupe(ns []notification.Notification, actorID *string) []notification.Notification {
	seen := map[string]bool{}
	out := ns[:0]
	for _, n := range ns {
		key := n.PersonID + "|" + string(n.Kind)
		if seen[key] || (actorID != nil && n.PersonID == *actorID) {
			continue
		}
		seen[key] = true
		out = append(out, n)
	}
	return out
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func ptrAvail(a dispatch.Availability) *dispatch.Availability { return &a }

func (s *Service) publish(ctx context.Context, events []Event) {
	if s.pub != nil && len(events) > 0 {
		s.pub.Publish(context.WithoutCancel(ctx), events)
	}
}

// checkIDs rejects ids that are not UUIDs before they reach storage, naming
// the field at fault.
func checkIDs(fields map[string]*string) error {
	for _, name := range []string{"categoryId", "unitId", "onBehalfOfResidentId", "filter.propertyId", "filter.assigneeId"} {
		v, ok := fields[name]
		if !ok || v == nil {
			continue
		}
		if _, err := uuid.Parse(*v); err != nil {
			return apperr.Invalid(name, "%s is not a valid id", name)
		}
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("request: marshal event data: %v", err))
	}
	return b
}
