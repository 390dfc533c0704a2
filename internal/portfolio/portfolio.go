// Package portfolio is butler mode's portfolios (管家模式): which butler
// serves which household, handovers between butlers (the household's open
// work moves with it), and butlers' proactive visits.
package portfolio

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// Store is the storage portfolios need.
type Store interface {
	// Tx is the portfolio side of a request transaction.
	Tx(request.Tx) Tx
}

// Tx is what a handover or a visit writes inside a transaction.
type Tx interface {
	// OpenRequestsOfUnit locks the household's requests that are not done.
	OpenRequestsOfUnit(ctx context.Context, unitID string) ([]*request.Request, error)
	// HandOverPortfolio ends the household's current butler assignment at
	// from and starts the new butler's, returning the previous butler.
	HandOverPortfolio(ctx context.Context, unitID, butlerID, by string, from time.Time) (*string, error)
	AddVisit(ctx context.Context, v Visit) error
	// Audit writes a handover to the audit log.
	audit.Writer
}

// Service keeps the portfolios.
type Service struct {
	req   *request.Service
	store Store
}

// NewService returns the portfolio service.
func NewService(req *request.Service, store Store) *Service { return &Service{req: req, store: store} }

// Assignment puts a household in a butler's portfolio from a date.
type Assignment struct {
	UnitID   string
	ButlerID string
	From     time.Time
	// Previous is the butler who had the household before, if any.
	Previous *string
	// Moved counts the open requests handed to the new butler.
	Moved int
}

// Visit is a butler's proactive visit (上門) to a household.
type Visit struct {
	ID       string    `db:"id"`
	UnitID   string    `db:"unit_id"`
	ButlerID string    `db:"butler_id"`
	Note     string    `db:"note"`
	At       time.Time `db:"at"`
}

