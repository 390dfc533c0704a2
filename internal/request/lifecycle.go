package request

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/promise"
	"github.com/kproperty/onestop/internal/property"
)

// MaxAhead is how far ahead a promise or a planned resume may be set.
const MaxAhead = 366 * 24 * time.Hour

// checkFuture accepts an optional time that must lie ahead of now, within
// MaxAhead: a promise in the past is no promise, and one years away is a
// typing error.
func checkFuture(field string, t *time.Time, now time.Time) error {
	switch {
	case t == nil:
		return nil
	case !t.After(now):
		return apperr.Invalid(field, "%s must be in the future", field)
	case t.After(now.Add(MaxAhead)):
		return apperr.Invalid(field, "%s must be within a year", field)
	}
	return nil
}

// Accept takes a submitted request into the service center's hands with a
// promise of when it will be done; without one, the category's completion
// target sets it. An app submission gets its first-asker here: the
// accepting agent. The property's dispatch rule then sends it on: to the
// best free worker (AUTO), into the grab pool (POOL), or nowhere (MANUAL).
func (s *Service) Accept(ctx context.Context, a *auth.Actor, id string, promisedAt *time.Time, note *string) (*Request, error) {
	n, err := OptText("note", note)
	if err != nil {
		return nil, err
	}
	if err := checkFuture("promisedAt", promisedAt, s.Now()); err != nil {
		return nil, err
	}
	return s.MoveThen(ctx, a, id, Accept, func(tx Tx, r *Request, c *Change) error {
		if promisedAt != nil && r.AppointmentUntil != nil {
			return apperr.Invalid("promisedAt", "the request is an appointment: the appointment is its promise")
		}
		if r.FirstResponderID == nil {
			r.FirstResponderID = &a.PersonID
		}
		c.Ev.Note = n
		r.AcceptedAt = &c.Ev.At
		return s.promise(ctx, tx, r, promisedAt, c.Ev.At)
	}, func(ctx context.Context, w *Work) error {
		return s.dispatch(ctx, w, &a.PersonID)
	})
}

// promise starts the promise clock: on acceptance, or again when the
// customer sends the work back. A request with an appointment still ahead
// is promised for the appointment's end, whatever its category's target.
func (s *Service) promise(ctx context.Context, tx Tx, r *Request, promisedAt *time.Time, now time.Time) error {
	return s.promiseKnowing(ctx, tx, r, promisedAt, now, nil, nil)
}

