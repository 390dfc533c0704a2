package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jmoiron/sqlx"

	"github.com/kproperty/onestop/bench/bare"
	"github.com/kproperty/onestop/bench/dataset"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
)

// The live path, each case next to a bare gqlgen broadcast server
// (bench/bare) with the same audience over the same protocol
// (graphql-transport-ws; the bare server runs gqlgen's own transport):
//
//   - BenchmarkLiveAudience: N residents, each their own household, and 50
//     agents subscribed; 20 new requests a second offered for 60 seconds.
//     Reported: achieved changes a second, event-to-phone p50/p99, and
//     the servers' heap and RSS per idle subscription (after GC).
//   - BenchmarkLiveProperties: the same across 20 properties: N residents
//     spread over them, each their own household, and 5 agents of each
//     property subscribed; 100 new requests a second offered for 60
//     seconds, each reaching its resident and its property's agents only.
//     Reported: achieved changes a second and event-to-phone p50/p99.
//   - BenchmarkLiveOneChange: 1,000 subscribers of one household's
//     changes; 100 changes, 5 a second. Reported: p50/p99 and the server's
//     CPU per message delivered.
//
// The phones run in a child process (this test binary again, running
// TestLivePhones), so the server process's memory, CPU and file
// descriptors are its own. A phone's sample is the time from the commit
// (OneStop: when the request service hands the committed events to the
// hub; the bare server: when the mutation made the event and handed it to
// the subscribers) to the phone having read and decoded it. Run with `make bench-live`; figures are in
// docs/performance.md.

const liveSecret = "test-secret-test-secret-test-secret!"

// liveSize is N: 10,000 unless BENCH_LIVE_N says otherwise.
func liveSize(b *testing.B) int {
	n := 10000
	if v := os.Getenv("BENCH_LIVE_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("BENCH_LIVE_N: %v", err)
		}
	}
	return n
}

// liveSeconds is how long load is offered: 60 s unless BENCH_LIVE_SECONDS.
func liveSeconds(b *testing.B) time.Duration {
	if v := os.Getenv("BENCH_LIVE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("BENCH_LIVE_SECONDS: %v", err)
		}
		return time.Duration(n) * time.Second
	}
	return 60 * time.Second
}

// raiseFileLimit lifts the soft limit on open files to the hard one: each
// subscription is a socket in the server and one in the phones' process.
func raiseFileLimit() uint64 {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	l.Cur = l.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	return l.Cur
}

// liveSide is one server under test: where its websocket is, how a phone
// signs in and subscribes, how to make a change for a household.
type liveSide struct {
	name        string
	wsURL       string
	query       string // the subscription
	field       string // its field in each payload's data
	subscribers func() int
	// submit makes one change as phone i of the audience (its household's
	// resident) and says whether it was accepted.
	submit func(hc *http.Client, i int) error
	// committed says when an event's change committed, or zero to take
	// the time the event carries.
	committed func(id string) time.Time
	stop      func()
}

// livePerson is one generated person of the live property.
type livePerson struct {
	ID     string `db:"id"`
	UnitID string `db:"unit_id"`
}

// liveData seeds a property of n households with one resident each and
// 50 agents (code LIVE, apart from the read benchmarks' BENCH) and returns
// the residents, the agents and a category.
func liveData(b *testing.B, ts *testServer, n int) (residents, agents []livePerson, categoryID string) {
	b.Helper()
	o := dataset.Default()
	o.Code, o.Units, o.Residents, o.Requests, o.Butlers, o.Technicians, o.Now = "LIVE", n, n, 0, 0, 1, time.Now()
	start := time.Now()
	if _, _, err := dataset.Seed(context.Background(), ts.app.DB.DB.DB, o); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d households (one resident each) and %d agents in %s", n, o.Agents, time.Since(start).Round(time.Second))
	ctx := context.Background()
	if err := sqlx.SelectContext(ctx, ts.app.DB, &residents, `SELECT p.id, r.unit_id FROM people p JOIN residencies r ON r.person_id = p.id
WHERE p.username LIKE 'live.r%' ORDER BY p.username LIMIT $1`, n); err != nil {
		b.Fatal(err)
	}
	if err := sqlx.SelectContext(ctx, ts.app.DB, &agents, `SELECT id, '' AS unit_id FROM people WHERE username LIKE 'live.agent%' ORDER BY username`); err != nil {
		b.Fatal(err)
	}
	if err := ts.app.DB.GetContext(ctx, &categoryID, `SELECT c.id FROM service_categories c JOIN properties p ON p.id = c.property_id
WHERE p.code = 'LIVE' AND c.code = 'plumbing'`); err != nil {
		b.Fatal(err)
	}
	return residents, agents, categoryID
}

