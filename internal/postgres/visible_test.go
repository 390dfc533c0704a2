package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
	"github.com/kproperty/onestop/internal/request"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, &dbURL)) }

// The visibility rule exists twice: as Go (request.Visible, used to filter
// live events) and as SQL (used by queries). For every demo person and a set
// of requests covering every way of being related to one, both must agree.
func TestVisibleSQLMatchesGo(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, dbURL)
	if _, err := db.SeedDemo(ctx, func(string) (string, error) { return "x", nil }); err != nil {
		t.Fatal(err)
	}
	authStore := postgres.NewAuthStore(db)
	store := postgres.NewRequestStore(db)
	clk := clock.NewManual(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
	svc := request.NewService(store, clk, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))

	actors := map[string]*auth.Actor{}
	var usernames []string
	if err := db.Select(&usernames, `SELECT username FROM people`); err != nil {
		t.Fatal(err)
	}
	for _, u := range usernames {
		var id string
		if err := db.Get(&id, `SELECT id FROM people WHERE username = $1`, u); err != nil {
			t.Fatal(err)
		}
		a, err := authStore.Actor(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		actors[u] = a
	}
	cat := func(prop string) string {
		var id string
		if err := db.Get(&id, `SELECT c.id FROM service_categories c JOIN properties p ON p.id = c.property_id WHERE p.code = $1 AND c.code = 'plumbing'`, prop); err != nil {
			t.Fatal(err)
		}
		return id
	}
	submit := func(by *auth.Actor, prop string, onBehalf *string) *request.Request {
		r, err := svc.Submit(ctx, by, request.SubmitInput{ClientRequestID: uuid.NewString(), CategoryID: cat(prop), Description: "test", OnBehalfOf: onBehalf})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Own submissions, one on someone's behalf, one assigned onward.
	var ids []string
	ids = append(ids, submit(actors["resident.chan"], "HV", nil).ID, submit(actors["tenant.ko"], "KT", nil).ID)
	ids = append(ids, submit(actors["guard.yip"], "HV", &actors["resident.lee"].PersonID).ID)
	r := submit(actors["resident.lee"], "HV", nil)
	if _, err := svc.Accept(ctx, actors["agent.wong"], r.ID, ptrTime(clk.Now().Add(time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Assign(ctx, actors["agent.wong"], r.ID, actors["butler.ho"].PersonID, nil); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, r.ID)

	checked := 0
	for name, a := range actors {
		for _, id := range ids {
			var raw request.Request
			if err := db.Get(&raw, `SELECT `+"id, property_id, unit_id, requester_id, assignee_id, first_responder_id"+` FROM service_requests WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			_, err := store.Visible(ctx, a, id)
			sqlSees := err == nil
			if goSees := request.Visible(a, raw.Audience); goSees != sqlSees {
				t.Errorf("%s on %s: Go says %v, SQL says %v (err %v)", name, id, goSees, sqlSees, err)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("only %d pairs checked", checked)
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
