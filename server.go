// Command onestop serves the OneStop GraphQL API: the resident app, the
// butler staff app and the admin console all talk to it.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	// The zone database is built in, so a host without one (a scratch
	// container) still counts each property's local dates in its own zone.
	_ "time/tzdata"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/redis/go-redis/v9"
	// File storage drivers: local disk and memory.
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob"

	"github.com/kproperty/onestop/graph"
	"github.com/kproperty/onestop/graph/playground"
	"github.com/kproperty/onestop/internal/admin"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/billing"
	"github.com/kproperty/onestop/internal/booking"
	"github.com/kproperty/onestop/internal/callback"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/conversation"
	"github.com/kproperty/onestop/internal/device"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/duty"
	"github.com/kproperty/onestop/internal/files"
	"github.com/kproperty/onestop/internal/frontdesk"
	"github.com/kproperty/onestop/internal/gcfloor"
	"github.com/kproperty/onestop/internal/metrics"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/portfolio"
	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/promiseclock"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/pubsub"
	"github.com/kproperty/onestop/internal/pubsub/redisbroker"
	"github.com/kproperty/onestop/internal/querycache"
	"github.com/kproperty/onestop/internal/ratelimit"
	"github.com/kproperty/onestop/internal/ratelimit/redislimit"
	"github.com/kproperty/onestop/internal/request"
	"github.com/kproperty/onestop/internal/stats"
	"github.com/kproperty/onestop/internal/tracing"
	"github.com/kproperty/onestop/internal/visitor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if config.JSONLogs(os.Getenv) {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if err := run(ctx, os.Getenv, log); err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled (SIGTERM), then shuts down gracefully:
// it stops accepting, lets the calls in flight finish (for up to
// SHUTDOWN_TIMEOUT), and ends each subscription with RESUME_REQUIRED before
// closing its websocket.
func run(ctx context.Context, getenv func(string) string, log *slog.Logger) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	defer tuneRuntime(cfg, getenv, log)()
	app, err := newApp(ctx, cfg, clock.Real{}, log)
	if err != nil {
		return err
	}
	defer app.Close()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "graphql", "/query", "dev", cfg.Dev)
	if cfg.Dev {
		announceDev(log, ln.Addr())
	}
	return serve(ctx, app, ln, cfg.ShutdownTimeout, log)
}

// tuneRuntime sets the garbage collector for a server: a floor under the
// heap at which it collects (see config.GCMinHeapMiB), and a soft memory
// limit of nine tenths of the container's, so that the collector works
// harder before the container is out of memory rather than after. GOGC and
// GOMEMLIMIT in the environment are the runtime's own settings and win;
// without a container limit there is no soft limit. The returned function
// puts Go's settings back.
func tuneRuntime(cfg config.Config, getenv func(string) string, log *slog.Logger) (undo func()) {
	stopFloor := func() {}
	attrs := []any{"gogc", getenv("GOGC")}
	if getenv("GOGC") == "" {
		attrs = []any{"min_heap_mib", cfg.GCMinHeapMiB}
		if cfg.GCMinHeapMiB > 0 {
			stopFloor = gcfloor.Start(uint64(cfg.GCMinHeapMiB)<<20, 100)
		}
	}
	before := debug.SetMemoryLimit(-1)
	switch limit, err := memlimit.Set(memlimit.WithProvider(memlimit.FromCgroup)); {
	case err != nil:
		attrs = append(attrs, "memory_limit", "none: "+err.Error())
	case limit == math.MaxInt64:
		attrs = append(attrs, "memory_limit", "none")
	default:
		attrs = append(attrs, "memory_limit_bytes", limit)
	}
	log.Info("garbage collector", attrs...)
	return func() {
		stopFloor()
		debug.SetMemoryLimit(before)
	}
}

