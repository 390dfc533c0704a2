// Package gcfloor keeps Go's garbage collector from running while the heap
// is small.
//
// The collector's percent (GOGC) sets the next collection at that much
// above the heap that survived the last one. A server whose calls each
// allocate a megabyte of garbage over a live heap of tens of megabytes
// then collects many times a second at the default of 100. Raising the
// percent for good would let a large live heap (10,000 idle websockets)
// grow to several times its size. A floor does neither: the next
// collection waits until the heap reaches the floor or the percent's own
// goal, whichever is larger, so a small heap collects rarely and a large
// one as Go would. GOMEMLIMIT still bounds the heap from above.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The live heap as the last collection marked it; before the first
// collection, what the heap holds (live or not) stands in for it.
const (
	liveMetric    = "/gc/heap/live:bytes"
	objectsMetric = "/memory/classes/heap/objects:bytes"
)

// Start holds the heap goal at floor bytes or more, with base as the
// collector's percent once the live heap is large enough not to need the
// floor. It is re-set after every collection. The returned function stops
// it and puts the percent back to base.
func Start(floor uint64, base int) (stop func()) {
	t := &tuner{floor: floor, base: base, sample: []metrics.Sample{{Name: liveMetric}, {Name: objectsMetric}}}
	t.mu.Lock()
	t.adjust()
	t.mu.Unlock()
	t.arm()
	return t.stop
}

type tuner struct {
	floor uint64
	base  int

	mu      sync.Mutex // held while reading the heap and setting the percent
	sample  []metrics.Sample
	stopped bool
}

// arm runs adjust after the next collection: the runtime calls a cleanup
// of an object once a collection has found it unreachable, and this one is
// unreachable from the start.
func (t *tuner) arm() {
	runtime.AddCleanup(&sentinel{}, (*tuner).collected, t)
}

// sentinel holds a pointer so that it is not put in a shared tiny block,
// whose cleanups may never run.
type sentinel struct{ _ *byte }

func (t *tuner) collected() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.adjust()
	t.arm()
}

func (t *tuner) adjust() {
	metrics.Read(t.sample)
	var live uint64
	for _, m := range t.sample {
		if live == 0 && m.Value.Kind() == metrics.KindUint64 {
			live = m.Value.Uint64()
		}
	}
	debug.SetGCPercent(Percent(live, t.floor, t.base))
}

func (t *tuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		debug.SetGCPercent(t.base)
	}
}

// maxPercent bounds the percent for a live heap far below the floor: the
// runtime keeps it in 32 bits, and a larger one would wrap to a negative,
// which turns collection off.
const maxPercent = 1_000_000

// Percent is the collector's percent that puts the next collection at the
// floor for a live heap of live bytes, or base when base's own goal is
// already past the floor (or nothing is known of the heap yet).
func Percent(live, floor uint64, base int) int {
	if live == 0 || base < 0 || live+live*uint64(base)/100 >= floor {
		return base
	}
	q := (floor - live) / live
	if q >= maxPercent/100 {
		return maxPercent
	}
	return int(q*100 + (floor-live)%live*100/live)
}
