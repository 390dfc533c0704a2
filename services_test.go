package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kproperty/onestop/internal/postgres/pgtest"
)

// `make run` creates its database on the server and as the user that
// DATABASE_URL names, with psql and that URL (so a password in it, or in
// PGPASSWORD, is used), not as postgres on a fixed address.
func TestServicesScriptCreatesTheDatabaseDatabaseURLNames(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	admin, err := sql.Open("postgres", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	suffix := strings.ToLower(uniqueCode(""))
	role, db := "mkrun_"+suffix, "mkrun_db_"+suffix
	if _, err := admin.Exec(fmt.Sprintf(`CREATE ROLE %s LOGIN CREATEDB PASSWORD 'pw-%s'`, role, suffix)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP DATABASE IF EXISTS ` + db)
		admin.Exec(`DROP ROLE IF EXISTS ` + role)
	})
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "pw-"+suffix)
	u.Path = "/" + db
	cmd := exec.Command("./.ci/services.sh", "--create-db")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+u.String(), "REDIS_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("services.sh --create-db: %v\n%s", err, out)
	}
	var owner string
	if err := admin.QueryRow(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, db).Scan(&owner); err != nil {
		t.Fatalf("database %s: %v\n%s", db, err, out)
	}
	if owner != role {
		t.Fatalf("database %s belongs to %s, want %s (the DATABASE_URL user)", db, owner, role)
	}
	// A second run finds it and changes nothing.
	cmd = exec.Command("./.ci/services.sh", "--create-db")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+u.String(), "REDIS_URL=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
}
