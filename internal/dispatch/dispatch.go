// Package dispatch decides who does the work: the rules a property sets per
// category (manual, automatic, or a grab pool), and staff availability.
package dispatch

import (
	"context"

	"github.com/kproperty/onestop/internal/apperr"
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
	Mode        Mode        `db:"mode"`
	Role        person.Role `db:"role"`
	MaxOpenJobs int         `db:"max_open_jobs"`
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
}

// Service lets staff say whether they can take work.
type Service struct{ store Store }

// NewService returns the availability service.
func NewService(store Store) *Service { return &Service{store: store} }

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
