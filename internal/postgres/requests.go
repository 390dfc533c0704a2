package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// RequestStore implements request.Store.
type RequestStore struct{ db *DB }

// NewRequestStore returns the request store.
func NewRequestStore(db *DB) *RequestStore { return &RequestStore{db: db} }

var (
	_ request.Store = (*RequestStore)(nil)
	_ request.Tx    = requestTx{}
)

const requestCols = `r.id, r.number, r.property_id, r.unit_id, r.category_id, r.requester_id, r.submitted_by,
	r.client_request_id, r.first_responder_id, r.assignee_id, r.channel, r.status, r.description,
	r.preferred_time, r.promised_at, r.rating, r.rating_comment, r.cancel_reason, r.version, r.created_at, r.updated_at,
	r.accepted_at, r.due_at, r.warn_at, r.on_hold, r.hold_reason, r.hold_since, r.hold_until, r.warned_at,
	r.breached_at, r.escalation_level, r.escalated_at, r.last_urged_at, r.pooled,
	r.rating_timeliness, r.rating_attitude, r.rating_reply, r.rating_replied_at, r.rating_replied_by, r.completed_at,
	r.first_completed_at, r.promise_kept, r.confirmed_at, r.reopen_count, r.breach_count, r.escalation_count,
	r.callback_reached, r.callback_satisfaction_sum, r.callback_satisfaction_n, r.appointment_at, r.appointment_until`

const eventCols = `e.id, e.request_id, e.type, e.from_status, e.to_status, e.actor_id, e.note, e.data, e.at,
	e.property_id, e.unit_id, e.requester_id, e.assignee_id, e.first_responder_id, e.pooled, e.internal, e.note_internal`

// visibleSQL is request.Visible written as SQL over a row aliased r, with
// the actor as parameters $1 (admin), $2 (person), $3 (households lived in
// or served as butler), $4
// (properties whose service center the person staffs) and $5 (properties
// the person works at).
var visibleSQL = visibleOn("r")

// visibleOn writes the rule over any row with the audience columns: a
// request (r) or an event, whose columns are a snapshot of its request's.
func visibleOn(alias string) string {
	return strings.NewReplacer("r.", alias+".").Replace(`($1::boolean OR r.requester_id = $2::uuid OR (r.unit_id = ANY($3::uuid[]) AND ` + householdCond + `)
	OR r.property_id = ANY($4::uuid[]) OR r.assignee_id = $2::uuid OR r.first_responder_id = $2::uuid
	OR (r.pooled AND r.property_id = ANY($5::uuid[])))`)
}

// householdCond narrows a household's requests (a unit lived in or served,
// over a row aliased r) to what the viewer may see by unit: a butler sees
// all of the household's, a resident only those asked by someone who lives
// there now. A family that moves out takes its requests' sight with it, and
// the next household to move in never sees them; the company keeps them.
// The butler's test comes first: PostgreSQL runs it as one hashed look-up
// of the viewer's portfolio, so a butler's page settles each of its
// households' requests there, without a residency probe per request (a
// quarter of the buffers for a portfolio of 250).
const householdCond = `(EXISTS (SELECT 1 FROM butler_assignments b WHERE b.unit_id = r.unit_id AND b.butler_id = $2::uuid AND b.to_at IS NULL)
	OR EXISTS (SELECT 1 FROM residencies h WHERE h.unit_id = r.unit_id AND h.person_id = r.requester_id AND h.moved_out_at IS NULL))`

func visibleArgs(a *auth.Actor) []any {
	// A butler sees their portfolio's households as a resident sees their
	// own: by unit.
	units := append(append([]string{}, a.Units...), a.Portfolio...)
	return []any{a.Admin, a.PersonID, pq.Array(units), pq.Array(a.CenterProperties()), pq.Array(a.PropertyIDs())}
}

