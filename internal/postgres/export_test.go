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
