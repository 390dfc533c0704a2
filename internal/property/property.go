// Package property holds the estates and buildings the company manages, their
// households, and each property's service catalogue.
package property

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

// Kind is what a property is used for.
type Kind string

// The kinds of property.
const (
	Office      Kind = "OFFICE"
	Residential Kind = "RESIDENTIAL"
	Mixed       Kind = "MIXED"
)

// ServiceMode is how a property serves its customers (服務模式).
type ServiceMode string

// The supported modes; the manual's obsolete multi-point mode is not.
const (
	ServiceCenter ServiceMode = "SERVICE_CENTER"
	ButlerMode    ServiceMode = "BUTLER"
)

// Property is one estate (小區) or building (大廈) with its own
// management office.
type Property struct {
	ID          string      `db:"id"`
	Code        string      `db:"code"`
	Name        string      `db:"name"`
	Kind        Kind        `db:"kind"`
	Grade       string      `db:"grade"`
	ServiceMode ServiceMode `db:"service_mode"`
	TimeZone    string      `db:"time_zone"`
}

// Location returns the property's time zone; local dates (request numbers,
// daily figures) are counted in it.
func (p Property) Location() *time.Location {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		// The zone is validated when a property is stored, so this only
		// guards against a host without zone data.
		return time.UTC
	}
	return loc
}

// Building is a block of a property.
type Building struct {
	ID         string `db:"id"`
	PropertyID string `db:"property_id"`
	Code       string `db:"code"`
	Name       string `db:"name"`
}

// Unit is a household: residents are linked to it, and VIP status is its own.
type Unit struct {
	ID         string `db:"id"`
	PropertyID string `db:"property_id"`
	BuildingID string `db:"building_id"`
	Code       string `db:"code"`
	VIP        bool   `db:"vip"`
}

// CategoryKind groups the catalogue as the manual does.
type CategoryKind string

// The catalogue's kinds.
const (
	Repair       CategoryKind = "REPAIR"
	Cleaning     CategoryKind = "CLEANING"
	Housekeeping CategoryKind = "HOUSEKEEPING"
	Special      CategoryKind = "SPECIAL"
	Contracted   CategoryKind = "CONTRACTED"
	Featured     CategoryKind = "FEATURED"
	Complaint    CategoryKind = "COMPLAINT"
	Inquiry      CategoryKind = "INQUIRY"
	GuidedVisit  CategoryKind = "GUIDED_VISIT"
)

// Category is one kind of request a customer can make at a property.
type Category struct {
	ID            string       `db:"id"`
	PropertyID    string       `db:"property_id"`
	Code          string       `db:"code"`
	Kind          CategoryKind `db:"kind"`
	Name          string       `db:"name"`
	NameZh        string       `db:"name_zh"`
	TargetMinutes int          `db:"target_minutes"`
	PriceCents    *int64       `db:"price_cents"`
	Currency      *string      `db:"currency"`
	Active        bool         `db:"active"`
	// BusinessHoursOnly counts the target in the property's business
	// hours rather than around the clock.
	BusinessHoursOnly bool `db:"business_hours_only"`
	// Skill is what a worker needs for this job (plumbing, electrical).
	Skill *string `db:"skill"`
	// CallbackPolicy says when the service center calls back after the
	// customer confirms.
	CallbackPolicy CallbackPolicy `db:"callback_policy"`
}

// PromiseSettings are a property's rules for the promise clock.
type PromiseSettings struct {
	Open, Close time.Duration
	Days        []time.Weekday
	// WarnFraction is how much of the promised time may pass before the
	// early warning.
	WarnFraction float64
	// DirectorAfter is how long after the manager's escalation the
	// director is called in.
	DirectorAfter time.Duration
}

// CallbackPolicy is a category's rule for the service center's callback (回訪).
type CallbackPolicy string

// The policies. ONLY_UNRATED calls back only when the customer left no
// rating: a rating already says how the work went.
const (
	CallbackAlways      CallbackPolicy = "ALWAYS"
	CallbackNever       CallbackPolicy = "NEVER"
	CallbackOnlyUnrated CallbackPolicy = "ONLY_UNRATED"
)

