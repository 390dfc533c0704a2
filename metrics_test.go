package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kproperty/onestop/internal/config"
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

	w.conn.Close(websocket.StatusNormalClosure, "")
	waitFor(t, 10*time.Second, "the subscription let go", func() bool {
		page = scrape(t, s.URL+"/metrics")
		return gauge(page, "onestop_subscriptions_active") == "0"
	})
	if !strings.Contains(page, `onestop_graphql_operations_total{code="OK",operation="requestEvents",type="subscription"} 1`) {
		t.Errorf("the ended subscription is not counted:\n%s", grepLines(page, "onestop_graphql_operations_total"))
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