// promiseKnowing is promise for a caller that has already read the
// request's category and property (a submission being routed); nil ones
// are read here.
func (s *Service) promiseKnowing(ctx context.Context, tx Tx, r *Request, promisedAt *time.Time, now time.Time,
	cat *property.Category, prop *property.Property) error {
	settings, err := tx.PromiseSettings(ctx, r.PropertyID)
	if err != nil {
		return err
	}
	if promisedAt == nil && r.AppointmentUntil != nil && r.AppointmentUntil.After(now) {
		promisedAt = r.AppointmentUntil
	}
	if promisedAt == nil {
		if cat == nil {
			if cat, err = tx.Category(ctx, r.CategoryID); err != nil {
				return err
			}
		}
		if prop == nil {
			if prop, err = tx.Property(ctx, r.PropertyID); err != nil {
				return err
			}
		}
		loc, err := prop.LoadLocation()
		if err != nil {
			return err
		}
		due := promise.Due(now, cat.TargetMinutes, cat.BusinessHoursOnly, promise.Hours{
			Open: settings.Open, Close: settings.Close, Days: settings.Days, Loc: loc})
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

// dispatch applies the property's rule to a freshly accepted request: to
// the best free worker (AUTO, a step of the system's in the accepting
// agent's name), into the grab pool (POOL), or nowhere (MANUAL). The rule is
// recorded on the ACCEPTED event.
func (s *Service) dispatch(ctx context.Context, w *Work, by *string) error {
	r, tx := w.r, w.tx
	rule, err := tx.DispatchRule(ctx, r.PropertyID, r.CategoryID)
	if err != nil {
		return err
	}
	w.LastEvent().Data = EventData(map[string]any{"promisedAt": r.PromisedAt, "dispatch": rule.Mode})
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
		_, err = w.System(ctx, AutoAssign, by, func(_ Tx, r *Request, c *Change) error {
			r.AssigneeID = worker
			c.Ev.Data = EventData(map[string]any{"assigneeId": *worker, "auto": true})
			return nil
		})
		return err
	case dispatch.Pool:
		r.Pooled = true
		w.LastEvent().Pooled = true
		eligible, err := tx.StaffWithRole(ctx, r.PropertyID, rule.Role)
		if err != nil {
			return err
		}
		for _, p := range eligible {
			w.notes = append(w.notes, notification.Notification{PersonID: p, Kind: notification.Pool, Title: "New job in the pool"})
		}
	}
	return nil
}

// Assign dispatches a request to a staff member of its property, or
// reassigns it.
func (s *Service) Assign(ctx context.Context, a *auth.Actor, id, assigneeID string, note *string) (*Request, error) {
	n, err := OptText("note", note)
	if err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(assigneeID); err != nil {
		return nil, apperr.Invalid("assigneeId", "no such staff member")
	}
	return s.Move(ctx, a, id, Assign, func(tx Tx, r *Request, c *Change) error {
		if err := s.reassign(ctx, tx, r, c, assigneeID, "assigneeId"); err != nil {
			return err
		}
		if *c.Ev.FromStatus == Assigned {
			c.Ev.Type = EvReassigned
		}
		c.Ev.Note = n
		return nil
	})
}

// Start records that the assignee began the work.
func (s *Service) Start(ctx context.Context, a *auth.Actor, id string, note *string) (*Request, error) {
	n, err := OptText("note", note)
	if err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, Start, func(tx Tx, r *Request, c *Change) error {
		if r.OnHold {
			return apperr.New(apperr.Conflict, "the request is on hold: resume it first")
		}
		// A paid service is done at the price the household accepted.
		if owed, err := tx.QuoteOwed(ctx, r.ID, r.CategoryID); err != nil {
			return err
		} else if owed {
			return apperr.New(apperr.Conflict, "this is a paid service: the household must accept its quote before work starts")
		}
		c.Ev.Note = n
		busy := dispatch.Busy
		return tx.SetAvailability(ctx, a.PersonID, busy, ptrAvail(dispatch.Available))
	})
}

// Complete records that the work is done; the customer is asked to confirm.
func (s *Service) Complete(ctx context.Context, a *auth.Actor, id, note string) (*Request, error) {
	n, err := Text("note", note, true)
	if err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, Complete, func(tx Tx, r *Request, c *Change) error {
		c.Ev.Note = n
		c.freed = append(c.freed, a.PersonID)
		r.CompletedAt = &c.Ev.At
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
		c, err := Text("comment", deref(comment), true)
		if err != nil {
			return nil, apperr.Invalid("comment", "say what is still wrong so the worker can put it right")
		}
		if rating.Overall != nil || rating.Timeliness != nil || rating.Attitude != nil {
			return nil, apperr.Invalid("rating", "a rating is given when the work is accepted")
		}
		return s.Move(ctx, a, id, Reopen, func(tx Tx, r *Request, ch *Change) error {
			ch.Ev.Note = c
			return s.Reopen(ctx, tx, r, ch, map[string]any{"by": "RESIDENT"})
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
	c, err := OptText("comment", comment)
	if err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, Confirm, func(_ Tx, r *Request, ch *Change) error {
		r.MarkConfirmed(ch.Ev.At)
		r.Rating, r.RatingComment = rating.Overall, c
		r.RatingTimeliness, r.RatingAttitude = rating.Timeliness, rating.Attitude
		ch.Ev.Note = c
		data := map[string]any{"rating": *rating.Overall}
		if rating.Timeliness != nil {
			data["timeliness"] = *rating.Timeliness
		}
		if rating.Attitude != nil {
			data["attitude"] = *rating.Attitude
		}
		ch.Ev.Data = EventData(data)
		return nil
	})
}

// Cancel withdraws a request: the customer before work starts, the service
// center at any point while it is open.
func (s *Service) Cancel(ctx context.Context, a *auth.Actor, id, reason string) (*Request, error) {
	why, err := Text("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, Cancel, func(_ Tx, r *Request, c *Change) error {
		r.CancelReason = why
		c.Ev.Note = why
		if r.AssigneeID != nil {
			c.freed = append(c.freed, *r.AssigneeID)
		}
		return nil
	})
}
