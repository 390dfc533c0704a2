package graph

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The apps in people's phones were built against the last release's
// schema (docs/schema/release.graphqls, updated by each release) and must
// keep working: nothing they may ask for is taken away or changed under
// them. Additions are fine.
func TestSchemaKeepsTheLastRelease(t *testing.T) {
	release := loadSchema(t, "../docs/schema/release.graphqls", "release.graphqls")
	current := loadSchema(t, "../schema.graphqls", "schema.graphqls")
	for _, c := range breakingChanges(release, current) {
		t.Errorf("breaking change since the last release: %s", c)
	}
}

// The check itself finds each kind of breaking change and lets additions
// through.
func TestBreakingChanges(t *testing.T) {
	const base = `
type Query { a(id: ID!, n: Int): A, list: [A!]!, u: U, e: E }
type Mutation { m(input: In!): A }
interface Named { name: String }
type A implements Named { name: String, n: Int! }
type B { x: Int }
union U = A | B
enum E { ONE TWO }
input In { x: Int!, y: String }
scalar Time
`
	for _, c := range []struct {
		name, schema string
		want         []string
	}{
		{"unchanged", base, nil},
		{"additions", base + `
extend type Query { b: B, c(first: Int = 20, after: String): [A!]! }
extend type A { extra: String }
extend enum E { THREE }
extend input In { z: String, w: Int! = 1 }
extend union U = C
type C { y: Int }`, nil},
		{"a type removed", strings.Replace(base, "scalar Time", "", 1), []string{"type Time removed"}},
		{"a field removed", strings.Replace(base, ", n: Int!", "", 1), []string{"field A.n removed"}},
		{"an enum value removed", strings.Replace(base, "ONE TWO", "ONE", 1), []string{"enum value E.TWO removed"}},
		{"an argument removed", strings.Replace(base, "a(id: ID!, n: Int)", "a(id: ID!)", 1), []string{"argument n of Query.a removed"}},
		{"a field's type changed", strings.Replace(base, "n: Int!", "n: String!", 1), []string{"field A.n changed type from Int! to String!"}},
		{"a field made nullable", strings.Replace(base, "list: [A!]!", "list: [A]!", 1), []string{"field Query.list changed type from [A!]! to [A]!"}},
		{"a field made non-null", strings.Replace(base, "{ name: String, n", "{ name: String!, n", 1), nil},
		{"an argument made required", strings.Replace(base, "n: Int)", "n: Int!)", 1), []string{"argument n of Query.a changed type from Int to Int!"}},
		{"an argument made optional", strings.Replace(base, "a(id: ID!", "a(id: ID", 1), nil},
		{"a new required argument", strings.Replace(base, "n: Int)", "n: Int, k: Int!)", 1), []string{"new required argument k of Query.a"}},
		{"a new required input field", base + "extend input In { z: Int! }", []string{"new required input field In.z"}},
		{"an input field's type changed", strings.Replace(base, "y: String", "y: Int", 1), []string{"input field In.y changed type from String to Int"}},
		{"a kind changed", strings.Replace(base, "scalar Time", "enum Time { NOW }", 1), []string{"type Time changed from SCALAR to ENUM"}},
		{"an interface dropped", strings.Replace(base, "type A implements Named", "type A", 1), []string{"type A no longer implements Named"}},
		{"a union member removed", strings.Replace(base, "A | B", "A", 1), []string{"union U no longer includes B"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			old := gqlparser.MustLoadSchema(&ast.Source{Name: "old", Input: base})
			now, err := gqlparser.LoadSchema(&ast.Source{Name: "new", Input: c.schema})
			if err != nil {
				t.Fatal(err)
			}
			got := breakingChanges(old, now)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// breakingChanges lists what a client written against old could no longer
// do against now: a type, field, argument, enum value, union member or
// interface taken away; a type changed so that an answer may hold what
// the client did not expect (a non-null made nullable, another type) or a
// value it sends may be refused (a nullable argument or input field made
// non-null, another type); a new argument or input field that must be
// given. Descriptions, new types, new fields, new optional arguments and
// new enum values are not breaking.
func breakingChanges(old, now *ast.Schema) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for name, o := range old.Types {
		if o.BuiltIn {
			continue
		}
		n := now.Types[name]
		if n == nil {
			add("type %s removed", name)
			continue
		}
		if o.Kind != n.Kind {
			add("type %s changed from %s to %s", name, o.Kind, n.Kind)
			continue
		}
		switch o.Kind {
		case ast.Object, ast.Interface:
			for _, i := range o.Interfaces {
				if !slices.Contains(n.Interfaces, i) {
					add("type %s no longer implements %s", name, i)
				}
			}
			for _, of := range o.Fields {
				if strings.HasPrefix(of.Name, "__") {
					continue
				}
				nf := n.Fields.ForName(of.Name)
				if nf == nil {
					add("field %s.%s removed", name, of.Name)
					continue
				}
				if !outputCompatible(of.Type, nf.Type) {
					add("field %s.%s changed type from %s to %s", name, of.Name, of.Type, nf.Type)
				}
				for _, oa := range of.Arguments {
					na := nf.Arguments.ForName(oa.Name)
					if na == nil {
						add("argument %s of %s.%s removed", oa.Name, name, of.Name)
					} else if !inputCompatible(oa.Type, na.Type) {
						add("argument %s of %s.%s changed type from %s to %s", oa.Name, name, of.Name, oa.Type, na.Type)
					}
				}
				for _, na := range nf.Arguments {
					if of.Arguments.ForName(na.Name) == nil && na.Type.NonNull && na.DefaultValue == nil {
						add("new required argument %s of %s.%s", na.Name, name, of.Name)
					}
				}
			}
		case ast.InputObject:
			for _, of := range o.Fields {
				nf := n.Fields.ForName(of.Name)
				if nf == nil {
					add("input field %s.%s removed", name, of.Name)
				} else if !inputCompatible(of.Type, nf.Type) {
					add("input field %s.%s changed type from %s to %s", name, of.Name, of.Type, nf.Type)
				}
			}
			for _, nf := range n.Fields {
				if o.Fields.ForName(nf.Name) == nil && nf.Type.NonNull && nf.DefaultValue == nil {
					add("new required input field %s.%s", name, nf.Name)
				}
			}
		case ast.Enum:
			for _, v := range o.EnumValues {
				if n.EnumValues.ForName(v.Name) == nil {
					add("enum value %s.%s removed", name, v.Name)
				}
			}
		case ast.Union:
			for _, m := range o.Types {
				if !slices.Contains(n.Types, m) {
					add("union %s no longer includes %s", name, m)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// outputCompatible reports whether a client expecting answers of type old
// can read answers of type now: the same type, or one that only promises
// more (non-null where old allowed null).
func outputCompatible(old, now *ast.Type) bool {
	if old.NonNull && !now.NonNull {
		return false
	}
	if (old.Elem == nil) != (now.Elem == nil) {
		return false
	}
	if old.Elem != nil {
		return outputCompatible(old.Elem, now.Elem)
	}
	return old.NamedType == now.NamedType
}

// inputCompatible reports whether every value a client sent as old is
// still accepted as now: the same type, or one that asks less (nullable
// where old insisted on a value).
func inputCompatible(old, now *ast.Type) bool {
	if !old.NonNull && now.NonNull {
		return false
	}
	if (old.Elem == nil) != (now.Elem == nil) {
		return false
	}
	if old.Elem != nil {
		return inputCompatible(old.Elem, now.Elem)
	}
	return old.NamedType == now.NamedType
}
