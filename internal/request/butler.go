package request

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
)

// ButlerAssignment puts a household in a butler's portfolio from a date.
type ButlerAssignment struct {
	UnitID   string
	ButlerID string
	From     time.Time
	// Previous is the butler who had the household before, if any.
	Previous *string
	// Moved counts the open requests handed to the new butler.
	Moved int
}

// ButlerVisit is a butler's proactive visit (上門) to a household.
type ButlerVisit struct {
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
func (s *Service) AssignButler(ctx context.Context, a *auth.Actor, unitID, butlerID string, from *time.Time) (*ButlerAssignment, error) {
	if err := checkIDs(map[string]*string{"unitId": &unitID}); err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(butlerID); err != nil {
		return nil, apperr.Invalid("butlerId", "no such butler")
	}
	now := s.now()
	start := now
	if from != nil {
		// Portfolios change on the day; a past date records a handover
		// that already happened.
		if from.After(now.Add(time.Minute)) {
			return nil, apperr.Invalid("from", "from cannot be in the future")
		}
		start = *from
	}
	out := &ButlerAssignment{UnitID: unitID, ButlerID: butlerID, From: start}
	events, err := s.store.InTx(ctx, func(tx Tx) error {
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
		prev, err := tx.HandOverPortfolio(ctx, unitID, butlerID, a.PersonID, start)
		if err != nil {
			return err
		}
		out.Previous = prev
		if prev == nil {
			return nil
		}
		open, err := tx.OpenRequestsOfUnit(ctx, unitID)
		if err != nil {
			return err
		}
		for _, r := range open {
			data := map[string]any{"fromButlerId": *prev, "toButlerId": butlerID}
			moved := false
			if r.AssigneeID != nil && *r.AssigneeID == *prev {
				r.AssigneeID, moved = &butlerID, true
			}
			if r.FirstResponderID != nil && *r.FirstResponderID == *prev {
				// The butler who leaves cannot follow it any more; the
				// portfolio's new owner takes the first-ask duty.
				r.FirstResponderID, moved = &butlerID, true
			}
			if !moved {
				continue
			}
			r.ButlerID = &butlerID
			t, decision := Lookup(HandOver, a, r)
			if decision != Allowed {
				continue
			}
			w := s.work(tx, r, &a.PersonID, now)
			if err := w.step(ctx, t, &a.PersonID, func(_ Tx, _ *Request, c *change) error {
				c.ev.Data = mustJSON(data)
				c.freed = append(c.freed, *prev)
				c.notify(notification.Assigned, "Handed over to you: "+r.Number, butlerID)
				return nil
			}); err != nil {
				return err
			}
			if err := w.save(ctx); err != nil {
				return err
			}
			out.Moved++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, events)
	return out, nil
}

// LogVisit records a butler's proactive visit to a household in their
// portfolio.
func (s *Service) LogVisit(ctx context.Context, a *auth.Actor, unitID, note string) (*ButlerVisit, error) {
	if err := checkIDs(map[string]*string{"unitId": &unitID}); err != nil {
		return nil, err
	}
	n, err := text("note", note, true)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v := &ButlerVisit{ID: uuid.NewString(), UnitID: unitID, ButlerID: a.PersonID, Note: *n, At: now}
	_, err = s.store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.CurrentButler(ctx, unitID, now)
		if err != nil {
			return err
		}
		if cur == nil || *cur != a.PersonID {
			return apperr.Invalid("unitId", "this household is not in your portfolio")
		}
		return tx.AddVisit(ctx, *v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
