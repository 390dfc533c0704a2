package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kproperty/onestop/bench/dataset"
	"github.com/kproperty/onestop/bench/pgcount"
	"github.com/kproperty/onestop/bench/plain"
	"github.com/kproperty/onestop/internal/config"
)

// Read-path throughput on the generated 5,000-unit property (bench/dataset),
// each case next to its baseline in the same run: request(id) against a
// plain net/http + sqlx handler (bench/plain) running the same SELECTs, and
// requests(first: 20) against PostGraphile 4.14 on the same database. Run
// with `make bench-read`; figures are in docs/performance.md.

const readClients = 16

// requestByIDQuery is what a phone shows on a request's page.
const requestByIDQuery = `query($id: ID!) { request(id: $id) { id number status description category { name }
	requester { name } assignee { name } timeline(last: 20) { id type fromStatus toStatus at note actor { name } } } }`

// requestsListQuery is a list page with what each row shows.
const requestsListQuery = `{ requests(first: 20) { edges { node { id number status description category { name }
	requester { name } assignee { name } timeline(last: 20) { id type toStatus at actor { name } } } } } }`

// benchData seeds the package database with the generated property once
// and returns it. The history ends at the test servers' clock.
func benchData(b *testing.B, ts *testServer) dataset.Options {
	b.Helper()
	o := dataset.Default()
	o.Now = testEpoch
	start := time.Now()
	if _, _, err := dataset.Seed(context.Background(), ts.app.DB.DB.DB, o); err != nil {
		b.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		b.Logf("seeded %d units, %d residents, %d requests in %s", o.Units, o.Residents, o.Requests, d.Round(time.Second))
	}
	return o
}

// seededServer seeds the package database with the generated property
// (through a server of its own, which applies the migrations), then starts
// the server to measure: its live hub starts at the end of the event log,
// rather than reading the data set's events while the benchmark runs.
func seededServer(b *testing.B) (*testServer, dataset.Options) {
	b.Helper()
	shippedRuntime(b)
	seeder := newTestServer(b, nil)
	o := benchData(b, seeder)
	seeder.Close()
	seeder.app.Close()
	return startServer(b, nil), o
}

// shippedRuntime gives a benchmark's process the garbage collector
// settings a server starts with (tuneRuntime): GC_MIN_HEAP_MIB in the
// environment, or its default. GC_MIN_HEAP_MIB=0 measures with Go's
// default. Go's own settings come back when the benchmark ends.
func shippedRuntime(b *testing.B) {
	b.Helper()
	cfg, err := config.FromEnv(func(k string) string {
		switch k {
		case "DEV":
			return "1"
		case "DATABASE_URL":
			return testDBURL
		}
		return os.Getenv(k)
	})
	if err != nil {
		b.Fatal(err)
	}
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	undo := tuneRuntime(cfg, os.Getenv, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.Cleanup(func() {
		undo()
		debug.SetGCPercent(percent)
	})
}

// activeResidents returns the 16 residents of the generated property who
// made the most requests (some households made none).
func activeResidents(b *testing.B, ts *testServer, code string) []string {
	b.Helper()
	var names []string
	if err := sqlx.SelectContext(context.Background(), ts.app.DB, &names, `SELECT p.username FROM service_requests r
JOIN people p ON p.id = r.requester_id JOIN properties pr ON pr.id = r.property_id AND pr.code = $1
GROUP BY p.username ORDER BY count(*) DESC, p.username LIMIT $2`, code, readClients); err != nil || len(names) < readClients {
		b.Fatalf("%d active residents (%v)", len(names), err)
	}
	return names
}

// loginAs signs a generated person in with the data set's password.
func loginAs(b *testing.B, ts *testServer, username, password string) *client {
	b.Helper()
	c := ts.anon(b)
	var out struct{ Login struct{ AccessToken string } }
	c.must(`mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }`,
		map[string]any{"u": username, "p": password}, &out)
	c.token = out.Login.AccessToken
	return c
}

// hammer runs calls calls spread over readClients goroutines, each on its
// own keep-alive connection, and returns calls per second. do makes one
// call as client i (its k-th).
func hammer(calls int, do func(hc *http.Client, i, k int) error) (float64, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: readClients}, Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make([]error, readClients)
	var next atomic.Int64
	start := time.Now()
	for i := range readClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if next.Add(1) > int64(calls) {
					return
				}
				if err := do(hc, i, k); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(calls) / time.Since(start).Seconds(), errors.Join(errs...)
}

