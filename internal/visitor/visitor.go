// Package visitor is the gate's side of the front desk: passes a household
// issues for the visitors it expects, every arrival a guard registers (from
// a pass or as a walk-in the household must answer), the ID the guard holds
// for a moment and hands back, each household's do-not-admit list, and the
// purge of visitors' personal data after the property's retention period.
package visitor

import (
	"context"
	"crypto/rand"
	"regexp"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
)

// IDTarget is the manual's limit for handing a visitor's ID back once the
// registration is done.
const IDTarget = 25 * time.Second

// PassStatus is where a pass stands.
type PassStatus string

// The statuses of a pass.
const (
	PassActive    PassStatus = "ACTIVE"
	PassUsed      PassStatus = "USED"
	PassCancelled PassStatus = "CANCELLED"
)

// Answer is the household's word on a visit.
type Answer string

// The answers. A pre-registered visit needs none.
const (
	PreRegistered Answer = "PRE_REGISTERED"
	Pending       Answer = "PENDING"
	Admitted      Answer = "ADMITTED"
	Declined      Answer = "DECLINED"
	Unanswered    Answer = "UNANSWERED"
)

// IDType is the kind of identity document a guard looked at.
type IDType string

// The kinds of document.
const (
	HKID           IDType = "HKID"
	Passport       IDType = "PASSPORT"
	DrivingLicence IDType = "DRIVING_LICENCE"
	OtherID        IDType = "OTHER"
)

// The notification kinds of the front desk.
const (
	// KindArrived tells a household its expected visitor has arrived.
	KindArrived notification.Kind = "VISITOR_ARRIVED"
	// KindWaiting asks a household to admit or decline a walk-in.
	KindWaiting notification.Kind = "VISITOR_WAITING"
	// KindAnswered tells the guard the household's answer.
	KindAnswered notification.Kind = "VISITOR_ANSWERED"
	// KindUnanswered tells the guard to ring the unit.
	KindUnanswered notification.Kind = "VISITOR_UNANSWERED"
)

// Pass is a household's invitation for one expected visitor (or party).
type Pass struct {
	ID           string     `db:"id"`
	PropertyID   string     `db:"property_id"`
	UnitID       string     `db:"unit_id"`
	CreatedBy    string     `db:"created_by"`
	Code         string     `db:"code"`
	VisitorName  *string    `db:"visitor_name"`
	Phone        *string    `db:"phone"`
	ExpectedFrom time.Time  `db:"expected_from"`
	ExpectedTo   time.Time  `db:"expected_to"`
	PartySize    int        `db:"party_size"`
	CarPlate     *string    `db:"car_plate"`
	Purpose      *string    `db:"purpose"`
	Status       PassStatus `db:"status"`
	CreatedAt    time.Time  `db:"created_at"`
	CancelledAt  *time.Time `db:"cancelled_at"`
}

// QRPayload is what the pass's QR code holds: the code with a prefix, so a
// scanner tells it from any other QR code.
func (p Pass) QRPayload() string { return QRPrefix + p.Code }

// QRPrefix starts every pass's QR payload.
const QRPrefix = "ONESTOP-PASS:"

// Visit is one registered arrival.
type Visit struct {
	ID           string     `db:"id"`
	PropertyID   string     `db:"property_id"`
	UnitID       string     `db:"unit_id"`
	PassID       *string    `db:"pass_id"`
	GuardID      string     `db:"guard_id"`
	PostID       *string    `db:"post_id"`
	VisitorName  *string    `db:"visitor_name"`
	PartySize    int        `db:"party_size"`
	CarPlate     *string    `db:"car_plate"`
	Purpose      *string    `db:"purpose"`
	IDType       *IDType    `db:"id_type"`
	IDLast4      *string    `db:"id_last4"`
	IDTakenAt    *time.Time `db:"id_taken_at"`
	IDReturnedAt *time.Time `db:"id_returned_at"`
	WalkIn       bool       `db:"walk_in"`
	Answer       Answer     `db:"answer"`
	AnsweredBy   *string    `db:"answered_by"`
	AnsweredAt   *time.Time `db:"answered_at"`
	DoNotAdmit   bool       `db:"do_not_admit"`
	ArrivedAt    time.Time  `db:"arrived_at"`
	DepartedAt   *time.Time `db:"departed_at"`
	PurgedAt     *time.Time `db:"purged_at"`
	// UnitCode is the household's door number, for messages.
	UnitCode string `db:"unit_code"`
}

