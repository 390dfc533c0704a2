// Package tracing sets up OpenTelemetry traces. They are off unless an
// OTLP endpoint is configured; then spans go, batched, to that collector
// over OTLP/HTTP, configured by the standard OTEL_* variables.
package tracing

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// ServiceName is the service.name of every span, unless OTEL_SERVICE_NAME
// says otherwise.
const ServiceName = "onestop"

// Propagator reads and writes W3C trace context, so that a trace begun by
// a load balancer or an app continues here, and one begun here continues
// on the instance that delivers its events.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// New returns a tracer provider that exports to the OTLP endpoint named by
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
// with the headers, timeout and sampler the other OTEL_* variables give.
// Its Shutdown flushes the spans still buffered.
func New(ctx context.Context) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(semconv.ServiceName(ServiceName)),
		// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win.
		resource.Environment(),
	)
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}