// postJSON posts a GraphQL operation and returns the answer's body,
// failing on an error answer.
func postJSON(hc *http.Client, url, token string, body any) ([]byte, error) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
		return nil, fmt.Errorf("%s: %s", resp.Status, out)
	}
	return out, nil
}

func getJSON(hc *http.Client, url, token string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", resp.Status, out)
	}
	return out, err
}

// readRound alternates which side goes first from one run to the next, so
// that a drift of the machine's load favours neither.
var readRound atomic.Int64

// oneStopFirst says whether this run measures OneStop before its baseline:
// every other run does. The framework's trial run (b.N = 1) takes no turn.
func oneStopFirst(b *testing.B) bool {
	return b.N < 100 || readRound.Add(1)%2 == 1
}

// BenchmarkRequestByID16 has 16 residents read their own requests, each
// call request(id) with the fields a request's page shows, first through
// the server and then through bench/plain (or the other way round), on the
// same database, for b.N calls each. Reported: both sides' req/s and
// ratio = OneStop ÷ plain.
func BenchmarkRequestByID16(b *testing.B) {
	ts, o := seededServer(b)
	type reader struct {
		token string
		ids   []string
	}
	names := activeResidents(b, ts, o.Code)
	readers := make([]reader, readClients)
	for i := range readers {
		name := names[i]
		readers[i].token = loginAs(b, ts, name, o.Password).token
		if err := sqlx.SelectContext(context.Background(), ts.app.DB, &readers[i].ids,
			`SELECT r.id FROM service_requests r JOIN people p ON p.id = r.requester_id WHERE p.username = $1 ORDER BY r.created_at`, name); err != nil || len(readers[i].ids) == 0 {
			b.Fatalf("%s has no requests (%v)", name, err)
		}
	}
	pdb, err := sqlx.Open("postgres", testDBURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pdb.Close()
	pdb.SetMaxOpenConns(20)
	pdb.SetMaxIdleConns(20)
	ps := httptest.NewServer(plain.Handler(pdb, []byte("test-secret-test-secret-test-secret!")))
	defer ps.Close()

	statements := countingServer(b).statements(b, names[0], o.Password, requestByIDQuery, map[string]any{"id": readers[0].ids[0]})
	onestop := func(hc *http.Client, i, k int) error {
		r := readers[i]
		_, err := postJSON(hc, ts.URL+"/query", r.token, map[string]any{"query": requestByIDQuery, "variables": map[string]any{"id": r.ids[k%len(r.ids)]}})
		return err
	}
	bare := func(hc *http.Client, i, k int) error {
		r := readers[i]
		_, err := getJSON(hc, ps.URL+"/request?id="+r.ids[k%len(r.ids)], r.token)
		return err
	}
	// Both answer the same.
	one, err := postJSON(http.DefaultClient, ts.URL+"/query", readers[0].token, map[string]any{"query": requestByIDQuery, "variables": map[string]any{"id": readers[0].ids[0]}})
	if err != nil {
		b.Fatal(err)
	}
	two, err := getJSON(http.DefaultClient, ps.URL+"/request?id="+readers[0].ids[0], readers[0].token)
	if err != nil {
		b.Fatal(err)
	}
	if !sameJSON(one, two) {
		b.Fatalf("the two answers differ:\n%s\n%s", one, two)
	}

	b.ResetTimer()
	var rOne, rPlain float64
	order := "plain first"
	if oneStopFirst(b) {
		order = "OneStop first"
		rOne, err = hammer(b.N, onestop)
		if err == nil {
			rPlain, err = hammer(b.N, bare)
		}
	} else {
		rPlain, err = hammer(b.N, bare)
		if err == nil {
			rOne, err = hammer(b.N, onestop)
		}
	}
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rOne, "req/s")
	b.ReportMetric(rPlain, "plain-req/s")
	b.ReportMetric(rOne/rPlain, "ratio")
	b.ReportMetric(float64(statements), "statements")
	if b.N < 100 { // the framework's trial run
		return
	}
	b.Logf("request(id), %d clients, %d calls each side (%s): OneStop %.0f req/s (%d SQL statements a call), plain net/http+sqlx %.0f req/s (5), ratio %.2f; %s",
		readClients, b.N, order, rOne, statements, rPlain, rOne/rPlain, loadAverage())
}

