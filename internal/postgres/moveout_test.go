package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/request"
)

// After a move-out the Go rule and its SQL twin still agree: the household
// that stays (or moves in) sees the requests of the people who live there
// now, and not those of the one who left; a list shows the same.
func TestVisibleAfterMoveOut(t *testing.T) {
	ctx := context.Background()
	db := demoDB(t)
	authStore := postgres.NewAuthStore(db)
	store := postgres.NewRequestStore(db)
	svc := requestService(store)

	var unit, cat, lee, next string
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Get(&unit, `SELECT u.id FROM units u JOIN properties p ON p.id = u.property_id WHERE p.code = 'HV' AND u.code = 'B-0805'`))
	must(db.Get(&cat, `SELECT c.id FROM service_categories c JOIN properties p ON p.id = c.property_id WHERE p.code = 'HV' AND c.code = 'plumbing'`))
	must(db.Get(&lee, `SELECT id FROM people WHERE username = 'resident.lee'`))
	must(db.Get(&next, `INSERT INTO people (username, name, password_hash) VALUES ('next.tenant', 'Next', 'x') RETURNING id`))
	_, err := db.Exec(`INSERT INTO residencies (person_id, unit_id, relation, moved_in_at) VALUES ($1, $2, 'TENANT', now())`, next, unit)
	must(err)

	leeActor, err := authStore.Actor(ctx, lee)
	must(err)
	old, err := svc.Submit(ctx, leeActor, request.SubmitInput{ClientRequestID: uuid.NewString(), CategoryID: cat, Description: "before the move"})
	must(err)
	nextActor, err := authStore.Actor(ctx, next)
	must(err)
	if _, err := store.Visible(ctx, nextActor, old.ID); err != nil || !request.Visible(nextActor, old.Audience) {
		t.Fatalf("a housemate does not see a request of someone living there now (%v)", err)
	}
	theirs, err := svc.Submit(ctx, nextActor, request.SubmitInput{ClientRequestID: uuid.NewString(), CategoryID: cat, Description: "after the move"})
	must(err)

	_, err = db.Exec(`UPDATE residencies SET moved_out_at = now() WHERE person_id = $1 AND unit_id = $2`, lee, unit)
	must(err)
	// The demo household is shared with the other tests of the package.
	t.Cleanup(func() {
		_, err := db.Exec(`UPDATE residencies SET moved_out_at = NULL WHERE person_id = $1`, lee)
		must(err)
		_, err = db.Exec(`UPDATE people SET disabled_at = NULL WHERE id = $1`, lee)
		must(err)
	})
	nextActor, err = authStore.Actor(ctx, next)
	must(err)
	for _, c := range []struct {
		r    *request.Request
		want bool
	}{{old, false}, {theirs, true}} {
		_, err := store.Visible(ctx, nextActor, c.r.ID)
		if goSees, sqlSees := request.Visible(nextActor, c.r.Audience), err == nil; goSees != c.want || sqlSees != c.want {
			t.Errorf("%s: Go %v, SQL %v, want %v", c.r.Description, goSees, sqlSees, c.want)
		}
	}
	rows, err := store.List(ctx, nextActor, request.Filter{}, 100, nil)
	must(err)
	if len(rows) != 1 || rows[0].ID != theirs.ID {
		t.Fatalf("the list shows %d requests, want only the new tenant's", len(rows))
	}
	// The office still sees the old household's request.
	var agent string
	must(db.Get(&agent, `SELECT id FROM people WHERE username = 'agent.wong'`))
	a, err := authStore.Actor(ctx, agent)
	must(err)
	if _, err := store.Visible(ctx, a, old.ID); err != nil {
		t.Errorf("the office lost the old household's request: %v", err)
	}
	// A disabled person (no home and no job left) no longer loads.
	_, err = db.Exec(`UPDATE people SET disabled_at = now() WHERE id = $1`, lee)
	must(err)
	if _, err := authStore.Actor(ctx, lee); err == nil {
		t.Fatal("a disabled person still loads as an actor")
	}
}
