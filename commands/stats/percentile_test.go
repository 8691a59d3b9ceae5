package stats

import (
	"testing"
	"time"
)

// The nearest rank: always a measured value, the ceil(p/100 × n)-th.
func TestPercentileNearestRank(t *testing.T) {
	h := time.Hour
	ten := []time.Duration{1 * h, 2 * h, 3 * h, 4 * h, 5 * h, 6 * h, 7 * h, 8 * h, 9 * h, 10 * h}
	for _, tc := range []struct {
		in     []time.Duration
		p      float64
		want   time.Duration
		reason string
	}{
		{nil, 50, 0, "empty"},
		{[]time.Duration{7 * h}, 90, 7 * h, "one value is every percentile"},
		{ten, 50, 5 * h, "median of 10 is the 5th, not 5.5"},
		{ten, 90, 9 * h, "p90 of 10 is the 9th (floating point would say 9.000…1 → 10th)"},
		{ten, 91, 10 * h, "just above 90% of 10 is the 10th"},
		{ten, 100, 10 * h, "p100 is the max"},
		{ten[:4], 50, 2 * h, "median of 4 is the 2nd"},
		{ten[:3], 50, 2 * h, "median of 3 is the middle"},
		{ten[:3], 90, 3 * h, "p90 of 3 is the 3rd"},
		{ten[:2], 50, 1 * h, "median of 2 is the 1st"},
	} {
		if got := Percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("%s: P%v = %s, want %s", tc.reason, tc.p, got, tc.want)
		}
	}
}

func TestSummariseSortsAndBounds(t *testing.T) {
	got := summarise([]time.Duration{5, 1, 4, 2, 3})
	if got != (Durations{N: 5, Median: 3, P90: 5, Max: 5}) {
		t.Errorf("%+v", got)
	}
	if got := summarise(nil); got != (Durations{}) {
		t.Errorf("empty: %+v", got)
	}
}
