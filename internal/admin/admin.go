// Package admin is how the company runs itself from the console: properties
// and their places, households and their residents, one-time activation
// codes, staff, and the audit log every administrative change is written to.
//
// Who may do what: a company admin everything; a property's manager or
// director that property's places, households and staff; anyone else of
// the property is FORBIDDEN, and someone with no part in the property hears
// NOT_FOUND, the answer for an id that does not exist.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// CodeTTL is how long an activation or reset code may be used.
const CodeTTL = 7 * 24 * time.Hour

// Entry is one line of the audit log; the log belongs to internal/audit,
// so that every noun with administrative changes can write it.
type Entry = audit.Entry

// Code is a stored one-time code: an activation for a unit and relation,
// or a password reset (or first password) for an existing person.
type Code struct {
	Hash      []byte           `db:"code_hash"`
	UnitID    *string          `db:"unit_id"`
	Relation  *person.Relation `db:"relation"`
	Name      string           `db:"name"`
	NameZh    string           `db:"name_zh"`
	PersonID  *string          `db:"person_id"`
	IssuedBy  string           `db:"issued_by"`
	CreatedAt time.Time        `db:"created_at"`
	ExpiresAt time.Time        `db:"expires_at"`
	UsedAt    *time.Time       `db:"used_at"`
}

// Issued is a code as handed to the office, once: only its hash is kept.
type Issued struct {
	Code      string
	ExpiresAt time.Time
}

// NewPerson is an account to create.
type NewPerson struct {
	Username string
	Name     string
	NameZh   string
	Hash     string
}

// ImportRow is one line of an import file: a unit, and perhaps one of its
// residents.
type ImportRow struct {
	Line           int
	Building       string
	BuildingName   string
	BuildingNameZh string
	Unit           string
	Resident       *ImportResident
}

// ImportResident is a household member named on an import line. Within
// the unit, a resident is known by name (ignoring case): running the file
// again finds them and leaves them as they are.
type ImportResident struct {
	Line     int
	Unit     string
	Name     string
	NameZh   string
	Relation person.Relation
	// MovedIn is the local date ("2006-01-02") they moved in; empty: the
	// day of the import. MovedInAt is its start in the property's zone.
	MovedIn   string
	MovedInAt time.Time
	Phone     *string
}

// ImportReport says what an import changed.
type ImportReport struct {
	BuildingsCreated int
	UnitsCreated     int
	UnitsUnchanged   int
	// ResidentsCreated counts the residents added with their residency;
	// ResidentsUnchanged those already recorded in their unit.
	ResidentsCreated   int
	ResidentsUnchanged int
}

// BoardRow is one worker on the staff board.
type BoardRow struct {
	Person       person.Person `db:"person"`
	PersonID     string        `db:"person_id"`
	PropertyID   string        `db:"property_id"`
	Role         person.Role   `db:"role"`
	Availability string        `db:"availability"`
	BuildingID   *string       `db:"zone_building_id"`
	Skills       []string      `db:"-"`
	OpenJobs     int           `db:"open_jobs"`
	// TimeZone is the property's, in which the shift runs.
	TimeZone string `db:"time_zone"`
	// Shift is the one the worker works, if any; ShiftToday is how it runs
	// on the property's local day and OnShift whether they are in a shift
	// now.
	Shift      *Shift     `db:"-"`
	ShiftToday *ShiftSpan `db:"-"`
	OnShift    bool       `db:"-"`
}

// Portfolio is one butler's current households.
type Portfolio struct {
	ButlerID string
	UnitIDs  []string
	// Visits counts the visits the butler logged in the last 30 days.
	Visits int
}

// Portfolios are a property's butler portfolios and the households
// without a butler.
type Portfolios struct {
	Butlers    []Portfolio
	Unassigned []string
}

