-- +goose Up
-- A property's time zone decides its local dates (request numbers, daily
-- figures) and business hours. A name the zone database does not know would
-- make every local computation wrong, so it is refused when written. The
-- server checks again, with its own zone database, when it reads one.
-- +goose StatementBegin
CREATE FUNCTION is_time_zone(name text) RETURNS boolean
LANGUAGE sql STABLE STRICT AS $$
    SELECT EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = is_time_zone.name)
$$;
-- +goose StatementEnd
ALTER TABLE properties ADD CONSTRAINT properties_time_zone_known CHECK (is_time_zone(time_zone));

-- +goose Down
ALTER TABLE properties DROP CONSTRAINT properties_time_zone_known;
DROP FUNCTION is_time_zone(text);
