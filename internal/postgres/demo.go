package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kproperty/onestop/internal/duty"
	"github.com/kproperty/onestop/internal/property"
)

// DemoPassword is every demo account's password.
const DemoPassword = "demo1234"

// DemoAccount is one demo login, as printed at start-up.
type DemoAccount struct {
	Username string
	Role     string
	Where    string
}

type demoUnit struct {
	property, building, code string
	vip                      bool
}

type demoPerson struct {
	username, name string
	admin          bool
	// staff role at a property, or a residency in a unit ("HV/A-1201").
	property, role string
	unit, relation string
}

type demoCategory struct {
	code, kind, name, nameZh string
	minutes                  int
	priceCents               *int64
}

func cents(v int64) *int64 { return &v }

var (
	demoProperties = []struct{ code, name, kind, grade, mode, tz string }{
		{"HV", "Harbour View", "RESIDENTIAL", "LUXURY", "BUTLER", "Asia/Hong_Kong"},
		{"KT", "K Tower", "OFFICE", "GRADE_A", "SERVICE_CENTER", "Asia/Hong_Kong"},
	}
	demoBuildings = []struct{ property, code, name string }{
		{"HV", "A", "Tower A"}, {"HV", "B", "Tower B"}, {"KT", "T", "K Tower"},
	}
	demoUnits = []demoUnit{
		{"HV", "A", "A-1201", true}, {"HV", "B", "B-0805", false}, {"KT", "T", "T-2301", false},
	}
	demoPeople = []demoPerson{
		{username: "resident.chan", name: "陳太 Mrs Chan", unit: "HV/A-1201", relation: "OWNER"},
		{username: "resident.lee", name: "李先生 Mr Lee", unit: "HV/B-0805", relation: "OWNER"},
		{username: "tenant.ko", name: "高小姐 Ms Ko", unit: "KT/T-2301", relation: "TENANT"},
		{username: "agent.wong", name: "黃敏 Wong Man", property: "HV", role: "AGENT"},
		{username: "agent.siu", name: "蕭嘉 Siu Ka", property: "KT", role: "AGENT"},
		{username: "tech.fung", name: "馮師傅 Fung", property: "KT", role: "TECHNICIAN"},
		{username: "butler.ho", name: "何管家 Ho", property: "HV", role: "BUTLER"},
		{username: "tech.lam", name: "林師傅 Lam", property: "HV", role: "TECHNICIAN"},
		{username: "manager.cheung", name: "張經理 Cheung", property: "HV", role: "MANAGER"},
		{username: "director.ng", name: "吳主任 Ng", property: "HV", role: "DIRECTOR"},
		{username: "guard.yip", name: "葉護衛 Yip", property: "HV", role: "GUARD"},
		{username: "admin", name: "System Admin", admin: true},
	}
	// The catalogue the manual's preface lists, the same at every demo
	// property.
	demoCategories = []demoCategory{
		{"plumbing", "REPAIR", "Plumbing repair", "水喉維修", 240, nil},
		{"electrical", "REPAIR", "Electrical repair", "電器維修", 240, nil},
		{"cleaning", "CLEANING", "Unit cleaning", "清潔服務", 180, nil},
		{"housekeeping", "HOUSEKEEPING", "Housekeeping", "家政服務", 1440, nil},
		{"pest-control", "SPECIAL", "Pest control", "滅蟲專項服務", 2880, nil},
		{"aircon-wash", "CONTRACTED", "Air-conditioner cleaning (paid)", "冷氣機清洗(特約服務)", 2880, cents(48000)},
		{"parcel-keeping", "FEATURED", "Parcel keeping", "代收包裹(特色服務)", 60, nil},
		{"community-event", "FEATURED", "Community cultural activity sign-up", "社區文化活動報名", 1440, nil},
		{"clubhouse", "SPECIAL", "Clubhouse booking", "會所預約", 720, nil},
		{"complaint", "COMPLAINT", "Complaint", "投訴", 1440, nil},
		{"inquiry", "INQUIRY", "Inquiry", "查詢", 60, nil},
		{"guided-visit", "GUIDED_VISIT", "Guided visit", "引導參觀", 1440, nil},
	}
)