// IDHandBackSeconds is how long the guard held the visitor's ID, once it
// has been handed back.
func (v Visit) IDHandBackSeconds() *float64 {
	if v.IDTakenAt == nil || v.IDReturnedAt == nil {
		return nil
	}
	s := v.IDReturnedAt.Sub(*v.IDTakenAt).Seconds()
	return &s
}

// WithinIDTarget reports whether the ID came back within IDTarget.
func (v Visit) WithinIDTarget() *bool {
	s := v.IDHandBackSeconds()
	if s == nil {
		return nil
	}
	ok := *s <= IDTarget.Seconds()
	return &ok
}

// Barred is one name on a household's do-not-admit list.
type Barred struct {
	ID        string    `db:"id"`
	UnitID    string    `db:"unit_id"`
	Name      string    `db:"name"`
	Note      *string   `db:"note"`
	CreatedAt time.Time `db:"created_at"`
}

// Settings are a property's front-desk settings.
type Settings struct {
	RetentionDays        int `db:"retention_days" json:"retentionDays"`
	AnswerTimeoutSeconds int `db:"answer_timeout_seconds" json:"answerTimeoutSeconds"`
}

// LogFilter narrows the visitor log.
type LogFilter struct {
	PropertyID string
	From, To   time.Time
	UnitID     *string
	Name       *string
	Limit      int
}

// Store is the storage the visitor noun needs.
type Store interface {
	// InTx runs fn in one transaction; notifications staged with
	// Tx.Notify are written just before commit.
	InTx(ctx context.Context, fn func(Tx) error) error
	PassesOfUnits(ctx context.Context, unitIDs []string, limit int) ([]Pass, error)
	Log(ctx context.Context, f LogFilter) ([]Visit, error)
	Visit(ctx context.Context, id string) (Visit, error)
	DoNotAdmitList(ctx context.Context, unitID string) ([]Barred, error)
	PropertyZone(ctx context.Context, propertyID string) (*time.Location, error)
	// Purge removes the personal data of visits and passes older than each
	// property's retention period and answers how many rows it cleared.
	Purge(ctx context.Context, now time.Time) (int, error)
}

// Tx is what one front-desk change reads and writes.
type Tx interface {
	UnitProperty(ctx context.Context, unitID string) (propertyID, unitCode string, err error)
	// UnitByCode finds a property's unit by its door number (A-1201).
	UnitByCode(ctx context.Context, propertyID, code string) (string, error)
	CodeTaken(ctx context.Context, propertyID, code string) (bool, error)
	InsertPass(ctx context.Context, p *Pass) error
	// PassForUpdate reads a pass by id, or by code within a property when
	// id is empty, and locks it.
	PassForUpdate(ctx context.Context, id, propertyID, code string) (Pass, error)
	SetPassStatus(ctx context.Context, id string, s PassStatus, at time.Time) error
	InsertVisit(ctx context.Context, v *Visit) error
	VisitForUpdate(ctx context.Context, id string) (Visit, error)
	UpdateVisit(ctx context.Context, v Visit) error
	Barred(ctx context.Context, unitID, name string) (bool, error)
	AddBarred(ctx context.Context, b *Barred, by string) error
	RemoveBarred(ctx context.Context, unitID, name string) error
	Residents(ctx context.Context, unitID string) ([]string, error)
	Settings(ctx context.Context, propertyID string) (Settings, error)
	SaveSettings(ctx context.Context, propertyID string, s Settings) error
	// DueUnanswered locks walk-ins still PENDING past their property's
	// answer time, skipping rows another instance holds.
	DueUnanswered(ctx context.Context, now time.Time, limit int) ([]Visit, error)
	Notify(ns ...notification.Notification)
	// The settings are administrative: their changes are audited.
	audit.Writer
}

// Service runs the gate.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns the visitor service.
func NewService(store Store, clk clock.Clock) *Service { return &Service{store: store, clock: clk} }

