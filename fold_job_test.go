package main

import (
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

// The server folds the logged request changes into the statistics' rollup
// on its own (STATS_FOLD_INTERVAL), so a read rarely has any to fold: a
// submission is in the rollup soon after, with nobody reading statistics.
func TestServerFoldsTheStatisticsOnItsOwn(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.StatsFoldInterval = 20 * time.Millisecond })
	e := newEstate(t, s, "FJ", map[string]string{"agent": "AGENT"})
	r := s.login(t, e.Resident).submit(e.Plumbing, "folded without a read")
	// Bounded: a fold every 20 ms has had hundreds of chances by then.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var pending, folded int
		if err := s.app.DB.Get(&pending, `SELECT count(*) FROM request_day_changes WHERE request_id = $1`, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.app.DB.Get(&folded, `SELECT count(*) FROM request_day_folded WHERE request_id = $1`, r.ID); err != nil {
			t.Fatal(err)
		}
		if pending == 0 && folded == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the submission: %d changes pending, %d folded", pending, folded)
		}
	}
}
