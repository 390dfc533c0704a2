package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/admin"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// AdminStore implements admin.Store.
type AdminStore struct{ db *DB }

// NewAdminStore returns the administration store.
func NewAdminStore(db *DB) *AdminStore { return &AdminStore{db: db} }

var _ admin.Store = (*AdminStore)(nil)

// Tx is the administrative side of a request transaction.
func (*AdminStore) Tx(tx request.Tx) admin.Tx { return tx.(requestTx) }

func (t requestTx) InsertProperty(ctx context.Context, p *property.Property) error {
	return get(ctx, t.q, &p.ID, `INSERT INTO properties (code, name, name_zh, kind, grade, service_mode, time_zone, address)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, p.Code, p.Name, p.NameZh, p.Kind, p.Grade, p.ServiceMode, p.TimeZone, p.Address)
}

func (t requestTx) LockProperty(ctx context.Context, id string) (*property.Property, error) {
	var p property.Property
	err := get(ctx, t.q, &p, `SELECT `+propertyCols+` FROM properties WHERE id = $1 FOR UPDATE`, id)
	return &p, err
}

func (t requestTx) UpdateProperty(ctx context.Context, p *property.Property) error {
	_, err := t.q.ExecContext(ctx, `UPDATE properties SET name = $2, name_zh = $3, grade = $4, service_mode = $5, time_zone = $6, address = $7 WHERE id = $1`,
		p.ID, p.Name, p.NameZh, p.Grade, p.ServiceMode, p.TimeZone, p.Address)
	return mapErr(err)
}

func (t requestTx) InsertBuilding(ctx context.Context, b *property.Building) error {
	return get(ctx, t.q, &b.ID, `INSERT INTO buildings (property_id, code, name, name_zh) VALUES ($1, $2, $3, $4) RETURNING id`,
		b.PropertyID, b.Code, b.Name, b.NameZh)
}

func (t requestTx) Building(ctx context.Context, id string) (*property.Building, error) {
	var b property.Building
	err := get(ctx, t.q, &b, `SELECT id, property_id, code, name, name_zh FROM buildings WHERE id = $1`, id)
	return &b, err
}

func (t requestTx) InsertUnit(ctx context.Context, u *property.Unit) error {
	return get(ctx, t.q, &u.ID, `INSERT INTO units (property_id, building_id, code) VALUES ($1, $2, $3) RETURNING id`, u.PropertyID, u.BuildingID, u.Code)
}

func (t requestTx) SetVIP(ctx context.Context, unitID string, vip bool) error {
	_, err := t.q.ExecContext(ctx, `UPDATE units SET vip = $2 WHERE id = $1`, unitID, vip)
	return mapErr(err)
}

func (t requestTx) InsertCode(ctx context.Context, c admin.Code) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO activation_codes (code_hash, unit_id, relation, name, name_zh, person_id, issued_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.Hash, c.UnitID, c.Relation, c.Name, c.NameZh, c.PersonID, c.IssuedBy, c.CreatedAt, c.ExpiresAt)
	return mapErr(err)
}

func (t requestTx) TakeCode(ctx context.Context, hash []byte, now time.Time) (*admin.Code, error) {
	var c admin.Code
	err := get(ctx, t.q, &c, `UPDATE activation_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL
RETURNING code_hash, unit_id, relation, name, name_zh, person_id, issued_by, created_at, expires_at, used_at`, hash, now)
	return &c, err
}

func (t requestTx) UsernameTaken(ctx context.Context, username string) (bool, error) {
	var taken bool
	err := get(ctx, t.q, &taken, `SELECT EXISTS (SELECT 1 FROM people WHERE lower(username) = lower($1))`, username)
	return taken, err
}

func (t requestTx) InsertPerson(ctx context.Context, p admin.NewPerson) (string, error) {
	var id string
	err := get(ctx, t.q, &id, `INSERT INTO people (username, name, name_zh, password_hash) VALUES ($1, $2, $3, $4) RETURNING id`,
		p.Username, p.Name, p.NameZh, p.Hash)
	return id, err
}

func (t requestTx) Person(ctx context.Context, id string) (*person.Person, error) {
	var p person.Person
	err := get(ctx, t.q, &p, `SELECT id, username, name, name_zh, is_admin FROM people WHERE id = $1`, id)
	return &p, err
}

func (t requestTx) AddResidency(ctx context.Context, personID, unitID string, rel person.Relation, at time.Time) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO residencies (person_id, unit_id, relation, moved_in_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (person_id, unit_id) DO UPDATE SET relation = EXCLUDED.relation, moved_in_at = EXCLUDED.moved_in_at, moved_out_at = NULL`,
		personID, unitID, rel, at)
	if err == nil {
		_, err = t.q.ExecContext(ctx, `UPDATE people SET disabled_at = NULL WHERE id = $1`, personID)
	}
	return mapErr(err)
}