// IsDeskStaff reports whether the actor keeps the front desk of the
// property: its guards, managers and director, or an admin.
func IsDeskStaff(a *auth.Actor, propertyID string) bool {
	if a.Admin {
		return true
	}
	r, ok := a.RoleAt(propertyID)
	return ok && (r == person.Guard || r == person.Manager || r == person.Director)
}

// PassInput is what a resident says about an expected visitor.
type PassInput struct {
	UnitID       string
	VisitorName  string
	Phone        *string
	ExpectedFrom time.Time
	ExpectedTo   time.Time
	PartySize    *int
	CarPlate     *string
	Purpose      *string
}

const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// newCode draws a six-character pass code with no look-alike characters
// (no 0/O, 1/I/L), easy to read out and to type.
func newCode() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

func text(field string, v *string, max int) (*string, error) {
	if v == nil {
		return nil, nil
	}
	s := strings.TrimSpace(*v)
	if s == "" {
		return nil, nil
	}
	if len([]rune(s)) > max {
		return nil, apperr.Invalid(field, "at most %d characters", max)
	}
	return &s, nil
}

// PreRegister issues a pass for a visitor the actor's household expects.
func (s *Service) PreRegister(ctx context.Context, a *auth.Actor, in PassInput) (Pass, error) {
	if !a.LivesIn(in.UnitID) {
		return Pass{}, apperr.ErrNotFound
	}
	name, err := text("visitorName", &in.VisitorName, 100)
	if err != nil {
		return Pass{}, err
	}
	if name == nil {
		return Pass{}, apperr.Invalid("visitorName", "say who is coming")
	}
	p := Pass{UnitID: in.UnitID, CreatedBy: a.PersonID, VisitorName: name, ExpectedFrom: in.ExpectedFrom, ExpectedTo: in.ExpectedTo,
		PartySize: 1, Status: PassActive, CreatedAt: s.clock.Now()}
	if p.Phone, err = text("phone", in.Phone, 30); err != nil {
		return Pass{}, err
	}
	if p.CarPlate, err = text("carPlate", in.CarPlate, 12); err != nil {
		return Pass{}, err
	}
	if p.CarPlate != nil {
		up := strings.ToUpper(*p.CarPlate)
		p.CarPlate = &up
	}
	if p.Purpose, err = text("purpose", in.Purpose, 200); err != nil {
		return Pass{}, err
	}
	if in.PartySize != nil {
		if *in.PartySize < 1 || *in.PartySize > 50 {
			return Pass{}, apperr.Invalid("partySize", "between 1 and 50")
		}
		p.PartySize = *in.PartySize
	}
	if !p.ExpectedTo.After(p.ExpectedFrom) {
		return Pass{}, apperr.Invalid("expectedTo", "the window must end after it starts")
	}
	if p.ExpectedTo.Sub(p.ExpectedFrom) > 7*24*time.Hour {
		return Pass{}, apperr.Invalid("expectedTo", "a pass covers at most seven days")
	}
	if !p.ExpectedTo.After(p.CreatedAt) {
		return Pass{}, apperr.Invalid("expectedTo", "the window is already over")
	}
	err = s.store.InTx(ctx, func(tx Tx) error {
		prop, _, err := tx.UnitProperty(ctx, in.UnitID)
		if err != nil {
			return err
		}
		p.PropertyID = prop
		for range 5 {
			p.Code = newCode()
			taken, err := tx.CodeTaken(ctx, prop, p.Code)
			if err != nil {
				return err
			}
			if !taken {
				return tx.InsertPass(ctx, &p)
			}
		}
		return apperr.New(apperr.Conflict, "no free pass code; try again")
	})
	return p, err
}

// MyPasses lists the passes of the actor's households, latest expected
// first.
func (s *Service) MyPasses(ctx context.Context, a *auth.Actor) ([]Pass, error) {
	if len(a.Units) == 0 {
		return []Pass{}, nil
	}
	return s.store.PassesOfUnits(ctx, a.Units, 100)
}

