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

-- One request's move in a fold: what the rollup counts for it (o) and
-- what it now is (n); either is null for a request made or removed.
CREATE TYPE request_day_move AS (id uuid, o request_day_piece, n request_day_piece);

-- A {key: n} count plus a {key: delta} of the same shape, without zeros.
-- +goose StatementBegin
CREATE FUNCTION request_day_counts(j jsonb, delta jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(key, n), '{}') FROM (
        SELECT key, sum(n) AS n FROM (
            SELECT key, value::int AS n FROM jsonb_each_text(j)
            UNION ALL
            SELECT key, value::int FROM jsonb_each_text(coalesce(delta, '{}'))
        ) t GROUP BY key HAVING sum(n) <> 0
    ) u
$$;
-- +goose StatementEnd

-- A multiset held as a sorted array, with the values of minus taken out
-- (one occurrence each) and those of plus put in, sorted again: a whole
-- batch's moves on a day at once. A value in both cancels out; a day no
-- value of the batch touches is returned as it is.
-- +goose StatementBegin
CREATE FUNCTION request_day_merge(a anyarray, minus anyarray, plus anyarray) RETURNS anyarray
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out a%TYPE;
BEGIN
    IF coalesce(cardinality(minus), 0) = 0 AND coalesce(cardinality(plus), 0) = 0 THEN
        RETURN a;
    END IF;
    WITH net AS (
        SELECT v, sum(k) AS k FROM (
            SELECT v, -1 AS k FROM unnest(minus) v
            UNION ALL
            SELECT v, 1 FROM unnest(plus) v
        ) t WHERE v IS NOT NULL GROUP BY v
    )
    SELECT array_agg(x.v ORDER BY x.v) INTO out FROM (
        SELECT e.v FROM (SELECT v, row_number() OVER (PARTITION BY v) AS rn FROM unnest(a) v) e
        LEFT JOIN net ON net.v = e.v
        WHERE e.rn > greatest(-coalesce(net.k, 0), 0)
        UNION ALL
        SELECT net.v FROM net CROSS JOIN LATERAL generate_series(1, net.k::int) WHERE net.k > 0
    ) x;
    RETURN coalesce(out, a[1:0]);
END;
$$;
-- +goose StatementEnd

