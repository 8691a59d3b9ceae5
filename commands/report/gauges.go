package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// GaugeSeverities are the severity labels of the process gauges: the CVSS
// ratings in lower case, "unscored" for a report without a severity yet,
// and "other" for anything else a report may hold, so a gauge's label never
// carries free text from a report.
var GaugeSeverities = []string{"critical", "high", "medium", "low", "none", "unscored", "other"}

// GaugeSeverity is a report's effective severity as a gauge label (one of
// GaugeSeverities).
func GaugeSeverity(rep *Report) string {
	sev := strings.ToLower(strings.TrimSpace(rep.EffectiveSeverity()))
	switch sev {
	case "":
		return "unscored"
	case "critical", "high", "medium", "low", "none":
		return sev
	}
	return "other"
}

// OpenStates are the states of a report that still needs work, in process
// order: the state labels of the open-report gauge, with StateOther.
var OpenStates = []State{StateNew, StateAcknowledged, StateAccepted, StateFixing, StateReleased}

// StateOther is the gauge label of a stored state Vigil does not know (a
// document from a newer version): counted, never echoed.
const StateOther State = "other"

// Gauges are the figures of the open reports at one instant.
type Gauges struct {
	// Open counts open reports by state and GaugeSeverity.
	Open map[State]map[string]int
	// OldestUnacked is how long the oldest report not yet acknowledged
	// has waited (0 when every open report is acknowledged).
	OldestUnacked time.Duration
	// AckBreaches counts reports past their acknowledgement deadline and
	// still not acknowledged: clocks in breach now.
	AckBreaches int
	// Truncated: there were more open reports than the limit; the figures
	// are those of the first limit (by id).
	Truncated bool
}

// Gauges reads the open reports (at most limit of them, store.ManyChunk
// per round trip) and sums them up at now. A report removed meanwhile is
// skipped.
func (r *Reports) Gauges(ctx context.Context, now time.Time, limit int) (Gauges, error) {
	ids, err := r.e.Store().SetMembers(ctx, openSet)
	if err != nil {
		return Gauges{}, fmt.Errorf("open reports: %w", err)
	}
	truncated := len(ids) > limit
	if truncated {
		ids = ids[:limit]
	}
	reps, err := store.GetManyJSON[Report](ctx, r.e.Store(), reportColl, ids)
	if err != nil {
		return Gauges{}, fmt.Errorf("open reports: %w", err)
	}
	g := GaugesOf(reps, now)
	g.Truncated = truncated
	return g, nil
}

// GaugesOf sums up reports at now; closed and rejected ones (on the open
// list for a moment while they leave it) are not counted.
func GaugesOf(reps []*Report, now time.Time) Gauges {
	g := Gauges{Open: map[State]map[string]int{}}
	for _, rep := range reps {
		if !rep.open() {
			continue
		}
		st := rep.State
		if !slices.Contains(OpenStates, st) {
			st = StateOther
		}
		if g.Open[st] == nil {
			g.Open[st] = map[string]int{}
		}
		g.Open[st][GaugeSeverity(rep)]++
		if rep.State != StateNew || !rep.AckedAt.IsZero() {
			continue
		}
		if age := now.Sub(rep.Received); age > g.OldestUnacked {
			g.OldestUnacked = age
		}
		if !rep.AckDue.IsZero() && !now.Before(rep.AckDue) {
			g.AckBreaches++
		}
	}
	return g
}
