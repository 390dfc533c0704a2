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

// A confirmed request closes only when nothing more is owed on it: the
// callback its category asks for is done (or the customer proved
// unreachable), and a VIP household's director follow-up is recorded.
// Whichever of these comes last closes it, with a CLOSED event whose data
// says why.

// afterConfirm opens the callback task a just-confirmed request is owed, or
// closes the request when its category wants no callback and nothing else
// is owed.
func (s *Service) afterConfirm(ctx context.Context, w *work, reason EventType) error {
	r, tx := w.r, w.tx
	cat, err := tx.Category(ctx, r.CategoryID)
	if err != nil {
		return err
	}
	if !cat.CallbackPolicy.WantsCallback(r.Rating != nil) {
		return s.closeIfSettled(ctx, w, "NO_CALLBACK_NEEDED")
	}
	if open, err := tx.OpenTask(ctx, r.ID); err != nil || open != nil {
		return err
	}
	t := &CallbackTask{RequestID: r.ID, PropertyID: r.PropertyID, Reason: reason, Status: TaskOpen,
		DueAt: w.now.Add(s.cfg.CallbackDue), CreatedAt: w.now}
	return tx.InsertTask(ctx, t)
}

// closeIfSettled closes a confirmed request when no callback task is open
// and no director follow-up is pending. The system closes it, so the event
// has no actor.
func (s *Service) closeIfSettled(ctx context.Context, w *work, why string) error {
	if _, decision := LookupSystem(Close, w.r); decision != Allowed {
		return nil
	}
	if open, err := w.tx.OpenTask(ctx, w.r.ID); err != nil || open != nil {
		return err
	}
	if pending, err := w.tx.FollowUpPending(ctx, w.r.ID); err != nil || pending {
		return err
	}
	_, err := w.system(ctx, Close, nil, func(_ Tx, _ *Request, c *change) error {
		c.ev.Data = mustJSON(map[string]any{"reason": why})
		return nil
	})
	return err
}

