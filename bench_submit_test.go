package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Write-path throughput: 16 residents submit requests at once over HTTP to
// one server (real PostgreSQL and Redis, loopback), and then pgbench runs
// the same statements (bench/submit.pgbench) with 16 connections against
// the same database. Run with `make bench-submit`; figures are recorded in
// docs/performance.md.
//
// The machine is shared, so the absolute figures move from run to run;
// "ratio" (OneStop's req/s over pgbench's tps, measured minutes apart) is
// the figure to compare across changes.
func BenchmarkSubmitRequest16(b *testing.B) {
	const clients = 16
	shippedRuntime(b)
	ts := newTestServer(b, withRedis(testRedisURL(), testChannel()))
	stop := sync.OnceFunc(func() { ts.Close(); ts.app.Close() })
	b.Cleanup(stop)
	seeded := seedBenchClients(b, ts)
	if len(seeded) != clients {
		b.Fatalf("seeded %d clients, want %d", len(seeded), clients)
	}
	// One keep-alive connection per phone, as the apps hold them.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	type phone struct {
		benchClient
		token string
	}
	phones := make([]phone, len(seeded))
	for i, c := range seeded {
		phones[i] = phone{c, ts.login(b, c.Username).token}
	}

	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, p := range phones {
		n := b.N / clients
		if i < b.N%clients {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range n {
				sent := time.Now()
				if err := submitOnce(hc, ts.URL, p.token, p.CategoryID, fmt.Sprintf("bench %d-%d", i, k), p.Butlered); err != nil {
					errs[i] = fmt.Errorf("%s: %w", p.Username, err)
					return
				}
				lat[i] = append(lat[i], time.Since(sent))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000 }
	rps := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")

	// The framework's first call runs a single iteration to see that the
	// benchmark works; a baseline next to it would say nothing.
	if b.N < 100 {
		return
	}
	// The server's background work (the event tailer, its Redis
	// subscription) would otherwise share the CPUs with pgbench.
	stop()
	tps, summary, err := pgbenchSubmit(testDBURL)
	if errors.Is(err, exec.ErrNotFound) {
		b.Log("pgbench is not on PATH: no baseline (apt-get install -y postgresql-client)")
		return
	}
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(tps, "pgbench-tps")
	b.ReportMetric(rps/tps, "ratio")
	b.Logf("%d submissions by %d clients: %.0f req/s, p50 %.1fms p99 %.1fms; pgbench, same statements, 16 connections: %.0f tps (%s); ratio %.3f",
		b.N, clients, rps, ms(0.50), ms(0.99), tps, summary, rps/tps)
}

// submitOnce sends one submission with a fresh clientRequestId and checks
// where it landed: with the household's butler, or at the service center.
func submitOnce(hc *http.Client, base, token, categoryID, description string, butlered bool) error {
	body, err := json.Marshal(map[string]any{
		"query": `mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id number status } }`,
		"variables": map[string]any{"in": map[string]any{
			"clientRequestId": uuid.NewString(), "categoryId": categoryID, "description": description}},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, base+"/query", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			SubmitRequest *struct{ ID, Number, Status string }
		}
		Errors []gqlError
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if len(out.Errors) > 0 || out.Data.SubmitRequest == nil {
		return fmt.Errorf("submitRequest failed: %+v", out.Errors)
	}
	want := "SUBMITTED"
	if butlered {
		want = "ASSIGNED"
	}
	if got := out.Data.SubmitRequest.Status; got != want {
		return fmt.Errorf("request %s is %s, want %s", out.Data.SubmitRequest.Number, got, want)
	}
	return nil
}

// benchClient is one resident the benchmark submits as; the table
// bench_clients holds the same rows for bench/submit.pgbench.
type benchClient struct {
	N          int    `db:"n"`
	Username   string `db:"username"`
	CategoryID string `db:"category_id"`
	Butlered   bool   `db:"butlered"`
}

// benchHouseholds are the 16 clients, spread over the two demo properties
// as their mix of households would be: Harbour View's mostly in butler
// Ho's portfolio (their requests go straight to him), two without a butler
// (theirs go to the service center, as all of K Tower's do). The first of
// each kind are the demo's own residents.
var benchHouseholds = []struct {
	property, building, unit, relation, username string
	butler                                       bool
}{
	{"HV", "A", "A-1201", "OWNER", "resident.chan", true},
	{"HV", "A", "A-1502", "OWNER", "bench.hv.a-1502", true},
	{"HV", "A", "A-1803", "TENANT", "bench.hv.a-1803", true},
	{"HV", "A", "A-2205", "OWNER", "bench.hv.a-2205", true},
	{"HV", "A", "A-2601", "OWNER", "bench.hv.a-2601", true},
	{"HV", "A", "A-3302", "OWNER", "bench.hv.a-3302", true},
	{"HV", "B", "B-0805", "OWNER", "resident.lee", false},
	{"HV", "B", "B-1107", "OWNER", "bench.hv.b-1107", false},
	{"KT", "T", "T-2301", "TENANT", "tenant.ko", false},
	{"KT", "T", "T-1202", "TENANT", "bench.kt.t-1202", false},
	{"KT", "T", "T-1505", "TENANT", "bench.kt.t-1505", false},
	{"KT", "T", "T-1808", "TENANT", "bench.kt.t-1808", false},
	{"KT", "T", "T-2503", "TENANT", "bench.kt.t-2503", false},
	{"KT", "T", "T-2806", "TENANT", "bench.kt.t-2806", false},
	{"KT", "T", "T-3101", "TENANT", "bench.kt.t-3101", false},
	{"KT", "T", "T-3307", "TENANT", "bench.kt.t-3307", false},
}

// seedBenchClients adds the benchmark's households to the demo data (in
// this package's own database; it may run several times) and returns them.
// Each resident submits in one category of their property's catalogue.
func seedBenchClients(b *testing.B, ts *testServer) []benchClient {
	b.Helper()
	ctx := context.Background()
	err := ts.app.DB.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_clients (
	n             integer PRIMARY KEY,
	username      text NOT NULL,
	person_id     uuid NOT NULL,
	unit_id       uuid NOT NULL,
	property_id   uuid NOT NULL,
	property_code text NOT NULL,
	category_id   uuid NOT NULL,
	butler_mode   boolean NOT NULL,
	butlered      boolean NOT NULL)`); err != nil {
			return err
		}
		for i, h := range benchHouseholds {
			stmts := []struct {
				q    string
				args []any
			}{
				{`INSERT INTO units (property_id, building_id, code)
SELECT p.id, b.id, $3 FROM properties p JOIN buildings b ON b.property_id = p.id AND b.code = $2
WHERE p.code = $1 ON CONFLICT (property_id, code) DO NOTHING`, []any{h.property, h.building, h.unit}},
				// The demo residents' password, so they sign in alike.
				{`INSERT INTO people (username, name, password_hash)
SELECT $1, 'Resident of ' || $2, password_hash FROM people WHERE username = 'resident.lee'
ON CONFLICT (lower(username)) DO NOTHING`, []any{h.username, h.unit}},
				{`INSERT INTO residencies (person_id, unit_id, relation)
SELECT pe.id, u.id, $4 FROM people pe, units u JOIN properties p ON p.id = u.property_id
WHERE pe.username = $3 AND p.code = $1 AND u.code = $2 ON CONFLICT (person_id, unit_id) DO NOTHING`, []any{h.property, h.unit, h.username, h.relation}},
				{`INSERT INTO butler_assignments (unit_id, butler_id, from_at)
SELECT u.id, pe.id, timestamptz '2026-01-01T00:00:00+08:00' FROM units u JOIN properties p ON p.id = u.property_id, people pe
WHERE $3::boolean AND p.code = $1 AND u.code = $2 AND pe.username = 'butler.ho'
  AND NOT EXISTS (SELECT 1 FROM butler_assignments b WHERE b.unit_id = u.id)`, []any{h.property, h.unit, h.butler}},
				{`INSERT INTO bench_clients (n, username, person_id, unit_id, property_id, property_code, category_id, butler_mode, butlered)
SELECT $5::integer, $3, pe.id, u.id, p.id, p.code,
	(SELECT c.id FROM service_categories c WHERE c.property_id = p.id AND c.active ORDER BY c.code OFFSET $5::integer % 12 LIMIT 1),
	p.service_mode = 'BUTLER', $4::boolean
FROM people pe, units u JOIN properties p ON p.id = u.property_id
WHERE pe.username = $3 AND p.code = $1 AND u.code = $2 ON CONFLICT (n) DO NOTHING`, []any{h.property, h.unit, h.username, h.butler, i + 1}},
			}
			for _, st := range stmts {
				if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
					return fmt.Errorf("seed %s: %w", h.username, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var out []benchClient
	if err := sqlx.SelectContext(ctx, ts.app.DB, &out, `SELECT n, username, category_id, butlered FROM bench_clients ORDER BY n`); err != nil {
		b.Fatal(err)
	}
	return out
}

var (
	pgbenchTPS     = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	pgbenchLatency = regexp.MustCompile(`(?m)^latency average = ([0-9.]+ ms)`)
)

// pgbenchSubmit runs bench/submit.pgbench with 16 connections for ten
// seconds and returns its transactions per second (excluding connection
// set-up) and a word on its latency.
func pgbenchSubmit(dbURL string) (tps float64, summary string, err error) {
	path, err := exec.LookPath("pgbench")
	if err != nil {
		return 0, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-n", "-f", "bench/submit.pgbench", "-c", "16", "-j", "2", "-T", "10", dbURL).CombinedOutput()
	if err != nil {
		return 0, "", fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("no tps in pgbench's output:\n%s", out)
	}
	tps, err = strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, "", err
	}
	summary = "latency average ?"
	if l := pgbenchLatency.FindSubmatch(out); l != nil {
		summary = "latency average " + string(l[1])
	}
	return tps, summary, nil
}
