package main

import (
	"context"
	"sync"
	"testing"
)

// Managers hand one household to different butlers at the same moment: one
// handover wins and the others answer CONFLICT (someone changed it first),
// never INTERNAL, and the household has one current butler.
func TestConcurrentAssignButlerConflicts(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "AB", map[string]string{"boss": "MANAGER", "b1": "BUTLER", "b2": "BUTLER", "b3": "BUTLER"})
	s.exec(t, `UPDATE properties SET service_mode = 'BUTLER' WHERE id = $1`, e.ID)
	boss := s.login(t, e.user("boss"))
	var butlers []string
	for _, b := range []string{"b1", "b2", "b3"} {
		butlers = append(butlers, s.login(t, e.user(b)).id)
	}

	// Hold the household's "current butler" slot so that every handover
	// is in flight before any of them can take it.
	ctx := context.Background()
	tx, err := s.app.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO butler_assignments (unit_id, butler_id, from_at) VALUES ($1, $2, now())`, e.Unit, butlers[0]); err != nil {
		t.Fatal(err)
	}
	answers := make([]gqlResponse, len(butlers))
	var wg sync.WaitGroup
	for i, b := range butlers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = boss.do(`mutation($u: ID!, $b: ID!) { assignButler(unitId: $u, butlerId: $b) { butler { id } } }`,
				map[string]any{"u": e.Unit, "b": b})
		}()
	}
	waitForLockWaiters(t, s, len(butlers))
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	won := 0
	for _, a := range answers {
		switch a.code() {
		case "":
			won++
		case "CONFLICT":
		default:
			t.Errorf("a concurrent handover answered %+v, want success or CONFLICT", a.Errors)
		}
	}
	if won != 1 {
		t.Errorf("%d handovers succeeded, want exactly one", won)
	}
	var current int
	if err := s.app.DB.Get(&current, `SELECT count(*) FROM butler_assignments WHERE unit_id = $1 AND to_at IS NULL`, e.Unit); err != nil {
		t.Fatal(err)
	}
	if current != 1 {
		t.Fatalf("%d current butlers, want one", current)
	}
}
