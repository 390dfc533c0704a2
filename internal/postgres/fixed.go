package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// The write path runs a few statements of fixed text on every submission
// and step: the look-ups before a submission's transaction, the reads and
// the row inside it, and the outbox's. Unprepared, each statement with
// parameters is two round trips (parse and describe, then bind and
// execute) and is parsed and planned every time; prepared, it is one round
// trip. The outbox's run while the event-order lock is held, so each round
// trip saved there is saved for every writer waiting behind it.

// inTx returns query prepared on the pool and bound to tx. Each of the
// pool's sessions parses it the first time one of its transactions runs
// it, and only binds and executes it after that. Only fixed texts go
// through it: the pool's sessions keep every one.
func (db *DB) inTx(ctx context.Context, tx *sqlx.Tx, query string) (*sqlx.Stmt, error) {
	st, err := db.txStmts.get(ctx, db.DB, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtxContext(ctx, st), nil
}

// stmt returns query prepared, when t knows its DB: on the pool
// (DB.prepared) outside a transaction, bound to the transaction's
// connection inside one. It returns nil when t does not know its DB, and
// the caller runs query as it is; done releases the statement.
func (t requestTx) stmt(ctx context.Context, query string) (st *sqlx.Stmt, done func(), err error) {
	if t.db == nil {
		return nil, func() {}, nil
	}
	if tx, ok := t.q.(*sqlx.Tx); ok {
		st, err := t.db.inTx(ctx, tx, query)
		if err != nil {
			return nil, nil, err
		}
		// Closing a transaction's copy leaves the pool's statement, and
		// its session's preparation, in place.
		return st, func() { _ = st.Close() }, nil
	}
	st, err = t.db.prepared(ctx, query)
	return st, func() {}, err
}

// getFixed is get over stmt's statement.
func (t requestTx) getFixed(ctx context.Context, dest any, query string, args ...any) error {
	st, done, err := t.stmt(ctx, query)
	if err != nil {
		return err
	}
	defer done()
	if st == nil {
		return get(ctx, t.q, dest, query, args...)
	}
	return mapErr(st.GetContext(ctx, dest, args...))
}

// selectFixed is sqlx.SelectContext over stmt's statement.
func (t requestTx) selectFixed(ctx context.Context, dest any, query string, args ...any) error {
	st, done, err := t.stmt(ctx, query)
	if err != nil {
		return err
	}
	defer done()
	if st == nil {
		return mapErr(sqlx.SelectContext(ctx, t.q, dest, query, args...))
	}
	return mapErr(st.SelectContext(ctx, dest, args...))
}

// execFixed is ExecContext over stmt's statement.
func (t requestTx) execFixed(ctx context.Context, query string, args ...any) error {
	st, done, err := t.stmt(ctx, query)
	if err != nil {
		return err
	}
	defer done()
	if st == nil {
		_, err = t.q.ExecContext(ctx, query, args...)
	} else {
		_, err = st.ExecContext(ctx, args...)
	}
	return mapErr(err)
}
