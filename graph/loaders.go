package graph

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// loaders batch the look-ups one GraphQL operation makes, so a list of 100
// requests costs one query per referenced noun rather than one per row.
// A fresh set is made for every response (a query's answer, or one event of
// a subscription), so nothing is cached across users or goes stale.
type loaders struct {
	properties *dataloadgen.Loader[string, property.Property]
	units      *dataloadgen.Loader[string, property.Unit]
	buildings  *dataloadgen.Loader[string, property.Building]
	people     *dataloadgen.Loader[string, person.Person]
	categories *dataloadgen.Loader[string, property.Category]
	timelines  *dataloadgen.Loader[string, []request.Event]
	followUps  *dataloadgen.Loader[string, bool]
	// requests are the ones the viewer may see: a response has one viewer.
	requests *dataloadgen.Loader[string, *request.Request]

	mu sync.Mutex
	// viewed are the timelines read ahead for the viewer (see reads.go).
	viewed map[string]viewedTimeline
}

const loaderWait = time.Millisecond

func byID[T any](fetch func(context.Context, []string) ([]T, error), id func(T) string) func(context.Context, []string) (map[string]T, error) {
	return func(ctx context.Context, keys []string) (map[string]T, error) {
		rows, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		out := make(map[string]T, len(rows))
		for _, r := range rows {
			out[id(r)] = r
		}
		return out, nil
	}
}

func newLoaders(d Deps) *loaders {
	w := dataloadgen.WithWait(loaderWait)
	return &loaders{
		properties: dataloadgen.NewMappedLoader(byID(d.Directory.Properties, func(p property.Property) string { return p.ID }), w),
		units:      dataloadgen.NewMappedLoader(byID(d.Directory.Units, func(u property.Unit) string { return u.ID }), w),
		buildings:  dataloadgen.NewMappedLoader(byID(d.Directory.Buildings, func(b property.Building) string { return b.ID }), w),
		people:     dataloadgen.NewMappedLoader(byID(d.Directory.People, func(p person.Person) string { return p.ID }), w),
		categories: dataloadgen.NewMappedLoader(byID(d.Directory.Categories, func(c property.Category) string { return c.ID }), w),
		followUps:  dataloadgen.NewMappedLoader(d.RequestService.PendingFollowUps, w),
		requests: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []string) (map[string]*request.Request, error) {
			a, err := actor(ctx)
			if err != nil {
				return nil, err
			}
			return d.RequestService.GetMany(ctx, a, ids)
		}, w),
		timelines: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []string) (map[string][]request.Event, error) {
			// The longest timeline any field may ask for; each field cuts
			// its own.
			m, err := d.RequestService.Timelines(ctx, ids, maxTimeline)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if m[id] == nil {
					m[id] = []request.Event{}
				}
			}
			return m, nil
		}, w),
	}
}

type loadersKey struct{}

// loaderSlot is a response's loaders, made on first use: most responses
// of a subscription (an event's id and time) and many of a query need
// none, and a subscription waiting for its next event holds its slot.
type loaderSlot struct {
	once sync.Once
	d    *Deps
	l    *loaders
}

func withLoaders(ctx context.Context, d *Deps) context.Context {
	return context.WithValue(ctx, loadersKey{}, &loaderSlot{d: d})
}

// loaders returns the response's loaders, making a fresh set when the
// context has none.
func (r *Resolver) loaders(ctx context.Context) *loaders {
	if s, ok := ctx.Value(loadersKey{}).(*loaderSlot); ok {
		s.once.Do(func() { s.l = newLoaders(*s.d) })
		return s.l
	}
	return newLoaders(r.Deps)
}

// visibleRequest loads a request the viewer may see through the response's
// loader; one the viewer may not see (or that does not exist) is NOT_FOUND.
func (r *Resolver) visibleRequest(ctx context.Context, id string) (*request.Request, error) {
	req, err := r.loaders(ctx).requests.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, apperr.ErrNotFound
	}
	return req, err
}
