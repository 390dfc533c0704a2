// Command onestop serves the OneStop GraphQL API: the resident app, the
// butler staff app and the admin console all talk to it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
	// The zone database is built in, so a host without one (a scratch
	// container) still counts each property's local dates in its own zone.
	_ "time/tzdata"

	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/graph"
	"github.com/kproperty/onestop/graph/playground"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/billing"
	"github.com/kproperty/onestop/internal/booking"
	"github.com/kproperty/onestop/internal/callback"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/metrics"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/portfolio"
	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/promiseclock"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/pubsub"
	"github.com/kproperty/onestop/internal/pubsub/redisbroker"
	"github.com/kproperty/onestop/internal/ratelimit"
	"github.com/kproperty/onestop/internal/ratelimit/redislimit"
	"github.com/kproperty/onestop/internal/request"
	"github.com/kproperty/onestop/internal/stats"
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
	// AdminAddr is where the admin listener listens, if ADMIN_ADDR is set.
	AdminAddr string
	// IdleTimeout is how long an idle keep-alive connection stays open.
	IdleTimeout time.Duration
	// Live tracks the websockets and their subscriptions for shutdown.
	Live    *graph.Live
	closers []func()
}

// startTicker runs each time-based job (the promise clock, auto-confirmation,
// phone pushes) every interval, in a loop of its own, until the returned
// stop is called; stop waits for every loop to end. A slow job (a push
// gateway that does not answer) delays only itself. Several instances may
// tick at once: each job claims its rows with SKIP LOCKED, so each step
// fires once.
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
// loads demo data if asked, and builds the services and routes.
func newApp(ctx context.Context, cfg config.Config, clk clock.Clock, log *slog.Logger) (*App, error) {
	log.Info("connecting to PostgreSQL", "url", config.RedactURL(cfg.DatabaseURL))
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	app := &App{DB: db, Metrics: metrics.New()}
	app.closers = append(app.closers, func() { db.Close() })
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
	app.Hub = pubsub.NewHub(postgres.NewEventStore(db), broker, pubsub.Options{
		PollInterval: cfg.EventPollInterval,
		Buffer:       cfg.SubscriberBuffer,
		Log:          log,
	})
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
	app.Stats = stats.NewService(postgres.NewStatsStore(db), clk)
	notifications := postgres.NewNotificationStore(db)
	bookingStore := postgres.NewBookingStore(db)
	bookings := booking.NewService(bookingStore, app.Requests, app.Hub.Wake)
	deps := graph.Deps{
		AuthService:         authSvc,
		RequestService:      app.Requests,
		CallbackService:     app.Callbacks,
		PortfolioService:    portfolio.NewService(app.Requests, postgres.NewPortfolioStore()),
		DispatchService:     dispatch.NewService(postgres.NewDispatchStore(db)),
		NotificationService: notification.NewService(notifications, clk),
		StatsService:        app.Stats,
		SettingsService:     property.NewSettingsService(postgres.NewSettingsStore(db)),
		CatalogueService:    property.NewCatalogueService(postgres.NewCatalogueStore(db)),
		Directory:           postgres.NewDirectory(db),
		Events:              app.Hub,
		BookingService:      bookings,
		BillingService:      billing.NewService(app.Requests, app.Callbacks, bookingStore.Billing()),
	}
	var sender notification.Sender = notification.LogSender{Log: log}
	if cfg.PushWebhookURL != "" {
		sender = notification.WebhookSender{URL: cfg.PushWebhookURL}
	}
	app.Pusher = &notification.Pusher{Outbox: notifications, Sender: sender, Clock: clk, MaxAttempts: 8, Log: log}
	app.Jobs = []func(context.Context) (int, error){
		app.Metrics.Job("promise_clock", app.Clock.Tick),
		app.Metrics.Job("auto_confirm", app.Callbacks.AutoConfirmDue),
		app.Metrics.Job("push", app.Pusher.Tick),
		app.Metrics.Job("visit_reminders", bookings.RemindVisits),
	}
	if cfg.TickInterval > 0 {
		stop := startTicker(cfg.TickInterval, log, app.Jobs...)
		app.closers = append(app.closers, stop)
	}

	mux := http.NewServeMux()
	app.Live = graph.NewLive()
	mux.Handle("/query", graph.NewHandler(deps, graph.Options{
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
	}))
	mux.Handle("GET /metrics", app.Metrics.Handler())
	export := graph.NewExportHandler(deps, log)
	mux.Handle("GET /export/requests.csv", export)
	mux.Handle("GET /export/stats.csv", export)
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
