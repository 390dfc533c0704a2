package graph

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kproperty/onestop/internal/admin"
	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/files"
)

// Limits bound what one GraphQL operation may ask for. They are checked on
// the parsed operation before any resolver (and so any SQL) runs; an
// operation over any of them fails with QUERY_TOO_COMPLEX. docs/security.md
// gives each number and why.
type Limits struct {
	// MaxDepth is the deepest nesting of fields; the app's deepest real
	// query (a page of requests with each event's actor) is 6 deep.
	MaxDepth int
	// MaxCost bounds the fields an answer can hold: every field costs 1,
	// and a list multiplies what is under it by the most items it can
	// return (first for pages, a fixed bound for the others).
	MaxCost int
	// MaxRootFields bounds the top-level fields of one operation.
	MaxRootFields int
	// MaxAliases bounds how many times one field may be asked for under
	// different aliases in one selection.
	MaxAliases int
	// Expensive caps, per operation, the fields that are costly by
	// themselves (password hashing, a KPI scan): each may appear at most
	// that many times, however it is aliased.
	Expensive map[string]int
	// MaxQueryBytes bounds the query text (variables apart) before it is
	// parsed: validation compares same-named fields pairwise, so a query of
	// thousands of aliases costs milliseconds to refuse even once parsed.
	MaxQueryBytes int
}

// DefaultLimits are the limits the server runs with.
var DefaultLimits = Limits{
	MaxDepth:      10,
	MaxCost:       50000,
	MaxRootFields: 20,
	MaxAliases:    10,
	Expensive:     map[string]int{"login": 1, "refreshToken": 1, "serviceStats": 2, "staffStats": 2},
	MaxQueryBytes: 16 << 10,
}

// maxVisits bounds the walk itself: fragments spread inside fragments can
// make a short document name exponentially many fields, and the walk must
// stay cheap whatever it is given.
const maxVisits = 20000

// listBounds is the most items each unpaged list field can return; paged
// fields take theirs from first. A list field missing here is a mistake
// that TestEveryListFieldIsBounded catches; at run time it counts as
// defaultListBound.
var listBounds = map[string]int{
	"Query.serviceCategories":      200,
	"Query.dispatchRules":          100,
	"Query.staffStats":             500,
	"Viewer.properties":            100,
	"Viewer.units":                 20,
	"StaffProfile.skills":          20,
	"PromiseSettings.businessDays": 7,
	"ServiceStats.byStatus":        8,
	"ServiceStats.byCategory":      50,
	"DailyStats.byStatus":          8,
	"DailyStats.byCategory":        50,
	// ServiceStats.daily is the window's days (at most 400), and
	// ServiceRequest.timeline its last argument (at most maxTimeline);
	// both are worked out from arguments below.
	"ServiceStats.daily":             400,
	"ServiceRequest.timeline":        maxTimeline,
	"ServiceRequestConnection.edges": 1,
	"NotificationConnection.edges":   1,
	"CallbackTaskConnection.edges":   1,
	// A request answers its latest 100 files; a message carries at most
	// files.MaxCount.
	"RequestMessageConnection.edges": 1,
	"ServiceRequest.files":           files.MaxRequestFiles,
	"RequestMessage.files":           files.MaxCount,
	// The console's administration (SQL limits match).
	"Query.staffBoard":               500,
	"StaffBoardEntry.skills":         20,
	"ButlerPortfolios.butlers":       100,
	"ButlerPortfolio.households":     200,
	"ButlerPortfolios.withoutButler": 1000,
	"SearchResult.requests":          100,
	"SearchResult.people":            100,
	"SearchResult.units":             100,
	// Bookings: slots of a day at the shortest slot length, and the
	// limits the booking store reads with.
	"Facility.openDays":      7,
	"Query.facilities":       100,
	"Query.facilitySlots":    96,
	"Query.myBookings":       100,
	"Query.facilityBookings": 500,
	"Query.activities":       50,
	"Activity.signUps":       200,
	"PaymentFigures.revenue": 2000,
	"PaymentFigures.unpaid":  10,
	// ---- administration: shifts ----
	"Query.shifts":       admin.MaxShifts,
	"Mutation.setShifts": admin.MaxShifts,
}

const defaultListBound = 100

// A timeline answers its last 100 events unless asked for up to 200: the
// bound that keeps a request's history from growing an answer without end.
const (
	defaultTimeline = 100
	maxTimeline     = 200
)

