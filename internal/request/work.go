package request

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
)

// reassign puts the request in another worker's hands, checking that they
// work at the property, and frees the previous worker if they are idle.
func (s *Service) reassign(ctx context.Context, tx Tx, r *Request, c *Change, to, field string) error {
	if _, err := uuid.Parse(to); err != nil {
		return apperr.Invalid(field, "no such staff member")
	}
	role, ok, err := tx.StaffRoleAt(ctx, to, r.PropertyID)
	if err != nil {
		return err
	}
	if !ok || !CanBeAssigned(role) {
		return apperr.Invalid(field, "not a staff member of this property who can take work")
	}
	data := map[string]any{"assigneeId": to}
	if r.AssigneeID != nil {
		if *r.AssigneeID == to && *c.Ev.FromStatus != Accepted {
			return apperr.Invalid(field, "the request is already assigned to this person")
		}
		data["previousAssigneeId"] = *r.AssigneeID
		c.freed = append(c.freed, *r.AssigneeID)
	}
	r.AssigneeID, r.Pooled = &to, false
	c.Ev.Data = EventData(data)
	return nil
}

// Transfer hands a job to another worker, with a reason; work in progress
// goes back to waiting for the new worker to start.
func (s *Service) Transfer(ctx context.Context, a *auth.Actor, id, assigneeID, reason string) (*Request, error) {
	why, err := Text("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, Transfer, func(tx Tx, r *Request, c *Change) error {
		c.Ev.Note = why
		return s.reassign(ctx, tx, r, c, assigneeID, "assigneeId")
	})
}

// SendBack returns a job to the service center, with a reason, for it to
// dispatch again.
func (s *Service) SendBack(ctx context.Context, a *auth.Actor, id, reason string) (*Request, error) {
	why, err := Text("reason", reason, true)
	if err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, SendBack, func(tx Tx, r *Request, c *Change) error {
		c.Ev.Note = why
		c.freed = append(c.freed, *r.AssigneeID)
		r.AssigneeID = nil
		center, err := tx.StaffWithRole(ctx, r.PropertyID, centerRoles...)
		if err != nil {
			return err
		}
		c.Notify(notification.StatusChanged, "Job "+r.Number+" was sent back", center...)
		return nil
	})
}

// Claim takes a job from the grab pool. Only the first claim wins: a
// second, even a simultaneous one, finds the job taken (CONFLICT).
func (s *Service) Claim(ctx context.Context, a *auth.Actor, id string) (*Request, error) {
	return s.Move(ctx, a, id, Claim, func(tx Tx, r *Request, c *Change) error {
		if !r.Pooled {
			return apperr.New(apperr.Conflict, "the request is not in the grab pool")
		}
		rule, err := tx.DispatchRule(ctx, r.PropertyID, r.CategoryID)
		if err != nil {
			return err
		}
		if role, _ := a.RoleAt(r.PropertyID); role != rule.Role {
			return apperr.New(apperr.Forbidden, "this pool is for %s staff", rule.Role)
		}
		return s.reassign(ctx, tx, r, c, a.PersonID, "id")
	})
}

// Hold pauses a request (waiting for parts, resident not home): the promise
// clock stops until it is resumed, by hand or at resumeAt.
func (s *Service) Hold(ctx context.Context, a *auth.Actor, id, reason string, resumeAt *time.Time) (*Request, error) {
	why, err := Text("reason", reason, true)
	if err != nil {
		return nil, err
	}
	if err := checkFuture("resumeAt", resumeAt, s.Now()); err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, Hold, func(_ Tx, r *Request, c *Change) error {
		if r.OnHold {
			return apperr.New(apperr.Conflict, "the request is already on hold")
		}
		r.OnHold, r.HoldReason, r.HoldSince, r.HoldUntil = true, why, &c.Ev.At, resumeAt
		c.Ev.Note = why
		if resumeAt != nil {
			c.Ev.Data = EventData(map[string]any{"resumeAt": resumeAt.UTC()})
		}
		return nil
	})
}

// Resume restarts a paused request's clock.
func (s *Service) Resume(ctx context.Context, a *auth.Actor, id string) (*Request, error) {
	return s.Move(ctx, a, id, Resume, func(_ Tx, r *Request, c *Change) error {
		if !r.OnHold {
			return apperr.New(apperr.Conflict, "the request is not on hold")
		}
		resume(r, c, c.Ev.At)
		return nil
	})
}

// resume ends a hold by hand or at its planned time: the due and warning
// times move back by the time spent on hold.
func resume(r *Request, c *Change, now time.Time) {
	paused := r.EndHold(now)
	c.Ev.Data = EventData(map[string]any{"pausedSeconds": int(paused.Seconds()), "dueAt": r.DueAt})
}

// UrgeInterval is how often a customer may chase one request.
const UrgeInterval = time.Hour

// Urge records a customer chasing an open request (催單); it tells the
// first-asker and the assignee. Once an hour at most.
func (s *Service) Urge(ctx context.Context, a *auth.Actor, id string) (*Request, error) {
	return s.Move(ctx, a, id, Urge, func(tx Tx, r *Request, c *Change) error {
		now := c.Ev.At
		if r.LastUrgedAt != nil && now.Sub(*r.LastUrgedAt) < UrgeInterval {
			next := r.LastUrgedAt.Add(UrgeInterval)
			return apperr.New(apperr.RateLimited, "already chased at %s; you can chase again from %s",
				r.LastUrgedAt.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339))
		}
		r.LastUrgedAt = &now
		title := "The customer is chasing " + r.Number
		if r.FirstResponderID != nil {
			c.Notify(notification.Urge, title, *r.FirstResponderID)
		}
		if r.AssigneeID != nil {
			c.Notify(notification.Urge, title, *r.AssigneeID)
		}
		if r.FirstResponderID == nil && r.AssigneeID == nil {
			// Nobody owns it yet: the service center hears instead.
			center, err := tx.StaffWithRole(ctx, r.PropertyID, centerRoles...)
			if err != nil {
				return err
			}
			c.Notify(notification.Urge, title, center...)
		}
		return nil
	})
}

// centerRoles are the service center of a property: who hears of work
// nobody owns.
var centerRoles = []person.Role{person.Agent, person.Manager, person.Director}
