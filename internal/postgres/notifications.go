package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/notification"
)

// NotificationStore implements notification.Store and notification.Outbox.
type NotificationStore struct{ db *DB }

// NewNotificationStore returns the notification store.
func NewNotificationStore(db *DB) *NotificationStore { return &NotificationStore{db: db} }

var (
	_ notification.Store  = (*NotificationStore)(nil)
	_ notification.Outbox = (*NotificationStore)(nil)
)

const notificationCols = `id, person_id, kind, request_id, title, body, created_at, read_at`

// List returns a page of a person's inbox, newest first.
func (s *NotificationStore) List(ctx context.Context, personID string, unreadOnly bool, before int64, limit int) ([]notification.Notification, error) {
	out := []notification.Notification{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+notificationCols+` FROM notifications
WHERE person_id = $1 AND ($2 = false OR read_at IS NULL) AND ($3 = 0 OR id < $3)
ORDER BY id DESC LIMIT $4`, personID, unreadOnly, before, limit)
	return out, mapErr(err)
}

// UnreadCount counts a person's unread notifications.
func (s *NotificationStore) UnreadCount(ctx context.Context, personID string) (int, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT count(*) FROM notifications WHERE person_id = $1 AND read_at IS NULL`, personID)
	return n, err
}

// MarkRead marks some or all of a person's notifications read.
func (s *NotificationStore) MarkRead(ctx context.Context, personID string, ids []int64, at time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE notifications SET read_at = $3
WHERE person_id = $1 AND read_at IS NULL AND ($2::bigint[] IS NULL OR id = ANY($2))`, personID, nullableInt64s(ids), at)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func nullableInt64s(ids []int64) any {
	if ids == nil {
		return nil
	}
	return pq.Array(ids)
}

// ClaimDue sends due pushes with their rows locked, so that two instances
// never push the same notification, and records each outcome.
func (s *NotificationStore) ClaimDue(ctx context.Context, now time.Time, limit int, send func(notification.Notification) error, retry func(int) (time.Duration, bool)) (int, error) {
	n := 0
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var due []struct {
			notification.Notification
			Attempts int `db:"push_attempts"`
		}
		if err := sqlx.SelectContext(ctx, tx, &due, `SELECT `+notificationCols+`, push_attempts FROM notifications
WHERE pushed_at IS NULL AND push_next_at <= $1 ORDER BY push_next_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit); err != nil {
			return err
		}
		n = len(due)
		for _, d := range due {
			if err := send(d.Notification); err == nil {
				if _, err := tx.ExecContext(ctx, `UPDATE notifications SET pushed_at = $2, push_attempts = push_attempts + 1, push_error = NULL WHERE id = $1`, d.ID, now); err != nil {
					return err
				}
				continue
			} else {
				attempts := d.Attempts + 1
				wait, again := retry(attempts)
				var next *time.Time
				if again {
					t := now.Add(wait)
					next = &t
				}
				if _, err := tx.ExecContext(ctx, `UPDATE notifications SET push_attempts = $2, push_next_at = $3, push_error = $4 WHERE id = $1`,
					d.ID, attempts, next, err.Error()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, mapErr(err)
}
