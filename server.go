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
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/graph"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/postgres"
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
	if err := run(ctx, os.Getenv, log); err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled (SIGTERM), then shuts down gracefully:
// it stops accepting, closes websockets, and waits for calls in flight.
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

	// Websockets are hijacked connections that http.Server.Shutdown does not
	// wait for or close; cancelling their base context ends them.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           app.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },

		// The body's read deadline and the write deadline are set per
		// request (withDeadlines), since websockets must have neither.
		IdleTimeout:    cfg.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "graphql", "/query", "dev", cfg.Dev)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	cancelBase()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// App is a wired server: its HTTP handler and what must be closed.
type App struct {
	Handler  http.Handler
	DB       *postgres.DB
	Redis    *redis.Client
	Requests *request.Service
	Pusher   *notification.Pusher
	Hub      *pubsub.Hub
	Stats    *stats.Service
	closers  []func()
}

// startTicker runs the time-based jobs (the promise clock, phone pushes)
// every interval until the returned stop is called. Several instances may
// tick at once: each job claims its rows with SKIP LOCKED, so each step
// fires once.
func startTicker(every time.Duration, log *slog.Logger, jobs ...func(context.Context) (int, error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, job := range jobs {
				if _, err := job(ctx); err != nil && ctx.Err() == nil {
					log.Error("scheduled job failed", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
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
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	app := &App{DB: db}
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
	app.Requests = request.NewService(postgres.NewRequestStore(db), clk, app.Hub, log)
	app.Requests.Configure(request.Config{
		AutoConfirmAfter:    time.Duration(cfg.AutoConfirmDays) * 24 * time.Hour,
		CallbackDue:         cfg.CallbackDue,
		MaxCallbackAttempts: cfg.CallbackAttempts,
	})
	app.Stats = stats.NewService(postgres.NewStatsStore(db), clk)
	notifications := postgres.NewNotificationStore(db)
	deps := graph.Deps{
		AuthService:         authSvc,
		RequestService:      app.Requests,
		DispatchService:     dispatch.NewService(postgres.NewDispatchStore(db)),
		NotificationService: notification.NewService(notifications, clk),
		StatsService:        app.Stats,
		SettingsService:     property.NewSettingsService(postgres.NewSettingsStore(db)),
		CatalogueService:    property.NewCatalogueService(postgres.NewCatalogueStore(db)),
		Directory:           postgres.NewDirectory(db),
		Events:              app.Hub,
	}
	var sender notification.Sender = notification.LogSender{Log: log}
	if cfg.PushWebhookURL != "" {
		sender = notification.WebhookSender{URL: cfg.PushWebhookURL}
	}
	app.Pusher = &notification.Pusher{Outbox: notifications, Sender: sender, Clock: clk, MaxAttempts: 8, Log: log}
	if cfg.TickInterval > 0 {
		stop := startTicker(cfg.TickInterval, log, app.Requests.Tick, app.Requests.AutoConfirmDue, app.Pusher.Tick)
		app.closers = append(app.closers, stop)
	}

	mux := http.NewServeMux()
	mux.Handle("/query", graph.NewHandler(deps, graph.Options{
		AllowedOrigins:   cfg.AllowedOrigins,
		Introspection:    cfg.Dev,
		PingInterval:     cfg.WSPingInterval,
		InitTimeout:      cfg.WSInitTimeout,
		Log:              log,
		Limiter:          operationLimiter(cfg, limiter),
		TrustedProxies:   cfg.TrustedProxies,
		OperationTimeout: cfg.OperationTimeout,
	}))
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
	}
	app.Handler = withDeadlines(cfg, mux)
	return app, nil
}