// CancelPass cancels one of the household's active passes.
func (s *Service) CancelPass(ctx context.Context, a *auth.Actor, id string) (Pass, error) {
	var p Pass
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if p, err = tx.PassForUpdate(ctx, id, "", ""); err != nil {
			return err
		}
		if !a.LivesIn(p.UnitID) {
			return apperr.ErrNotFound
		}
		if p.Status != PassActive {
			return apperr.New(apperr.Conflict, "the pass is %s", strings.ToLower(string(p.Status)))
		}
		now := s.clock.Now()
		p.Status, p.CancelledAt = PassCancelled, &now
		return tx.SetPassStatus(ctx, p.ID, PassCancelled, now)
	})
	return p, err
}

// ArrivalInput is what the guard's app sends for an arrival: a pass code
// (typed or scanned), or a walk-in's name and the household visited.
type ArrivalInput struct {
	PropertyID string
	Code       *string
	UnitID     *string
	// UnitCode names the walk-in's household by its door number, as the
	// guard hears it, instead of UnitID.
	UnitCode    *string
	VisitorName *string
	PartySize   *int
	CarPlate    *string
	Purpose     *string
	PostID      *string
	IDType      *IDType
	IDLast4     *string
	IDTakenAt   *time.Time
}

// Arrival is a registered visit and what the guard must be warned of.
type Arrival struct {
	Visit    Visit
	Warnings []string
}

var last4 = regexp.MustCompile(`^[A-Z0-9]{4}$`)

// Register records an arrival at the gate.
func (s *Service) Register(ctx context.Context, a *auth.Actor, in ArrivalInput) (Arrival, error) {
	if !IsDeskStaff(a, in.PropertyID) {
		return Arrival{}, apperr.ErrNotFound
	}
	now := s.clock.Now()
	v := Visit{PropertyID: in.PropertyID, GuardID: a.PersonID, PostID: in.PostID, PartySize: 1, ArrivedAt: now}
	var err error
	if v.CarPlate, err = text("carPlate", in.CarPlate, 12); err != nil {
		return Arrival{}, err
	}
	if v.CarPlate != nil {
		up := strings.ToUpper(*v.CarPlate)
		v.CarPlate = &up
	}
	if v.Purpose, err = text("purpose", in.Purpose, 200); err != nil {
		return Arrival{}, err
	}
	if in.PartySize != nil {
		if *in.PartySize < 1 || *in.PartySize > 50 {
			return Arrival{}, apperr.Invalid("partySize", "between 1 and 50")
		}
		v.PartySize = *in.PartySize
	}
	if err := idFields(&v, in, now); err != nil {
		return Arrival{}, err
	}
	name, err := text("visitorName", in.VisitorName, 100)
	if err != nil {
		return Arrival{}, err
	}
	v.VisitorName = name
	code := ""
	if in.Code != nil {
		code = strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(*in.Code), QRPrefix)))
	}
	unitCode := ""
	if in.UnitCode != nil {
		unitCode = strings.ToUpper(strings.TrimSpace(*in.UnitCode))
	}
	walkIn := in.UnitID != nil || unitCode != ""
	switch {
	case in.UnitID != nil && unitCode != "":
		return Arrival{}, apperr.Invalid("unitCode", "send unitId or unitCode, not both")
	case code != "" && walkIn:
		return Arrival{}, apperr.Invalid("code", "send a pass code or a unit, not both")
	case code == "" && !walkIn:
		return Arrival{}, apperr.Invalid("code", "send a pass code, or the unit a walk-in visits")
	case code == "" && name == nil:
		return Arrival{}, apperr.Invalid("visitorName", "a walk-in gives a name")
	}
	var out Arrival
	err = s.store.InTx(ctx, func(tx Tx) error {
		var pass Pass
		if code != "" {
			p, err := tx.PassForUpdate(ctx, "", in.PropertyID, code)
			if err != nil {
				return err
			}
			if p.Status != PassActive {
				return apperr.New(apperr.Conflict, "the pass is %s", strings.ToLower(string(p.Status)))
			}
			pass = p
			v.UnitID, v.PassID, v.Answer = p.UnitID, &p.ID, PreRegistered
			if v.VisitorName == nil {
				v.VisitorName = p.VisitorName
			}
			if in.PartySize == nil {
				v.PartySize = p.PartySize
			}
			if v.CarPlate == nil {
				v.CarPlate = p.CarPlate
			}
			if v.Purpose == nil {
				v.Purpose = p.Purpose
			}
			if now.Before(p.ExpectedFrom.Add(-time.Hour)) || now.After(p.ExpectedTo) {
				out.Warnings = append(out.Warnings, "outside the pass's expected window")
			}
			if err := tx.SetPassStatus(ctx, p.ID, PassUsed, now); err != nil {
				return err
			}
		} else {
			v.WalkIn, v.Answer = true, Pending
			if in.UnitID != nil {
				v.UnitID = *in.UnitID
			} else if v.UnitID, err = tx.UnitByCode(ctx, in.PropertyID, unitCode); err != nil {
				return err
			}
		}
		prop, unitCode, err := tx.UnitProperty(ctx, v.UnitID)
		if err != nil {
			return err
		}
		if prop != in.PropertyID {
			return apperr.ErrNotFound
		}
		v.UnitCode = unitCode
		if v.VisitorName != nil {
			barred, err := tx.Barred(ctx, v.UnitID, *v.VisitorName)
			if err != nil {
				return err
			}
			if barred {
				v.DoNotAdmit = true
				out.Warnings = append(out.Warnings, "on the household's do-not-admit list: do not admit")
			}
		}
		if err := tx.InsertVisit(ctx, &v); err != nil {
			return err
		}
		residents, err := tx.Residents(ctx, v.UnitID)
		if err != nil {
			return err
		}
		who := "A visitor"
		if v.VisitorName != nil {
			who = *v.VisitorName
		}
		for _, r := range residents {
			n := notification.Notification{PersonID: r, VisitID: &v.ID, CreatedAt: now}
			if v.WalkIn {
				n.Kind, n.Title, n.Body = KindWaiting, who+" is at the gate", "Admit or decline in the app."
			} else {
				n.Kind, n.Title, n.Body = KindArrived, who+" has arrived", "Pass "+pass.Code+"."
			}
			tx.Notify(n)
		}
		out.Visit = v
		return nil
	})
	return out, err
}

