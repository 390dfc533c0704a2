// Package pgtest gives each test package a fresh PostgreSQL database of its
// own, migrated, and dropped when the package's tests finish.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"

	_ "github.com/lib/pq" // the driver for the admin connection

	"github.com/kproperty/onestop/internal/postgres"
)

// AdminURL is the server the test databases are made on
// (TEST_DATABASE_URL, default the local server's postgres database).
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Run wraps TestMain: it creates a database, puts its URL in *dbURL, runs
// the tests and drops the database.
func Run(m *testing.M, dbURL *string) int {
	name := "onestop_test_" + randHex(6)
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: create database:", err)
		return 1
	}
	defer func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: drop database:", err)
		}
	}()
	u, err := url.Parse(AdminURL())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	u.Path = "/" + name
	*dbURL = u.String()
	return m.Run()
}

// Open connects to the package's database and migrates it.
func Open(tb testing.TB, dbURL string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		tb.Fatal(err)
	}
	return db
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Fresh creates a database of the caller's own, migrated, and drops it when
// tb finishes: for benchmarks whose bulk data must not meet other tests'.
func Fresh(tb testing.TB) *postgres.DB {
	tb.Helper()
	name := "onestop_bench_" + randHex(6)
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return Open(tb, u.String())
}
