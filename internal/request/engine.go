package request

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/notification"
)

// The engine is the only code that writes a request's status. Every change,
// whoever makes it (a person, or the server's scheduled jobs), is one row of
// the transition table applied by step: it moves the status, lets the
// caller fill in the details, applies the one rule of what a status leaves
// behind (settle), and stages the step's events and notifications. The
// request row is written once per transaction (save or insert), and the
// store writes the staged events and notifications in one statement just
// before commit; they are published after it.

// change is what one step does beyond the request row: its main event,
// any events that follow from it in the same step (an escalation after a
// breach), the notifications they cause, and the workers it frees.
type change struct {
	ev    *Event
	extra []Event
	notes []notification.Notification
	freed []string
	// quiet steps cause no status notices of their own: the routing of a
	// new request, whose outcome the submitter reads in the answer.
	quiet bool
}

func (c *change) also(ev Event) { c.extra = append(c.extra, ev) }

// notify queues a notification about the request for each person.
func (c *change) notify(kind notification.Kind, title string, people ...string) {
	for _, p := range people {
		c.notes = append(c.notes, notification.Notification{PersonID: p, Kind: kind, Title: title})
	}
}

// fill adds a step's details to the request and its change. It must not
// move the status: only rows of the table do.
type fill func(Tx, *Request, *change) error

// work is one transaction's changes to one request, on behalf of actor
// (nil: the server's own jobs).
type work struct {
	s     *Service
	tx    Tx
	r     *Request
	now   time.Time
	actor *string
	// events and notes wait here until the row is written, so a later
	// step may still add to an earlier event (the dispatch rule on
	// ACCEPTED).
	events []Event
	notes  []notification.Notification
	freed  []string
}

func (s *Service) work(tx Tx, r *Request, actor *string, now time.Time) *work {
	return &work{s: s, tx: tx, r: r, actor: actor, now: now}
}

// step applies one row of the table: the status moves (if the row moves
// it), what the new status leaves behind is settled, f fills in the
// details, and the events and notifications are staged.
func (w *work) step(ctx context.Context, t Transition, actorID *string, f fill) error {
	r := w.r
	from := r.Status
	if t.To != "" {
		r.Status = t.To
	}
	c := &change{ev: &Event{Type: t.Event, FromStatus: &from, ToStatus: r.Status, At: w.now, ActorID: actorID}}
	if f != nil {
		if err := f(w.tx, r, c); err != nil {
			return err
		}
		if r.Status != c.ev.ToStatus {
			panic(fmt.Sprintf("request: %s moved the status to %s outside the table", t.Action, r.Status))
		}
	}
	if err := w.settle(ctx); err != nil {
		return err
	}
	w.record(r, c)
	return nil
}

// system takes a step the server makes on its own (closing, auto-
// confirming, the promise clock), if the table allows it from the current
// status; it reports whether it did.
func (w *work) system(ctx context.Context, action Action, actorID *string, f fill) (bool, error) {
	t, decision := LookupSystem(action, w.r)
	if decision != Allowed {
		return false, nil
	}
	return true, w.step(ctx, t, actorID, f)
}

// clockRuns lists the statuses the promise clock runs in.
func clockRuns(s Status) bool { return s == Accepted || s == Assigned || s == InProgress }

// Terminal reports whether nothing more can happen to a request.
func (s Status) Terminal() bool { return s == Closed || s == Cancelled }

// settle is the one rule of what a status brings and leaves behind,
// whichever row got there (a person's or the server's):
//   - work that leaves the statuses the promise clock runs in while on hold
//     (completed, cancelled) ends the hold as a resume would: its time is
//     added to the due time, so the promise is not charged for it, and no
//     planned resume remains;
//   - the first completion decides the promise's fate, against the due
//     time then in force; a reopened request's later promise never
//     rewrites it;
//   - only an accepted, unassigned request waits in the grab pool;
//   - a request that ends owes no callback and no director's follow-up.
func (w *work) settle(ctx context.Context) error {
	r := w.r
	if r.OnHold && !clockRuns(r.Status) {
		endHold(r, w.now)
	}
	if r.Status == Completed && r.FirstCompletedAt == nil {
		r.FirstCompletedAt = &w.now
		if r.DueAt != nil {
			kept := !w.now.After(*r.DueAt)
			r.PromiseKept = &kept
		}
	}
	if r.Status != Accepted {
		r.Pooled = false
	}
	if r.Status.Terminal() {
		return w.tx.SettleObligations(ctx, r.ID, w.now)
	}
	return nil
}

// endHold ends a hold, pushing the due and warning times back by the time
// spent on hold, and returns that time.
func endHold(r *Request, now time.Time) time.Duration {
	paused := now.Sub(*r.HoldSince)
	if r.DueAt != nil {
		due := r.DueAt.Add(paused)
		r.DueAt = &due
	}
	if r.WarnAt != nil {
		warn := r.WarnAt.Add(paused)
		r.WarnAt = &warn
	}
	r.OnHold, r.HoldReason, r.HoldSince, r.HoldUntil = false, nil, nil, nil
	return paused
}

