//go:build race

package stats_test

// raceEnabled: the race detector slows the code several times, so timing
// bounds are not checked under it.
const raceEnabled = true
