package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/callback"
	"github.com/kproperty/onestop/internal/portfolio"
	"github.com/kproperty/onestop/internal/promiseclock"
	"github.com/kproperty/onestop/internal/request"
)

// CallbackStore implements callback.Store.
type CallbackStore struct{ db *DB }

// NewCallbackStore returns the callback store.
func NewCallbackStore(db *DB) *CallbackStore { return &CallbackStore{db: db} }

// Tx is the callback side of a request transaction: the same transaction,
// seen through the callback noun's interface.
func (s *CallbackStore) Tx(tx request.Tx) callback.Tx { return tx.(requestTx) }

// ClockStore implements promiseclock.Store.
type ClockStore struct{}

// NewClockStore returns the promise clock's store.
func NewClockStore() ClockStore { return ClockStore{} }

// Tx is the promise clock's side of a request transaction.
func (ClockStore) Tx(tx request.Tx) promiseclock.Tx { return tx.(requestTx) }

// PortfolioStore implements portfolio.Store.
type PortfolioStore struct{}

// NewPortfolioStore returns the portfolio store.
func NewPortfolioStore() PortfolioStore { return PortfolioStore{} }

// Tx is the portfolio side of a request transaction.
func (PortfolioStore) Tx(tx request.Tx) portfolio.Tx { return tx.(requestTx) }

var (
	_ callback.Store     = (*CallbackStore)(nil)
	_ promiseclock.Store = ClockStore{}
	_ portfolio.Store    = PortfolioStore{}
)

func (t requestTx) AddAttempt(ctx context.Context, c callback.Attempt) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO callbacks (request_id, task_id, agent_id, method, outcome, satisfaction, note, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.RequestID, c.TaskID, c.AgentID, c.Method, c.Outcome, c.Satisfaction, c.Note, c.At)
	return mapErr(err)
}

const taskCols = `id, request_id, property_id, reason, status, attempts, due_at, created_at, closed_at`

func (t requestTx) OpenTask(ctx context.Context, requestID string) (*callback.Task, error) {
	var task callback.Task
	// FOR UPDATE: two agents recording attempts at once count them one
	// after the other.
	err := get(ctx, t.q, &task, `SELECT `+taskCols+` FROM callback_tasks WHERE request_id = $1 AND status = 'OPEN' FOR UPDATE`, requestID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &task, nil
}

func (t requestTx) InsertTask(ctx context.Context, task *callback.Task) error {
	return get(ctx, t.q, &task.ID, `INSERT INTO callback_tasks (request_id, property_id, reason, status, attempts, due_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		task.RequestID, task.PropertyID, task.Reason, task.Status, task.Attempts, task.DueAt, task.CreatedAt)
}

func (t requestTx) UpdateTask(ctx context.Context, task *callback.Task) error {
	_, err := t.q.ExecContext(ctx, `UPDATE callback_tasks SET status = $2, attempts = $3, closed_at = $4 WHERE id = $1`,
		task.ID, task.Status, task.Attempts, task.ClosedAt)
	return mapErr(err)
}

func (t requestTx) OpenFollowUp(ctx context.Context, requestID string, at time.Time) (bool, error) {
	res, err := t.q.ExecContext(ctx, `INSERT INTO follow_ups (request_id, created_at) VALUES ($1, $2)
ON CONFLICT (request_id) WHERE done_at IS NULL AND cancelled_at IS NULL DO NOTHING`, requestID, at)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t requestTx) FollowUpPending(ctx context.Context, requestID string) (bool, error) {
	var pending bool
	err := get(ctx, t.q, &pending, `SELECT EXISTS (SELECT 1 FROM follow_ups WHERE request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL)`, requestID)
	return pending, err
}

func (t requestTx) DoFollowUp(ctx context.Context, requestID, directorID string, note *string, at time.Time) (bool, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE follow_ups SET done_at = $2, done_by = $3, note = $4
WHERE request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL`, requestID, at, directorID, note)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t requestTx) ClaimUnanswered(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	ids := []string{}
	// SKIP LOCKED lets several instances run the job at once: each takes
	// the rows nobody else holds, and none waits for another.
	err := sqlx.SelectContext(ctx, t.q, &ids, `SELECT id FROM service_requests
WHERE status = 'COMPLETED' AND completed_at <= $1
ORDER BY completed_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, cutoff, limit)
	return ids, mapErr(err)
}

// Queue returns open callback tasks, due first.
func (s *CallbackStore) Queue(ctx context.Context, propertyIDs []string, limit int, after *callback.TaskCursor) ([]*callback.Task, error) {
	var afterAt *time.Time
	var afterID *string
	if after != nil {
		afterAt, afterID = &after.DueAt, &after.ID
	}
	var props any
	if propertyIDs != nil {
		props = pq.Array(propertyIDs)
	}
	rows := []*callback.Task{}
	err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT `+taskCols+` FROM callback_tasks
WHERE status = 'OPEN' AND ($1::uuid[] IS NULL OR property_id = ANY($1::uuid[]))
  AND ($2::timestamptz IS NULL OR (due_at, id) > ($2::timestamptz, $3::uuid))
ORDER BY due_at, id LIMIT $4`, props, afterAt, afterID, limit)
	return rows, mapErr(err)
}

// PaymentOwed reports whether a request of a paid (contracted) category has
// no payment recorded and none waived; with no quote yet, the price is owed.
func (t requestTx) PaymentOwed(ctx context.Context, requestID string) (bool, error) {
	var owed bool
	err := get(ctx, t.q, &owed, `SELECT c.kind = 'CONTRACTED' AND coalesce(c.price_cents, 0) > 0
	AND coalesce(q.payment, 'UNPAID') = 'UNPAID'
FROM service_requests r JOIN service_categories c ON c.id = r.category_id
LEFT JOIN quotes q ON q.request_id = r.id WHERE r.id = $1`, requestID)
	return owed, err
}
