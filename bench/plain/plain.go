// Package plain is the baseline the request(id) benchmark is measured
// against: a hand-written net/http + sqlx handler that checks the same
// access token, runs the same SELECTs as the server (the viewer, the request
// under the visibility rule, its timeline, its category, the people it
// names) and writes the same JSON a GraphQL client gets for
//
//	request(id) { id number status description category { name }
//	  requester { name } assignee { name }
//	  timeline(last: 20) { id type fromStatus toStatus at note actor { name } } }
//
// with nothing in between: no GraphQL parsing, validation, field
// resolution or dataloader batching.
package plain

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The statements, as internal/postgres writes them, column for column:
// the handler reads what it needs of each row and ignores the rest.
const (
	actorSQL = `
SELECT p.id, p.username, p.name, p.is_admin,
       COALESCE((SELECT array_agg(s.property_id::text || ':' || s.role) FROM staff_roles s WHERE s.person_id = p.id), '{}') AS roles,
       COALESCE((SELECT array_agg(r.unit_id::text ORDER BY r.unit_id) FROM residencies r WHERE r.person_id = p.id), '{}') AS units,
       COALESCE((SELECT array_agg(b.unit_id::text ORDER BY b.unit_id) FROM butler_assignments b
                 WHERE b.butler_id = p.id AND b.to_at IS NULL), '{}') AS portfolio
FROM people p WHERE p.id = $1`
	requestSQL = `SELECT r.id, r.number, r.property_id, r.unit_id, r.category_id, r.requester_id, r.submitted_by,
	r.client_request_id, r.first_responder_id, r.assignee_id, r.channel, r.status, r.description,
	r.preferred_time, r.promised_at, r.rating, r.rating_comment, r.cancel_reason, r.version, r.created_at, r.updated_at,
	r.accepted_at, r.due_at, r.warn_at, r.on_hold, r.hold_reason, r.hold_since, r.hold_until, r.warned_at,
	r.breached_at, r.escalation_level, r.escalated_at, r.last_urged_at, r.pooled,
	r.rating_timeliness, r.rating_attitude, r.rating_reply, r.rating_replied_at, r.rating_replied_by, r.completed_at,
	r.first_completed_at, r.promise_kept, r.confirmed_at, r.reopen_count, r.breach_count, r.escalation_count,
	r.callback_reached, r.callback_satisfaction_sum, r.callback_satisfaction_n
FROM service_requests r WHERE r.id = $6 AND ($1::boolean OR r.requester_id = $2::uuid OR r.unit_id = ANY($3::uuid[])
	OR r.property_id = ANY($4::uuid[]) OR r.assignee_id = $2::uuid OR r.first_responder_id = $2::uuid
	OR (r.pooled AND r.property_id = ANY($5::uuid[])))`
	eventsSQL = `SELECT e.id, e.request_id, e.type, e.from_status, e.to_status, e.actor_id, e.note, e.data, e.at,
	e.property_id, e.unit_id, e.requester_id, e.assignee_id, e.first_responder_id, e.pooled
FROM request_events e WHERE e.request_id = ANY($1::uuid[]) ORDER BY e.id`
	categorySQL = `SELECT id, property_id, code, kind, name, name_zh, target_minutes, price_cents, currency, active, business_hours_only, skill, callback_policy
FROM service_categories WHERE id = ANY($1::uuid[])`
	peopleSQL = `SELECT id, username, name, is_admin FROM people WHERE id = ANY($1::uuid[])`
)

type viewer struct {
	ID        string         `db:"id"`
	Admin     bool           `db:"is_admin"`
	Roles     pq.StringArray `db:"roles"`
	Units     pq.StringArray `db:"units"`
	Portfolio pq.StringArray `db:"portfolio"`
}

// args are the visibility rule's parameters: admin, person, households
// (lived in or served as butler), service-center properties, workplaces.
func (v viewer) args() []any {
	var center, work []string
	for _, r := range v.Roles {
		prop, role := r[:36], r[37:]
		work = append(work, prop)
		if role == "AGENT" || role == "MANAGER" || role == "DIRECTOR" {
			center = append(center, prop)
		}
	}
	units := append(append([]string{}, v.Units...), v.Portfolio...)
	return []any{v.Admin, v.ID, pq.Array(units), pq.Array(center), pq.Array(work)}
}

type named struct {
	ID   string `db:"id" json:"-"`
	Name string `db:"name" json:"name"`
}

type event struct {
	ID         string    `db:"id" json:"id"`
	Type       string    `db:"type" json:"type"`
	FromStatus *string   `db:"from_status" json:"fromStatus"`
	ToStatus   string    `db:"to_status" json:"toStatus"`
	ActorID    *string   `db:"actor_id" json:"-"`
	Note       *string   `db:"note" json:"note"`
	At         time.Time `db:"at" json:"at"`
	Actor      *named    `db:"-" json:"actor"`
}

type request struct {
	ID          string  `db:"id" json:"id"`
	Number      string  `db:"number" json:"number"`
	Status      string  `db:"status" json:"status"`
	Description string  `db:"description" json:"description"`
	CategoryID  string  `db:"category_id" json:"-"`
	RequesterID string  `db:"requester_id" json:"-"`
	AssigneeID  *string `db:"assignee_id" json:"-"`
	Category    *named  `db:"-" json:"category"`
	Requester   *named  `db:"-" json:"requester"`
	Assignee    *named  `db:"-" json:"assignee"`
	Timeline    []event `db:"-" json:"timeline"`
}

// Handler serves GET /request?id=… with "Authorization: Bearer <access
// token>" signed with secret, answering {"data":{"request":…}}.
func Handler(db *sqlx.DB, secret []byte) http.Handler {
	// Unsafe: columns with no field are read and dropped.
	db = db.Unsafe()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var claims jwt.RegisteredClaims
		_, err := jwt.ParseWithClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), &claims,
			func(*jwt.Token) (any, error) { return secret, nil },
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithoutClaimsValidation())
		if err != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		var v viewer
		if err := db.GetContext(ctx, &v, actorSQL, claims.Subject); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var req request
		if err := db.GetContext(ctx, &req, requestSQL, append(v.args(), r.URL.Query().Get("id"))...); err != nil {
			writeJSON(w, map[string]any{"data": map[string]any{"request": nil}})
			return
		}
		var events []event
		if err := db.SelectContext(ctx, &events, eventsSQL, pq.Array([]string{req.ID})); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if len(events) > 20 {
			events = events[len(events)-20:]
		}
		var cats []named
		if err := db.SelectContext(ctx, &cats, categorySQL, pq.Array([]string{req.CategoryID})); err != nil || len(cats) == 0 {
			http.Error(w, "category", http.StatusInternalServerError)
			return
		}
		ids := []string{req.RequesterID}
		if req.AssigneeID != nil {
			ids = append(ids, *req.AssigneeID)
		}
		for _, e := range events {
			if e.ActorID != nil {
				ids = append(ids, *e.ActorID)
			}
		}
		var people []named
		if err := db.SelectContext(ctx, &people, peopleSQL, pq.Array(ids)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		byID := make(map[string]*named, len(people))
		for i := range people {
			byID[people[i].ID] = &people[i]
		}
		req.Category, req.Requester = &cats[0], byID[req.RequesterID]
		if req.AssigneeID != nil {
			req.Assignee = byID[*req.AssigneeID]
		}
		for i, e := range events {
			if e.ActorID != nil {
				events[i].Actor = byID[*e.ActorID]
			}
		}
		req.Timeline = events
		writeJSON(w, map[string]any{"data": map[string]any{"request": req}})
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
