package graph

import (
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/trace"

	"github.com/kproperty/onestop/graph/gqlws"
	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/files"
	"github.com/kproperty/onestop/internal/metrics"
	"github.com/kproperty/onestop/internal/ratelimit"
)

// Options tune the GraphQL endpoint.
type Options struct {
	// AllowedOrigins are the browser origins (host patterns) that may open
	// a websocket. Native apps send no Origin and are always allowed.
	AllowedOrigins []string
	// Introspection is on in development only.
	Introspection bool
	// PingInterval is how often the server pings websocket clients; a
	// client that misses pongs is dropped.
	PingInterval time.Duration
	// InitTimeout is how long a websocket may wait before connection_init.
	InitTimeout time.Duration
	// Live tracks the websockets, for a shutdown that ends them in order;
	// nil makes one of the handler's own.
	Live *Live
	Log  *slog.Logger
	// Metrics, if set, counts and times every operation.
	Metrics *metrics.Metrics
	// Limits bound each operation before it runs; zero means DefaultLimits.
	Limits *Limits
	// Limiter keeps the per-person and per-address allowances.
	Limiter ratelimit.Limiter
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// when working out a caller's address.
	TrustedProxies []netip.Prefix
	// PersistedQueries keeps the texts of the apps' persisted queries by
	// hash, shared by every instance when it is Redis; nil keeps them in
	// this process.
	PersistedQueries graphql.Cache[string]
	// OperationTimeout bounds one query or mutation; its SQL is cancelled
	// with it. Zero means no bound. Subscriptions are not bounded.
	OperationTimeout time.Duration
	// SessionCheck is how often an open websocket's session is checked
	// again; zero means every 5 seconds.
	SessionCheck time.Duration
	// Tracer, if set, makes a span of every operation.
	Tracer trace.TracerProvider
}

// NewHandler returns the /query endpoint: POST for queries and mutations,
// websocket (graphql-transport-ws) for subscriptions.
func NewHandler(d Deps, o Options) http.Handler {
	if o.PingInterval == 0 {
		o.PingInterval = 15 * time.Second
	}
	if o.InitTimeout == 0 {
		o.InitTimeout = 5 * time.Second
	}
	if o.SessionCheck == 0 {
		o.SessionCheck = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Live == nil {
		o.Live = NewLive()
	}
	srv := handler.New(NewExecutableSchema(Config{Resolvers: &Resolver{Deps: d, log: o.Log, live: o.Live}}))
	srv.AddTransport(gqlws.New(gqlws.Options{
		OriginPatterns: o.AllowedOrigins,
		Init:           wsInit(d.AuthService, o.SessionCheck, o.Log),
		InitTimeout:    o.InitTimeout,
		PingInterval:   o.PingInterval,
		Opened:         o.Live.open,
	}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.POST{})
	// Photos come as GraphQL multipart requests (the
	// graphql-multipart-request-spec of Apollo and urql clients), each
	// file bounded again by the files noun.
	srv.AddTransport(transport.MultipartForm{MaxUploadSize: maxUploadBody, MaxMemory: 8 << 20})
	srv.AddTransport(unsupportedTransport{})
	// First, so that it sees what the middleware below refuses.
	obs := observe{log: o.Log, metrics: o.Metrics}
	if o.Tracer != nil {
		obs.tracer = o.Tracer.Tracer("github.com/kproperty/onestop/graph")
	}
	srv.Use(obs)
	// The apps send a query's hash instead of its text (automatic persisted
	// queries); the text comes from the cache, before the limits read it.
	apq := o.PersistedQueries
	if apq == nil {
		apq = lru.New[string](1000)
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: apq})
	// Parsed and validated operations are kept: the same few queries from
	// thousands of phones are parsed once.
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	limits := DefaultLimits
	if o.Limits != nil {
		limits = *o.Limits
	}
	srv.Use(limitsExtension{limits: limits, introspection: o.Introspection, log: o.Log})
	if o.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.SetErrorPresenter(errorPresenter(o.Log))
	srv.SetRecoverFunc(recoverFunc(o.Log))
	srv.AroundOperations(requireActor(o.Introspection))
	srv.AroundOperations(subscriptionsOverWebsocket)
	if o.Limiter != nil {
		srv.AroundOperations(rateLimit(o.Limiter, o.Log))
	}
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		return next(withLoaders(ctx, &d))
	})
	if o.OperationTimeout > 0 {
		srv.AroundResponses(operationDeadline(o.OperationTimeout))
	}
	return withRequestID(withClientIP(o.TrustedProxies, limitBody(authenticate(d.AuthService, withLanguage(srv)))))
}

// unsupportedTransport takes every HTTP request the real transports do not
// (a GET, a POST that is not JSON) and says what to send instead, with an
// extensions.code like every other error. It must be added last.
type unsupportedTransport struct{}