// Tx is what administrative changes write, inside a request transaction
// (so that a leaver's work moves through the engine in the same commit).
type Tx interface {
	InsertProperty(ctx context.Context, p *property.Property) error
	LockProperty(ctx context.Context, id string) (*property.Property, error)
	UpdateProperty(ctx context.Context, p *property.Property) error
	InsertBuilding(ctx context.Context, b *property.Building) error
	Building(ctx context.Context, id string) (*property.Building, error)
	InsertUnit(ctx context.Context, u *property.Unit) error
	SetVIP(ctx context.Context, unitID string, vip bool) error
	InsertCode(ctx context.Context, c Code) error
	// TakeCode locks an unused code by its hash (apperr.ErrNotFound if
	// there is none) and marks it used at now.
	TakeCode(ctx context.Context, hash []byte, now time.Time) (*Code, error)
	UsernameTaken(ctx context.Context, username string) (bool, error)
	InsertPerson(ctx context.Context, p NewPerson) (string, error)
	Person(ctx context.Context, id string) (*person.Person, error)
	// AddResidency starts (or restarts) a residency at the given time.
	AddResidency(ctx context.Context, personID, unitID string, rel person.Relation, at time.Time) error
	SetPassword(ctx context.Context, personID, hash string) error
	PasswordHash(ctx context.Context, personID string) (string, error)
	// EndResidencies ends the current residencies of a unit (only the
	// person's, when personID is set) at the given time and returns who
	// moved out.
	EndResidencies(ctx context.Context, unitID string, personID *string, at time.Time) ([]string, error)
	// DisableIdle disables those of the people left with no home, no job
	// and no admin rights.
	DisableIdle(ctx context.Context, people []string, at time.Time) error
	// RevokeSessions ends every open session of the people and returns
	// the sessions ended.
	RevokeSessions(ctx context.Context, people []string, at time.Time) ([]string, error)
	// ImportUnits creates the buildings and units of rows that do not
	// exist yet; rows naming an existing unit in another building are
	// returned as errors first, before anything is written.
	ImportUnits(ctx context.Context, propertyID string, rows []ImportRow) (ImportReport, []string, error)
	// ImportResidents adds each resident not yet recorded in their unit
	// (by name, ignoring case, moved out or not) as a person who cannot
	// sign in until the office issues them a code (resetPassword), with
	// their residency; usernames are made from prefix, the unit code and
	// a number. It returns how many were created and left alone.
	ImportResidents(ctx context.Context, propertyID, prefix, unusableHash string, residents []ImportResident) (created, unchanged int, err error)
	// StaffRoles returns the person's role at each property.
	StaffRoles(ctx context.Context, personID string) (map[string]person.Role, error)
	SetStaffRole(ctx context.Context, personID, propertyID string, role person.Role) error
	RemoveStaffRole(ctx context.Context, personID, propertyID string) error
	// OpenJobsOf locks the requests assigned to the person that are being
	// worked on (ASSIGNED, IN_PROGRESS).
	OpenJobsOf(ctx context.Context, personID string) ([]*request.Request, error)
	// PortfolioOf lists the households currently in the butler's care.
	PortfolioOf(ctx context.Context, butlerID string) ([]string, error)
	// HomeProperties lists the properties the person lives at now.
	HomeProperties(ctx context.Context, personID string) ([]string, error)
	HandOverPortfolio(ctx context.Context, unitID, butlerID, by string, from time.Time) (*string, error)
	Audit(ctx context.Context, e Entry) error
	// LockShifts locks the property's shifts against a concurrent change
	// and returns them.
	LockShifts(ctx context.Context, propertyID string) ([]Shift, error)
	// ShiftsInUse lists the codes of the property's shifts someone works.
	ShiftsInUse(ctx context.Context, propertyID string) ([]string, error)
	ReplaceShifts(ctx context.Context, propertyID string, shifts []Shift) error
	// SetStaffShift sets the worker's shift at the property and returns
	// the one before; ok is false when they do not work there.
	SetStaffShift(ctx context.Context, personID, propertyID string, code *string) (before *string, ok bool, err error)
}

