package main

import (
	"testing"

	"github.com/google/uuid"
)

// logVisit takes a household's id like other fields take a request's: to
// anyone who cannot reach the household (another property's people,
// another household of the same estate) it answers NOT_FOUND, word for
// word as for an id that does not exist. Its own people hear why they may
// not log a visit.
func TestLogVisitReach(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	var me struct {
		Me struct{ Units []struct{ ID string } }
	}
	chan_.must(`{ me { units { id } } }`, nil, &me)
	unit := me.Me.Units[0].ID
	visit := `mutation($u: ID!) { logVisit(unitId: $u, note: "Checked the balcony drain") { id } }`

	missing := s.login(t, "butler.ho").fails("NOT_FOUND", visit, map[string]any{"u": uuid.NewString()})
	for _, who := range []string{"tenant.ko", "agent.siu", "tech.fung", "resident.lee"} {
		r := s.login(t, who).fails("NOT_FOUND", visit, map[string]any{"u": unit})
		if r.Errors[0].Message != missing.Errors[0].Message {
			t.Errorf("%s hears %q for A-1201, %q for a missing household", who, r.Errors[0].Message, missing.Errors[0].Message)
		}
	}
	// The household itself and the estate's technician may know the
	// household exists; a visit is its butler's.
	chan_.fails("FORBIDDEN", visit, map[string]any{"u": unit})
	s.login(t, "tech.lam").fails("FORBIDDEN", visit, map[string]any{"u": unit})
	s.login(t, "butler.ho").must(visit, map[string]any{"u": unit}, nil)
}
