// Package metrics holds the server's Prometheus series: GraphQL operations
// by operation and outcome, their latency, the subscriptions held open, and
// the scheduled jobs' runs. Each App has its own registry, so that several
// servers in one process (the tests) do not collide.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's set of series.
type Metrics struct {
	registry *prometheus.Registry
	// Operations counts GraphQL operations by root field (the operation
	// label: a field of the schema, so the label stays bounded whatever
	// operation names clients choose), type and outcome (OK or the first
	// error's extensions.code).
	Operations *prometheus.CounterVec
	// Duration is how long queries and mutations take, and how long
	// subscriptions stay open.
	Duration *prometheus.HistogramVec
	// Subscriptions is how many subscriptions are open now.
	Subscriptions prometheus.Gauge
	jobRuns       *prometheus.CounterVec
	jobDuration   *prometheus.HistogramVec
}

// New makes the series, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		Operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onestop_graphql_operations_total",
			Help: "GraphQL operations by root field, operation type and outcome (OK or the error code).",
		}, []string{"operation", "type", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onestop_graphql_operation_duration_seconds",
			Help:    "Time to answer a query or mutation, or how long a subscription stayed open, by root field and type.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 60, 600, 3600},
		}, []string{"operation", "type"}),
		Subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "onestop_subscriptions_active",
			Help: "Subscriptions open on this instance.",
		}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onestop_scheduled_job_runs_total",
			Help: "Runs of the scheduled jobs by job and result (ok or error).",
		}, []string{"job", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "onestop_scheduled_job_duration_seconds",
			Help:    "How long one run of a scheduled job took.",
			Buckets: prometheus.DefBuckets,
		}, []string{"job"}),
	}
	m.registry.MustRegister(m.Operations, m.Duration, m.Subscriptions, m.jobRuns, m.jobDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the series in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Job wraps a scheduled job so that each run is counted and timed.
func (m *Metrics) Job(name string, job func(context.Context) (int, error)) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		start := time.Now()
		n, err := job(ctx)
		m.jobDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		result := "ok"
		if err != nil {
			result = "error"
		}
		m.jobRuns.WithLabelValues(name, result).Inc()
		return n, err
	}
}
