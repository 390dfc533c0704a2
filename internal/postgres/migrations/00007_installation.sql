-- +goose Up
-- The identity of this installation (one database and the instances that
-- serve it). Live-event messages carry it, so that installations sharing a
-- Redis channel never take each other's events for their own.
CREATE TABLE installation (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    singleton  boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO installation DEFAULT VALUES;

-- +goose Down
DROP TABLE installation;
