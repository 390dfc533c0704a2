-- +goose Up
-- The request list's orders besides newest first, each walked on an index
-- per way of seeing a request that can hold many: a property's (its service
-- center), a worker's and a first-asker's. A household's and the grab
-- pool's requests are few, and are read on their own indexes and sorted.
-- The keys are the expressions internal/postgres/requests.go orders by
-- (dueKey, urgencyKey), written the same so the planner matches them:
-- the due time, those without one last; and the urgency rank (open work
-- breached or escalated, other open work, work done awaiting the
-- household, finished), then the due time.
CREATE INDEX service_requests_property_due_idx ON service_requests
    (property_id, COALESCE(due_at, 'infinity'::timestamptz), id);
CREATE INDEX service_requests_assignee_due_idx ON service_requests
    (assignee_id, COALESCE(due_at, 'infinity'::timestamptz), id);
CREATE INDEX service_requests_first_responder_due_idx ON service_requests
    (first_responder_id, COALESCE(due_at, 'infinity'::timestamptz), id);
CREATE INDEX service_requests_property_urgency_idx ON service_requests
    (property_id, (CASE WHEN status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS') THEN CASE WHEN breached_at IS NOT NULL OR escalation_level > 0 THEN 0 ELSE 1 END WHEN status = 'COMPLETED' THEN 2 ELSE 3 END),
     COALESCE(due_at, 'infinity'::timestamptz), id);
CREATE INDEX service_requests_assignee_urgency_idx ON service_requests
    (assignee_id, (CASE WHEN status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS') THEN CASE WHEN breached_at IS NOT NULL OR escalation_level > 0 THEN 0 ELSE 1 END WHEN status = 'COMPLETED' THEN 2 ELSE 3 END),
     COALESCE(due_at, 'infinity'::timestamptz), id);
CREATE INDEX service_requests_first_responder_urgency_idx ON service_requests
    (first_responder_id, (CASE WHEN status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS') THEN CASE WHEN breached_at IS NOT NULL OR escalation_level > 0 THEN 0 ELSE 1 END WHEN status = 'COMPLETED' THEN 2 ELSE 3 END),
     COALESCE(due_at, 'infinity'::timestamptz), id);

-- A company admin's list across every property, in each order.
CREATE INDEX service_requests_created_idx ON service_requests (created_at DESC, id DESC);
CREATE INDEX service_requests_due_key_idx ON service_requests (COALESCE(due_at, 'infinity'::timestamptz), id);
CREATE INDEX service_requests_urgency_idx ON service_requests
    ((CASE WHEN status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS') THEN CASE WHEN breached_at IS NOT NULL OR escalation_level > 0 THEN 0 ELSE 1 END WHEN status = 'COMPLETED' THEN 2 ELSE 3 END),
     COALESCE(due_at, 'infinity'::timestamptz), id);

-- The quotes still owed, which a list narrowed to them starts from.
CREATE INDEX quotes_owed_idx ON quotes (request_id) WHERE payment = 'UNPAID';

-- A text of two Chinese characters (漏水, 冷氣) holds no trigram, so the
-- trigram indexes cannot narrow a search for it; these index every two
-- characters in a row of a request's number and description and of each
-- note, so that a text without case (Chinese, digits) of two characters or
-- more can be looked up. The function is the list's (internal/postgres
-- requests.go, listTextHits), and is written once here.
-- +goose StatementBegin
CREATE FUNCTION text_bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}') FROM generate_series(1, char_length(t) - 1) AS i
$$;
-- +goose StatementEnd
CREATE INDEX service_requests_text_bigrams_idx ON service_requests USING gin (text_bigrams(number || ' ' || description));
CREATE INDEX request_events_note_bigrams_idx ON request_events USING gin (text_bigrams(note));

-- +goose Down
DROP INDEX quotes_owed_idx;
DROP INDEX request_events_note_bigrams_idx;
DROP INDEX service_requests_text_bigrams_idx;
DROP FUNCTION text_bigrams(text);
DROP INDEX service_requests_urgency_idx;
DROP INDEX service_requests_due_key_idx;
DROP INDEX service_requests_created_idx;
DROP INDEX service_requests_first_responder_urgency_idx;
DROP INDEX service_requests_property_urgency_idx;
DROP INDEX service_requests_assignee_urgency_idx;
DROP INDEX service_requests_first_responder_due_idx;
DROP INDEX service_requests_assignee_due_idx;
DROP INDEX service_requests_property_due_idx;
