// Package graph is the GraphQL transport: resolvers, the error presenter,
// dataloaders and the auth wiring. It holds no business rules: each resolver
// authorizes through the actor in the context, converts input, calls one
// service method and converts the output.
package graph

import (
	"context"
	"log/slog"
	"slices"

	"github.com/kproperty/onestop/internal/auth"
)

//go:generate go tool gqlgen generate

// Resolver carries the services the resolvers call.
type Resolver struct {
	Deps
	log  *slog.Logger
	live *Live
}

// propertiesOf lists the properties a viewer belongs to: where they work,
// where they live, or every property for an admin.
func (r *Resolver) propertiesOf(ctx context.Context, a *auth.Actor) ([]string, error) {
	if a.Admin {
		return r.Directory.AllPropertyIDs(ctx)
	}
	ids := a.PropertyIDs()
	if len(a.Units) > 0 {
		homes, err := r.Directory.PropertiesOfUnits(ctx, a.Units)
		if err != nil {
			return nil, err
		}
		for _, h := range homes {
			if !slices.Contains(ids, h) {
				ids = append(ids, h)
			}
		}
	}
	return ids, nil
}