// Store is the storage administration needs.
type Store interface {
	// Tx is the administrative side of a request transaction.
	Tx(request.Tx) Tx
	// AuditLog reads the log, newest first, before the id given (0: from
	// the newest), for the properties given (nil: every entry).
	AuditLog(ctx context.Context, propertyIDs []string, before int64, limit int) ([]Entry, error)
	// StaffBoard lists the property's staff (only personID, when set).
	StaffBoard(ctx context.Context, propertyID string, personID *string) ([]BoardRow, error)
	Portfolios(ctx context.Context, propertyID string, since time.Time) (*Portfolios, error)
	// PortfolioHistory lists the property's portfolio stretches, newest
	// first, with the visits of each.
	PortfolioHistory(ctx context.Context, propertyID string, f HistoryFilter) ([]PortfolioPeriod, error)
	// Shifts lists the property's shifts by start.
	Shifts(ctx context.Context, propertyID string) ([]Shift, error)
}

// Cutter ends people's sessions and live connections at once (the auth
// service).
type Cutter interface {
	Cut(people, sessions []string)
}

// Hasher hashes and checks passwords (the auth service's bcrypt).
type Hasher interface {
	HashPassword(password string) (string, error)
	CheckPassword(hash, password string) bool
}

// Service runs the company's administration.
type Service struct {
	req   *request.Service
	store Store
	cut   Cutter
	hash  Hasher
}

// NewService returns the administration service.
func NewService(req *request.Service, store Store, cut Cutter, hash Hasher) *Service {
	return &Service{req: req, store: store, cut: cut, hash: hash}
}

// run runs fn in one request transaction with the administrative side.
func (s *Service) run(ctx context.Context, fn func(rt request.Tx, tx Tx) error) error {
	return s.req.Run(ctx, func(rt request.Tx) error { return fn(rt, s.store.Tx(rt)) })
}

// manages checks that the actor runs the property: an admin, or its manager
// or director. Other staff of the property are FORBIDDEN; anyone else hears
// NOT_FOUND.
func manages(a *auth.Actor, propertyID string) error {
	if a.Admin {
		return nil
	}
	role, ok := a.RoleAt(propertyID)
	if !ok {
		return apperr.ErrNotFound
	}
	if role != person.Manager && role != person.Director {
		return apperr.New(apperr.Forbidden, "a manager or director of the property, or an admin, does this")
	}
	return nil
}

// parseID answers NOT_FOUND for an id that is not a uuid, as for a missing one.
func parseID(id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return apperr.ErrNotFound
	}
	return nil
}

// record writes an administrative change to the audit log, in tx.
func record(ctx context.Context, tx Tx, a *auth.Actor, now time.Time, propertyID *string, action, entity, id string, before, after any) error {
	return audit.Record(ctx, tx, audit.Change{ActorID: a.PersonID, At: now, PropertyID: propertyID, Action: action,
		Entity: entity, EntityID: id, Before: before, After: after})
}

var (
	propertyCode = regexp.MustCompile(`^[A-Z0-9]{2,8}$`)
	placeCode    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,19}$`)
	usernameRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,39}$`)
)

// name checks a display name: required, at most 100 characters.
func name(field, v string, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" && required {
		return "", apperr.Invalid(field, "%s is required", field)
	}
	if utf8.RuneCountInString(v) > 100 || strings.ContainsRune(v, 0) {
		return "", apperr.Invalid(field, "%s must be at most 100 characters", field)
	}
	return v, nil
}

// PropertyInput is a new property.
type PropertyInput struct {
	Code, Name, NameZh, Grade, TimeZone, Address string
	Kind                                         property.Kind
	ServiceMode                                  property.ServiceMode
}

