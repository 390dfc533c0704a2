// Package callback is what finished work still owes the customer: the
// service center's callback (回訪) after confirmation, with its attempts and
// queue, and a VIP household's director follow-up. It also confirms, for
// the customer, work left unanswered. A confirmed request closes only when
// nothing more is owed on it; whichever of these comes last closes it, with
// a CLOSED event whose data says why.
package callback

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/request"
)

// Store is the storage callbacks need.
type Store interface {
	// Tx is the callback side of a request transaction.
	Tx(request.Tx) Tx
	// Queue returns up to limit open callback tasks of the given
	// properties (all when nil), due first, after the cursor.
	Queue(ctx context.Context, propertyIDs []string, limit int, after *TaskCursor) ([]*Task, error)
}

// Tx is what callbacks and follow-ups read and write inside a request's
// transaction.
type Tx interface {
	// OpenTask returns the request's open callback task, locked, or nil.
	OpenTask(ctx context.Context, requestID string) (*Task, error)
	InsertTask(ctx context.Context, t *Task) error
	UpdateTask(ctx context.Context, t *Task) error
	AddAttempt(ctx context.Context, a Attempt) error
	// OpenFollowUp makes the request's pending director follow-up, unless
	// one is already pending; it reports whether it made one.
	OpenFollowUp(ctx context.Context, requestID string, at time.Time) (bool, error)
	// FollowUpPending reports whether a director follow-up is owed.
	FollowUpPending(ctx context.Context, requestID string) (bool, error)
	// DoFollowUp records the pending follow-up as done; false when none
	// was pending.
	DoFollowUp(ctx context.Context, requestID, directorID string, note *string, at time.Time) (bool, error)
	// PaymentOwed reports whether the request is of a paid category and
	// its payment is neither recorded nor waived.
	PaymentOwed(ctx context.Context, requestID string) (bool, error)
	// ClaimUnanswered locks up to limit completed requests whose work was
	// done at or before cutoff, skipping any another instance holds.
	ClaimUnanswered(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
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

// Service keeps callbacks and follow-ups, and is the request engine's
// aftercare.
type Service struct {
	req   *request.Service
	store Store
	cfg   Config
}

var _ request.Aftercare = (*Service)(nil)

// NewService returns the callback service and installs it as the engine's
// aftercare. Zero fields of cfg take DefaultConfig's.
func NewService(req *request.Service, store Store, cfg Config) *Service {
	if cfg.AutoConfirmAfter <= 0 {
		cfg.AutoConfirmAfter = DefaultConfig.AutoConfirmAfter
	}
	if cfg.CallbackDue <= 0 {
		cfg.CallbackDue = DefaultConfig.CallbackDue
	}
	if cfg.MaxCallbackAttempts <= 0 {
		cfg.MaxCallbackAttempts = DefaultConfig.MaxCallbackAttempts
	}
	s := &Service{req: req, store: store, cfg: cfg}
	req.SetAftercare(s)
	return s
}

// Completed opens a VIP household's director follow-up once the work is
// done, and tells the property's director at once: the request cannot
// close until it is recorded.
func (s *Service) Completed(ctx context.Context, w *request.Work) error {
	r, tx := w.Request(), w.Tx()
	unit, err := tx.Unit(ctx, r.UnitID)
	if err != nil || !unit.VIP {
		return err
	}
	w.LastEvent().Data = request.EventData(map[string]any{"followUpRequired": true})
	opened, err := s.store.Tx(tx).OpenFollowUp(ctx, r.ID, w.Now())
	if err != nil || !opened {
		return err
	}
	directors, err := tx.StaffWithRole(ctx, r.PropertyID, person.Director)
	if err != nil {
		return err
	}
	w.Notify(notification.FollowUp, "A VIP household is owed your follow-up: "+r.Number, directors...)
	return nil
}

// Confirmed opens the callback task a just-confirmed request is owed, or
// closes the request when its category wants no callback and nothing else
// is owed. The engine calls it after the customer's confirmation and the
// server's alike.
func (s *Service) Confirmed(ctx context.Context, w *request.Work, reason request.EventType) error {
	r, tx := w.Request(), s.store.Tx(w.Tx())
	cat, err := w.Tx().Category(ctx, r.CategoryID)
	if err != nil {
		return err
	}
	if !cat.CallbackPolicy.WantsCallback(r.Rating != nil) {
		return s.closeIfSettled(ctx, w, "NO_CALLBACK_NEEDED")
	}
	if open, err := tx.OpenTask(ctx, r.ID); err != nil || open != nil {
		return err
	}
	t := &Task{RequestID: r.ID, PropertyID: r.PropertyID, Reason: reason, Status: TaskOpen,
		DueAt: w.Now().Add(s.cfg.CallbackDue), CreatedAt: w.Now()}
	return tx.InsertTask(ctx, t)
}

// ErrPaymentOwed refuses to close a paid request whose payment is neither
// recorded nor waived.
var ErrPaymentOwed = apperr.New(apperr.Conflict, "payment is owed on this request: record the payment or waive it before it closes")

// CloseIfSettled is closeIfSettled for the nouns that settle what a
// request owes (a payment recorded on a confirmed request).
func (s *Service) CloseIfSettled(ctx context.Context, w *request.Work, why string) error {
	return s.closeIfSettled(ctx, w, why)
}

// closeIfSettled closes a confirmed request when no callback task is open,
// no director follow-up is pending and no payment is owed. The system
// closes it, so the event has no actor.
func (s *Service) closeIfSettled(ctx context.Context, w *request.Work, why string) error {
	if _, decision := request.LookupSystem(request.Close, w.Request()); decision != request.Allowed {
		return nil
	}
	if open, err := s.store.Tx(w.Tx()).OpenTask(ctx, w.Request().ID); err != nil || open != nil {
		return err
	}
	if pending, err := s.store.Tx(w.Tx()).FollowUpPending(ctx, w.Request().ID); err != nil || pending {
		return err
	}
	if owed, err := s.store.Tx(w.Tx()).PaymentOwed(ctx, w.Request().ID); err != nil || owed {
		return err
	}
	_, err := w.System(ctx, request.Close, nil, func(_ request.Tx, _ *request.Request, c *request.Change) error {
		c.Ev.Data = request.EventData(map[string]any{"reason": why})
		return nil
	})
	return err
}

// Input is one callback (回訪) attempt as the agent records it.
type Input struct {
	Method  Method
	Outcome Outcome
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
func (s *Service) RecordCallback(ctx context.Context, a *auth.Actor, id string, in Input) (*request.Request, error) {
	switch in.Method {
	case ByPhone, ByVisit, ByApp:
	default:
		return nil, apperr.Invalid("method", "method must be PHONE, VISIT or APP")
	}
	if in.Outcome == "" {
		in.Outcome = Reached
	}
	action := request.CallBackAttempt
	switch in.Outcome {
	case Reached:
		if in.Satisfaction == nil || *in.Satisfaction < 1 || *in.Satisfaction > 5 {
			return nil, apperr.Invalid("satisfaction", "satisfaction must be from 1 to 5 when the customer was reached")
		}
		action = request.CallBack
		if *in.Satisfaction <= unsatisfied {
			action = request.CallBackReopen
		}
	case NoAnswer, Declined:
		if in.Satisfaction != nil {
			return nil, apperr.Invalid("satisfaction", "satisfaction is only given when the customer was reached")
		}
	default:
		return nil, apperr.Invalid("outcome", "outcome must be REACHED, NO_ANSWER or DECLINED")
	}
	n, err := request.OptText("note", in.Note)
	if err != nil {
		return nil, err
	}
	var task *Task
	// A satisfied customer whose request still owes the director's
	// follow-up: the call is recorded now (CALLED_BACK), and the
	// follow-up will close the request.
	choose := func(ctx context.Context, tx request.Tx, r *request.Request) (request.Action, error) {
		if action != request.CallBack {
			return action, nil
		}
		// A satisfied callback closes the request, which a paid request
		// may not do while its payment is owed.
		if request.Visible(a, r.Audience) && r.Status == request.Confirmed {
			if owed, err := s.store.Tx(tx).PaymentOwed(ctx, r.ID); err != nil || owed {
				if err == nil {
					err = ErrPaymentOwed
				}
				return action, err
			}
		}
		pending, err := s.store.Tx(tx).FollowUpPending(ctx, r.ID)
		if err != nil || !pending {
			return action, err
		}
		action = request.CallBackReached
		return action, nil
	}
	return s.req.MoveChoosing(ctx, a, id, choose, func(rtx request.Tx, r *request.Request, c *request.Change) error {
		ev, tx := c.Ev, s.store.Tx(rtx)
		var err error
		if task, err = tx.OpenTask(ctx, r.ID); err != nil {
			return err
		}
		data := map[string]any{"method": in.Method, "outcome": in.Outcome}
		if in.Satisfaction != nil {
			data["satisfaction"] = *in.Satisfaction
		}
		if action == request.CallBackReached {
			data["awaitingFollowUp"] = true
		}
		cb := Attempt{RequestID: r.ID, AgentID: a.PersonID, Method: in.Method, Outcome: in.Outcome,
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
		if action == request.CallBackReopen {
			if err := s.req.Reopen(ctx, rtx, r, c, data); err != nil {
				return err
			}
		} else {
			ev.Data = request.EventData(data)
		}
		return tx.AddAttempt(ctx, cb)
	}, func(ctx context.Context, w *request.Work) error {
		if task != nil && task.Status == TaskUnreachable {
			return s.closeIfSettled(ctx, w, "CALLBACK_UNREACHABLE")
		}
		return nil
	})
}

// RecordFollowUp records the director's follow-up (回訪 by the 管理處主任)
// of a VIP household. If the request was only waiting for it, it closes.
func (s *Service) RecordFollowUp(ctx context.Context, a *auth.Actor, id, note string) (*request.Request, error) {
	n, err := request.Text("note", note, true)
	if err != nil {
		return nil, err
	}
	return s.req.MoveThen(ctx, a, id, request.FollowUp, func(tx request.Tx, r *request.Request, c *request.Change) error {
		ev := c.Ev
		done, err := s.store.Tx(tx).DoFollowUp(ctx, r.ID, a.PersonID, n, ev.At)
		if err != nil {
			return err
		}
		if !done {
			return apperr.New(apperr.Conflict, "no director follow-up is owed on this request")
		}
		ev.Note = n
		return nil
	}, func(ctx context.Context, w *request.Work) error {
		return s.closeIfSettled(ctx, w, "FOLLOWED_UP")
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
		now := s.req.Now()
		claimed, confirmedN := 0, 0
		err := s.req.Run(ctx, func(tx request.Tx) error {
			ids, err := s.store.Tx(tx).ClaimUnanswered(ctx, now.Add(-s.cfg.AutoConfirmAfter), autoConfirmBatch)
			if err != nil {
				return err
			}
			claimed = len(ids)
			for _, id := range ids {
				r, err := tx.Request(ctx, id)
				if err != nil {
					return err
				}
				// The engine's aftercare opens the callback task (or
				// closes the request) as for the customer's own answer.
				w := s.req.Work(tx, r, nil, now)
				done, err := w.System(ctx, request.AutoConfirm, nil, func(_ request.Tx, r *request.Request, c *request.Change) error {
					r.MarkConfirmed(now)
					c.Ev.Data = request.EventData(map[string]any{"auto": true, "afterDays": days, "completedAt": r.CompletedAt})
					return nil
				})
				if err != nil {
					return err
				}
				if !done {
					continue
				}
				if err := w.Save(ctx); err != nil {
					return err
				}
				confirmedN++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += confirmedN
		if claimed < autoConfirmBatch {
			return total, nil
		}
	}
}

// CallbackQueue returns one page of open callback tasks, due first, for the
// service center of one property (propertyID) or of every property the
// actor staffs (all of them for an admin), and whether more follow.
func (s *Service) CallbackQueue(ctx context.Context, a *auth.Actor, propertyID *string, first int, after *TaskCursor) ([]*Task, bool, error) {
	if first < 0 || first > request.MaxPage {
		return nil, false, apperr.Invalid("first", "first must be between 0 and %d", request.MaxPage)
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
	rows, err := s.store.Queue(ctx, props, first+1, after)
	if err != nil {
		return nil, false, err
	}
	if len(rows) > first {
		return rows[:first], true, nil
	}
	return rows, false, nil
}
