package request

import (
	"context"
	"fmt"
	"time"

	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
)

// ClockStep is one rung of the promise clock the scheduler watches for.
type ClockStep string

// The steps, in the order each tick takes them.
const (
	// StepResume ends holds whose planned resume time has come.
	StepResume ClockStep = "resume"
	// StepWarn fires the early warning (e.g. at 80 % of the promised time).
	StepWarn ClockStep = "warn"
	// StepBreach marks a broken promise and escalates to the manager.
	StepBreach ClockStep = "breach"
	// StepDirector escalates a still-open breach to the director.
	StepDirector ClockStep = "director"
)

var centerRoles = []person.Role{person.Agent, person.Manager, person.Director}

// Tick advances every promise clock to now: planned resumes, warnings,
// breaches and escalations. Each fires once however many instances tick at
// the same time: rows are claimed with SKIP LOCKED, and each step's mark
// (warned_at, breached_at, escalation_level) is written with its event.
func (s *Service) Tick(ctx context.Context) (int, error) {
	total := 0
	for _, step := range []ClockStep{StepResume, StepWarn, StepBreach, StepDirector} {
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
var clockActions = map[ClockStep]Action{StepResume: PlannedResume, StepWarn: Warn, StepBreach: Breach, StepDirector: Escalate}

func (s *Service) tickStep(ctx context.Context, step ClockStep) (int, error) {
	now := s.now()
	n := 0
	events, err := s.store.InTx(ctx, func(tx Tx) error {
		due, err := tx.Due(ctx, step, now, tickBatch)
		if err != nil {
			return err
		}
		n = len(due)
		for _, r := range due {
			w := s.work(tx, r, nil, now)
			done, err := w.system(ctx, clockActions[step], nil, func(tx Tx, r *Request, c *change) error {
				return s.clockStep(ctx, tx, step, r, c, now)
			})
			if err != nil {
				return err
			}
			if !done {
				continue
			}
			if err := w.save(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.publish(ctx, events)
	return n, nil
}

func (s *Service) clockStep(ctx context.Context, tx Tx, step ClockStep, r *Request, c *change, now time.Time) error {
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
		c.ev.Note = &note
		resume(r, c, now)
	case StepWarn:
		r.WarnedAt = &now
		c.ev.Data = mustJSON(map[string]any{"dueAt": r.DueAt})
		c.notify(notification.Warning, fmt.Sprintf("%s is due at %s", r.Number, r.DueAt.UTC().Format(time.RFC3339)), owners...)
	case StepBreach:
		r.BreachedAt = &now
		r.BreachCount++
		c.ev.Data = mustJSON(map[string]any{"dueAt": r.DueAt})
		c.notify(notification.Breach, "The promise on "+r.Number+" is broken", owners...)
		return s.escalate(ctx, tx, r, c, now, 1, person.Manager)
	case StepDirector:
		return s.escalate(ctx, tx, r, c, now, 2, person.Director)
	}
	return nil
}

// escalate climbs the ladder: level 1 is the property's manager, level 2
// its director.
func (s *Service) escalate(ctx context.Context, tx Tx, r *Request, c *change, now time.Time, level int, to person.Role) error {
	r.EscalationLevel, r.EscalatedAt = level, &now
	r.EscalationCount++
	ev := Event{Type: EvEscalated, FromStatus: ptrStatus(r.Status), ToStatus: r.Status,
		Data: mustJSON(map[string]any{"level": level, "to": to})}
	if c.ev.Type == EvEscalated {
		*c.ev = ev
	} else {
		c.also(ev)
	}
	people, err := tx.StaffWithRole(ctx, r.PropertyID, to)
	if err != nil {
		return err
	}
	c.notify(notification.Escalation, fmt.Sprintf("%s escalated to the %s", r.Number, map[person.Role]string{person.Manager: "manager", person.Director: "director"}[to]), people...)
	return nil
}
