// Package billing is the price of a paid (contracted, 特約) request: the
// service center's quote, the household's acceptance before work starts,
// and the payment recorded from the console (paid, waived, refunded). A
// paid request closes only once paid or waived; the callback noun holds
// that rule on every path that closes a request.
package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/callback"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// Payment is where a quote's payment stands.
type Payment string

// The payment states.
const (
	Unpaid   Payment = "UNPAID"
	Paid     Payment = "PAID"
	Waived   Payment = "WAIVED"
	Refunded Payment = "REFUNDED"
)

// Quote is the price of a paid request.
type Quote struct {
	RequestID      string     `db:"request_id"`
	UnitPriceCents int64      `db:"unit_price_cents"`
	Quantity       int        `db:"quantity"`
	AmountCents    int64      `db:"amount_cents"`
	Currency       string     `db:"currency"`
	QuotedBy       string     `db:"quoted_by"`
	QuotedAt       time.Time  `db:"quoted_at"`
	AcceptedBy     *string    `db:"accepted_by"`
	AcceptedAt     *time.Time `db:"accepted_at"`
	Payment        Payment    `db:"payment"`
	PaymentBy      *string    `db:"payment_by"`
	PaymentAt      *time.Time `db:"payment_at"`
	PaymentNote    *string    `db:"payment_note"`
}

// Store is the storage billing needs.
type Store interface {
	// Tx is the billing side of a request transaction.
	Tx(request.Tx) Tx
	// QuoteOf reads a request's quote, or apperr.ErrNotFound.
	QuoteOf(ctx context.Context, requestID string) (*Quote, error)
	// Figures reads the revenue by category and local day of payment in
	// [from, to), and what is owed now, at the properties (all when nil).
	Figures(ctx context.Context, propertyIDs []string, from, to time.Time) (*Figures, error)
}

// Tx is what billing reads and writes inside a request's transaction.
type Tx interface {
	// LockQuote reads a request's quote for update, or apperr.ErrNotFound.
	LockQuote(ctx context.Context, requestID string) (*Quote, error)
	// PutQuote inserts or replaces a request's quote.
	PutQuote(ctx context.Context, q *Quote) error
}

// Gateway is where a payment provider would plug in: the console records
// payments taken at the desk today, and a gateway would record the ones
// taken online the same way, through RecordPayment.
type Gateway interface {
	// Charge asks the provider for the quote's amount and returns its
	// reference.
	Charge(ctx context.Context, q *Quote) (reference string, err error)
}

// Service quotes paid requests and records their payment, each a row of
// the request's transition table taken through the engine.
type Service struct {
	req   *request.Service
	after *callback.Service
	store Store
}

// NewService returns the billing service.
func NewService(req *request.Service, after *callback.Service, store Store) *Service {
	return &Service{req: req, after: after, store: store}
}

// QuoteRequest prices a paid request: quantity times the unit price (the
// category's price unless the center gives another). A quote already
// accepted is not changed.
func (s *Service) QuoteRequest(ctx context.Context, a *auth.Actor, id string, quantity int, unitPriceCents *int64) (*Quote, error) {
	if quantity < 1 || quantity > 1000 {
		return nil, apperr.Invalid("quantity", "quantity must be from 1 to 1000")
	}
	if unitPriceCents != nil && (*unitPriceCents < 0 || *unitPriceCents > 100_000_000) {
		return nil, apperr.Invalid("unitPriceCents", "unitPriceCents must be from 0 to 100000000")
	}
	var out *Quote
	_, err := s.req.Move(ctx, a, id, request.Quote, func(rtx request.Tx, r *request.Request, c *request.Change) error {
		cat, err := rtx.Category(ctx, r.CategoryID)
		if err != nil {
			return err
		}
		if cat.Kind != property.Contracted || cat.PriceCents == nil || cat.Currency == nil {
			return apperr.New(apperr.Conflict, "%s is not a paid service", cat.Name)
		}
		tx := s.store.Tx(rtx)
		prior, err := tx.LockQuote(ctx, r.ID)
		if err == nil && prior.AcceptedAt != nil {
			return apperr.New(apperr.Conflict, "the household already accepted the quote")
		} else if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return err
		}
		price := *cat.PriceCents
		if unitPriceCents != nil {
			price = *unitPriceCents
		}
		q := &Quote{RequestID: r.ID, UnitPriceCents: price, Quantity: quantity, AmountCents: price * int64(quantity),
			Currency: *cat.Currency, QuotedBy: a.PersonID, QuotedAt: c.Ev.At, Payment: Unpaid}
		c.Ev.Data = mustJSON(map[string]any{"unitPriceCents": q.UnitPriceCents, "quantity": q.Quantity,
			"amountCents": q.AmountCents, "currency": q.Currency})
		c.Notify(notification.StatusChanged, "A quote is waiting for you: "+r.Number, r.RequesterID)
		out = q
		return tx.PutQuote(ctx, q)
	})
	return out, err
}

