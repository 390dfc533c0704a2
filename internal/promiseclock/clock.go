// Package promiseclock runs the promise clock (承諾時間) of every open
// request: planned resumes of holds, the early warning, the breach and the
// escalation ladder (manager, then director). Each is a row of the request
// transition table that the server takes on its own.
package promiseclock

import (
	"context"
	"fmt"
	"time"

	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/request"
)

// Store finds the requests whose clock has reached a step.
type Store interface {
	// Tx is the clock's side of a request transaction.
	Tx(request.Tx) Tx
}

// Tx is what the clock claims inside a transaction.
type Tx interface {
	// Due locks up to limit requests whose promise clock has reached the
	// given step, skipping rows other instances hold.
	Due(ctx context.Context, step Step, now time.Time, limit int) ([]*request.Request, error)
}

// Clock advances the promise clocks through the request engine.
type Clock struct {
	req   *request.Service
	store Store
}

// New returns the promise clock.
func New(req *request.Service, store Store) *Clock { return &Clock{req: req, store: store} }

// Step is one rung of the promise clock the scheduler watches for.
type Step string

// The steps, in the order each tick takes them.
const (
	// StepResume ends holds whose planned resume time has come.
	StepResume Step = "resume"
	// StepWarn fires the early warning (e.g. at 80 % of the promised time).
	StepWarn Step = "warn"
	// StepBreach marks a broken promise and escalates to the manager.
	StepBreach Step = "breach"
	// StepDirector escalates a still-open breach to the director.
	StepDirector Step = "director"
)

// Tick advances every promise clock to now: planned resumes, warnings,
// breaches and escalations. Each fires once however many instances tick at
// the same time: rows are claimed with SKIP LOCKED, and each step's mark
// (warned_at, breached_at, escalation_level) is written with its event.
func (s *Clock) Tick(ctx context.Context) (int, error) {
	total := 0
	for _, step := range []Step{StepResume, StepWarn, StepBreach, StepDirector} {
		for {
			n, err := s.tickStep(ctx, step)
			total += n
			if err != nil {
				return total, fmt.Errorf("promise clock %s: %w", step, err)
			}
			if n < tickBatch {
				break
			}
		}
	}
	return total, nil
}

const tickBatch = 100

// clockActions is the table row each step of the clock takes.
var clockActions = map[Step]request.Action{StepResume: request.PlannedResume, StepWarn: request.Warn, StepBreach: request.Breach, StepDirector: request.Escalate}

func (s *Clock) tickStep(ctx context.Context, step Step) (int, error) {
	now := s.req.Now()
	n := 0
	err := s.req.Run(ctx, func(tx request.Tx) error {
		due, err := s.store.Tx(tx).Due(ctx, step, now, tickBatch)
		if err != nil {
			return err
		}
		n = len(due)
		for _, r := range due {
			w := s.req.Work(tx, r, nil, now)
			done, err := w.System(ctx, clockActions[step], nil, func(tx request.Tx, r *request.Request, c *request.Change) error {
				return s.clockStep(ctx, tx, step, r, c, now)
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
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (s *Clock) clockStep(ctx context.Context, tx request.Tx, step Step, r *request.Request, c *request.Change, now time.Time) error {
	owners := []string{}
	if r.AssigneeID != nil {
		owners = append(owners, *r.AssigneeID)
	}
	if r.FirstResponderID != nil {
		owners = append(owners, *r.FirstResponderID)
	}
	switch step {
	case StepResume:
		note := "resumed at the planned time"
		c.Ev.Note = &note
		paused := r.EndHold(now)
		c.Ev.Data = request.EventData(map[string]any{"pausedSeconds": int(paused.Seconds()), "dueAt": r.DueAt})
	case StepWarn:
		r.WarnedAt = &now
		c.Ev.Data = request.EventData(map[string]any{"dueAt": r.DueAt})
		c.Notify(notification.Warning, fmt.Sprintf("%s is due at %s", r.Number, r.DueAt.UTC().Format(time.RFC3339)), owners...)
	case StepBreach:
		r.BreachedAt = &now
		r.BreachCount++
		c.Ev.Data = request.EventData(map[string]any{"dueAt": r.DueAt})
		c.Notify(notification.Breach, "The promise on "+r.Number+" is broken", owners...)
		return s.escalate(ctx, tx, r, c, now, 1, person.Manager)
	case StepDirector:
		return s.escalate(ctx, tx, r, c, now, 2, person.Director)
	}
	return nil
}

// escalate climbs the ladder: level 1 is the property's manager, level 2
// its director.
func (s *Clock) escalate(ctx context.Context, tx request.Tx, r *request.Request, c *request.Change, now time.Time, level int, to person.Role) error {
	r.EscalationLevel, r.EscalatedAt = level, &now
	r.EscalationCount++
	from := r.Status
	ev := request.Event{Type: request.EvEscalated, FromStatus: &from, ToStatus: r.Status,
		Data: request.EventData(map[string]any{"level": level, "to": to})}
	if c.Ev.Type == request.EvEscalated {
		*c.Ev = ev
	} else {
		c.Also(ev)
	}
	people, err := tx.StaffWithRole(ctx, r.PropertyID, to)
	if err != nil {
		return err
	}
	c.Notify(notification.Escalation, fmt.Sprintf("%s escalated to the %s", r.Number, map[person.Role]string{person.Manager: "manager", person.Director: "director"}[to]), people...)
	return nil
}
