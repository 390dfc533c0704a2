-- +goose Up
-- Running the company from the console: names in both languages, residency
-- dates, one-time activation codes, deactivated accounts, the audit log and
-- text search over requests.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE properties
    ADD COLUMN name_zh text NOT NULL DEFAULT '',
    ADD COLUMN address text NOT NULL DEFAULT '';
ALTER TABLE buildings ADD COLUMN name_zh text NOT NULL DEFAULT '';
ALTER TABLE people
    ADD COLUMN name_zh text NOT NULL DEFAULT '',
    -- A person with no home and no job left (moved out, left the company)
    -- can no longer sign in; their history stays.
    ADD COLUMN disabled_at timestamptz;

-- A residency runs from move-in to move-out. Only current residencies give
-- sight of a household; ended ones are kept for the company's history.
ALTER TABLE residencies
    ADD COLUMN moved_in_at  timestamptz NOT NULL DEFAULT '2000-01-01T00:00:00Z',
    ADD COLUMN moved_out_at timestamptz,
    ADD CHECK (moved_out_at IS NULL OR moved_out_at >= moved_in_at);
CREATE INDEX residencies_current_idx ON residencies (unit_id, person_id) WHERE moved_out_at IS NULL;

-- One-time codes: a new resident's activation for a unit and relation, or
-- (person_id set) a password reset. Only the code's hash is kept.
CREATE TABLE activation_codes (
    code_hash   bytea PRIMARY KEY,
    unit_id     uuid REFERENCES units (id),
    relation    text CHECK (relation IN ('OWNER', 'TENANT', 'FAMILY')),
    name        text NOT NULL DEFAULT '',
    name_zh     text NOT NULL DEFAULT '',
    person_id   uuid REFERENCES people (id),
    issued_by   uuid NOT NULL REFERENCES people (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK ((unit_id IS NULL) = (relation IS NULL)),
    CHECK ((unit_id IS NULL) <> (person_id IS NULL))
);

-- Every administrative change: who, when, what, before and after.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    uuid NOT NULL REFERENCES people (id),
    property_id uuid REFERENCES properties (id),
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_id   text NOT NULL,
    before      jsonb,
    after       jsonb
);
CREATE INDEX audit_log_property_idx ON audit_log (property_id, id DESC);
CREATE INDEX audit_log_id_idx ON audit_log (id DESC);

-- Text search over requests finds Chinese as well as English: trigram
-- indexes need no word boundaries.
CREATE INDEX service_requests_description_trgm ON service_requests USING gin (description gin_trgm_ops);
CREATE INDEX service_requests_number_trgm ON service_requests USING gin (number gin_trgm_ops);
CREATE INDEX request_events_note_trgm ON request_events USING gin (note gin_trgm_ops);
CREATE INDEX people_name_trgm ON people USING gin ((name || ' ' || name_zh) gin_trgm_ops);
CREATE INDEX units_code_trgm ON units USING gin (code gin_trgm_ops);

-- +goose Down
DROP INDEX units_code_trgm;
DROP INDEX people_name_trgm;
DROP INDEX request_events_note_trgm;
DROP INDEX service_requests_number_trgm;
DROP INDEX service_requests_description_trgm;
DROP TABLE audit_log;
DROP TABLE activation_codes;
DROP INDEX residencies_current_idx;
ALTER TABLE residencies DROP COLUMN moved_in_at, DROP COLUMN moved_out_at;
ALTER TABLE people DROP COLUMN name_zh, DROP COLUMN disabled_at;
ALTER TABLE buildings DROP COLUMN name_zh;
ALTER TABLE properties DROP COLUMN name_zh, DROP COLUMN address;