// mintToken signs an access token for a person as the server would, with
// no session (tokens without one are checked for signature and expiry
// only): logging 10,000 people in through bcrypt would take the run's time.
func mintToken(b *testing.B, personID string) string {
	now := time.Now()
	t, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: personID, Issuer: "onestop",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Hour))}).SignedString([]byte(liveSecret))
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// startLiveOneStop starts a full server on the real clock (the events'
// timestamps are compared with the phones' clock), with Redis.
func startLiveOneStop(b *testing.B) *testServer {
	b.Helper()
	shippedRuntime(b)
	cfg := config.Config{DatabaseURL: testDBURL, JWTSecret: liveSecret, AccessTTL: time.Hour, PasswordCost: 4, DemoData: true}
	withRedis(testRedisURL(), testChannel(), func(c *config.Config) { c.SubscriberBuffer = 256 })(&cfg)
	app, err := newApp(context.Background(), cfg, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ts := &testServer{Server: httptest.NewServer(app.Handler), app: app}
	b.Cleanup(func() { ts.Close(); app.Close() })
	return ts
}

func onestopSide(ts *testServer, tokens []string, categoryID string) *liveSide {
	cats := make([]string, len(tokens))
	for i := range cats {
		cats[i] = categoryID
	}
	return onestopSideCats(ts, tokens, cats)
}

// onestopSideCats is onestopSide where phone i files its requests in
// category cats[i] (its own property's).
func onestopSideCats(ts *testServer, tokens, cats []string) *liveSide {
	// Stamp each event the moment its transaction has committed, on its
	// way to the hub's publisher.
	stamps := &stampingPublisher{next: ts.app.Hub, at: map[int64]time.Time{}}
	ts.app.Requests.SetPublisher(stamps)
	return &liveSide{
		committed: stamps.when,
		name:      "OneStop", wsURL: "ws" + strings.TrimPrefix(ts.URL, "http") + "/query",
		query: `subscription { requestEvents { id at } }`, field: "requestEvents",
		subscribers: ts.app.Hub.Subscribers,
		submit: func(hc *http.Client, i int) error {
			return submitOnce(hc, ts.URL, tokens[i], cats[i], "live bench", false)
		},
		stop: func() {},
	}
}

func bareSide(residents []livePerson) *liveSide {
	return bareSideProps(residents, nil)
}

// bareSideProps is bareSide where resident i's changes name property
// props[i], so that only that property's agents hear them (nil: every
// agent does).
func bareSideProps(residents []livePerson, props []string) *liveSide {
	h, count := bare.NewHandler()
	srv := httptest.NewServer(h)
	return &liveSide{
		name: "bare gqlgen", wsURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/query",
		query: `subscription { events { id at } }`, field: "events",
		subscribers: count,
		committed:   func(string) time.Time { return time.Time{} },
		submit: func(hc *http.Client, i int) error {
			vars := map[string]any{"h": residents[i].UnitID, "p": nil}
			if props != nil {
				vars["p"] = props[i]
			}
			_, err := postJSON(hc, srv.URL+"/query", "", map[string]any{
				"query":     `mutation($h: ID!, $p: ID) { submit(household: $h, description: "live bench", property: $p) { id } }`,
				"variables": vars})
			return err
		},
		stop: srv.Close,
	}
}

// liveResult is one side's figures.
type liveResult struct {
	offered, done, failed int
	changesPerSec         float64
	delivered, expected   int
	p50, p99, max         float64 // ms
	heapPerSub, rssPerSub float64 // KiB
	stackPerSub           float64 // KiB of goroutine stacks
	goroutinesPerSub      float64
	cpuPerMsg             float64 // µs
}

// phoneArrivals is what the phones' process reports: for each delivery,
// the event's id, the time it carries and when it arrived (Unix ns).
type phoneArrivals struct {
	IDs     []string `json:"ids"`
	At      []int64  `json:"at"`
	Arrived []int64  `json:"arrived"`
}

// runLive subscribes the audience through a phones' process, measures the
// server's memory with every subscription idle, then offers rate changes
// a second for d (each by a resident picked at random from pick), waits
// for the deliveries and returns the figures. fanout is how many phones
// each change reaches.
func runLive(b *testing.B, side *liveSide, payloads []string, pick []int, rate int, d time.Duration, fanout int) liveResult {
	b.Helper()
	dir := b.TempDir()
	file := filepath.Join(dir, "phones")
	if err := os.WriteFile(file, []byte(strings.Join(payloads, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	var res liveResult
	if os.Getenv("BENCH_LIVE_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1024
	}
	base := side.subscribers()
	heap0, stack0, rss0 := memNow()
	g0 := runtime.NumGoroutine()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLivePhones$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LIVE_PHONES_URL="+side.wsURL, "LIVE_PHONES_FILE="+file,
		"LIVE_PHONES_QUERY="+side.query, "LIVE_PHONES_FIELD="+side.field)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "LIVE "); ok {
				lines <- s
			}
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "ready" {
			b.Fatalf("%s phones: %s", side.name, l)
		}
	case <-time.After(10 * time.Minute):
		b.Fatalf("%s phones never got ready", side.name)
	}
	for deadline := time.Now().Add(time.Minute); side.subscribers()-base < len(payloads); {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d subscribed", side.name, side.subscribers()-base, len(payloads))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let set-up work settle
	heap1, stack1, rss1 := memNow()
	if dir := os.Getenv("BENCH_LIVE_HEAPPROFILE"); dir != "" {
		// The heap with every subscription idle, for go tool pprof
		// -base: where a subscription's bytes go.
		writeHeapProfile(b, filepath.Join(dir, strings.ReplaceAll(side.name, " ", "-")+".heap"))
	}
	res.goroutinesPerSub = float64(runtime.NumGoroutine()-g0) / float64(len(payloads))
	res.heapPerSub = float64(int64(heap1)-int64(heap0)) / float64(len(payloads)) / 1024
	res.rssPerSub = float64(int64(rss1)-int64(rss0)) / float64(len(payloads)) / 1024
	res.stackPerSub = float64(int64(stack1)-int64(stack0)) / float64(len(payloads)) / 1024

	// The offered load: one change every 1/rate seconds, each in its own
	// goroutine (at most 1,000 at once; beyond that a tick is dropped
	// and counted as not done).
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 200}, Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	cpu0 := cpuNow()
	var done, failed atomic.Int64
	var lastDone atomic.Int64
	sem := make(chan struct{}, 1000)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	start := time.Now()
	for end := start.Add(d); time.Now().Before(end); {
		<-tick.C
		res.offered++
		select {
		case sem <- struct{}{}:
		default:
			failed.Add(1)
			continue
		}
		i := pick[rand.IntN(len(pick))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := side.submit(hc, i); err != nil {
				failed.Add(1)
				return
			}
			done.Add(1)
			lastDone.Store(int64(time.Since(start)))
		}()
	}
	tick.Stop()
	wg.Wait()
	res.done, res.failed = int(done.Load()), int(failed.Load())
	res.changesPerSec = float64(res.done) / max(d, time.Duration(lastDone.Load())).Seconds()
	res.expected = res.done * fanout
	// Let the deliveries drain (up to a minute), then ask for the tally.
	time.Sleep(3 * time.Second)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if _, err := io.WriteString(stdin, "count\n"); err != nil {
			break
		}
		l, ok := <-lines
		if !ok {
			break
		}
		n, _ := strconv.Atoi(l)
		if n >= res.expected {
			break
		}
		time.Sleep(time.Second)
	}
	res.cpuPerMsg = float64((cpuNow() - cpu0).Microseconds()) / float64(max(res.expected, 1))
	_, _ = io.WriteString(stdin, "done\n")
	var arr phoneArrivals
	if l, ok := <-lines; ok {
		if err := json.Unmarshal([]byte(l), &arr); err != nil {
			b.Fatalf("%s phones: %v", side.name, err)
		}
	}
	lat := make([]time.Duration, len(arr.IDs))
	for i, id := range arr.IDs {
		from := side.committed(id)
		if from.IsZero() {
			from = time.Unix(0, arr.At[i])
		}
		lat[i] = time.Unix(0, arr.Arrived[i]).Sub(from)
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	res.delivered, res.p50, res.p99, res.max = len(lat), q(0.5), q(0.99), q(1)
	return res
}

// memNow is the process's heap in use, goroutine stacks and resident set,
// after a GC.
func memNow() (heap, stack, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	raw, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			rss = kb * 1024
		}
	}
	return m.HeapInuse, m.StackInuse, rss
}

