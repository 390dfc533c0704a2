// Package stats is the service figures the admin console shows: how many
// requests, how fast, how many promises kept, how satisfied the customers
// were, per property and per local day, and per worker. The exact
// definitions are in docs/kpis.md; the SQL that computes them is in the
// postgres store.
package stats

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
)

// Query is one window of figures: requests created in [From, To) at the
// given properties (every property when PropertyIDs is nil). AsOf is when
// backlog figures (callbacks overdue, promises already broken) are taken:
// To, or now if To is still in the future.
type Query struct {
	PropertyIDs []string
	From, To    time.Time
	AsOf        time.Time
}

// Count is how many requests share one key (a status, or a category id).
type Count struct {
	Key   string
	Count int
}

// Figures are the KPIs of one set of requests. Rates are fractions 0-1 and
// nil, like medians and averages, where nothing was counted.
type Figures struct {
	Total                 int
	ByStatus              []Count
	ByCategory            []Count
	MedianAcceptMinutes   *float64
	P90AcceptMinutes      *float64
	MedianCompleteMinutes *float64
	P90CompleteMinutes    *float64
	PromiseKeptRate       *float64
	Breaches              int
	Escalations           int
	ReopenRate            *float64
	CallbackRate          *float64
	CallbacksOverdue      int
	AvgSatisfaction       *float64
}

// Day is the figures of the requests created on one local day.
type Day struct {
	// Date is the local date, YYYY-MM-DD, in the property's time zone.
	Date string
	Figures
}

// ServiceStats is a window's figures, in total and per local day.
type ServiceStats struct {
	Figures
	Daily []Day
}

// StaffStats is one worker's figures over a window, for the jobs assigned
// to them.
type StaffStats struct {
	PersonID        string   `db:"person_id"`
	JobsDone        int      `db:"jobs_done"`
	PromiseKeptRate *float64 `db:"promise_kept_rate"`
	Ratings         int      `db:"ratings"`
	AvgRating       *float64 `db:"avg_rating"`
	AvgTimeliness   *float64 `db:"avg_timeliness"`
	AvgAttitude     *float64 `db:"avg_attitude"`
	// Score is the worker's running score: the average overall rating of
	// every job of theirs ever rated, whatever the window.
	Score *float64 `db:"score"`
}

// RequestRow is one line of the request export.
type RequestRow struct {
	Number           string     `db:"number"`
	Property         string     `db:"property"`
	Category         string     `db:"category"`
	Unit             string     `db:"unit"`
	Status           string     `db:"status"`
	Channel          string     `db:"channel"`
	CreatedAt        time.Time  `db:"created_at"`
	AcceptedAt       *time.Time `db:"accepted_at"`
	CompletedAt      *time.Time `db:"completed_at"`
	PromisedAt       *time.Time `db:"promised_at"`
	PromiseKept      *bool      `db:"promise_kept"`
	Assignee         *string    `db:"assignee"`
	FirstResponder   *string    `db:"first_responder"`
	Rating           *int       `db:"rating"`
	RatingTimeliness *int       `db:"rating_timeliness"`
	RatingAttitude   *int       `db:"rating_attitude"`
	Reopened         bool       `db:"reopened"`
	Satisfaction     *int       `db:"satisfaction"`
}

// Store computes the figures; each method runs a fixed number of SQL
// statements whatever the window.
type Store interface {
	ServiceStats(ctx context.Context, q Query) (*ServiceStats, error)
	StaffStats(ctx context.Context, q Query) ([]StaffStats, error)
	// ExportRequests calls fn for each request of the window, oldest first,
	// as the rows arrive; it stops at fn's first error.
	ExportRequests(ctx context.Context, q Query, fn func(*RequestRow) error) error
}

// MaxWindow bounds a window, so one answer's daily series stays small.
const MaxWindow = 400 * 24 * time.Hour

// Service authorizes and answers questions about the figures.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns the stats service.
func NewService(store Store, clk clock.Clock) *Service {
	return &Service{store: store, clock: clk}
}

// Scope decides which properties a viewer's question covers. The service
// center of a property (agent, manager, director) and admins read its
// figures; other staff of the property are FORBIDDEN; anyone else hears
// NOT_FOUND, as for anything they may not see. Without a property, an admin
// reads every property and staff their own service centers'.
func (s *Service) Scope(a *auth.Actor, propertyID *string, from, to time.Time) (Query, error) {
	if !from.Before(to) {
		return Query{}, apperr.Invalid("to", "to must be after from")
	}
	if to.Sub(from) > MaxWindow {
		return Query{}, apperr.Invalid("to", "a window is at most 400 days")
	}
	q := Query{From: from, To: to, AsOf: to}
	if now := s.clock.Now(); now.Before(to) {
		q.AsOf = now
	}
	switch {
	case propertyID != nil:
		if _, err := uuid.Parse(*propertyID); err != nil {
			return Query{}, apperr.ErrNotFound
		}
		if !a.IsCenterAt(*propertyID) {
			if _, works := a.RoleAt(*propertyID); works {
				return Query{}, apperr.New(apperr.Forbidden, "only the service center and management read a property's figures")
			}
			return Query{}, apperr.ErrNotFound
		}
		q.PropertyIDs = []string{*propertyID}
	case a.Admin:
	default:
		q.PropertyIDs = a.CenterProperties()
		if len(q.PropertyIDs) == 0 {
			return Query{}, apperr.New(apperr.Forbidden, "only the service center and management read figures")
		}
	}
	return q, nil
}

// ServiceStats returns the figures of a window.
func (s *Service) ServiceStats(ctx context.Context, a *auth.Actor, propertyID *string, from, to time.Time) (*ServiceStats, error) {
	q, err := s.Scope(a, propertyID, from, to)
	if err != nil {
		return nil, err
	}
	return s.store.ServiceStats(ctx, q)
}

// StaffStats returns each worker's figures over a window, most jobs first.
func (s *Service) StaffStats(ctx context.Context, a *auth.Actor, propertyID *string, from, to time.Time) ([]StaffStats, error) {
	q, err := s.Scope(a, propertyID, from, to)
	if err != nil {
		return nil, err
	}
	return s.store.StaffStats(ctx, q)
}

// ExportRequests streams the window's requests to fn.
func (s *Service) ExportRequests(ctx context.Context, a *auth.Actor, propertyID *string, from, to time.Time, fn func(*RequestRow) error) error {
	q, err := s.Scope(a, propertyID, from, to)
	if err != nil {
		return err
	}
	return s.store.ExportRequests(ctx, q, fn)
}