// idFields checks and copies what the guard saw of the visitor's ID: the
// kind and the last four characters, never the whole number.
func idFields(v *Visit, in ArrivalInput, now time.Time) error {
	if in.IDType == nil {
		if in.IDLast4 != nil || in.IDTakenAt != nil {
			return apperr.Invalid("idType", "say which document was taken")
		}
		return nil
	}
	switch *in.IDType {
	case HKID, Passport, DrivingLicence, OtherID:
	default:
		return apperr.Invalid("idType", "unknown document type")
	}
	if in.IDLast4 == nil || in.IDTakenAt == nil {
		return apperr.Invalid("idLast4", "send the last four characters and when the document was taken")
	}
	l4 := strings.ToUpper(strings.TrimSpace(*in.IDLast4))
	if !last4.MatchString(l4) {
		// The full number is never stored, not even by mistake.
		return apperr.Invalid("idLast4", "only the last four letters or digits of the document")
	}
	if in.IDTakenAt.After(now.Add(time.Minute)) || in.IDTakenAt.Before(now.Add(-time.Hour)) {
		return apperr.Invalid("idTakenAt", "the document was taken within the last hour")
	}
	t := *in.IDTakenAt
	v.IDType, v.IDLast4, v.IDTakenAt = in.IDType, &l4, &t
	return nil
}

// visitForDesk reads and locks a visit the actor keeps the desk for.
func visitForDesk(ctx context.Context, tx Tx, a *auth.Actor, id string) (Visit, error) {
	v, err := tx.VisitForUpdate(ctx, id)
	if err != nil {
		return Visit{}, err
	}
	if !IsDeskStaff(a, v.PropertyID) {
		return Visit{}, apperr.ErrNotFound
	}
	return v, nil
}

