-- +goose Up
-- The per-day rollup (00017) off the writers' path. A request change no
-- longer updates its day's row (one row that every submission of a
-- property shared, taken at commit inside the outbox's company-wide
-- section): it only appends its request's id to request_day_changes, an
-- insert-only log that no two writers ever contend on a row of. A fold
-- (request_day_fold, run by the server's scheduled jobs and by every
-- statistics read before it reads) turns the pending changes into the day
-- rows in batches.
--
-- The fold compares each changed request's contribution as it now stands
-- with the one the rollup counts for it (request_day_folded) and moves the
-- difference. Because it reads the request itself rather than a copy of
-- the change, a change folded late, twice, or after a later one is
-- harmless: the rows always come to the sum of what request_day_folded
-- holds, and that to the requests as they stand once nothing is pending.
-- Folders take an advisory lock of their own, which no writer takes, so
-- several servers may fold at once and the batches simply follow one
-- another.
CREATE TABLE request_day_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id uuid NOT NULL
);

-- What the rollup counts for each request: its piece when last folded.
-- Written only by folders and rebuilds, under the folders' lock.
CREATE TABLE request_day_folded (
    request_id uuid PRIMARY KEY,
    piece      request_day_piece NOT NULL
);
CREATE INDEX request_day_folded_property_idx ON request_day_folded (((piece).property_id));

DROP TRIGGER properties_day_stats_rezone ON properties;
DROP TRIGGER properties_day_stats_mark ON properties;
DROP TRIGGER service_requests_day_stats ON service_requests;
DROP FUNCTION request_day_stats_mark();
DROP FUNCTION request_day_stats_track();