// writeHeapProfile writes the heap profile to file.
func writeHeapProfile(b *testing.B, file string) {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// cpuNow is the CPU time this process has used.
func cpuNow() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

func (r liveResult) String() string {
	return fmt.Sprintf("%d offered, %d done (%d failed or dropped), %.1f changes/s; %d of %d deliveries, p50 %.1f ms p99 %.1f ms max %.1f ms; %.1f KiB heap, %.1f KiB of stacks, %.1f KiB RSS and %.1f goroutines per idle subscription; %.0f µs CPU per delivery",
		r.offered, r.done, r.failed, r.changesPerSec, r.delivered, r.expected, r.p50, r.p99, r.max, r.heapPerSub, r.stackPerSub, r.rssPerSub, r.goroutinesPerSub, r.cpuPerMsg)
}

// BenchmarkLiveAudience: N residents (each their own household) and 50
// agents subscribed to OneStop, then the same audience on the bare server;
// 20 changes a second offered to each for 60 seconds. Run it with
// -benchtime 1x.
func BenchmarkLiveAudience(b *testing.B) {
	limit := raiseFileLimit()
	n := liveSize(b)
	d := liveSeconds(b)
	ts := startLiveOneStop(b)
	residents, agents, cat := liveData(b, ts, n)
	tokens := make([]string, len(residents))
	var one, bar []string
	for i, r := range residents {
		tokens[i] = mintToken(b, r.ID)
		one = append(one, `{"Authorization":"Bearer `+tokens[i]+`"}`)
		bar = append(bar, `{"household":"`+r.UnitID+`"}`)
	}
	for _, a := range agents {
		one = append(one, `{"Authorization":"Bearer `+mintToken(b, a.ID)+`"}`)
		bar = append(bar, `{"agent":true}`)
	}
	pick := make([]int, len(residents))
	for i := range pick {
		pick[i] = i
	}
	b.ResetTimer()
	for b.Loop() {
		sides := []*liveSide{onestopSide(ts, tokens, cat), bareSide(residents)}
		payloads := [][]string{one, bar}
		results := make([]liveResult, 2)
		order := []int{0, 1}
		if os.Getenv("BENCH_LIVE_BARE_FIRST") != "" {
			// The side measured second finds a heap the first one's
			// sockets have just left; this puts the bare server there.
			order = []int{1, 0}
		}
		for _, k := range order {
			side := sides[k]
			results[k] = runLive(b, side, payloads[k], pick, 20, d, 1+len(agents))
			side.stop()
			b.Logf("%s, %d residents + %d agents, 20/s offered for %s: %s", side.name, n, len(agents), d, results[k])
		}
		o, g := results[0], results[1]
		b.ReportMetric(o.changesPerSec, "changes/s")
		b.ReportMetric(g.changesPerSec, "bare-changes/s")
		b.ReportMetric(o.p99, "p99-ms")
		b.ReportMetric(g.p99, "bare-p99-ms")
		b.ReportMetric(o.p99/g.p99, "p99-ratio")
		b.ReportMetric(o.heapPerSub, "heap-KiB/sub")
		b.ReportMetric(g.heapPerSub, "bare-heap-KiB/sub")
		b.ReportMetric(o.heapPerSub/g.heapPerSub, "heap-ratio")
		b.ReportMetric(o.rssPerSub, "rss-KiB/sub")
		b.ReportMetric(g.rssPerSub, "bare-rss-KiB/sub")
		b.Logf("N = %d (open-file limit %d); ratios OneStop ÷ bare: changes/s %.2f, p99 %.1f, heap per subscription %.2f, RSS per subscription %.2f; %s",
			n, limit, o.changesPerSec/g.changesPerSec, o.p99/g.p99, o.heapPerSub/g.heapPerSub, o.rssPerSub/g.rssPerSub, loadAverage())
	}
}

// liveProperties and liveAgentsEach shape BenchmarkLiveProperties.
const (
	liveProperties = 20
	liveAgentsEach = 5
)

// livePropertiesData seeds liveProperties properties (codes LP01 to LP20)
// sharing n households, one resident each, with liveAgentsEach agents
// each, and returns the residents with each one's property id and
// category, and the agents with each one's property id.
func livePropertiesData(b *testing.B, ts *testServer, n int) (residents []livePerson, props, cats []string, agents []livePerson, agentProps []string) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	for k := range liveProperties {
		o := dataset.Default()
		o.Code = fmt.Sprintf("LP%02d", k+1)
		per := n / liveProperties
		if k < n%liveProperties {
			per++
		}
		o.Units, o.Residents, o.Requests, o.Agents, o.Butlers, o.Technicians, o.Now = per, per, 0, liveAgentsEach, 0, 1, time.Now()
		id, _, err := dataset.Seed(ctx, ts.app.DB.DB.DB, o)
		if err != nil {
			b.Fatal(err)
		}
		lower := strings.ToLower(o.Code)
		var rs, as []livePerson
		if err := sqlx.SelectContext(ctx, ts.app.DB, &rs, `SELECT p.id, r.unit_id FROM people p JOIN residencies r ON r.person_id = p.id
WHERE p.username LIKE $1 ORDER BY p.username LIMIT $2`, lower+".r%", per); err != nil {
			b.Fatal(err)
		}
		if err := sqlx.SelectContext(ctx, ts.app.DB, &as, `SELECT id, '' AS unit_id FROM people WHERE username LIKE $1 ORDER BY username`, lower+".agent%"); err != nil {
			b.Fatal(err)
		}
		var cat string
		if err := ts.app.DB.GetContext(ctx, &cat, `SELECT id FROM service_categories WHERE property_id = $1 AND code = 'plumbing'`, id); err != nil {
			b.Fatal(err)
		}
		if len(rs) != per || len(as) != liveAgentsEach {
			b.Fatalf("%s: %d residents of %d, %d agents of %d", o.Code, len(rs), per, len(as), liveAgentsEach)
		}
		for range rs {
			props, cats = append(props, id), append(cats, cat)
		}
		for range as {
			agentProps = append(agentProps, id)
		}
		residents, agents = append(residents, rs...), append(agents, as...)
	}
	b.Logf("seeded %d properties: %d households (one resident each) and %d agents in %s", liveProperties, len(residents), len(agents), time.Since(start).Round(time.Second))
	return residents, props, cats, agents, agentProps
}