func (t requestTx) SetPassword(ctx context.Context, personID, hash string) error {
	_, err := t.q.ExecContext(ctx, `UPDATE people SET password_hash = $2 WHERE id = $1`, personID, hash)
	return mapErr(err)
}

func (t requestTx) PasswordHash(ctx context.Context, personID string) (string, error) {
	var h string
	err := get(ctx, t.q, &h, `SELECT password_hash FROM people WHERE id = $1`, personID)
	return h, err
}

func (t requestTx) EndResidencies(ctx context.Context, unitID string, personID *string, at time.Time) ([]string, error) {
	var rows []struct {
		PersonID string `db:"person_id"`
		Ended    bool   `db:"ended"`
	}
	// The outer SELECT reads the residents as they were: those who stay
	// lose sight of the leavers' requests, as the leavers do of the
	// household's.
	err := sqlx.SelectContext(ctx, t.q, &rows, `WITH ended AS (
	UPDATE residencies SET moved_out_at = GREATEST($3::timestamptz, moved_in_at)
	WHERE unit_id = $1 AND moved_out_at IS NULL AND ($2::uuid IS NULL OR person_id = $2::uuid) RETURNING person_id)
SELECT r.person_id, EXISTS (SELECT 1 FROM ended e WHERE e.person_id = r.person_id) AS ended
FROM residencies r WHERE r.unit_id = $1 AND r.moved_out_at IS NULL`, unitID, personID, at)
	if err != nil {
		return nil, mapErr(err)
	}
	people, household := []string{}, make([]string, 0, len(rows))
	for _, r := range rows {
		household = append(household, r.PersonID)
		if r.Ended {
			people = append(people, r.PersonID)
		}
	}
	if len(people) > 0 {
		t.loseSight(household...)
	}
	return people, nil
}

func (t requestTx) DisableIdle(ctx context.Context, people []string, at time.Time) error {
	_, err := t.q.ExecContext(ctx, `UPDATE people p SET disabled_at = $2
WHERE p.id = ANY($1::uuid[]) AND p.disabled_at IS NULL AND NOT p.is_admin
  AND NOT EXISTS (SELECT 1 FROM residencies r WHERE r.person_id = p.id AND r.moved_out_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM staff_roles s WHERE s.person_id = p.id)`, pq.Array(people), at)
	if err == nil {
		t.loseSight(people...)
	}
	return mapErr(err)
}

func (t requestTx) RevokeSessions(ctx context.Context, people []string, at time.Time) ([]string, error) {
	families := []string{}
	err := sqlx.SelectContext(ctx, t.q, &families, `UPDATE refresh_tokens SET revoked_at = $2
WHERE person_id = ANY($1::uuid[]) AND revoked_at IS NULL RETURNING family_id`, pq.Array(people), at)
	return families, mapErr(err)
}

