package graph

import (
	"context"

	"github.com/kproperty/onestop/graph/model"
	"github.com/kproperty/onestop/internal/booking"
)

// money is an amount, or nil for none.
func money(cents int64, currency string) *model.Money {
	if cents == 0 {
		return nil
	}
	return &model.Money{AmountCents: int(cents), Currency: currency}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func int64OrNil(p *int) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

func guidedVisitInput(in model.BookGuidedVisitInput) booking.VisitInput {
	return booking.VisitInput{ClientRequestID: in.ClientRequestID, CategoryID: in.CategoryID, StartsAt: in.StartsAt,
		Minutes: deref(in.Minutes), PartySize: in.PartySize, Kind: in.Kind, Note: deref(in.Note), UnitID: in.UnitID}
}

// waitingPosition is a sign-up's place on its activity's waiting list,
// counted over the whole list even for a resident who sees only their own.
func waitingPosition(ctx context.Context, r *Resolver, su *booking.SignUp) (*int, error) {
	if su.Status != booking.Waiting {
		return nil, nil
	}
	all, err := r.BookingService.AllSignUps(ctx, su.ActivityID)
	if err != nil {
		return nil, err
	}
	n := booking.Position(all, su)
	return &n, nil
}

// values turns a list of pointers into the list of values the schema's
// lists are made of.
func values[T any](xs []*T, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = *x
	}
	return out, nil
}