// CreateProperty adds a property. Company admins only.
func (s *Service) CreateProperty(ctx context.Context, a *auth.Actor, in PropertyInput) (*property.Property, error) {
	if !a.Admin {
		return nil, apperr.New(apperr.Forbidden, "only a company admin creates properties")
	}
	if !propertyCode.MatchString(in.Code) {
		return nil, apperr.Invalid("code", "code must be 2-8 capital letters or digits (HV)")
	}
	p := &property.Property{Code: in.Code, Kind: in.Kind, ServiceMode: in.ServiceMode, Grade: in.Grade}
	var err error
	if p.Name, err = name("name", in.Name, true); err != nil {
		return nil, err
	}
	if p.NameZh, err = name("nameZh", in.NameZh, true); err != nil {
		return nil, err
	}
	if p.Address, err = name("address", in.Address, false); err != nil {
		return nil, err
	}
	if p.Grade == "" {
		p.Grade = "STANDARD"
	}
	if _, err := property.LoadTimeZone(in.TimeZone); err != nil {
		return nil, apperr.Invalid("timeZone", "timeZone must be an IANA zone such as Asia/Hong_Kong")
	}
	p.TimeZone = in.TimeZone
	now := s.req.Now()
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		if err := tx.InsertProperty(ctx, p); err != nil {
			if apperr.CodeOf(err) == apperr.Conflict {
				return apperr.Invalid("code", "a property with code %s exists", p.Code)
			}
			return err
		}
		return record(ctx, tx, a, now, &p.ID, "createProperty", "property", p.ID, nil, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// PropertyChange is a partial update of a property: nil fields stay.
type PropertyChange struct {
	Name, NameZh, Grade, TimeZone, Address *string
	ServiceMode                            *property.ServiceMode
}

// UpdateProperty changes a property's names, grade, service mode, time zone
// or address. Its manager or director, or an admin.
func (s *Service) UpdateProperty(ctx context.Context, a *auth.Actor, id string, c PropertyChange) (*property.Property, error) {
	if err := parseID(id); err != nil {
		return nil, err
	}
	if err := manages(a, id); err != nil {
		return nil, err
	}
	if c.TimeZone != nil {
		if _, err := property.LoadTimeZone(*c.TimeZone); err != nil {
			return nil, apperr.Invalid("timeZone", "timeZone must be an IANA zone such as Asia/Hong_Kong")
		}
	}
	now := s.req.Now()
	var out *property.Property
	err := s.run(ctx, func(_ request.Tx, tx Tx) error {
		p, err := tx.LockProperty(ctx, id)
		if err != nil {
			return err
		}
		before := *p
		for _, f := range []struct {
			field    string
			v        *string
			dst      *string
			required bool
		}{{"name", c.Name, &p.Name, true}, {"nameZh", c.NameZh, &p.NameZh, true}, {"address", c.Address, &p.Address, false}, {"grade", c.Grade, &p.Grade, true}} {
			if f.v == nil {
				continue
			}
			if *f.dst, err = name(f.field, *f.v, f.required); err != nil {
				return err
			}
		}
		if c.TimeZone != nil {
			p.TimeZone = *c.TimeZone
		}
		if c.ServiceMode != nil {
			p.ServiceMode = *c.ServiceMode
		}
		if err := tx.UpdateProperty(ctx, p); err != nil {
			return err
		}
		out = p
		return record(ctx, tx, a, now, &p.ID, "updateProperty", "property", p.ID, before, p)
	})
	return out, err
}

// CreateBuilding adds a building to a property.
func (s *Service) CreateBuilding(ctx context.Context, a *auth.Actor, propertyID, code, nameEn, nameZh string) (*property.Building, error) {
	if err := parseID(propertyID); err != nil {
		return nil, err
	}
	if err := manages(a, propertyID); err != nil {
		return nil, err
	}
	if !placeCode.MatchString(code) {
		return nil, apperr.Invalid("code", "code must be letters, digits and dashes, at most 20")
	}
	b := &property.Building{PropertyID: propertyID, Code: code}
	var err error
	if b.Name, err = name("name", nameEn, true); err != nil {
		return nil, err
	}
	if b.NameZh, err = name("nameZh", nameZh, true); err != nil {
		return nil, err
	}
	now := s.req.Now()
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		if err := tx.InsertBuilding(ctx, b); err != nil {
			if apperr.CodeOf(err) == apperr.Conflict {
				return apperr.Invalid("code", "the property has a building %s", code)
			}
			return err
		}
		return record(ctx, tx, a, now, &propertyID, "createBuilding", "building", b.ID, nil, b)
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// CreateUnit adds a unit (a household's home) to a building.
func (s *Service) CreateUnit(ctx context.Context, a *auth.Actor, buildingID, code string) (*property.Unit, error) {
	if err := parseID(buildingID); err != nil {
		return nil, err
	}
	if !placeCode.MatchString(code) {
		return nil, apperr.Invalid("code", "code must be letters, digits and dashes, at most 20")
	}
	now := s.req.Now()
	var u *property.Unit
	err := s.run(ctx, func(_ request.Tx, tx Tx) error {
		b, err := tx.Building(ctx, buildingID)
		if err != nil {
			return err
		}
		if err := manages(a, b.PropertyID); err != nil {
			return err
		}
		u = &property.Unit{PropertyID: b.PropertyID, BuildingID: b.ID, Code: code}
		if err := tx.InsertUnit(ctx, u); err != nil {
			if apperr.CodeOf(err) == apperr.Conflict {
				return apperr.Invalid("code", "the property has a unit %s", code)
			}
			return err
		}
		return record(ctx, tx, a, now, &b.PropertyID, "createUnit", "unit", u.ID, nil, u)
	})
	return u, err
}

// SetVIP sets a household's VIP flag. The property's director or an admin:
// it decides who owes the director's follow-up.
func (s *Service) SetVIP(ctx context.Context, a *auth.Actor, unitID string, vip bool) (*property.Unit, error) {
	if err := parseID(unitID); err != nil {
		return nil, err
	}
	now := s.req.Now()
	var u *property.Unit
	err := s.run(ctx, func(rt request.Tx, tx Tx) error {
		var err error
		if u, err = rt.Unit(ctx, unitID); err != nil {
			return err
		}
		if role, ok := a.RoleAt(u.PropertyID); !a.Admin && !ok {
			return apperr.ErrNotFound
		} else if !a.Admin && role != person.Director {
			return apperr.New(apperr.Forbidden, "the property's director or an admin sets the VIP flag")
		}
		before := *u
		if err := tx.SetVIP(ctx, unitID, vip); err != nil {
			return err
		}
		u.VIP = vip
		return record(ctx, tx, a, now, &u.PropertyID, "setHouseholdVip", "unit", u.ID, before, u)
	})
	return u, err
}

// newCode makes a code that reads well over the phone: ten characters of
// an alphabet without look-alikes (about 50 bits).
func newCode() (string, []byte) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	code := string(b)
	return code, hashCode(code)
}

func hashCode(code string) []byte {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// IssueActivationCode lets the office invite a new resident of a unit with
// a relation; the resident chooses a username and password from the app.
func (s *Service) IssueActivationCode(ctx context.Context, a *auth.Actor, unitID string, rel person.Relation, nameEn, nameZh string) (*Issued, error) {
	if err := parseID(unitID); err != nil {
		return nil, err
	}
	switch rel {
	case person.Owner, person.Tenant, person.Family:
	default:
		return nil, apperr.Invalid("relation", "relation must be OWNER, TENANT or FAMILY")
	}
	en, err := name("name", nameEn, true)
	if err != nil {
		return nil, err
	}
	zh, err := name("nameZh", nameZh, false)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	code, hash := newCode()
	out := &Issued{Code: code, ExpiresAt: now.Add(CodeTTL)}
	err = s.run(ctx, func(rt request.Tx, tx Tx) error {
		u, err := rt.Unit(ctx, unitID)
		if err != nil {
			return err
		}
		if !a.IsCenterAt(u.PropertyID) {
			if _, staff := a.RoleAt(u.PropertyID); staff {
				return apperr.New(apperr.Forbidden, "the property's office issues activation codes")
			}
			return apperr.ErrNotFound
		}
		c := Code{Hash: hash, UnitID: &unitID, Relation: &rel, Name: en, NameZh: zh, IssuedBy: a.PersonID, CreatedAt: now, ExpiresAt: out.ExpiresAt}
		if err := tx.InsertCode(ctx, c); err != nil {
			return err
		}
		return record(ctx, tx, a, now, &u.PropertyID, "issueActivationCode", "unit", unitID, nil,
			map[string]any{"relation": rel, "name": en, "nameZh": zh, "expiresAt": out.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ResetPassword lets the office give a resident (or a member of staff) a
// one-time code to set a new password with; their sessions end at once.
func (s *Service) ResetPassword(ctx context.Context, a *auth.Actor, personID string) (*Issued, error) {
	if err := parseID(personID); err != nil {
		return nil, err
	}
	target, err := s.actorOf(ctx, personID)
	if err != nil {
		return nil, err
	}
	if !a.Admin {
		if target.IsAdmin || !officeOf(a, target) {
			return nil, apperr.ErrNotFound
		}
		// A worker's password is reset by whoever runs every property
		// they work at, and a manager's or director's by an admin: an
		// agent must not be able to take over a manager's account.
		for p, r := range target.staff {
			if manages(a, p) != nil || senior(r) {
				return nil, apperr.New(apperr.Forbidden, "a worker's password is reset by their manager or director, a manager's by an admin")
			}
		}
	}
	now := s.req.Now()
	code, hash := newCode()
	out := &Issued{Code: code, ExpiresAt: now.Add(CodeTTL)}
	var sessions []string
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		if err := tx.InsertCode(ctx, Code{Hash: hash, PersonID: &personID, IssuedBy: a.PersonID, CreatedAt: now, ExpiresAt: out.ExpiresAt}); err != nil {
			return err
		}
		var err error
		if sessions, err = tx.RevokeSessions(ctx, []string{personID}, now); err != nil {
			return err
		}
		return record(ctx, tx, a, now, nil, "resetPassword", "person", personID, nil, map[string]any{"expiresAt": out.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	s.cut.Cut([]string{personID}, sessions)
	return out, nil
}

// officeOf reports whether a staffs the service center of a property where
// target lives or works.
func officeOf(a *auth.Actor, target *subject) bool {
	for p := range target.staff {
		if a.IsCenterAt(p) {
			return true
		}
	}
	for _, p := range target.homes {
		if a.IsCenterAt(p) {
			return true
		}
	}
	return false
}

// Activation is what an activation code turned into.
type Activation struct {
	PersonID string
	Username string
}

// ActivateAccount spends a one-time code. An activation code creates the
// resident's account (username and password of their choosing) and their
// residency from now; a reset code sets a new password for its person
// (username is then ignored). Unknown, used and expired codes are refused
// alike.
func (s *Service) ActivateAccount(ctx context.Context, code, username, password string) (*Activation, error) {
	hash, err := s.hash.HashPassword(password)
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	out := &Activation{}
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		c, err := tx.TakeCode(ctx, hashCode(code), now)
		if apperr.CodeOf(err) == apperr.NotFound || (err == nil && !now.Before(c.ExpiresAt)) {
			return apperr.Invalid("code", "the code is unknown, used or expired; ask the office for a new one")
		}
		if err != nil {
			return err
		}
		if c.PersonID != nil {
			p, err := tx.Person(ctx, *c.PersonID)
			if err != nil {
				return err
			}
			out.PersonID, out.Username = p.ID, p.Username
			if err := tx.SetPassword(ctx, p.ID, hash); err != nil {
				return err
			}
			return tx.Audit(ctx, Entry{At: now, ActorID: p.ID, Action: "activateAccount", Entity: "person", EntityID: p.ID})
		}
		username = strings.ToLower(strings.TrimSpace(username))
		if !usernameRe.MatchString(username) {
			return apperr.Invalid("username", "username must be 3-40 lower-case letters, digits, dots, dashes or underscores")
		}
		if taken, err := tx.UsernameTaken(ctx, username); err != nil {
			return err
		} else if taken {
			return apperr.Invalid("username", "that username is taken")
		}
		id, err := tx.InsertPerson(ctx, NewPerson{Username: username, Name: c.Name, NameZh: c.NameZh, Hash: hash})
		if err != nil {
			return err
		}
		if err := tx.AddResidency(ctx, id, *c.UnitID, *c.Relation, now); err != nil {
			return err
		}
		out.PersonID, out.Username = id, username
		return tx.Audit(ctx, Entry{At: now, ActorID: id, Action: "activateAccount", Entity: "residency", EntityID: *c.UnitID,
			After: json.RawMessage(fmt.Sprintf(`{"personId":%q,"unitId":%q,"relation":%q}`, id, *c.UnitID, *c.Relation))})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ChangePassword sets a new password for the signed-in person, who proves
// the old one. Their other sessions stay open.
func (s *Service) ChangePassword(ctx context.Context, a *auth.Actor, oldPassword, newPassword string) error {
	hash, err := s.hash.HashPassword(newPassword)
	if err != nil {
		return err
	}
	now := s.req.Now()
	return s.run(ctx, func(_ request.Tx, tx Tx) error {
		cur, err := tx.PasswordHash(ctx, a.PersonID)
		if err != nil {
			return err
		}
		if !s.hash.CheckPassword(cur, oldPassword) {
			return apperr.Invalid("oldPassword", "the current password is wrong")
		}
		if err := tx.SetPassword(ctx, a.PersonID, hash); err != nil {
			return err
		}
		return tx.Audit(ctx, Entry{At: now, ActorID: a.PersonID, Action: "changePassword", Entity: "person", EntityID: a.PersonID})
	})
}

// EndResidency moves a household (or, with personID, one member) out of a
// unit now. Their access ends at once: sessions and sockets are cut, and
// people left with no home and no job can no longer sign in. The requests
// they made stay with the company and leave their sight; the next household
// never sees them (see householdCond in internal/postgres).
func (s *Service) EndResidency(ctx context.Context, a *auth.Actor, unitID string, personID *string) (int, error) {
	if err := parseID(unitID); err != nil {
		return 0, err
	}
	if personID != nil {
		if err := parseID(*personID); err != nil {
			return 0, err
		}
	}
	now := s.req.Now()
	var people, sessions []string
	err := s.run(ctx, func(rt request.Tx, tx Tx) error {
		u, err := rt.Unit(ctx, unitID)
		if err != nil {
			return err
		}
		if !a.IsCenterAt(u.PropertyID) {
			if _, staff := a.RoleAt(u.PropertyID); staff {
				return apperr.New(apperr.Forbidden, "the property's office records move-outs")
			}
			return apperr.ErrNotFound
		}
		if people, err = tx.EndResidencies(ctx, unitID, personID, now); err != nil {
			return err
		}
		if len(people) == 0 {
			return apperr.Invalid("unitId", "nobody lives there now")
		}
		if err := tx.DisableIdle(ctx, people, now); err != nil {
			return err
		}
		if sessions, err = tx.RevokeSessions(ctx, people, now); err != nil {
			return err
		}
		return record(ctx, tx, a, now, &u.PropertyID, "endResidency", "unit", unitID,
			map[string]any{"residents": people}, map[string]any{"movedOutAt": now})
	})
	if err != nil {
		return 0, err
	}
	s.cut.Cut(people, sessions)
	return len(people), nil
}

// subject is a person an administrative change is about: where they work
// and where they live.
type subject struct {
	person.Person
	staff map[string]person.Role
	homes []string
}

func (s *Service) actorOf(ctx context.Context, personID string) (*subject, error) {
	var out *subject
	err := s.run(ctx, func(rt request.Tx, tx Tx) error {
		p, err := tx.Person(ctx, personID)
		if err != nil {
			return err
		}
		out = &subject{Person: *p}
		if out.staff, err = tx.StaffRoles(ctx, personID); err != nil {
			return err
		}
		out.homes, err = tx.HomeProperties(ctx, personID)
		return err
	})
	return out, err
}
