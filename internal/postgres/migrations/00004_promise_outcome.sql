-- +goose Up
-- Whether the promise was kept is decided once, when the work is first
-- done, against the promise then in force. Reopened work gets a new promise
-- later; it must not rewrite the first verdict.
ALTER TABLE service_requests
    ADD COLUMN first_completed_at timestamptz,
    ADD COLUMN promise_kept boolean;

UPDATE service_requests r SET first_completed_at = e.at,
       promise_kept = CASE WHEN COALESCE(r.due_at, r.promised_at) IS NULL THEN NULL
                           ELSE e.at <= COALESCE(r.due_at, r.promised_at) END
FROM (SELECT request_id, min(at) AS at FROM request_events WHERE type = 'COMPLETED' GROUP BY request_id) e
WHERE e.request_id = r.id;

-- +goose Down
ALTER TABLE service_requests DROP COLUMN first_completed_at, DROP COLUMN promise_kept;