// sameJSON says whether two answers hold the same data, times compared as
// instants.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return equalLoose(x, y)
}

func equalLoose(x, y any) bool {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for k, v := range xv {
			if !equalLoose(v, yv[k]) {
				return false
			}
		}
		return true
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for i := range xv {
			if !equalLoose(xv[i], yv[i]) {
				return false
			}
		}
		return true
	case string:
		ys, ok := y.(string)
		if !ok {
			return false
		}
		if xv == ys {
			return true
		}
		tx, e1 := time.Parse(time.RFC3339Nano, xv)
		ty, e2 := time.Parse(time.RFC3339Nano, ys)
		return e1 == nil && e2 == nil && tx.Equal(ty)
	default:
		return fmt.Sprint(x) == fmt.Sprint(y)
	}
}

// loadAverage is the machine's load when a figure was taken.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(raw))
	return "load average " + strings.Join(f[:3], " ")
}

// listRoles are the viewers of the list benchmark: 16 people of each role
// at the generated property (its 10 butlers serve twice), each with the
// PostGraphile query that reads the rows the viewer's own page shows.
var listRoles = []struct {
	role string
	user func(code string, i int) string
	n    int
	// graphile is PostGraphile's list query for this role; its variable
	// $v is the viewer's key (graphileKey).
	graphile string
}{
	{"resident", dataset.Resident, readClients, graphileList(`allServiceRequests`, `condition: {unitId: $v}`)},
	{"agent", dataset.Agent, readClients, graphileList(`allServiceRequests`, `condition: {propertyId: $v}`)},
	{"butler", dataset.Butler, 10, graphileList(`portfolioRequests`, `butler: $v`)},
	{"technician", dataset.Technician, readClients, graphileList(`allServiceRequests`, `condition: {assigneeId: $v}`)},
}

// graphileList is requestsListQuery in PostGraphile's naming, over field
// with args: 20 requests newest first, each with its category, requester,
// assignee and its last 20 events with their actors.
func graphileList(field, args string) string {
	return `query($v: UUID!) { ` + field + `(first: 20, orderBy: [CREATED_AT_DESC, ID_DESC], ` + args + `) {
	nodes { id number status description serviceCategoryByCategoryId { name } personByRequesterId { name } personByAssigneeId { name }
	requestEventsByRequestId(last: 20, orderBy: ID_ASC) { nodes { id type toStatus at personByActorId { name } } } } } }`
}

// portfolioRequestsSQL gives PostGraphile a butler's page, which no
// condition on one column can say: the requests of the households in the
// butler's portfolio, as a function it serves as portfolioRequests
// (@sortable lets it take orderBy). It is made in the benchmark's
// database before PostGraphile starts.
const portfolioRequestsSQL = `CREATE OR REPLACE FUNCTION portfolio_requests(butler uuid) RETURNS SETOF service_requests
LANGUAGE sql STABLE AS $$
	SELECT r.* FROM service_requests r
	WHERE r.unit_id IN (SELECT b.unit_id FROM butler_assignments b WHERE b.butler_id = butler AND b.to_at IS NULL)
$$;
COMMENT ON FUNCTION portfolio_requests(uuid) IS E'@sortable'`