// limitsExtension applies Limits to every operation, over HTTP and
// websocket alike, and refuses introspection when it is off with a clear
// FORBIDDEN rather than a failed resolver.
type limitsExtension struct {
	limits        Limits
	introspection bool
	log           *slog.Logger
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = limitsExtension{}

func (limitsExtension) ExtensionName() string                   { return "OperationLimits" }
func (limitsExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (l limitsExtension) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if l.limits.MaxQueryBytes > 0 && len(p.Query) > l.limits.MaxQueryBytes {
		e := tooComplex("the query text is %d bytes; at most %d are allowed", len(p.Query), l.limits.MaxQueryBytes)
		l.log.WarnContext(ctx, "operation refused", "request_id", RequestID(ctx), "client_ip", ClientIP(ctx),
			"person", personID(ctx), "reason", e.Message)
		return &gqlerror.Error{Message: e.Message, Err: e, Extensions: extensionsOf(e)}
	}
	return nil
}

func (l limitsExtension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if e := l.limits.Check(oc.Operation, oc.Variables, l.introspection); e != nil {
		if e.Code == apperr.QueryTooComplex {
			l.log.WarnContext(ctx, "operation refused", "request_id", RequestID(ctx), "client_ip", ClientIP(ctx),
				"person", personID(ctx), "operation", oc.OperationName, "reason", e.Message)
		}
		return &gqlerror.Error{Message: e.Message, Err: e, Extensions: extensionsOf(e)}
	}
	return nil
}

// Check walks an operation and reports the first limit it breaks, a text
// argument holding a NUL character (PostgreSQL cannot store one), or
// introspection when it is not allowed.
func (l Limits) Check(op *ast.OperationDefinition, vars map[string]any, introspection bool) *apperr.Error {
	w := &walker{limits: l, vars: vars, introspection: introspection, expensive: map[string]int{}}
	cost := w.selection(op.SelectionSet, 1)
	if w.err != nil {
		return w.err
	}
	if cost > l.MaxCost {
		return tooComplex("the operation could return about %d fields; at most %d are allowed (ask for fewer items or fields)", cost, l.MaxCost)
	}
	return nil
}

func tooComplex(format string, args ...any) *apperr.Error {
	return apperr.New(apperr.QueryTooComplex, format, args...)
}

type walker struct {
	limits        Limits
	vars          map[string]any
	introspection bool
	expensive     map[string]int
	// days is the window of the serviceStats being walked.
	days   int
	visits int
	err    *apperr.Error
}

// fields flattens a selection set through its fragments.
func (w *walker) fields(set ast.SelectionSet, out []*ast.Field) []*ast.Field {
	for _, sel := range set {
		if w.visits++; w.visits > maxVisits {
			w.fail(tooComplex("the operation names too many fields (fragments included)"))
			return out
		}
		switch s := sel.(type) {
		case *ast.Field:
			out = append(out, s)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				out = w.fields(s.Definition.SelectionSet, out)
			}
		case *ast.InlineFragment:
			out = w.fields(s.SelectionSet, out)
		}
	}
	return out
}

func (w *walker) fail(e *apperr.Error) {
	if w.err == nil {
		w.err = e
	}
}

// selection returns the cost of a selection set at the given depth.
func (w *walker) selection(set ast.SelectionSet, depth int) int {
	fields := w.fields(set, nil)
	if w.err != nil {
		return 0
	}
	if depth == 1 && len(responseKeys(fields)) > w.limits.MaxRootFields {
		w.fail(tooComplex("the operation asks for %d top-level fields; at most %d are allowed", len(responseKeys(fields)), w.limits.MaxRootFields))
		return 0
	}
	aliases := map[string]map[string]bool{}
	for _, f := range fields {
		if aliases[f.Name] == nil {
			aliases[f.Name] = map[string]bool{}
		}
		aliases[f.Name][f.Alias] = true
	}
	for name, keys := range aliases {
		if len(keys) > w.limits.MaxAliases {
			w.fail(tooComplex("%s is asked for %d times under different aliases; at most %d are allowed", name, len(keys), w.limits.MaxAliases))
			return 0
		}
	}
	cost := 0
	for _, f := range fields {
		cost = saturate(cost + w.field(f, depth))
		if w.err != nil {
			return 0
		}
	}
	return cost
}

