-- +goose Up
-- A request that ends (cancelled, say) owes nobody a follow-up any more:
-- the pending follow-up is cancelled with it, not left pending for ever.
ALTER TABLE follow_ups ADD COLUMN cancelled_at timestamptz;
ALTER TABLE follow_ups ADD CHECK (done_at IS NULL OR cancelled_at IS NULL);
DROP INDEX follow_ups_pending_key;
CREATE UNIQUE INDEX follow_ups_pending_key ON follow_ups (request_id) WHERE done_at IS NULL AND cancelled_at IS NULL;

-- Requests that were cancelled while a follow-up was pending, or while on
-- hold, before this rule existed.
UPDATE follow_ups f SET cancelled_at = r.updated_at
FROM service_requests r
WHERE r.id = f.request_id AND f.done_at IS NULL AND r.status IN ('CANCELLED', 'CLOSED');
UPDATE service_requests SET on_hold = false, hold_reason = NULL, hold_since = NULL, hold_until = NULL
WHERE on_hold AND status NOT IN ('ACCEPTED', 'ASSIGNED', 'IN_PROGRESS');

-- +goose Down
DROP INDEX follow_ups_pending_key;
CREATE UNIQUE INDEX follow_ups_pending_key ON follow_ups (request_id) WHERE done_at IS NULL;
ALTER TABLE follow_ups DROP COLUMN cancelled_at;
