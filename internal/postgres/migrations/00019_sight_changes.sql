-- +goose Up
-- Sight lost: a household handed to another butler, a family moving out,
-- a role taken away or changed. Each row takes its id from the event
-- log's sequence, under the outbox's ordering lock, so it sits in the log's
-- order between the events committed before and after it: a live hub that
-- finds a gap in the event ids reads the changes there and narrows the
-- people's sight before it delivers a later event.
CREATE TABLE sight_changes (
    id         bigint PRIMARY KEY,
    person_ids uuid[] NOT NULL
);

-- +goose Down
DROP TABLE sight_changes;