// AssignButler gives a household to a butler. The previous assignment is
// closed, not erased, and the household's open requests that the previous
// butler owned or first took move to the new one with a HANDED_OVER event.
// A manager or director of the property (or an admin) decides portfolios.
func (s *Service) AssignButler(ctx context.Context, a *auth.Actor, unitID, butlerID string, from *time.Time) (*Assignment, error) {
	if _, err := uuid.Parse(unitID); err != nil {
		return nil, apperr.Invalid("unitId", "unitId is not a valid id")
	}
	if _, err := uuid.Parse(butlerID); err != nil {
		return nil, apperr.Invalid("butlerId", "no such butler")
	}
	now := s.req.Now()
	start := now
	if from != nil {
		// Portfolios change on the day; a past date records a handover
		// that already happened.
		if from.After(now.Add(time.Minute)) {
			return nil, apperr.Invalid("from", "from cannot be in the future")
		}
		start = *from
	}
	out := &Assignment{UnitID: unitID, ButlerID: butlerID, From: start}
	err := s.req.Run(ctx, func(tx request.Tx) error {
		unit, err := tx.Unit(ctx, unitID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return apperr.Invalid("unitId", "no such unit")
		} else if err != nil {
			return err
		}
		if role, _ := a.RoleAt(unit.PropertyID); !a.Admin && role != person.Manager && role != person.Director {
			return apperr.New(apperr.Forbidden, "a manager or director of the property assigns butlers")
		}
		prop, err := tx.Property(ctx, unit.PropertyID)
		if err != nil {
			return err
		}
		if prop.ServiceMode != property.ButlerMode {
			return apperr.Invalid("unitId", "%s runs a service center, not butlers", prop.Name)
		}
		if role, ok, err := tx.StaffRoleAt(ctx, butlerID, unit.PropertyID); err != nil {
			return err
		} else if !ok || role != person.Butler {
			return apperr.Invalid("butlerId", "not a butler of this property")
		}
		if cur, err := tx.CurrentButler(ctx, unitID, now); err != nil {
			return err
		} else if cur != nil && *cur == butlerID {
			return apperr.Invalid("butlerId", "already this household's butler")
		}
		prev, err := s.store.Tx(tx).HandOverPortfolio(ctx, unitID, butlerID, a.PersonID, start)
		if err != nil {
			return err
		}
		out.Previous = prev
		if prev != nil {
			open, err := s.store.Tx(tx).OpenRequestsOfUnit(ctx, unitID)
			if err != nil {
				return err
			}
			if out.Moved, err = s.moveOpenWork(ctx, tx, a, open, *prev, butlerID, now); err != nil {
				return err
			}
		}
		var before any
		if prev != nil {
			before = map[string]any{"butlerId": *prev}
		}
		return audit.Record(ctx, s.store.Tx(tx), audit.Change{ActorID: a.PersonID, At: now, PropertyID: &unit.PropertyID, Action: "assignButler",
			Entity: "unit", EntityID: unitID, Before: before,
			After: map[string]any{"butlerId": butlerID, "from": start, "requestsMoved": out.Moved}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// moveOpenWork hands the household's open requests that the previous
// butler owned or first took to the new one, each with a HANDED_OVER
// event, and counts them.
func (s *Service) moveOpenWork(ctx context.Context, tx request.Tx, a *auth.Actor, open []*request.Request, prevID, butlerID string, now time.Time) (int, error) {
	moved := 0
	for _, r := range open {
		data := map[string]any{"fromButlerId": prevID, "toButlerId": butlerID}
		changed := false
		if r.AssigneeID != nil && *r.AssigneeID == prevID {
			r.AssigneeID, changed = &butlerID, true
		}
		if r.FirstResponderID != nil && *r.FirstResponderID == prevID {
			// The butler who leaves cannot follow it any more; the
			// portfolio's new owner takes the first-ask duty.
			r.FirstResponderID, changed = &butlerID, true
		}
		if !changed {
			continue
		}
		r.ButlerID = &butlerID
		t, decision := request.Lookup(request.HandOver, a, r)
		if decision != request.Allowed {
			continue
		}
		w := s.req.Work(tx, r, &a.PersonID, now)
		if err := w.Step(ctx, t, &a.PersonID, func(_ request.Tx, _ *request.Request, c *request.Change) error {
			c.Ev.Data = request.EventData(data)
			c.Free(prevID)
			c.Notify(notification.Assigned, "Handed over to you: "+r.Number, butlerID)
			return nil
		}); err != nil {
			return moved, err
		}
		if err := w.Save(ctx); err != nil {
			return moved, err
		}
		moved++
	}
	return moved, nil
}

// LogVisit records a butler's proactive visit to a household in their
// portfolio. A household out of the viewer's reach is NOT_FOUND, as a
// missing one is.
func (s *Service) LogVisit(ctx context.Context, a *auth.Actor, unitID, note string) (*Visit, error) {
	if _, err := uuid.Parse(unitID); err != nil {
		return nil, apperr.Invalid("unitId", "unitId is not a valid id")
	}
	n, err := request.Text("note", note, true)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	v := &Visit{ID: uuid.NewString(), UnitID: unitID, ButlerID: a.PersonID, Note: *n, At: now}
	err = s.req.Run(ctx, func(tx request.Tx) error {
		unit, err := tx.Unit(ctx, unitID)
		if err != nil {
			return err
		}
		// Like a request's id, a household's id reads the same whether it
		// does not exist or is out of the viewer's reach: its residents,
		// the people of its property and admins reach it.
		_, staff := a.RoleAt(unit.PropertyID)
		if !a.Admin && !staff && !a.LivesIn(unitID) {
			return apperr.ErrNotFound
		}
		cur, err := tx.CurrentButler(ctx, unitID, now)
		if err != nil {
			return err
		}
		if cur != nil && *cur == a.PersonID {
			return s.store.Tx(tx).AddVisit(ctx, *v)
		}
		if role, _ := a.RoleAt(unit.PropertyID); role == person.Butler {
			return apperr.Invalid("unitId", "this household is not in your portfolio")
		}
		return apperr.New(apperr.Forbidden, "a visit is logged by the household's butler")
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
