package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

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
		return seedDispatch(ctx, tx)
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
