package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kproperty/onestop/internal/postgres"
)

// The request's tally (what the KPIs read) is written with the events it
// counts. Over every request the tests before this one made, through every
// path (reopening, breaches and escalations, callbacks, auto-confirmation),
// it must agree with the event log and the callbacks it summarizes, and
// the per-day rollup with the requests.
func TestTallyAgreesWithTheLog(t *testing.T) {
	s := startServer(t, longTokens)
	// Make sure every path has run at least once, even when this test runs
	// alone.
	e := newEstate(t, s, "TA", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "boss": "MANAGER"})
	resident := s.login(t, e.Resident)
	agent, tech := s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	done := func(what string) string {
		r := resident.submit(e.Plumbing, what)
		agent.act(accept, map[string]any{"id": r.ID})
		agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
		tech.act(start, map[string]any{"id": r.ID})
		tech.act(complete, map[string]any{"id": r.ID, "note": "done"})
		return r.ID
	}
	r1 := done("reopened by the callback")
	resident.act(confirm, map[string]any{"id": r1, "ok": true, "rating": 4})
	agent.act(callBack, map[string]any{"id": r1, "method": "PHONE", "sat": 2})
	tech.act(start, map[string]any{"id": r1})
	tech.act(complete, map[string]any{"id": r1, "note": "again"})
	resident.act(confirm, map[string]any{"id": r1, "ok": true, "rating": 5})
	agent.must(`mutation($id: ID!) { recordCallback(id: $id, method: PHONE, outcome: NO_ANSWER) { id } }`, map[string]any{"id": r1}, nil)
	agent.act(callBack, map[string]any{"id": r1, "method": "PHONE", "sat": 5})
	late := resident.submit(e.Plumbing, "breached and escalated twice")
	agent.act(accept, map[string]any{"id": late.ID})
	done("left for auto-confirmation")
	s.clock.Advance(4 * 24 * time.Hour)
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(3 * time.Hour) // the director's turn
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.app.Callbacks.AutoConfirmDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Number string `db:"number"`
		What   string `db:"what"`
	}
	err := s.app.DB.Select(&rows, `
WITH e AS (
	SELECT request_id,
	       min(at) FILTER (WHERE type IN ('CONFIRMED', 'AUTO_CONFIRMED')) AS confirmed_at,
	       count(*) FILTER (WHERE type = 'REOPENED') AS reopens,
	       count(*) FILTER (WHERE type = 'BREACHED') AS breaches,
	       count(*) FILTER (WHERE type = 'ESCALATED') AS escalations,
	       min(at) FILTER (WHERE type = 'COMPLETED') AS first_completed,
	       min(at) FILTER (WHERE type = 'ACCEPTED') AS accepted
	FROM request_events GROUP BY request_id),
c AS (
	SELECT request_id, bool_or(outcome = 'REACHED') AS reached, coalesce(sum(satisfaction), 0) AS total, count(satisfaction) AS n
	FROM callbacks GROUP BY request_id)
SELECT r.number, concat_ws(' ',
	CASE WHEN r.confirmed_at IS DISTINCT FROM e.confirmed_at THEN 'confirmed_at' END,
	CASE WHEN r.reopen_count <> e.reopens THEN 'reopen_count' END,
	CASE WHEN r.breach_count <> e.breaches THEN 'breach_count' END,
	CASE WHEN r.escalation_count <> e.escalations THEN 'escalation_count' END,
	CASE WHEN r.first_completed_at IS DISTINCT FROM e.first_completed THEN 'first_completed_at' END,
	CASE WHEN r.accepted_at IS DISTINCT FROM e.accepted THEN 'accepted_at' END,
	CASE WHEN r.callback_reached <> coalesce(c.reached, false) THEN 'callback_reached' END,
	CASE WHEN r.callback_satisfaction_sum <> coalesce(c.total, 0) OR r.callback_satisfaction_n <> coalesce(c.n, 0) THEN 'callback_satisfaction' END
) AS what
FROM service_requests r JOIN e ON e.request_id = r.id LEFT JOIN c ON c.request_id = r.id
WHERE r.description NOT IN ('generated')`)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range rows {
		checked++
		if r.What != "" {
			t.Errorf("%s: %s disagree with the log", r.Number, r.What)
		}
	}
	if checked < 3 {
		t.Fatalf("only %d requests to check", checked)
	}
	var tally struct {
		Breaches    int `db:"breach_count"`
		Escalations int `db:"escalation_count"`
	}
	if err := s.app.DB.Get(&tally, `SELECT breach_count, escalation_count FROM service_requests WHERE id = $1`, late.ID); err != nil {
		t.Fatal(err)
	}
	if tally.Breaches != 1 || tally.Escalations != 2 {
		t.Fatalf("the late request's tally %+v, want one breach and two escalations", tally)
	}
	// The per-day rollup the figures read is folded from the changes the
	// same writes log: over every request the tests made, once folded, it is
	// what a rebuild from them gives.
	diff, err := rollupDiff(s.app.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Fatalf("the rollup disagrees with the requests: %s", diff)
	}
}

// rollupDiff compares the per-day rollup of one property (every property
// when nil), as folding the request changes left it, with a rebuild from
// the requests, and says where they differ ("" when they agree). The
// rebuild is rolled back.
func rollupDiff(db *postgres.DB, property *string) (string, error) {
	if _, err := postgres.NewStatsStore(db).Fold(context.Background()); err != nil {
		return "", err
	}
	const rows = `SELECT concat_ws(' | ', property_id, day, total, by_status, by_category, accept_minutes, complete_minutes,
	open_promises, verdicts, kept, breaches, escalations, completed, reopened, confirmed, called_back, satisfaction_sum, satisfaction_n)
	FROM request_day_stats WHERE total > 0 AND ($1::uuid IS NULL OR property_id = $1) ORDER BY property_id, day`
	const staffRows = `SELECT concat_ws(' | ', property_id, day, assignee_id, total, jobs_done, open_promises, verdicts, kept,
	ratings, rating_sum, timeliness_n, timeliness_sum, attitude_n, attitude_sum)
	FROM request_day_staff_stats WHERE total > 0 AND ($1::uuid IS NULL OR property_id = $1) ORDER BY property_id, day, assignee_id`
	var kept, keptStaff, rebuilt, rebuiltStaff []string
	errRollback := errors.New("rolled back")
	err := db.InTx(context.Background(), func(tx *sqlx.Tx) error {
		if err := tx.Select(&kept, rows, property); err != nil {
			return err
		}
		if err := tx.Select(&keptStaff, staffRows, property); err != nil {
			return err
		}
		if _, err := tx.Exec(`SELECT request_day_stats_rebuild($1)`, property); err != nil {
			return err
		}
		if err := tx.Select(&rebuilt, rows, property); err != nil {
			return err
		}
		if err := tx.Select(&rebuiltStaff, staffRows, property); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return "", err
	}
	if !slices.Equal(kept, rebuilt) {
		return fmt.Sprintf("the rollup\n%s\nrebuilt from the requests\n%s", strings.Join(kept, "\n"), strings.Join(rebuilt, "\n")), nil
	}
	if !slices.Equal(keptStaff, rebuiltStaff) {
		return fmt.Sprintf("the per-worker rollup\n%s\nrebuilt from the requests\n%s", strings.Join(keptStaff, "\n"), strings.Join(rebuiltStaff, "\n")), nil
	}
	return "", nil
}
