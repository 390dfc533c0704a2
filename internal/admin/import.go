package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// MaxImportRows bounds one import file (a large estate has a few
// thousand units).
const MaxImportRows = 20000

// maxReported bounds how many bad lines one refusal names.
const maxReported = 200

// importColumns are the columns an import file may have; building and unit
// are required. The resident columns name one household member a line:
// a unit with several residents has a line for each.
var importColumns = map[string]bool{"building": true, "building_name": true, "building_name_zh": true, "unit": true,
	"resident_name": true, "resident_name_zh": true, "relation": true, "moved_in": true, "phone": true}

// residentColumns are the columns that say a line names a resident.
var residentColumns = []string{"resident_name", "resident_name_zh", "relation", "moved_in", "phone"}

var phoneRe = regexp.MustCompile(`^\+?[0-9][0-9 -]{5,19}$`)

// parseResident reads a line's resident, if it names one, and says what
// is wrong with it.
func parseResident(line int, unit string, field func(string) string) (*ImportResident, []string) {
	named := false
	for _, c := range residentColumns {
		if field(c) != "" {
			named = true
		}
	}
	if !named {
		return nil, nil
	}
	r := &ImportResident{Line: line, Unit: unit, NameZh: field("resident_name_zh"), MovedIn: field("moved_in"),
		Relation: person.Relation(strings.ToUpper(field("relation")))}
	var why []string
	var err error
	if r.Name, err = name("resident_name", field("resident_name"), true); err != nil {
		why = append(why, "a resident needs a resident_name of at most 100 characters")
	}
	if _, err := name("resident_name_zh", r.NameZh, false); err != nil {
		why = append(why, "resident_name_zh must be at most 100 characters")
	}
	switch r.Relation {
	case person.Owner, person.Tenant, person.Family:
	default:
		why = append(why, fmt.Sprintf("relation %q must be OWNER, TENANT or FAMILY", field("relation")))
	}
	if r.MovedIn != "" {
		if _, err := time.Parse(time.DateOnly, r.MovedIn); err != nil {
			why = append(why, fmt.Sprintf("moved_in %q must be a date such as 2024-07-01", r.MovedIn))
		}
	}
	if p := field("phone"); p != "" {
		if !phoneRe.MatchString(p) {
			why = append(why, fmt.Sprintf("phone %q must be 6-20 digits, spaces or dashes, with an optional leading +", p))
		}
		r.Phone = &p
	}
	return r, why
}

// ParseImport reads an import file: a header line naming the columns, then
// one unit per line. Every bad line is reported, by line number and reason.
func ParseImport(r io.Reader) ([]ImportRow, []string) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, []string{"line 1: a header line is required (building,unit[,building_name,building_name_zh,resident_name,resident_name_zh,relation,moved_in,phone])"}
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
	// A unit is on one line, or on one line per resident, always in the
	// same building.
	type unitLine struct {
		line     int
		building string
		resident bool
	}
	seen := map[string]unitLine{}
	residents := map[string]int{}
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
		res, resWhy := parseResident(line, row.Unit, func(c string) string { return field(rec, c) })
		row.Resident = res
		why = append(why, resWhy...)
		if first, dup := seen[row.Unit]; dup && row.Unit != "" {
			switch {
			case res == nil || !first.resident:
				why = append(why, fmt.Sprintf("unit %s is already on line %d", row.Unit, first.line))
			case first.building != row.Building:
				why = append(why, fmt.Sprintf("unit %s is in building %s on line %d", row.Unit, first.building, first.line))
			}
		}
		if res != nil && res.Name != "" {
			key := row.Unit + "\x00" + strings.ToLower(res.Name)
			if first, dup := residents[key]; dup {
				why = append(why, fmt.Sprintf("resident %s of unit %s is already on line %d", res.Name, row.Unit, first))
			} else {
				residents[key] = line
			}
		}
		if n, ok := buildingNames[row.Building]; ok && (row.BuildingName != "" && n[0] != "" && n[0] != row.BuildingName) {
			why = append(why, fmt.Sprintf("building %s is named %q on an earlier line", row.Building, n[0]))
		}
		if len(why) > 0 {
			bad = append(bad, fmt.Sprintf("line %d: %s", line, strings.Join(why, "; ")))
			continue
		}
		if _, dup := seen[row.Unit]; !dup {
			seen[row.Unit] = unitLine{line: line, building: row.Building, resident: res != nil}
		}
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

// ImportUnits loads a property's buildings, units and households from a
// CSV file. The whole file is checked first and every bad line reported;
// then it is applied in one transaction or not at all. Units that already
// exist (in the same building) and residents already recorded in their
// unit (by name) are left as they are, so running the same file again
// changes nothing. New residents cannot sign in until the office gives
// them a code (resetPassword).
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
	units := make([]ImportRow, 0, len(rows))
	var residents []ImportResident
	listed := map[string]bool{}
	for _, r := range rows {
		if !listed[r.Unit] {
			listed[r.Unit] = true
			units = append(units, r)
		}
		if r.Resident != nil {
			residents = append(residents, *r.Resident)
		}
	}
	// Nobody knows this password: the office's code sets the real one.
	// One hash serves the whole file, since bcrypt is slow by design.
	var unusable string
	if len(residents) > 0 {
		var err error
		if unusable, err = s.hash.HashPassword(uuid.NewString()); err != nil {
			return nil, err
		}
	}
	now := s.req.Now()
	var out ImportReport
	err := s.run(ctx, func(_ request.Tx, tx Tx) error {
		p, err := tx.LockProperty(ctx, propertyID)
		if err != nil {
			return err
		}
		loc, err := property.LoadTimeZone(p.TimeZone)
		if err != nil {
			return err
		}
		var bad []string
		for i := range residents {
			r := &residents[i]
			if r.MovedIn == "" {
				r.MovedInAt = now
				continue
			}
			d, _ := time.ParseInLocation(time.DateOnly, r.MovedIn, loc) // checked by ParseImport
			if d.After(now) {
				bad = append(bad, fmt.Sprintf("line %d: moved_in %s is in the future", r.Line, r.MovedIn))
			}
			r.MovedInAt = d
		}
		if len(bad) > 0 {
			return refuse(bad)
		}
		if out, bad, err = tx.ImportUnits(ctx, propertyID, units); err != nil {
			return err
		}
		if len(bad) > 0 {
			return refuse(bad)
		}
		if len(residents) > 0 {
			if out.ResidentsCreated, out.ResidentsUnchanged, err = tx.ImportResidents(ctx, propertyID, strings.ToLower(p.Code), unusable, residents); err != nil {
				return err
			}
		}
		if out.UnitsCreated == 0 && out.BuildingsCreated == 0 && out.ResidentsCreated == 0 {
			return nil // nothing changed, nothing to audit
		}
		return record(ctx, tx, a, now, &propertyID, "importUnits", "property", propertyID, nil,
			map[string]any{"rows": len(rows), "buildingsCreated": out.BuildingsCreated, "unitsCreated": out.UnitsCreated,
				"residentsCreated": out.ResidentsCreated})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
