package request

import (
	"context"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
)

// Reopen does what reopened work owes: the customer gets a new promise
// (the category's target from now, the warning and escalation ladder
// starting over), and the first-asker, who follows the request until the
// customer is satisfied, and the property's managers are told. The REOPENED
// event's data records both.
func (s *Service) Reopen(ctx context.Context, tx Tx, r *Request, c *Change, data map[string]any) error {
	r.ReopenCount++
	if r.DueAt != nil {
		if err := s.promise(ctx, tx, r, nil, c.Ev.At); err != nil {
			return err
		}
		r.WarnedAt, r.BreachedAt, r.EscalationLevel, r.EscalatedAt = nil, nil, 0, nil
		data["promisedAt"] = r.PromisedAt
	}
	managers, err := tx.StaffWithRole(ctx, r.PropertyID, person.Manager)
	if err != nil {
		return err
	}
	notify := make([]string, 0, len(managers)+1)
	if r.FirstResponderID != nil {
		notify = append(notify, *r.FirstResponderID)
	}
	for _, m := range managers {
		if r.FirstResponderID == nil || m != *r.FirstResponderID {
			notify = append(notify, m)
		}
	}
	data["notify"] = notify
	c.Ev.Data = EventData(data)
	c.Notify(notification.StatusChanged, "The customer is not satisfied: "+r.Number+" is reopened", notify...)
	return nil
}

// ReplyToRating lets the service center or the worker answer the customer's
// rating. A later reply replaces the earlier one; the timeline keeps both.
func (s *Service) ReplyToRating(ctx context.Context, a *auth.Actor, id, reply string) (*Request, error) {
	txt, err := Text("reply", reply, true)
	if err != nil {
		return nil, err
	}
	return s.Move(ctx, a, id, ReplyRating, func(_ Tx, r *Request, c *Change) error {
		ev := c.Ev
		if r.Rating == nil {
			return apperr.New(apperr.Conflict, "the customer has not rated this request")
		}
		ev.Data = EventData(map[string]any{"edited": r.RatingReply != nil})
		r.RatingReply, r.RatingRepliedAt, r.RatingRepliedBy = txt, &ev.At, &a.PersonID
		ev.Note = txt
		return nil
	})
}

// MarkConfirmed records the first time the work was accepted by (or for) the
// customer.
func (r *Request) MarkConfirmed(at time.Time) {
	if r.ConfirmedAt == nil {
		r.ConfirmedAt = &at
	}
}
