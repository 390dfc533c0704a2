package postgres

import (
	"context"

	"github.com/kproperty/onestop/internal/stats"
)

// RawServiceStats answers from every request of the window, with the
// statements that define the figures: what the rollup must agree with, and
// the benchmarks' baseline.
func (s *StatsStore) RawServiceStats(ctx context.Context, q stats.Query) (*stats.ServiceStats, error) {
	return s.serviceStats(ctx, q, false)
}

// RawStaffStats is StaffStats from every request of the window.
func (s *StatsStore) RawStaffStats(ctx context.Context, q stats.Query) ([]stats.StaffStats, error) {
	return s.staffStats(ctx, q, rawStaffSQL)
}

// SelectPlannedOnce is selectPlannedOnce, and PlannedStatements how many
// statements it keeps.
func (db *DB) SelectPlannedOnce(ctx context.Context, dest any, query string, args ...any) error {
	return db.selectPlannedOnce(ctx, dest, query, args...)
}

func (db *DB) PlannedStatements() int {
	n := 0
	db.plannedStmts.stmts.Range(func(any, any) bool { n++; return true })
	return n
}

// MaxPlanned is maxPlanned.
const MaxPlanned = maxPlanned
