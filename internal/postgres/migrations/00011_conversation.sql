-- +goose Up
-- Who may read each event and its note: the household reads what is meant
-- for it; staff-only events and notes are for colleagues.
ALTER TABLE request_events
    ADD COLUMN internal boolean NOT NULL DEFAULT false,
    ADD COLUMN note_internal boolean NOT NULL DEFAULT false;

-- Events written before sight was recorded get it by the same rule the
-- engine applies now. The log is append-only; this one backfill is the
-- exception, made with its guard lifted inside the migration's transaction.
ALTER TABLE request_events DISABLE TRIGGER request_events_no_update;
UPDATE request_events SET
    internal = type IN ('SENT_BACK', 'WARNED', 'BREACHED', 'ESCALATED', 'CALLBACK_ATTEMPTED', 'CALLED_BACK', 'FOLLOWED_UP'),
    note_internal = type IN ('SENT_BACK', 'WARNED', 'BREACHED', 'ESCALATED', 'CALLBACK_ATTEMPTED', 'CALLED_BACK', 'FOLLOWED_UP')
        OR (note IS NOT NULL AND type NOT IN ('ACCEPTED', 'COMPLETED', 'CANCELLED', 'RATING_REPLIED', 'CONFIRMED', 'URGED')
            AND NOT (type = 'REOPENED' AND data->>'by' = 'RESIDENT'));
ALTER TABLE request_events ENABLE TRIGGER request_events_no_update;

-- How far each person has read each request's thread.
CREATE TABLE message_reads (
    request_id   uuid NOT NULL REFERENCES service_requests (id),
    person_id    uuid NOT NULL REFERENCES people (id),
    last_read_id bigint NOT NULL,
    PRIMARY KEY (request_id, person_id)
);
CREATE INDEX request_events_messages_idx ON request_events (request_id, id) WHERE type = 'MESSAGE';

-- The photos and documents of a request; their contents are in the file
-- storage under their id.
CREATE TABLE request_files (
    id           uuid PRIMARY KEY,
    request_id   uuid NOT NULL REFERENCES service_requests (id),
    uploaded_by  uuid NOT NULL REFERENCES people (id),
    name         text NOT NULL,
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    size         bigint NOT NULL CHECK (size > 0),
    internal     boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL
);
CREATE INDEX request_files_request_idx ON request_files (request_id, created_at);

-- The phones a person is signed in on, for push notices.
CREATE TABLE devices (
    token        text PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES people (id),
    platform     text NOT NULL CHECK (platform IN ('IOS', 'ANDROID')),
    session_id   uuid,
    created_at   timestamptz NOT NULL
);
CREATE INDEX devices_person_idx ON devices (person_id);

-- The language each person reads the apps in; pushes are titled in it.
ALTER TABLE people ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh-Hant'));
ALTER TABLE notifications ADD COLUMN title_zh text;

-- +goose Down
ALTER TABLE notifications DROP COLUMN title_zh;
ALTER TABLE people DROP COLUMN language;
DROP TABLE devices;
DROP TABLE request_files;
DROP INDEX request_events_messages_idx;
DROP TABLE message_reads;
ALTER TABLE request_events DROP COLUMN note_internal, DROP COLUMN internal;
