package graph

import (
	"os"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The schema is the app developers' manual: every type, field, input field
// and enum value says what it is.
func TestSchemaIsDescribed(t *testing.T) {
	src, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gqlErr != nil {
		t.Fatal(gqlErr)
	}
	for name, def := range schema.Types {
		if def.BuiltIn || def.Position == nil || def.Position.Src.Name != "schema.graphqls" {
			continue
		}
		if def.Description == "" {
			t.Errorf("type %s has no description", name)
		}
		for _, f := range def.Fields {
			if f.Description == "" && f.Position != nil && f.Position.Src.Name == "schema.graphqls" {
				t.Errorf("%s.%s has no description", name, f.Name)
			}
		}
		for _, v := range def.EnumValues {
			if v.Description == "" {
				t.Errorf("%s.%s has no description", name, v.Name)
			}
		}
	}
}
