package booking

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/request"
)

// Activities lists the activities not yet ended at the properties the
// viewer lives or works at.
func (s *Service) Activities(ctx context.Context, a *auth.Actor) ([]*Activity, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, err
	}
	props := sc.props
	if sc.admin {
		props = nil
	}
	return s.store.Activities(ctx, props, s.req.Now())
}

// visibleActivity reads an activity of a property the viewer lives or
// works at; any other is NOT_FOUND.
func (s *Service) visibleActivity(ctx context.Context, a *auth.Actor, id string) (*Activity, scope, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, sc, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, sc, apperr.ErrNotFound
	}
	act, err := s.store.ActivityByID(ctx, id)
	if err != nil {
		return nil, sc, err
	}
	if !sc.property(act.PropertyID) {
		return nil, sc, apperr.ErrNotFound
	}
	return act, sc, nil
}

// maxSignUps bounds the sign-ups one answer lists.
const maxSignUps = 200

// SignUps lists an activity's sign-ups the viewer may see: all of them
// for its property's staff, their own household's for a resident.
func (s *Service) SignUps(ctx context.Context, a *auth.Actor, act *Activity) ([]*SignUp, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, err
	}
	all, err := s.store.SignUpsOf(ctx, []string{act.ID})
	if err != nil {
		return nil, err
	}
	out := []*SignUp{}
	for _, su := range all {
		if len(out) == maxSignUps {
			break
		}
		if sc.staffAt(su.PropertyID) || sc.household(su.UnitID) {
			out = append(out, su)
		}
	}
	return out, nil
}

// SignUp takes places at an activity for the viewer's household while
// sign-up is open: confirmed while places last (and nobody waits ahead),
// on the waiting list after.
func (s *Service) SignUp(ctx context.Context, a *auth.Actor, activityID string, places int, unitID *string) (*SignUp, error) {
	act, _, err := s.visibleActivity(ctx, a, activityID)
	if err != nil {
		return nil, err
	}
	unit, err := s.household(ctx, a, act.PropertyID, unitID)
	if err != nil {
		return nil, err
	}
	if places == 0 {
		places = 1
	}
	if places < 1 || places > act.PerHousehold {
		return nil, apperr.Invalid("places", "each household may take 1 to %d places", act.PerHousehold)
	}
	now := s.req.Now()
	if now.Before(act.SignupOpensAt) || !now.Before(act.SignupClosesAt) {
		return nil, apperr.New(apperr.Conflict, "sign-up for %s is open from %s to %s", act.Title,
			act.SignupOpensAt.Format("2006-01-02 15:04 MST"), act.SignupClosesAt.Format("2006-01-02 15:04 MST"))
	}
	var out *SignUp
	err = s.run(ctx, func(rtx request.Tx, tx Tx) error {
		// The activity's row is the queue every sign-up and cancellation
		// of it waits in, so places are counted with nobody changing them.
		act, err := tx.LockActivity(ctx, activityID)
		if err != nil {
			return err
		}
		if prior, err := tx.ActiveSignUp(ctx, act.ID, unit); err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return err
		} else if err == nil {
			return apperr.New(apperr.Conflict, "your household is already %s for %s", prior.Status, act.Title)
		}
		list, err := tx.SignUpsFor(ctx, act.ID)
		if err != nil {
			return err
		}
		taken, waiting := 0, false
		for _, su := range list {
			if su.Status == Confirmed {
				taken += su.Places
			} else {
				waiting = true
			}
		}
		su := &SignUp{ActivityID: act.ID, PropertyID: act.PropertyID, UnitID: unit, SignedUpBy: a.PersonID, Places: places,
			Status: Confirmed, CreatedAt: now}
		if waiting || taken+places > act.Capacity {
			su.Status = Waiting
		}
		if err := tx.InsertSignUp(ctx, su); err != nil {
			return err
		}
		out = su
		people, err := tx.Residents(ctx, unit)
		if err != nil {
			return err
		}
		tell(tx, now, fmt.Sprintf("%s: %s", su.Status, act.Title), "sign-up "+su.ID, people...)
		return nil
	})
	return out, err
}

// visibleSignUp reads a sign-up the viewer may see: their household's, or
// one at a property they work at.
func (s *Service) visibleSignUp(ctx context.Context, a *auth.Actor, id string) (*SignUp, scope, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, sc, err
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return nil, sc, apperr.ErrNotFound
	}
	var su *SignUp
	err = s.req.Run(ctx, func(rtx request.Tx) error {
		su, err = s.store.Tx(rtx).LockSignUp(ctx, id)
		return err
	})
	if err != nil {
		return nil, sc, err
	}
	if !sc.household(su.UnitID) && !sc.staffAt(su.PropertyID) {
		return nil, sc, apperr.ErrNotFound
	}
	return su, sc, nil
}

