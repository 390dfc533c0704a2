package main

import (
	"fmt"
	"strings"
	"testing"
)

// importFile is an estate of n units in blocks of 250; with households,
// each unit has an owner and a family member (2n residents).
func importFile(n int, households bool) string {
	var b strings.Builder
	b.WriteString("building,building_name,unit,resident_name,relation,moved_in\n")
	for i := 0; i < n; i++ {
		blk := fmt.Sprintf("B%02d", i/250+1)
		unit := fmt.Sprintf("%s-%03d%02d", blk, i%250/10+1, i%10)
		if !households {
			fmt.Fprintf(&b, "%s,Block %s,%s,,,\n", blk, blk, unit)
			continue
		}
		fmt.Fprintf(&b, "%s,Block %s,%s,Owner %d,OWNER,2024-07-01\n", blk, blk, unit, i)
		fmt.Fprintf(&b, "%s,Block %s,%s,Family %d,FAMILY,\n", blk, blk, unit, i)
	}
	return b.String()
}

// BenchmarkImportUnits loads a 5,000-unit estate from CSV into a new
// property per iteration: units only (the baseline), and with two
// residents a unit (10,000 people and residencies more, in the same
// transaction).
func BenchmarkImportUnits(b *testing.B) {
	s := startServer(b, nil)
	adm := s.login(b, "admin")
	imp := `mutation($p: ID!, $csv: String!) { importUnits(propertyId: $p, csv: $csv) { unitsCreated residentsCreated } }`
	for _, c := range []struct {
		name       string
		households bool
	}{{"units", false}, {"units+households", true}} {
		file := importFile(5000, c.households)
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var id string
				if err := s.app.DB.Get(&id, `INSERT INTO properties (code, name, kind, service_mode, time_zone)
					VALUES ($1, 'Bench', 'RESIDENTIAL', 'SERVICE_CENTER', 'Asia/Hong_Kong') RETURNING id`, uniqueCode("BI")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var rep struct {
					ImportUnits struct{ UnitsCreated, ResidentsCreated int }
				}
				adm.must(imp, map[string]any{"p": id, "csv": file}, &rep)
				if rep.ImportUnits.UnitsCreated != 5000 || (c.households && rep.ImportUnits.ResidentsCreated != 10000) {
					b.Fatalf("imported %+v", rep.ImportUnits)
				}
			}
		})
	}
}
