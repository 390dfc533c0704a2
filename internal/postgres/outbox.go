package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/request"
)

// outbox collects the events and notifications of one transaction, so they
// are written together, in one statement, as its last step.
//
// Event ids are the clients' resume cursor and notification ids the
// inbox's: a reader that has seen id N must never later find a smaller id
// commit. A sequence alone does not promise that across concurrent
// transactions, so writers take one advisory lock, draw their ids and
// insert, and hold the lock only from there to commit: the rest of the
// transaction (reads, the request row, dispatch, callbacks) runs in
// parallel with every other writer.
type outbox struct {
	events []request.Event
	notes  []notification.Notification
	// sight are the people whose sight the transaction narrows (see
	// loseSight); they are written as one sight change in the log's order.
	sight []string
}

// Stage queues events and notifications for the flush before commit.
func (t requestTx) Stage(evs []request.Event, ns []notification.Notification) {
	t.out.events = append(t.out.events, evs...)
	t.out.notes = append(t.out.notes, ns...)
}

// loseSight records that the people's sight (roles, households,
// portfolio) may narrow when the transaction commits, so that live hubs
// stop sending them what they no longer see before any later event. A
// transaction without an outbox (a read) records nothing.
func (t requestTx) loseSight(people ...string) {
	if t.out != nil {
		t.out.sight = append(t.out.sight, people...)
	}
}

// outboxLockKey names the advisory lock that orders event and notification
// writers.
const outboxLockKey = 727001

type eventRow struct {
	// Ord is the event's place in the transaction, from 1: its id is
	// drawn in the database (see flushSQL).
	Ord              int             `json:"ord"`
	RequestID        string          `json:"request_id"`
	Type             string          `json:"type"`
	FromStatus       *request.Status `json:"from_status"`
	ToStatus         request.Status  `json:"to_status"`
	ActorID          *string         `json:"actor_id"`
	Note             *string         `json:"note"`
	Data             json.RawMessage `json:"data"`
	At               time.Time       `json:"at"`
	PropertyID       string          `json:"property_id"`
	UnitID           string          `json:"unit_id"`
	RequesterID      string          `json:"requester_id"`
	AssigneeID       *string         `json:"assignee_id"`
	FirstResponderID *string         `json:"first_responder_id"`
	Pooled           bool            `json:"pooled"`
	Internal         bool            `json:"internal"`
	NoteInternal     bool            `json:"note_internal"`
}

type noteRow struct {
	PersonID  string    `json:"person_id"`
	Kind      string    `json:"kind"`
	RequestID *string   `json:"request_id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	TitleZh   string    `json:"title_zh"`
}

// flush writes what was staged, through t, the transaction's: the lock,
// the ids and every event and notification, in one statement.
func (o *outbox) flush(ctx context.Context, t requestTx) error {
	if len(o.events) == 0 && len(o.notes) == 0 && len(o.sight) == 0 {
		return nil
	}
	if len(o.sight) > 0 {
		// Before the events: whatever this transaction publishes is
		// delivered under the narrowed sight. The lock is taken again
		// below, which for a lock already held is a no-op.
		slices.Sort(o.sight)
		if err := t.execFixed(ctx, `SELECT pg_advisory_xact_lock($1)`, outboxLockKey); err != nil {
			return err
		}
		if err := t.execFixed(ctx, `INSERT INTO sight_changes (id, person_ids)
VALUES (nextval(pg_get_serial_sequence('request_events', 'id')), $1::uuid[])`, pq.Array(slices.Compact(o.sight))); err != nil {
			return err
		}
		if len(o.events) == 0 && len(o.notes) == 0 {
			return nil
		}
	}
	evs := make([]eventRow, len(o.events))
	for i := range o.events {
		e := &o.events[i]
		if e.Data == nil {
			e.Data = json.RawMessage(`{}`)
		}
		evs[i] = eventRow{Ord: i + 1, RequestID: e.RequestID, Type: string(e.Type), FromStatus: e.FromStatus, ToStatus: e.ToStatus,
			ActorID: e.ActorID, Note: e.Note, Data: e.Data, At: e.At, PropertyID: e.PropertyID, UnitID: e.UnitID,
			RequesterID: e.RequesterID, AssigneeID: e.AssigneeID, FirstResponderID: e.FirstResponderID, Pooled: e.Pooled,
			Internal: e.Internal, NoteInternal: e.NoteInternal}
	}
	ns := make([]noteRow, len(o.notes))
	for i, n := range o.notes {
		ns[i] = noteRow{PersonID: n.PersonID, Kind: string(n.Kind), RequestID: n.RequestID, Title: n.Title, Body: n.Body, CreatedAt: n.CreatedAt, TitleZh: n.TitleZh}
	}
	evJSON, err := json.Marshal(evs)
	if err != nil {
		return err
	}
	nsJSON, err := json.Marshal(ns)
	if err != nil {
		return err
	}
	ids := []int64{}
	if err := t.selectFixed(ctx, &ids, flushSQL, string(evJSON), string(nsJSON), outboxLockKey); err != nil {
		return err
	}
	if len(ids) != len(o.events) {
		return fmt.Errorf("outbox: %d event ids for %d events", len(ids), len(o.events))
	}
	for i := range o.events {
		o.events[i].ID = ids[i]
	}
	return nil
}

// flushSQL takes the event-order lock, draws one event id per event ($1)
// and inserts the events and the notifications ($2), and returns the ids
// in the events' order. It is one statement so that the lock is held for
// no round trip between the server and the database before the commit's.
// Every row it draws or inserts comes from the lock's row (l), so nothing
// is drawn or written before the lock is held. An event's id is its rank
// among the ids drawn: the events of one transaction keep the order they
// happened in, whatever order nextval ran in.
const flushSQL = `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock($3)),
ids AS MATERIALIZED (
	SELECT id, row_number() OVER (ORDER BY id) AS ord
	FROM (SELECT nextval(pg_get_serial_sequence('request_events', 'id')) AS id
		FROM l, generate_series(1, jsonb_array_length($1::jsonb))) drawn),
ev AS (
	INSERT INTO request_events (id, request_id, type, from_status, to_status, actor_id, note, data, at,
		property_id, unit_id, requester_id, assignee_id, first_responder_id, pooled, internal, note_internal)
	SELECT ids.id, x.request_id, x.type, x.from_status, x.to_status, x.actor_id, x.note, x.data, x.at,
		x.property_id, x.unit_id, x.requester_id, x.assignee_id, x.first_responder_id, x.pooled, x.internal, x.note_internal
	FROM jsonb_to_recordset($1::jsonb) AS x(ord bigint, request_id uuid, type text, from_status text, to_status text,
		actor_id uuid, note text, data jsonb, at timestamptz, property_id uuid, unit_id uuid, requester_id uuid,
		assignee_id uuid, first_responder_id uuid, pooled boolean, internal boolean, note_internal boolean)
	JOIN ids ON ids.ord = x.ord),
nt AS (
	INSERT INTO notifications (person_id, kind, request_id, title, body, created_at, push_next_at, title_zh)
	SELECT y.person_id, y.kind, y.request_id, y.title, y.body, y.created_at, y.created_at, NULLIF(y.title_zh, '')
	FROM l, jsonb_to_recordset($2::jsonb) AS y(person_id uuid, kind text, request_id uuid, title text, body text, created_at timestamptz, title_zh text))
SELECT id FROM ids ORDER BY ord`
