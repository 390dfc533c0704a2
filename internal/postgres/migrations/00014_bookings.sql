-- +goose Up
-- Bookings and paid services: the clubhouse's facilities and their
-- bookings, community activities with their waiting lists, guided visits
-- with their guides, and the quote and payment of a paid request.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Repeated no-shows suspend a household's clubhouse bookings: this many
-- within the window suspend it for the window after the last one.
ALTER TABLE properties
    ADD COLUMN no_show_limit integer NOT NULL DEFAULT 3 CHECK (no_show_limit > 0),
    ADD COLUMN no_show_suspend_days integer NOT NULL DEFAULT 30 CHECK (no_show_suspend_days > 0);

CREATE TABLE facilities (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id         uuid NOT NULL REFERENCES properties (id),
    code                text NOT NULL,
    name                text NOT NULL,
    name_zh             text NOT NULL,
    -- Opening hours are the property's local wall clock.
    opens               time NOT NULL,
    closes              time NOT NULL,
    -- ISO weekdays (1 Monday .. 7 Sunday) it opens on.
    days                smallint[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}',
    slot_minutes        integer NOT NULL CHECK (slot_minutes BETWEEN 15 AND 1440),
    capacity            integer NOT NULL CHECK (capacity > 0),
    max_slots           integer NOT NULL DEFAULT 1 CHECK (max_slots > 0),
    advance_days        integer NOT NULL DEFAULT 14 CHECK (advance_days > 0),
    weekly_quota        integer NOT NULL DEFAULT 2 CHECK (weekly_quota > 0),
    cancel_hours        integer NOT NULL DEFAULT 24 CHECK (cancel_hours >= 0),
    fee_cents           bigint NOT NULL DEFAULT 0 CHECK (fee_cents >= 0),
    deposit_cents       bigint NOT NULL DEFAULT 0 CHECK (deposit_cents >= 0),
    currency            text NOT NULL DEFAULT 'HKD',
    active              boolean NOT NULL DEFAULT true,
    UNIQUE (property_id, code),
    CHECK (closes > opens)
);

CREATE TABLE facility_closures (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    facility_id uuid NOT NULL REFERENCES facilities (id),
    during      tstzrange NOT NULL CHECK (NOT isempty(during)),
    reason      text NOT NULL
);
CREATE INDEX facility_closures_idx ON facility_closures USING gist (facility_id, during);

CREATE TABLE facility_bookings (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    facility_id   uuid NOT NULL REFERENCES facilities (id),
    property_id   uuid NOT NULL REFERENCES properties (id),
    unit_id       uuid NOT NULL REFERENCES units (id),
    booked_by     uuid NOT NULL REFERENCES people (id),
    during        tstzrange NOT NULL CHECK (NOT isempty(during)),
    -- A room is held whole (exclusive); a class by the place.
    exclusive     boolean NOT NULL,
    status        text NOT NULL CHECK (status IN ('BOOKED', 'CHECKED_IN', 'NO_SHOW', 'CANCELLED')),
    fee_cents     bigint NOT NULL DEFAULT 0,
    deposit_cents bigint NOT NULL DEFAULT 0,
    currency      text NOT NULL,
    created_at    timestamptz NOT NULL,
    cancelled_at  timestamptz,
    checked_in_at timestamptz,
    marked_by     uuid REFERENCES people (id),
    -- Two holders of a room can never overlap: PostgreSQL refuses the
    -- second, whatever the code above it does.
    EXCLUDE USING gist (facility_id WITH =, during WITH &&) WHERE (exclusive AND status <> 'CANCELLED')
);
CREATE INDEX facility_bookings_unit_idx ON facility_bookings (unit_id, lower(during));
CREATE INDEX facility_bookings_facility_idx ON facility_bookings USING gist (facility_id, during);

-- The places taken in each slot of a shared facility (a class): every
-- booking adds one to each of its slots' rows, and the check refuses the
-- one that would overfill it. Concurrent bookings of a slot queue on its
-- row, so exactly as many as there are places win.
CREATE TABLE facility_slot_places (
    facility_id uuid NOT NULL REFERENCES facilities (id),
    starts_at   timestamptz NOT NULL,
    capacity    integer NOT NULL,
    taken       integer NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (facility_id, starts_at),
    CONSTRAINT facility_slot_full CHECK (taken <= capacity)
);

