package request

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
)

// ErrStale is returned when a request changed between being read and being
// written: someone else moved it first.
var ErrStale = apperr.New(apperr.Conflict, "the request was changed by someone else; reload it and try again")

// errDuplicate rolls back a submission that lost a race with its own retry.
var errDuplicate = errors.New("duplicate client request id")

// Store is the storage the request service needs.
type Store interface {
	// InTx runs fn in one transaction, committing if fn returns nil. The
	// events and notifications fn staged are written just before commit;
	// the events are returned, with their ids, to be published.
	InTx(ctx context.Context, fn func(Tx) error) ([]Event, error)
	// Places reads places outside a transaction; its NextSequence is a
	// statement of its own.
	Places() Places
	Reader
}

// Reader is what lists and screens read outside a transaction.
type Reader interface {
	// Visible returns a request the actor may see, or apperr.ErrNotFound.
	Visible(ctx context.Context, a *auth.Actor, id string) (*Request, error)
	// VisibleMany returns those of the requests the actor may see.
	VisibleMany(ctx context.Context, a *auth.Actor, ids []string) ([]*Request, error)
	// List returns up to limit requests the actor may see, newest first,
	// after the cursor.
	List(ctx context.Context, a *auth.Actor, f Filter, limit int, after *Cursor) ([]*Request, error)
	// EventsOf returns the latest (at most last) events of each of the
	// given requests, in id order.
	EventsOf(ctx context.Context, requestIDs []string, last int) ([]Event, error)
	// LatestEvents returns, for each of the requests, its latest (at most
	// last) events in id order, leaving out the staff-only ones where
	// staff[i] is false, with the columns a timeline shows (no data, no
	// audience), and the people who acted them.
	LatestEvents(ctx context.Context, requestIDs []string, staff []bool, last int) ([]Event, []person.Person, error)
	// ByClientID finds a submission by its submitter and phone-made id.
	ByClientID(ctx context.Context, submittedBy, clientID string) (*Request, error)
	// PendingFollowUps returns which of the requests owe a director's
	// follow-up.
	PendingFollowUps(ctx context.Context, requestIDs []string) (map[string]bool, error)
}

// Tx is the storage available inside one transaction: each part below
// belongs to one noun of the flow, and each noun's code uses its own.
type Tx interface {
	Rows
	Places
	People
}

// Rows is the request itself and its outbox: what the engine writes.
type Rows interface {
	Request(ctx context.Context, id string) (*Request, error)
	ByClientID(ctx context.Context, submittedBy, clientID string) (*Request, error)
	// Insert stores a new request; it reports false when the submitter
	// already used the client request id.
	Insert(ctx context.Context, r *Request) (bool, error)
	// Update writes r if its stored version is still r.Version, then bumps
	// r.Version; otherwise it returns ErrStale.
	Update(ctx context.Context, r *Request) error
	// Stage queues events and notifications; the store writes them, in one
	// statement, just before commit.
	Stage(evs []Event, ns []notification.Notification)
	// QuoteOwed reports whether a request of a paid category still waits
	// for its household to accept a quote: work may not start before.
	QuoteOwed(ctx context.Context, requestID, categoryID string) (bool, error)
	// SettleObligations cancels what an ended request no longer owes: its
	// open callback task and its pending director's follow-up.
	SettleObligations(ctx context.Context, requestID string, at time.Time) error
}

// Places is the property side: units, catalogue, numbering, promise rules.
type Places interface {
	Unit(ctx context.Context, id string) (*property.Unit, error)
	Property(ctx context.Context, id string) (*property.Property, error)
	Category(ctx context.Context, id string) (*property.Category, error)
	// UnitsOf lists the households a resident belongs to.
	UnitsOf(ctx context.Context, personID string) ([]string, error)
	// NextSequence hands out the next number of a property's local day.
	NextSequence(ctx context.Context, propertyID string, day time.Time) (int, error)
	// PromiseSettings returns a property's promise clock rules.
	PromiseSettings(ctx context.Context, propertyID string) (property.PromiseSettings, error)
}

// People is who can be told and sent: roles, butlers, dispatch.
type People interface {
	StaffRoleAt(ctx context.Context, personID, propertyID string) (person.Role, bool, error)
	// StaffWithRole lists the people holding one of the roles at a property.
	StaffWithRole(ctx context.Context, propertyID string, roles ...person.Role) ([]string, error)
	// CurrentButler returns the household's butler at a time, if any.
	CurrentButler(ctx context.Context, unitID string, at time.Time) (*string, error)
	// DispatchRule returns the rule for a category at a property.
	DispatchRule(ctx context.Context, propertyID, categoryID string) (dispatch.Rule, error)
	// PickWorker chooses the worker for automatic dispatch, or nil.
	PickWorker(ctx context.Context, r *Request, rule dispatch.Rule, skill *string) (*string, error)
	// SetAvailability sets a person's availability at every property;
	// with onlyIf, only where it currently is that.
	SetAvailability(ctx context.Context, personID string, a dispatch.Availability, onlyIf *dispatch.Availability) error
	// FreeIfIdle makes those of the people who are BUSY AVAILABLE when no
	// job of theirs is in progress.
	FreeIfIdle(ctx context.Context, people []string) error
}

// Publisher hears about events once their transaction has committed.
type Publisher interface {
	Publish(ctx context.Context, events []Event)
}

// Service runs the one-stop flow: a customer's request from submission to
// confirmation. It moves requests through the Engine, as every other noun
// does.
type Service struct {
	*Engine
}

// NewService returns the request service with its engine. pub may be nil.
func NewService(store Store, clk clock.Clock, pub Publisher, log *slog.Logger) *Service {
	return &Service{Engine: NewEngine(store, clk, pub, log)}
}

const maxText = 2000

// Text checks a free-text input: trimmed, at most 2,000 characters, and
// present when required. The error names the field.
func Text(field, v string, required bool) (*string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return nil, apperr.Invalid(field, "%s is required", field)
		}
		return nil, nil
	}
	if utf8.RuneCountInString(v) > maxText {
		return nil, apperr.Invalid(field, "%s is longer than %d characters", field, maxText)
	}
	return &v, nil
}

// OptText is Text for an optional input.
func OptText(field string, v *string) (*string, error) {
	if v == nil {
		return nil, nil
	}
	return Text(field, *v, false)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func ptrAvail(a dispatch.Availability) *dispatch.Availability { return &a }

// checkIDs rejects ids that are not UUIDs before they reach storage, naming
// the field at fault.
func checkIDs(fields map[string]*string) error {
	for _, name := range []string{"categoryId", "unitId", "onBehalfOfResidentId", "filter.propertyId", "filter.assigneeId"} {
		v, ok := fields[name]
		if !ok || v == nil {
			continue
		}
		if _, err := uuid.Parse(*v); err != nil {
			return apperr.Invalid(name, "%s is not a valid id", name)
		}
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// EventData encodes an event's data. The data are the server's own maps of
// plain values, so a failure is a programming error.
func EventData(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("request: marshal event data: %v", err))
	}
	return b
}