// AcceptQuote is the household accepting the quote before work starts.
func (s *Service) AcceptQuote(ctx context.Context, a *auth.Actor, id string) (*Quote, error) {
	var out *Quote
	_, err := s.req.Move(ctx, a, id, request.AcceptQuote, func(rtx request.Tx, r *request.Request, c *request.Change) error {
		tx := s.store.Tx(rtx)
		q, err := tx.LockQuote(ctx, r.ID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return apperr.New(apperr.Conflict, "the request has no quote yet")
		} else if err != nil {
			return err
		}
		if q.AcceptedAt != nil {
			return apperr.New(apperr.Conflict, "the quote is already accepted")
		}
		q.AcceptedBy, q.AcceptedAt = &a.PersonID, &c.Ev.At
		c.Ev.Data = mustJSON(map[string]any{"amountCents": q.AmountCents, "currency": q.Currency})
		out = q
		return tx.PutQuote(ctx, q)
	})
	return out, err
}

// RecordPayment records, from the console, that the quoted amount was
// paid, waived or refunded, by whom and when. A confirmed request that was
// only waiting for its payment closes.
func (s *Service) RecordPayment(ctx context.Context, a *auth.Actor, id string, p Payment, note *string) (*Quote, error) {
	n, err := request.OptText("note", note)
	if err != nil {
		return nil, err
	}
	switch p {
	case Paid, Waived, Refunded:
	default:
		return nil, apperr.Invalid("payment", "payment must be PAID, WAIVED or REFUNDED")
	}
	var out *Quote
	_, err = s.req.MoveThen(ctx, a, id, request.RecordPayment, func(rtx request.Tx, r *request.Request, c *request.Change) error {
		tx := s.store.Tx(rtx)
		q, err := tx.LockQuote(ctx, r.ID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return apperr.New(apperr.Conflict, "the request has no quote: quote it first")
		} else if err != nil {
			return err
		}
		switch {
		case p == Refunded && q.Payment != Paid:
			return apperr.New(apperr.Conflict, "only a paid request is refunded; this one is %s", q.Payment)
		case p != Refunded && q.Payment != Unpaid:
			return apperr.New(apperr.Conflict, "the payment is already recorded as %s", q.Payment)
		case p == Paid && q.AcceptedAt == nil:
			return apperr.New(apperr.Conflict, "the household has not accepted the quote")
		}
		q.Payment, q.PaymentBy, q.PaymentAt, q.PaymentNote = p, &a.PersonID, &c.Ev.At, n
		c.Ev.Note = n
		c.Ev.Data = mustJSON(map[string]any{"payment": p, "amountCents": q.AmountCents, "currency": q.Currency})
		out = q
		return tx.PutQuote(ctx, q)
	}, func(ctx context.Context, w *request.Work) error {
		if p == Refunded || w.Request().Status != request.Confirmed {
			return nil
		}
		return s.after.CloseIfSettled(ctx, w, string(p))
	})
	return out, err
}

// QuoteOf returns the quote of a request the viewer has been allowed to
// see, or nil.
func (s *Service) QuoteOf(ctx context.Context, requestID string) (*Quote, error) {
	q, err := s.store.QuoteOf(ctx, requestID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	return q, err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("billing: marshal event data: %v", err))
	}
	return b
}

// Revenue is what was paid for one category on one local day.
type Revenue struct {
	Day         string `db:"day"`
	PropertyID  string `db:"property_id"`
	CategoryID  string `db:"category_id"`
	AmountCents int64  `db:"amount_cents"`
	Currency    string `db:"currency"`
	Requests    int    `db:"requests"`
}

// Owed is what is quoted and still owed, per currency.
type Owed struct {
	AmountCents int64  `db:"amount_cents"`
	Currency    string `db:"currency"`
	Requests    int    `db:"requests"`
}

// Figures are the console's money figures over a window.
type Figures struct {
	Revenue []Revenue
	Unpaid  []Owed
}

// Figures returns the money figures of the properties whose service center
// the viewer staffs (every property for an admin), or of one of them;
// another property is NOT_FOUND.
func (s *Service) Figures(ctx context.Context, a *auth.Actor, propertyID *string, from, to time.Time) (*Figures, error) {
	if !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		return nil, apperr.Invalid("to", "the window must end after it starts and span at most a year")
	}
	var props []string
	switch {
	case a.Admin && propertyID == nil:
	case propertyID != nil:
		if !a.Admin && !a.IsCenterAt(*propertyID) {
			return nil, apperr.ErrNotFound
		}
		props = []string{*propertyID}
	default:
		props = a.CenterProperties()
		if len(props) == 0 {
			return nil, apperr.New(apperr.Forbidden, "money figures are for the service center")
		}
	}
	return s.store.Figures(ctx, props, from, to)
}
