package gcfloor_test

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/kproperty/onestop/internal/gcfloor"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		base, want  int
	}{
		{0, 256 * mib, 100, 100},         // nothing known yet: Go's own
		{16 * mib, 256 * mib, 100, 1500}, // the next collection at 256 MiB
		{64 * mib, 256 * mib, 100, 300},  // the same
		{128 * mib, 256 * mib, 100, 100}, // twice the live heap is the floor
		{200 * mib, 256 * mib, 100, 100}, // a large heap collects as Go would
		{100 * mib, 256 * mib, 200, 200}, // a higher base past the floor stays
		{16 * mib, 256 * mib, -1, -1},    // collection off stays off
		{300 * mib, 256 * mib, 100, 100}, // past the floor already
	} {
		if got := gcfloor.Percent(c.live, c.floor, c.base); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB, %d) = %d, want %d", c.live/mib, c.floor/mib, c.base, got, c.want)
		}
	}
}

var sink []byte

func cycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// churn allocates 256 MiB of garbage in 64 KiB pieces and counts the
// collections it took.
func churn() uint64 {
	runtime.GC()
	before := cycles()
	for range 4096 {
		sink = make([]byte, 64<<10)
	}
	sink = nil
	return cycles() - before
}

// With the floor above the garbage a burst makes, the burst runs without a
// collection; at Go's default it takes many. Stopping puts the percent
// back.
func TestFloorSpacesCollections(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	without := churn()
	stop := gcfloor.Start(1<<30, 100)
	with := churn()
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after stop the percent is %d, want the base 100", got)
	}
	after := churn()
	t.Logf("collections during 256 MiB of garbage: %d at Go's default, %d with a 1 GiB floor, %d after stop", without, with, after)
	// By Go's rule a heap of a few MiB collects every few MiB; on a busy
	// machine concurrent cycles finish less often, hence the low bar.
	if without < 4 || after < 4 {
		t.Fatalf("the default took %d and %d collections: the test's heap is not what it assumes", without, after)
	}
	if with > 1 {
		t.Errorf("with a 1 GiB floor, 256 MiB of garbage took %d collections", with)
	}
}
