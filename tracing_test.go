package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
)

// startTracedServer starts a server whose spans go to an in-memory
// recorder instead of a collector.
func startTracedServer(t *testing.T) (*testServer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg := config.Config{
		DatabaseURL:  testDBURL,
		JWTSecret:    "test-secret-test-secret-test-secret!",
		DemoData:     true,
		AccessTTL:    72 * time.Hour,
		PasswordCost: 4,
	}
	clk := clock.NewManual(testEpoch)
	app, err := newTracedApp(context.Background(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)), tp)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{Server: httptest.NewServer(app.Handler), app: app, clock: clk}
	t.Cleanup(func() { s.Close(); app.Close(); _ = tp.Shutdown(context.Background()) })
	return s, rec
}

// One mutation is one trace: the HTTP request, the GraphQL operation
// within it, its SQL, and the publish of the event it committed, all
// continuing the trace the caller began (W3C traceparent); the event's
// delivery to a subscriber is traced too.
func TestOneMutationIsOneTrace(t *testing.T) {
	s, rec := startTracedServer(t)
	e := newEstate(t, s, "TR", nil)
	resident := s.login(t, e.Resident)
	w := resident.ws()
	w.subscribe("1", nil, nil)
	waitFor(t, 10*time.Second, "the subscription registered", func() bool { return s.app.Hub.Subscribers() == 1 })

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation Submit($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`,
		"variables": map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": e.Plumbing, "description": "Leak"}},
	})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+resident.token)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(out), `"errors"`) {
		t.Fatalf("submit: %d %s", resp.StatusCode, out)
	}
	if ev := w.event(); ev.Type != "SUBMITTED" {
		t.Fatalf("event %+v", ev)
	}

	// The HTTP span ends after the response is written and the publish
	// runs after commit: wait for both.
	var spans []sdktrace.ReadOnlySpan
	find := func(name string) sdktrace.ReadOnlySpan {
		for _, sp := range spans {
			if sp.Name() == name && sp.SpanContext().TraceID().String() == traceID {
				return sp
			}
		}
		return nil
	}
	waitFor(t, 10*time.Second, "the request's and the publish's spans", func() bool {
		spans = rec.Ended()
		return find("POST /query") != nil && find("events.publish") != nil
	})
	httpSpan, op, publish := find("POST /query"), find("mutation submitRequest"), find("events.publish")
	if op == nil {
		t.Fatalf("no operation span in the trace: %s", names(spans, traceID))
	}
	if op.Parent().SpanID() != httpSpan.SpanContext().SpanID() {
		t.Errorf("the operation's parent is %s, not the HTTP span", op.Parent().SpanID())
	}
	sql := 0
	for _, sp := range spans {
		if strings.HasPrefix(sp.Name(), "sql.") && sp.SpanContext().TraceID().String() == traceID {
			sql++
		}
	}
	if sql == 0 {
		t.Errorf("no SQL spans in the trace: %s", names(spans, traceID))
	}
	if publish.Parent().SpanID() != op.SpanContext().SpanID() {
		t.Errorf("the publish is not a child of the operation: %s", names(spans, traceID))
	}
	delivered := false
	for _, sp := range rec.Ended() {
		if sp.Name() == "events.deliver" {
			for _, a := range sp.Attributes() {
				delivered = delivered || (a.Key == "onestop.deliveries" && a.Value.AsInt64() > 0)
			}
		}
	}
	if !delivered {
		t.Errorf("no delivery span: %s", names(rec.Ended(), ""))
	}
}

// names lists the spans of one trace (of all, with no trace id).
func names(spans []sdktrace.ReadOnlySpan, traceID string) string {
	var out []string
	for _, sp := range spans {
		if traceID == "" || sp.SpanContext().TraceID().String() == traceID {
			out = append(out, sp.Name())
		}
	}
	return strings.Join(out, ", ")
}
