package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/pubsub"
	"github.com/kproperty/onestop/internal/request"
)

// EventStore reads the request event log for live delivery.
type EventStore struct{ db *DB }

// NewEventStore returns the event log reader.
func NewEventStore(db *DB) *EventStore { return &EventStore{db: db} }

var _ pubsub.Store = (*EventStore)(nil)

// InstallationID returns the identity the migrations gave this database.
func (s *EventStore) InstallationID(ctx context.Context) (string, error) {
	var id string
	err := get(ctx, s.db, &id, `SELECT id FROM installation`)
	return id, err
}

// LastEventID returns the newest committed event id, 0 for an empty log.
func (s *EventStore) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := get(ctx, s.db, &id, `SELECT COALESCE(max(id), 0) FROM request_events`)
	return id, err
}

// EventsAfter returns up to limit events after the given id, in id order.
func (s *EventStore) EventsAfter(ctx context.Context, after int64, limit int) ([]request.Event, error) {
	evs := []request.Event{}
	err := sqlx.SelectContext(ctx, s.db, &evs, `SELECT `+eventCols+` FROM request_events e WHERE e.id > $1 ORDER BY e.id LIMIT $2`, after, limit)
	return evs, mapErr(err)
}

// SightChanges returns the sight changes with after < id <= upTo, in id
// order.
func (s *EventStore) SightChanges(ctx context.Context, after, upTo int64) ([]pubsub.SightChange, error) {
	var rows []struct {
		ID     int64          `db:"id"`
		People pq.StringArray `db:"person_ids"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT id, person_ids FROM sight_changes WHERE id > $1 AND id <= $2 ORDER BY id`, after, upTo); err != nil {
		return nil, mapErr(err)
	}
	out := make([]pubsub.SightChange, len(rows))
	for i, r := range rows {
		out[i] = pubsub.SightChange{ID: r.ID, People: r.People}
	}
	return out, nil
}

// Actors loads the people's sight as it is now, for the hub to check live
// deliveries against.
func (s *EventStore) Actors(ctx context.Context, personIDs []string) (map[string]*auth.Actor, error) {
	return loadActors(ctx, s.db, personIDs)
}

var visibleEventSQL = visibleOn("e")

// VisibleEvents returns the events in (after, upTo] the actor may see, by
// each event's own audience snapshot, of requests the actor may still see,
// in id order. An event of a request the actor has lost sight of is left
// out: it could only be shown without its request.
func (s *EventStore) VisibleEvents(ctx context.Context, a *auth.Actor, requestID string, after, upTo int64, limit int) ([]request.Event, error) {
	var reqID *string
	if requestID != "" {
		reqID = &requestID
	}
	args := append(visibleArgs(a), after, upTo, reqID, limit)
	evs := []request.Event{}
	err := sqlx.SelectContext(ctx, s.db, &evs, `
SELECT `+eventCols+` FROM request_events e JOIN service_requests r ON r.id = e.request_id
WHERE e.id > $6 AND e.id <= $7 AND ($8::uuid IS NULL OR e.request_id = $8::uuid) AND `+visibleEventSQL+` AND `+visibleSQL+`
ORDER BY e.id
LIMIT $9`, args...)
	return evs, mapErr(err)
}

// RequestVisible answers apperr.ErrNotFound unless the actor may see the request.
func (s *EventStore) RequestVisible(ctx context.Context, a *auth.Actor, id string) error {
	var one int
	args := append(visibleArgs(a), id)
	return get(ctx, s.db, &one, `SELECT 1 FROM service_requests r WHERE r.id = $6 AND `+visibleSQL, args...)
}

// LastNotificationID returns the newest notification id, 0 for none.
func (s *EventStore) LastNotificationID(ctx context.Context) (int64, error) {
	var id int64
	err := get(ctx, s.db, &id, `SELECT COALESCE(max(id), 0) FROM notifications`)
	return id, err
}

// NotificationsAfter returns up to limit notifications after the given id,
// in id order.
func (s *EventStore) NotificationsAfter(ctx context.Context, after int64, limit int) ([]notification.Notification, error) {
	out := []notification.Notification{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+notificationCols+` FROM notifications WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	return out, mapErr(err)
}

// PersonNotifications returns up to limit of the person's notifications in
// (after, upTo], in id order.
func (s *EventStore) PersonNotifications(ctx context.Context, personID string, after, upTo int64, limit int) ([]notification.Notification, error) {
	out := []notification.Notification{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+notificationCols+` FROM notifications
WHERE person_id = $1 AND id > $2 AND id <= $3 ORDER BY id LIMIT $4`, personID, after, upTo, limit)
	return out, mapErr(err)
}
