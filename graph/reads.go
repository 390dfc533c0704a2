package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/request"
)

// A screen of requests (the list, or one request's page) is answered in
// three statements: the viewer's actor, the requests with their categories
// and the people they name, and, when the screen shows timelines, the
// timelines with their actors. The resolver that reads the requests looks
// ahead at what the operation selects and primes the response's loaders
// with all of it before the fields below run, so none of them waits for a
// batch or makes a round of its own.

// readAhead primes the response's loaders with what the requests' reads
// brought along, then, if the selection under them shows a timeline, reads
// the timelines the viewer may see (cut at the most events any of those
// fields asks for) and primes them and their actors. fields are the
// fields selected on the requests.
func (r *Resolver) readAhead(ctx context.Context, a *auth.Actor, reqs []*request.Request, fields []graphql.CollectedField) error {
	l := r.loaders(ctx)
	for _, req := range reqs {
		// Each is one the viewer may see: the loaders the resolvers below
		// use for it answer as they would have.
		l.requests.Prime(req.ID, req)
		if rel := req.Related; rel != nil {
			l.categories.Prime(rel.Category.ID, rel.Category)
			for _, p := range rel.People {
				l.people.Prime(p.ID, p)
			}
		}
	}
	last, ok := timelineLast(ctx, fields)
	if !ok || len(reqs) == 0 {
		return nil
	}
	timelines, people, err := r.RequestService.ViewedTimelines(ctx, a, reqs, last)
	if err != nil {
		return err
	}
	for _, p := range people {
		l.people.Prime(p.ID, p)
	}
	l.primeTimelines(timelines, last)
	return nil
}

// timelineLast returns the most events any timeline field among fields
// (selected on a ServiceRequest) asks for, and false if none is selected
// or one asks for a number the field will refuse.
func timelineLast(ctx context.Context, fields []graphql.CollectedField) (int, bool) {
	opCtx := graphql.GetOperationContext(ctx)
	most, found := 0, false
	for _, f := range fields {
		if f.Name != "timeline" {
			continue
		}
		n := defaultTimeline
		if v, ok := f.ArgumentMap(opCtx.Variables)["last"]; ok && v != nil {
			switch x := v.(type) {
			case int64:
				n = int(x)
			case int:
				n = x
			default:
				return 0, false
			}
		}
		if n < 1 || n > maxTimeline {
			return 0, false
		}
		most, found = max(most, n), true
	}
	return most, found
}

// selectedUnder returns the fields selected under the path of field names
// below the resolver's own field (e.g. "edges", "node"), merged over every
// occurrence and alias.
func selectedUnder(ctx context.Context, path ...string) []graphql.CollectedField {
	opCtx := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for _, name := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name == name {
				next = append(next, graphql.CollectFields(opCtx, f.Selections, nil)...)
			}
		}
		fields = next
	}
	return fields
}

// viewedTimeline is a timeline read ahead for the response's viewer: the
// latest (at most last) events the viewer may read.
type viewedTimeline struct {
	events []request.Event
	last   int
}

func (l *loaders) primeTimelines(m map[string][]request.Event, last int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.viewed == nil {
		l.viewed = make(map[string]viewedTimeline, len(m))
	}
	for id, evs := range m {
		l.viewed[id] = viewedTimeline{events: evs, last: last}
	}
}

// viewedTimeline returns the latest n events of a request read ahead for
// the viewer, if they were read and the read went back at least n.
func (l *loaders) viewedTimeline(id string, n int) ([]request.Event, bool) {
	l.mu.Lock()
	v, ok := l.viewed[id]
	l.mu.Unlock()
	if !ok || (v.last < n && len(v.events) == v.last) {
		return nil, false
	}
	evs := v.events
	if len(evs) > n {
		evs = evs[len(evs)-n:]
	}
	return evs, true
}