// graphileKey is the $v of a role's PostGraphile query for one viewer: the
// household a resident lives in, the property an agent staffs, or the
// person (a butler, a technician).
func graphileKey(b *testing.B, ts *testServer, role, username string) string {
	b.Helper()
	q := `SELECT id FROM people WHERE username = $1`
	switch role {
	case "resident":
		q = `SELECT h.unit_id FROM residencies h JOIN people p ON p.id = h.person_id WHERE p.username = $1 AND h.moved_out_at IS NULL`
	case "agent":
		q = `SELECT s.property_id FROM staff_roles s JOIN people p ON p.id = s.person_id WHERE p.username = $1 AND s.role = 'AGENT'`
	}
	var keys []string
	if err := sqlx.SelectContext(context.Background(), ts.app.DB, &keys, q, username); err != nil || len(keys) != 1 {
		b.Fatalf("%s %s: %d keys for PostGraphile (%v)", role, username, len(keys), err)
	}
	return keys[0]
}

// pageNumbers is the request numbers of a list page, in order, from either
// side's answer.
func pageNumbers(b *testing.B, body []byte) []string {
	b.Helper()
	var numbers []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if n, ok := v["number"].(string); ok {
				numbers = append(numbers, n)
			}
			for k, x := range v {
				if k != "number" {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var out struct {
		Data   any `json:"data"`
		Errors any `json:"errors"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Errors != nil {
		b.Fatalf("a list page with errors (%v): %s", err, body)
	}
	// Maps are walked in no order, but each page's numbers sit in one
	// list of nodes, which is walked in order.
	walk(out.Data)
	return numbers
}

// BenchmarkRequestsList16 reads the first page of requests(first: 20), with
// category, people and each row's timeline, as 16 people of each role at
// once, next to PostGraphile 4.14 serving the equivalent query on the same
// database (started with npx; skipped with a note when Node or the npm
// registry is missing). PostGraphile reads the same rows as each viewer's
// page, with a condition or a function in place of the visibility rule
// (listRoles); the benchmark stops if a viewer's two pages differ.
// It also counts the SQL statements one list call runs, through a counting
// proxy (bench/pgcount).
func BenchmarkRequestsList16(b *testing.B) {
	ts, o := seededServer(b)
	var propertyID string
	if err := ts.app.DB.GetContext(context.Background(), &propertyID, `SELECT id FROM properties WHERE code = $1`, o.Code); err != nil {
		b.Fatal(err)
	}
	if _, err := ts.app.DB.ExecContext(context.Background(), portfolioRequestsSQL); err != nil {
		b.Fatal(err)
	}
	pg, stopPG, note := startPostGraphile(b, testDBURL)
	defer stopPG()
	if note != "" {
		b.Log(note)
	}
	counted := countingServer(b)
	pgStatements := 0
	if pg != "" {
		pgStatements = postGraphileStatements(b, propertyID)
	}

	for _, r := range listRoles {
		b.Run(r.role, func(b *testing.B) {
			names := make([]string, readClients)
			for i := range names {
				names[i] = r.user(o.Code, 1+i%r.n)
			}
			if r.role == "resident" {
				names = activeResidents(b, ts, o.Code)
			}
			tokens := make([]string, readClients)
			keys := make([]map[string]any, readClients)
			for i, name := range names {
				tokens[i] = loginAs(b, ts, name, o.Password).token
				keys[i] = map[string]any{"v": graphileKey(b, ts, r.role, name)}
			}
			statements := counted.statements(b, names[0], o.Password, requestsListQuery, nil)
			if pg != "" {
				// Both sides read the same rows: each viewer's two pages
				// name the same requests in the same order.
				for i, name := range names {
					one, err := postJSON(http.DefaultClient, ts.URL+"/query", tokens[i], map[string]any{"query": requestsListQuery})
					if err != nil {
						b.Fatal(err)
					}
					other, err := postJSON(http.DefaultClient, pg+"/graphql", "", map[string]any{"query": r.graphile, "variables": keys[i]})
					if err != nil {
						b.Fatal(err)
					}
					if a, g := pageNumbers(b, one), pageNumbers(b, other); !slices.Equal(a, g) || len(a) == 0 {
						b.Fatalf("%s %s: OneStop's page %v, PostGraphile's %v", r.role, name, a, g)
					}
				}
			}
			onestop := func(hc *http.Client, i, _ int) error {
				out, err := postJSON(hc, ts.URL+"/query", tokens[i], map[string]any{"query": requestsListQuery})
				if err == nil && !bytes.Contains(out, []byte(`"number"`)) {
					err = fmt.Errorf("an empty page: %s", out)
				}
				return err
			}
			graphile := func(hc *http.Client, i, _ int) error {
				out, err := postJSON(hc, pg+"/graphql", "", map[string]any{"query": r.graphile, "variables": keys[i]})
				if err == nil && !bytes.Contains(out, []byte(`"number"`)) {
					err = fmt.Errorf("an empty PostGraphile page: %s", out)
				}
				return err
			}
			// What the OneStop half allocates, server and clients together,
			// per call: unlike the rates it does not move with the
			// machine's load, so a change in the server's own work shows
			// at once.
			var allocs, bytesPer float64
			oneStopRun := func() (float64, error) {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				rate, err := hammer(b.N, onestop)
				runtime.ReadMemStats(&m1)
				allocs = float64(m1.Mallocs-m0.Mallocs) / float64(b.N)
				bytesPer = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(b.N)
				return rate, err
			}
			graphileRun := func() (float64, error) { return hammer(b.N, graphile) }
			b.ResetTimer()
			var rOne, rPG float64
			var err error
			first, second := &rOne, &rPG
			fa, fb := oneStopRun, graphileRun
			order := "OneStop first"
			if !oneStopFirst(b) {
				first, second, fa, fb = &rPG, &rOne, graphileRun, oneStopRun
				order = "PostGraphile first"
			}
			if pg == "" {
				first, fa, second, fb = &rOne, oneStopRun, nil, nil
			}
			*first, err = fa()
			if err == nil && fb != nil {
				*second, err = fb()
			}
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rOne, "req/s")
			b.ReportMetric(float64(statements), "statements")
			b.ReportMetric(allocs, "allocs/call")
			b.ReportMetric(bytesPer/1024, "KiB/call")
			if pg == "" {
				b.Logf("requests(first: 20) as %s, %d clients: OneStop %.0f req/s, %d SQL statements a call; no PostGraphile baseline; %s",
					r.role, readClients, rOne, statements, loadAverage())
				return
			}
			b.ReportMetric(rPG, "postgraphile-req/s")
			b.ReportMetric(float64(pgStatements), "postgraphile-statements")
			b.ReportMetric(rOne/rPG, "ratio")
			b.Logf("requests(first: 20) as %s, %d clients, %d calls each side (%s): OneStop %.0f req/s (%d SQL statements, %.0f allocations, %.0f KiB a call), PostGraphile %.0f req/s (%d), ratio %.2f; %s",
				r.role, readClients, b.N, order, rOne, statements, allocs, bytesPer/1024, rPG, pgStatements, rOne/rPG, loadAverage())
		})
	}
}

// postGraphileListQuery is the agent's list query: the property's 20
// newest requests.
var postGraphileListQuery = listRoles[1].graphile

// startPostGraphile serves the database with PostGraphile 4.14 on a
// loopback port and returns its base URL, or "" and a note saying why not.
func startPostGraphile(b *testing.B, dbURL string) (string, func(), string) {
	b.Helper()
	npx, err := exec.LookPath("npx")
	if err != nil {
		return "", func() {}, "npx is not on PATH: no PostGraphile baseline (install Node.js)"
	}
	port := loopbackPort(b)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, npx, "-y", "postgraphile@4.14", "-c", dbURL, "-s", "public",
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--disable-query-log", "--no-setof-functions-contain-nulls")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// npx runs PostGraphile through a shell, as a child of its own: the
	// whole process group is stopped, or the server outlives the run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		return "", func() {}, fmt.Sprintf("npx postgraphile@4.14 did not start (%v): no PostGraphile baseline", err)
	}
	stop := func() {
		cancel()
		_ = cmd.Wait()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// The first start downloads the package through npm.
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := postJSON(http.DefaultClient, base+"/graphql", "", map[string]any{"query": `{ __typename }`}); err == nil {
			return base, stop, ""
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	stop()
	return "", func() {}, fmt.Sprintf("PostGraphile did not come up (npm registry unreachable?): no baseline\n%s", out.String())
}

// loopbackPort returns a loopback port nobody listens on.
func loopbackPort(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// postGraphileStatements starts a second PostGraphile whose connections
// run through a counting proxy and returns how many SQL statements its
// list query runs (the median of five calls, after a first).
func postGraphileStatements(b *testing.B, propertyID string) int {
	b.Helper()
	p, err := pgcount.Start(pgcount.Upstream(testDBURL))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	base, stop, note := startPostGraphile(b, pgcount.Rewrite(testDBURL, p))
	defer stop()
	if base == "" {
		b.Log(note)
		return 0
	}
	var counts []int
	for range 6 {
		before := p.Count()
		if _, err := postJSON(http.DefaultClient, base+"/graphql", "", map[string]any{"query": postGraphileListQuery, "variables": map[string]any{"v": propertyID}}); err != nil {
			b.Fatal(err)
		}
		counts = append(counts, int(p.Count()-before))
	}
	counts = counts[1:]
	slices.Sort(counts)
	return counts[len(counts)/2]
}

// counter is a server whose database connections run through a
// statement-counting proxy.
type counter struct {
	ts    *testServer
	proxy *pgcount.Proxy
}

// countingServer starts a second server on the package database, its
// PostgreSQL connections through a counting proxy, with its background
// reads (event polling, scheduled jobs) slowed to an hour so that they do
// not land in a count.
func countingServer(b testing.TB) *counter {
	b.Helper()
	p, err := pgcount.Start(pgcount.Upstream(testDBURL))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	ts := startServer(b, func(c *config.Config) {
		c.DatabaseURL = pgcount.Rewrite(testDBURL, p)
		c.EventPollInterval, c.TickInterval = time.Hour, time.Hour
	})
	return &counter{ts: ts, proxy: p}
}

// statements signs the user in and returns how many SQL statements one
// call of the query runs (the median of five calls, after a first that
// warms the caches), logging the last call's statements.
func (c *counter) statements(b *testing.B, username, password, query string, vars map[string]any) int {
	b.Helper()
	cl := loginAs(b, c.ts, username, password)
	var counts []int
	for k := range 6 {
		before := c.proxy.Count()
		c.proxy.Capture(k == 5)
		cl.must(query, vars, nil)
		counts = append(counts, int(c.proxy.Count()-before))
	}
	c.proxy.Capture(false)
	// What they are, by their first words, with go test -v (a benchmark's
	// log keeps only its first lines, and the figures come last).
	for _, t := range c.proxy.Texts() {
		if testing.Verbose() {
			b.Logf("  %s: %.110s", username, strings.Join(strings.Fields(t), " "))
		}
	}
	counts = counts[1:]
	slices.Sort(counts)
	return counts[len(counts)/2]
}
