package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// A development server listens on loopback unless told otherwise; a
// production one on every interface.
func TestListenAddress(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DEV": "1"}, "127.0.0.1:8080"},
		{map[string]string{"DEV": "1", "HTTP_ADDR": ":9090"}, ":9090"},
		{map[string]string{"DATABASE_URL": "postgres://db/x", "JWT_SECRET": strings.Repeat("s", 32)}, ":8080"},
	} {
		cfg, err := FromEnv(env(c.env))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HTTPAddr != c.want {
			t.Errorf("%v: listens on %q, want %q", c.env, cfg.HTTPAddr, c.want)
		}
	}
}

// A connection string in a log line never shows its password.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@db:5432/onestop?sslmode=disable": "postgres://app:xxxxx@db:5432/onestop?sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/onestop":            "postgres://postgres@127.0.0.1:5432/onestop",
		"host=db user=app password=s3cret dbname=onestop":       "host=db user=app password=xxxxx dbname=onestop",
		"host=db password='s3 cret' dbname=onestop":             "host=db password=xxxxx dbname=onestop",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The admin listener (pprof) only ever listens on loopback.
func TestAdminAddrIsLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:6060": true, "[::1]:6060": true, "localhost:6060": true,
		":6060": false, "0.0.0.0:6060": false, "10.0.0.5:6060": false, "6060": false,
	} {
		_, err := FromEnv(env(map[string]string{"DEV": "1", "ADMIN_ADDR": addr}))
		if (err == nil) != ok {
			t.Errorf("ADMIN_ADDR=%s: err %v", addr, err)
		}
	}
}

// Logs are JSON lines in production and text in development unless told.
func TestLogFormat(t *testing.T) {
	prod := map[string]string{"DATABASE_URL": "postgres://db/x", "JWT_SECRET": strings.Repeat("s", 32)}
	for _, c := range []struct {
		env  map[string]string
		json bool
	}{
		{prod, true},
		{map[string]string{"DEV": "1"}, false},
		{map[string]string{"DEV": "1", "LOG_FORMAT": "json"}, true},
	} {
		cfg, err := FromEnv(env(c.env))
		if err != nil || cfg.LogJSON != c.json {
			t.Errorf("%v: LogJSON %v, %v", c.env, cfg.LogJSON, err)
		}
	}
}

// Traces are off by default and on with an OTLP endpoint, as the standard
// variables say; a protocol the server does not speak is refused.
func TestTracingFromEnv(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		tracing bool
		err     bool
	}{
		{map[string]string{}, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, true, false},
	} {
		c.env["DEV"] = "1"
		cfg, err := FromEnv(env(c.env))
		if (err != nil) != c.err {
			t.Errorf("%v: err %v", c.env, err)
			continue
		}
		if cfg.Tracing != c.tracing {
			t.Errorf("%v: tracing %v, want %v", c.env, cfg.Tracing, c.tracing)
		}
	}
}
