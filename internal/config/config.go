// Package config reads the server's settings from the environment, with
// defaults and validation in one place.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is everything the server reads from its environment.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string (DATABASE_URL).
	DatabaseURL string
	// RedisURL is the Redis connection string (REDIS_URL); empty means a
	// single instance with in-process event delivery.
	RedisURL string
	// RedisChannel is the pub/sub channel that carries committed events
	// between instances (REDIS_CHANNEL, default onestop:request-events).
	// Instances that share a database must share it.
	RedisChannel string
	// EventPollInterval is how often each instance reads the event log
	// without being woken (EVENT_POLL_INTERVAL, default 1s): the longest an
	// event whose publish was lost waits.
	EventPollInterval time.Duration
	// DBPoolSize is how many PostgreSQL connections the API's calls share
	// (DB_POOL_SIZE, default 20); LiveDBPoolSize is the live path's own
	// (LIVE_DB_POOL_SIZE, default 4), so delivery never queues behind
	// the calls; PlannedDBPoolSize is the connections that serve the apps'
	// list pages and the key look-ups every call makes, with one plan per
	// session (PLANNED_DB_POOL_SIZE, default 10).
	DBPoolSize, LiveDBPoolSize, PlannedDBPoolSize int
	// GCMinHeapMiB is the heap the garbage collector lets grow before it
	// collects (GC_MIN_HEAP_MIB, default 128; 0 leaves Go's rule alone,
	// and so does GOGC in the environment). A list page allocates about a
	// megabyte that is garbage once it is written, over a live heap of
	// tens of megabytes: by Go's rule alone (collect at twice the live
	// heap) the collector runs many times a second. A large live heap
	// (10,000 idle websockets) is past the floor and collects by Go's rule.
	GCMinHeapMiB int
	// SubscriberBuffer is how many events may queue for one subscriber
	// before it is closed as too slow (SUBSCRIBER_BUFFER, default 256).
	SubscriberBuffer int
	// WSPingInterval is how often websockets are pinged; a client that
	// misses two pongs is dropped (WS_PING_INTERVAL, default 15s).
	WSPingInterval time.Duration
	// WSInitTimeout is how long a websocket may take to send
	// connection_init (WS_INIT_TIMEOUT, default 5s).
	WSInitTimeout time.Duration
	// HTTPAddr is where the server listens (HTTP_ADDR, default :8080; with
	// DEV=1 127.0.0.1:8080, since a development server has a known secret
	// and known passwords).
	HTTPAddr string
	// AdminAddr is where the admin listener (pprof) listens (ADMIN_ADDR,
	// e.g. 127.0.0.1:6060); unset, there is none. Loopback addresses only:
	// profiles show the server's internals.
	AdminAddr string
	// LogJSON writes logs as JSON lines (LOG_FORMAT=json, the default
	// outside development) rather than text (LOG_FORMAT=text, the default
	// with DEV=1).
	LogJSON bool
	// JWTSecret signs access tokens (JWT_SECRET); required unless DEV=1.
	JWTSecret string
	// DemoData loads the demo estate and accounts at start-up (DEMO_DATA=1).
	DemoData bool
	// Dev serves GraphiQL at / and allows a built-in JWT secret (DEV=1).
	Dev bool
	// AllowedOrigins are browser origins allowed to open websockets
	// (ALLOWED_ORIGINS, comma-separated host patterns such as
	// console.example.com or *.example.com).
	AllowedOrigins []string
	// AccessTTL is the access token lifetime (ACCESS_TOKEN_TTL, default 15m).
	AccessTTL time.Duration
	// ShutdownTimeout bounds a graceful shutdown (SHUTDOWN_TIMEOUT, 20s).
	ShutdownTimeout time.Duration
	// PushWebhookURL is the push gateway notifications are POSTed to
	// (PUSH_WEBHOOK_URL); unset, pushes are only logged.
	PushWebhookURL string
	// TickInterval is how often the scheduled jobs run: the promise clock,
	// auto-confirmation and phone pushes (TICK_INTERVAL, default 15s; zero
	// runs none, which tests use to drive them by hand).
	TickInterval time.Duration
	// StatsFoldInterval is how often the request changes logged for the
	// statistics are folded into the per-day rollup (STATS_FOLD_INTERVAL,
	// default 1s; zero folds only when statistics are read). A read folds
	// what is pending before it answers, so this bounds what it may wait
	// for, not whether the answer is current.
	StatsFoldInterval time.Duration
	// AutoConfirmDays is how many days completed work waits for the
	// customer's answer before it is confirmed for them (AUTO_CONFIRM_DAYS,
	// default 3).
	AutoConfirmDays int
	// CallbackDue is how soon after confirmation a callback is due
	// (CALLBACK_DUE, default 24h).
	CallbackDue time.Duration
	// CallbackAttempts is how many failed callback attempts close the task
	// as unreachable (CALLBACK_MAX_ATTEMPTS, default 3).
	CallbackAttempts int
	// PasswordCost is the bcrypt cost for demo passwords; zero means
	// bcrypt's default. Tests lower it: the race detector makes bcrypt slow.
	PasswordCost int
	// TrustedProxies are the load balancers (CIDRs) whose X-Forwarded-For
	// names the caller's address for rate limits (TRUSTED_PROXIES,
	// comma-separated; default none: the peer address counts).
	TrustedProxies []netip.Prefix
	// OperationTimeout bounds one query or mutation, SQL included
	// (OPERATION_TIMEOUT, default 15s); subscriptions are not bounded.
	OperationTimeout time.Duration
	// BodyReadTimeout bounds reading one HTTP request, body included
	// (BODY_READ_TIMEOUT, default 30s), so a trickled body cannot hold a
	// connection open.
	BodyReadTimeout time.Duration
	// RateLimit turns the per-person and per-address allowances on
	// (RATE_LIMIT, default on; "off" only for load tests on loopback). The
	// per-account login limit is always on.
	RateLimit bool
	// IdleTimeout is how long a keep-alive connection may sit idle
	// (IDLE_TIMEOUT, default 2m).
	IdleTimeout time.Duration
	// WSSessionCheck is how often an open websocket's session is checked
	// again (WS_SESSION_CHECK, default 5s): a socket whose session ended
	// (logout, a replayed refresh token) closes within this long.
	WSSessionCheck time.Duration
	// StorageURL is where request photos and documents are kept
	// (STORAGE_URL): a gocloud.dev bucket URL, by default a directory on
	// local disk (DefaultStorageURL).
	StorageURL string
	// Tracing sends OpenTelemetry traces to an OTLP/HTTP collector: on
	// when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
	// names one, unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
	// The exporter reads the other OTEL_* variables itself.
	Tracing bool
}

