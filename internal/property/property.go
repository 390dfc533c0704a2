// Package property holds the estates and buildings the company manages, their
// households, and each property's service catalogue.
package property

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
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
	// NameZh is the name in Traditional Chinese; Name is the English one.
	NameZh  string `db:"name_zh"`
	Address string `db:"address"`
}

// Location returns the property's time zone; local dates (request numbers,
// daily figures) are counted in it. The stores hand out only properties
// whose zone loads (see LoadTimeZone), so a zone that does not load here is
// a property built by hand: that is a bug, and it panics rather than count
// local dates in UTC.
func (p Property) Location() *time.Location {
	loc, err := p.LoadLocation()
	if err != nil {
		panic(err)
	}
	return loc
}

// LoadLocation returns the property's time zone, or an error naming the
// property and the zone when it cannot be loaded.
func (p Property) LoadLocation() (*time.Location, error) {
	loc, err := LoadTimeZone(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("property %s: %w", p.Code, err)
	}
	return loc, nil
}

// LoadTimeZone loads an IANA time zone such as Asia/Hong_Kong. Unlike
// time.LoadLocation it refuses the empty name and "Local", which would mean
// UTC or the host's zone rather than the property's.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q is not an IANA zone name such as Asia/Hong_Kong", name)
	}
	// time.LoadLocation reads and parses the zone's file on every call, and
	// every submission and step asks for its property's zone; the zone
	// database does not change while the process runs.
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q cannot be loaded: %w", name, err)
	}
	zones.Store(name, loc)
	return loc, nil
}

// zones holds the zones LoadTimeZone has loaded, by name; a name that
// failed to load is not kept, so it is tried again.
var zones sync.Map

// Building is a block of a property.
type Building struct {
	ID         string `db:"id"`
	PropertyID string `db:"property_id"`
	Code       string `db:"code"`
	Name       string `db:"name"`
	// NameZh is the name in Traditional Chinese.
	NameZh string `db:"name_zh"`
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
// MaxPriceCents bounds a catalogue price: ten million in the currency
// (a thousand times the dearest contracted service), well inside the
// integers a JavaScript client reads exactly (2^53).
const MaxPriceCents = 1_000_000_000

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
	// UpdatePromiseSettings reads a property's settings, passes them to
	// change and writes what it returns, all in one transaction with the
	// property locked, so that two managers changing different settings
	// at once both keep their change. change records the change to the
	// audit log through w, in the same transaction; an error from change
	// writes nothing.
	UpdatePromiseSettings(ctx context.Context, propertyID string, change func(w audit.Writer, cur PromiseSettings) (PromiseSettings, error)) (PromiseSettings, error)
}

// SettingsService lets a property's management tune its promise clock.
type SettingsService struct {
	store SettingsStore
	clock clock.Clock
}

// NewSettingsService returns the settings service; clk dates its audit
// entries.
func NewSettingsService(store SettingsStore, clk clock.Clock) *SettingsService {
	return &SettingsService{store: store, clock: clk}
}

// settingsView is how the audit log shows promise settings: as the API
// spells them, not as nanoseconds.
type settingsView struct {
	BusinessOpen         string  `json:"businessOpen"`
	BusinessClose        string  `json:"businessClose"`
	BusinessDays         []int   `json:"businessDays"`
	WarnFraction         float64 `json:"warnFraction"`
	DirectorAfterMinutes int     `json:"directorAfterMinutes"`
}

func viewSettings(ps PromiseSettings) settingsView {
	hhmm := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	v := settingsView{BusinessOpen: hhmm(ps.Open), BusinessClose: hhmm(ps.Close), BusinessDays: []int{},
		WarnFraction: ps.WarnFraction, DirectorAfterMinutes: int(ps.DirectorAfter / time.Minute)}
	for _, d := range ps.Days {
		iso := int(d)
		if d == time.Sunday {
			iso = 7
		}
		v.BusinessDays = append(v.BusinessDays, iso)
	}
	return v
}

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
	now := s.clock.Now()
	return s.store.UpdatePromiseSettings(ctx, propertyID, func(w audit.Writer, cur PromiseSettings) (PromiseSettings, error) {
		next, err := c.apply(cur)
		if err != nil {
			return PromiseSettings{}, err
		}
		return next, audit.Record(ctx, w, audit.Change{ActorID: a.PersonID, At: now, PropertyID: &propertyID, Action: "setPromiseSettings",
			Entity: "property", EntityID: propertyID, Before: viewSettings(cur), After: viewSettings(next)})
	})
}

