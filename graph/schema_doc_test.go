package graph

import (
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// loadSchema parses a schema file.
func loadSchema(t *testing.T, path, name string) *ast.Schema {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: name, Input: string(src)})
	if gqlErr != nil {
		t.Fatal(gqlErr)
	}
	return schema
}

// The schema is the app developers' manual: every type, field, argument,
// input field and enum value says what it is.
func TestSchemaIsDescribed(t *testing.T) {
	schema := loadSchema(t, "../schema.graphqls", "schema.graphqls")
	for name, def := range schema.Types {
		if def.BuiltIn || def.Position == nil || def.Position.Src.Name != "schema.graphqls" {
			continue
		}
		if def.Description == "" {
			t.Errorf("type %s has no description", name)
		}
		for _, f := range def.Fields {
			if f.Position == nil || f.Position.Src.Name != "schema.graphqls" {
				continue
			}
			if f.Description == "" {
				t.Errorf("%s.%s has no description", name, f.Name)
			}
			for _, a := range f.Arguments {
				if a.Description == "" {
					t.Errorf("argument %s of %s.%s has no description", a.Name, name, f.Name)
				}
			}
		}
		for _, v := range def.EnumValues {
			if v.Description == "" {
				t.Errorf("%s.%s has no description", name, v.Name)
			}
		}
	}
}

// Lists that page follow the Relay connection specification, which the
// apps' GraphQL clients (Relay, Apollo's relayStylePagination) rely on: a
// type named ...Connection has edges, a list of non-null ...Edge, and a
// non-null PageInfo; an edge has a node and a non-null String cursor;
// PageInfo has the four fields the specification names; and every field
// that returns a connection pages forward with first: Int and after: String.
func TestSchemaFollowsRelayConnections(t *testing.T) {
	schema := loadSchema(t, "../schema.graphqls", "schema.graphqls")
	pageInfo := schema.Types["PageInfo"]
	if pageInfo == nil {
		t.Fatal("no PageInfo type")
	}
	for field, want := range map[string]string{
		"hasNextPage": "Boolean!", "hasPreviousPage": "Boolean!", "startCursor": "String", "endCursor": "String",
	} {
		if f := pageInfo.Fields.ForName(field); f == nil || f.Type.String() != want {
			t.Errorf("PageInfo.%s must be %s", field, want)
		}
	}
	connections := 0
	for name, def := range schema.Types {
		if def.BuiltIn || def.Kind != ast.Object || !strings.HasSuffix(name, "Connection") {
			continue
		}
		connections++
		edges, info := def.Fields.ForName("edges"), def.Fields.ForName("pageInfo")
		if info == nil || info.Type.String() != "PageInfo!" {
			t.Errorf("%s.pageInfo must be PageInfo!", name)
		}
		if edges == nil || edges.Type.Elem == nil || !edges.Type.NonNull || !edges.Type.Elem.NonNull {
			t.Errorf("%s.edges must be a non-null list of non-null edges", name)
			continue
		}
		edgeName := edges.Type.Elem.NamedType
		edge := schema.Types[edgeName]
		if edge == nil || edge.Kind != ast.Object || !strings.HasSuffix(edgeName, "Edge") {
			t.Errorf("%s.edges lists %s, not an object type named ...Edge", name, edgeName)
			continue
		}
		if node := edge.Fields.ForName("node"); node == nil || node.Type.Elem != nil {
			t.Errorf("%s.node must be one item, not a list", edgeName)
		}
		if c := edge.Fields.ForName("cursor"); c == nil || c.Type.String() != "String!" {
			t.Errorf("%s.cursor must be String!", edgeName)
		}
	}
	if connections == 0 {
		t.Fatal("no connection types found")
	}
	for name, def := range schema.Types {
		if def.BuiltIn || def.Kind != ast.Object {
			continue
		}
		for _, f := range def.Fields {
			if !strings.HasSuffix(f.Type.Name(), "Connection") || f.Type.Elem != nil {
				continue
			}
			first, after := f.Arguments.ForName("first"), f.Arguments.ForName("after")
			if first == nil || first.Type.String() != "Int" || after == nil || after.Type.String() != "String" {
				t.Errorf("%s.%s returns a connection but does not take first: Int and after: String", name, f.Name)
			}
		}
	}
}
