package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

// run serves health and readiness and stops cleanly when its context ends,
// as it does on SIGTERM.
func TestRunServesAndShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{
		"DATABASE_URL": testDBURL,
		"REDIS_URL":    "redis://127.0.0.1:6379/0",
		"HTTP_ADDR":    addr,
		"JWT_SECRET":   "0123456789abcdef0123456789abcdef",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	get := func(path string) (int, error) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, err := get("/healthz")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became healthy: %v %d", err, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, err := get("/readyz"); err != nil || code != http.StatusOK {
		t.Fatalf("readyz: %d %v", code, err)
	}
	// GraphiQL is for development only.
	if code, _ := get("/"); code != http.StatusNotFound {
		t.Errorf("GET / outside dev answered %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if _, err := get("/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// Outside development the server refuses to start without a real secret.
func TestConfigNeedsSecret(t *testing.T) {
	err := run(context.Background(), func(k string) string {
		return map[string]string{"DATABASE_URL": testDBURL}[k]
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || err.Error() != "JWT_SECRET is required (set DEV=1 for a development secret)" {
		t.Fatalf("err = %v", err)
	}
}

// The server puts a floor under the heap at which the collector runs, but
// GOGC in the environment is the runtime's own setting and stays.
func TestTuneRuntimeSetsTheCollector(t *testing.T) {
	before, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))

	// 4 GiB is far above this process's live heap, so the percent that
	// puts the next collection there is far above Go's 100.
	stop := tuneRuntime(config.Config{GCMinHeapMiB: 4096}, func(string) string { return "" }, log)
	if got := debug.SetGCPercent(-1); got <= 100 {
		t.Errorf("GC percent = %d under a 4 GiB floor, want more than Go's 100", got)
	} else {
		debug.SetGCPercent(got)
	}
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent = %d after the floor was taken away, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit = %d after undo, want the %d before", got, limit)
	}
	if !strings.Contains(logged.String(), "min_heap_mib=4096") || !strings.Contains(logged.String(), "memory_limit") {
		t.Errorf("the start-up line does not say what was set: %s", logged.String())
	}

	tuneRuntime(config.Config{GCMinHeapMiB: 4096}, func(k string) string { return map[string]string{"GOGC": "150"}[k] }, log)()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent = %d with GOGC set: the environment's setting was overridden", got)
	}

	// The default, as a server without GC_MIN_HEAP_MIB starts.
	env := map[string]string{"DATABASE_URL": testDBURL, "DEV": "1"}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GCMinHeapMiB != 128 {
		t.Errorf("default floor = %d MiB, want 128", cfg.GCMinHeapMiB)
	}
	for v, ok := range map[string]bool{"0": true, "1024": true, "-5": false, "lots": false} {
		env["GC_MIN_HEAP_MIB"] = v
		if _, err := config.FromEnv(func(k string) string { return env[k] }); (err == nil) != ok {
			t.Errorf("GC_MIN_HEAP_MIB=%s: err = %v", v, err)
		}
	}
}