-- The request's id, when something its piece is made of may have changed
-- (an update of its description, version or hold alone cannot move a
-- figure, and logs nothing).
-- +goose StatementBegin
CREATE FUNCTION request_day_log() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO request_day_changes (request_id) VALUES (OLD.id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.id, OLD.property_id, OLD.created_at, OLD.status, OLD.category_id, OLD.assignee_id,
            OLD.accepted_at, OLD.first_completed_at, OLD.promise_kept, OLD.due_at, OLD.promised_at, OLD.breach_count,
            OLD.escalation_count, OLD.reopen_count, OLD.confirmed_at, OLD.callback_reached, OLD.callback_satisfaction_sum,
            OLD.callback_satisfaction_n, OLD.rating, OLD.rating_timeliness, OLD.rating_attitude)
        IS NOT DISTINCT FROM (NEW.id, NEW.property_id, NEW.created_at, NEW.status, NEW.category_id, NEW.assignee_id,
            NEW.accepted_at, NEW.first_completed_at, NEW.promise_kept, NEW.due_at, NEW.promised_at, NEW.breach_count,
            NEW.escalation_count, NEW.reopen_count, NEW.confirmed_at, NEW.callback_reached, NEW.callback_satisfaction_sum,
            NEW.callback_satisfaction_n, NEW.rating, NEW.rating_timeliness, NEW.rating_attitude) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
        INSERT INTO request_day_changes (request_id) VALUES (OLD.id);
    END IF;
    INSERT INTO request_day_changes (request_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- Not deferred: the row goes in with the statement, long before the
-- outbox's lock is taken.
CREATE TRIGGER service_requests_day_changes AFTER INSERT OR UPDATE OR DELETE ON service_requests
    FOR EACH ROW EXECUTE FUNCTION request_day_log();

-- Folds up to batch pending changes (the oldest first) and says how many
-- it took: fewer than batch when none are left. The changes are deleted in
-- the same transaction as the rows are moved, so a fold that fails or is
-- rolled back leaves them pending.
-- +goose StatementBegin
CREATE FUNCTION request_day_fold(batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
    taken integer;
    c record;
    o request_day_piece;
    n request_day_piece;
BEGIN
    -- Nothing pending (a change being folded still counts until its
    -- folder commits): no lock to wait for.
    IF NOT EXISTS (SELECT 1 FROM request_day_changes) THEN
        RETURN 0;
    END IF;
    -- The folders' own lock: writers never take it, so it orders folders
    -- only. A second folder waits for the first and then finds the
    -- changes it took gone.
    PERFORM pg_advisory_xact_lock(727002);
    WITH t AS (
        DELETE FROM request_day_changes
        WHERE id IN (SELECT id FROM request_day_changes ORDER BY id LIMIT batch)
        RETURNING request_id
    )
    SELECT array_agg(DISTINCT request_id), count(*) INTO ids, taken FROM t;
    IF taken = 0 THEN
        RETURN 0;
    END IF;
    FOR c IN
        SELECT x.id, f.piece AS o, (SELECT request_day_piece(r) FROM service_requests r WHERE r.id = x.id) AS n
        FROM unnest(ids) x(id) LEFT JOIN request_day_folded f ON f.request_id = x.id
    LOOP
        o := c.o;
        n := c.n;
        IF o IS NOT DISTINCT FROM n THEN
            CONTINUE;
        END IF;
        IF n.property_id IS NULL THEN
            DELETE FROM request_day_folded WHERE request_id = c.id;
        ELSE
            INSERT INTO request_day_folded (request_id, piece) VALUES (c.id, n)
            ON CONFLICT (request_id) DO UPDATE SET piece = EXCLUDED.piece;
        END IF;
        PERFORM request_day_stats_shift(o, n);
        PERFORM request_day_staff_stats_shift(o, n);
    END LOOP;
    RETURN taken;
END;
$$;
-- +goose StatementEnd

-- Rebuilds the rows of one property (every property when null) from its
-- requests: the first fill, and after a change of time zone, which moves
-- requests between local days. Under the folders' lock, it sets what the
-- rollup counts for each request of the property to the request as it
-- stands, and the day rows to the sum of that. A request whose counted
-- piece is still at another property (a move not yet folded) keeps it,
-- and its pending change moves it when folded; changes pending for the
-- property's requests fold to nothing.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_day_stats_rebuild(prop uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(727002);
    DELETE FROM request_day_folded WHERE prop IS NULL OR (piece).property_id = prop;
    INSERT INTO request_day_folded (request_id, piece)
    SELECT r.id, request_day_piece(r) FROM service_requests r WHERE prop IS NULL OR r.property_id = prop
    ON CONFLICT (request_id) DO NOTHING;
    DELETE FROM request_day_stats WHERE prop IS NULL OR property_id = prop;
    DELETE FROM request_day_staff_stats WHERE prop IS NULL OR property_id = prop;
    INSERT INTO request_day_stats (property_id, day, total, by_status, by_category, accept_minutes, complete_minutes,
        open_promises, verdicts, kept, breaches, escalations, completed, reopened, confirmed, called_back,
        satisfaction_sum, satisfaction_n)
    WITH x AS (
        SELECT (f.piece).* FROM request_day_folded f
        WHERE prop IS NULL OR (f.piece).property_id = prop
    ), s AS (
        SELECT property_id, day, jsonb_object_agg(status, n) AS j
        FROM (SELECT property_id, day, status, count(*) AS n FROM x GROUP BY 1, 2, 3) t GROUP BY 1, 2
    ), c AS (
        SELECT property_id, day, jsonb_object_agg(category, n) AS j
        FROM (SELECT property_id, day, category, count(*) AS n FROM x GROUP BY 1, 2, 3) t GROUP BY 1, 2
    ), a AS (
        SELECT x.property_id, x.day, count(*) AS total,
            coalesce(array_agg(x.accept ORDER BY x.accept) FILTER (WHERE x.accept IS NOT NULL), '{}') AS accept_minutes,
            coalesce(array_agg(x.complete ORDER BY x.complete) FILTER (WHERE x.complete IS NOT NULL), '{}') AS complete_minutes,
            coalesce(array_agg(x.open_promise ORDER BY x.open_promise) FILTER (WHERE x.open_promise IS NOT NULL), '{}') AS open_promises,
            sum(x.verdict) AS verdicts, sum(x.kept) AS kept, sum(x.breaches) AS breaches, sum(x.escalations) AS escalations,
            sum(x.completed) AS completed, sum(x.reopened) AS reopened, sum(x.confirmed) AS confirmed,
            sum(x.called_back) AS called_back, sum(x.satisfaction_sum) AS satisfaction_sum, sum(x.satisfaction_n) AS satisfaction_n
        FROM x GROUP BY x.property_id, x.day
    )
    SELECT a.property_id, a.day, a.total, s.j, c.j, a.accept_minutes, a.complete_minutes, a.open_promises, a.verdicts, a.kept,
        a.breaches, a.escalations, a.completed, a.reopened, a.confirmed, a.called_back, a.satisfaction_sum, a.satisfaction_n
    FROM a JOIN s USING (property_id, day) JOIN c USING (property_id, day);
    INSERT INTO request_day_staff_stats (property_id, day, assignee_id, total, jobs_done, open_promises, verdicts, kept,
        ratings, rating_sum, timeliness_n, timeliness_sum, attitude_n, attitude_sum)
    SELECT x.property_id, x.day, x.assignee_id, count(*), sum(x.completed),
        coalesce(array_agg(x.open_promise ORDER BY x.open_promise) FILTER (WHERE x.open_promise IS NOT NULL), '{}'),
        sum(x.verdict), sum(x.kept), count(x.rating), coalesce(sum(x.rating), 0), count(x.timeliness),
        coalesce(sum(x.timeliness), 0), count(x.attitude), coalesce(sum(x.attitude), 0)
    FROM request_day_folded f CROSS JOIN LATERAL (SELECT (f.piece).*) x
    WHERE (prop IS NULL OR x.property_id = prop) AND x.assignee_id IS NOT NULL
    GROUP BY x.property_id, x.day, x.assignee_id;
$$;
-- +goose StatementEnd

-- A new time zone moves every request of the property to another local
-- day: the property is rebuilt at once, from its requests as this
-- transaction sees them; its later changes in the transaction are logged
-- and folded as any other.
CREATE TRIGGER properties_day_stats_rezone AFTER UPDATE OF time_zone ON properties
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION request_day_stats_rezone();

SELECT request_day_stats_rebuild(NULL);

-- +goose Down
DROP TRIGGER properties_day_stats_rezone ON properties;
DROP TRIGGER service_requests_day_changes ON service_requests;
DROP FUNCTION request_day_fold(integer);
DROP FUNCTION request_day_log();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION request_day_stats_rebuild(prop uuid) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM request_day_stats WHERE prop IS NULL OR property_id = prop;
    DELETE FROM request_day_staff_stats WHERE prop IS NULL OR property_id = prop;
    INSERT INTO request_day_stats (property_id, day, total, by_status, by_category, accept_minutes, complete_minutes,
        open_promises, verdicts, kept, breaches, escalations, completed, reopened, confirmed, called_back,
        satisfaction_sum, satisfaction_n)
    WITH x AS (
        SELECT p.* FROM service_requests r CROSS JOIN LATERAL request_day_piece(r) p
        WHERE prop IS NULL OR r.property_id = prop
    ), s AS (
        SELECT property_id, day, jsonb_object_agg(status, n) AS j
        FROM (SELECT property_id, day, status, count(*) AS n FROM x GROUP BY 1, 2, 3) t GROUP BY 1, 2
    ), c AS (
        SELECT property_id, day, jsonb_object_agg(category, n) AS j
        FROM (SELECT property_id, day, category, count(*) AS n FROM x GROUP BY 1, 2, 3) t GROUP BY 1, 2
    ), a AS (
        SELECT x.property_id, x.day, count(*) AS total,
            coalesce(array_agg(x.accept ORDER BY x.accept) FILTER (WHERE x.accept IS NOT NULL), '{}') AS accept_minutes,
            coalesce(array_agg(x.complete ORDER BY x.complete) FILTER (WHERE x.complete IS NOT NULL), '{}') AS complete_minutes,
            coalesce(array_agg(x.open_promise ORDER BY x.open_promise) FILTER (WHERE x.open_promise IS NOT NULL), '{}') AS open_promises,
            sum(x.verdict) AS verdicts, sum(x.kept) AS kept, sum(x.breaches) AS breaches, sum(x.escalations) AS escalations,
            sum(x.completed) AS completed, sum(x.reopened) AS reopened, sum(x.confirmed) AS confirmed,
            sum(x.called_back) AS called_back, sum(x.satisfaction_sum) AS satisfaction_sum, sum(x.satisfaction_n) AS satisfaction_n
        FROM x GROUP BY x.property_id, x.day
    )
    SELECT a.property_id, a.day, a.total, s.j, c.j, a.accept_minutes, a.complete_minutes, a.open_promises, a.verdicts, a.kept,
        a.breaches, a.escalations, a.completed, a.reopened, a.confirmed, a.called_back, a.satisfaction_sum, a.satisfaction_n
    FROM a JOIN s USING (property_id, day) JOIN c USING (property_id, day);
    INSERT INTO request_day_staff_stats (property_id, day, assignee_id, total, jobs_done, open_promises, verdicts, kept,
        ratings, rating_sum, timeliness_n, timeliness_sum, attitude_n, attitude_sum)
    SELECT x.property_id, x.day, x.assignee_id, count(*), sum(x.completed),
        coalesce(array_agg(x.open_promise ORDER BY x.open_promise) FILTER (WHERE x.open_promise IS NOT NULL), '{}'),
        sum(x.verdict), sum(x.kept), count(x.rating), coalesce(sum(x.rating), 0), count(x.timeliness),
        coalesce(sum(x.timeliness), 0), count(x.attitude), coalesce(sum(x.attitude), 0)
    FROM service_requests r CROSS JOIN LATERAL request_day_piece(r) x
    WHERE (prop IS NULL OR r.property_id = prop) AND x.assignee_id IS NOT NULL
    GROUP BY x.property_id, x.day, x.assignee_id;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION request_day_stats_track() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o request_day_piece;
    n request_day_piece;
    rebuilt text := coalesce(current_setting('onestop.day_stats_rebuild', true), '');
BEGIN
    IF TG_OP <> 'INSERT' AND strpos(rebuilt, OLD.property_id::text) = 0 THEN
        o := request_day_piece(OLD);
    END IF;
    IF TG_OP <> 'DELETE' AND strpos(rebuilt, NEW.property_id::text) = 0 THEN
        n := request_day_piece(NEW);
    END IF;
    IF o IS NOT DISTINCT FROM n THEN
        RETURN NULL;
    END IF;
    PERFORM request_day_stats_shift(o, n);
    PERFORM request_day_staff_stats_shift(o, n);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER service_requests_day_stats AFTER INSERT OR UPDATE OR DELETE ON service_requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION request_day_stats_track();
-- +goose StatementBegin
CREATE FUNCTION request_day_stats_mark() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('onestop.day_stats_rebuild',
        coalesce(current_setting('onestop.day_stats_rebuild', true), '') || ' ' || NEW.id::text, true);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER properties_day_stats_mark AFTER UPDATE OF time_zone ON properties
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone) EXECUTE FUNCTION request_day_stats_mark();
CREATE CONSTRAINT TRIGGER properties_day_stats_rezone AFTER UPDATE OF time_zone ON properties
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION request_day_stats_rezone();
SELECT request_day_stats_rebuild(NULL);
DROP TABLE request_day_folded;
DROP TABLE request_day_changes;