// DefaultStorageURL keeps files on local disk when STORAGE_URL is unset.
const DefaultStorageURL = "file:///var/lib/onestop/files?create_dir=1&no_tmp_dir=1"

// LocalStorageURL is a directory under the system's temporary directory,
// for development and tests.
func LocalStorageURL() string {
	return "file://" + filepath.ToSlash(filepath.Join(os.TempDir(), "onestop-files")) + "?create_dir=1&no_tmp_dir=1"
}

// devSecret signs tokens in development only, so that a restarted dev
// server keeps accepting the tokens it issued.
const devSecret = "onestop-dev-only-secret-never-use-in-production"

// DefaultDatabaseURL is the local database a developer gets without setting
// DATABASE_URL.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/onestop?sslmode=disable"

// JSONLogs reports whether logs are to be JSON lines: LOG_FORMAT=json, or
// LOG_FORMAT unset outside development. It is read before the rest of the
// configuration, so that configuration errors are logged in that format.
func JSONLogs(getenv func(string) string) bool {
	switch getenv("LOG_FORMAT") {
	case "json":
		return true
	case "":
		return !truthy(getenv("DEV"))
	}
	return false
}

// DefaultDevAddr is where a development server listens without HTTP_ADDR:
// loopback only, since it signs tokens with a built-in secret and may hold
// demo accounts with published passwords.
const DefaultDevAddr = "127.0.0.1:8080"

