-- +goose Up
-- The foundation: who lives and works where, the service catalogue, and the
-- service requests with their append-only event log.

CREATE TABLE properties (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code         text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{2,8}$'),
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('OFFICE', 'RESIDENTIAL', 'MIXED')),
    grade        text NOT NULL DEFAULT 'STANDARD',
    service_mode text NOT NULL CHECK (service_mode IN ('SERVICE_CENTER', 'BUTLER')),
    time_zone    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id uuid NOT NULL REFERENCES properties (id),
    code        text NOT NULL,
    name        text NOT NULL,
    UNIQUE (property_id, code)
);

-- A unit is a household: residents are linked to it and the VIP flag
-- belongs to it, because the manual's special customers are households.
CREATE TABLE units (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id uuid NOT NULL REFERENCES properties (id),
    building_id uuid NOT NULL REFERENCES buildings (id),
    code        text NOT NULL,
    vip         boolean NOT NULL DEFAULT false,
    UNIQUE (property_id, code)
);

CREATE TABLE people (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL,
    name          text NOT NULL,
    phone         text,
    password_hash text NOT NULL,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX people_username_key ON people (lower(username));

CREATE TABLE residencies (
    person_id uuid NOT NULL REFERENCES people (id),
    unit_id   uuid NOT NULL REFERENCES units (id),
    relation  text NOT NULL CHECK (relation IN ('OWNER', 'TENANT', 'FAMILY')),
    PRIMARY KEY (person_id, unit_id)
);
CREATE INDEX residencies_unit_idx ON residencies (unit_id);

CREATE TABLE staff_roles (
    person_id   uuid NOT NULL REFERENCES people (id),
    property_id uuid NOT NULL REFERENCES properties (id),
    role        text NOT NULL CHECK (role IN ('AGENT', 'BUTLER', 'TECHNICIAN', 'CLEANER', 'GUARD', 'MANAGER', 'DIRECTOR')),
    PRIMARY KEY (person_id, property_id)
);
CREATE INDEX staff_roles_property_idx ON staff_roles (property_id, role);

CREATE TABLE service_categories (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id        uuid NOT NULL REFERENCES properties (id),
    code               text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('REPAIR', 'CLEANING', 'HOUSEKEEPING', 'SPECIAL', 'CONTRACTED', 'FEATURED', 'COMPLAINT', 'INQUIRY', 'GUIDED_VISIT')),
    name               text NOT NULL,
    name_zh            text NOT NULL,
    target_minutes     integer NOT NULL CHECK (target_minutes > 0),
    price_cents        bigint CHECK (price_cents >= 0),
    currency           text,
    active             boolean NOT NULL DEFAULT true,
    UNIQUE (property_id, code),
    -- A paid (contracted) service always states its price.
    CHECK (kind <> 'CONTRACTED' OR (price_cents IS NOT NULL AND currency IS NOT NULL))
);

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id   uuid NOT NULL REFERENCES people (id),
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Daily counters behind the readable request numbers (HV-20261127-0042).
CREATE TABLE request_counters (
    property_id uuid NOT NULL REFERENCES properties (id),
    day         date NOT NULL,
    last        integer NOT NULL,
    PRIMARY KEY (property_id, day)
);

CREATE TABLE service_requests (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number             text NOT NULL UNIQUE,
    property_id        uuid NOT NULL REFERENCES properties (id),
    unit_id            uuid NOT NULL REFERENCES units (id),
    category_id        uuid NOT NULL REFERENCES service_categories (id),
    requester_id       uuid NOT NULL REFERENCES people (id),
    submitted_by       uuid NOT NULL REFERENCES people (id),
    client_request_id  uuid NOT NULL,
    first_responder_id uuid REFERENCES people (id),
    assignee_id        uuid REFERENCES people (id),
    channel            text NOT NULL CHECK (channel IN ('APP', 'PHONE', 'WALK_IN', 'VISIT', 'STAFF')),
    status             text NOT NULL CHECK (status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS', 'COMPLETED', 'CONFIRMED', 'CLOSED', 'CANCELLED')),
    description        text NOT NULL,
    preferred_time     timestamptz,
    promised_at        timestamptz,
    rating             smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment     text,
    cancel_reason      text,
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- A retried submission from the same phone finds the original.
    UNIQUE (submitted_by, client_request_id)
);
CREATE INDEX service_requests_property_idx ON service_requests (property_id, created_at DESC, id DESC);
CREATE INDEX service_requests_unit_idx ON service_requests (unit_id, created_at DESC, id DESC);
CREATE INDEX service_requests_assignee_idx ON service_requests (assignee_id, created_at DESC, id DESC);
CREATE INDEX service_requests_first_responder_idx ON service_requests (first_responder_id, created_at DESC, id DESC);
CREATE INDEX service_requests_requester_idx ON service_requests (requester_id, created_at DESC, id DESC);

-- The event log is append-only; its id is the cursor clients resume from.
-- The who-may-see columns are copied from the request as it stood after the
-- event, so an event's audience is fixed when it is written.
CREATE TABLE request_events (
    id                 bigserial PRIMARY KEY,
    request_id         uuid NOT NULL REFERENCES service_requests (id),
    type               text NOT NULL,
    from_status        text,
    to_status          text NOT NULL,
    actor_id           uuid REFERENCES people (id),
    note               text,
    data               jsonb NOT NULL DEFAULT '{}',
    at                 timestamptz NOT NULL,
    property_id        uuid NOT NULL,
    unit_id            uuid NOT NULL,
    requester_id       uuid NOT NULL,
    assignee_id        uuid,
    first_responder_id uuid
);
CREATE INDEX request_events_request_idx ON request_events (request_id, id);

-- +goose StatementBegin
CREATE FUNCTION request_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'request_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER request_events_no_update BEFORE UPDATE OR DELETE ON request_events
    FOR EACH ROW EXECUTE FUNCTION request_events_append_only();

CREATE TABLE callbacks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id   uuid NOT NULL REFERENCES service_requests (id),
    agent_id     uuid NOT NULL REFERENCES people (id),
    method       text NOT NULL CHECK (method IN ('PHONE', 'VISIT', 'APP')),
    outcome      text NOT NULL DEFAULT 'REACHED' CHECK (outcome IN ('REACHED', 'NO_ANSWER', 'DECLINED')),
    satisfaction smallint CHECK (satisfaction BETWEEN 1 AND 5),
    note         text,
    at           timestamptz NOT NULL
);
CREATE INDEX callbacks_request_idx ON callbacks (request_id, at);

-- +goose Down
DROP TABLE callbacks;
DROP TABLE request_events;
DROP FUNCTION request_events_append_only();
DROP TABLE service_requests;
DROP TABLE request_counters;
DROP TABLE refresh_tokens;
DROP TABLE service_categories;
DROP TABLE staff_roles;
DROP TABLE residencies;
DROP TABLE people;
DROP TABLE units;
DROP TABLE buildings;
DROP TABLE properties;