// BenchmarkLiveProperties: N residents (each their own household) spread
// over 20 properties, and each property's 5 agents, subscribed to OneStop,
// then the same audience on the bare server routing by property; 100
// changes a second offered to each for 60 seconds, each reaching its
// resident and its property's 5 agents. Run it with -benchtime 1x.
func BenchmarkLiveProperties(b *testing.B) {
	const rate = 100
	limit := raiseFileLimit()
	n := liveSize(b)
	d := liveSeconds(b)
	ts := startLiveOneStop(b)
	residents, props, cats, agents, agentProps := livePropertiesData(b, ts, n)
	tokens := make([]string, len(residents))
	var one, bar []string
	for i, r := range residents {
		tokens[i] = mintToken(b, r.ID)
		one = append(one, `{"Authorization":"Bearer `+tokens[i]+`"}`)
		bar = append(bar, `{"household":"`+r.UnitID+`"}`)
	}
	for i, a := range agents {
		one = append(one, `{"Authorization":"Bearer `+mintToken(b, a.ID)+`"}`)
		bar = append(bar, `{"agent":true,"property":"`+agentProps[i]+`"}`)
	}
	pick := make([]int, len(residents))
	for i := range pick {
		pick[i] = i
	}
	b.ResetTimer()
	for b.Loop() {
		sides := []*liveSide{onestopSideCats(ts, tokens, cats), bareSideProps(residents, props)}
		payloads := [][]string{one, bar}
		results := make([]liveResult, 2)
		order := []int{0, 1}
		if os.Getenv("BENCH_LIVE_BARE_FIRST") != "" {
			order = []int{1, 0} // as in BenchmarkLiveAudience
		}
		for _, k := range order {
			side := sides[k]
			results[k] = runLive(b, side, payloads[k], pick, rate, d, 1+liveAgentsEach)
			side.stop()
			b.Logf("%s, %d residents + %d agents over %d properties, %d/s offered for %s: %s",
				side.name, len(residents), len(agents), liveProperties, rate, d, results[k])
			if results[k].delivered != results[k].expected {
				// More than expected would be a change reaching
				// another property's agents; fewer, one lost.
				b.Errorf("%s: %d deliveries, %d expected", side.name, results[k].delivered, results[k].expected)
			}
		}
		o, g := results[0], results[1]
		b.ReportMetric(o.changesPerSec, "changes/s")
		b.ReportMetric(g.changesPerSec, "bare-changes/s")
		b.ReportMetric(o.p50, "p50-ms")
		b.ReportMetric(g.p50, "bare-p50-ms")
		b.ReportMetric(o.p99, "p99-ms")
		b.ReportMetric(g.p99, "bare-p99-ms")
		b.ReportMetric(o.p99/g.p99, "p99-ratio")
		b.ReportMetric(o.cpuPerMsg, "cpu-µs/msg")
		b.ReportMetric(g.cpuPerMsg, "bare-cpu-µs/msg")
		b.Logf("N = %d over %d properties (open-file limit %d); ratios OneStop ÷ bare: changes/s %.2f, p50 %.1f, p99 %.1f, CPU per delivery %.2f; %s",
			len(residents), liveProperties, limit, o.changesPerSec/g.changesPerSec, o.p50/g.p50, o.p99/g.p99, o.cpuPerMsg/g.cpuPerMsg, loadAverage())
	}
}

