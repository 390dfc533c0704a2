-- +goose Up
-- Butler portfolios, staff availability and skills, dispatch rules, the
-- promise clock and its escalation ladder, and the notification inbox.

-- Business hours, for categories whose promise counts working time only.
ALTER TABLE properties
    ADD COLUMN business_open  time NOT NULL DEFAULT '09:00',
    ADD COLUMN business_close time NOT NULL DEFAULT '18:00',
    -- ISO weekdays, Monday = 1.
    ADD COLUMN business_days  smallint[] NOT NULL DEFAULT '{1,2,3,4,5}',
    -- When a warning fires, as a fraction of the promised time used up.
    ADD COLUMN warn_fraction  real NOT NULL DEFAULT 0.8 CHECK (warn_fraction > 0 AND warn_fraction < 1),
    -- How long after the manager's escalation the director is called in.
    ADD COLUMN director_after_minutes integer NOT NULL DEFAULT 120 CHECK (director_after_minutes > 0),
    ADD CHECK (business_open < business_close);

ALTER TABLE service_categories
    ADD COLUMN business_hours_only boolean NOT NULL DEFAULT false,
    -- The skill a worker needs for this kind of job (plumbing, electrical).
    ADD COLUMN skill text;

-- A butler's portfolio, one row per household and period, never rewritten
-- but closed, so that the history of who served a household stays.
CREATE TABLE butler_assignments (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    unit_id   uuid NOT NULL REFERENCES units (id),
    butler_id uuid NOT NULL REFERENCES people (id),
    from_at   timestamptz NOT NULL,
    to_at     timestamptz,
    assigned_by uuid REFERENCES people (id),
    CHECK (to_at IS NULL OR to_at > from_at)
);
CREATE UNIQUE INDEX butler_assignments_current ON butler_assignments (unit_id) WHERE to_at IS NULL;
CREATE INDEX butler_assignments_butler_idx ON butler_assignments (butler_id, from_at);

CREATE TABLE butler_visits (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    unit_id   uuid NOT NULL REFERENCES units (id),
    butler_id uuid NOT NULL REFERENCES people (id),
    note      text NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX butler_visits_unit_idx ON butler_visits (unit_id, at DESC);

ALTER TABLE staff_roles
    ADD COLUMN availability text NOT NULL DEFAULT 'AVAILABLE' CHECK (availability IN ('AVAILABLE', 'BUSY', 'OFF_DUTY')),
    -- The building the person usually works in: "the nearest free person
    -- receives the customer" breaks ties in favour of staff already there.
    ADD COLUMN zone_building_id uuid REFERENCES buildings (id);

CREATE TABLE staff_skills (
    person_id uuid NOT NULL REFERENCES people (id),
    skill     text NOT NULL,
    PRIMARY KEY (person_id, skill)
);

-- How a property sends a category's jobs out; the row with no category is
-- the property's default. Without any row, dispatch is manual.
CREATE TABLE dispatch_rules (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id   uuid NOT NULL REFERENCES properties (id),
    category_id   uuid REFERENCES service_categories (id),
    mode          text NOT NULL CHECK (mode IN ('MANUAL', 'AUTO', 'POOL')),
    role          text NOT NULL DEFAULT 'TECHNICIAN' CHECK (role IN ('AGENT', 'BUTLER', 'TECHNICIAN', 'CLEANER', 'GUARD', 'MANAGER')),
    max_open_jobs integer NOT NULL DEFAULT 5 CHECK (max_open_jobs > 0)
);
CREATE UNIQUE INDEX dispatch_rules_key ON dispatch_rules (property_id, COALESCE(category_id, '00000000-0000-0000-0000-000000000000'));

ALTER TABLE service_requests
    -- The running promise: promised_at plus the time spent on hold.
    ADD COLUMN due_at          timestamptz,
    ADD COLUMN warn_at         timestamptz,
    ADD COLUMN accepted_at     timestamptz,
    ADD COLUMN on_hold         boolean NOT NULL DEFAULT false,
    ADD COLUMN hold_reason     text,
    ADD COLUMN hold_since      timestamptz,
    ADD COLUMN hold_until      timestamptz,
    ADD COLUMN warned_at       timestamptz,
    ADD COLUMN breached_at     timestamptz,
    ADD COLUMN escalation_level smallint NOT NULL DEFAULT 0,
    ADD COLUMN escalated_at    timestamptz,
    ADD COLUMN last_urged_at   timestamptz,
    -- In the grab pool, waiting for an eligible worker to claim it.
    ADD COLUMN pooled          boolean NOT NULL DEFAULT false;

-- The scheduler's look-ups: only running clocks are indexed.
CREATE INDEX service_requests_warn_idx ON service_requests (warn_at)
    WHERE warned_at IS NULL AND NOT on_hold AND status IN ('ACCEPTED', 'ASSIGNED', 'IN_PROGRESS');
CREATE INDEX service_requests_due_idx ON service_requests (due_at)
    WHERE NOT on_hold AND status IN ('ACCEPTED', 'ASSIGNED', 'IN_PROGRESS');
CREATE INDEX service_requests_hold_idx ON service_requests (hold_until) WHERE on_hold;
CREATE INDEX service_requests_open_assignee_idx ON service_requests (assignee_id)
    WHERE status IN ('ASSIGNED', 'IN_PROGRESS');

ALTER TABLE request_events ADD COLUMN pooled boolean NOT NULL DEFAULT false;

CREATE TABLE notifications (
    id            bigserial PRIMARY KEY,
    person_id     uuid NOT NULL REFERENCES people (id),
    kind          text NOT NULL,
    request_id    uuid REFERENCES service_requests (id),
    title         text NOT NULL,
    body          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    read_at       timestamptz,
    -- Outbound push to the person's phone, retried until delivered.
    push_attempts integer NOT NULL DEFAULT 0,
    push_next_at  timestamptz,
    pushed_at     timestamptz,
    push_error    text
);
CREATE INDEX notifications_person_idx ON notifications (person_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (person_id) WHERE read_at IS NULL;
CREATE INDEX notifications_push_idx ON notifications (push_next_at) WHERE pushed_at IS NULL;

-- +goose Down
DROP TABLE notifications;
ALTER TABLE request_events DROP COLUMN pooled;
DROP INDEX service_requests_open_assignee_idx;
DROP INDEX service_requests_hold_idx;
DROP INDEX service_requests_due_idx;
DROP INDEX service_requests_warn_idx;
ALTER TABLE service_requests
    DROP COLUMN due_at, DROP COLUMN warn_at, DROP COLUMN accepted_at, DROP COLUMN on_hold,
    DROP COLUMN hold_reason, DROP COLUMN hold_since, DROP COLUMN hold_until, DROP COLUMN warned_at,
    DROP COLUMN breached_at, DROP COLUMN escalation_level, DROP COLUMN escalated_at,
    DROP COLUMN last_urged_at, DROP COLUMN pooled;
DROP TABLE dispatch_rules;
DROP TABLE staff_skills;
ALTER TABLE staff_roles DROP COLUMN availability, DROP COLUMN zone_building_id;
DROP TABLE butler_visits;
DROP TABLE butler_assignments;
ALTER TABLE service_categories DROP COLUMN business_hours_only, DROP COLUMN skill;
ALTER TABLE properties DROP COLUMN business_open, DROP COLUMN business_close, DROP COLUMN business_days,
    DROP COLUMN warn_fraction, DROP COLUMN director_after_minutes;