CREATE TABLE activities (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id      uuid NOT NULL REFERENCES properties (id),
    title            text NOT NULL,
    title_zh         text NOT NULL DEFAULT '',
    place            text NOT NULL,
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    capacity         integer NOT NULL CHECK (capacity > 0),
    signup_opens_at  timestamptz NOT NULL,
    signup_closes_at timestamptz NOT NULL,
    per_household    integer NOT NULL DEFAULT 2 CHECK (per_household > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (property_id, title, starts_at),
    CHECK (ends_at > starts_at AND signup_closes_at > signup_opens_at)
);

CREATE TABLE activity_signups (
    id            bigserial PRIMARY KEY,
    activity_id   uuid NOT NULL REFERENCES activities (id),
    unit_id       uuid NOT NULL REFERENCES units (id),
    signed_up_by  uuid NOT NULL REFERENCES people (id),
    places        integer NOT NULL CHECK (places > 0),
    -- WAITING sign-ups are promoted in id order as places free.
    status        text NOT NULL CHECK (status IN ('CONFIRMED', 'WAITING', 'CANCELLED')),
    created_at    timestamptz NOT NULL,
    promoted_at   timestamptz,
    cancelled_at  timestamptz,
    checked_in_at timestamptz,
    attended      integer CHECK (attended >= 0)
);
CREATE UNIQUE INDEX activity_signups_one_idx ON activity_signups (activity_id, unit_id) WHERE status <> 'CANCELLED';

-- A request may be an appointment: its promise is the appointment, not the
-- category's completion target.
ALTER TABLE service_requests
    ADD COLUMN appointment_at timestamptz,
    ADD COLUMN appointment_until timestamptz,
    ADD CONSTRAINT service_requests_appointment_check CHECK (appointment_until > appointment_at);

CREATE TABLE guided_visits (
    request_id  uuid PRIMARY KEY REFERENCES service_requests (id),
    property_id uuid NOT NULL REFERENCES properties (id),
    kind        text NOT NULL CHECK (kind IN ('VISIT', 'STUDY_TOUR', 'ASSESSMENT_TEAM', 'HEAVY_ITEMS')),
    party_size  integer NOT NULL CHECK (party_size BETWEEN 1 AND 50),
    during      tstzrange NOT NULL,
    guide_id    uuid NOT NULL REFERENCES people (id),
    active      boolean NOT NULL DEFAULT true,
    reminded_at timestamptz,
    -- A guide is never in two places at once.
    EXCLUDE USING gist (guide_id WITH =, during WITH &&) WHERE (active)
);
CREATE INDEX guided_visits_remind_idx ON guided_visits (lower(during)) WHERE active AND reminded_at IS NULL;

-- The quote of a paid request and what was paid on it.
CREATE TABLE quotes (
    request_id       uuid PRIMARY KEY REFERENCES service_requests (id),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    quantity         integer NOT NULL CHECK (quantity > 0),
    amount_cents     bigint NOT NULL CHECK (amount_cents = unit_price_cents * quantity),
    currency         text NOT NULL,
    quoted_by        uuid NOT NULL REFERENCES people (id),
    quoted_at        timestamptz NOT NULL,
    accepted_by      uuid REFERENCES people (id),
    accepted_at      timestamptz,
    payment          text NOT NULL DEFAULT 'UNPAID' CHECK (payment IN ('UNPAID', 'PAID', 'WAIVED', 'REFUNDED')),
    payment_by       uuid REFERENCES people (id),
    payment_at       timestamptz,
    payment_note     text
);

-- +goose Down
DROP TABLE quotes;
DROP TABLE guided_visits;
ALTER TABLE service_requests DROP CONSTRAINT service_requests_appointment_check,
    DROP COLUMN appointment_at, DROP COLUMN appointment_until;
DROP TABLE activity_signups;
DROP TABLE activities;
DROP TABLE facility_slot_places;
DROP TABLE facility_bookings;
DROP TABLE facility_closures;
DROP TABLE facilities;
ALTER TABLE properties DROP COLUMN no_show_limit, DROP COLUMN no_show_suspend_days;