// BenchmarkLiveOneChange: 1,000 subscriptions of one household's changes
// (its resident's phones), then the same on the bare server; 100 changes,
// 5 a second. Run it with -benchtime 1x.
func BenchmarkLiveOneChange(b *testing.B) {
	raiseFileLimit()
	const subs = 1000
	ts := startLiveOneStop(b)
	residents, _, cat := liveData(b, ts, liveSize(b))
	token := mintToken(b, residents[0].ID)
	one, bar := make([]string, subs), make([]string, subs)
	for i := range subs {
		one[i] = `{"Authorization":"Bearer ` + token + `"}`
		bar[i] = `{"household":"` + residents[0].UnitID + `"}`
	}
	b.ResetTimer()
	for b.Loop() {
		sides := []*liveSide{onestopSide(ts, []string{token}, cat), bareSide(residents)}
		payloads := [][]string{one, bar}
		results := make([]liveResult, 2)
		for k, side := range sides {
			results[k] = runLive(b, side, payloads[k], []int{0}, 5, 20*time.Second, subs)
			side.stop()
			b.Logf("%s, %d subscribers of one household, 5/s for 20s: %s", side.name, subs, results[k])
		}
		o, g := results[0], results[1]
		b.ReportMetric(o.p99, "p99-ms")
		b.ReportMetric(g.p99, "bare-p99-ms")
		b.ReportMetric(o.cpuPerMsg, "cpu-µs/msg")
		b.ReportMetric(g.cpuPerMsg, "bare-cpu-µs/msg")
		b.Logf("ratios OneStop ÷ bare: p99 %.2f, CPU per message %.2f; %s", o.p99/g.p99, o.cpuPerMsg/g.cpuPerMsg, loadAverage())
	}
}