func (t requestTx) ImportUnits(ctx context.Context, propertyID string, rows []admin.ImportRow) (admin.ImportReport, []string, error) {
	var out admin.ImportReport
	// One import of a property at a time: the checks below read what the
	// inserts then rely on.
	if _, err := t.q.ExecContext(ctx, `SELECT 1 FROM properties WHERE id = $1 FOR UPDATE`, propertyID); err != nil {
		return out, nil, mapErr(err)
	}
	var existing []struct {
		Unit     string `db:"unit"`
		Building string `db:"building"`
	}
	if err := sqlx.SelectContext(ctx, t.q, &existing, `SELECT u.code AS unit, b.code AS building FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.property_id = $1`, propertyID); err != nil {
		return out, nil, mapErr(err)
	}
	where := make(map[string]string, len(existing))
	for _, e := range existing {
		where[e.Unit] = e.Building
	}
	var bad []string
	units, buildings, names, namesZh := make([]string, 0, len(rows)), make([]string, 0, len(rows)), make([]string, 0, len(rows)), make([]string, 0, len(rows))
	for _, r := range rows {
		if b, ok := where[r.Unit]; ok && b != r.Building {
			bad = append(bad, fmt.Sprintf("line %d: unit %s exists in building %s", r.Line, r.Unit, b))
			continue
		}
		units, buildings = append(units, r.Unit), append(buildings, r.Building)
		names, namesZh = append(names, r.BuildingName), append(namesZh, r.BuildingNameZh)
	}
	if len(bad) > 0 {
		return out, bad, nil
	}
	err := get(ctx, t.q, &out.BuildingsCreated, `WITH b AS (
	SELECT DISTINCT ON (building) building, NULLIF(name, '') AS name, name_zh
	FROM unnest($2::text[], $3::text[], $4::text[]) AS x(building, name, name_zh)
	ORDER BY building, (name = '')
), ins AS (
	INSERT INTO buildings (property_id, code, name, name_zh)
	SELECT $1, building, COALESCE(name, 'Block ' || building), name_zh FROM b
	ON CONFLICT (property_id, code) DO NOTHING RETURNING 1
) SELECT count(*) FROM ins`, propertyID, pq.Array(buildings), pq.Array(names), pq.Array(namesZh))
	if err != nil {
		return out, nil, err
	}
	err = get(ctx, t.q, &out.UnitsCreated, `WITH ins AS (
	INSERT INTO units (property_id, building_id, code)
	SELECT $1, b.id, x.unit FROM unnest($2::text[], $3::text[]) AS x(unit, building)
	JOIN buildings b ON b.property_id = $1 AND b.code = x.building
	ON CONFLICT (property_id, code) DO NOTHING RETURNING 1
) SELECT count(*) FROM ins`, propertyID, pq.Array(units), pq.Array(buildings))
	out.UnitsUnchanged = len(rows) - out.UnitsCreated
	return out, nil, err
}

