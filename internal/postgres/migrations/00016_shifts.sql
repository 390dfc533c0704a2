-- +goose Up
-- A property's shifts are data its managers edit, no longer fixed in code:
-- each property starts with the three guard shifts the company has always
-- worked (EARLY 07-15, MIDDLE 15-23, NIGHT 23-07), and each worker may be
-- put on one of its shifts.

CREATE TABLE shift_definitions (
    -- A property's shifts go with it.
    property_id uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    code        text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9_]{0,19}$'),
    starts      time NOT NULL,
    -- Before starts for a shift that runs past midnight.
    ends        time NOT NULL CHECK (ends <> starts),
    PRIMARY KEY (property_id, code)
);

INSERT INTO shift_definitions (property_id, code, starts, ends)
SELECT p.id, s.code, s.starts, s.ends FROM properties p,
    (VALUES ('EARLY', time '07:00', time '15:00'), ('MIDDLE', time '15:00', time '23:00'), ('NIGHT', time '23:00', time '07:00')) AS s (code, starts, ends);

-- Every new property gets the same three, however it is made (the console,
-- the demo data, a test fixture), so no code path has to remember them.
-- +goose StatementBegin
CREATE FUNCTION default_shifts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO shift_definitions (property_id, code, starts, ends)
    VALUES (NEW.id, 'EARLY', '07:00', '15:00'), (NEW.id, 'MIDDLE', '15:00', '23:00'), (NEW.id, 'NIGHT', '23:00', '07:00');
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER properties_default_shifts AFTER INSERT ON properties FOR EACH ROW EXECUTE FUNCTION default_shifts();

-- The shift a worker works at the property; NULL: none. A shift in use
-- cannot be removed.
ALTER TABLE staff_roles
    ADD COLUMN shift_code text,
    ADD FOREIGN KEY (property_id, shift_code) REFERENCES shift_definitions (property_id, code);

-- The history of a household's butlers is read by unit, newest first.
CREATE INDEX butler_assignments_unit_idx ON butler_assignments (unit_id, from_at DESC);

-- +goose Down
DROP INDEX butler_assignments_unit_idx;
ALTER TABLE staff_roles DROP COLUMN shift_code;
DROP TRIGGER properties_default_shifts ON properties;
DROP FUNCTION default_shifts();
DROP TABLE shift_definitions;
