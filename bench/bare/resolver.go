// Package bare is the baseline the live benchmarks measure OneStop against:
// the least a gqlgen server can do to broadcast events over the same
// websocket transport (coder/websocket, graphql-transport-ws). A mutation
// makes an event for a household; each subscription hears its household's
// events, or, when the connection_init payload says it is an agent, every
// event (or every event of its property, when the payload names one and
// the mutation says the household's). No database, no authentication, no
// history.
package bare

//go:generate go tool gqlgen generate --config gqlgen.yml

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
)

// Resolver holds the subscribers.
type Resolver struct {
	mu   sync.RWMutex
	subs map[*subscriber]struct{}
	next atomic.Int64
}

type subscriber struct {
	household string
	property  string
	agent     bool
	ch        chan *Event
}

type who struct {
	household string
	property  string
	agent     bool
}

type whoKey struct{}

// NewHandler returns the server's /query handler (POST for the mutation, a
// websocket for the subscription) and a count of the open subscriptions.
func NewHandler() (http.Handler, func() int) {
	r := &Resolver{subs: map[*subscriber]struct{}{}}
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r}))
	srv.AddTransport(transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{
			Subprotocols: []string{"graphql-transport-ws"}, InsecureSkipVerify: true}},
		KeepAlivePingInterval: 15 * time.Second,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			agent, _ := p["agent"].(bool)
			return context.WithValue(ctx, whoKey{}, who{household: p.GetString("household"), property: p.GetString("property"), agent: agent}), nil, nil
		},
	})
	srv.AddTransport(transport.POST{})
	return srv, r.count
}

type (
	mutationResolver     struct{ *Resolver }
	queryResolver        struct{ *Resolver }
	subscriptionResolver struct{ *Resolver }
)

// Mutation, Query and Subscription hand gqlgen the resolvers.
func (r *Resolver) Mutation() MutationResolver         { return &mutationResolver{r} }
func (r *Resolver) Query() QueryResolver               { return &queryResolver{r} }
func (r *Resolver) Subscription() SubscriptionResolver { return &subscriptionResolver{r} }

func (r *Resolver) count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.subs)
}

func (r *mutationResolver) Submit(ctx context.Context, household string, description string, property *string) (*Event, error) {
	e := &Event{ID: strconv.FormatInt(r.next.Add(1), 10), Household: household, Description: description, At: time.Now()}
	prop := ""
	if property != nil {
		prop = *property
	}
	r.mu.RLock()
	for s := range r.subs {
		// An agent of one property hears only that property's events,
		// as OneStop's agents do; one without a property hears all.
		if s.agent && (s.property == "" || s.property == prop) || s.household == household {
			select {
			case s.ch <- e:
			default: // a subscriber too slow to keep up misses it
			}
		}
	}
	r.mu.RUnlock()
	return e, nil
}

func (r *queryResolver) Ok(ctx context.Context) (bool, error) { return true, nil }

func (r *subscriptionResolver) Events(ctx context.Context) (<-chan *Event, error) {
	w, _ := ctx.Value(whoKey{}).(who)
	s := &subscriber{household: w.household, property: w.property, agent: w.agent, ch: make(chan *Event, 16)}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		delete(r.subs, s)
		r.mu.Unlock()
	}()
	return s.ch, nil
}
