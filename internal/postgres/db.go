// Package postgres is where all SQL lives: the embedded migrations, the
// transaction helper, and the stores the domain packages declare.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/kproperty/onestop/internal/apperr"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the application's PostgreSQL handle.
type DB struct {
	*sqlx.DB
}

// DefaultPoolSize is how many connections a pool opens at most.
const DefaultPoolSize = 20

// Open connects to PostgreSQL with a pool of DefaultPoolSize connections
// and checks the connection.
func Open(ctx context.Context, url string) (*DB, error) {
	return OpenPool(ctx, url, DefaultPoolSize)
}

// OpenPool connects with a pool of at most size connections, all of which
// it keeps open once made: a burst of parallel calls reuses sessions
// instead of opening (and closing) PostgreSQL sessions one per call.
func OpenPool(ctx context.Context, url string, size int) (*DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reach postgres: %w", err)
	}
	return &DB{DB: db}, nil
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