// WantsCallback reports whether a confirmed request of the category is owed
// a callback, given whether the customer rated it.
func (p CallbackPolicy) WantsCallback(rated bool) bool {
	switch p {
	case CallbackNever:
		return false
	case CallbackOnlyUnrated:
		return !rated
	}
	return true
}

// SettingsStore is the storage property settings need.
type SettingsStore interface {
	PromiseSettings(ctx context.Context, propertyID string) (PromiseSettings, error)
	SavePromiseSettings(ctx context.Context, propertyID string, s PromiseSettings) error
}

// SettingsService lets a property's management tune its promise clock.
type SettingsService struct{ store SettingsStore }

// NewSettingsService returns the settings service.
func NewSettingsService(store SettingsStore) *SettingsService { return &SettingsService{store: store} }

// SettingsChange is a partial update: nil fields stay as they are.
type SettingsChange struct {
	Open, Close   *time.Duration
	Days          []time.Weekday
	WarnFraction  *float64
	DirectorAfter *time.Duration
}

// PromiseSettings returns a property's promise clock rules, for its staff.
func (s *SettingsService) PromiseSettings(ctx context.Context, a *auth.Actor, propertyID string) (PromiseSettings, error) {
	if _, err := uuid.Parse(propertyID); err != nil {
		return PromiseSettings{}, apperr.ErrNotFound
	}
	if _, staff := a.RoleAt(propertyID); !staff && !a.Admin {
		return PromiseSettings{}, apperr.ErrNotFound
	}
	return s.store.PromiseSettings(ctx, propertyID)
}

// UpdatePromiseSettings changes a property's business hours, warning point
// or director delay. A manager or director of the property, or an admin.
func (s *SettingsService) UpdatePromiseSettings(ctx context.Context, a *auth.Actor, propertyID string, c SettingsChange) (PromiseSettings, error) {
	if _, err := uuid.Parse(propertyID); err != nil {
		return PromiseSettings{}, apperr.ErrNotFound
	}
	role, staff := a.RoleAt(propertyID)
	if !staff && !a.Admin {
		return PromiseSettings{}, apperr.ErrNotFound
	}
	if !a.Admin && role != person.Manager && role != person.Director {
		return PromiseSettings{}, apperr.New(apperr.Forbidden, "a manager or director of the property sets its promise clock")
	}
	cur, err := s.store.PromiseSettings(ctx, propertyID)
	if err != nil {
		return PromiseSettings{}, err
	}
	if c.Open != nil {
		cur.Open = *c.Open
	}
	if c.Close != nil {
		cur.Close = *c.Close
	}
	if c.Days != nil {
		cur.Days = c.Days
	}
	if c.WarnFraction != nil {
		cur.WarnFraction = *c.WarnFraction
	}
	if c.DirectorAfter != nil {
		cur.DirectorAfter = *c.DirectorAfter
	}
	switch {
	case cur.Open < 0 || cur.Close > 24*time.Hour || cur.Open >= cur.Close:
		return PromiseSettings{}, apperr.Invalid("businessHours", "business hours must open before they close, within one day")
	case len(cur.Days) == 0:
		return PromiseSettings{}, apperr.Invalid("businessDays", "at least one business day")
	case cur.WarnFraction <= 0 || cur.WarnFraction >= 1:
		return PromiseSettings{}, apperr.Invalid("warnFraction", "warnFraction must be between 0 and 1, e.g. 0.8")
	case cur.DirectorAfter < time.Minute:
		return PromiseSettings{}, apperr.Invalid("directorAfterMinutes", "directorAfterMinutes must be at least 1")
	}
	for _, d := range cur.Days {
		if d < time.Sunday || d > time.Saturday {
			return PromiseSettings{}, apperr.Invalid("businessDays", "business days are 1 (Monday) to 7 (Sunday)")
		}
	}
	if err := s.store.SavePromiseSettings(ctx, propertyID, cur); err != nil {
		return PromiseSettings{}, err
	}
	return cur, nil
}