// apply applies the change to the current settings and checks the result.
func (c SettingsChange) apply(cur PromiseSettings) (PromiseSettings, error) {
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
	return cur, nil
}

// CatalogueStore is the storage the catalogue needs.
type CatalogueStore interface {
	// SaveCategory creates the category, or replaces the one with the same
	// property and code, and sets its id; then, in the same transaction,
	// calls record with how the category was before (nil: it is new).
	SaveCategory(ctx context.Context, c *Category, record func(w audit.Writer, before *Category) error) error
}

// CatalogueService lets a property's management keep its service catalogue.
type CatalogueService struct {
	store CatalogueStore
	clock clock.Clock
}

// NewCatalogueService returns the catalogue service; clk dates its audit
// entries.
func NewCatalogueService(store CatalogueStore, clk clock.Clock) *CatalogueService {
	return &CatalogueService{store: store, clock: clk}
}

// Save creates or updates a category (matched by property and code). A
// manager or director of the property, or an admin, keeps the catalogue.
// Retiring a category (Active false) keeps its past requests intact.
func (s *CatalogueService) Save(ctx context.Context, a *auth.Actor, c Category) (*Category, error) {
	if _, err := uuid.Parse(c.PropertyID); err != nil {
		return nil, apperr.ErrNotFound
	}
	role, staff := a.RoleAt(c.PropertyID)
	if !staff && !a.Admin {
		return nil, apperr.ErrNotFound
	}
	if !a.Admin && role != person.Manager && role != person.Director {
		return nil, apperr.New(apperr.Forbidden, "a manager or director of the property keeps its catalogue")
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	err := s.store.SaveCategory(ctx, &c, func(w audit.Writer, before *Category) error {
		// Creating, editing and retiring (active false) are one call; the
		// entry's before and after tell which it was.
		return audit.Record(ctx, w, audit.Change{ActorID: a.PersonID, At: now, PropertyID: &c.PropertyID, Action: "saveServiceCategory",
			Entity: "serviceCategory", EntityID: c.ID, Before: before, After: c})
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Category) validate() error {
	c.Code, c.Name, c.NameZh = strings.TrimSpace(c.Code), strings.TrimSpace(c.Name), strings.TrimSpace(c.NameZh)
	switch {
	case !categoryCode.MatchString(c.Code):
		return apperr.Invalid("code", "code is 2-40 lowercase letters, digits and dashes, e.g. aircon-wash")
	case c.Name == "" || c.NameZh == "":
		return apperr.Invalid("name", "both the English and the Chinese name are needed")
	case c.TargetMinutes < 1 || c.TargetMinutes > 60*24*90:
		return apperr.Invalid("completionTargetMinutes", "the completion target is from 1 minute to 90 days")
	}
	switch c.Kind {
	case Repair, Cleaning, Housekeeping, Special, Contracted, Featured, Complaint, Inquiry, GuidedVisit:
	default:
		return apperr.Invalid("kind", "unknown kind %q", c.Kind)
	}
	switch c.CallbackPolicy {
	case "":
		c.CallbackPolicy = CallbackAlways
	case CallbackAlways, CallbackNever, CallbackOnlyUnrated:
	default:
		return apperr.Invalid("callbackPolicy", "unknown callback policy %q", c.CallbackPolicy)
	}
	if (c.PriceCents == nil) != (c.Currency == nil) {
		return apperr.Invalid("price", "a price has both an amount and a currency")
	}
	if c.PriceCents != nil && (*c.PriceCents < 0 || !currencyCode.MatchString(*c.Currency)) {
		return apperr.Invalid("price", "a price is a non-negative amount in a three-letter currency such as HKD")
	}
	if c.PriceCents != nil && *c.PriceCents > MaxPriceCents {
		return apperr.Invalid("price", "a price is at most %d.%02d in the currency", MaxPriceCents/100, MaxPriceCents%100)
	}
	if c.Kind == Contracted && c.PriceCents == nil {
		return apperr.Invalid("price", "a contracted (paid) service states its price")
	}
	if c.Skill != nil {
		if sk := strings.TrimSpace(*c.Skill); sk == "" {
			c.Skill = nil
		} else {
			c.Skill = &sk
		}
	}
	return nil
}

var (
	categoryCode = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
)