func (t requestTx) ImportResidents(ctx context.Context, propertyID, prefix, unusableHash string, residents []admin.ImportResident) (int, int, error) {
	// Who each unit of the property has had, by name: the file's residents
	// found there are left alone, moved out or not, so that running a file
	// again never brings back someone who has left.
	var known []struct {
		Unit string `db:"unit"`
		Name string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, t.q, &known, `SELECT u.code AS unit, lower(p.name) AS name FROM residencies r
JOIN units u ON u.id = r.unit_id JOIN people p ON p.id = r.person_id WHERE u.property_id = $1`, propertyID); err != nil {
		return 0, 0, mapErr(err)
	}
	there := make(map[string]bool, len(known))
	for _, k := range known {
		there[k.Unit+"\x00"+k.Name] = true
	}
	var fresh []admin.ImportResident
	for _, r := range residents {
		if !there[r.Unit+"\x00"+strings.ToLower(r.Name)] {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return 0, len(residents), nil
	}
	// Usernames: prefix.unit.n, the first n free in the unit.
	var taken []string
	if err := sqlx.SelectContext(ctx, t.q, &taken, `SELECT lower(username) FROM people WHERE lower(username) LIKE $1`, likePrefix(prefix+".")); err != nil {
		return 0, 0, mapErr(err)
	}
	used := make(map[string]bool, len(taken))
	for _, u := range taken {
		used[u] = true
	}
	n := len(fresh)
	usernames, names, namesZh, phones := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	units, relations, movedIn := make([]string, n), make([]string, n), make([]string, n)
	for i, r := range fresh {
		for k := 1; ; k++ {
			u := strings.ToLower(fmt.Sprintf("%s.%s.%d", prefix, r.Unit, k))
			if !used[u] {
				used[u], usernames[i] = true, u
				break
			}
		}
		names[i], namesZh[i] = r.Name, r.NameZh
		if r.Phone != nil {
			phones[i] = *r.Phone
		}
		units[i], relations[i], movedIn[i] = r.Unit, string(r.Relation), r.MovedInAt.Format(time.RFC3339Nano)
	}
	_, err := t.q.ExecContext(ctx, `WITH ins AS (
	INSERT INTO people (username, name, name_zh, phone, password_hash)
	SELECT username, name, name_zh, NULLIF(phone, ''), $2 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS x(username, name, name_zh, phone)
	RETURNING id, username
)
INSERT INTO residencies (person_id, unit_id, relation, moved_in_at)
SELECT ins.id, u.id, x.relation, x.moved_in FROM unnest($3::text[], $7::text[], $8::text[], $9::timestamptz[]) AS x(username, unit, relation, moved_in)
JOIN ins ON ins.username = x.username
JOIN units u ON u.property_id = $1 AND u.code = x.unit`,
		propertyID, unusableHash, pq.Array(usernames), pq.Array(names), pq.Array(namesZh), pq.Array(phones),
		pq.Array(units), pq.Array(relations), pq.Array(movedIn))
	if err != nil {
		return 0, 0, mapErr(err)
	}
	return len(fresh), len(residents) - len(fresh), nil
}

// likePrefix is a LIKE pattern matching text that starts with prefix.
func likePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
}

func (t requestTx) StaffRoles(ctx context.Context, personID string) (map[string]person.Role, error) {
	var rows []struct {
		Property string      `db:"property_id"`
		Role     person.Role `db:"role"`
	}
	if err := sqlx.SelectContext(ctx, t.q, &rows, `SELECT property_id, role FROM staff_roles WHERE person_id = $1`, personID); err != nil {
		return nil, mapErr(err)
	}
	out := map[string]person.Role{}
	for _, r := range rows {
		out[r.Property] = r.Role
	}
	return out, nil
}

func (t requestTx) HomeProperties(ctx context.Context, personID string) ([]string, error) {
	ids := []string{}
	err := sqlx.SelectContext(ctx, t.q, &ids, `SELECT DISTINCT u.property_id FROM residencies r JOIN units u ON u.id = r.unit_id
WHERE r.person_id = $1 AND r.moved_out_at IS NULL`, personID)
	return ids, mapErr(err)
}

func (t requestTx) SetStaffRole(ctx context.Context, personID, propertyID string, role person.Role) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO staff_roles (person_id, property_id, role) VALUES ($1, $2, $3)
ON CONFLICT (person_id, property_id) DO UPDATE SET role = EXCLUDED.role`, personID, propertyID, role)
	if err == nil {
		_, err = t.q.ExecContext(ctx, `UPDATE people SET disabled_at = NULL WHERE id = $1`, personID)
	}
	if err == nil {
		// A new role at a property where they had another (an agent made
		// a technician) loses the old one's sight.
		t.loseSight(personID)
	}
	return mapErr(err)
}

func (t requestTx) RemoveStaffRole(ctx context.Context, personID, propertyID string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM staff_roles WHERE person_id = $1 AND property_id = $2`, personID, propertyID)
	if err == nil {
		t.loseSight(personID)
	}
	return mapErr(err)
}

