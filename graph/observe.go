package graph

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/metrics"
)

// observe logs every GraphQL operation (request id, operation name, root
// field, viewer, outcome, duration) and counts it in the metrics. It is
// installed before the other operation middleware so that it also sees the
// operations they refuse.
type observe struct {
	log     *slog.Logger
	metrics *metrics.Metrics // nil: log only
	// tracer makes a span of each operation, named by its type and root
	// field, around everything the operation runs (its SQL included).
	tracer trace.Tracer
}

var (
	_ graphql.HandlerExtension     = observe{}
	_ graphql.OperationInterceptor = observe{}
	_ graphql.ResponseInterceptor  = observe{}
)

func (observe) ExtensionName() string                   { return "Observe" }
func (observe) Validate(graphql.ExecutableSchema) error { return nil }
func (o observe) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	start := time.Now()
	oc := graphql.GetOperationContext(ctx)
	kind, field := operationKind(oc), rootField(oc)
	ctx, span := o.startSpan(ctx, oc, kind, field)
	respond := next(ctx)
	if kind != string(ast.Subscription) {
		return func(ctx context.Context) *graphql.Response {
			resp := respond(ctx)
			code := responseCode(resp)
			o.done(ctx, oc, kind, field, code, start)
			endSpan(span, code)
			return resp
		}
	}
	// A subscription answers many times; it is counted when it ends, and
	// held open meanwhile.
	if o.metrics != nil {
		o.metrics.Subscriptions.Inc()
	}
	var (
		once sync.Once
		code = "OK"
	)
	return func(ctx context.Context) *graphql.Response {
		resp := respond(ctx)
		if resp != nil && len(resp.Errors) > 0 {
			code = responseCode(resp)
		}
		// It ends with no answer, or with an error and no data (refused,
		// or ended by the server with RESUME_REQUIRED).
		ended := resp == nil || ctx.Err() != nil ||
			(len(resp.Errors) > 0 && (len(resp.Data) == 0 || string(resp.Data) == "null"))
		if ended {
			once.Do(func() {
				// Counted before it lets go, so that whoever sees the
				// gauge fall finds it counted.
				o.done(ctx, oc, kind, field, code, start)
				if o.metrics != nil {
					o.metrics.Subscriptions.Dec()
				}
				endSpan(span, code)
			})
		}
		return resp
	}
}

// InterceptResponse counts the answers given without an operation (a
// query that did not parse or validate), which operation middleware never
// sees.
func (o observe) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) || graphql.GetOperationContext(ctx).Operation == nil {
		o.done(ctx, nil, "invalid", "", responseCode(resp), time.Now())
	}
	return resp
}

func (o observe) done(ctx context.Context, oc *graphql.OperationContext, kind, field, code string, start time.Time) {
	took := time.Since(start)
	label := field
	if label == "" {
		label = "(none)"
	}
	if o.metrics != nil {
		o.metrics.Operations.WithLabelValues(label, kind, code).Inc()
		if kind != "invalid" {
			o.metrics.Duration.WithLabelValues(label, kind).Observe(took.Seconds())
		}
	}
	attrs := []any{"request_id", RequestID(ctx), "type", kind, "field", field, "code", code,
		"duration_ms", float64(took.Microseconds()) / 1000}
	if oc != nil {
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		attrs = append(attrs, "operation", name)
	}
	if a := auth.ActorFrom(ctx); a != nil {
		attrs = append(attrs, "viewer", a.PersonID)
	}
	o.log.Info("graphql", attrs...)
}

// startSpan begins the operation's span. Its name is made of the schema's
// words only (the type and the root field), so that it stays bounded
// whatever operation names clients choose; the client's name is an
// attribute.
func (o observe) startSpan(ctx context.Context, oc *graphql.OperationContext, kind, field string) (context.Context, trace.Span) {
	if o.tracer == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	name := kind
	if field != "" {
		name += " " + field
	}
	attrs := []attribute.KeyValue{attribute.String("graphql.operation.type", kind)}
	if oc != nil && oc.OperationName != "" {
		attrs = append(attrs, attribute.String("graphql.operation.name", oc.OperationName))
	}
	if field != "" {
		attrs = append(attrs, attribute.String("graphql.root_field", field))
	}
	return o.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// endSpan ends an operation's span with its outcome; only a server fault
// marks it as an error, a client's mistake is an attribute.
func endSpan(span trace.Span, code string) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("graphql.error.code", code))
	if code == "INTERNAL" || code == "UNKNOWN" {
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

func operationKind(oc *graphql.OperationContext) string {
	if oc == nil || oc.Operation == nil {
		return "invalid"
	}
	return string(oc.Operation.Operation)
}

// rootField is the operation's first root field: a name from the schema,
// so a label made of it stays bounded.
func rootField(oc *graphql.OperationContext) string {
	if oc == nil || oc.Operation == nil {
		return ""
	}
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, nil) {
		return f.Name
	}
	return ""
}

// responseCode is OK, or the first error's extensions.code.
func responseCode(resp *graphql.Response) string {
	if resp == nil || len(resp.Errors) == 0 {
		return "OK"
	}
	if c, ok := resp.Errors[0].Extensions["code"].(string); ok && c != "" {
		return c
	}
	return "UNKNOWN"
}