// ReturnID records when the guard handed the visitor's document back (the
// app's own time, as it sent the time it was taken).
func (s *Service) ReturnID(ctx context.Context, a *auth.Actor, visitID string, at time.Time) (Visit, error) {
	var v Visit
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if v, err = visitForDesk(ctx, tx, a, visitID); err != nil {
			return err
		}
		if v.IDTakenAt == nil {
			return apperr.New(apperr.Conflict, "no document was taken at this visit")
		}
		if v.IDReturnedAt != nil {
			return apperr.New(apperr.Conflict, "the document was already handed back")
		}
		if at.Before(*v.IDTakenAt) {
			return apperr.Invalid("at", "handed back before it was taken")
		}
		if at.After(s.clock.Now().Add(time.Minute)) {
			return apperr.Invalid("at", "in the future")
		}
		v.IDReturnedAt = &at
		return tx.UpdateVisit(ctx, v)
	})
	return v, err
}

// Depart ends a visit.
func (s *Service) Depart(ctx context.Context, a *auth.Actor, visitID string) (Visit, error) {
	var v Visit
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if v, err = visitForDesk(ctx, tx, a, visitID); err != nil {
			return err
		}
		if v.DepartedAt != nil {
			return apperr.New(apperr.Conflict, "the visitor has already left")
		}
		now := s.clock.Now()
		v.DepartedAt = &now
		return tx.UpdateVisit(ctx, v)
	})
	return v, err
}

// AnswerWalkIn is a resident's admit or decline of a walk-in to their
// household. A late answer (after the guard was told to ring) still counts.
func (s *Service) AnswerWalkIn(ctx context.Context, a *auth.Actor, visitID string, admit bool) (Visit, error) {
	var v Visit
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		if v, err = tx.VisitForUpdate(ctx, visitID); err != nil {
			return err
		}
		if !a.LivesIn(v.UnitID) {
			return apperr.ErrNotFound
		}
		if v.Answer != Pending && v.Answer != Unanswered {
			return apperr.New(apperr.Conflict, "the visit is already %s", strings.ToLower(strings.ReplaceAll(string(v.Answer), "_", " ")))
		}
		now := s.clock.Now()
		v.Answer, v.AnsweredBy, v.AnsweredAt = Declined, &a.PersonID, &now
		word := "declined"
		if admit {
			v.Answer, word = Admitted, "admitted"
		}
		if err := tx.UpdateVisit(ctx, v); err != nil {
			return err
		}
		who := "The visitor"
		if v.VisitorName != nil {
			who = *v.VisitorName
		}
		tx.Notify(notification.Notification{PersonID: v.GuardID, Kind: KindAnswered, VisitID: &v.ID, CreatedAt: now,
			Title: v.UnitCode + " " + word + " " + who, Body: string(v.Answer)})
		return nil
	})
	return v, err
}

// TellUnanswered is a scheduled job: each walk-in the household has not
// answered within the property's answer time becomes UNANSWERED, and the
// guard who registered it is told to ring the unit.
func (s *Service) TellUnanswered(ctx context.Context) (int, error) {
	n := 0
	err := s.store.InTx(ctx, func(tx Tx) error {
		now := s.clock.Now()
		due, err := tx.DueUnanswered(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, v := range due {
			v.Answer = Unanswered
			if err := tx.UpdateVisit(ctx, v); err != nil {
				return err
			}
			tx.Notify(notification.Notification{PersonID: v.GuardID, Kind: KindUnanswered, VisitID: &v.ID, CreatedAt: now,
				Title: "No answer from " + v.UnitCode + ": ring the unit", Body: "Nobody in the household answered in the app."})
		}
		n = len(due)
		return nil
	})
	return n, err
}

// Purge is a scheduled job: it clears visitors' personal data once each
// property's retention period has passed; the visits stay, for the counts.
func (s *Service) Purge(ctx context.Context) (int, error) {
	return s.store.Purge(ctx, s.clock.Now())
}

// DoNotAdmit adds a name to (or, with remove, takes it off) the
// household's do-not-admit list and answers the list.
func (s *Service) DoNotAdmit(ctx context.Context, a *auth.Actor, unitID, name string, note *string, remove bool) ([]Barred, error) {
	if !a.LivesIn(unitID) {
		return nil, apperr.ErrNotFound
	}
	n, err := text("name", &name, 100)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, apperr.Invalid("name", "give the name")
	}
	nt, err := text("note", note, 200)
	if err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(tx Tx) error {
		if remove {
			return tx.RemoveBarred(ctx, unitID, *n)
		}
		return tx.AddBarred(ctx, &Barred{UnitID: unitID, Name: *n, Note: nt, CreatedAt: s.clock.Now()}, a.PersonID)
	})
	if err != nil {
		return nil, err
	}
	return s.store.DoNotAdmitList(ctx, unitID)
}