// RedactURL returns a connection string fit for a log line: the password,
// in URL form (postgres://user:secret@host/db) or key=value form
// (password=secret), is replaced.
func RedactURL(conn string) string {
	if u, err := url.Parse(conn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return passwordField.ReplaceAllString(conn, "${1}xxxxx")
}

var passwordField = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// DefaultRedisChannel carries committed events when REDIS_CHANNEL is unset.
const DefaultRedisChannel = "onestop:request-events"

// FromEnv builds a Config from getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL:    getenv("DATABASE_URL"),
		RedisURL:       getenv("REDIS_URL"),
		RedisChannel:   or(getenv("REDIS_CHANNEL"), DefaultRedisChannel),
		HTTPAddr:       getenv("HTTP_ADDR"),
		AdminAddr:      getenv("ADMIN_ADDR"),
		JWTSecret:      getenv("JWT_SECRET"),
		DemoData:       truthy(getenv("DEMO_DATA")),
		PushWebhookURL: getenv("PUSH_WEBHOOK_URL"),
		Dev:            truthy(getenv("DEV")),
		RateLimit:      strings.ToLower(strings.TrimSpace(getenv("RATE_LIMIT"))) != "off",
		StorageURL:     getenv("STORAGE_URL"),
	}
	if c.StorageURL == "" {
		c.StorageURL = DefaultStorageURL
		if c.Dev {
			c.StorageURL = LocalStorageURL()
		}
	}
	for _, o := range strings.Split(getenv("ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	var err error
	if c.AccessTTL, err = duration(getenv, "ACCESS_TOKEN_TTL", 15*time.Minute); err != nil {
		return c, err
	}
	if c.ShutdownTimeout, err = duration(getenv, "SHUTDOWN_TIMEOUT", 20*time.Second); err != nil {
		return c, err
	}
	if c.TickInterval, err = duration(getenv, "TICK_INTERVAL", 15*time.Second); err != nil {
		return c, err
	}
	if c.StatsFoldInterval, err = duration(getenv, "STATS_FOLD_INTERVAL", time.Second); err != nil {
		return c, err
	}
	if c.EventPollInterval, err = duration(getenv, "EVENT_POLL_INTERVAL", time.Second); err != nil {
		return c, err
	}
	if c.WSPingInterval, err = duration(getenv, "WS_PING_INTERVAL", 15*time.Second); err != nil {
		return c, err
	}
	if c.WSInitTimeout, err = duration(getenv, "WS_INIT_TIMEOUT", 5*time.Second); err != nil {
		return c, err
	}
	if c.OperationTimeout, err = duration(getenv, "OPERATION_TIMEOUT", 15*time.Second); err != nil {
		return c, err
	}
	if c.BodyReadTimeout, err = duration(getenv, "BODY_READ_TIMEOUT", 30*time.Second); err != nil {
		return c, err
	}
	if c.IdleTimeout, err = duration(getenv, "IDLE_TIMEOUT", 2*time.Minute); err != nil {
		return c, err
	}
	if c.WSSessionCheck, err = duration(getenv, "WS_SESSION_CHECK", 5*time.Second); err != nil {
		return c, err
	}
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			if a, aerr := netip.ParseAddr(p); aerr == nil {
				prefix, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			return c, fmt.Errorf("TRUSTED_PROXIES: %q is not an address or CIDR such as 10.0.0.0/8", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	if c.DBPoolSize, err = count(getenv, "DB_POOL_SIZE", 20); err != nil {
		return c, err
	}
	if c.LiveDBPoolSize, err = count(getenv, "LIVE_DB_POOL_SIZE", 4); err != nil {
		return c, err
	}
	if c.PlannedDBPoolSize, err = count(getenv, "PLANNED_DB_POOL_SIZE", 10); err != nil {
		return c, err
	}
	c.GCMinHeapMiB = 128
	if v := getenv("GC_MIN_HEAP_MIB"); v != "" {
		if c.GCMinHeapMiB, err = strconv.Atoi(v); err != nil || c.GCMinHeapMiB < 0 {
			return c, fmt.Errorf("GC_MIN_HEAP_MIB: %q is not a whole number of MiB (0 for none)", v)
		}
	}
	c.SubscriberBuffer = 256
	if v := getenv("SUBSCRIBER_BUFFER"); v != "" {
		if c.SubscriberBuffer, err = strconv.Atoi(v); err != nil || c.SubscriberBuffer < 1 {
			return c, fmt.Errorf("SUBSCRIBER_BUFFER: %q is not a positive number", v)
		}
	}
	if c.CallbackDue, err = duration(getenv, "CALLBACK_DUE", 24*time.Hour); err != nil {
		return c, err
	}
	if c.AutoConfirmDays, err = count(getenv, "AUTO_CONFIRM_DAYS", 3); err != nil {
		return c, err
	}
	if c.CallbackAttempts, err = count(getenv, "CALLBACK_MAX_ATTEMPTS", 3); err != nil {
		return c, err
	}
	c.LogJSON = JSONLogs(getenv)
	c.Tracing = (getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "") &&
		!strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") && getenv("OTEL_TRACES_EXPORTER") != "none"
	if c.Tracing {
		key := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
		if getenv(key) == "" {
			key = "OTEL_EXPORTER_OTLP_PROTOCOL"
		}
		if p := getenv(key); p != "" && p != "http/protobuf" {
			return c, fmt.Errorf("%s: %q is not supported; traces are sent as http/protobuf", key, p)
		}
	}
	if f := getenv("LOG_FORMAT"); f != "" && f != "json" && f != "text" {
		return c, fmt.Errorf("LOG_FORMAT: %q is neither json nor text", f)
	}
	if c.AdminAddr != "" {
		host, _, err := net.SplitHostPort(c.AdminAddr)
		ip := net.ParseIP(host)
		if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return c, fmt.Errorf("ADMIN_ADDR: %q is not a loopback address such as 127.0.0.1:6060 (profiles are not for the network)", c.AdminAddr)
		}
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
		if c.Dev {
			c.HTTPAddr = DefaultDevAddr
		}
	}
	if c.DatabaseURL == "" {
		if !c.Dev {
			return c, errors.New("DATABASE_URL is required")
		}
		c.DatabaseURL = DefaultDatabaseURL
	}
	switch {
	case c.JWTSecret == "" && c.Dev:
		c.JWTSecret = devSecret
	case c.JWTSecret == "":
		return c, errors.New("JWT_SECRET is required (set DEV=1 for a development secret)")
	case len(c.JWTSecret) < 32 && !c.Dev:
		return c, errors.New("JWT_SECRET must be at least 32 characters")
	}
	return c, nil
}

func duration(getenv func(string) string, key string, def time.Duration) (time.Duration, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration such as 15m", key, v)
	}
	return d, nil
}

func count(getenv func(string) string, key string, def int) (int, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive whole number", key, v)
	}
	return n, nil
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
