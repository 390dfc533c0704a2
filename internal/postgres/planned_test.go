package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kproperty/onestop/internal/postgres"
)

// The planned pool's sessions plan each statement once, generically; and
// since every session keeps a plan of every statement, at most MaxPlanned
// statements are kept there: the rest still answer, unprepared.
func TestPlannedStatementsAreGenericAndBounded(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL, postgres.PlannedPoolSize(2))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode []string
	if err := db.SelectPlannedOnce(ctx, &mode, `SELECT current_setting('plan_cache_mode') WHERE $1::int = 1`, 1); err != nil {
		t.Fatal(err)
	}
	if len(mode) != 1 || mode[0] != "force_generic_plan" {
		t.Fatalf("planned session's plan_cache_mode %v, want force_generic_plan", mode)
	}
	for i := range postgres.MaxPlanned + 10 {
		var got []int
		if err := db.SelectPlannedOnce(ctx, &got, fmt.Sprintf(`SELECT $1::int + %d`, i), 1); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != i+1 {
			t.Fatalf("statement %d answered %v", i, got)
		}
	}
	if n := db.PlannedStatements(); n != postgres.MaxPlanned {
		t.Errorf("%d statements kept, want %d", n, postgres.MaxPlanned)
	}
}