func (w *walker) field(f *ast.Field, depth int) int {
	if depth > w.limits.MaxDepth {
		w.fail(tooComplex("the operation nests fields %d deep; at most %d are allowed", depth, w.limits.MaxDepth))
		return 0
	}
	if (f.Name == "__schema" || f.Name == "__type") && !w.introspection {
		w.fail(apperr.New(apperr.Forbidden, "introspection is disabled on this server; the schema is published as schema.graphqls"))
		return 0
	}
	args := f.ArgumentMap(w.vars)
	for name, v := range args {
		if path, ok := nulIn(v); ok {
			if path == "" {
				path = name
			}
			w.fail(apperr.Invalid(path, "text may not contain a NUL character"))
			return 0
		}
	}
	if max, ok := w.limits.Expensive[f.Name]; ok && f.ObjectDefinition != nil &&
		(f.ObjectDefinition.Name == "Query" || f.ObjectDefinition.Name == "Mutation") {
		// Counted per occurrence: a field that appears twice under one
		// alias runs once, but an alias is the common way to repeat it.
		w.expensive[f.Name]++
		if w.expensive[f.Name] > max {
			w.fail(tooComplex("%s may appear at most %d time(s) in one operation", f.Name, max))
			return 0
		}
	}
	if len(f.SelectionSet) == 0 {
		return 1
	}
	if f.Name == "serviceStats" {
		saved := w.days
		w.days = windowDays(args["from"], args["to"])
		defer func() { w.days = saved }()
	}
	child := w.selection(f.SelectionSet, depth+1)
	return saturate(1 + w.listSize(f, args)*child)
}

// listSize is the most items a field returns: 1 for a single object.
func (w *walker) listSize(f *ast.Field, args map[string]any) int {
	if f.Definition == nil || f.ObjectDefinition == nil {
		return 1
	}
	key := f.ObjectDefinition.Name + "." + f.Name
	switch key {
	case "ServiceStats.daily":
		if w.days > 0 {
			return w.days
		}
		return listBounds[key]
	case "ServiceRequest.timeline":
		if n, ok := intArg(args, "last"); ok && n > 0 && n <= maxTimeline {
			return n
		}
		return maxTimeline
	}
	if n, ok := intArg(args, "first"); ok {
		if n < 1 {
			return 1
		}
		return n
	}
	if f.Definition.Type.Elem == nil {
		return 1
	}
	if n, ok := listBounds[key]; ok {
		return n
	}
	return defaultListBound
}

func intArg(args map[string]any, name string) (int, bool) {
	switch v := args[name].(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	case interface{ Int64() (int64, error) }: // json.Number
		n, err := v.Int64()
		return int(n), err == nil
	case string:
		var n int
		_, err := fmt.Sscan(v, &n)
		return n, err == nil
	}
	return 0, false
}

// responseKeys are the distinct names the answer will carry.
func responseKeys(fields []*ast.Field) map[string]bool {
	keys := map[string]bool{}
	for _, f := range fields {
		keys[f.Alias] = true
	}
	return keys
}

// saturate keeps a cost from overflowing into a small number.
func saturate(n int) int {
	if n < 0 || n > 1<<40 {
		return 1 << 40
	}
	return n
}

// nulIn finds a string holding a NUL character anywhere in an argument
// value, reporting the innermost input field that holds it ("" when the
// argument itself is the string).
func nulIn(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return "", strings.ContainsRune(x, 0)
	case []any:
		for _, e := range x {
			if p, ok := nulIn(e); ok {
				return p, true
			}
		}
	case []string:
		for _, e := range x {
			if strings.ContainsRune(e, 0) {
				return "", true
			}
		}
	case map[string]any:
		for k, e := range x {
			if p, ok := nulIn(e); ok {
				if p == "" {
					p = k
				}
				return p, true
			}
		}
	}
	return "", false
}

// windowDays is how many days [from, to) touches, for the cost of a daily
// series; unreadable times count as the longest window (they come from
// variables the walk reads as given, and the Time scalar refuses them).
func windowDays(from, to any) int {
	f, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(from))
	t, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(to))
	if err1 != nil || err2 != nil {
		return listBounds["ServiceStats.daily"]
	}
	if !t.After(f) {
		return 1 // an empty window, which the resolver refuses
	}
	return min(int(t.Sub(f)/(24*time.Hour))+2, listBounds["ServiceStats.daily"])
}