-- Folds up to batch pending changes (the oldest first) and says how many
-- it took: fewer than batch when none are left. The changes are deleted in
-- the same transaction as the rows are moved, so a fold that fails or is
-- rolled back leaves them pending. A batch moves each day's row (and each
-- worker's) once, by the sum of its requests' moves, rather than once a
-- request.
-- +goose StatementBegin
CREATE FUNCTION request_day_fold(batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
    taken integer;
    m request_day_move[];
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
    SELECT array_agg(ROW(x.id, f.piece, (SELECT request_day_piece(r) FROM service_requests r WHERE r.id = x.id))::request_day_move)
    INTO m
    FROM unnest(ids) x(id) LEFT JOIN request_day_folded f ON f.request_id = x.id;
    SELECT array_agg(v) INTO m FROM unnest(m) v WHERE (v).o IS DISTINCT FROM (v).n;
    IF m IS NULL THEN
        RETURN taken;
    END IF;

    DELETE FROM request_day_folded f USING unnest(m) x WHERE f.request_id = x.id AND (x.n).property_id IS NULL;
    INSERT INTO request_day_folded (request_id, piece)
    SELECT x.id, x.n FROM unnest(m) x WHERE (x.n).property_id IS NOT NULL
    ON CONFLICT (request_id) DO UPDATE SET piece = EXCLUDED.piece;

    INSERT INTO request_day_stats (property_id, day)
    SELECT DISTINCT (x.n).property_id, (x.n).day FROM unnest(m) x WHERE (x.n).property_id IS NOT NULL
    ON CONFLICT DO NOTHING;
    WITH d AS (
        SELECT -1 AS sign, (x.o).* FROM unnest(m) x WHERE (x.o).property_id IS NOT NULL
        UNION ALL
        SELECT 1, (x.n).* FROM unnest(m) x WHERE (x.n).property_id IS NOT NULL
    ), g AS (
        SELECT property_id, day, sum(sign) AS total,
            (SELECT jsonb_object_agg(status, k) FROM (SELECT d2.status, sum(d2.sign) AS k FROM d d2
                WHERE d2.property_id = d.property_id AND d2.day = d.day AND d2.status IS NOT NULL GROUP BY d2.status) t) AS by_status,
            (SELECT jsonb_object_agg(category, k) FROM (SELECT d2.category, sum(d2.sign) AS k FROM d d2
                WHERE d2.property_id = d.property_id AND d2.day = d.day AND d2.category IS NOT NULL GROUP BY d2.category) t) AS by_category,
            array_agg(accept) FILTER (WHERE sign < 0 AND accept IS NOT NULL) AS accept_minus,
            array_agg(accept) FILTER (WHERE sign > 0 AND accept IS NOT NULL) AS accept_plus,
            array_agg(complete) FILTER (WHERE sign < 0 AND complete IS NOT NULL) AS complete_minus,
            array_agg(complete) FILTER (WHERE sign > 0 AND complete IS NOT NULL) AS complete_plus,
            array_agg(open_promise) FILTER (WHERE sign < 0 AND open_promise IS NOT NULL) AS promise_minus,
            array_agg(open_promise) FILTER (WHERE sign > 0 AND open_promise IS NOT NULL) AS promise_plus,
            sum(sign * coalesce(verdict, 0)) AS verdicts, sum(sign * coalesce(kept, 0)) AS kept,
            sum(sign * coalesce(breaches, 0)) AS breaches, sum(sign * coalesce(escalations, 0)) AS escalations,
            sum(sign * coalesce(completed, 0)) AS completed, sum(sign * coalesce(reopened, 0)) AS reopened,
            sum(sign * coalesce(confirmed, 0)) AS confirmed, sum(sign * coalesce(called_back, 0)) AS called_back,
            sum(sign * coalesce(satisfaction_sum, 0)) AS satisfaction_sum, sum(sign * coalesce(satisfaction_n, 0)) AS satisfaction_n
        FROM d GROUP BY property_id, day
    )
    UPDATE request_day_stats s SET
        total = s.total + g.total,
        by_status = request_day_counts(s.by_status, g.by_status),
        by_category = request_day_counts(s.by_category, g.by_category),
        accept_minutes = request_day_merge(s.accept_minutes, g.accept_minus, g.accept_plus),
        complete_minutes = request_day_merge(s.complete_minutes, g.complete_minus, g.complete_plus),
        open_promises = request_day_merge(s.open_promises, g.promise_minus, g.promise_plus),
        verdicts = s.verdicts + g.verdicts,
        kept = s.kept + g.kept,
        breaches = s.breaches + g.breaches,
        escalations = s.escalations + g.escalations,
        completed = s.completed + g.completed,
        reopened = s.reopened + g.reopened,
        confirmed = s.confirmed + g.confirmed,
        called_back = s.called_back + g.called_back,
        satisfaction_sum = s.satisfaction_sum + g.satisfaction_sum,
        satisfaction_n = s.satisfaction_n + g.satisfaction_n
    FROM g WHERE s.property_id = g.property_id AND s.day = g.day;

    -- The same per worker; a request without an assignee counts for
    -- nobody.
    INSERT INTO request_day_staff_stats (property_id, day, assignee_id)
    SELECT DISTINCT (x.n).property_id, (x.n).day, (x.n).assignee_id FROM unnest(m) x
    WHERE (x.n).property_id IS NOT NULL AND (x.n).assignee_id IS NOT NULL
    ON CONFLICT DO NOTHING;
    WITH d AS (
        SELECT -1 AS sign, (x.o).* FROM unnest(m) x WHERE (x.o).property_id IS NOT NULL AND (x.o).assignee_id IS NOT NULL
        UNION ALL
        SELECT 1, (x.n).* FROM unnest(m) x WHERE (x.n).property_id IS NOT NULL AND (x.n).assignee_id IS NOT NULL
    ), g AS (
        SELECT property_id, day, assignee_id, sum(sign) AS total, sum(sign * coalesce(completed, 0)) AS jobs_done,
            array_agg(open_promise) FILTER (WHERE sign < 0 AND open_promise IS NOT NULL) AS promise_minus,
            array_agg(open_promise) FILTER (WHERE sign > 0 AND open_promise IS NOT NULL) AS promise_plus,
            sum(sign * coalesce(verdict, 0)) AS verdicts, sum(sign * coalesce(kept, 0)) AS kept,
            sum(sign * (rating IS NOT NULL)::int) AS ratings, sum(sign * coalesce(rating, 0)) AS rating_sum,
            sum(sign * (timeliness IS NOT NULL)::int) AS timeliness_n, sum(sign * coalesce(timeliness, 0)) AS timeliness_sum,
            sum(sign * (attitude IS NOT NULL)::int) AS attitude_n, sum(sign * coalesce(attitude, 0)) AS attitude_sum
        FROM d GROUP BY property_id, day, assignee_id
    )
    UPDATE request_day_staff_stats s SET
        total = s.total + g.total,
        jobs_done = s.jobs_done + g.jobs_done,
        open_promises = request_day_merge(s.open_promises, g.promise_minus, g.promise_plus),
        verdicts = s.verdicts + g.verdicts,
        kept = s.kept + g.kept,
        ratings = s.ratings + g.ratings,
        rating_sum = s.rating_sum + g.rating_sum,
        timeliness_n = s.timeliness_n + g.timeliness_n,
        timeliness_sum = s.timeliness_sum + g.timeliness_sum,
        attitude_n = s.attitude_n + g.attitude_n,
        attitude_sum = s.attitude_sum + g.attitude_sum
    FROM g WHERE s.property_id = g.property_id AND s.day = g.day AND s.assignee_id = g.assignee_id;
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
DROP FUNCTION request_day_merge(anyarray, anyarray, anyarray);
DROP FUNCTION request_day_counts(jsonb, jsonb);
DROP TYPE request_day_move;
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
