package request

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
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

// Change is what one step does beyond the request row: its main event,
// any events that follow from it in the same step (an escalation after a
// breach), the notifications they cause, and the workers it frees.
type Change struct {
	Ev    *Event
	extra []Event
	notes []notification.Notification
	freed []string
	// quiet steps cause no status notices of their own: the routing of a
	// new request, whose outcome the submitter reads in the answer.
	quiet bool
}

// Also adds an event that follows from the step's own (an escalation after a
// breach).
func (c *Change) Also(ev Event) { c.extra = append(c.extra, ev) }

// Free names workers the step lets go; they become available once the row
// is written if nothing of theirs is in progress.
func (c *Change) Free(people ...string) { c.freed = append(c.freed, people...) }

// Notify queues a notification about the request for each person.
func (c *Change) Notify(kind notification.Kind, title string, people ...string) {
	for _, p := range people {
		c.notes = append(c.notes, notification.Notification{PersonID: p, Kind: kind, Title: title})
	}
}

// Fill adds a step's details to the request and its change. It must not
// move the status: only rows of the table do.
type Fill func(Tx, *Request, *Change) error

// Work is one transaction's changes to one request, on behalf of actor
// (nil: the server's own jobs).
type Work struct {
	e     *Engine
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

// Work starts a transaction's changes to a request it has read (and, for
// the scheduled jobs, locked).
func (e *Engine) Work(tx Tx, r *Request, actor *string, now time.Time) *Work {
	return &Work{e: e, tx: tx, r: r, actor: actor, now: now}
}

// Request is the request as the steps so far left it.
func (w *Work) Request() *Request { return w.r }

// Tx is the transaction the work runs in.
func (w *Work) Tx() Tx { return w.tx }

// Now is the time of every step of the work.
func (w *Work) Now() time.Time { return w.now }

// Notify queues a notification about the request, sent once the row is
// written.
func (w *Work) Notify(kind notification.Kind, title string, people ...string) {
	for _, p := range people {
		w.notes = append(w.notes, notification.Notification{PersonID: p, Kind: kind, Title: title})
	}
}

// Step applies one row of the table: the status moves (if the row moves
// it), what the new status leaves behind is settled, f fills in the
// details, and the events and notifications are staged.
func (w *Work) Step(ctx context.Context, t Transition, actorID *string, f Fill) error {
	r := w.r
	from := r.Status
	if t.To != "" {
		r.Status = t.To
	}
	c := &Change{Ev: &Event{Type: t.Event, FromStatus: &from, ToStatus: r.Status, At: w.now, ActorID: actorID}}
	if f != nil {
		if err := f(w.tx, r, c); err != nil {
			return err
		}
		if r.Status != c.Ev.ToStatus {
			panic(fmt.Sprintf("request: %s moved the status to %s outside the table", t.Action, r.Status))
		}
	}
	if err := w.settle(ctx); err != nil {
		return err
	}
	w.record(r, c, t.By&Household != 0)
	if w.e.after == nil || from == r.Status {
		return nil
	}
	switch r.Status {
	case Completed:
		return w.e.after.Completed(ctx, w)
	case Confirmed:
		return w.e.after.Confirmed(ctx, w, t.Event)
	}
	return nil
}

// System takes a step the server makes on its own (closing, auto-
// confirming, the promise clock), if the table allows it from the current
// status; it reports whether it did.
func (w *Work) System(ctx context.Context, action Action, actorID *string, f Fill) (bool, error) {
	t, decision := LookupSystem(action, w.r)
	if decision != Allowed {
		return false, nil
	}
	return true, w.Step(ctx, t, actorID, f)
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
func (w *Work) settle(ctx context.Context) error {
	r := w.r
	if r.OnHold && !clockRuns(r.Status) {
		r.EndHold(w.now)
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

// EndHold ends a hold, pushing the due and warning times back by the time
// spent on hold, and returns that time.
func (r *Request) EndHold(now time.Time) time.Duration {
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
// after the step, and its sight: who may read it and its note.
func (w *Work) record(r *Request, c *Change, byHousehold bool) {
	evs := append([]Event{*c.Ev}, c.extra...)
	for i := range evs {
		e := &evs[i]
		e.RequestID, e.At, e.Audience = r.ID, w.now, r.Audience
		if e.ActorID == nil {
			e.ActorID = c.Ev.ActorID
		}
		if e.ToStatus == "" {
			e.ToStatus = r.Status
		}
		sightOf(e, byHousehold)
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
// Each notice gets its title in Traditional Chinese too; the notice of
// acceptance says the promise time as the property's clock reads it.
func (w *Work) stage(ctx context.Context) error {
	var promised string
	for i := range w.notes {
		n := &w.notes[i]
		n.RequestID, n.CreatedAt = &w.r.ID, w.now
		n.Body = fmt.Sprintf("%s: %s", w.r.Number, truncate(w.r.Description, 120))
		if n.Kind == notification.Accepted && promised == "" {
			p, err := w.tx.Property(ctx, w.r.PropertyID)
			if err != nil {
				return err
			}
			promised = "(no promise time)"
			if w.r.PromisedAt != nil {
				promised = w.r.PromisedAt.In(p.Location()).Format("2006-01-02 15:04")
			}
		}
		if n.Kind == notification.Accepted {
			n.Title = fmt.Sprintf("%s accepted: promised by %s", w.r.Number, promised)
		}
		n.TitleZh = notification.TitleZh(n.Kind, w.r.Number, string(w.r.Status), promised)
	}
	w.tx.Stage(w.events, dedupe(w.notes, w.actor))
	return nil
}

// Save writes the request row (refusing a stale one), stages the
// notifications, and frees the workers the steps let go who have nothing
// left in progress.
func (w *Work) Save(ctx context.Context) error {
	w.r.UpdatedAt = w.now
	if err := w.tx.Update(ctx, w.r); err != nil {
		return err
	}
	if err := w.stage(ctx); err != nil {
		return err
	}
	return w.tx.FreeIfIdle(ctx, w.freed)
}

// Move is the single path by which a person changes a request: it reads the
// request, asks the transition table, takes the step, lets then take the
// steps that follow from it (closing, automatic dispatch), writes the
// request once, and publishes the events after commit.
func (e *Engine) Move(ctx context.Context, a *auth.Actor, id string, action Action, f Fill) (*Request, error) {
	return e.MoveThen(ctx, a, id, action, f, nil)
}

// MoveThen is Move with the steps that follow from it in the same
// transaction.
func (e *Engine) MoveThen(ctx context.Context, a *auth.Actor, id string, action Action, f Fill,
	then func(context.Context, *Work) error) (*Request, error) {
	return e.MoveChoosing(ctx, a, id, func(context.Context, Tx, *Request) (Action, error) { return action, nil }, f, then)
}

// MoveChoosing is MoveThen for a step whose action depends on what the
// transaction reads (a callback that closes, or that waits for the
// director's follow-up).
func (e *Engine) MoveChoosing(ctx context.Context, a *auth.Actor, id string, choose func(context.Context, Tx, *Request) (Action, error), f Fill,
	then func(context.Context, *Work) error) (*Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, apperr.ErrNotFound
	}
	now := e.Now()
	var out *Request
	events, err := e.store.InTx(ctx, func(tx Tx) error {
		r, err := tx.Request(ctx, id)
		if err != nil {
			return err
		}
		action, err := choose(ctx, tx, r)
		if err != nil {
			return err
		}
		if !Visible(a, r.Audience) {
			return e.unseen(ctx, tx, a, r, action)
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
		w := e.Work(tx, r, &a.PersonID, now)
		if err := w.Step(ctx, t, &a.PersonID, f); err != nil {
			return err
		}
		if then != nil {
			if err := then(ctx, w); err != nil {
				return err
			}
		}
		if err := w.Save(ctx); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.publish(ctx, events)
	return out, nil
}

// notifyEvent adds the notifications every event of its type causes: the
// new assignee hears of the job; the requester and the first-asker hear of
// every status change someone else makes.
func notifyEvent(r *Request, e *Event, c *Change) {
	tell := func(kind notification.Kind, title string, who *string) {
		if who != nil && (e.ActorID == nil || *who != *e.ActorID) {
			c.Notify(kind, title, *who)
		}
	}
	switch e.Type {
	case EvAssigned, EvReassigned, EvTransferred, EvClaimed, EvHandedOver, EvReopened:
		tell(notification.Assigned, fmt.Sprintf("Job %s is yours", r.Number), r.AssigneeID)
	}
	// The first-asker follows the request until the customer is
	// satisfied, so they hear of what moves no status too.
	switch e.Type {
	case EvTransferred:
		tell(notification.Progress, r.Number+" was transferred to another worker", r.FirstResponderID)
	case EvOnHold:
		tell(notification.Progress, r.Number+" is on hold", r.FirstResponderID)
	case EvResumed:
		tell(notification.Progress, r.Number+" has resumed", r.FirstResponderID)
	case EvRatingReplied:
		tell(notification.RatingReplied, "We replied to your rating of "+r.Number, &r.RequesterID)
	}
	if e.FromStatus != nil && *e.FromStatus != e.ToStatus {
		title := fmt.Sprintf("%s is now %s", r.Number, e.ToStatus)
		if e.Type == EvAccepted {
			// The customer's notice of acceptance carries the promise,
			// worded when the notices are staged (in the property's time).
			tell(notification.Accepted, "", &r.RequesterID)
		} else {
			tell(notification.StatusChanged, title, &r.RequesterID)
		}
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

func (e *Engine) publish(ctx context.Context, events []Event) {
	if e.pub != nil && len(events) > 0 {
		e.pub.Publish(context.WithoutCancel(ctx), events)
	}
}

// LastEvent is the event the latest step staged: a step that follows may
// still add to it (the dispatch rule on ACCEPTED) before the flush.
func (w *Work) LastEvent() *Event { return &w.events[len(w.events)-1] }

// unseen is the answer to a step on a request the actor may not see:
// NOT_FOUND, as for one that does not exist. The one exception is a claim
// lost to a colleague: staff of the pool's role saw the job in their pool
// a moment ago, so they hear that it was taken.
func (e *Engine) unseen(ctx context.Context, tx Tx, a *auth.Actor, r *Request, action Action) error {
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

// Aftercare is what finished work still owes, kept by the callback noun: a
// VIP household's director follow-up once the work is done, the callback
// (回訪) once the customer confirms it. The engine calls it after any step
// that reaches those statuses, whoever took it.
type Aftercare interface {
	// Completed follows a step that reported the work done.
	Completed(ctx context.Context, w *Work) error
	// Confirmed follows a step that confirmed it: how is CONFIRMED (the
	// customer) or AUTO_CONFIRMED (the server, for them).
	Confirmed(ctx context.Context, w *Work, how EventType) error
}

// Engine applies the transition table: the only writer of a request's
// status, used by every noun that moves a request.
type Engine struct {
	store Store
	clock clock.Clock
	pub   Publisher
	log   *slog.Logger
	after Aftercare
}

// NewEngine returns the engine over a store. pub may be nil.
func NewEngine(store Store, clk clock.Clock, pub Publisher, log *slog.Logger) *Engine {
	return &Engine{store: store, clock: clk, pub: pub, log: log}
}

// SetPublisher replaces the post-commit publisher.
func (e *Engine) SetPublisher(p Publisher) { e.pub = p }

// SetAftercare installs what completed and confirmed work owes.
func (e *Engine) SetAftercare(a Aftercare) { e.after = a }

// Now reads the clock at the precision PostgreSQL keeps, so that what a
// mutation returns equals what a later read returns.
func (e *Engine) Now() time.Time { return e.clock.Now().UTC().Truncate(time.Microsecond) }

// Run runs fn in one transaction and publishes the events it staged once
// the transaction has committed.
func (e *Engine) Run(ctx context.Context, fn func(Tx) error) error {
	events, err := e.store.InTx(ctx, fn)
	if err != nil {
		return err
	}
	e.publish(ctx, events)
	return nil
}
