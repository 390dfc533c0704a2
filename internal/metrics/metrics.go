// Package metrics holds the server's Prometheus series: GraphQL operations
// by operation and outcome, their latency, the subscriptions held open, the
// scheduled jobs' runs, the live path's events (published, relayed,
// delivered, and how late), the database pool and the phone pushes. Each
// App has its own registry, so that several servers in one process (the
// tests) do not collide.
package metrics

import (
	"context"
	"database/sql"
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
	published     *prometheus.CounterVec
	relayed       *prometheus.CounterVec
	delivered     prometheus.Counter
	deliveryLag   prometheus.Histogram
	pushes        *prometheus.CounterVec
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
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onestop_events_published_total",
			Help: "Committed events this instance sent to the broker (Redis), by result (ok or error).",
		}, []string{"result"}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onestop_events_relayed_total",
			Help: "Events the live tailer took in, by source: broker (a message that was the next event), local (this instance's own commit, the next event) or log (read from the event log).",
		}, []string{"source"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "onestop_events_delivered_total",
			Help: "Events queued to a live subscriber's stream, one per subscriber that may see the event.",
		}),
		deliveryLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "onestop_event_delivery_lag_seconds",
			Help:    "Time from the step that recorded an event to its delivery to a live subscriber.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onestop_push_sends_total",
			Help: "Attempts to send a notification to the push gateway, by result (ok or error).",
		}, []string{"result"}),
	}
	m.registry.MustRegister(m.Operations, m.Duration, m.Subscriptions, m.jobRuns, m.jobDuration,
		m.published, m.relayed, m.delivered, m.deliveryLag, m.pushes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the series in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// WatchDB adds the connection pool's figures (open, in use, idle, waits
// for a connection and the time spent waiting) as go_sql_* series labelled
// db_name.
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// WatchPublishQueue adds the number of events waiting to be sent to the
// broker, read from queued at each scrape.
func (m *Metrics) WatchPublishQueue(queued func() int) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "onestop_event_publish_queue",
		Help: "Committed events waiting in this instance's queue to be sent to the broker.",
	}, func() float64 { return float64(queued()) }))
}

// Published counts an event sent to the broker (pubsub.Observer).
func (m *Metrics) Published(err error) { m.published.WithLabelValues(result(err)).Inc() }

// Relayed counts events the tailer took in (pubsub.Observer).
func (m *Metrics) Relayed(source string, n int) { m.relayed.WithLabelValues(source).Add(float64(n)) }

// Delivered counts an event queued to a subscriber and how late it was
// (pubsub.Observer).
func (m *Metrics) Delivered(lag time.Duration) {
	m.delivered.Inc()
	m.deliveryLag.Observe(max(lag, 0).Seconds())
}

// Push counts one attempt to send a notification to the push gateway.
func (m *Metrics) Push(err error) { m.pushes.WithLabelValues(result(err)).Inc() }

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Job wraps a scheduled job so that each run is counted and timed.
func (m *Metrics) Job(name string, job func(context.Context) (int, error)) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		start := time.Now()
		n, err := job(ctx)
		m.jobDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		m.jobRuns.WithLabelValues(name, result(err)).Inc()
		return n, err
	}
}