// SeedDemo loads the demo estate, tower, accounts and catalogue. It can run
// on every start: rows that exist are left as they are, so demo passwords
// changed by hand stay changed.
func (db *DB) SeedDemo(ctx context.Context, hash func(string) (string, error)) ([]DemoAccount, error) {
	pw, err := hash(DemoPassword)
	if err != nil {
		return nil, err
	}
	var accounts []DemoAccount
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, p := range demoProperties {
			if _, err := property.LoadTimeZone(p.tz); err != nil {
				return fmt.Errorf("demo property %s: %w", p.code, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO properties (code, name, kind, grade, service_mode, time_zone)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING`, p.code, p.name, p.kind, p.grade, p.mode, p.tz); err != nil {
				return err
			}
		}
		for _, b := range demoBuildings {
			if _, err := tx.ExecContext(ctx, `INSERT INTO buildings (property_id, code, name)
SELECT id, $2, $3 FROM properties WHERE code = $1 ON CONFLICT (property_id, code) DO NOTHING`, b.property, b.code, b.name); err != nil {
				return err
			}
		}
		for _, u := range demoUnits {
			if _, err := tx.ExecContext(ctx, `INSERT INTO units (property_id, building_id, code, vip)
SELECT p.id, b.id, $3, $4 FROM properties p JOIN buildings b ON b.property_id = p.id AND b.code = $2
WHERE p.code = $1 ON CONFLICT (property_id, code) DO NOTHING`, u.property, u.building, u.code, u.vip); err != nil {
				return err
			}
		}
		for _, c := range demoCategories {
			var currency *string
			if c.priceCents != nil {
				hkd := "HKD"
				currency = &hkd
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes, price_cents, currency)
SELECT id, $1, $2, $3, $4, $5, $6, $7 FROM properties WHERE code = ANY('{HV,KT}') ON CONFLICT (property_id, code) DO NOTHING`,
				c.code, c.kind, c.name, c.nameZh, c.minutes, c.priceCents, currency); err != nil {
				return err
			}
		}
		for _, p := range demoPeople {
			if _, err := tx.ExecContext(ctx, `INSERT INTO people (username, name, password_hash, is_admin)
VALUES ($1, $2, $3, $4) ON CONFLICT (lower(username)) DO NOTHING`, p.username, p.name, pw, p.admin); err != nil {
				return err
			}
			acct := DemoAccount{Username: p.username, Role: p.role, Where: p.property}
			switch {
			case p.admin:
				acct.Role, acct.Where = "ADMIN", "all properties"
			case p.role != "":
				if _, err := tx.ExecContext(ctx, `INSERT INTO staff_roles (person_id, property_id, role)
SELECT pe.id, pr.id, $3 FROM people pe, properties pr WHERE pe.username = $1 AND pr.code = $2
ON CONFLICT (person_id, property_id) DO NOTHING`, p.username, p.property, p.role); err != nil {
					return err
				}
			default:
				var prop, unit string
				if _, err := fmt.Sscanf(p.unit, "%2s/%s", &prop, &unit); err != nil {
					return fmt.Errorf("demo unit %q: %w", p.unit, err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO residencies (person_id, unit_id, relation)
SELECT pe.id, u.id, $4 FROM people pe, units u JOIN properties pr ON pr.id = u.property_id
WHERE pe.username = $1 AND pr.code = $2 AND u.code = $3 ON CONFLICT (person_id, unit_id) DO NOTHING`, p.username, prop, unit, p.relation); err != nil {
					return err
				}
				acct.Role, acct.Where = "RESIDENT", p.unit
			}
			accounts = append(accounts, acct)
		}
		if err := seedDispatch(ctx, tx); err != nil {
			return err
		}
		return seedBookings(ctx, tx)
	})
	return accounts, err
}

// seedDispatch sets up the demo's dispatch: Mrs Chan's household is in
// butler Ho's portfolio (Mr Lee's has no butler and falls back to the
// service center), the technicians' skills, and K Tower's repairs going
// out automatically.
func seedDispatch(ctx context.Context, tx *sqlx.Tx) error {
	stmts := []string{
		`INSERT INTO butler_assignments (unit_id, butler_id, from_at)
SELECT u.id, p.id, timestamptz '2026-01-01T00:00:00+08:00' FROM units u JOIN properties pr ON pr.id = u.property_id, people p
WHERE pr.code = 'HV' AND u.code = 'A-1201' AND p.username = 'butler.ho'
  AND NOT EXISTS (SELECT 1 FROM butler_assignments b WHERE b.unit_id = u.id)`,
		`INSERT INTO staff_skills (person_id, skill) SELECT id, 'plumbing' FROM people WHERE username IN ('tech.lam', 'tech.fung') ON CONFLICT DO NOTHING`,
		`INSERT INTO staff_skills (person_id, skill) SELECT id, 'electrical' FROM people WHERE username = 'tech.fung' ON CONFLICT DO NOTHING`,
		`UPDATE service_categories SET skill = code WHERE code IN ('plumbing', 'electrical') AND skill IS NULL`,
		`UPDATE service_categories SET business_hours_only = true WHERE code IN ('aircon-wash', 'pest-control')`,
		`INSERT INTO dispatch_rules (property_id, category_id, mode, role, max_open_jobs)
SELECT pr.id, c.id, 'AUTO', 'TECHNICIAN', 5 FROM properties pr JOIN service_categories c ON c.property_id = pr.id
WHERE pr.code = 'KT' AND c.code IN ('plumbing', 'electrical') ON CONFLICT DO NOTHING`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// demoFrontDeskPeople are the front desk's demo guards.
var demoFrontDeskPeople = []demoPerson{
	{username: "guard.mak", name: "麥護衛 Mak", property: "HV", role: "GUARD"},
	{username: "guard.tse", name: "謝護衛 Tse", property: "KT", role: "GUARD"},
}

// SeedFrontDeskDemo loads the front desk's demo: Harbour View's estate gate
// and lobby with their guards and this month's greeting rota, K Tower's
// lobby with its office-hours greeting window (08:30 on working days), and
// a week of visitors before now, so the console's figures are not empty.
// Like SeedDemo it can run on every start: what exists is left alone.
func (db *DB) SeedFrontDeskDemo(ctx context.Context, now time.Time, hash func(string) (string, error)) ([]DemoAccount, error) {
	pw, err := hash(DemoPassword)
	if err != nil {
		return nil, err
	}
	var accounts []DemoAccount
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, p := range demoFrontDeskPeople {
			if _, err := tx.ExecContext(ctx, `INSERT INTO people (username, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT (lower(username)) DO NOTHING`,
				p.username, p.name, pw); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO staff_roles (person_id, property_id, role)
SELECT pe.id, pr.id, $3 FROM people pe, properties pr WHERE pe.username = $1 AND pr.code = $2
ON CONFLICT (person_id, property_id) DO NOTHING`, p.username, p.property, p.role); err != nil {
				return err
			}
			accounts = append(accounts, DemoAccount{Username: p.username, Role: p.role, Where: p.property})
		}
		stmts := []string{
			`INSERT INTO guard_posts (property_id, code, name, kind, standing)
SELECT id, 'GATE', 'Estate gate', 'GATE', '{07:00-15:00,15:00-23:00}' FROM properties WHERE code = 'HV' ON CONFLICT (property_id, code) DO NOTHING`,
			`INSERT INTO guard_posts (property_id, code, name, kind, standing)
SELECT id, 'LOBBY', 'Tower A lobby', 'LOBBY', '{07:30-09:30,18:00-20:00}' FROM properties WHERE code = 'HV' ON CONFLICT (property_id, code) DO NOTHING`,
			`INSERT INTO guard_posts (property_id, code, name, kind, standing)
SELECT id, 'LOBBY', 'K Tower lobby', 'LOBBY', '{08:00-10:00,17:30-19:30}' FROM properties WHERE code = 'KT' ON CONFLICT (property_id, code) DO NOTHING`,
			// K Tower greets its tenants in the half hour before 09:00 on
			// working days; Harbour View keeps the residential default, the
			// evening return peak from 18:30 every day.
			`INSERT INTO front_desk_settings (property_id, greeting_set, greeting_weekday_start, greeting_minutes, greeting_point)
SELECT id, true, '08:30', 30, 'K Tower lobby' FROM properties WHERE code = 'KT' ON CONFLICT (property_id) DO NOTHING`,
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		for _, code := range []string{"HV", "KT"} {
			if err := seedDemoRota(ctx, tx, code, now); err != nil {
				return fmt.Errorf("demo rota %s: %w", code, err)
			}
		}
		return seedDemoVisitors(ctx, tx, now)
	})
	return accounts, err
}

// seedDemoRota fills this local month's greeting windows in turn among the
// property's management staff, unless the month has windows already. The
// windows before now were stood: most on time, every fifth late, every
// seventh missed; none of them sends a reminder or a missed notice.
func seedDemoRota(ctx context.Context, tx *sqlx.Tx, code string, now time.Time) error {
	var propID string
	if err := sqlx.GetContext(ctx, tx, &propID, `SELECT id FROM properties WHERE code = $1`, code); err != nil {
		return err
	}
	w, err := (&DutyStore{}).windowTx(ctx, tx, propID)
	if err != nil {
		return err
	}
	local := now.In(w.Zone)
	month := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, w.Zone)
	var have int
	if err := sqlx.GetContext(ctx, tx, &have, `SELECT count(*) FROM greeting_duties WHERE property_id = $1 AND starts_at >= $2 AND starts_at < $3`,
		propID, month, month.AddDate(0, 1, 0)); err != nil || have > 0 {
		return err
	}
	staff := []string{}
	if err := sqlx.SelectContext(ctx, tx, &staff, `SELECT person_id FROM staff_roles WHERE property_id = $1 AND role IN ('AGENT', 'BUTLER', 'MANAGER', 'DIRECTOR') ORDER BY person_id`, propID); err != nil || len(staff) == 0 {
		return err
	}
	windows, err := duty.Windows(w, month)
	if err != nil {
		return err
	}
	for i, win := range windows {
		var checkedIn, handled *time.Time
		if win[1].Before(now) {
			handled = &win[1]
			switch {
			case i%7 == 6:
			case i%5 == 4:
				t := win[0].Add(6 * time.Minute)
				checkedIn = &t
			default:
				t := win[0].Add(-4 * time.Minute)
				checkedIn = &t
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO greeting_duties (property_id, day, starts_at, ends_at, person_id, checked_in_at, reminded_at, missed_notified_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (property_id, day) DO NOTHING`,
			propID, win[0].In(w.Zone).Format(time.DateOnly), win[0], win[1], staff[i%len(staff)], checkedIn, handled); err != nil {
			return err
		}
	}
	return nil
}

// seedDemoVisitors writes a week of Harbour View visitors before now,
// unless that week has visits already: pre-registered guests and walk-ins
// (admitted, declined, one unanswered), IDs held 9 to 38 seconds, and the
// guards' check-ins at the gate and the lobby.
func seedDemoVisitors(ctx context.Context, tx *sqlx.Tx, now time.Time) error {
	var ids struct {
		Prop  string `db:"prop"`
		Chan  string `db:"chan"`
		Lee   string `db:"lee"`
		ChanU string `db:"chan_u"`
		LeeU  string `db:"lee_u"`
		Yip   string `db:"yip"`
		Mak   string `db:"mak"`
		Gate  string `db:"gate"`
		Lobby string `db:"lobby"`
	}
	if err := sqlx.GetContext(ctx, tx, &ids, `SELECT p.id AS prop,
(SELECT id FROM people WHERE username = 'resident.chan') AS chan, (SELECT id FROM people WHERE username = 'resident.lee') AS lee,
(SELECT id FROM units WHERE property_id = p.id AND code = 'A-1201') AS chan_u, (SELECT id FROM units WHERE property_id = p.id AND code = 'B-0805') AS lee_u,
(SELECT id FROM people WHERE username = 'guard.yip') AS yip, (SELECT id FROM people WHERE username = 'guard.mak') AS mak,
(SELECT id FROM guard_posts WHERE property_id = p.id AND code = 'GATE') AS gate, (SELECT id FROM guard_posts WHERE property_id = p.id AND code = 'LOBBY') AS lobby
FROM properties p WHERE p.code = 'HV'`); err != nil {
		return err
	}
	var have int
	if err := sqlx.GetContext(ctx, tx, &have, `SELECT count(*) FROM visits WHERE property_id = $1 AND arrived_at >= $2`, ids.Prop, now.AddDate(0, 0, -8)); err != nil || have > 0 {
		return err
	}
	hk, err := property.LoadTimeZone("Asia/Hong_Kong")
	if err != nil {
		return err
	}
	names := []string{"陳生 Mr Chan Senior", "Courier SF", "Ms Fong", "Cleaner Auntie Lam", "Dr Ip", "Foodpanda rider", "Mr & Mrs Ho", "Plumber Wu"}
	today := now.In(hk)
	for day := 7; day >= 1; day-- {
		d := time.Date(today.Year(), today.Month(), today.Day()-day, 0, 0, 0, 0, hk)
		guard, other := ids.Yip, ids.Mak
		if day%2 == 0 {
			guard, other = other, guard
		}
		// The guards' day: the early shift at the gate, the evening at the lobby.
		for _, c := range [][4]any{{ids.Gate, guard, d.Add(6*time.Hour + 55*time.Minute), d.Add(15 * time.Hour)},
			{ids.Gate, other, d.Add(14*time.Hour + 58*time.Minute), d.Add(23 * time.Hour)},
			{ids.Lobby, guard, d.Add(17*time.Hour + 50*time.Minute), d.Add(20*time.Hour + 5*time.Minute)}} {
			if day == 3 && c[0] == ids.Lobby {
				continue // one evening the lobby stood empty
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO post_checkins (post_id, guard_id, checked_in_at, checked_out_at) VALUES ($1, $2, $3, $4)`, c[:]...); err != nil {
				return err
			}
		}
		for i := range 4 + day%3 {
			n := day*7 + i
			arrived := d.Add(time.Duration(9+i*2)*time.Hour + time.Duration(n%50)*time.Minute)
			unit, host := ids.ChanU, ids.Chan
			if n%3 == 0 {
				unit, host = ids.LeeU, ids.Lee
			}
			post := ids.Gate
			if i%2 == 1 {
				post = ids.Lobby
			}
			who := names[n%len(names)]
			taken := arrived.Add(-40 * time.Second)
			returned := taken.Add(time.Duration(9+(n*7)%30) * time.Second)
			var passID *string
			walkIn, answer := i%2 == 1, "PRE_REGISTERED"
			var answeredAt *time.Time
			if walkIn {
				at := arrived.Add(time.Duration(20+(n*13)%100) * time.Second)
				answeredAt, answer = &at, "ADMITTED"
				switch {
				case n%11 == 0:
					answer = "DECLINED"
				case n%13 == 0:
					answer, answeredAt = "UNANSWERED", nil
				}
			} else {
				var id string
				if err := sqlx.GetContext(ctx, tx, &id, `INSERT INTO visitor_passes (property_id, unit_id, created_by, code, visitor_name, expected_from, expected_to, party_size, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 1 + $8 % 3, 'USED', $9) RETURNING id`, ids.Prop, unit, host, fmt.Sprintf("D%05d", n*37%100000), who,
					arrived.Add(-time.Hour), arrived.Add(2*time.Hour), n, arrived.Add(-24*time.Hour)); err != nil {
					return err
				}
				passID = &id
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO visits (property_id, unit_id, pass_id, guard_id, post_id, visitor_name, party_size, walk_in, answer,
answered_by, answered_at, id_type, id_last4, id_taken_at, id_returned_at, arrived_at, departed_at)
VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, CASE WHEN $9::timestamptz IS NULL THEN NULL ELSE $10::uuid END, $9, 'HKID', $11, $12, $13, $14, $15)`,
				ids.Prop, unit, passID, guard, post, who, walkIn, answer, answeredAt, host, fmt.Sprintf("%04d", n*97%10000), taken, returned, arrived,
				arrived.Add(time.Duration(30+n%90)*time.Minute)); err != nil {
				return err
			}
		}
	}
	return nil
}

// seedBookings sets up the demo clubhouses and paid services: Harbour
// View's function room, BBQ pit, tennis court and Saturday yoga class, K
// Tower's meeting room; an activity next week whose list is full with a
// household waiting; and Ms Ko's paid air-conditioner cleaning, quoted.
// Each statement leaves what is already there alone.
func seedBookings(ctx context.Context, tx *sqlx.Tx) error {
	stmts := []string{
		`INSERT INTO facilities (property_id, code, name, name_zh, opens, closes, days, slot_minutes, capacity, max_slots,
	advance_days, weekly_quota, cancel_hours, fee_cents, deposit_cents)
SELECT p.id, f.code, f.name, f.name_zh, f.opens::time, f.closes::time, f.days::smallint[], f.slot, f.capacity, f.max_slots,
	f.advance, f.quota, f.cancel, f.fee, f.deposit
FROM properties p JOIN (VALUES
	('HV', 'function-room', 'Function room', '多用途宴會廳', '09:00', '23:00', '{1,2,3,4,5,6,7}', 60, 1, 4, 14, 2, 24, 50000, 100000),
	('HV', 'bbq-pit', 'BBQ pit', '燒烤場', '11:00', '23:00', '{1,2,3,4,5,6,7}', 180, 1, 1, 14, 1, 24, 20000, 0),
	('HV', 'tennis-court', 'Tennis court', '網球場', '07:00', '22:00', '{1,2,3,4,5,6,7}', 60, 1, 2, 7, 3, 2, 0, 0),
	('HV', 'yoga', 'Saturday yoga class', '瑜伽班(逢星期六)', '09:00', '10:00', '{6}', 60, 12, 1, 14, 1, 12, 8000, 0),
	('KT', 'meeting-room', 'Meeting room 23/F', '23樓會議室', '08:00', '20:00', '{1,2,3,4,5}', 30, 1, 4, 14, 5, 2, 0, 0)
) AS f(property, code, name, name_zh, opens, closes, days, slot, capacity, max_slots, advance, quota, cancel, fee, deposit)
ON f.property = p.code
ON CONFLICT (property_id, code) DO NOTHING`,
		// Next Saturday 14:00 in Hong Kong, sign-up open until the day
		// before: Mrs Chan's household took both places, Mr Lee's waits.
		`INSERT INTO activities (property_id, title, title_zh, place, starts_at, ends_at, capacity, signup_opens_at, signup_closes_at, per_household)
SELECT p.id, 'Lantern-making workshop', '花燈製作工作坊', 'Clubhouse activity room', s.at, s.at + interval '2 hours', 2,
	now() - interval '1 day', s.at - interval '1 day', 2
FROM properties p, (SELECT (date_trunc('week', now() AT TIME ZONE 'Asia/Hong_Kong') + interval '12 days 14 hours') AT TIME ZONE 'Asia/Hong_Kong' AS at) s
WHERE p.code = 'HV' AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.property_id = p.id AND a.title = 'Lantern-making workshop')`,
		`INSERT INTO activity_signups (activity_id, unit_id, signed_up_by, places, status, created_at)
SELECT a.id, u.id, pe.id, x.places, x.status, now() + x.n * interval '1 second'
FROM (VALUES ('A-1201', 'resident.chan', 2, 'CONFIRMED', 1), ('B-0805', 'resident.lee', 1, 'WAITING', 2)) AS x(unit, who, places, status, n)
JOIN units u ON u.code = x.unit JOIN properties p ON p.id = u.property_id AND p.code = 'HV'
JOIN activities a ON a.property_id = p.id AND a.title = 'Lantern-making workshop'
JOIN people pe ON pe.username = x.who
WHERE NOT EXISTS (SELECT 1 FROM activity_signups s WHERE s.activity_id = a.id)
ORDER BY x.n`,
		`INSERT INTO service_requests (number, property_id, unit_id, category_id, requester_id, submitted_by, client_request_id,
	channel, status, description, version, created_at, updated_at)
SELECT 'KT-DEMO-0001', p.id, u.id, c.id, pe.id, pe.id, '00000000-0000-4000-8000-00000000ac01', 'APP', 'SUBMITTED',
	'Clean the two air-conditioners in the office', 1, now(), now()
FROM properties p JOIN units u ON u.property_id = p.id AND u.code = 'T-2301'
JOIN service_categories c ON c.property_id = p.id AND c.code = 'aircon-wash', people pe
WHERE p.code = 'KT' AND pe.username = 'tenant.ko'
ON CONFLICT (number) DO NOTHING`,
		`INSERT INTO request_events (request_id, type, from_status, to_status, actor_id, data, at, property_id, unit_id, requester_id)
SELECT r.id, x.type, x.from_status, 'SUBMITTED', CASE WHEN x.type = 'QUOTED' THEN ag.id ELSE r.requester_id END,
	x.data::jsonb, r.created_at + x.n * interval '1 second', r.property_id, r.unit_id, r.requester_id
FROM service_requests r, people ag,
	(VALUES ('SUBMITTED', NULL, '{"channel": "APP", "number": "KT-DEMO-0001"}', 0),
	        ('QUOTED', 'SUBMITTED', '{"unitPriceCents": 48000, "quantity": 2, "amountCents": 96000, "currency": "HKD"}', 1)) AS x(type, from_status, data, n)
WHERE r.number = 'KT-DEMO-0001' AND ag.username = 'agent.siu'
  AND NOT EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id)
ORDER BY x.n`,
		`INSERT INTO quotes (request_id, unit_price_cents, quantity, amount_cents, currency, quoted_by, quoted_at)
SELECT r.id, 48000, 2, 96000, 'HKD', ag.id, r.created_at + interval '1 second'
FROM service_requests r, people ag WHERE r.number = 'KT-DEMO-0001' AND ag.username = 'agent.siu'
ON CONFLICT (request_id) DO NOTHING`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("demo bookings: %w", err)
		}
	}
	return nil
}
