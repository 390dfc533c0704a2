package postgres

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// Selecting the values around a rank gives what sorting them all gives,
// whatever the values' order and however many are equal (the database's
// percentile_cont is held to both by TestRollupAgreesWithRequests).
func TestPercentileUnsortedIsPercentileCont(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		// Few distinct values, so runs of equal ones are common.
		v := rapid.SliceOf(rapid.Float64Range(0, 8)).Draw(rt, "values")
		for i, f := range v {
			if f > 4 {
				v[i] = float64(int(f))
			}
		}
		p := rapid.SampledFrom([]float64{0, 0.1, 0.5, 0.9, 1}).Draw(rt, "p")
		sorted := slices.Sorted(slices.Values(v))
		want := percentileCont(sorted, p)
		got := percentileUnsorted(slices.Clone(v), p)
		if got != want {
			rt.Fatalf("percentile %v of %v: selected %v, sorted %v", p, v, got, want)
		}
	})
}
