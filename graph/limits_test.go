package graph

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/kproperty/onestop/internal/apperr"
)

var schema = NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()

// Every list field has a bound, so the cost of an answer can be known
// before it is made. A new list field fails here until it gets one.
func TestEveryListFieldIsBounded(t *testing.T) {
	for _, typ := range schema.Types {
		if typ.Kind != ast.Object || strings.HasPrefix(typ.Name, "__") || typ.Name == "Subscription" {
			continue
		}
		for _, f := range typ.Fields {
			if f.Type.Elem == nil || strings.HasPrefix(f.Name, "__") {
				continue
			}
			if f.Arguments.ForName("first") != nil {
				continue
			}
			if _, ok := listBounds[typ.Name+"."+f.Name]; !ok {
				t.Errorf("%s.%s is a list without a bound in listBounds", typ.Name, f.Name)
			}
		}
	}
}

func check(t *testing.T, query string, vars map[string]any) *apperr.Error {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil)
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	return DefaultLimits.Check(doc.Operations[0], vars, false)
}

func TestLimits(t *testing.T) {
	ok := []string{
		`{ me { id properties { promiseSettings { businessDays } } } }`,
		`{ requests(first: 100) { edges { node { id status assignee { name } timeline(last: 10) { type actor { name } } } } } }`,
		`{ serviceStats(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z") { total daily { date total byStatus { status count } } } }`,
		`{ __typename }`,
	}
	for _, q := range ok {
		if e := check(t, q, nil); e != nil {
			t.Errorf("%s: %v", q, e)
		}
	}
	// Fragments that spread each other twice at every level name 2^20
	// fields in a few hundred bytes; the walk gives up early.
	var b strings.Builder
	b.WriteString(`{ me { ...F0 } }`)
	for i := 0; i < 20; i++ {
		b.WriteString(` fragment F` + strconv.Itoa(i) + ` on Viewer { ...F` + strconv.Itoa(i+1) + ` ...F` + strconv.Itoa(i+1) + ` }`)
	}
	b.WriteString(` fragment F20 on Viewer { id }`)
	tooComplex := []string{
		b.String(),
		`{ r: request(id: "1") { timeline { request { timeline { request { timeline { request { timeline { request { timeline { id } } } } } } } } } } }`,
		`{ __schema { types { name } } }`,
	}
	for _, q := range tooComplex {
		if e := check(t, q, nil); e == nil {
			t.Errorf("%.80s... was allowed", q)
		}
	}
	if e := check(t, `{ __type(name: "Query") { name } }`, nil); e == nil || e.Code != apperr.Forbidden {
		t.Errorf("introspection while off: %v", e)
	}
	doc, _ := gqlparser.LoadQueryWithRules(schema, `mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`, nil)
	e := DefaultLimits.Check(doc.Operations[0], map[string]any{"in": map[string]any{"description": "tap\x00leak"}}, false)
	if e == nil || e.Code != apperr.InvalidInput || e.Field != "description" {
		t.Errorf("NUL in a text input: %+v", e)
	}
}

// Any text a client sends is either let through to the resolvers or refused
// as INVALID_INPUT naming the field; a NUL character, which PostgreSQL
// cannot store, is always refused.
func FuzzTextInput(f *testing.F) {
	doc, errs := gqlparser.LoadQueryWithRules(schema, `mutation($in: SubmitRequestInput!, $id: ID!, $r: String!) {
		submitRequest(input: $in) { id } cancelRequest(id: $id, reason: $r) { id } }`, nil)
	if errs != nil {
		f.Fatal(errs)
	}
	for _, seed := range []string{"Kitchen tap is leaking", "", "\x00", "廚房水龍頭漏水", "a\x00b", "\xff\xfe", strings.Repeat("x", 3000), "'; DROP TABLE requests; --"} {
		f.Add(seed, "description")
		f.Add(seed, "reason")
	}
	f.Fuzz(func(t *testing.T, text, where string) {
		vars := map[string]any{"in": map[string]any{"clientRequestId": "x", "categoryId": "y", "description": "ok"}, "id": "1", "r": "ok"}
		field := "description"
		if where == "reason" {
			vars["r"] = text
			field = "reason"
		} else {
			vars["in"].(map[string]any)["description"] = text
		}
		e := DefaultLimits.Check(doc.Operations[0], vars, false)
		if strings.ContainsRune(text, 0) {
			if e == nil || e.Code != apperr.InvalidInput || e.Field != field {
				t.Fatalf("%q in %s: %+v", text, field, e)
			}
		} else if e != nil {
			t.Fatalf("%q in %s refused: %+v", text, field, e)
		}
	})
}

// BenchmarkRefusal measures what refusing the worst requests that fit in
// MaxQueryBytes costs: parse, validate and the limits walk, as the server
// does before any resolver. (Longer query text is refused unparsed.)
func BenchmarkRefusal(b *testing.B) {
	var aliases strings.Builder
	aliases.WriteString("{")
	for i := 0; i < 300; i++ {
		aliases.WriteString(" a" + strconv.Itoa(i) + `: serviceStats(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z") { total }`)
	}
	aliases.WriteString(" }")
	nested := "id"
	for i := 0; i < 7; i++ {
		nested = "id timeline { id type request { " + nested + " } }"
	}
	var short strings.Builder
	short.WriteString("{")
	for i := 0; short.Len() < DefaultLimits.MaxQueryBytes-20; i++ {
		short.WriteString(" a" + strconv.Itoa(i) + ":me{id}")
	}
	short.WriteString(" }")
	for name, q := range map[string]string{"300 aliases": aliases.String(), "16 KiB of short aliases": short.String(), "nested timelines": `{ request(id: "x") { ` + nested + ` } }`} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				doc, errs := gqlparser.LoadQueryWithRules(schema, q, nil)
				if errs != nil {
					b.Fatal(errs)
				}
				if DefaultLimits.Check(doc.Operations[0], nil, false) == nil {
					b.Fatal("allowed")
				}
			}
		})
	}
}
