// Package dispatch decides who does the work: the rules a property sets per
// category (manual, automatic, or a grab pool), and staff availability.
package dispatch

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/person"
)

// Mode is how a category's jobs reach workers.
type Mode string

// The dispatch modes.
const (
	// Manual: the service center picks the worker.
	Manual Mode = "MANUAL"
	// Auto: the available eligible worker with the fewest open jobs, under
	// the cap, preferring one whose zone is the request's building.
	Auto Mode = "AUTO"
	// Pool: eligible workers see the job and the first to claim it wins.
	Pool Mode = "POOL"
)

// Rule is how a property dispatches one category (or all of them).
type Rule struct {
	PropertyID string `db:"property_id" json:"propertyId"`
	// CategoryID is nil for the property's default rule.
	CategoryID  *string     `db:"category_id" json:"categoryId"`
	Mode        Mode        `db:"mode" json:"mode"`
	Role        person.Role `db:"role" json:"role"`
	MaxOpenJobs int         `db:"max_open_jobs" json:"maxOpenJobs"`
}

// ManualRule applies where a property has set no rule.
var ManualRule = Rule{Mode: Manual, Role: person.Technician, MaxOpenJobs: 5}

// Availability is whether a staff member can take work now.
type Availability string

// The availabilities. Starting a job makes a worker BUSY and finishing
// their last one frees them; OFF_DUTY is only ever set by the person.
const (
	Available Availability = "AVAILABLE"
	Busy      Availability = "BUSY"
	OffDuty   Availability = "OFF_DUTY"
)

// Valid reports whether a is a known availability.
func (a Availability) Valid() bool {
	return a == Available || a == Busy || a == OffDuty
}

// Store is the storage availability needs.
type Store interface {
	// SetAvailability sets the person's availability wherever they work;
	// it reports false when they work nowhere.
	SetAvailability(ctx context.Context, personID string, a Availability) (bool, error)
	// AvailabilityOf returns the person's availability, nil for non-staff.
	AvailabilityOf(ctx context.Context, personID string) (*Availability, error)
	// SaveRule creates or replaces the rule for its property and category,
	// then, in the same transaction, calls record with the rule it
	// replaced (nil: there was none).
	SaveRule(ctx context.Context, r Rule, record func(w audit.Writer, before *Rule) error) error
	// RemoveRule deletes the rule for the property and category (nil: its
	// default) and, in the same transaction, calls record with it; it
	// reports false, recording nothing, when there was none.
	RemoveRule(ctx context.Context, propertyID string, categoryID *string, record func(w audit.Writer, before Rule) error) (bool, error)
	// Rules lists a property's rules, the default first.
	Rules(ctx context.Context, propertyID string) ([]Rule, error)
	// CategoryProperty returns the property a category belongs to, or
	// apperr.ErrNotFound.
	CategoryProperty(ctx context.Context, categoryID string) (string, error)
	// SaveProfile replaces a staff member's skills and sets their zone at a
	// property; it reports false when they do not work there, and an
	// INVALID_INPUT when the zone is not one of its buildings. In the same
	// transaction it calls record with the profile it replaced.
	SaveProfile(ctx context.Context, p Profile, record func(w audit.Writer, before Profile) error) (bool, error)
}

// Profile is what automatic dispatch knows of a worker at a property.
type Profile struct {
	PersonID   string `json:"personId"`
	PropertyID string `json:"propertyId"`
	// Skills replace the person's skills (they go with the person, not
	// the property).
	Skills []string `json:"skills"`
	// ZoneBuildingID is the building they usually work in, if any.
	ZoneBuildingID *string `json:"zoneBuildingId"`
}

// Service lets staff say whether they can take work, and a property's
// management set its dispatch rules and staff profiles.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns the dispatch service; clk dates its audit entries.
func NewService(store Store, clk clock.Clock) *Service { return &Service{store: store, clock: clk} }

// SetAvailability records a staff member's own availability.
func (s *Service) SetAvailability(ctx context.Context, personID string, a Availability) error {
	if !a.Valid() {
		return apperr.Invalid("status", "status must be AVAILABLE, BUSY or OFF_DUTY")
	}
	ok, err := s.store.SetAvailability(ctx, personID, a)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.Forbidden, "only staff have an availability")
	}
	return nil
}

// AvailabilityOf returns a person's availability, nil for residents.
func (s *Service) AvailabilityOf(ctx context.Context, personID string) (*Availability, error) {
	return s.store.AvailabilityOf(ctx, personID)
}

// canConfigure reports whether the actor sets a property's dispatch: its
// manager or director, or an admin.
func canConfigure(a *auth.Actor, propertyID string) bool {
	role, _ := a.RoleAt(propertyID)
	return a.Admin || role == person.Manager || role == person.Director
}