func (unsupportedTransport) Supports(*http.Request) bool { return true }

func (unsupportedTransport) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	status := http.StatusUnsupportedMediaType
	msg := "send a POST with Content-Type: application/json and a body {\"query\": ..., \"variables\": {...}}, or subscribe over a websocket (graphql-transport-ws)"
	if r.Method != http.MethodPost {
		status = http.StatusMethodNotAllowed
		w.Header().Set("Allow", "POST, OPTIONS")
		msg = r.Method + " is not supported: " + msg
	} else {
		msg = "Content-Type " + strconv.Quote(r.Header.Get("Content-Type")) + " is not supported: " + msg
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(&graphql.Response{Errors: gqlerror.List{{
		Message:    msg,
		Extensions: map[string]any{"code": string(apperr.InvalidInput)},
	}}})
}

// operationDeadline cancels a query or mutation, and the SQL it is
// running, when it outlasts the timeout; the client gets TIMEOUT.
func operationDeadline(timeout time.Duration) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation != nil && oc.Operation.Operation == "subscription" {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return next(ctx)
	}
}

// publicFields are the only operations that work without a token.
var publicFields = map[string]bool{"login": true, "refreshToken": true, "activateAccount": true}

// requireActor refuses any operation other than login and refreshToken
// from a caller without a valid token. Where introspection is on (in
// development), a query of the schema alone needs no token either, so that
// GraphiQL shows the schema's documentation before anyone signs in.
func requireActor(introspection bool) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if auth.ActorFrom(ctx) == nil && introspection && schemaOnly(ctx) {
			if _, bad := authErrFrom(ctx); !bad {
				return next(ctx)
			}
		}
		return requireActorFor(ctx, next)
	}
}

// schemaOnly reports whether the operation is a query of __schema and
// __type alone.
func schemaOnly(ctx context.Context) bool {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != "query" {
		return false
	}
	fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, nil)
	for _, f := range fields {
		if f.Name != "__schema" && f.Name != "__type" && f.Name != "__typename" {
			return false
		}
	}
	return len(fields) > 0
}

// requireActorFor lets an operation run only with a valid token, or when
// it is login, refreshToken or activateAccount alone.
func requireActorFor(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if auth.ActorFrom(ctx) != nil {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	if err, ok := authErrFrom(ctx); ok {
		return refuse(err)
	}
	if oc.Operation != nil && oc.Operation.Operation == "mutation" {
		public := len(oc.Operation.SelectionSet) > 0
		for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, nil) {
			if !publicFields[f.Name] {
				public = false
			}
		}
		if public {
			return next(ctx)
		}
	}
	return refuse(apperr.New(apperr.Unauthenticated, "sign in first: send Authorization: Bearer <access token>"))
}

// subscriptionsOverWebsocket refuses a subscription sent over plain HTTP,
// which would answer one event and drop the rest. A websocket operation is
// known by the socket's transport, which runs it only after wsInit has
// accepted connection_init.
func subscriptionsOverWebsocket(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation != nil && oc.Operation.Operation == "subscription" && !gqlws.OverWebsocket(ctx) {
		return refuse(apperr.New(apperr.InvalidInput, "subscriptions run over a websocket (graphql-transport-ws)"))
	}
	return next(ctx)
}

// refuse answers an operation with one error before any resolver runs;
// there is no response context yet, so the error is built as the error
// presenter would build it.
func refuse(e *apperr.Error) graphql.ResponseHandler {
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
		Message:    e.Message,
		Extensions: extensionsOf(e),
	}}})
}

type authErrKey struct{}

func authErrFrom(ctx context.Context) (*apperr.Error, bool) {
	e, ok := ctx.Value(authErrKey{}).(*apperr.Error)
	return e, ok
}

