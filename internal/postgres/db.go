// Package postgres is where all SQL lives: the embedded migrations, the
// transaction helper, and the stores the domain packages declare.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/XSAM/otelsql"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kproperty/onestop/internal/apperr"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the application's PostgreSQL handle.
type DB struct {
	*sqlx.DB
	// stmts are the key look-ups every screen runs (see prepared),
	// prepared on the planned pool when there is one.
	stmts stmtCache
	// planned, when set, is a pool whose sessions keep one generic plan
	// per prepared statement, and plannedStmts its statements (see
	// plannedOnce).
	planned      *sqlx.DB
	plannedStmts stmtCache
	// txStmts are the write path's statements prepared on the pool, for
	// its transactions (see inTx).
	txStmts stmtCache
	// counters is the daily request counter's own pool, and counterStmt
	// its one statement (see RequestStore's NextSequence).
	counters    *sqlx.DB
	counterStmt stmtCache
}

// stmtCache holds statements prepared on a pool, one per query text; with
// max set, at most that many.
type stmtCache struct {
	stmts sync.Map
	n     atomic.Int64
	max   int64
}

// get returns query prepared on pool, preparing it the first time; nil
// when the cache holds its max already.
func (c *stmtCache) get(ctx context.Context, pool *sqlx.DB, query string) (*sqlx.Stmt, error) {
	if st, ok := c.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	if n := c.n.Add(1); c.max > 0 && n > c.max {
		c.n.Add(-1)
		return nil, nil
	}
	st, err := pool.PreparexContext(ctx, query)
	if err != nil {
		c.n.Add(-1)
		return nil, mapErr(err)
	}
	if prev, loaded := c.stmts.LoadOrStore(query, st); loaded {
		c.n.Add(-1)
		_ = st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// plannedOnce returns query prepared on the planned pool, where each
// session plans it once, for a statement run so often, and written so
// tightly for its shape, that planning it on every run costs more than
// running it: the list's pages. On the main pool PostgreSQL keeps
// planning such a statement for every call's parameters, since a plan for
// them always looks a little cheaper than one for any; that planning took
// as long as the run. Without a planned pool it is prepared on the main
// pool. Every session keeps each statement's plan (about half a megabyte
// for a list page), so at most maxPlanned are kept; beyond them it
// returns nil, and the caller runs the query unprepared.
func (db *DB) plannedOnce(ctx context.Context, query string) (*sqlx.Stmt, error) {
	pool := db.planned
	if pool == nil {
		pool = db.DB
	}
	return db.plannedStmts.get(ctx, pool, query)
}

// maxPlanned is how many statements plannedOnce keeps: the apps' page
// shapes (a few orders, first page or next, a few page sizes, each kind of
// viewer) with room to spare. The shapes are finite but many, and a caller
// could otherwise walk them all to fill every session's memory.
const maxPlanned = 48

// selectPlannedOnce is sqlx.SelectContext over plannedOnce's statement,
// or over the query unprepared on the main pool once maxPlanned are kept.
func (db *DB) selectPlannedOnce(ctx context.Context, dest any, query string, args ...any) error {
	st, err := db.plannedOnce(ctx, query)
	if err != nil {
		return err
	}
	if st == nil {
		return mapErr(sqlx.SelectContext(ctx, db.DB, dest, query, args...))
	}
	return mapErr(st.SelectContext(ctx, dest, args...))
}

// Pools names each connection pool the handle holds: the main one
// ("onestop"), the planned pages' ("onestop_planned", when there is one)
// and the request counter's ("onestop_counters"), for their metrics.
func (db *DB) Pools() map[string]*sql.DB {
	out := map[string]*sql.DB{"onestop": db.DB.DB, "onestop_counters": db.counters.DB}
	if db.planned != nil {
		out["onestop_planned"] = db.planned.DB
	}
	return out
}

// Close closes every pool.
func (db *DB) Close() error {
	if db.planned != nil {
		_ = db.planned.Close()
	}
	_ = db.counters.Close()
	return db.DB.Close()
}

// prepared returns query prepared for the statements every screen runs,
// each a look-up by key (the viewer, a request, a page's timelines): each
// connection parses it once, and every run after that is one round trip
// (bind and execute) instead of two. They run on the planned pool when
// there is one, where each session also plans them once: on the main pool
// PostgreSQL planned them again for every call's parameters (0.3 to 0.9
// ms a bind, longer than the run), as a plan for the call's values always
// looks a little cheaper than one for any, though a key look-up's plan is
// the same for every key. These are a fixed set, so the cache has no
// bound.
func (db *DB) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if db.planned != nil {
		return db.stmts.get(ctx, db.planned, query)
	}
	return db.stmts.get(ctx, db.DB, query)
}

// getPrepared is get over a prepared statement.
func (db *DB) getPrepared(ctx context.Context, dest any, query string, args ...any) error {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return err
	}
	return mapErr(st.GetContext(ctx, dest, args...))
}