// reopen does what reopened work owes: the customer gets a new promise
// (the category's target from now, the warning and escalation ladder
// starting over), and the first-asker, who follows the request until the
// customer is satisfied, and the property's managers are told. The REOPENED
// event's data records both.
func (s *Service) reopen(ctx context.Context, tx Tx, r *Request, c *change, data map[string]any) error {
	r.ReopenCount++
	if r.DueAt != nil {
		if err := s.promise(ctx, tx, r, nil, c.ev.At); err != nil {
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
	c.ev.Data = mustJSON(data)
	c.notify(notification.StatusChanged, "The customer is not satisfied: "+r.Number+" is reopened", notify...)
	return nil
}

// CallbackInput is one callback (回訪) attempt as the agent records it.
type CallbackInput struct {
	Method  CallbackMethod
	Outcome CallbackOutcome
	// Satisfaction (1-5) is required when the customer was reached and
	// refused otherwise.
	Satisfaction *int
	Note         *string
}

// unsatisfied is the highest callback satisfaction that reopens the request.
const unsatisfied = 2

// RecordCallback records one callback attempt. Reaching a satisfied customer
// closes the request (a VIP household's once the director's follow-up is
// recorded too: until then the call is recorded, CALLED_BACK, and the
// follow-up closes it);
// reaching an unsatisfied one (1-2) reopens it to the same worker; a missed
// or declined call is noted, and the last allowed one closes the task as
// unreachable.
func (s *Service) RecordCallback(ctx context.Context, a *auth.Actor, id string, in CallbackInput) (*Request, error) {
	switch in.Method {
	case ByPhone, ByVisit, ByApp:
	default:
		return nil, apperr.Invalid("method", "method must be PHONE, VISIT or APP")
	}
	if in.Outcome == "" {
		in.Outcome = Reached
	}
	action := CallBackAttempt
	switch in.Outcome {
	case Reached:
		if in.Satisfaction == nil || *in.Satisfaction < 1 || *in.Satisfaction > 5 {
			return nil, apperr.Invalid("satisfaction", "satisfaction must be from 1 to 5 when the customer was reached")
		}
		action = CallBack
		if *in.Satisfaction <= unsatisfied {
			action = CallBackReopen
		}
	case NoAnswer, Declined:
		if in.Satisfaction != nil {
			return nil, apperr.Invalid("satisfaction", "satisfaction is only given when the customer was reached")
		}
	default:
		return nil, apperr.Invalid("outcome", "outcome must be REACHED, NO_ANSWER or DECLINED")
	}
	n, err := optText("note", in.Note)
	if err != nil {
		return nil, err
	}
	var task *CallbackTask
	// A satisfied customer whose request still owes the director's
	// follow-up: the call is recorded now (CALLED_BACK), and the
	// follow-up will close the request.
	choose := func(ctx context.Context, tx Tx, r *Request) (Action, error) {
		if action != CallBack {
			return action, nil
		}
		pending, err := tx.FollowUpPending(ctx, r.ID)
		if err != nil || !pending {
			return action, err
		}
		action = CallBackReached
		return action, nil
	}
	return s.moveChoosing(ctx, a, id, choose, func(tx Tx, r *Request, c *change) error {
		ev := c.ev
		var err error
		if task, err = tx.OpenTask(ctx, r.ID); err != nil {
			return err
		}
		data := map[string]any{"method": in.Method, "outcome": in.Outcome}
		if in.Satisfaction != nil {
			data["satisfaction"] = *in.Satisfaction
		}
		if action == CallBackReached {
			data["awaitingFollowUp"] = true
		}
		cb := Callback{RequestID: r.ID, AgentID: a.PersonID, Method: in.Method, Outcome: in.Outcome,
			Satisfaction: in.Satisfaction, Note: n, At: ev.At}
		r.CallbackReached = r.CallbackReached || in.Outcome == Reached
		if in.Satisfaction != nil {
			r.CallbackSatisfactionSum += *in.Satisfaction
			r.CallbackSatisfactionN++
		}
		// A callback without an open task (the category wants none, or it
		// already ran out of attempts) is still recorded: the customer
		// was spoken to.
		if task != nil {
			cb.TaskID = &task.ID
			task.Attempts++
			data["attempt"] = task.Attempts
			switch {
			case in.Outcome == Reached:
				task.Status = TaskDone
			case task.Attempts >= s.cfg.MaxCallbackAttempts:
				task.Status = TaskUnreachable
				data["unreachable"] = true
			}
			if task.Status != TaskOpen {
				task.ClosedAt = &ev.At
			}
			if err := tx.UpdateTask(ctx, task); err != nil {
				return err
			}
		}
		ev.Note = n
		if action == CallBackReopen {
			if err := s.reopen(ctx, tx, r, c, data); err != nil {
				return err
			}
		} else {
			ev.Data = mustJSON(data)
		}
		return tx.AddCallback(ctx, cb)
	}, func(ctx context.Context, w *work) error {
		if task != nil && task.Status == TaskUnreachable {
			return s.closeIfSettled(ctx, w, "CALLBACK_UNREACHABLE")
		}
		return nil
	})
}

// RecordFollowUp records the director's follow-up (回訪 by the 管理處主任)
// of a VIP household. If the request was only waiting for it, it closes.
func (s *Service) RecordFollowUp(ctx context.Context, a *auth.Actor, id, note string) (*Request, error) {
	n, err := text("note", note, true)
	if err != nil {
		return nil, err
	}
	return s.moveThen(ctx, a, id, FollowUp, func(tx Tx, r *Request, c *change) error {
		ev := c.ev
		done, err := tx.DoFollowUp(ctx, r.ID, a.PersonID, n, ev.At)
		if err != nil {
			return err
		}
		if !done {
			return apperr.New(apperr.Conflict, "no director follow-up is owed on this request")
		}
		ev.Note = n
		return nil
	}, func(ctx context.Context, w *work) error {
		return s.closeIfSettled(ctx, w, "FOLLOWED_UP")
	})
}

// ReplyToRating lets the service center or the worker answer the customer's
// rating. A later reply replaces the earlier one; the timeline keeps both.
func (s *Service) ReplyToRating(ctx context.Context, a *auth.Actor, id, reply string) (*Request, error) {
	txt, err := text("reply", reply, true)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, a, id, ReplyRating, func(_ Tx, r *Request, c *change) error {
		ev := c.ev
		if r.Rating == nil {
			return apperr.New(apperr.Conflict, "the customer has not rated this request")
		}
		ev.Data = mustJSON(map[string]any{"edited": r.RatingReply != nil})
		r.RatingReply, r.RatingRepliedAt, r.RatingRepliedBy = txt, &ev.At, &a.PersonID
		ev.Note = txt
		return nil
	})
}

// autoConfirmBatch bounds one transaction of the auto-confirmation job.
const autoConfirmBatch = 50

// AutoConfirmDue confirms, for the customer, completed work left unanswered
// for Config.AutoConfirmAfter, and opens the callbacks they are owed. It is
// the scheduled job's tick: several instances may run it at once, since each
// batch locks its requests with SKIP LOCKED and the table re-checks their
// status. It returns how many requests it confirmed.
func (s *Service) AutoConfirmDue(ctx context.Context) (int, error) {
	total := 0
	days := int(s.cfg.AutoConfirmAfter / (24 * time.Hour))
	for {
		now := s.now()
		claimed, confirmedN := 0, 0
		events, err := s.store.InTx(ctx, func(tx Tx) error {
			ids, err := tx.ClaimUnanswered(ctx, now.Add(-s.cfg.AutoConfirmAfter), autoConfirmBatch)
			if err != nil {
				return err
			}
			claimed = len(ids)
			for _, id := range ids {
				r, err := tx.Request(ctx, id)
				if err != nil {
					return err
				}
				w := s.work(tx, r, nil, now)
				done, err := w.system(ctx, AutoConfirm, nil, func(_ Tx, r *Request, c *change) error {
					confirmed(r, now)
					c.ev.Data = mustJSON(map[string]any{"auto": true, "afterDays": days, "completedAt": r.CompletedAt})
					return nil
				})
				if err != nil {
					return err
				}
				if !done {
					continue
				}
				if err := s.afterConfirm(ctx, w, EvAutoConfirmed); err != nil {
					return err
				}
				if err := w.save(ctx); err != nil {
					return err
				}
				confirmedN++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		s.publish(ctx, events)
		total += confirmedN
		if claimed < autoConfirmBatch {
			return total, nil
		}
	}
}

// CallbackQueue returns one page of open callback tasks, due first, for the
// service center of one property (propertyID) or of every property the
// actor staffs (all of them for an admin), and whether more follow.
func (s *Service) CallbackQueue(ctx context.Context, a *auth.Actor, propertyID *string, first int, after *TaskCursor) ([]*CallbackTask, bool, error) {
	if first < 0 || first > MaxPage {
		return nil, false, apperr.Invalid("first", "first must be between 0 and %d", MaxPage)
	}
	var props []string
	switch {
	case propertyID != nil:
		if _, err := uuid.Parse(*propertyID); err != nil || !a.IsCenterAt(*propertyID) {
			return nil, false, apperr.ErrNotFound
		}
		props = []string{*propertyID}
	case a.Admin:
		props = nil
	default:
		props = a.CenterProperties()
		if len(props) == 0 {
			return nil, false, apperr.New(apperr.Forbidden, "only the service center keeps a callback queue")
		}
	}
	rows, err := s.store.CallbackQueue(ctx, props, first+1, after)
	if err != nil {
		return nil, false, err
	}
	if len(rows) > first {
		return rows[:first], true, nil
	}
	return rows, false, nil
}

// confirmed records the first time the work was accepted by (or for) the
// customer.
func confirmed(r *Request, at time.Time) {
	if r.ConfirmedAt == nil {
		r.ConfirmedAt = &at
	}
}