// record stages a change's events in order and keeps the notifications
// they cause for save. Each event carries the request's audience as it is
// after the step.
func (w *work) record(r *Request, c *change) {
	evs := append([]Event{*c.ev}, c.extra...)
	for i := range evs {
		e := &evs[i]
		e.RequestID, e.At, e.Audience = r.ID, w.now, r.Audience
		if e.ActorID == nil {
			e.ActorID = c.ev.ActorID
		}
		if e.ToStatus == "" {
			e.ToStatus = r.Status
		}
		if !c.quiet {
			notifyEvent(r, e, c)
		}
	}
	w.events = append(w.events, evs...)
	w.notes = append(w.notes, c.notes...)
	w.freed = append(w.freed, c.freed...)
}

// stage hands the steps' events to the outbox, with their notifications
// once per person and kind, and none to the person who made the change.
func (w *work) stage() {
	for i := range w.notes {
		n := &w.notes[i]
		n.RequestID, n.CreatedAt = &w.r.ID, w.now
		n.Body = fmt.Sprintf("%s: %s", w.r.Number, truncate(w.r.Description, 120))
	}
	w.tx.Stage(w.events, dedupe(w.notes, w.actor))
}

// save writes the request row (refusing a stale one), stages the
// notifications, and frees the workers the steps let go who have nothing
// left in progress.
func (w *work) save(ctx context.Context) error {
	w.r.UpdatedAt = w.now
	if err := w.tx.Update(ctx, w.r); err != nil {
		return err
	}
	w.stage()
	return w.tx.FreeIfIdle(ctx, w.freed)
}

// move is the single path by which a person changes a request: it reads the
// request, asks the transition table, takes the step, lets then take the
// steps that follow from it (closing, automatic dispatch), writes the
// request once, and publishes the events after commit.
func (s *Service) move(ctx context.Context, a *auth.Actor, id string, action Action, f fill) (*Request, error) {
	return s.moveThen(ctx, a, id, action, f, nil)
}

// moveThen is move with the steps that follow from it in the same
// transaction.
func (s *Service) moveThen(ctx context.Context, a *auth.Actor, id string, action Action, f fill,
	then func(context.Context, *work) error) (*Request, error) {
	return s.moveChoosing(ctx, a, id, func(context.Context, Tx, *Request) (Action, error) { return action, nil }, f, then)
}

// moveChoosing is moveThen for a step whose action depends on what the
// transaction reads (a callback that closes, or that waits for the
// director's follow-up).
func (s *Service) moveChoosing(ctx context.Context, a *auth.Actor, id string, choose func(context.Context, Tx, *Request) (Action, error), f fill,
	then func(context.Context, *work) error) (*Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, apperr.ErrNotFound
	}
	now := s.now()
	var out *Request
	events, err := s.store.InTx(ctx, func(tx Tx) error {
		r, err := tx.Request(ctx, id)
		if err != nil {
			return err
		}
		action, err := choose(ctx, tx, r)
		if err != nil {
			return err
		}
		if !Visible(a, r.Audience) {
			return s.unseen(ctx, tx, a, r, action)
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
		w := s.work(tx, r, &a.PersonID, now)
		if err := w.step(ctx, t, &a.PersonID, f); err != nil {
			return err
		}
		if then != nil {
			if err := then(ctx, w); err != nil {
				return err
			}
		}
		if err := w.save(ctx); err != nil {
			return err
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

// notifyEvent adds the notifications every event of its type causes: the
// new assignee hears of the job; the requester and the first-asker hear of
// every status change someone else makes.
func notifyEvent(r *Request, e *Event, c *change) {
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

func (s *Service) publish(ctx context.Context, events []Event) {
	if s.pub != nil && len(events) > 0 {
		s.pub.Publish(context.WithoutCancel(ctx), events)
	}
}

// lastEvent is the event the latest step staged: a step that follows may
// still add to it (the dispatch rule on ACCEPTED) before the flush.
func (w *work) lastEvent() *Event { return &w.events[len(w.events)-1] }

// unseen is the answer to a step on a request the actor may not see:
// NOT_FOUND, as for one that does not exist. The one exception is a claim
// lost to a colleague: staff of the pool's role saw the job in their pool
// a moment ago, so they hear that it was taken.
func (s *Service) unseen(ctx context.Context, tx Tx, a *auth.Actor, r *Request, action Action) error {
	if action != Claim || r.Status == Submitted {
		return apperr.ErrNotFound
	}
	role, staff := a.RoleAt(r.PropertyID)
	if !staff {
		return apperr.ErrNotFound
	}
	rule, err := tx.DispatchRule(ctx, r.PropertyID, r.CategoryID)
	if err != nil {
		return err
	}
	if rule.Mode == dispatch.Pool && rule.Role == role {
		return apperr.New(apperr.Conflict, "the job was already claimed")
	}
	return apperr.ErrNotFound
}