// serve serves the app on ln until ctx is cancelled, then shuts down
// gracefully within shutdownTimeout.
func serve(ctx context.Context, app *App, ln net.Listener, shutdownTimeout time.Duration, log *slog.Logger) error {
	// Calls in flight must outlive the signal: their context is detached
	// from ctx, and Shutdown waits for them.
	srv := &http.Server{
		Handler:           app.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		// The body's read deadline and the write deadline are set per
		// request (withDeadlines), since websockets must have neither.
		IdleTimeout:    app.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// Websockets are hijacked connections that Shutdown neither waits for
	// nor closes: end them alongside, subscriptions first so that each
	// client hears where to resume, then the sockets.
	socketsDone := make(chan struct{})
	go func() {
		defer close(socketsDone)
		app.Hub.Shutdown()
		app.Live.Drain()
		if err := app.Live.WaitStreams(sctx); err != nil {
			log.Warn("subscriptions still running at the shutdown deadline", "err", err)
		}
		app.Live.CloseSockets()
	}()
	err := srv.Shutdown(sctx)
	<-socketsDone
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// announceDev says where a development server is (the URL to open) and
// warns when it is reachable beyond this machine with its built-in secret.
func announceDev(log *slog.Logger, addr net.Addr) {
	host, port := "localhost", ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
		if !tcp.IP.IsUnspecified() {
			host = tcp.IP.String()
		}
		if !tcp.IP.IsLoopback() {
			log.Warn("development server reachable from the network: it signs tokens with a built-in secret and may hold demo accounts; set HTTP_ADDR=127.0.0.1:" + port + " to keep it local")
		}
	}
	log.Info("GraphiQL at http://" + net.JoinHostPort(host, port) + "/ (API: POST /query, websocket /query)")
}

// App is a wired server: its HTTP handler and what must be closed.
type App struct {
	Handler   http.Handler
	DB        *postgres.DB
	Redis     *redis.Client
	Requests  *request.Service
	Callbacks *callback.Service
	Clock     *promiseclock.Clock
	Pusher    *notification.Pusher
	Hub       *pubsub.Hub
	Stats     *stats.Service
	Metrics   *metrics.Metrics
	// Jobs are the scheduled jobs, counted and timed, as the ticker runs
	// them.
	Jobs []func(context.Context) (int, error)
	// Fold folds the request changes logged for the statistics into the
	// per-day rollup, counted and timed, as its own ticker runs it
	// (STATS_FOLD_INTERVAL).
	Fold func(context.Context) (int, error)
	// AdminAddr is where the admin listener listens, if ADMIN_ADDR is set.
	AdminAddr string
	// IdleTimeout is how long an idle keep-alive connection stays open.
	IdleTimeout time.Duration
	// Live tracks the websockets and their subscriptions for shutdown.
	Live    *graph.Live
	closers []func()
	// Files keeps request photos and documents in Storage.
	Files   *files.Service
	Storage files.Storage
}

// startTicker runs each time-based job (the promise clock, auto-confirmation,
// phone pushes; the statistics' fold on a ticker of its own) every
// interval, in a loop of its own, until the returned stop is called; stop
// waits for every loop to end. A slow job (a push gateway that does not
// answer) delays only itself. Several instances may tick at once: each job
// claims its rows with SKIP LOCKED (the fold, with a lock of the folders'
// own), so each step fires once.
func startTicker(every time.Duration, log *slog.Logger, jobs ...func(context.Context) (int, error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if _, err := job(ctx); err != nil && ctx.Err() == nil {
					log.Error("scheduled job failed", "err", err)
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// operationLimiter is the limiter of per-person and per-address
// allowances, or nil when they are off.
func operationLimiter(cfg config.Config, l ratelimit.Limiter) ratelimit.Limiter {
	if !cfg.RateLimit {
		return nil
	}
	return l
}

// Close releases the app's connections and stops its background work.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// newApp connects to PostgreSQL (and Redis when configured), migrates,
// loads demo data if asked, and builds the services and routes. With
// cfg.Tracing it sends traces to the OTLP collector the environment names.
func newApp(ctx context.Context, cfg config.Config, clk clock.Clock, log *slog.Logger) (*App, error) {
	if !cfg.Tracing {
		return newTracedApp(ctx, cfg, clk, log, nil)
	}
	tp, err := tracing.New(ctx)
	if err != nil {
		return nil, err
	}
	log.Info("tracing to the OTLP collector", "endpoint", config.RedactURL(cmp.Or(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))))
	app, err := newTracedApp(ctx, cfg, clk, log, tp)
	if err != nil {
		_ = tp.Shutdown(context.Background())
		return nil, err
	}
	// First in, so last out: the spans of everything closed before it are
	// flushed.
	app.closers = append([]func(){func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}}, app.closers...)
	return app, nil
}

// newTracedApp is newApp with traces going to tp: HTTP requests, GraphQL
// operations, SQL statements and the live path (publish, relay, read,
// delivery). A nil tp traces nothing and wraps nothing.
func newTracedApp(ctx context.Context, cfg config.Config, clk clock.Clock, log *slog.Logger, tp trace.TracerProvider) (*App, error) {
	log.Info("connecting to PostgreSQL", "url", config.RedactURL(cfg.DatabaseURL))
	var dbOpts []postgres.Option
	if tp != nil {
		dbOpts = append(dbOpts, postgres.Traced(tp))
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, append(dbOpts, postgres.PoolSize(cfg.DBPoolSize), postgres.PlannedPoolSize(cfg.PlannedDBPoolSize))...)
	if err != nil {
		return nil, err
	}
	app := &App{DB: db, Metrics: metrics.New(), IdleTimeout: cfg.IdleTimeout}
	app.closers = append(app.closers, func() { db.Close() })
	for name, pool := range db.Pools() {
		app.Metrics.WatchDB(pool, name)
	}
	if err := db.Migrate(ctx, log); err != nil {
		app.Close()
		return nil, err
	}
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			app.Close()
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		app.Redis = redis.NewClient(opts)
		app.closers = append(app.closers, func() { app.Redis.Close() })
	}

	var limiter ratelimit.Limiter = ratelimit.NewLocal(clk)
	if app.Redis != nil {
		limiter = redislimit.New(app.Redis, limiter, log)
	}
	authSvc := auth.NewService(postgres.NewAuthStore(db), clk, auth.Config{Secret: []byte(cfg.JWTSecret), AccessTTL: cfg.AccessTTL, Limiter: limiter})
	if cfg.DemoData {
		accounts, err := db.SeedDemo(ctx, func(pw string) (string, error) { return auth.HashPassword(pw, cfg.PasswordCost) })
		if err != nil {
			app.Close()
			return nil, fmt.Errorf("demo data: %w", err)
		}
		desk, err := db.SeedFrontDeskDemo(ctx, clk.Now(), func(pw string) (string, error) { return auth.HashPassword(pw, cfg.PasswordCost) })
		if err != nil {
			app.Close()
			return nil, fmt.Errorf("front desk demo data: %w", err)
		}
		accounts = append(accounts, desk...)
		if cfg.Dev {
			for _, a := range accounts {
				log.Info("demo account", "username", a.Username, "password", postgres.DemoPassword, "role", a.Role, "at", a.Where)
			}
		}
	}
	// Live events: one hub per process, tailing the event log and woken by
	// Redis (or, with no Redis, by the mutations of this process alone).
	var broker pubsub.Broker = pubsub.NewLocal()
	if app.Redis != nil {
		broker = redisbroker.New(app.Redis, cfg.RedisChannel)
	}
	// The live path reads the log through a pool of its own, so delivery
	// to phones never waits for a connection behind the API's calls.
	liveDB, err := postgres.Open(ctx, cfg.DatabaseURL, append(dbOpts, postgres.PoolSize(or(cfg.LiveDBPoolSize, 4)))...)
	if err != nil {
		app.Close()
		return nil, err
	}
	app.closers = append(app.closers, func() { liveDB.Close() })
	app.Hub = pubsub.NewHub(postgres.NewEventStore(liveDB), broker, pubsub.Options{
		PollInterval: cfg.EventPollInterval,
		Buffer:       cfg.SubscriberBuffer,
		Log:          log,
		Clock:        clk,
		Observer:     app.Metrics,
		Tracer:       tp,
	})
	app.Metrics.WatchPublishQueue(app.Hub.Queued)
	if err := app.Hub.Start(ctx); err != nil {
		app.Close()
		return nil, err
	}
	app.closers = append(app.closers, app.Hub.Close)
	// One engine moves every request; each noun below works through it.
	app.Requests = request.NewService(postgres.NewRequestStore(db), clk, app.Hub, log)
	app.Callbacks = callback.NewService(app.Requests, postgres.NewCallbackStore(db), callback.Config{
		AutoConfirmAfter:    time.Duration(cfg.AutoConfirmDays) * 24 * time.Hour,
		CallbackDue:         cfg.CallbackDue,
		MaxCallbackAttempts: cfg.CallbackAttempts,
	})
	app.Clock = promiseclock.New(app.Requests, postgres.NewClockStore())
	statsStore := postgres.NewStatsStore(db)
	app.Stats = stats.NewService(statsStore, clk)
	// Request photos and documents: a bucket by URL (local disk unless
	// STORAGE_URL names another), links signed with the server's secret.
	storageURL := cfg.StorageURL
	if storageURL == "" {
		storageURL = config.LocalStorageURL()
	}
	bucket, err := files.OpenBucket(ctx, storageURL)
	if err != nil {
		app.Close()
		return nil, fmt.Errorf("file storage %s: %w", config.RedactURL(storageURL), err)
	}
	app.closers = append(app.closers, func() { bucket.Close() })
	app.Storage = bucket
	app.Files = files.NewService(postgres.NewFileStore(db), bucket, clk, cfg.JWTSecret)
	notifications := postgres.NewNotificationStore(db)
	visitorStore, dutyStore := postgres.NewVisitorStore(db), postgres.NewDutyStore(db)
	visitorStore.Notified, dutyStore.Notified = app.Hub.Wake, app.Hub.Wake
	visitors := visitor.NewService(visitorStore, clk)
	duties := duty.NewService(dutyStore, clk)
	bookingStore := postgres.NewBookingStore(db)
	bookings := booking.NewService(bookingStore, app.Requests, app.Hub.Wake)
	deps := graph.Deps{
		AuthService:         authSvc,
		RequestService:      app.Requests,
		CallbackService:     app.Callbacks,
		PortfolioService:    portfolio.NewService(app.Requests, postgres.NewPortfolioStore()),
		DispatchService:     dispatch.NewService(postgres.NewDispatchStore(db), clk),
		NotificationService: notification.NewService(notifications, clk),
		StatsService:        app.Stats,
		SettingsService:     property.NewSettingsService(postgres.NewSettingsStore(db), clk),
		CatalogueService:    property.NewCatalogueService(postgres.NewCatalogueStore(db), clk),
		Directory:           postgres.NewDirectory(db),
		Events:              app.Hub,
		VisitorService:      visitors,
		DutyService:         duties,
		FrontDeskService:    frontdesk.NewService(postgres.NewFrontDeskStatsStore(db), clk, visitor.IDTarget),
		ConversationService: conversation.NewService(app.Requests.Engine, postgres.NewRequestStore(db), postgres.NewConversationStore(db), app.Files),
		DeviceService:       device.NewService(postgres.NewDeviceStore(db), clk),
		AdminService:        admin.NewService(app.Requests, postgres.NewAdminStore(db), authSvc, authSvc),
		BookingService:      bookings,
		BillingService:      billing.NewService(app.Requests, app.Callbacks, bookingStore.Billing()),
	}
	var sender notification.Sender = notification.LogSender{Log: log}
	if cfg.PushWebhookURL != "" {
		sender = notification.WebhookSender{URL: cfg.PushWebhookURL}
	}
	sender = countedSender{Sender: sender, metrics: app.Metrics}
	app.Pusher = &notification.Pusher{Outbox: notifications, Sender: sender, Clock: clk, MaxAttempts: 8, Log: log}
	app.Jobs = []func(context.Context) (int, error){
		app.Metrics.Job("promise_clock", app.Clock.Tick),
		app.Metrics.Job("auto_confirm", app.Callbacks.AutoConfirmDue),
		app.Metrics.Job("push", app.Pusher.Tick),
		app.Metrics.Job("visitor_unanswered", visitors.TellUnanswered),
		app.Metrics.Job("visitor_purge", visitors.Purge),
		app.Metrics.Job("greeting_duty", duties.Remind),
		app.Metrics.Job("visit_reminders", bookings.RemindVisits),
	}
	if cfg.TickInterval > 0 {
		stop := startTicker(cfg.TickInterval, log, app.Jobs...)
		app.closers = append(app.closers, stop)
	}
	// The statistics fold what is pending before they read; folding often
	// in the background keeps that backlog (and so a read's wait) to about
	// a second of changes, at the cost of one empty look at the log when
	// nothing changed.
	app.Fold = app.Metrics.Job("stats_fold", statsStore.Fold)
	if cfg.StatsFoldInterval > 0 {
		stop := startTicker(cfg.StatsFoldInterval, log, app.Fold)
		app.closers = append(app.closers, stop)
	}

	mux := http.NewServeMux()
	app.Live = graph.NewLive()
	// traced makes a span of each HTTP request to a route (none when
	// tracing is off), continuing the caller's trace when it sends one.
	traced := func(route string, h http.Handler) http.Handler {
		if tp == nil {
			return h
		}
		return otelhttp.NewHandler(h, route, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(tracing.Propagator),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + route }))
	}
	mux.Handle("/query", traced("/query", graph.NewHandler(deps, graph.Options{
		Live:             app.Live,
		AllowedOrigins:   cfg.AllowedOrigins,
		Introspection:    cfg.Dev,
		PingInterval:     cfg.WSPingInterval,
		InitTimeout:      cfg.WSInitTimeout,
		Log:              log,
		Metrics:          app.Metrics,
		Limiter:          operationLimiter(cfg, limiter),
		TrustedProxies:   cfg.TrustedProxies,
		OperationTimeout: cfg.OperationTimeout,
		PersistedQueries: persistedQueries(app.Redis, cfg.RedisChannel),
		SessionCheck:     cfg.WSSessionCheck,
		Tracer:           tp,
	})))
	mux.Handle("GET /metrics", app.Metrics.Handler())
	mux.Handle("GET /files/{id}", graph.NewFileHandler(app.Files, log))
	export := graph.NewExportHandler(deps, log)
	mux.Handle("GET /export/requests.csv", traced("/export/requests.csv", export))
	mux.Handle("GET /export/stats.csv", traced("/export/stats.csv", export))
	mux.Handle("GET /export/frontdesk.csv", traced("/export/frontdesk.csv", export))
	mux.Handle("GET /export/audit.csv", traced("/export/audit.csv", export))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			http.Error(w, "postgres unreachable", http.StatusServiceUnavailable)
			return
		}
		if app.Redis != nil {
			if err := app.Redis.Ping(ctx).Err(); err != nil {
				// Still ready: live events fall back to reading the event
				// log every EVENT_POLL_INTERVAL, rate limits to each
				// instance's own, and no mutation needs Redis.
				fmt.Fprintln(w, "ready, degraded: redis unreachable (live events by polling)")
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	if cfg.Dev {
		mux.Handle("GET /{$}", playground.Handler("OneStop", "/query"))
		mux.Handle("GET "+playground.AssetPrefix, playground.Assets())
	}
	app.Handler = withDeadlines(cfg, mux)
	if cfg.AdminAddr != "" {
		addr, stop, err := startAdmin(cfg.AdminAddr, app.Metrics, log)
		if err != nil {
			app.Close()
			return nil, err
		}
		app.AdminAddr = addr
		app.closers = append(app.closers, stop)
	}
	return app, nil
}

// countedSender counts every push attempt, and whether it went through, in
// the metrics.
type countedSender struct {
	notification.Sender
	metrics *metrics.Metrics
}

func (s countedSender) Send(ctx context.Context, n notification.Notification) error {
	err := s.Sender.Send(ctx, n)
	s.metrics.Push(err)
	return err
}

// startAdmin serves the profiler (/debug/pprof/) and the metrics on a
// listener of their own, which configuration keeps on loopback: an operator
// reaches it through the host, never through the load balancer.
func startAdmin(addr string, m *metrics.Metrics, log *slog.Logger) (bound string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("GET /metrics", m.Handler())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("ADMIN_ADDR: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("admin listener (pprof, metrics)", "addr", ln.Addr().String())
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// or returns n, or def when n is zero (a setting left unset).
func or(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// persistedQueries is where the apps' persisted queries are kept: in Redis,
// shared by every instance, when there is one.
func persistedQueries(r *redis.Client, channel string) gql.Cache[string] {
	if r == nil {
		return nil
	}
	return querycache.Redis{Client: r, Prefix: channel + ":apq:"}
}

// withDeadlines bounds each plain HTTP request: its body must arrive within
// BodyReadTimeout (a client trickling a byte every few seconds is cut off),
// and its answer must be written within the operation timeout and a margin.
// A websocket upgrade gets neither: it lives as long as its token, and its
// liveness is the ping/pong's business. This is why the http.Server itself
// has no ReadTimeout or WriteTimeout.
func withDeadlines(cfg config.Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWebsocketUpgrade(r) {
			rc := http.NewResponseController(w)
			now := time.Now()
			if cfg.BodyReadTimeout > 0 {
				_ = rc.SetReadDeadline(now.Add(cfg.BodyReadTimeout))
			}
			if cfg.OperationTimeout > 0 {
				_ = rc.SetWriteDeadline(now.Add(cfg.BodyReadTimeout + cfg.OperationTimeout + 10*time.Second))
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isWebsocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
