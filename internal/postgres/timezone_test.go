package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
	"github.com/kproperty/onestop/internal/request"
)

// A property's time zone is checked when it is written: a name no zone
// database knows is refused.
func TestPropertyTimeZoneValidatedOnWrite(t *testing.T) {
	db := pgtest.Open(t, dbURL)
	_, err := db.Exec(`INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ('TZBAD', 'Bad zone', 'OFFICE', 'SERVICE_CENTER', 'Mars/Olympus')`)
	if err == nil {
		t.Fatal("a property with the time zone Mars/Olympus was stored")
	}
	for _, zone := range []string{"", "+08"} {
		if _, err := db.Exec(`INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ('TZBAD2', 'Bad zone', 'OFFICE', 'SERVICE_CENTER', $1)`, zone); err == nil {
			t.Fatalf("a property with the time zone %q was stored", zone)
		}
	}
	if _, err := db.Exec(`INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ('TZOK', 'Good zone', 'OFFICE', 'SERVICE_CENTER', 'Europe/London')`); err != nil {
		t.Fatalf("a property in Europe/London: %v", err)
	}
}

// A stored zone that cannot be loaded (written before the check existed, or
// unknown to this binary) is an error when the property is read, never a
// silent switch to UTC that would shift local dates and business hours.
func TestUnloadableTimeZoneFailsLoudly(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, dbURL)
	// Make the row as an old database might hold it: without the check.
	var checks []struct {
		Name string `db:"conname"`
		Def  string `db:"def"`
	}
	if err := db.Select(&checks, `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
WHERE conrelid = 'properties'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%time_zone%'`); err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if _, err := db.Exec(`ALTER TABLE properties DROP CONSTRAINT ` + c.Name); err != nil {
			t.Fatal(err)
		}
	}
	var id string
	if err := db.Get(&id, `INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ('TZOLD', 'Old zone', 'OFFICE', 'SERVICE_CENTER', 'Mars/Olympus') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DELETE FROM properties WHERE id = $1`, id); err != nil {
			t.Error(err)
		}
		for _, c := range checks {
			if _, err := db.Exec(`ALTER TABLE properties ADD CONSTRAINT ` + c.Name + ` ` + c.Def); err != nil {
				t.Error(err)
			}
		}
	})

	_, err := postgres.NewDirectory(db).Properties(ctx, []string{id})
	if err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Fatalf("reading a property in Mars/Olympus: err %v, want an error naming the zone", err)
	}
	_, err = postgres.NewRequestStore(db).InTx(ctx, func(tx request.Tx) error {
		_, err := tx.Property(ctx, id)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Fatalf("reading a property in Mars/Olympus in a transaction: err %v, want an error naming the zone", err)
	}
}
