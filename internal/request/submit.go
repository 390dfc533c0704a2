package request

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
)

// SubmitInput is a new request as a phone or a staff member sends it.
type SubmitInput struct {
	ClientRequestID string
	CategoryID      string
	Description     string
	UnitID          *string
	PreferredTime   *time.Time
	OnBehalfOf      *string
	Channel         *Channel
	// Appointment, when set, books the request for a time: its promise
	// is the appointment's end.
	Appointment *Appointment
	// Then runs in the submission's transaction once the row is written:
	// what the request brings with it (a guided visit's guide) is written
	// with it or not at all.
	Then func(context.Context, *Work) error
}

// Appointment is the time a request is booked for.
type Appointment struct {
	At, Until time.Time
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
	desc, err := Text("description", in.Description, true)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	// A little slack lets a phone whose clock runs behind still say "now".
	if in.PreferredTime != nil && in.PreferredTime.Before(now.Add(-5*time.Minute)) {
		return nil, apperr.Invalid("preferredTime", "preferredTime is in the past")
	}
	if ap := in.Appointment; ap != nil {
		if err := checkFuture("appointment", &ap.At, now); err != nil {
			return nil, err
		}
		if !ap.Until.After(ap.At) {
			return nil, apperr.Invalid("appointment", "an appointment must end after it starts")
		}
	}
	// Who it is for, where, and its number are settled before the write
	// transaction, on reads that need no lock. The number comes from the
	// property's daily counter in a statement of its own, so submissions
	// never queue on that row for a whole transaction; a submission that
	// then fails leaves a gap in the day's numbers, never a duplicate.
	if prior, err := s.store.ByClientID(ctx, a.PersonID, in.ClientRequestID); err == nil {
		return prior, sameSubmission(prior, in, *desc)
	} else if apperr.CodeOf(err) != apperr.NotFound {
		return nil, err
	}
	pl := s.store.Places()
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
	if ap := in.Appointment; ap != nil {
		at, until := ap.At.UTC(), ap.Until.UTC()
		r.AppointmentAt, r.AppointmentUntil = &at, &until
	}
	units, err := s.requester(ctx, pl, a, in, r)
	if err != nil {
		return nil, err
	}
	unit, err := pickUnit(ctx, pl, units, in.UnitID)
	if err != nil {
		return nil, err
	}
	r.UnitID, r.PropertyID = unit.ID, unit.PropertyID
	if r.Channel != App && !a.Admin {
		if _, ok := a.RoleAt(unit.PropertyID); !ok {
			return nil, apperr.New(apperr.Forbidden, "you do not work at this resident's property")
		}
	}
	cat, err := pl.Category(ctx, in.CategoryID)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && (cat.PropertyID != unit.PropertyID || !cat.Active)) {
		return nil, apperr.Invalid("categoryId", "no such service category at this property")
	} else if err != nil {
		return nil, err
	}
	prop, err := pl.Property(ctx, unit.PropertyID)
	if err != nil {
		return nil, err
	}
	loc, err := prop.LoadLocation()
	if err != nil {
		return nil, err
	}
	day := now.In(loc)
	seq, err := pl.NextSequence(ctx, prop.ID, day)
	if err != nil {
		return nil, err
	}
	r.Number = fmt.Sprintf("%s-%s-%04d", prop.Code, day.Format("20060102"), seq)

	var created *Request
	events, err := s.store.InTx(ctx, func(tx Tx) error {
		// The id is made here, so the events staged before the row is
		// written already name it.
		r.ID = uuid.NewString()
		w := s.Work(tx, r, &a.PersonID, now)
		w.record(r, &Change{Ev: &Event{Type: EvSubmitted, ToStatus: Submitted, ActorID: &a.PersonID,
			Data: EventData(map[string]any{"channel": r.Channel, "number": r.Number})}}, true)
		if err := s.routeNew(ctx, w, cat, prop); err != nil {
			return err
		}
		inserted, err := tx.Insert(ctx, r)
		if err != nil {
			return err
		}
		if !inserted {
			return errDuplicate
		}
		if in.Then != nil {
			if err := in.Then(ctx, w); err != nil {
				return err
			}
		}
		if err := w.stage(ctx); err != nil {
			return err
		}
		created = r
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
// may do it or dispatch it onward. Both are the system's steps, taken in
// the butler's name. Everyone else's goes to the service center, which
// hears of it.
func (s *Service) routeNew(ctx context.Context, w *Work, cat *property.Category, prop *property.Property) error {
	r, tx, now := w.r, w.tx, w.now
	if prop.ServiceMode == property.ButlerMode {
		butler, err := tx.CurrentButler(ctx, r.UnitID, now)
		if err != nil {
			return err
		}
		if butler != nil {
			// The events are in the butler's name, so they would not
			// hear of them: tell them their household asked.
			w.notes = append(w.notes, notification.Notification{PersonID: *butler, Kind: notification.Assigned, Title: "Your household asked: " + r.Number})
			if _, err := w.System(ctx, Route, butler, func(tx Tx, r *Request, c *Change) error {
				if r.FirstResponderID == nil {
					r.FirstResponderID = butler
				}
				r.AcceptedAt = &now
				if err := s.promiseKnowing(ctx, tx, r, nil, now, cat, prop); err != nil {
					return err
				}
				note := "butler mode: accepted for the household's butler"
				c.Ev.Note, c.quiet = &note, true
				c.Ev.Data = EventData(map[string]any{"promisedAt": r.PromisedAt, "butlerMode": true})
				return nil
			}); err != nil {
				return err
			}
			_, err := w.System(ctx, AutoAssign, butler, func(_ Tx, r *Request, c *Change) error {
				r.AssigneeID, c.quiet = butler, true
				c.Ev.Data = EventData(map[string]any{"assigneeId": *butler, "butlerMode": true})
				return nil
			})
			return err
		}
	}
	center, err := tx.StaffWithRole(ctx, r.PropertyID, person.Agent)
	if err != nil {
		return err
	}
	for _, p := range center {
		w.notes = append(w.notes, notification.Notification{PersonID: p, Kind: notification.StatusChanged, Title: "New request " + r.Number})
	}
	return nil
}

// sameSubmission refuses a reused clientRequestId that carries a different
// request: the phone has a bug, and silently answering with another request
// would hide it.
func sameSubmission(prior *Request, in SubmitInput, desc string) error {
	if prior.CategoryID != in.CategoryID || prior.Description != desc || (in.OnBehalfOf != nil && *in.OnBehalfOf != prior.RequesterID) {
		return apperr.New(apperr.Conflict, "clientRequestId %s was already used for request %s", in.ClientRequestID, prior.Number)
	}
	return nil
}

// requester settles who the request is for, its channel and its first-asker,
// and returns the households it may be about.
func (s *Service) requester(ctx context.Context, tx Places, a *auth.Actor, in SubmitInput, r *Request) ([]string, error) {
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

func pickUnit(ctx context.Context, tx Places, units []string, want *string) (*property.Unit, error) {
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