func (t requestTx) OpenJobsOf(ctx context.Context, personID string) ([]*request.Request, error) {
	rows := []*request.Request{}
	err := sqlx.SelectContext(ctx, t.q, &rows, `SELECT `+requestCols+` FROM service_requests r
WHERE r.assignee_id = $1 AND r.status IN ('ASSIGNED', 'IN_PROGRESS') ORDER BY r.created_at FOR UPDATE`, personID)
	return rows, mapErr(err)
}

func (t requestTx) PortfolioOf(ctx context.Context, butlerID string) ([]string, error) {
	ids := []string{}
	err := sqlx.SelectContext(ctx, t.q, &ids, `SELECT unit_id FROM butler_assignments WHERE butler_id = $1 AND to_at IS NULL ORDER BY unit_id`, butlerID)
	return ids, mapErr(err)
}

func (t requestTx) Audit(ctx context.Context, e admin.Entry) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, property_id, action, entity, entity_id, before, after)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, e.At, e.ActorID, e.PropertyID, e.Action, e.Entity, e.EntityID, nullJSON(e.Before), nullJSON(e.After))
	return mapErr(err)
}

func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// AuditLog reads the log newest first.
func (s *AdminStore) AuditLog(ctx context.Context, propertyIDs []string, before int64, limit int) ([]admin.Entry, error) {
	out := []admin.Entry{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT id, at, actor_id, property_id, action, entity, entity_id, COALESCE(before::text, '') AS before, COALESCE(after::text, '') AS after FROM audit_log
WHERE ($1::uuid[] IS NULL OR property_id = ANY($1::uuid[])) AND ($2::bigint = 0 OR id < $2)
ORDER BY id DESC LIMIT $3`, nullArray(propertyIDs), before, limit)
	return out, mapErr(err)
}

// StaffBoard lists a property's staff (one of them, with personID) with
// their open jobs and shift.
func (s *AdminStore) StaffBoard(ctx context.Context, propertyID string, personID *string) ([]admin.BoardRow, error) {
	var rows []struct {
		admin.BoardRow
		Skills      pq.StringArray `db:"skills"`
		ShiftCode   *string        `db:"shift_code"`
		ShiftStarts *string        `db:"shift_starts"`
		ShiftEnds   *string        `db:"shift_ends"`
	}
	err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT s.person_id, s.property_id, s.role, s.availability, s.zone_building_id,
       p.id AS "person.id", p.username AS "person.username", p.name AS "person.name", p.name_zh AS "person.name_zh", p.is_admin AS "person.is_admin",
       COALESCE((SELECT array_agg(k.skill ORDER BY k.skill) FROM staff_skills k WHERE k.person_id = s.person_id), '{}') AS skills,
       (SELECT count(*) FROM service_requests r WHERE r.assignee_id = s.person_id AND r.status IN ('ASSIGNED', 'IN_PROGRESS')) AS open_jobs,
       pr.time_zone, s.shift_code, to_char(d.starts, 'HH24:MI') AS shift_starts, to_char(d.ends, 'HH24:MI') AS shift_ends
FROM staff_roles s JOIN people p ON p.id = s.person_id JOIN properties pr ON pr.id = s.property_id
LEFT JOIN shift_definitions d ON d.property_id = s.property_id AND d.code = s.shift_code
WHERE s.property_id = $1 AND ($2::uuid IS NULL OR s.person_id = $2::uuid) ORDER BY s.role, p.name, p.id LIMIT 500`, propertyID, personID)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]admin.BoardRow, len(rows))
	for i, r := range rows {
		out[i] = r.BoardRow
		out[i].Skills = []string(r.Skills)
		if r.ShiftCode != nil && r.ShiftStarts != nil && r.ShiftEnds != nil {
			out[i].Shift = &admin.Shift{Code: *r.ShiftCode, Starts: *r.ShiftStarts, Ends: *r.ShiftEnds}
		}
	}
	return out, nil
}

