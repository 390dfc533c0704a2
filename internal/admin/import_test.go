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

func TestParseImportHouseholds(t *testing.T) {
	header := "building,unit,resident_name,resident_name_zh,relation,moved_in,phone\n"
	cases := []struct {
		name, file string
		residents  int
		bad        []string
	}{
		{"a household of three and an empty unit", header +
			"A,A-1,Chan Tai Man,陳大文,owner,2024-07-01,+852 9123 4567\nA,A-1,Chan Siu Ming,,FAMILY,,\nA,A-1,Wong Mei,,TENANT,2025-01-02,\nA,A-2,,,,,\n", 3, nil},
		{"every bad resident", header +
			"A,A-1,,,OWNER,,\nA,A-2,Lee,,LANDLORD,,\nA,A-3,Ho,,OWNER,1 July,\nA,A-4,Yu,,OWNER,,call me\n", 0, []string{
			"line 2: a resident needs a resident_name", "line 3: relation \"LANDLORD\" must be", "line 4: moved_in \"1 July\" must be", "line 5: phone \"call me\" must be"}},
		{"the same resident twice, ignoring case", header + "A,A-1,Chan Tai Man,,OWNER,,\nA,A-1,chan tai man,,FAMILY,,\n", 0, []string{
			"line 3: resident chan tai man of unit A-1 is already on line 2"}},
		{"a unit in two buildings", header + "A,A-1,Chan,,OWNER,,\nB,A-1,Lee,,TENANT,,\n", 0, []string{
			"line 3: unit A-1 is in building A on line 2"}},
		{"a unit line without a resident repeated", header + "A,A-1,,,,,\nA,A-1,Lee,,TENANT,,\n", 0, []string{
			"line 3: unit A-1 is already on line 2"}},
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
			n := 0
			for _, r := range rows {
				if r.Resident != nil {
					n++
				}
			}
			if len(bad) == 0 && n != c.residents {
				t.Fatalf("%d residents, want %d", n, c.residents)
			}
		})
	}
	rows, _ := ParseImport(strings.NewReader(header + "A,A-1,Chan Tai Man,陳大文,owner,2024-07-01,+852 9123 4567\n"))
	if r := rows[0].Resident; r == nil || r.Relation != "OWNER" || r.NameZh != "陳大文" || r.MovedIn != "2024-07-01" || r.Phone == nil || *r.Phone != "+852 9123 4567" || r.Unit != "A-1" {
		t.Fatalf("resident %+v", rows[0].Resident)
	}
}
