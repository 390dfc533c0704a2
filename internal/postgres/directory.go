package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
)

const propertyCols = `id, code, name, kind, grade, service_mode, time_zone, name_zh, address`

const categoryCols = `id, property_id, code, kind, name, name_zh, target_minutes, price_cents, currency, active, business_hours_only, skill, callback_policy`

// Directory answers look-ups of properties, units, people and categories by
// id, in batches, for the GraphQL dataloaders.
type Directory struct{ db *DB }

// NewDirectory returns the directory store.
func NewDirectory(db *DB) *Directory { return &Directory{db: db} }

func selectIn[T any](ctx context.Context, db *DB, query string, ids []string) ([]T, error) {
	out := []T{}
	err := sqlx.SelectContext(ctx, db, &out, query, pq.Array(ids))
	return out, mapErr(err)
}

// Properties returns the properties with the given ids.
func (d *Directory) Properties(ctx context.Context, ids []string) ([]property.Property, error) {
	ps, err := selectIn[property.Property](ctx, d.db, `SELECT `+propertyCols+` FROM properties WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if err := checkZone(p); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// checkZone makes sure a property read from the database has a time zone
// this binary can load. Every local date depends on it, so a zone that does
// not load is an error here rather than UTC later.
func checkZone(p property.Property) error {
	_, err := p.LoadLocation()
	return err
}

// Units returns the units with the given ids.
func (d *Directory) Units(ctx context.Context, ids []string) ([]property.Unit, error) {
	return selectIn[property.Unit](ctx, d.db, `SELECT id, property_id, building_id, code, vip FROM units WHERE id = ANY($1::uuid[])`, ids)
}

// Buildings returns the buildings with the given ids.
func (d *Directory) Buildings(ctx context.Context, ids []string) ([]property.Building, error) {
	return selectIn[property.Building](ctx, d.db, `SELECT id, property_id, code, name, name_zh FROM buildings WHERE id = ANY($1::uuid[])`, ids)
}

// People returns the people with the given ids.
func (d *Directory) People(ctx context.Context, ids []string) ([]person.Person, error) {
	return selectIn[person.Person](ctx, d.db, `SELECT id, username, name, is_admin, name_zh FROM people WHERE id = ANY($1::uuid[])`, ids)
}

// Categories returns the categories with the given ids.
func (d *Directory) Categories(ctx context.Context, ids []string) ([]property.Category, error) {
	return selectIn[property.Category](ctx, d.db, `SELECT `+categoryCols+` FROM service_categories WHERE id = ANY($1::uuid[])`, ids)
}

// CategoriesOf returns the active catalogue of the given properties.
func (d *Directory) CategoriesOf(ctx context.Context, propertyIDs []string) ([]property.Category, error) {
	return selectIn[property.Category](ctx, d.db, `SELECT `+categoryCols+` FROM service_categories
WHERE property_id = ANY($1::uuid[]) AND active ORDER BY property_id, kind, code`, propertyIDs)
}

// PropertiesOfUnits returns the property ids of the given units.
func (d *Directory) PropertiesOfUnits(ctx context.Context, unitIDs []string) ([]string, error) {
	return selectIn[string](ctx, d.db, `SELECT DISTINCT property_id FROM units WHERE id = ANY($1::uuid[]) ORDER BY property_id`, unitIDs)
}

// AllPropertyIDs returns every property, for admins.
func (d *Directory) AllPropertyIDs(ctx context.Context) ([]string, error) {
	ids := []string{}
	err := sqlx.SelectContext(ctx, d.db, &ids, `SELECT id FROM properties ORDER BY code`)
	return ids, mapErr(err)
}

// CatalogueStore implements property.CatalogueStore.
type CatalogueStore struct{ db *DB }

// NewCatalogueStore returns the catalogue store.
func NewCatalogueStore(db *DB) *CatalogueStore { return &CatalogueStore{db: db} }

// SaveCategory upserts a category by property and code and records it. The
// property is locked (FOR NO KEY UPDATE, which new requests' foreign keys
// do not wait for), so that of two saves of a new code at once only the
// first records a creation.
func (s *CatalogueStore) SaveCategory(ctx context.Context, c *property.Category, record func(audit.Writer, *property.Category) error) error {
	return mapErr(s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM properties WHERE id = $1 FOR NO KEY UPDATE`, c.PropertyID); err != nil {
			return err
		}
		var before []property.Category
		if err := sqlx.SelectContext(ctx, tx, &before, `SELECT `+categoryCols+` FROM service_categories WHERE property_id = $1 AND code = $2`,
			c.PropertyID, c.Code); err != nil {
			return err
		}
		err := get(ctx, tx, &c.ID, `
INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes, price_cents, currency,
	active, business_hours_only, skill, callback_policy)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (property_id, code) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, name_zh = EXCLUDED.name_zh,
	target_minutes = EXCLUDED.target_minutes, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency,
	active = EXCLUDED.active, business_hours_only = EXCLUDED.business_hours_only, skill = EXCLUDED.skill,
	callback_policy = EXCLUDED.callback_policy
RETURNING id`, c.PropertyID, c.Code, string(c.Kind), c.Name, c.NameZh, c.TargetMinutes, c.PriceCents, c.Currency,
			c.Active, c.BusinessHoursOnly, c.Skill, string(c.CallbackPolicy))
		if err != nil {
			return err
		}
		var prev *property.Category
		if len(before) > 0 {
			prev = &before[0]
		}
		return record(requestTx{q: tx}, prev)
	}))
}
