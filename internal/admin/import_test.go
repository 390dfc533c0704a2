package admin

import (
	"strings"
	"testing"
)

func TestParseImport(t *testing.T) {
	cases := []struct {
		name, file string
		rows       int
		bad        []string
	}{
		{"good, with a byte-order mark and a blank line", "\ufeffbuilding,unit,building_name_zh\nA,A-1,A座\n\nA,A-2,A座\n", 2, nil},
		{"quoted fields", "building,unit,building_name\nA,A-1,\"Block A, east\"\n", 1, nil},
		{"no header", "", 0, []string{"line 1: a header line is required"}},
		{"missing column", "building,name\nA,x\n", 0, []string{"line 1: unknown column \"name\"", "line 1: the unit column is missing"}},
		{"every bad line", "building,unit\nA,A-1\nA,\nA,A 2\nA,A-1\nA,A-3,extra\n", 1, []string{
			"line 3: unit \"\" must be", "line 4: unit \"A 2\" must be", "line 5: unit A-1 is already on line 2", "line 6: 3 fields, the header has 2"}},
		{"a broken quote", "building,unit\nA,\"A-1\nB,B-1\n", 0, []string{"line 2:"}},
		{"no units", "building,unit\n", 0, []string{"the file has no units"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, bad := ParseImport(strings.NewReader(c.file))
			if len(bad) != len(c.bad) {
				t.Fatalf("bad lines %q, want %d like %q", bad, len(c.bad), c.bad)
			}
			for i, want := range c.bad {
				if !strings.HasPrefix(bad[i], want) {
					t.Errorf("bad line %d: %q, want it to start %q", i, bad[i], want)
				}
			}
			if len(bad) == 0 && len(rows) != c.rows {
				t.Fatalf("%d rows, want %d", len(rows), c.rows)
			}
		})
	}
	rows, _ := ParseImport(strings.NewReader("building,unit\nA,A-1\n\nA,A-2\n"))
	if rows[0].Line != 2 || rows[1].Line != 4 {
		t.Fatalf("line numbers %d, %d; want 2, 4", rows[0].Line, rows[1].Line)
	}
}