// DefaultPoolSize is how many connections a pool opens at most.
const DefaultPoolSize = 20

// Option adjusts how Open connects.
type Option func(*openOptions)

// Traced makes every statement a span of the given tracer provider's, a
// child of the span of the call that runs it.
func Traced(tp trace.TracerProvider) Option {
	return func(o *openOptions) { o.tracer = tp }
}

// PoolSize sets how many connections the pool opens at most (zero keeps
// DefaultPoolSize). It keeps all of them open once made: a burst of
// parallel calls reuses sessions instead of opening (and closing)
// PostgreSQL sessions one per call.
func PoolSize(n int) Option {
	return func(o *openOptions) {
		if n > 0 {
			o.size = n
		}
	}
}

// PlannedPoolSize opens, besides the pool, one of n connections whose
// sessions plan each prepared statement once (plan_cache_mode
// force_generic_plan), for the statements DB.plannedOnce serves; zero
// opens none, and those statements run on the pool.
func PlannedPoolSize(n int) Option {
	return func(o *openOptions) { o.planned = n }
}

type openOptions struct {
	tracer  trace.TracerProvider
	size    int
	planned int
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	o := openOptions{size: DefaultPoolSize}
	for _, f := range opts {
		f(&o)
	}
	db, err := openPool(ctx, url, o.size, o.tracer)
	if err != nil {
		return nil, err
	}
	out := &DB{DB: db}
	out.plannedStmts.max = maxPlanned
	// The counter's pool connects on its first number: a handle that
	// never submits (the live path's) opens no session for it.
	counters, err := withRuntimeParam(url, "synchronous_commit", "off")
	if err == nil {
		out.counters, err = newPool(counters, counterPoolSize, o.tracer)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if o.planned > 0 {
		planned, err := withRuntimeParam(url, "plan_cache_mode", "force_generic_plan")
		if err == nil {
			out.planned, err = openPool(ctx, planned, o.planned, o.tracer)
		}
		if err != nil {
			out.Close()
			return nil, err
		}
	}
	return out, nil
}

// counterPoolSize is how many sessions draw request numbers. An upsert of
// the counter holds its row for its own run only (see NextSequence), a
// fraction of a millisecond, so two keep up with every property at once.
const counterPoolSize = 2

// withRuntimeParam adds a setting every session of the DSN starts with,
// which lib/pq sends for any parameter it does not know; dsn is a URL or
// key=value pairs.
func withRuntimeParam(dsn, key, value string) (string, error) {
	if !strings.Contains(dsn, "://") {
		return dsn + " " + key + "=" + value, nil
	}
	u, err := neturl.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("database url: %w", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// openPool opens one pool of size connections, traced when tp is set, and
// checks that it reaches PostgreSQL.
func openPool(ctx context.Context, url string, size int, tp trace.TracerProvider) (*sqlx.DB, error) {
	db, err := newPool(url, size, tp)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reach postgres: %w", err)
	}
	return db, nil
}

// newPool returns a pool of size connections, traced when tp is set; it
// connects when first used.
func newPool(url string, size int, tp trace.TracerProvider) (*sqlx.DB, error) {
	var db *sqlx.DB
	if tp == nil {
		var err error
		if db, err = sqlx.Open("postgres", url); err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
	} else {
		sqlDB, err := otelsql.Open("postgres", url, otelsql.WithTracerProvider(tp),
			otelsql.WithAttributes(semconv.DBSystemNamePostgreSQL),
			otelsql.WithSpanOptions(otelsql.SpanOptions{
				OmitConnResetSession: true,
				OmitRows:             true,
				// Statements outside any traced call (the tailer's idle
				// polls, the scheduled jobs) would each be a trace of
				// their own: noise that buries the calls.
				SpanFilter: func(ctx context.Context, _ otelsql.Method, _ string, _ []driver.NamedValue) bool {
					return trace.SpanContextFromContext(ctx).IsValid()
				},
			}))
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db = sqlx.NewDb(sqlDB, "postgres")
	}
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Migrate applies every pending migration. A session-level advisory lock
// makes it safe when several instances start at once: one migrates, the
// others wait and then find nothing to do.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.DB.DB, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. It is the one place transactions begin and end.
func (db *DB) InTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// mapErr turns driver errors a client can cause into domain errors, at the
// storage edge, so no domain package looks at Postgres codes.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "40001", "40P01": // serialization failure, deadlock
			return apperr.New(apperr.Conflict, "a concurrent change got there first; try again")
		case "23503": // a referenced row does not exist
			return apperr.ErrNotFound
		case "23505": // unique violation: a concurrent change took the slot first
			return apperr.New(apperr.Conflict, "a concurrent change got there first; try again")
		}
	}
	return err
}

// get runs a single-row query, answering apperr.ErrNotFound for no row.
func get(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	return mapErr(sqlx.GetContext(ctx, q, dest, query, args...))
}