// authenticate reads the bearer token of an HTTP request. A bad token is
// remembered rather than refused here, so that the answer is a GraphQL
// error with extensions.code like every other.
func authenticate(svc *auth.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		token, ok := bearerToken(h)
		if !ok {
			ctx = context.WithValue(ctx, authErrKey{}, apperr.New(apperr.Unauthenticated, "the Authorization header must be \"Bearer <token>\""))
		} else if a, err := svc.Authenticate(ctx, token); err != nil {
			e, isClient := apperr.As(err)
			switch {
			case isClient:
			case unavailable(err):
				e = apperr.New(apperr.Unavailable, "the service is briefly unavailable; try again shortly (request id %s)", RequestID(ctx))
			default:
				e = apperr.New(apperr.Internal, "could not check the access token (request id %s)", RequestID(ctx))
			}
			ctx = context.WithValue(ctx, authErrKey{}, e)
		} else {
			ctx = auth.WithActor(ctx, a)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bearerToken reads "Bearer <token>", reporting false for anything else.
func bearerToken(header string) (string, bool) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	token = strings.TrimSpace(token)
	return token, ok && token != ""
}

// wsInit authenticates a websocket from its connection_init payload: the
// token as {"Authorization": "Bearer <token>"}, as
// {"headers": {"Authorization": "Bearer <token>"}} (Apollo-style clients'
// connectionParams), or as {"token": "<token>"}.
// A missing or bad token closes the socket with 4403 and a reason that says
// what was wrong (graphql-ws hands it to the app's close handler).
func wsInit(svc *auth.Service, sessionCheck time.Duration, log *slog.Logger) gqlws.InitFunc {
	return func(ctx context.Context, sock *gqlws.Socket, payload map[string]any) (context.Context, error) {
		p := transport.InitPayload(payload)
		header := initAuthorization(p)
		token, ok := bearerToken(header)
		if !ok {
			token = strings.TrimSpace(p.GetString("token"))
		}
		refuse := func(reason string) error {
			// A close reason is at most 123 bytes; these are well within.
			return &gqlws.CloseError{Code: gqlws.CloseForbidden, Reason: "Forbidden: " + reason}
		}
		switch {
		case token == "" && header != "":
			return nil, refuse(`Authorization must be "Bearer <access token>"`)
		case token == "":
			return nil, refuse(`connection_init needs {"Authorization": "Bearer <access token>"}`)
		}
		a, err := svc.Authenticate(ctx, token)
		if err != nil {
			return nil, refuse("the access token is invalid or expired; refresh it and reconnect")
		}
		// A socket lives no longer than the token that opened it: when
		// it expires the connection ends, and the app reconnects with a
		// fresh token (graphql-ws asks connectionParams again) and
		// resumes with since.
		// Access taken away (a move-out, a leaver) cuts the socket too.
		sock.OnEnd(svc.Watch(a.PersonID, a.TokenLeft, func() { sock.Close(gqlws.CloseNormal, closeTokenEnded) }))
		watchSession(ctx, svc, a, sock, sessionCheck, log)
		return auth.WithActor(ctx, a), nil
	}
}

// closeTokenEnded is the close reason of a socket whose token expired or
// whose person's access was taken away; a normal closure, after which
// graphql-ws reconnects, asking connectionParams for a fresh token.
const closeTokenEnded = "terminated"

// closeSessionEnded closes a websocket whose session ended while it was
// open, with the code a refused connection_init gets: the app signs in
// again rather than reconnecting with the same token.
const closeSessionEnded = gqlws.CloseForbidden

// watchSession checks every interval that the session which opened the
// socket is still open, and ends the socket with 4403 once it is not: a
// logout, or a refresh token replayed (which ends the whole session), stops
// live delivery within the interval, as it stops HTTP calls. The answer
// comes from the auth service's brief cache, so many sockets of one
// session cost one look-up. A failed check (the database unreachable)
// leaves the socket open: it is not a sign that the session ended. It runs
// on a timer rather than a goroutine of its own, so a waiting socket costs
// a timer, stopped when the socket ends.
func watchSession(ctx context.Context, svc *auth.Service, a *auth.Actor, sock *gqlws.Socket, interval time.Duration, log *slog.Logger) {
	var (
		mu sync.Mutex
		t  *time.Timer
	)
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(interval, func() {
		if ctx.Err() != nil {
			return
		}
		open, err := svc.StillSignedIn(ctx, a)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.WarnContext(ctx, "websocket session check failed", "person", a.PersonID, "err", err)
			}
		case !open:
			log.InfoContext(ctx, "websocket closed: session ended", "person", a.PersonID)
			sock.Close(closeSessionEnded, "Forbidden: the session has ended; sign in again")
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() == nil {
			t.Reset(interval)
		}
	})
	sock.OnEnd(func() {
		mu.Lock()
		defer mu.Unlock()
		t.Stop()
	})
}

// initAuthorization returns the Authorization value of a connection_init
// payload, at its top level or under "headers", in either spelling.
func initAuthorization(p transport.InitPayload) string {
	if v := p.Authorization(); v != "" {
		return v
	}
	headers, _ := p["headers"].(map[string]any)
	for _, key := range []string{"Authorization", "authorization"} {
		if v, ok := headers[key].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

// maxBody bounds one HTTP GraphQL request. The largest legitimate one (a
// submission with a 2,000-character description) is a few kilobytes; the
// bound keeps a hostile client from making the server buffer megabytes.
const maxBody = 1 << 20

// maxUploadBody bounds a multipart request: five files of 10 MB and the
// operation.
const maxUploadBody = files.MaxCount*files.MaxSize + maxBody

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			limit := int64(maxBody)
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
				limit = maxUploadBody
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}
