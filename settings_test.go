package main

import (
	"context"
	"sync"
	"testing"
	"time"
)

// waitForLockWaiters waits until n sessions of the test database are
// blocked on a lock, so that a test can release a lock it holds only once
// every contender has reached it.
func waitForLockWaiters(t *testing.T, s *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := s.app.DB.Get(&waiting, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions waiting on a lock, want %d", waiting, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two managers change different promise settings at the same moment: both
// changes are kept, neither overwrites the other with what it read before.
func TestPromiseSettingsConcurrentUpdatesKeepBoth(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "PC", map[string]string{"boss": "MANAGER", "director": "DIRECTOR"})
	boss, director := s.login(t, e.user("boss")), s.login(t, e.user("director"))

	// Hold the property's row so that both updates are in flight together
	// and run one after the other when it is released.
	ctx := context.Background()
	tx, err := s.app.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM properties WHERE id = $1 FOR UPDATE`, e.ID); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	answers := make([]gqlResponse, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		answers[0] = boss.do(`mutation($p: ID!) { setPromiseSettings(propertyId: $p, warnFraction: 0.5) { warnFraction } }`,
			map[string]any{"p": e.ID})
	}()
	go func() {
		defer wg.Done()
		answers[1] = director.do(`mutation($p: ID!) { setPromiseSettings(propertyId: $p, directorAfterMinutes: 30) { directorAfterMinutes } }`,
			map[string]any{"p": e.ID})
	}()
	waitForLockWaiters(t, s, 2)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, a := range answers {
		if len(a.Errors) > 0 {
			t.Fatalf("a concurrent change failed: %+v", a.Errors)
		}
	}

	var got struct {
		WarnFraction  float64 `db:"warn_fraction"`
		DirectorAfter int     `db:"director_after_minutes"`
	}
	if err := s.app.DB.Get(&got, `SELECT warn_fraction, director_after_minutes FROM properties WHERE id = $1`, e.ID); err != nil {
		t.Fatal(err)
	}
	if got.WarnFraction != 0.5 || got.DirectorAfter != 30 {
		t.Fatalf("after two concurrent changes the settings are %+v, want warnFraction 0.5 and directorAfterMinutes 30", got)
	}
}
