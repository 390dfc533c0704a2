package main

import (
	"strings"
	"testing"
	"time"
)

// An import file may carry each unit's household, a line per resident:
// checked whole first (every bad line named, nothing written, a move-in in
// the future too), applied in one transaction, and run again changes
// nothing. An imported resident signs in once the office gives them a
// code, and is home from the day the file says.
func TestImportHouseholds(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "IH", map[string]string{"mgr": "MANAGER", "agent": "AGENT", "dir": "DIRECTOR"})
	mgr, agent := s.login(t, e.user("mgr")), s.login(t, e.user("agent"))
	prefix := strings.ToLower(e.Code)
	people := func() int {
		var n int
		if err := s.app.DB.Get(&n, `SELECT count(*) FROM people WHERE lower(username) LIKE $1`, prefix+".%"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	staff := people()

	header := "building,unit,resident_name,resident_name_zh,relation,moved_in,phone\n"
	bad := header +
		"B,B-0101,Chan Tai Man,陳大文,OWNER,2024-07-01,+852 9123 4567\n" +
		"B,B-0101,Chan Tai Man,,FAMILY,,\n" +
		"B,B-0102,Lee Ka Yan,,LANDLORD,,\n" +
		"B,B-0103,Ho Wing,,TENANT,01/07/2024,\n"
	r := mgr.fails("INVALID_INPUT", importUnits, map[string]any{"p": e.ID, "csv": bad})
	for _, want := range []string{"3 bad lines", "line 3: resident Chan Tai Man of unit B-0101 is already on line 2", "line 4: relation \"LANDLORD\"", "line 5: moved_in \"01/07/2024\""} {
		if !strings.Contains(r.Errors[0].Message, want) {
			t.Errorf("refusal %q does not say %q", r.Errors[0].Message, want)
		}
	}
	future := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	if s.clock.Now().After(time.Now()) {
		future = s.clock.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	}
	r = mgr.fails("INVALID_INPUT", importUnits, map[string]any{"p": e.ID, "csv": header + "B,B-0101,Chan Tai Man,,OWNER,2024-07-01,\nB,B-0102,Yu,,OWNER," + future + ",\n"})
	if !strings.Contains(r.Errors[0].Message, "line 3: moved_in "+future+" is in the future") {
		t.Errorf("refusal %q", r.Errors[0].Message)
	}
	if n := people(); n != staff {
		t.Fatalf("a refused file wrote %d people", n-staff)
	}
	var units int
	if err := s.app.DB.Get(&units, `SELECT count(*) FROM units WHERE property_id = $1`, e.ID); err != nil || units != 1 {
		t.Fatalf("a refused file left %d units (%v)", units, err)
	}

	good := header +
		"B,B-0101,Chan Tai Man,陳大文,OWNER,2024-07-01,+852 9123 4567\n" +
		"B,B-0101,Chan Siu Ming,陳小明,FAMILY,2024-07-01,\n" +
		"B,B-0102,Lee Ka Yan,李嘉欣,TENANT,,\n" +
		"B,B-0103,,,,,\n"
	var rep struct {
		ImportUnits struct{ BuildingsCreated, UnitsCreated, UnitsUnchanged, ResidentsCreated, ResidentsUnchanged int }
	}
	imp := `mutation($p: ID!, $csv: String!) { importUnits(propertyId: $p, csv: $csv) { buildingsCreated unitsCreated unitsUnchanged residentsCreated residentsUnchanged } }`
	mgr.must(imp, map[string]any{"p": e.ID, "csv": good}, &rep)
	if got := rep.ImportUnits; got.BuildingsCreated != 1 || got.UnitsCreated != 3 || got.UnitsUnchanged != 0 || got.ResidentsCreated != 3 || got.ResidentsUnchanged != 0 {
		t.Fatalf("first run %+v", got)
	}
	if n := people(); n != staff+3 {
		t.Fatalf("%d people imported, want 3", n-staff)
	}
	dir := s.login(t, e.user("dir"))
	entries := len(auditOf(t, dir, e.ID))

	// Again: nothing changes, and nobody is added twice (a name in
	// another case is the same person).
	mgr.must(imp, map[string]any{"p": e.ID, "csv": strings.Replace(good, "Lee Ka Yan", "LEE KA YAN", 1)}, &rep)
	if got := rep.ImportUnits; got.UnitsCreated != 0 || got.UnitsUnchanged != 3 || got.ResidentsCreated != 0 || got.ResidentsUnchanged != 3 {
		t.Fatalf("second run %+v", got)
	}
	if n := people(); n != staff+3 {
		t.Fatalf("the second run added %d people", n-staff-3)
	}
	if n := len(auditOf(t, dir, e.ID)); n != entries {
		t.Fatalf("the second run wrote %d audit entries", n-entries)
	}

	// The household as recorded: relation, move-in at local midnight,
	// phone.
	var row struct {
		Username, Relation string
		MovedIn            time.Time `db:"moved_in_at"`
		Phone              *string
	}
	if err := s.app.DB.Get(&row, `SELECT p.username, r.relation, r.moved_in_at, p.phone FROM people p JOIN residencies r ON r.person_id = p.id
		JOIN units u ON u.id = r.unit_id WHERE u.property_id = $1 AND p.name = 'Chan Tai Man'`, e.ID); err != nil {
		t.Fatal(err)
	}
	hk, _ := time.LoadLocation("Asia/Hong_Kong")
	if row.Relation != "OWNER" || !row.MovedIn.Equal(time.Date(2024, 7, 1, 0, 0, 0, 0, hk)) || row.Phone == nil || *row.Phone != "+852 9123 4567" ||
		row.Username != prefix+".b-0101.1" {
		t.Fatalf("Chan Tai Man recorded as %+v", row)
	}

	// The office finds the owner and gives them a code; they sign in.
	var found struct {
		Search struct{ People []struct{ ID, Name string } }
	}
	agent.must(`query($p: ID!) { search(propertyId: $p, text: "陳大文") { people { id name } } }`, map[string]any{"p": e.ID}, &found)
	if len(found.Search.People) != 1 {
		t.Fatalf("search found %+v", found.Search.People)
	}
	var reset struct{ ResetPassword struct{ Code string } }
	agent.must(`mutation($who: ID!) { resetPassword(personId: $who) { code } }`, map[string]any{"who": found.Search.People[0].ID}, &reset)
	s.anon(t).must(activate, map[string]any{"c": reset.ResetPassword.Code, "p": "owner-password"}, nil)
	owner := s.signIn(t, row.Username, "owner-password")
	var me struct {
		Me struct{ Units []struct{ Code string } }
	}
	owner.must(`{ me { units { code } } }`, nil, &me)
	if len(me.Me.Units) != 1 || me.Me.Units[0].Code != "B-0101" {
		t.Fatalf("the imported owner's units %+v", me.Me.Units)
	}
	agent.fails("FORBIDDEN", imp, map[string]any{"p": e.ID, "csv": good})
}