// LogQuery asks for the visitor log of one property.
type LogQuery struct {
	PropertyID string
	// Day is a local date (2026-11-27) in the property's zone; nil: the
	// last seven days.
	Day    *string
	UnitID *string
	Name   *string
	First  int
}

// Log is the visitor log, for the property's guards, managers, director
// and admins; anyone else hears NOT_FOUND.
func (s *Service) Log(ctx context.Context, a *auth.Actor, q LogQuery) ([]Visit, error) {
	if !IsDeskStaff(a, q.PropertyID) {
		return nil, apperr.ErrNotFound
	}
	if q.First < 1 || q.First > 100 {
		return nil, apperr.Invalid("first", "first must be between 1 and 100")
	}
	loc, err := s.store.PropertyZone(ctx, q.PropertyID)
	if err != nil {
		return nil, err
	}
	f := LogFilter{PropertyID: q.PropertyID, UnitID: q.UnitID, Limit: q.First}
	if q.Day != nil {
		d, err := time.ParseInLocation(time.DateOnly, *q.Day, loc)
		if err != nil {
			return nil, apperr.Invalid("day", "a date such as 2026-11-27")
		}
		f.From, f.To = d, d.AddDate(0, 0, 1)
	} else {
		now := s.clock.Now().In(loc)
		end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
		f.From, f.To = end.AddDate(0, 0, -7), end
	}
	if f.Name, err = text("name", q.Name, 100); err != nil {
		return nil, err
	}
	return s.store.Log(ctx, f)
}

// SetSettings changes a property's retention period and answer time; for
// its managers, director and admins.
func (s *Service) SetSettings(ctx context.Context, a *auth.Actor, propertyID string, retentionDays, answerTimeout *int) (Settings, error) {
	if !a.Admin {
		r, ok := a.RoleAt(propertyID)
		if !ok {
			return Settings{}, apperr.ErrNotFound
		}
		if r != person.Manager && r != person.Director {
			return Settings{}, apperr.New(apperr.Forbidden, "only the property's manager or director")
		}
	}
	var out Settings
	err := s.store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.Settings(ctx, propertyID)
		if err != nil {
			return err
		}
		before := cur
		if retentionDays != nil {
			if *retentionDays < 1 || *retentionDays > 3650 {
				return apperr.Invalid("retentionDays", "between 1 and 3650")
			}
			cur.RetentionDays = *retentionDays
		}
		if answerTimeout != nil {
			if *answerTimeout < 10 || *answerTimeout > 3600 {
				return apperr.Invalid("answerTimeoutSeconds", "between 10 and 3600")
			}
			cur.AnswerTimeoutSeconds = *answerTimeout
		}
		if err := tx.SaveSettings(ctx, propertyID, cur); err != nil {
			return err
		}
		out = cur
		return audit.Record(ctx, tx, audit.Change{ActorID: a.PersonID, At: s.clock.Now(), PropertyID: &propertyID,
			Action: "setFrontDeskSettings", Entity: "property", EntityID: propertyID, Before: before, After: cur})
	})
	return out, err
}

// VisitFor reads one visit for someone who may see it: the property's desk
// staff, or a resident of the household visited.
func (s *Service) VisitFor(ctx context.Context, a *auth.Actor, id string) (Visit, error) {
	v, err := s.store.Visit(ctx, id)
	if err != nil {
		return Visit{}, err
	}
	if !IsDeskStaff(a, v.PropertyID) && !a.LivesIn(v.UnitID) {
		return Visit{}, apperr.ErrNotFound
	}
	return v, nil
}

// DoNotAdmitList answers a household's list, for its residents.
func (s *Service) DoNotAdmitList(ctx context.Context, a *auth.Actor, unitID string) ([]Barred, error) {
	if !a.LivesIn(unitID) {
		return nil, apperr.ErrNotFound
	}
	return s.store.DoNotAdmitList(ctx, unitID)
}