// TestLivePhones is the phones' process of the live benchmarks; it runs
// only when they start it. It opens one websocket per line of
// LIVE_PHONES_FILE (that line its connection_init payload), subscribes
// each with LIVE_PHONES_QUERY, prints "LIVE ready", and stamps every event
// on arrival. On "count" it prints how many events arrived; on "done" (or
// the end of its input) every arrival as JSON.
func TestLivePhones(t *testing.T) {
	url := os.Getenv("LIVE_PHONES_URL")
	if url == "" {
		t.Skip("started by the live benchmarks")
	}
	raiseFileLimit()
	raw, err := os.ReadFile(os.Getenv("LIVE_PHONES_FILE"))
	if err != nil {
		fmt.Printf("LIVE %v\n", err)
		return
	}
	payloads := strings.Split(string(raw), "\n")
	sub, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": os.Getenv("LIVE_PHONES_QUERY")}})
	field := os.Getenv("LIVE_PHONES_FIELD")
	var mu sync.Mutex
	var arr phoneArrivals
	conns := make([]*websocket.Conn, len(payloads))
	var readers sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, len(payloads))
	var dialers sync.WaitGroup
	for range 32 {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for i := range work {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
				if err == nil {
					err = c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":`+payloads[i]+`}`))
				}
				if err == nil {
					var m []byte
					if _, m, err = c.Read(ctx); err == nil && !strings.Contains(string(m), "connection_ack") {
						err = fmt.Errorf("connection_init answered %s", m)
					}
				}
				if err == nil {
					err = c.Write(ctx, websocket.MessageText, sub)
				}
				cancel()
				if err != nil {
					errs <- err
					continue
				}
				conns[i] = c
				readers.Add(1)
				go func() {
					defer readers.Done()
					for {
						_, m, err := c.Read(context.Background())
						if err != nil {
							return
						}
						now := time.Now().UnixNano()
						var msg struct {
							Type    string
							Payload struct {
								Data map[string]struct {
									ID string
									At time.Time
								}
							}
						}
						if json.Unmarshal(m, &msg) != nil {
							continue
						}
						switch msg.Type {
						case "next":
							e := msg.Payload.Data[field]
							mu.Lock()
							arr.IDs, arr.At, arr.Arrived = append(arr.IDs, e.ID), append(arr.At, e.At.UnixNano()), append(arr.Arrived, now)
							mu.Unlock()
						case "ping":
							_ = c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"pong"}`))
						}
					}
				}()
			}
		}()
	}
	for i := range payloads {
		work <- i
	}
	close(work)
	dialers.Wait()
	close(errs)
	if err := <-errs; err != nil {
		fmt.Printf("LIVE %d sockets failed, the first: %v\n", len(errs)+1, err)
		return
	}
	fmt.Println("LIVE ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && in.Text() == "count" {
		mu.Lock()
		fmt.Printf("LIVE %d\n", len(arr.IDs))
		mu.Unlock()
	}
	for _, c := range conns {
		c.CloseNow()
	}
	readers.Wait()
	out, _ := json.Marshal(&arr)
	fmt.Printf("LIVE %s\n", out)
}
