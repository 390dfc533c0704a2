package postgres

import (
	"context"
	"fmt"
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

const notificationCols = `id, person_id, kind, request_id, title, body, created_at, read_at, visit_id`

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

// ClaimDue leases the due pushes: it moves their push_next_at to the end
// of the lease, so neither this nor another instance claims them again
// while they are sent, and commits at once. SKIP LOCKED keeps two
// instances claiming at the same moment off each other's rows.
func (s *NotificationStore) ClaimDue(ctx context.Context, now time.Time, limit int, leaseUntil time.Time) ([]notification.Due, error) {
	due := []notification.Due{}
	err := sqlx.SelectContext(ctx, s.db, &due, `
UPDATE notifications n SET push_next_at = $3
FROM (SELECT id FROM notifications WHERE pushed_at IS NULL AND push_next_at <= $1
      ORDER BY push_next_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
WHERE n.id = due.id
RETURNING n.id, n.person_id, n.kind, n.request_id, n.title, n.body, n.created_at, n.read_at, n.push_attempts,
	COALESCE(n.title_zh, '') AS title_zh`, now, limit, leaseUntil)
	if err != nil || len(due) == 0 {
		return due, mapErr(err)
	}
	return due, s.addPush(ctx, due)
}

// addPush fills in what the push gateway needs: the person's phones, their
// language and the title in it, and a collapse key per request so a phone
// shows only a request's latest notice.
func (s *NotificationStore) addPush(ctx context.Context, due []notification.Due) error {
	people := make([]string, 0, len(due))
	for _, d := range due {
		people = append(people, d.PersonID)
	}
	var langs []struct {
		ID       string `db:"id"`
		Language string `db:"language"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &langs, `SELECT id, language FROM people WHERE id = ANY($1::uuid[])`, pq.Array(people)); err != nil {
		return mapErr(err)
	}
	var devs []struct {
		PersonID string `db:"person_id"`
		notification.Device
	}
	if err := sqlx.SelectContext(ctx, s.db, &devs, `SELECT person_id, platform, token FROM devices WHERE person_id = ANY($1::uuid[]) ORDER BY created_at, token`, pq.Array(people)); err != nil {
		return mapErr(err)
	}
	language := map[string]string{}
	for _, l := range langs {
		language[l.ID] = l.Language
	}
	devices := map[string][]notification.Device{}
	for _, d := range devs {
		devices[d.PersonID] = append(devices[d.PersonID], d.Device)
	}
	for i := range due {
		n := &due[i].Notification
		p := &notification.Push{Devices: devices[n.PersonID], Language: language[n.PersonID], Title: n.Title,
			CollapseKey: fmt.Sprintf("notification-%d", n.ID)}
		if p.Devices == nil {
			p.Devices = []notification.Device{}
		}
		if p.Language == notification.Chinese && n.TitleZh != "" {
			p.Title = n.TitleZh
		}
		if n.RequestID != nil {
			p.CollapseKey = "request-" + *n.RequestID
		}
		n.Push = p
	}
	return nil
}

// MarkPushed records a delivered push, unless the lease was lost.
func (s *NotificationStore) MarkPushed(ctx context.Context, id int64, leaseUntil, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE notifications SET pushed_at = $3, push_attempts = push_attempts + 1, push_error = NULL
WHERE id = $1 AND push_next_at = $2 AND pushed_at IS NULL`, id, leaseUntil, at)
	return mapErr(err)
}

// MarkPushFailed records a failed push and when to retry (NULL: never),
// unless the lease was lost.
func (s *NotificationStore) MarkPushFailed(ctx context.Context, id int64, leaseUntil time.Time, attempts int, next *time.Time, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE notifications SET push_attempts = $3, push_next_at = $4, push_error = $5
WHERE id = $1 AND push_next_at = $2 AND pushed_at IS NULL`, id, leaseUntil, attempts, next, reason)
	return mapErr(err)
}
