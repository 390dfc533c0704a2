package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/kproperty/onestop/internal/conversation"
	"github.com/kproperty/onestop/internal/request"
)

// ConversationStore reads request threads: MESSAGE events and read marks.
type ConversationStore struct{ db *DB }

// NewConversationStore returns the thread reader.
func NewConversationStore(db *DB) *ConversationStore { return &ConversationStore{db: db} }

var _ conversation.Store = (*ConversationStore)(nil)

// Messages returns a page of a request's messages, newest first. A
// household's page never holds a staff-only message: the filter is here,
// in the query, not only in the answer.
func (s *ConversationStore) Messages(ctx context.Context, requestID string, staff bool, before int64, limit int) ([]request.Event, error) {
	evs := []request.Event{}
	err := sqlx.SelectContext(ctx, s.db, &evs, `SELECT `+eventCols+` FROM request_events e
WHERE e.request_id = $1 AND e.type = 'MESSAGE' AND ($2 OR NOT e.internal) AND ($3 = 0 OR e.id < $3)
ORDER BY e.id DESC LIMIT $4`, requestID, staff, before, limit)
	return evs, mapErr(err)
}

// MessageByKey finds a message by the key its step wrote in its data.
func (s *ConversationStore) MessageByKey(ctx context.Context, requestID, key string) (request.Event, error) {
	var e request.Event
	err := get(ctx, s.db, &e, `SELECT `+eventCols+` FROM request_events e
WHERE e.request_id = $1 AND e.type = 'MESSAGE' AND e.data->>'key' = $2`, requestID, key)
	return e, err
}

// Unread counts a person's unread messages on a request.
func (s *ConversationStore) Unread(ctx context.Context, personID, requestID string, staff bool) (int, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT count(*) FROM request_events e
WHERE e.request_id = $1 AND e.type = 'MESSAGE' AND ($3 OR NOT e.internal)
  AND e.actor_id IS DISTINCT FROM $2
  AND e.id > COALESCE((SELECT last_read_id FROM message_reads WHERE request_id = $1 AND person_id = $2), 0)`,
		requestID, personID, staff)
	return n, err
}

// MarkRead moves a person's read mark forward.
func (s *ConversationStore) MarkRead(ctx context.Context, personID, requestID string, upTo int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO message_reads (request_id, person_id, last_read_id) VALUES ($1, $2, $3)
ON CONFLICT (request_id, person_id) DO UPDATE SET last_read_id = GREATEST(message_reads.last_read_id, EXCLUDED.last_read_id)`,
		requestID, personID, upTo)
	return mapErr(err)
}
