package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/kproperty/onestop/internal/auth"
)

// estate is a property made for one test, so that its staff, rules and
// figures are not disturbed by other tests sharing the database.
type estate struct {
	ID, Code  string
	Building  string
	Unit      string
	Resident  string // username
	Plumbing  string // category id
	Cleaning  string // category id
	usernames map[string]string
}

// uniqueCode makes a property code from a prefix that no earlier run on the
// same database has used, so tests can run again (go test -count=N).
func uniqueCode(prefix string) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s%04X", prefix, b)
}

// newEstate creates a service-center property with one building, one
// household with a resident, plumbing and cleaning categories, and the
// given staff (username suffix -> role). Its code is prefix plus a unique
// tail; usernames are the code, a dot and the suffix (user gives them).
func newEstate(t *testing.T, s *testServer, prefix string, staff map[string]string) *estate {
	t.Helper()
	code := uniqueCode(prefix)
	db := s.app.DB
	hash, err := auth.HashPassword("demo1234", 4)
	if err != nil {
		t.Fatal(err)
	}
	e := &estate{Code: code, usernames: map[string]string{}}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.GetContext(ctx, &e.ID, `INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ($1, $1 || ' Estate', 'RESIDENTIAL', 'SERVICE_CENTER', 'Asia/Hong_Kong') RETURNING id`, code))
	must(db.GetContext(ctx, &e.Building, `INSERT INTO buildings (property_id, code, name) VALUES ($1, 'A', 'Block A') RETURNING id`, e.ID))
	must(db.GetContext(ctx, &e.Unit, `INSERT INTO units (property_id, building_id, code) VALUES ($1, $2, 'A-0101') RETURNING id`, e.ID, e.Building))
	must(db.GetContext(ctx, &e.Plumbing, `INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes, skill) VALUES ($1, 'plumbing', 'REPAIR', 'Plumbing', '水喉', 240, 'plumbing') RETURNING id`, e.ID))
	must(db.GetContext(ctx, &e.Cleaning, `INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes) VALUES ($1, 'cleaning', 'CLEANING', 'Cleaning', '清潔', 120) RETURNING id`, e.ID))
	e.Resident = code + ".resident"
	var pid string
	must(db.GetContext(ctx, &pid, `INSERT INTO people (username, name, password_hash) VALUES ($1, $1, $2) RETURNING id`, e.Resident, hash))
	_, err = db.ExecContext(ctx, `INSERT INTO residencies (person_id, unit_id, relation) VALUES ($1, $2, 'OWNER')`, pid, e.Unit)
	must(err)
	for suffix, role := range staff {
		name := code + "." + suffix
		must(db.GetContext(ctx, &pid, `INSERT INTO people (username, name, password_hash) VALUES ($1, $1, $2) RETURNING id`, name, hash))
		_, err = db.ExecContext(ctx, `INSERT INTO staff_roles (person_id, property_id, role) VALUES ($1, $2, $3)`, pid, e.ID, role)
		must(err)
		e.usernames[suffix] = name
	}
	return e
}

// user returns the username of a staff member made for the estate.
func (e *estate) user(suffix string) string {
	if u, ok := e.usernames[suffix]; ok {
		return u
	}
	panic("no staff member " + suffix + " in estate " + e.Code)
}

// exec runs SQL that shapes a test's estate.
func (s *testServer) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := s.app.DB.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}
