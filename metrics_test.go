package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/notification"
)

// scrape reads a metrics page.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

// gauge reads one unlabelled series' value from a metrics page.
func gauge(page, name string) string {
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// /metrics names the operations by root field and outcome, their latency,
// the subscriptions held and the scheduled jobs' runs, as Prometheus
// scrapes them; the admin listener serves pprof.
func TestMetricsScraped(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.AdminAddr = "127.0.0.1:0" })
	lee := s.login(t, "resident.lee")
	lee.must(`{ me { id } }`, nil, nil)
	s.anon(t).fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	s.anon(t).do(`{ me { id `, nil) // does not parse
	w := lee.ws()
	w.subscribe("1", nil, nil)
	if _, err := s.app.Jobs[0](context.Background()); err != nil {
		t.Fatal(err)
	}

	var page string
	waitFor(t, 10*time.Second, "one subscription held", func() bool {
		page = scrape(t, s.URL+"/metrics")
		return gauge(page, "onestop_subscriptions_active") == "1"
	})
	for _, series := range []string{
		`onestop_graphql_operations_total{code="OK",operation="login",type="mutation"} 1`,
		`onestop_graphql_operations_total{code="OK",operation="me",type="query"} 1`,
		`onestop_graphql_operations_total{code="UNAUTHENTICATED",operation="me",type="query"} 1`,
		`onestop_graphql_operations_total{code="INVALID_INPUT",operation="(none)",type="invalid"} 1`,
		`onestop_graphql_operation_duration_seconds_bucket{operation="me",type="query",le="+Inf"} 2`,
		`onestop_scheduled_job_runs_total{job="promise_clock",result="ok"} 1`,
		`onestop_scheduled_job_duration_seconds_count{job="promise_clock"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(page, series) {
			t.Errorf("no %s in\n%s", series, grepLines(page, "onestop_"))
		}
	}

	// The gauge and the operation's count are settled by different
	// goroutines as the subscription ends (the hub lets go, the
	// operation returns), in no set order: both are waited for.
	w.conn.Close(websocket.StatusNormalClosure, "")
	const ended = `onestop_graphql_operations_total{code="OK",operation="requestEvents",type="subscription"} 1`
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		page = scrape(t, s.URL+"/metrics")
		held, counted := gauge(page, "onestop_subscriptions_active"), strings.Contains(page, ended)
		if held == "0" && counted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the socket closed: %s subscriptions held; the ended one counted: %v\n%s",
				held, counted, grepLines(page, "onestop_graphql_operations_total"))
		}
	}

	// pprof answers on the admin listener, which is loopback only.
	if !strings.HasPrefix(s.app.AdminAddr, "127.0.0.1:") {
		t.Fatalf("admin listener on %q", s.app.AdminAddr)
	}
	resp, err := http.Get("http://" + s.app.AdminAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pprof: %d", resp.StatusCode)
	}
	if resp, err := http.Get(s.URL + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("pprof is served on the public listener")
		}
	}
}

func grepLines(page, prefix string) string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The live path, the database pool and the push gateway are in /metrics
// too: events published to the broker, taken in by the tailer and
// delivered to subscribers, how late they arrived, what waits to be
// published, the pool's connections and waits, and pushes by result.
func TestLiveMetricsScraped(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
	)
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
		}
	}))
	defer gateway.Close()
	s := startServer(t, func(c *config.Config) {
		longTokens(c)
		c.PushWebhookURL = gateway.URL
	})
	e := newEstate(t, s, "ME", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech := s.login(t, e.user("tech"))

	w := resident.ws()
	w.subscribe("1", nil, nil)
	waitFor(t, 10*time.Second, "the subscription registered", func() bool { return s.app.Hub.Subscribers() == 1 })
	r := resident.submit(e.Plumbing, "Leak")
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	if got := types(w.events(3)); got != "SUBMITTED ACCEPTED ASSIGNED" {
		t.Fatalf("events %s", got)
	}
	// The first push fails and is retried after its backoff.
	push := s.app.Jobs[2]
	if _, err := push(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(notification.Backoff(1) + time.Second)
	if _, err := push(context.Background()); err != nil {
		t.Fatal(err)
	}

	page := scrape(t, s.URL+"/metrics")
	for _, series := range []string{
		`onestop_events_published_total{result="ok"} `,
		`onestop_events_relayed_total{source=`,
		`onestop_events_delivered_total 3`,
		`onestop_event_delivery_lag_seconds_count 3`,
		`onestop_event_publish_queue `,
		`go_sql_in_use_connections{db_name="onestop"} `,
		`go_sql_idle_connections{db_name="onestop"} `,
		`go_sql_wait_count_total{db_name="onestop"} `,
		`go_sql_wait_duration_seconds_total{db_name="onestop"} `,
		`onestop_push_sends_total{result="ok"} `,
		`onestop_push_sends_total{result="error"} 1`,
	} {
		if !strings.Contains(page, series) {
			t.Errorf("no %s in\n%s", series, grepLines(page, "onestop_"))
		}
	}
	// Three events, each taken in once, whether from a broker message, the
	// instance's own commit or the log.
	relayed := 0
	for _, m := range regexp.MustCompile(`(?m)^onestop_events_relayed_total\{source="(?:broker|local|log)"\} (\d+)$`).FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(m[1])
		relayed += n
	}
	if relayed < 3 {
		t.Errorf("%d events relayed:\n%s", relayed, grepLines(page, "onestop_events_relayed_total"))
	}
}
