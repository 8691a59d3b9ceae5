package stats

import (
	"math"
	"sort"
	"time"
)

// Durations summarises a set of durations with one percentile method,
// used for every figure: the nearest rank. Sorted ascending x[1..n], the
// p-th percentile is x[ceil(p/100 × n)] (the first when that is 0). It is
// always one of the measured values (never an average of two), so a
// median of 4 values is the 2nd, and a p90 of 10 values is the 9th. With no
// values N is 0 and the others are zero.
type Durations struct {
	N      int
	Median time.Duration
	P90    time.Duration
	Max    time.Duration
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted (ascending), or 0 when it is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The small tolerance keeps 90% of 10 at rank 9 where floating point
	// would give 9.000000000000002 and round it up to 10.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

// summarise sorts ds in place and returns their summary.
func summarise(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return Durations{N: len(ds), Median: Percentile(ds, 50), P90: Percentile(ds, 90), Max: ds[len(ds)-1]}
}