// PortfolioHistory lists a property's butler assignments, newest first,
// with the visits each butler logged to the household within them.
func (s *AdminStore) PortfolioHistory(ctx context.Context, propertyID string, f admin.HistoryFilter) ([]admin.PortfolioPeriod, error) {
	out := []admin.PortfolioPeriod{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT b.unit_id, b.butler_id, b.from_at, b.to_at, b.assigned_by,
       count(v.id) AS visits, max(v.at) AS last_visit_at
FROM butler_assignments b JOIN units u ON u.id = b.unit_id
LEFT JOIN butler_visits v ON v.unit_id = b.unit_id AND v.butler_id = b.butler_id AND v.at >= b.from_at AND (b.to_at IS NULL OR v.at < b.to_at)
WHERE u.property_id = $1 AND ($2::uuid IS NULL OR b.unit_id = $2::uuid) AND ($3::uuid IS NULL OR b.butler_id = $3::uuid)
GROUP BY b.id ORDER BY b.from_at DESC, b.id LIMIT $4`, propertyID, f.UnitID, f.ButlerID, f.Limit)
	return out, mapErr(err)
}

// Shifts lists a property's shifts by start.
func (s *AdminStore) Shifts(ctx context.Context, propertyID string) ([]admin.Shift, error) {
	return requestTx{q: s.db}.shifts(ctx, propertyID, "")
}

func (t requestTx) shifts(ctx context.Context, propertyID, lock string) ([]admin.Shift, error) {
	out := []admin.Shift{}
	err := sqlx.SelectContext(ctx, t.q, &out, `SELECT code, to_char(starts, 'HH24:MI') AS starts, to_char(ends, 'HH24:MI') AS ends
FROM shift_definitions WHERE property_id = $1 ORDER BY starts, code `+lock, propertyID)
	return out, mapErr(err)
}

// LockShifts locks the property (FOR NO KEY UPDATE, which new requests'
// foreign keys do not wait for) so that shift changes take turns, and
// reads its shifts.
func (t requestTx) LockShifts(ctx context.Context, propertyID string) ([]admin.Shift, error) {
	var id string
	if err := get(ctx, t.q, &id, `SELECT id FROM properties WHERE id = $1 FOR NO KEY UPDATE`, propertyID); err != nil {
		return nil, err
	}
	return t.shifts(ctx, propertyID, "")
}

func (t requestTx) ShiftsInUse(ctx context.Context, propertyID string) ([]string, error) {
	codes := []string{}
	err := sqlx.SelectContext(ctx, t.q, &codes, `SELECT DISTINCT shift_code FROM staff_roles WHERE property_id = $1 AND shift_code IS NOT NULL ORDER BY 1`, propertyID)
	return codes, mapErr(err)
}

func (t requestTx) ReplaceShifts(ctx context.Context, propertyID string, shifts []admin.Shift) error {
	codes, starts, ends := make([]string, len(shifts)), make([]string, len(shifts)), make([]string, len(shifts))
	for i, s := range shifts {
		codes[i], starts[i], ends[i] = s.Code, s.Starts, s.Ends
	}
	_, err := t.q.ExecContext(ctx, `DELETE FROM shift_definitions WHERE property_id = $1 AND NOT (code = ANY($2::text[]))`, propertyID, pq.Array(codes))
	if err != nil {
		return mapErr(err)
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO shift_definitions (property_id, code, starts, ends)
SELECT $1, code, starts::time, ends::time FROM unnest($2::text[], $3::text[], $4::text[]) AS x(code, starts, ends)
ON CONFLICT (property_id, code) DO UPDATE SET starts = EXCLUDED.starts, ends = EXCLUDED.ends`, propertyID, pq.Array(codes), pq.Array(starts), pq.Array(ends))
	return mapErr(err)
}