// InTx runs fn in one transaction. The events and notifications fn stages
// are written just before commit (see outbox.go) and returned, with their
// ids, for publishing once the commit is done.
func (s *RequestStore) InTx(ctx context.Context, fn func(request.Tx) error) ([]request.Event, error) {
	var out outbox
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		t := requestTx{q: tx, out: &out, db: s.db}
		if err := fn(t); err != nil {
			return err
		}
		return out.flush(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return out.events, nil
}

// Places reads places on the pool, outside any transaction.
func (s *RequestStore) Places() request.Places { return requestTx{q: s.db, db: s.db} }

// visibleRelatedSQL reads one request the actor may see, with relatedCols.
var visibleRelatedSQL = `SELECT ` + requestCols + relatedCols + ` FROM service_requests r ` + relatedJoin + ` WHERE r.id = $6 AND ` + visibleSQL

// Visible returns a request the actor may see, with its category and the
// people it names (Related).
func (s *RequestStore) Visible(ctx context.Context, a *auth.Actor, id string) (*request.Request, error) {
	var r relatedRow
	args := append(visibleArgs(a), id)
	err := s.db.getPrepared(ctx, &r, visibleRelatedSQL, args...)
	if err != nil {
		return nil, err
	}
	return r.request()
}

// VisibleMany returns those of the requests the actor may see.
func (s *RequestStore) VisibleMany(ctx context.Context, a *auth.Actor, ids []string) ([]*request.Request, error) {
	rows := []*request.Request{}
	args := append(visibleArgs(a), pq.Array(ids))
	err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT `+requestCols+` FROM service_requests r WHERE r.id = ANY($6::uuid[]) AND `+visibleSQL, args...)
	return rows, mapErr(err)
}

// listClause is one of a list's filters over a row aliased r, with the
// parameter List passes for it, and whether a call's filter sets it. A
// call's statement holds only the filters it sets (listFilterFor): one
// statement with every filter switched off by null parameters cost more
// to parse and plan than to run, at every call.
type listClause struct {
	sql string
	on  func(f request.Filter) bool
}

var listClauses = []listClause{
	{`r.status = ANY($6::text[])`, func(f request.Filter) bool { return len(f.Statuses) > 0 }},
	{`r.property_id = $7::uuid`, func(f request.Filter) bool { return f.PropertyID != nil }},
	{`r.assignee_id = $8::uuid`, func(f request.Filter) bool { return f.AssigneeID != nil }},
	{`r.created_at >= $9::timestamptz`, func(f request.Filter) bool { return f.CreatedFrom != nil }},
	{`r.created_at < $10::timestamptz`, func(f request.Filter) bool { return f.CreatedTo != nil }},
	{`r.pooled = $14::boolean`, func(f request.Filter) bool { return f.Pooled != nil }},
	{`EXISTS (SELECT 1 FROM follow_ups f WHERE f.request_id = r.id AND f.done_at IS NULL AND f.cancelled_at IS NULL) = $15::boolean`,
		func(f request.Filter) bool { return f.FollowUpPending != nil }},
	{`r.category_id = $16::uuid`, func(f request.Filter) bool { return f.CategoryID != nil }},
	{`r.unit_id = $17::uuid`, func(f request.Filter) bool { return f.UnitID != nil }},
	{`r.unit_id IN (SELECT b.id FROM units b WHERE b.building_id = $18::uuid)`, func(f request.Filter) bool { return f.BuildingID != nil }},
	{`r.first_responder_id = $19::uuid`, func(f request.Filter) bool { return f.FirstResponderID != nil }},
	{`r.channel = ANY($20::text[])`, func(f request.Filter) bool { return len(f.Channels) > 0 }},
	{`(r.breached_at IS NOT NULL) = $21::boolean`, func(f request.Filter) bool { return f.Breached != nil }},
	{`(r.escalation_level > 0) = $22::boolean`, func(f request.Filter) bool { return f.Escalated != nil }},
	{`r.on_hold = $23::boolean`, func(f request.Filter) bool { return f.OnHold != nil }},
	{`(NOT r.on_hold AND r.status IN ('ACCEPTED', 'ASSIGNED', 'IN_PROGRESS') AND r.due_at IS NOT NULL AND r.due_at <= $25::timestamptz) = $24::boolean`,
		func(f request.Filter) bool { return f.Overdue != nil }},
	{`(($26::boolean AND EXISTS (SELECT 1 FROM quotes q WHERE q.request_id = r.id AND q.accepted_at IS NOT NULL AND q.payment = 'PAID'))
    OR (NOT $26::boolean AND r.status <> 'CANCELLED' AND EXISTS (SELECT 1 FROM quotes q WHERE q.request_id = r.id AND q.payment = 'UNPAID')))`,
		func(f request.Filter) bool { return f.Paid != nil }},
	{`(` + listTextSQL + `)`, func(f request.Filter) bool { return f.Text != nil }},
}

// listFilterFor is the filters f sets, over a row aliased r.
func listFilterFor(f request.Filter) string {
	var on []string
	for _, c := range listClauses {
		if c.on(f) {
			on = append(on, c.sql)
		}
	}
	if len(on) == 0 {
		return "true"
	}
	return strings.Join(on, "\n  AND ")
}

// listParams names every parameter a list passes with its type. Each
// call's statement refers only to those its viewer and filter use, and
// PostgreSQL must still know the type of every one; a query that is not
// referenced is not run.
const listParams = `params AS (SELECT $1::boolean, $2::uuid, $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::uuid, $8::uuid,
	$9::timestamptz, $10::timestamptz, $11::timestamptz, $12::uuid, $13::integer, $14::boolean, $15::boolean, $16::uuid,
	$17::uuid, $18::uuid, $19::uuid, $20::text[], $21::boolean, $22::boolean, $23::boolean, $24::boolean, $25::timestamptz,
	$26::boolean, $27::text, $28::uuid[], $29::boolean, $30::text[], $31::text{rank})`

// listTextSQL narrows to requests whose number or description contains the
// pattern $27, or a note on their timeline that the viewer may read: the
// household reads no staff-only note, so only those who read a request
// with the staff's eyes (request.SeesInternal: an admin, the property's
// staff, the household's butler ($28), the worker or the first-asker)
// find it by one. A text the trigram indexes find in few requests
// (hitsUsable) is matched against what they found (text_hits); any other
// is matched on each request walked and its notes, on their own index.
const listTextSQL = `(` + hitsUsable + ` AND (r.id IN (SELECT h.id FROM text_hits h WHERE NOT h.internal)
      OR (` + seesInternalSQL + ` AND r.id IN (SELECT h.id FROM text_hits h))))
    OR (NOT ` + hitsUsable + ` AND (r.number ILIKE $27::text OR r.description ILIKE $27::text
      OR EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.note ILIKE $27::text
        AND (NOT e.note_internal OR ` + seesInternalSQL + `))))`

// seesInternalSQL is request.SeesInternal over a row aliased r.
const seesInternalSQL = `($1::boolean OR r.property_id = ANY($5::uuid[]) OR r.unit_id = ANY($28::uuid[]) OR r.assignee_id = $2::uuid OR r.first_responder_id = $2::uuid)`

// listTextHits are, when the text is looked up in an index ($29), the
// requests whose number, description or a note contains the pattern $27,
// once per match, with whether the match is a staff-only note; at most
// maxHits + 1 of them. The trigram indexes (as the console's search uses)
// need no word boundaries, and so find Chinese as well as English; a text
// with no trigram but two characters without case in a row (two Chinese
// characters) is looked up by those pairs ($30) in the indexes of every
// two characters (migration 00018), and checked by the pattern.
const listTextHits = `text_hits AS MATERIALIZED (
	SELECT e.request_id AS id, e.note_internal AS internal FROM request_events e
	WHERE $29::boolean AND cardinality($30::text[]) = 0 AND e.note ILIKE $27::text
	UNION ALL
	SELECT t.id, false FROM service_requests t
	WHERE $29::boolean AND cardinality($30::text[]) = 0 AND (t.number ILIKE $27::text OR t.description ILIKE $27::text)
	UNION ALL
	SELECT e.request_id, e.note_internal FROM request_events e
	WHERE $29::boolean AND cardinality($30::text[]) > 0 AND text_bigrams(e.note) @> $30::text[] AND e.note ILIKE $27::text
	UNION ALL
	SELECT t.id, false FROM service_requests t
	WHERE $29::boolean AND cardinality($30::text[]) > 0 AND text_bigrams(t.number || ' ' || t.description) @> $30::text[]
	  AND (t.number ILIKE $27::text OR t.description ILIKE $27::text)
	LIMIT ` + maxHits + ` + 1)`

// maxHits is the most matches a text may have in the trigram indexes for
// the list to read the requests they name one by one (listHitsWay). A
// rarer text then costs what it finds, not what the viewer may see; a more
// common one is found soon enough by walking the ways of seeing requests
// in order, testing each request as it comes (as with a text too short for
// the indexes, or a household's search, whose requests are few).
const maxHits = "2000"

// hitsUsable is whether text_hits holds every match of the text.
const hitsUsable = `($29::boolean AND (SELECT count(*) FROM text_hits) <= ` + maxHits + `)`

// listCandidates are, for a staff member's list, the requests that one
// filter that keeps few of them (the driver, $31) names, from its own
// index: a text's matches (text_hits), the quotes still owed, the requests
// on hold, or the running clocks past due at $25. At most maxHits + 1; when
// they are not more than maxHits, listHitsWay reads them instead of
// walking every request the viewer may see until a page of them passes the
// filter.
func listCandidates(driver string) string {
	return `candidates AS MATERIALIZED (
	` + candidateWays[driver] + `
	LIMIT ` + maxHits + ` + 1)`
}

var candidateWays = map[string]string{
	"TEXT":    `SELECT h.id FROM text_hits h`,
	"OWED":    `SELECT q.request_id AS id FROM quotes q WHERE q.payment = 'UNPAID'`,
	"HOLD":    `SELECT c.id FROM service_requests c WHERE c.on_hold`,
	"OVERDUE": `SELECT c.id FROM service_requests c WHERE NOT c.on_hold AND c.status IN ('ACCEPTED', 'ASSIGNED', 'IN_PROGRESS') AND c.due_at <= $25::timestamptz`,
}

// candidatesUsable is whether candidates holds every request its filter keeps.
const candidatesUsable = `($31::text <> '' AND (SELECT count(*) FROM candidates) <= ` + maxHits + `)`

// dueKey and urgencyKey are the due and urgency orders' keys over a row
// aliased r, written exactly as migration 00018 indexes them: the due time,
// requests without one last; and request.Urgency's rank.
const (
	dueKey     = `COALESCE(r.due_at, 'infinity'::timestamptz)`
	urgencyKey = `(CASE WHEN r.status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS') THEN CASE WHEN r.breached_at IS NOT NULL OR r.escalation_level > 0 THEN 0 ELSE 1 END WHEN r.status = 'COMPLETED' THEN 2 ELSE 3 END)`
)

// listOrder is one order of the list over a row aliased r: its ORDER BY,
// and the keyset condition of the rows after the cursor ($11 the time, $32
// the rank, $12 the id; no cursor when $12 is null).
type listOrder struct{ by, after string }

var listOrders = map[request.Sort]listOrder{
	request.ByCreated: {`r.created_at DESC, r.id DESC`, `(r.created_at, r.id) < ($11::timestamptz, $12::uuid)`},
	request.ByDue:     {dueKey + `, r.id`, `(` + dueKey + `, r.id) > (COALESCE($11::timestamptz, 'infinity'::timestamptz), $12::uuid)`},
	request.ByUrgency: {urgencyKey + `, ` + dueKey + `, r.id`,
		`(` + urgencyKey + `, ` + dueKey + `, r.id) > ($32::integer, COALESCE($11::timestamptz, 'infinity'::timestamptz), $12::uuid)`},
}

// listKeys are the columns every order reads, which each way of seeing a
// request hands on to the merge.
const listKeys = `r.id, r.created_at, r.due_at, r.status, r.breached_at, r.escalation_level`

// listBranch is one way of seeing requests, walked in the list's order on
// its own index and cut at the page size: the list never reads more than a
// page per way, however many requests the viewer may see. {filter},
// {after} and {order} are the call's filters, cursor and order (see
// listStatement).
func listBranch(cond string) string {
	return `(SELECT ` + listKeys + ` FROM service_requests r WHERE ` + cond + ` AND {filter}{after}
	ORDER BY {order} LIMIT $13)`
}

// listWay is one way of seeing requests, and whether a viewer has it.
type listWay struct {
	sql string
	has func(a *auth.Actor) bool
}

func always(*auth.Actor) bool { return true }

// listWays are the visibility rule as a union of index walks, one per way
// of seeing a request (the requester, a household lived in or served, a
// property's service center, the assignee, the first-asker, a property's
// grab pool). Per household and per property each index is walked
// separately, since one scan over a list of keys cannot return rows in
// order. A viewer's statement holds only the ways they have: a resident's
// page walks no property, an agent's no household. The requester, assignee
// and first-asker are kept for everyone, since the rule reads them without
// asking about roles.
var listWays = []listWay{
	{listBranch(`r.requester_id = $2::uuid`), always},
	{`(SELECT x.* FROM unnest($3::uuid[]) AS u(id) CROSS JOIN LATERAL ` + listBranch(`r.unit_id = u.id AND `+householdCond) + ` x)`,
		func(a *auth.Actor) bool { return len(a.Units)+len(a.Portfolio) > 0 }},
	{`(SELECT x.* FROM unnest($4::uuid[]) AS p(id) CROSS JOIN LATERAL ` + listBranch(`r.property_id = p.id`) + ` x)`,
		func(a *auth.Actor) bool { return len(a.CenterProperties()) > 0 }},
	{listBranch(`r.assignee_id = $2::uuid`), always},
	{listBranch(`r.first_responder_id = $2::uuid`), always},
	{`(SELECT x.* FROM unnest($5::uuid[]) AS p(id) CROSS JOIN LATERAL ` + listBranch(`r.pooled AND r.property_id = p.id`) + ` x)`,
		func(a *auth.Actor) bool { return len(a.PropertyIDs()) > 0 }},
}

// listHitsWay replaces listWays when a filter keeps few requests
// (candidatesUsable): the requests it names are read and judged by the
// visibility rule one by one, rather than every request the viewer may see
// walked in order until a page of them passes the filter.
var listHitsWay = `(SELECT ` + listKeys + ` FROM service_requests r WHERE r.id IN (SELECT c.id FROM candidates c) AND ` + visibleSQL + `
	AND {filter}{after}
	ORDER BY {order} LIMIT $13)`

// listSeenSQL is a viewer's list: the ways merged and cut to the page.
var listSeenSQL = `seen AS (
	{ways}
), page AS (SELECT id FROM seen r ORDER BY {order} LIMIT $13)
SELECT ` + requestCols + relatedCols + ` FROM service_requests r JOIN page USING (id) ` + relatedJoin + `
ORDER BY {order}`

// listAllSQL is the list for a company admin, who sees every request.
var listAllSQL = `SELECT ` + requestCols + relatedCols + ` FROM service_requests r ` + relatedJoin + `
WHERE {filter}{after}
ORDER BY {order}
LIMIT $13`

// listStatement writes the statement of one call to List: the viewer's
// ways (or an admin's whole table), only the filters set, the text's
// matches and a filter's candidates only when they are used, the cursor's
// condition only after the first page. Every call with the same shape
// gets the same text, so the common ones can be prepared.
func listStatement(a *auth.Actor, f request.Filter, limit int, after bool, driver string) string {
	o := listOrders[f.Sort.Or()]
	with := []string{listParams}
	if f.Text != nil {
		with = append(with, listTextHits)
	}
	var body string
	switch {
	case a.Admin:
		body = listAllSQL
	default:
		var ways []string
		for _, w := range listWays {
			if w.has(a) {
				ways = append(ways, w.sql)
			}
		}
		union := strings.Join(ways, "\n\tUNION ")
		if driver != "" {
			with = append(with, listCandidates(driver))
			union = `SELECT * FROM ` + listHitsWay + ` x WHERE ` + candidatesUsable + `
	UNION ALL SELECT * FROM (` + union + `) y WHERE NOT ` + candidatesUsable
		}
		body = strings.Replace(listSeenSQL, "{ways}", union, 1)
	}
	cursor := ""
	if after {
		cursor = "\n\tAND " + o.after
	}
	rank := ""
	if f.Sort.Or() == request.ByUrgency {
		rank = ", $32::integer"
	}
	q := "WITH " + strings.Join(with, ", ") + ",\n" + body
	if a.Admin {
		q = "WITH " + strings.Join(with, ", ") + "\n" + body
	}
	// The page size is written into the statement: a plan made for any
	// size would guess a tenth of the table and read it all.
	return strings.NewReplacer("{filter}", listFilterFor(f), "{after}", cursor, "{order}", o.by, "{rank}", rank,
		"LIMIT $13", "LIMIT "+strconv.Itoa(limit)).Replace(q)
}

// List returns requests the actor may see, in the filter's order.
func (s *RequestStore) List(ctx context.Context, a *auth.Actor, f request.Filter, limit int, after *request.Cursor) ([]*request.Request, error) {
	q, args := listQuery(a, f, limit, after)
	// Sized for the page: appending wide rows one by one would copy each
	// several times over.
	rows := make([]relatedRow, 0, max(0, min(limit, 101)))
	var err error
	if listPreparable(f, limit) {
		err = s.db.selectPlannedOnce(ctx, &rows, q, args...)
	} else {
		err = mapErr(sqlx.SelectContext(ctx, s.db, &rows, q, args...))
	}
	if err != nil {
		return nil, err
	}
	return relatedRequests(rows)
}

// listPreparable is whether a call's statement is prepared and planned
// once: the apps' screens (a page of 10, 20, 50 or 100 of a viewer's
// requests, perhaps by status or property) are, since parsing and planning
// the statement cost more than running it. The console's other filters,
// and other page sizes, come in too many combinations to keep a statement
// of each on every connection; they are planned afresh.
func listPreparable(f request.Filter, limit int) bool {
	g := f
	g.Statuses, g.PropertyID, g.Sort, g.Now = nil, nil, "", time.Time{}
	return reflect.ValueOf(g).IsZero() && commonPages[limit]
}

// commonPages are the page sizes the apps ask for, plus the one more row
// a page reads to know whether another follows.
var commonPages = map[int]bool{11: true, 21: true, 51: true, 101: true}

// listQuery is the statement List runs and its parameters.
func listQuery(a *auth.Actor, f request.Filter, limit int, after *request.Cursor) (string, []any) {
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	channels := make([]string, len(f.Channels))
	for i, c := range f.Channels {
		channels[i] = string(c)
	}
	var afterAt *time.Time
	var afterID *string
	afterRank := 0
	if after != nil {
		afterID, afterRank = &after.ID, after.Rank
		afterAt = &after.CreatedAt
		if f.Sort.Or() != request.ByCreated {
			afterAt = after.Due
		}
	}
	var pattern *string
	// Staff look a text up in an index when one can narrow it; a
	// household's requests are few, and are searched as they are read.
	pairs := []string{}
	byIndex := false
	if f.Text != nil && (a.Admin || a.IsStaff()) {
		if trigramsIn(*f.Text) {
			byIndex = true
		} else if p := bigramsIn(*f.Text); len(p) > 0 {
			byIndex, pairs = true, p
		}
	}
	// A staff member's list is driven by the filter that keeps fewest, when
	// one has an index of its own (listCandidates).
	driver := ""
	switch {
	case !a.IsStaff() || a.Admin:
	case byIndex:
		driver = "TEXT"
	case f.Paid != nil && !*f.Paid:
		driver = "OWED"
	case f.OnHold != nil && *f.OnHold:
		driver = "HOLD"
	case f.Overdue != nil && *f.Overdue:
		driver = "OVERDUE"
	}
	if f.Text != nil {
		p := containsPattern(*f.Text)
		pattern = &p
	}
	args := append(visibleArgs(a), pq.Array(statuses), f.PropertyID, f.AssigneeID, f.CreatedFrom, f.CreatedTo, afterAt, afterID, limit, f.Pooled, f.FollowUpPending,
		f.CategoryID, f.UnitID, f.BuildingID, f.FirstResponderID, pq.Array(channels), f.Breached, f.Escalated, f.OnHold, f.Overdue, f.Now, f.Paid, pattern,
		pq.Array(a.Portfolio), byIndex, pq.Array(pairs), driver)
	if f.Sort.Or() == request.ByUrgency {
		// Only the urgency order reads a rank ($32).
		args = append(args, afterRank)
	}
	return listStatement(a, f, limit, after != nil, driver), args
}

// trigramsIn reports whether a trigram index can narrow a search for text
// anywhere: it holds three letters or digits in a row, which pg_trgm
// indexes as one of a word's trigrams.
func trigramsIn(text string) bool {
	run := 0
	for _, c := range text {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			if run++; run == 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// bigramsIn returns the pairs of characters in a row in text that have no
// case (Chinese characters, digits), which any text containing it holds
// exactly as they are; nil when there is none.
func bigramsIn(text string) []string {
	caseless := func(c rune) bool { return unicode.ToLower(c) == c && unicode.ToUpper(c) == c && unicode.IsPrint(c) }
	rs := []rune(text)
	var out []string
	for i := 0; i+1 < len(rs); i++ {
		if caseless(rs[i]) && caseless(rs[i+1]) && (unicode.IsLetter(rs[i]) || unicode.IsLetter(rs[i+1])) {
			out = append(out, string(rs[i:i+2]))
		}
	}
	return out
}

// containsPattern is the ILIKE pattern that finds text anywhere, with the
// pattern's own characters in it matching themselves.
func containsPattern(text string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text) + "%"
}

// EventsOf returns the latest (at most last) events of each of the given
// requests, in id order: one index walk per request, newest first, cut at
// last, however long a timeline has grown.
func (s *RequestStore) EventsOf(ctx context.Context, ids []string, last int) ([]request.Event, error) {
	evs := []request.Event{}
	err := sqlx.SelectContext(ctx, s.db, &evs, `SELECT e.* FROM unnest($1::uuid[]) AS r(id)
CROSS JOIN LATERAL (SELECT `+eventCols+` FROM request_events e WHERE e.request_id = r.id ORDER BY e.id DESC LIMIT $2) e
ORDER BY e.id`, pq.Array(ids), last)
	return evs, mapErr(err)
}

// latestEventsSQL reads the latest ($3) events of each request ($1), the
// staff-only ones left out where $2 is false, in id order, with their
// actors: one index walk per request, newest first, cut at $3. It reads
// what a timeline shows, and what the household's view of an event needs
// (no data, no audience snapshot), with the request as its place in $1.
const latestEventsSQL = `SELECT e.id, r.n, e.type, e.from_status, e.to_status, e.actor_id, e.note, e.at,
	e.internal, e.note_internal, p.username, p.name, p.is_admin, p.name_zh
FROM unnest($1::uuid[], $2::boolean[]) WITH ORDINALITY AS r(id, staff, n)
CROSS JOIN LATERAL (SELECT e.id, e.type, e.from_status, e.to_status, e.actor_id, e.note, e.at,
		e.internal, e.note_internal
	FROM request_events e
	WHERE e.request_id = r.id AND (r.staff OR NOT e.internal) ORDER BY e.id DESC LIMIT $3) e
LEFT JOIN people p ON p.id = e.actor_id
ORDER BY e.id`

// LatestEvents returns the latest (at most last) events of each request in
// id order, the staff-only ones left out where staff[i] is false. The
// actors come with them, so the timeline's people need no round of their
// own.
//
// A page's timelines are hundreds of rows, and decoding rows was a third
// of a list call's allocations, so they are scanned by hand: into a slice
// sized for them, each request id taken from ids rather than decoded
// again, and the few distinct types, statuses and actors of a page shared
// between its events instead of allocated for each.
func (s *RequestStore) LatestEvents(ctx context.Context, ids []string, staff []bool, last int) ([]request.Event, []person.Person, error) {
	st, err := s.db.prepared(ctx, latestEventsSQL)
	if err != nil {
		return nil, nil, err
	}
	rows, err := st.QueryContext(ctx, pq.Array(ids), pq.Array(staff), last)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	defer rows.Close()
	evs := make([]request.Event, 0, len(ids)*min(last, 8))
	var people []person.Person
	seen := map[string]bool{}
	var words shared
	// Declared once: Scan takes their addresses, which would move a set
	// declared inside the loop to the heap for every row.
	var (
		e                      request.Event
		n                      int
		typ, from, to, actor   sql.RawBytes
		username, name, nameZh sql.NullString
		isAdmin                sql.NullBool
	)
	for rows.Next() {
		e = request.Event{}
		if err := rows.Scan(&e.ID, &n, &typ, &from, &to, &actor, &e.Note, &e.At,
			&e.Internal, &e.NoteInternal, &username, &name, &isAdmin, &nameZh); err != nil {
			return nil, nil, mapErr(err)
		}
		if n < 1 || n > len(ids) {
			return nil, nil, fmt.Errorf("timeline row for request %d of %d", n, len(ids))
		}
		e.RequestID = ids[n-1]
		e.Type = request.EventType(*words.of(typ))
		e.ToStatus = request.Status(*words.of(to))
		if from != nil {
			e.FromStatus = (*request.Status)(words.of(from))
		}
		if actor != nil {
			e.ActorID = words.of(actor)
			if username.Valid && !seen[*e.ActorID] {
				seen[*e.ActorID] = true
				people = append(people, person.Person{ID: *e.ActorID, Username: username.String, Name: name.String,
					IsAdmin: isAdmin.Bool, NameZh: nameZh.String})
			}
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, mapErr(err)
	}
	return evs, people, nil
}

// shared hands out one string for each distinct value scanned, so that
// rows repeating a few values (types, statuses, people) share them.
type shared map[string]*string

func (w *shared) of(b []byte) *string {
	if s, ok := (*w)[string(b)]; ok {
		return s
	}
	if *w == nil {
		*w = shared{}
	}
	s := string(b)
	(*w)[s] = &s
	return &s
}

// relatedCols are what a screen's read of a request brings along (over the
// row r and the category c of relatedJoin): the category's columns, named
// for relatedRow's Category, and the people the request names as one json
// array. Each is a look-up by primary key per request read.
var relatedCols = `,
	` + prefixCols("c", categoryCols, "category") + `,
	(SELECT json_agg(json_build_object('id', p.id, 'username', p.username, 'name', p.name, 'is_admin', p.is_admin, 'name_zh', p.name_zh))
	 FROM people p WHERE p.id IN (r.requester_id, r.assignee_id, r.first_responder_id, r.rating_replied_by)) AS related_people`

// relatedJoin joins a request r to its category c for relatedCols.
const relatedJoin = `JOIN service_categories c ON c.id = r.category_id`

// prefixCols writes the columns cols (a comma-separated list) of alias as
// "prefix.column", the names sqlx gives a nested struct's fields.
func prefixCols(alias, cols, prefix string) string {
	names := strings.Split(cols, ",")
	for i, n := range names {
		n = strings.TrimSpace(n)
		names[i] = alias + "." + n + ` AS "` + prefix + "." + n + `"`
	}
	return strings.Join(names, ", ")
}

// relatedRow is a request read with relatedCols.
type relatedRow struct {
	request.Request
	Category property.Category `db:"category"`
	People   []byte            `db:"related_people"`
}

// relatedPerson is a person as relatedCols writes them.
type relatedPerson struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	IsAdmin  bool   `json:"is_admin"`
	NameZh   string `json:"name_zh"`
}

// request returns the row's request with its Related filled.
func (r *relatedRow) request() (*request.Request, error) {
	var people []relatedPerson
	if len(r.People) > 0 {
		if err := json.Unmarshal(r.People, &people); err != nil {
			return nil, err
		}
	}
	rel := &request.Related{Category: r.Category, People: make([]person.Person, len(people))}
	for i, p := range people {
		rel.People[i] = person.Person{ID: p.ID, Username: p.Username, Name: p.Name, IsAdmin: p.IsAdmin, NameZh: p.NameZh}
	}
	out := r.Request
	out.Related = rel
	return &out, nil
}

// relatedRequests returns the requests of rows read with relatedCols.
func relatedRequests(rows []relatedRow) ([]*request.Request, error) {
	out := make([]*request.Request, len(rows))
	for i := range rows {
		r, err := rows[i].request()
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// PendingFollowUps returns which of the requests owe a director's follow-up.
func (s *RequestStore) PendingFollowUps(ctx context.Context, ids []string) (map[string]bool, error) {
	pending := []string{}
	err := sqlx.SelectContext(ctx, s.db, &pending, `SELECT request_id FROM follow_ups WHERE request_id = ANY($1::uuid[]) AND done_at IS NULL AND cancelled_at IS NULL`, pq.Array(ids))
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = false
	}
	for _, id := range pending {
		out[id] = true
	}
	return out, mapErr(err)
}

// ByClientID finds a submission by submitter and client request id.
func (s *RequestStore) ByClientID(ctx context.Context, submittedBy, clientID string) (*request.Request, error) {
	return requestTx{q: s.db, db: s.db}.ByClientID(ctx, submittedBy, clientID)
}

// requestTx runs the request service's statements inside one transaction
// (or, for reads outside one, on the pool).
type requestTx struct {
	q interface {
		sqlx.ExtContext
	}
	// out collects what the transaction stages; nil outside one.
	out *outbox
	// db, when set, is the DB q belongs to, and the write path's
	// statements run prepared (see stmt).
	db *DB
}

func (t requestTx) Request(ctx context.Context, id string) (*request.Request, error) {
	var r request.Request
	err := get(ctx, t.q, &r, `SELECT `+requestCols+` FROM service_requests r WHERE r.id = $1`, id)
	return &r, err
}

func (t requestTx) ByClientID(ctx context.Context, submittedBy, clientID string) (*request.Request, error) {
	var r request.Request
	err := t.getFixed(ctx, &r, `SELECT `+requestCols+` FROM service_requests r WHERE r.submitted_by = $1 AND r.client_request_id = $2`, submittedBy, clientID)
	return &r, err
}

func (t requestTx) Unit(ctx context.Context, id string) (*property.Unit, error) {
	var u property.Unit
	err := t.getFixed(ctx, &u, `SELECT id, property_id, building_id, code, vip FROM units WHERE id = $1`, id)
	return &u, err
}

func (t requestTx) Property(ctx context.Context, id string) (*property.Property, error) {
	var p property.Property
	if err := t.getFixed(ctx, &p, `SELECT `+propertyCols+` FROM properties WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return &p, checkZone(p)
}

func (t requestTx) Category(ctx context.Context, id string) (*property.Category, error) {
	var c property.Category
	err := t.getFixed(ctx, &c, `SELECT `+categoryCols+` FROM service_categories WHERE id = $1`, id)
	return &c, err
}

func (t requestTx) UnitsOf(ctx context.Context, personID string) ([]string, error) {
	units := []string{}
	err := sqlx.SelectContext(ctx, t.q, &units, `SELECT unit_id FROM residencies WHERE person_id = $1 AND moved_out_at IS NULL ORDER BY unit_id`, personID)
	return units, mapErr(err)
}

func (t requestTx) StaffRoleAt(ctx context.Context, personID, propertyID string) (person.Role, bool, error) {
	var role person.Role
	err := get(ctx, t.q, &role, `SELECT role FROM staff_roles WHERE person_id = $1 AND property_id = $2`, personID, propertyID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "", false, nil
	}
	return role, err == nil, err
}

// NextSequence draws the next number of the property's local day. The
// row lock the counter's upsert takes serializes numbering per property
// and day, so numbers are unique and grow; Submit runs it on its own,
// before the request's transaction, so the row is held for this one
// statement.
//
// It runs on the counter pool, whose sessions commit without waiting for
// the WAL to reach the disk (synchronous_commit off): the row is released
// as soon as the upsert has run, where waiting for the flush held it
// across a disk write for every submission of the property. Nothing that
// matters can be lost by it. A number only reaches anyone inside its
// request, whose own commit waits for the flush, and that flush takes in
// the counter's commit record, written before it. A crash can lose only
// numbers that no committed request holds: the counter comes back no lower
// than any number a request kept.
func (t requestTx) NextSequence(ctx context.Context, propertyID string, day time.Time) (int, error) {
	var n int
	args := []any{propertyID, day.Format("2006-01-02")}
	if _, inTx := t.q.(*sqlx.Tx); inTx || t.db == nil {
		// Inside a transaction the row stays locked to its commit, which
		// waits for the flush as the transaction's other writes do.
		err := t.getFixed(ctx, &n, nextSequenceSQL, args...)
		return n, err
	}
	st, err := t.db.counterStmt.get(ctx, t.db.counters, nextSequenceSQL)
	if err != nil {
		return 0, err
	}
	return n, mapErr(st.GetContext(ctx, &n, args...))
}

const nextSequenceSQL = `
INSERT INTO request_counters (property_id, day, last) VALUES ($1, $2::date, 1)
ON CONFLICT (property_id, day) DO UPDATE SET last = request_counters.last + 1
RETURNING last`

func (t requestTx) Insert(ctx context.Context, r *request.Request) (bool, error) {
	// The names become positions here, so the statement's text is the same
	// for every request and runs prepared.
	query, args, err := sqlx.Named(`
INSERT INTO service_requests (id, number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
	first_responder_id, assignee_id, channel, status, description, preferred_time, promised_at, version, created_at, updated_at,
	accepted_at, due_at, warn_at, appointment_at, appointment_until)
VALUES (:id, :number, :property_id, :unit_id, :category_id, :requester_id, :submitted_by, :client_request_id,
	:first_responder_id, :assignee_id, :channel, :status, :description, :preferred_time, :promised_at, :version, :created_at, :updated_at,
	:accepted_at, :due_at, :warn_at, :appointment_at, :appointment_until)
ON CONFLICT (submitted_by, client_request_id) DO NOTHING
RETURNING id`, r)
	if err != nil {
		return false, err
	}
	query = sqlx.Rebind(sqlx.DOLLAR, query)
	st, done, err := t.stmt(ctx, query)
	if err != nil {
		return false, err
	}
	defer done()
	var row *sqlx.Row
	if st == nil {
		row = t.q.QueryRowxContext(ctx, query, args...)
	} else {
		row = st.QueryRowxContext(ctx, args...)
	}
	var id string
	// No row is the conflict: the submitter used the client request id
	// already. Any error is the statement's own (mapErr would make a
	// missing reference look like no row).
	if err := row.Scan(&id); errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, mapErr(err)
	}
	return true, nil
}

func (t requestTx) Update(ctx context.Context, r *request.Request) error {
	res, err := sqlx.NamedExecContext(ctx, t.q, `
UPDATE service_requests SET status = :status, assignee_id = :assignee_id, first_responder_id = :first_responder_id,
	promised_at = :promised_at, rating = :rating, rating_comment = :rating_comment, cancel_reason = :cancel_reason,
	accepted_at = :accepted_at, due_at = :due_at, warn_at = :warn_at, on_hold = :on_hold, hold_reason = :hold_reason,
	hold_since = :hold_since, hold_until = :hold_until, warned_at = :warned_at, breached_at = :breached_at,
	escalation_level = :escalation_level, escalated_at = :escalated_at, last_urged_at = :last_urged_at, pooled = :pooled,
	rating_timeliness = :rating_timeliness, rating_attitude = :rating_attitude, rating_reply = :rating_reply,
	rating_replied_at = :rating_replied_at, rating_replied_by = :rating_replied_by, completed_at = :completed_at,
	first_completed_at = :first_completed_at, promise_kept = :promise_kept,
	confirmed_at = :confirmed_at, reopen_count = :reopen_count, breach_count = :breach_count,
	escalation_count = :escalation_count, callback_reached = :callback_reached,
	callback_satisfaction_sum = :callback_satisfaction_sum, callback_satisfaction_n = :callback_satisfaction_n,
	updated_at = :updated_at, version = version + 1
WHERE id = :id AND version = :version`, r)
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return request.ErrStale
	}
	r.Version++
	return nil
}

func (t requestTx) QuoteOwed(ctx context.Context, requestID, categoryID string) (bool, error) {
	var owed bool
	err := get(ctx, t.q, &owed, `SELECT c.price_cents IS NOT NULL AND NOT EXISTS (
	SELECT 1 FROM quotes q WHERE q.request_id = $1 AND q.accepted_at IS NOT NULL)
FROM service_categories c WHERE c.id = $2`, requestID, categoryID)
	return owed, err
}

func (t requestTx) SettleObligations(ctx context.Context, requestID string, at time.Time) error {
	// One statement: a request that ends owes neither a callback nor a
	// director's follow-up.
	// An ended guided visit no longer holds its guide.
	_, err := t.q.ExecContext(ctx, `WITH f AS (
	UPDATE follow_ups SET cancelled_at = $2 WHERE request_id = $1 AND done_at IS NULL AND cancelled_at IS NULL),
g AS (UPDATE guided_visits SET active = false WHERE request_id = $1 AND active)
UPDATE callback_tasks SET status = 'CANCELLED', closed_at = $2 WHERE request_id = $1 AND status = 'OPEN'`, requestID, at)
	return mapErr(err)
}
