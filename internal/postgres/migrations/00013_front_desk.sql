-- +goose Up
-- The front desk: visitor passes and visits, each household's do-not-admit
-- list, guard posts and their check-ins, and the greeting duty rota.

-- Per-property settings; a property without a row uses the defaults.
CREATE TABLE front_desk_settings (
    property_id            uuid PRIMARY KEY REFERENCES properties (id),
    -- Days a visit's personal data is kept before it is purged.
    retention_days         integer NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 3650),
    -- Seconds a household has to answer a walk-in before the guard is
    -- told to ring the unit.
    answer_timeout_seconds integer NOT NULL DEFAULT 120 CHECK (answer_timeout_seconds BETWEEN 10 AND 3600),
    -- The greeting window, in the property's local time: on working days
    -- and on weekends and holidays (NULL: no window on such days), once
    -- greeting_set; before that, the defaults of the property's kind.
    greeting_set           boolean NOT NULL DEFAULT false,
    greeting_weekday_start time,
    greeting_holiday_start time,
    greeting_minutes       integer NOT NULL DEFAULT 30 CHECK (greeting_minutes BETWEEN 5 AND 240),
    greeting_point         text NOT NULL DEFAULT 'Lobby',
    holidays               date[] NOT NULL DEFAULT '{}'
);

CREATE TABLE visitor_passes (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id   uuid NOT NULL REFERENCES properties (id),
    unit_id       uuid NOT NULL REFERENCES units (id),
    created_by    uuid NOT NULL REFERENCES people (id),
    code          text NOT NULL,
    visitor_name  text,
    phone         text,
    expected_from timestamptz NOT NULL,
    expected_to   timestamptz NOT NULL CHECK (expected_to > expected_from),
    party_size    integer NOT NULL DEFAULT 1 CHECK (party_size BETWEEN 1 AND 50),
    car_plate     text,
    purpose       text,
    status        text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'USED', 'CANCELLED')),
    created_at    timestamptz NOT NULL,
    cancelled_at  timestamptz,
    purged_at     timestamptz,
    UNIQUE (property_id, code)
);
CREATE INDEX visitor_passes_unit_idx ON visitor_passes (unit_id, expected_from DESC);

CREATE TABLE guard_posts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id uuid NOT NULL REFERENCES properties (id),
    code        text NOT NULL,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('GATE', 'LOBBY', 'CAR_PARK')),
    -- Standing windows in local time, e.g. {"07:00-15:00"}.
    standing    text[] NOT NULL DEFAULT '{}',
    UNIQUE (property_id, code)
);

CREATE TABLE post_checkins (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id        uuid NOT NULL REFERENCES guard_posts (id),
    guard_id       uuid NOT NULL REFERENCES people (id),
    checked_in_at  timestamptz NOT NULL,
    checked_out_at timestamptz CHECK (checked_out_at >= checked_in_at)
);
-- A guard stands at one post at a time.
CREATE UNIQUE INDEX post_checkins_open_idx ON post_checkins (guard_id) WHERE checked_out_at IS NULL;
CREATE INDEX post_checkins_post_idx ON post_checkins (post_id, checked_in_at);

CREATE TABLE visits (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id    uuid NOT NULL REFERENCES properties (id),
    unit_id        uuid NOT NULL REFERENCES units (id),
    pass_id        uuid REFERENCES visitor_passes (id),
    guard_id       uuid NOT NULL REFERENCES people (id),
    post_id        uuid REFERENCES guard_posts (id),
    visitor_name   text,
    party_size     integer NOT NULL DEFAULT 1 CHECK (party_size BETWEEN 1 AND 50),
    car_plate      text,
    purpose        text,
    -- Only the kind of document and its last four characters are kept.
    id_type        text CHECK (id_type IN ('HKID', 'PASSPORT', 'DRIVING_LICENCE', 'OTHER')),
    id_last4       text CHECK (id_last4 ~ '^[A-Z0-9]{4}$'),
    id_taken_at    timestamptz,
    id_returned_at timestamptz CHECK (id_returned_at >= id_taken_at),
    walk_in        boolean NOT NULL,
    -- PRE_REGISTERED needs no answer; a walk-in waits (PENDING) for the
    -- household, or is UNANSWERED when nobody answered in time.
    answer         text NOT NULL CHECK (answer IN ('PRE_REGISTERED', 'PENDING', 'ADMITTED', 'DECLINED', 'UNANSWERED')),
    answered_by    uuid REFERENCES people (id),
    answered_at    timestamptz,
    do_not_admit   boolean NOT NULL DEFAULT false,
    arrived_at     timestamptz NOT NULL,
    departed_at    timestamptz CHECK (departed_at >= arrived_at),
    purged_at      timestamptz
);
CREATE INDEX visits_property_idx ON visits (property_id, arrived_at);
CREATE INDEX visits_pending_idx ON visits (arrived_at) WHERE answer = 'PENDING';
CREATE INDEX visits_purge_idx ON visits (arrived_at) WHERE purged_at IS NULL;

CREATE TABLE do_not_admit (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    unit_id    uuid NOT NULL REFERENCES units (id),
    name       text NOT NULL,
    note       text,
    created_by uuid NOT NULL REFERENCES people (id),
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX do_not_admit_name_idx ON do_not_admit (unit_id, lower(name));

CREATE TABLE greeting_duties (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id        uuid NOT NULL REFERENCES properties (id),
    day                date NOT NULL,
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL CHECK (ends_at > starts_at),
    person_id          uuid NOT NULL REFERENCES people (id),
    checked_in_at      timestamptz,
    reminded_at        timestamptz,
    missed_notified_at timestamptz,
    UNIQUE (property_id, day)
);
CREATE INDEX greeting_duties_start_idx ON greeting_duties (starts_at) WHERE reminded_at IS NULL;
CREATE INDEX greeting_duties_end_idx ON greeting_duties (ends_at) WHERE checked_in_at IS NULL AND missed_notified_at IS NULL;

CREATE TABLE greeting_swaps (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id  uuid NOT NULL REFERENCES properties (id),
    duty_id      uuid NOT NULL REFERENCES greeting_duties (id),
    with_duty_id uuid NOT NULL REFERENCES greeting_duties (id),
    requested_by uuid NOT NULL REFERENCES people (id),
    status       text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'DECLINED')),
    decided_by   uuid REFERENCES people (id),
    created_at   timestamptz NOT NULL,
    decided_at   timestamptz
);

-- Notifications about a visit (a walk-in to answer, the answer, a visitor
-- arrived) name it, so the apps open it.
ALTER TABLE notifications ADD COLUMN visit_id uuid REFERENCES visits (id);

-- +goose Down
ALTER TABLE notifications DROP COLUMN visit_id;
DROP TABLE greeting_swaps;
DROP TABLE greeting_duties;
DROP TABLE do_not_admit;
DROP TABLE visits;
DROP TABLE post_checkins;
DROP TABLE guard_posts;
DROP TABLE visitor_passes;
DROP TABLE front_desk_settings;