// CancelSignUp gives a household's places (or its place in the waiting
// list) back; the places freed go to the waiting list in the order it
// signed up, and each household promoted is told at once.
func (s *Service) CancelSignUp(ctx context.Context, a *auth.Actor, id string) (*SignUp, error) {
	seen, _, err := s.visibleSignUp(ctx, a, id)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	var out *SignUp
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		// The activity first, then its sign-ups: the order every writer
		// of an activity's list locks in.
		act, err := tx.LockActivity(ctx, seen.ActivityID)
		if err != nil {
			return err
		}
		su, err := tx.LockSignUp(ctx, id)
		if err != nil {
			return err
		}
		if su.Status == SignUpCancelled {
			return apperr.New(apperr.Conflict, "the sign-up is already cancelled")
		}
		if !now.Before(act.StartsAt) {
			return apperr.New(apperr.Conflict, "%s has already started", act.Title)
		}
		su.Status, su.CancelledAt = SignUpCancelled, &now
		if err := tx.UpdateSignUp(ctx, su); err != nil {
			return err
		}
		out = su
		return s.promote(ctx, tx, act, now)
	})
	return out, err
}

// promote confirms waiting sign-ups, in the order they were made, while
// they fit; the first that does not fit keeps everyone behind it waiting,
// so nobody jumps the queue.
func (s *Service) promote(ctx context.Context, tx Tx, act *Activity, now time.Time) error {
	list, err := tx.SignUpsFor(ctx, act.ID)
	if err != nil {
		return err
	}
	taken := 0
	for _, su := range list {
		if su.Status == Confirmed {
			taken += su.Places
		}
	}
	for _, su := range list {
		if su.Status != Waiting {
			continue
		}
		if taken+su.Places > act.Capacity {
			return nil
		}
		su.Status, su.PromotedAt = Confirmed, &now
		taken += su.Places
		if err := tx.UpdateSignUp(ctx, su); err != nil {
			return err
		}
		people, err := tx.Residents(ctx, su.UnitID)
		if err != nil {
			return err
		}
		tell(tx, now, "A place is yours: "+act.Title, "sign-up "+su.ID, people...)
	}
	return nil
}

// CheckInSignUp records, for the property's staff at the door, how many of
// a confirmed household came.
func (s *Service) CheckInSignUp(ctx context.Context, a *auth.Actor, id string, attended int) (*SignUp, error) {
	seen, sc, err := s.visibleSignUp(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !sc.staffAt(seen.PropertyID) {
		return nil, apperr.New(apperr.Forbidden, "the property's staff check people in")
	}
	if attended < 0 || attended > seen.Places {
		return nil, apperr.Invalid("attended", "attended must be from 0 to the %d place(s) taken", seen.Places)
	}
	now := s.req.Now()
	var out *SignUp
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		su, err := tx.LockSignUp(ctx, id)
		if err != nil {
			return err
		}
		if su.Status != Confirmed {
			return apperr.New(apperr.Conflict, "only a confirmed sign-up is checked in; this one is %s", su.Status)
		}
		su.CheckedInAt, su.Attended = &now, &attended
		out = su
		return tx.UpdateSignUp(ctx, su)
	})
	return out, err
}

// Activity returns an activity the viewer may see.
func (s *Service) Activity(ctx context.Context, a *auth.Actor, id string) (*Activity, error) {
	act, _, err := s.visibleActivity(ctx, a, id)
	return act, err
}

// ActivityOf returns a sign-up's activity.
func (s *Service) ActivityOf(ctx context.Context, id string) (*Activity, error) {
	return s.store.ActivityByID(ctx, id)
}

// Position is a waiting sign-up's place in the waiting list (1 is next),
// or 0 for one not waiting.
func Position(list []*SignUp, su *SignUp) int {
	if su.Status != Waiting {
		return 0
	}
	waiting := slices.DeleteFunc(slices.Clone(list), func(x *SignUp) bool { return x.Status != Waiting })
	return slices.IndexFunc(waiting, func(x *SignUp) bool { return x.ID == su.ID }) + 1
}

// AllSignUps lists every sign-up of an activity, for figures computed over
// the whole list (a waiting position); callers have checked sight.
func (s *Service) AllSignUps(ctx context.Context, activityID string) ([]*SignUp, error) {
	return s.store.SignUpsOf(ctx, []string{activityID})
}