func (t requestTx) SetStaffShift(ctx context.Context, personID, propertyID string, code *string) (*string, bool, error) {
	var rows []struct {
		Before *string `db:"before"`
	}
	err := sqlx.SelectContext(ctx, t.q, &rows, `UPDATE staff_roles s SET shift_code = $3 FROM (
	SELECT person_id, property_id, shift_code FROM staff_roles WHERE person_id = $1 AND property_id = $2 FOR UPDATE) old
WHERE s.person_id = old.person_id AND s.property_id = old.property_id RETURNING old.shift_code AS before`, personID, propertyID, code)
	if err != nil || len(rows) == 0 {
		return nil, false, mapErr(err)
	}
	return rows[0].Before, true, nil
}

// Portfolios lists a property's butlers' households and the households
// with no butler.
func (s *AdminStore) Portfolios(ctx context.Context, propertyID string, since time.Time) (*admin.Portfolios, error) {
	var rows []struct {
		Butler string         `db:"butler"`
		Units  pq.StringArray `db:"units"`
		Visits int            `db:"visits"`
	}
	err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT s.person_id AS butler,
       COALESCE((SELECT (array_agg(b.unit_id::text ORDER BY u.code))[1:200] FROM butler_assignments b JOIN units u ON u.id = b.unit_id
                 WHERE b.butler_id = s.person_id AND b.to_at IS NULL AND u.property_id = $1), '{}') AS units,
       (SELECT count(*) FROM butler_visits v JOIN units u ON u.id = v.unit_id WHERE v.butler_id = s.person_id AND u.property_id = $1 AND v.at >= $2) AS visits
FROM staff_roles s WHERE s.property_id = $1 AND s.role = 'BUTLER' ORDER BY s.person_id LIMIT 100`, propertyID, since)
	if err != nil {
		return nil, mapErr(err)
	}
	out := &admin.Portfolios{Butlers: []admin.Portfolio{}, Unassigned: []string{}}
	for _, r := range rows {
		out.Butlers = append(out.Butlers, admin.Portfolio{ButlerID: r.Butler, UnitIDs: []string(r.Units), Visits: r.Visits})
	}
	err = sqlx.SelectContext(ctx, s.db, &out.Unassigned, `SELECT u.id FROM units u WHERE u.property_id = $1
AND NOT EXISTS (SELECT 1 FROM butler_assignments b WHERE b.unit_id = u.id AND b.to_at IS NULL) ORDER BY u.code LIMIT 1000`, propertyID)
	return out, mapErr(err)
}

// Search finds a property's requests, people and units whose text
// contains the pattern, each from its own trigram index.
func (s *AdminStore) Search(ctx context.Context, propertyID, pattern string, limit int) (*admin.Found, error) {
	out := &admin.Found{Requests: []*request.Request{}, People: []person.Person{}, Units: []property.Unit{}}
	err := sqlx.SelectContext(ctx, s.db, &out.Requests, `WITH hits AS (
	SELECT id FROM service_requests WHERE property_id = $1 AND (description ILIKE $2 OR number ILIKE $2)
	UNION
	SELECT e.request_id FROM request_events e WHERE e.property_id = $1 AND e.note ILIKE $2
)
SELECT `+requestCols+` FROM service_requests r JOIN hits USING (id) ORDER BY r.created_at DESC, r.id DESC LIMIT $3`, propertyID, pattern, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	err = sqlx.SelectContext(ctx, s.db, &out.People, `SELECT p.id, p.username, p.name, p.name_zh, p.is_admin FROM people p
WHERE (p.name || ' ' || p.name_zh) ILIKE $2
  AND (EXISTS (SELECT 1 FROM staff_roles s WHERE s.person_id = p.id AND s.property_id = $1)
       OR EXISTS (SELECT 1 FROM residencies r JOIN units u ON u.id = r.unit_id WHERE r.person_id = p.id AND r.moved_out_at IS NULL AND u.property_id = $1))
ORDER BY p.name, p.id LIMIT $3`, propertyID, pattern, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	err = sqlx.SelectContext(ctx, s.db, &out.Units, `SELECT id, property_id, building_id, code, vip FROM units
WHERE property_id = $1 AND code ILIKE $2 ORDER BY code LIMIT $3`, propertyID, pattern, limit)
	return out, mapErr(err)
}