// SetRule creates or replaces a property's dispatch rule for a category
// (or its default, with no category).
func (s *Service) SetRule(ctx context.Context, a *auth.Actor, r Rule) (*Rule, error) {
	if _, err := uuid.Parse(r.PropertyID); err != nil {
		return nil, apperr.ErrNotFound
	}
	if _, staff := a.RoleAt(r.PropertyID); !staff && !a.Admin {
		return nil, apperr.ErrNotFound
	}
	if !canConfigure(a, r.PropertyID) {
		return nil, apperr.New(apperr.Forbidden, "a manager or director of the property sets its dispatch rules")
	}
	switch r.Mode {
	case Manual, Auto, Pool:
	default:
		return nil, apperr.Invalid("mode", "mode must be MANUAL, AUTO or POOL")
	}
	switch r.Role {
	case person.Agent, person.Butler, person.Technician, person.Cleaner, person.Guard, person.Manager:
	default:
		return nil, apperr.Invalid("role", "jobs go to agents, butlers, technicians, cleaners, guards or managers")
	}
	if r.MaxOpenJobs < 1 || r.MaxOpenJobs > 100 {
		return nil, apperr.Invalid("maxOpenJobs", "maxOpenJobs must be from 1 to 100")
	}
	if r.CategoryID != nil {
		if _, err := uuid.Parse(*r.CategoryID); err != nil {
			return nil, apperr.Invalid("categoryId", "no such category at this property")
		}
		prop, err := s.store.CategoryProperty(ctx, *r.CategoryID)
		if apperr.CodeOf(err) == apperr.NotFound || (err == nil && prop != r.PropertyID) {
			return nil, apperr.Invalid("categoryId", "no such category at this property")
		} else if err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	err := s.store.SaveRule(ctx, r, func(w audit.Writer, before *Rule) error {
		id := "default"
		if r.CategoryID != nil {
			id = *r.CategoryID
		}
		return audit.Record(ctx, w, audit.Change{ActorID: a.PersonID, At: now, PropertyID: &r.PropertyID, Action: "setDispatchRule",
			Entity: "dispatchRule", EntityID: id, Before: before, After: r})
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// RemoveRule removes a property's rule for a category, whose jobs then
// follow the default rule, or (no category) the default rule, after which
// jobs without a rule of their own are dispatched by hand. It reports
// whether there was a rule. A manager or director of the property, or an
// admin.
func (s *Service) RemoveRule(ctx context.Context, a *auth.Actor, propertyID string, categoryID *string) (bool, error) {
	if _, err := uuid.Parse(propertyID); err != nil {
		return false, apperr.ErrNotFound
	}
	if _, staff := a.RoleAt(propertyID); !staff && !a.Admin {
		return false, apperr.ErrNotFound
	}
	if !canConfigure(a, propertyID) {
		return false, apperr.New(apperr.Forbidden, "a manager or director of the property sets its dispatch rules")
	}
	if categoryID != nil {
		if _, err := uuid.Parse(*categoryID); err != nil {
			return false, nil // no such category, so no rule for it
		}
	}
	now := s.clock.Now()
	return s.store.RemoveRule(ctx, propertyID, categoryID, func(w audit.Writer, before Rule) error {
		id := "default"
		if categoryID != nil {
			id = *categoryID
		}
		return audit.Record(ctx, w, audit.Change{ActorID: a.PersonID, At: now, PropertyID: &propertyID, Action: "removeDispatchRule",
			Entity: "dispatchRule", EntityID: id, Before: before})
	})
}

// Rules lists a property's dispatch rules for its staff.
func (s *Service) Rules(ctx context.Context, a *auth.Actor, propertyID string) ([]Rule, error) {
	if _, err := uuid.Parse(propertyID); err != nil {
		return nil, apperr.ErrNotFound
	}
	if _, staff := a.RoleAt(propertyID); !staff && !a.Admin {
		return nil, apperr.ErrNotFound
	}
	return s.store.Rules(ctx, propertyID)
}

// SetProfile records a worker's skills and zone, which automatic dispatch
// matches against categories and buildings.
func (s *Service) SetProfile(ctx context.Context, a *auth.Actor, p Profile) (*Profile, error) {
	for _, id := range []string{p.PersonID, p.PropertyID} {
		if _, err := uuid.Parse(id); err != nil {
			return nil, apperr.ErrNotFound
		}
	}
	if _, staff := a.RoleAt(p.PropertyID); !staff && !a.Admin {
		return nil, apperr.ErrNotFound
	}
	if !canConfigure(a, p.PropertyID) {
		return nil, apperr.New(apperr.Forbidden, "a manager or director of the property sets its staff's skills and zones")
	}
	if p.ZoneBuildingID != nil {
		if _, err := uuid.Parse(*p.ZoneBuildingID); err != nil {
			return nil, apperr.Invalid("zoneBuildingId", "no such building at this property")
		}
	}
	seen := map[string]bool{}
	skills := []string{}
	for _, sk := range p.Skills {
		sk = strings.ToLower(strings.TrimSpace(sk))
		if sk == "" || len(sk) > 40 {
			return nil, apperr.Invalid("skills", "a skill is a short name such as plumbing")
		}
		if !seen[sk] {
			seen[sk] = true
			skills = append(skills, sk)
		}
	}
	p.Skills = skills
	now := s.clock.Now()
	ok, err := s.store.SaveProfile(ctx, p, func(w audit.Writer, before Profile) error {
		return audit.Record(ctx, w, audit.Change{ActorID: a.PersonID, At: now, PropertyID: &p.PropertyID, Action: "setStaffProfile",
			Entity: "person", EntityID: p.PersonID, Before: before, After: p})
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Invalid("personId", "not a staff member of this property")
	}
	return &p, nil
}
