-- +goose Up
-- The figures of a window, per property and local day, so that a year of
-- serviceStats reads 365 rows instead of every request of the year. Each
-- row is the sum of what its requests contribute (request_day_piece): counts
-- and sums add up, and what does not add up (medians and percentiles, and
-- promises whose due date is only judged against the question's asOf) is
-- kept as the day's values themselves, so the window's exact figure is
-- computed from them.
--
-- The rows are kept by triggers on service_requests, in the same
-- transaction as the tally and status they summarize, so they can never
-- disagree with the requests (and so with the event log the tally counts).
-- The triggers are deferred to commit: by then the transaction holds the
-- outbox lock, which already orders writers, so a busy day's row adds no
-- waiting of its own.
CREATE TABLE request_day_stats (
    property_id      uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    day              date NOT NULL,
    total            integer NOT NULL DEFAULT 0,
    -- {status: n} and {category id: n}, without zeros.
    by_status        jsonb NOT NULL DEFAULT '{}',
    by_category      jsonb NOT NULL DEFAULT '{}',
    -- Minutes to the first acceptance and the first completion, one value
    -- per request that has one, in ascending order.
    accept_minutes   float8[] NOT NULL DEFAULT '{}',
    complete_minutes float8[] NOT NULL DEFAULT '{}',
    -- The running promise of each request never completed and without a
    -- verdict (ascending): due (and broken) once it is before the
    -- question's asOf.
    open_promises    timestamptz[] NOT NULL DEFAULT '{}',
    verdicts         integer NOT NULL DEFAULT 0,
    kept             integer NOT NULL DEFAULT 0,
    breaches         integer NOT NULL DEFAULT 0,
    escalations      integer NOT NULL DEFAULT 0,
    completed        integer NOT NULL DEFAULT 0,
    reopened         integer NOT NULL DEFAULT 0,
    confirmed        integer NOT NULL DEFAULT 0,
    called_back      integer NOT NULL DEFAULT 0,
    satisfaction_sum integer NOT NULL DEFAULT 0,
    satisfaction_n   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (property_id, day)
);

-- The same per worker (the request's current assignee), for staffStats.
CREATE TABLE request_day_staff_stats (
    property_id    uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    day            date NOT NULL,
    assignee_id    uuid NOT NULL,
    total          integer NOT NULL DEFAULT 0,
    jobs_done      integer NOT NULL DEFAULT 0,
    open_promises  timestamptz[] NOT NULL DEFAULT '{}',
    verdicts       integer NOT NULL DEFAULT 0,
    kept           integer NOT NULL DEFAULT 0,
    ratings        integer NOT NULL DEFAULT 0,
    rating_sum     integer NOT NULL DEFAULT 0,
    timeliness_n   integer NOT NULL DEFAULT 0,
    timeliness_sum integer NOT NULL DEFAULT 0,
    attitude_n     integer NOT NULL DEFAULT 0,
    attitude_sum   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (property_id, day, assignee_id)
);
-- A worker's running score reads every day of theirs.
CREATE INDEX request_day_staff_stats_assignee_idx ON request_day_staff_stats (assignee_id) INCLUDE (ratings, rating_sum);

-- Concatenates the days' values of a window (figuresSQL).
CREATE AGGREGATE request_day_cat(float8[]) (SFUNC = array_cat, STYPE = float8[], INITCOND = '{}');

-- Callbacks overdue at asOf are the tasks still open and those closed after
-- asOf: over a window that ends now, a few rows of these, instead of every
-- task that fell due in the window.
CREATE INDEX callback_tasks_open_due_idx ON callback_tasks (property_id, due_at) INCLUDE (created_at) WHERE closed_at IS NULL;
CREATE INDEX callback_tasks_closed_idx ON callback_tasks (property_id, closed_at) INCLUDE (due_at, created_at) WHERE closed_at IS NOT NULL;

-- What one request adds to its day: the figures of docs/kpis.md for a
-- cohort of one. The day is the local date of its creation in its
-- property's time zone.
CREATE TYPE request_day_piece AS (
    property_id     uuid,
    day             date,
    status          text,
    category        text,
    assignee_id     uuid,
    accept          float8,
    complete        float8,
    open_promise    timestamptz,
    verdict         integer,
    kept            integer,
    breaches        integer,
    escalations     integer,
    completed       integer,
    reopened        integer,
    confirmed       integer,
    called_back     integer,
    satisfaction_sum integer,
    satisfaction_n  integer,
    rating          integer,
    timeliness      integer,
    attitude        integer
);

-- +goose StatementBegin
CREATE FUNCTION request_day_piece(r service_requests) RETURNS request_day_piece
LANGUAGE sql STABLE AS $$
    SELECT ROW(r.property_id, (r.created_at AT TIME ZONE p.time_zone)::date, r.status, r.category_id::text, r.assignee_id,
        -- The same expressions the figures were first defined with, so the
        -- percentiles are of the very same values.
        (extract(epoch FROM r.accepted_at - r.created_at) / 60)::float8,
        (extract(epoch FROM r.first_completed_at - r.created_at) / 60)::float8,
        CASE WHEN r.promise_kept IS NULL AND r.first_completed_at IS NULL THEN COALESCE(r.due_at, r.promised_at) END,
        (r.promise_kept IS NOT NULL)::int, (r.promise_kept IS TRUE)::int, r.breach_count, r.escalation_count,
        (r.first_completed_at IS NOT NULL)::int, (r.reopen_count > 0)::int, (r.confirmed_at IS NOT NULL)::int,
        (r.confirmed_at IS NOT NULL AND r.callback_reached)::int, r.callback_satisfaction_sum, r.callback_satisfaction_n,
        r.rating, r.rating_timeliness, r.rating_attitude)::request_day_piece
    FROM properties p WHERE p.id = r.property_id
$$;
-- +goose StatementEnd

-- A {key: n} count with one taken from minus and one added to plus.
-- +goose StatementBegin
CREATE FUNCTION request_day_count(j jsonb, minus text, plus text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n integer;
BEGIN
    IF minus IS NOT DISTINCT FROM plus THEN
        RETURN j;
    END IF;
    IF minus IS NOT NULL THEN
        n := coalesce((j ->> minus)::int, 0) - 1;
        j := CASE WHEN n = 0 THEN j - minus ELSE jsonb_set(j, ARRAY[minus], to_jsonb(n)) END;
    END IF;
    IF plus IS NOT NULL THEN
        j := jsonb_set(j, ARRAY[plus], to_jsonb(coalesce((j ->> plus)::int, 0) + 1));
    END IF;
    RETURN j;
END;
$$;
-- +goose StatementEnd

-- A multiset held as a sorted array: one occurrence of minus taken out,
-- plus put in its place in the order (nulls stand for nothing). Sorted, a
-- day's values are ready for its percentiles, and a window's need only be
-- merged.
-- +goose StatementBegin
CREATE FUNCTION request_day_swap(a anyarray, minus anyelement, plus anyelement) RETURNS anyarray
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    i integer;
    lo integer;
    hi integer;
BEGIN
    IF minus IS NOT DISTINCT FROM plus THEN
        RETURN a;
    END IF;
    IF minus IS NOT NULL THEN
        i := array_position(a, minus);
        IF i IS NOT NULL THEN
            a := a[:i - 1] || a[i + 1:];
        END IF;
    END IF;
    IF plus IS NOT NULL THEN
        -- Binary search for the first value not below plus.
        lo := 1;
        hi := coalesce(array_length(a, 1), 0) + 1;
        WHILE lo < hi LOOP
            i := (lo + hi) / 2;
            IF a[i] < plus THEN
                lo := i + 1;
            ELSE
                hi := i;
            END IF;
        END LOOP;
        a := a[:lo - 1] || plus || a[lo:];
    END IF;
    RETURN a;
END;
$$;
-- +goose StatementEnd

-- Moves a request's contribution from o (what it was) to n (what it is);
-- either may be empty (all null) for a request made or removed.
-- +goose StatementBegin
CREATE FUNCTION request_day_stats_shift(o request_day_piece, n request_day_piece) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    z request_day_piece; -- nothing
BEGIN
    IF o IS NOT DISTINCT FROM n THEN
        RETURN;
    END IF;
    IF o.property_id IS NOT NULL AND n.property_id IS NOT NULL AND (o.property_id, o.day) IS DISTINCT FROM (n.property_id, n.day) THEN
        -- Another day: leave the old one, then join the new one.
        PERFORM request_day_stats_shift(o, z);
        PERFORM request_day_stats_shift(z, n);
        RETURN;
    END IF;
    -- A request that joins a day may be its first; one that stays on its
    -- day was counted there already.
    IF n.property_id IS NOT NULL AND o.property_id IS NULL THEN
        INSERT INTO request_day_stats (property_id, day) VALUES (n.property_id, n.day) ON CONFLICT DO NOTHING;
    END IF;
    UPDATE request_day_stats s SET
        total = s.total + (n.property_id IS NOT NULL)::int - (o.property_id IS NOT NULL)::int,
        by_status = request_day_count(s.by_status, o.status, n.status),
        by_category = request_day_count(s.by_category, o.category, n.category),
        accept_minutes = request_day_swap(s.accept_minutes, o.accept, n.accept),
        complete_minutes = request_day_swap(s.complete_minutes, o.complete, n.complete),
        open_promises = request_day_swap(s.open_promises, o.open_promise, n.open_promise),
        verdicts = s.verdicts + coalesce(n.verdict, 0) - coalesce(o.verdict, 0),
        kept = s.kept + coalesce(n.kept, 0) - coalesce(o.kept, 0),
        breaches = s.breaches + coalesce(n.breaches, 0) - coalesce(o.breaches, 0),
        escalations = s.escalations + coalesce(n.escalations, 0) - coalesce(o.escalations, 0),
        completed = s.completed + coalesce(n.completed, 0) - coalesce(o.completed, 0),
        reopened = s.reopened + coalesce(n.reopened, 0) - coalesce(o.reopened, 0),
        confirmed = s.confirmed + coalesce(n.confirmed, 0) - coalesce(o.confirmed, 0),
        called_back = s.called_back + coalesce(n.called_back, 0) - coalesce(o.called_back, 0),
        satisfaction_sum = s.satisfaction_sum + coalesce(n.satisfaction_sum, 0) - coalesce(o.satisfaction_sum, 0),
        satisfaction_n = s.satisfaction_n + coalesce(n.satisfaction_n, 0) - coalesce(o.satisfaction_n, 0)
    WHERE s.property_id = coalesce(n.property_id, o.property_id) AND s.day = coalesce(n.day, o.day);
END;
$$;
-- +goose StatementEnd

-- The same for the worker's row; a request without an assignee counts for
-- nobody.
-- +goose StatementBegin
CREATE FUNCTION request_day_staff_stats_shift(o request_day_piece, n request_day_piece) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    z request_day_piece;
BEGIN
    IF o.assignee_id IS NULL THEN
        o := z;
    END IF;
    IF n.assignee_id IS NULL THEN
        n := z;
    END IF;
    IF (o.property_id, o.day, o.assignee_id, o.completed, o.open_promise, o.verdict, o.kept, o.rating, o.timeliness, o.attitude)
        IS NOT DISTINCT FROM (n.property_id, n.day, n.assignee_id, n.completed, n.open_promise, n.verdict, n.kept, n.rating, n.timeliness, n.attitude) THEN
        RETURN;
    END IF;
    IF o.property_id IS NOT NULL AND n.property_id IS NOT NULL
        AND (o.property_id, o.day, o.assignee_id) IS DISTINCT FROM (n.property_id, n.day, n.assignee_id) THEN
        PERFORM request_day_staff_stats_shift(o, z);
        PERFORM request_day_staff_stats_shift(z, n);
        RETURN;
    END IF;
    IF n.property_id IS NOT NULL AND o.property_id IS NULL THEN
        INSERT INTO request_day_staff_stats (property_id, day, assignee_id) VALUES (n.property_id, n.day, n.assignee_id) ON CONFLICT DO NOTHING;
    END IF;
    UPDATE request_day_staff_stats s SET
        total = s.total + (n.property_id IS NOT NULL)::int - (o.property_id IS NOT NULL)::int,
        jobs_done = s.jobs_done + coalesce(n.completed, 0) - coalesce(o.completed, 0),
        open_promises = request_day_swap(s.open_promises, o.open_promise, n.open_promise),
        verdicts = s.verdicts + coalesce(n.verdict, 0) - coalesce(o.verdict, 0),
        kept = s.kept + coalesce(n.kept, 0) - coalesce(o.kept, 0),
        ratings = s.ratings + (n.rating IS NOT NULL)::int - (o.rating IS NOT NULL)::int,
        rating_sum = s.rating_sum + coalesce(n.rating, 0) - coalesce(o.rating, 0),
        timeliness_n = s.timeliness_n + (n.timeliness IS NOT NULL)::int - (o.timeliness IS NOT NULL)::int,
        timeliness_sum = s.timeliness_sum + coalesce(n.timeliness, 0) - coalesce(o.timeliness, 0),
        attitude_n = s.attitude_n + (n.attitude IS NOT NULL)::int - (o.attitude IS NOT NULL)::int,
        attitude_sum = s.attitude_sum + coalesce(n.attitude, 0) - coalesce(o.attitude, 0)
    WHERE s.property_id = coalesce(n.property_id, o.property_id) AND s.day = coalesce(n.day, o.day)
      AND s.assignee_id = coalesce(n.assignee_id, o.assignee_id);
END;
$$;
-- +goose StatementEnd

-- Rebuilds the rows of one property (every property when null) from its
-- requests: the migration's first fill, and after a change of time zone,
-- which moves requests between local days.
-- +goose StatementBegin
CREATE FUNCTION request_day_stats_rebuild(prop uuid) RETURNS void
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

-- The trigger on service_requests: whatever changed, the request leaves
-- its old day's figures and joins its new day's. A property whose time
-- zone changed in this transaction is rebuilt whole at commit instead.
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

-- A new time zone moves every request of the property to another local
-- day. The property is marked at once, so that the deferred request
-- triggers of this transaction leave it alone, and rebuilt at commit from
-- the requests as they then stand.
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
-- +goose StatementBegin
CREATE FUNCTION request_day_stats_rezone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM request_day_stats_rebuild(NEW.id);
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

-- +goose Down
DROP TRIGGER properties_day_stats_rezone ON properties;
DROP TRIGGER properties_day_stats_mark ON properties;
DROP TRIGGER service_requests_day_stats ON service_requests;
DROP FUNCTION request_day_stats_rezone();
DROP FUNCTION request_day_stats_mark();
DROP FUNCTION request_day_stats_track();
DROP FUNCTION request_day_stats_rebuild(uuid);
DROP FUNCTION request_day_staff_stats_shift(request_day_piece, request_day_piece);
DROP FUNCTION request_day_stats_shift(request_day_piece, request_day_piece);
DROP FUNCTION request_day_swap(anyarray, anyelement, anyelement);
DROP FUNCTION request_day_count(jsonb, text, text);
DROP FUNCTION request_day_piece(service_requests);
DROP INDEX callback_tasks_closed_idx;
DROP INDEX callback_tasks_open_due_idx;
DROP AGGREGATE request_day_cat(float8[]);
DROP TYPE request_day_piece;
DROP TABLE request_day_staff_stats;
DROP TABLE request_day_stats;
