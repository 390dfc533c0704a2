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
	db := demoDB(t)
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
	// One waiting in K Tower's grab pool, seen by its technicians.
	if _, err := db.Exec(`INSERT INTO dispatch_rules (property_id, category_id, mode, role)
SELECT property_id, id, 'POOL', 'TECHNICIAN' FROM service_categories WHERE id = $1
ON CONFLICT (property_id, COALESCE(category_id, '00000000-0000-0000-0000-000000000000')) DO UPDATE SET mode = 'POOL', role = 'TECHNICIAN'`, cat("KT")); err != nil {
		t.Fatal(err)
	}
	pooled := submit(actors["tenant.ko"], "KT", nil)
	if _, err := svc.Accept(ctx, actors["agent.siu"], pooled.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, pooled.ID)

	checked := 0
	for name, a := range actors {
		for _, id := range ids {
			var raw request.Request
			if err := db.Get(&raw, `SELECT `+"id, property_id, unit_id, requester_id, assignee_id, first_responder_id, pooled"+` FROM service_requests WHERE id = $1`, id); err != nil {
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

	// The list, page by page, shows each person exactly the requests the
	// rule gives them, newest first.
	var all []request.Request
	if err := db.Select(&all, `SELECT id, created_at, property_id, unit_id, requester_id, assignee_id, first_responder_id, pooled FROM service_requests`); err != nil {
		t.Fatal(err)
	}
	for name, a := range actors {
		want := map[string]bool{}
		for _, r := range all {
			if request.Visible(a, r.Audience) {
				want[r.ID] = true
			}
		}
		got := map[string]bool{}
		var after *request.Cursor
		var last *request.Request
		for page := 0; ; page++ {
			rows, err := store.List(ctx, a, request.Filter{}, 3, after)
			if err != nil {
				t.Fatalf("%s: list: %v", name, err)
			}
			for _, r := range rows {
				if got[r.ID] {
					t.Fatalf("%s: %s listed twice", name, r.ID)
				}
				if last != nil && (r.CreatedAt.After(last.CreatedAt) || (r.CreatedAt.Equal(last.CreatedAt) && r.ID > last.ID)) {
					t.Fatalf("%s: not newest first at %s", name, r.ID)
				}
				got[r.ID], last = true, r
			}
			if len(rows) < 3 {
				break
			}
			after = &request.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		if len(got) != len(want) {
			t.Errorf("%s lists %d requests, the rule gives %d", name, len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Errorf("%s does not list %s", name, id)
			}
		}
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

// demoDB opens a fresh database of this test's own, holding the demo data
// (every password "x").
func demoDB(t *testing.T) *postgres.DB {
	t.Helper()
	db := pgtest.Open(t, dbURL)
	if _, err := db.SeedDemo(context.Background(), func(string) (string, error) { return "x", nil }); err != nil {
		t.Fatal(err)
	}
	return db
}

// requestService is the request service over store, its clock stopped at
// the demo's 2026-11-27 10:00 in Hong Kong, logging nowhere.
func requestService(store *postgres.RequestStore) *request.Service {
	return request.NewService(store, clock.NewManual(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
}
