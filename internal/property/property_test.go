package property

import "testing"

// A zone that cannot be loaded is an error, never UTC in disguise.
func TestLoadLocation(t *testing.T) {
	for _, zone := range []string{"", "Local", "Mars/Olympus"} {
		if loc, err := (Property{Code: "X", TimeZone: zone}).LoadLocation(); err == nil {
			t.Errorf("zone %q loaded as %v", zone, loc)
		}
	}
	loc, err := Property{Code: "HV", TimeZone: "Asia/Hong_Kong"}.LoadLocation()
	if err != nil || loc.String() != "Asia/Hong_Kong" {
		t.Fatalf("Asia/Hong_Kong: %v, %v", loc, err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Location of an unloadable zone returned instead of panicking")
		}
	}()
	Property{TimeZone: "Mars/Olympus"}.Location()
}
