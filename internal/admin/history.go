package admin

import (
	"context"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
)

// PortfolioPeriod is one stretch of a household in a butler's portfolio,
// from an assignment or handover to the next, with the visits the butler
// logged to it meanwhile.
type PortfolioPeriod struct {
	UnitID     string     `db:"unit_id"`
	ButlerID   string     `db:"butler_id"`
	From       time.Time  `db:"from_at"`
	To         *time.Time `db:"to_at"`
	AssignedBy *string    `db:"assigned_by"`
	Visits     int        `db:"visits"`
	LastVisit  *time.Time `db:"last_visit_at"`
}

// HistoryFilter narrows a portfolio history to a household or a butler.
type HistoryFilter struct {
	UnitID, ButlerID *string
	Limit            int
}

// ButlerPortfolioHistory answers who had which household when, newest
// first, with each butler's visits in their stretch. A household or
// butler of another property matches nothing, as one that does not
// exist. For the property's service center and admins.
func (s *Service) ButlerPortfolioHistory(ctx context.Context, a *auth.Actor, propertyID string, f HistoryFilter) ([]PortfolioPeriod, error) {
	if err := s.center(a, propertyID); err != nil {
		return nil, err
	}
	for _, id := range []*string{f.UnitID, f.ButlerID} {
		if id != nil {
			if err := parseID(*id); err != nil {
				return []PortfolioPeriod{}, nil
			}
		}
	}
	if f.Limit < 1 || f.Limit > 200 {
		return nil, apperr.Invalid("first", "first must be 1-200")
	}
	return s.store.PortfolioHistory(ctx, propertyID, f)
}
