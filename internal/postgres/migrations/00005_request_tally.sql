-- +goose Up
-- The figures the console charts, kept on the request as its events are
-- written (in the same transaction), so that a year of KPIs is one range
-- scan of requests rather than a probe of the event log per request. The
-- event log stays the record; these columns are its running tally.
ALTER TABLE service_requests
    ADD COLUMN confirmed_at timestamptz,
    ADD COLUMN reopen_count smallint NOT NULL DEFAULT 0,
    ADD COLUMN breach_count smallint NOT NULL DEFAULT 0,
    ADD COLUMN escalation_count smallint NOT NULL DEFAULT 0,
    ADD COLUMN callback_reached boolean NOT NULL DEFAULT false,
    ADD COLUMN callback_satisfaction_sum integer NOT NULL DEFAULT 0,
    ADD COLUMN callback_satisfaction_n integer NOT NULL DEFAULT 0;

UPDATE service_requests r SET
    confirmed_at = e.confirmed_at, reopen_count = e.reopens,
    breach_count = e.breaches, escalation_count = e.escalations
FROM (SELECT request_id,
             min(at) FILTER (WHERE type IN ('CONFIRMED', 'AUTO_CONFIRMED')) AS confirmed_at,
             count(*) FILTER (WHERE type = 'REOPENED') AS reopens,
             count(*) FILTER (WHERE type = 'BREACHED') AS breaches,
             count(*) FILTER (WHERE type = 'ESCALATED') AS escalations
      FROM request_events GROUP BY request_id) e
WHERE e.request_id = r.id;

UPDATE service_requests r SET
    callback_reached = c.reached, callback_satisfaction_sum = c.total, callback_satisfaction_n = c.n
FROM (SELECT request_id, bool_or(outcome = 'REACHED') AS reached,
             coalesce(sum(satisfaction), 0) AS total, count(satisfaction) AS n
      FROM callbacks GROUP BY request_id) c
WHERE c.request_id = r.id;

-- +goose Down
ALTER TABLE service_requests
    DROP COLUMN confirmed_at, DROP COLUMN reopen_count, DROP COLUMN breach_count, DROP COLUMN escalation_count,
    DROP COLUMN callback_reached, DROP COLUMN callback_satisfaction_sum, DROP COLUMN callback_satisfaction_n;
