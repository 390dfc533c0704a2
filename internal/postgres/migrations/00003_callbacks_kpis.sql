-- +goose Up
-- Callbacks (回訪) as tasks with attempts, the director's follow-up of VIP
-- households, the resident's detailed rating and the staff reply, and the
-- indexes the KPI queries read.

-- Whether the service center calls back after confirmation: ALWAYS, NEVER,
-- or ONLY_UNRATED (only when the resident gave no rating).
ALTER TABLE service_categories
    ADD COLUMN callback_policy text NOT NULL DEFAULT 'ALWAYS'
        CHECK (callback_policy IN ('ALWAYS', 'NEVER', 'ONLY_UNRATED'));

ALTER TABLE service_requests
    -- When the work was last reported done; auto-confirmation counts from it.
    ADD COLUMN completed_at       timestamptz,
    ADD COLUMN rating_timeliness  smallint CHECK (rating_timeliness BETWEEN 1 AND 5),
    ADD COLUMN rating_attitude    smallint CHECK (rating_attitude BETWEEN 1 AND 5),
    ADD COLUMN rating_reply       text,
    ADD COLUMN rating_replied_at  timestamptz,
    ADD COLUMN rating_replied_by  uuid REFERENCES people (id);

-- The auto-confirmation job looks for completed work nobody answered.
CREATE INDEX service_requests_awaiting_idx ON service_requests (completed_at) WHERE status = 'COMPLETED';

-- One callback owed to the customer. A request has at most one open task;
-- a reopened and re-confirmed request gets a new one.
CREATE TABLE callback_tasks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id  uuid NOT NULL REFERENCES service_requests (id),
    property_id uuid NOT NULL REFERENCES properties (id),
    -- CONFIRMED by the resident, or AUTO_CONFIRMED by the system.
    reason      text NOT NULL CHECK (reason IN ('CONFIRMED', 'AUTO_CONFIRMED')),
    status      text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'DONE', 'UNREACHABLE', 'CANCELLED')),
    attempts    integer NOT NULL DEFAULT 0,
    due_at      timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    closed_at   timestamptz,
    CHECK ((status = 'OPEN') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX callback_tasks_open_key ON callback_tasks (request_id) WHERE status = 'OPEN';
-- The agents' queue, due first.
CREATE INDEX callback_tasks_queue_idx ON callback_tasks (property_id, due_at, id) WHERE status = 'OPEN';
CREATE INDEX callback_tasks_due_idx ON callback_tasks (property_id, due_at);

ALTER TABLE callbacks ADD COLUMN task_id uuid REFERENCES callback_tasks (id);

-- The director's follow-up of a VIP household after completion. While one
-- is pending (done_at null) the request cannot close.
CREATE TABLE follow_ups (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id  uuid NOT NULL REFERENCES service_requests (id),
    created_at  timestamptz NOT NULL,
    done_at     timestamptz,
    done_by     uuid REFERENCES people (id),
    note        text,
    CHECK ((done_at IS NULL) = (done_by IS NULL))
);
CREATE UNIQUE INDEX follow_ups_pending_key ON follow_ups (request_id) WHERE done_at IS NULL;

-- KPI reads: events of a property by type and time (breaches, escalations,
-- accept and complete times) without touching other properties' rows.
CREATE INDEX request_events_kpi_idx ON request_events (request_id, type) INCLUDE (at);
CREATE INDEX service_requests_kpi_idx ON service_requests (property_id, created_at)
    INCLUDE (status, category_id, assignee_id, promised_at, rating);

-- +goose Down
DROP INDEX service_requests_kpi_idx;
DROP INDEX request_events_kpi_idx;
DROP TABLE follow_ups;
ALTER TABLE callbacks DROP COLUMN task_id;
DROP TABLE callback_tasks;
DROP INDEX service_requests_awaiting_idx;
ALTER TABLE service_requests
    DROP COLUMN completed_at,
    DROP COLUMN rating_timeliness,
    DROP COLUMN rating_attitude,
    DROP COLUMN rating_reply,
    DROP COLUMN rating_replied_at,
    DROP COLUMN rating_replied_by;
ALTER TABLE service_categories DROP COLUMN callback_policy;
