package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/request"
)

// MaxImportRows bounds one import file (a large estate has a few
// thousand units).
const MaxImportRows = 20000

// maxReported bounds how many bad lines one refusal names.
const maxReported = 200

// importColumns are the columns an import file may have; building and unit
// are required.
var importColumns = map[string]bool{"building": true, "building_name": true, "building_name_zh": true, "unit": true}

// ParseImport reads an import file: a header line naming the columns, then
// one unit per line. Every bad line is reported, by line number and reason.
func ParseImport(r io.Reader) ([]ImportRow, []string) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, []string{"line 1: a header line is required (building,unit[,building_name,building_name_zh])"}
	}
	col := map[string]int{}
	var bad []string
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !importColumns[h] {
			bad = append(bad, fmt.Sprintf("line 1: unknown column %q", h))
			continue
		}
		col[h] = i
	}
	for _, need := range []string{"building", "unit"} {
		if _, ok := col[need]; !ok {
			bad = append(bad, fmt.Sprintf("line 1: the %s column is missing", need))
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	field := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var rows []ImportRow
	seen := map[string]int{}
	buildingNames := map[string][2]string{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, fmt.Sprintf("line %d: %v", pe.StartLine, pe.Err))
				continue
			}
			return nil, append(bad, err.Error())
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rows) >= MaxImportRows {
			return nil, append(bad, fmt.Sprintf("line %d: at most %d units per file", line, MaxImportRows))
		}
		row := ImportRow{Line: line, Building: field(rec, "building"), Unit: field(rec, "unit"),
			BuildingName: field(rec, "building_name"), BuildingNameZh: field(rec, "building_name_zh")}
		var why []string
		if len(rec) != len(header) {
			why = append(why, fmt.Sprintf("%d fields, the header has %d", len(rec), len(header)))
		}
		if !placeCode.MatchString(row.Building) {
			why = append(why, fmt.Sprintf("building %q must be letters, digits and dashes, at most 20", row.Building))
		}
		if !placeCode.MatchString(row.Unit) {
			why = append(why, fmt.Sprintf("unit %q must be letters, digits and dashes, at most 20", row.Unit))
		}
		for _, n := range []string{row.BuildingName, row.BuildingNameZh} {
			if _, err := name("building_name", n, false); err != nil {
				why = append(why, "a building name is longer than 100 characters")
			}
		}
		if first, dup := seen[row.Unit]; dup && row.Unit != "" {
			why = append(why, fmt.Sprintf("unit %s is already on line %d", row.Unit, first))
		}
		if n, ok := buildingNames[row.Building]; ok && (row.BuildingName != "" && n[0] != "" && n[0] != row.BuildingName) {
			why = append(why, fmt.Sprintf("building %s is named %q on an earlier line", row.Building, n[0]))
		}
		if len(why) > 0 {
			bad = append(bad, fmt.Sprintf("line %d: %s", line, strings.Join(why, "; ")))
			continue
		}
		seen[row.Unit] = line
		if _, ok := buildingNames[row.Building]; !ok || buildingNames[row.Building][0] == "" {
			buildingNames[row.Building] = [2]string{row.BuildingName, row.BuildingNameZh}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 && len(bad) == 0 {
		bad = append(bad, "the file has no units")
	}
	return rows, bad
}

// refuse turns bad lines into one INVALID_INPUT naming each (up to
// maxReported of them).
func refuse(bad []string) error {
	shown := bad
	more := ""
	if len(shown) > maxReported {
		shown, more = shown[:maxReported], fmt.Sprintf("; and %d more", len(bad)-maxReported)
	}
	return apperr.Invalid("csv", "%d bad lines, nothing imported: %s%s", len(bad), strings.Join(shown, "; "), more)
}

// ImportUnits loads a property's buildings and units from a CSV file. The
// whole file is checked first and every bad line reported; then it is
// applied in one transaction or not at all. Units that already exist (in
// the same building) are left as they are, so running the same file again
// changes nothing.
func (s *Service) ImportUnits(ctx context.Context, a *auth.Actor, propertyID string, file io.Reader) (*ImportReport, error) {
	if err := parseID(propertyID); err != nil {
		return nil, err
	}
	if err := manages(a, propertyID); err != nil {
		return nil, err
	}
	rows, bad := ParseImport(file)
	if len(bad) > 0 {
		return nil, refuse(bad)
	}
	now := s.req.Now()
	var out ImportReport
	err := s.run(ctx, func(_ request.Tx, tx Tx) error {
		var bad []string
		var err error
		if out, bad, err = tx.ImportUnits(ctx, propertyID, rows); err != nil {
			return err
		}
		if len(bad) > 0 {
			return refuse(bad)
		}
		if out.UnitsCreated == 0 && out.BuildingsCreated == 0 {
			return nil // nothing changed, nothing to audit
		}
		return record(ctx, tx, a, now, &propertyID, "importUnits", "property", propertyID, nil,
			map[string]any{"rows": len(rows), "buildingsCreated": out.BuildingsCreated, "unitsCreated": out.UnitsCreated})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
