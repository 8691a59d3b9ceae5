package release_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
)

// The notice clock of a release: announced 48 h ahead, or, expedited, by
// its public time at the latest. Cancelled and announced releases run none.
func TestNoticeClockInBreach(t *testing.T) {
	for _, tt := range []struct {
		name     string
		plan     string
		deadline time.Duration // from plan to breach
		then     string        // a command that stops the clock
	}{
		{"48 hours ahead", "--public-at %s", 24 * time.Hour, "release announce %s"},
		{"expedited", `--public-at %s --expedite --reason "exploited"`, 30 * time.Hour, `release cancel %s --reason "reverted"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			start := f.Clock.Now()
			publicAt := start.Add(72 * time.Hour)
			if tt.name == "expedited" {
				publicAt = start.Add(30 * time.Hour)
			}
			has(t, bottest.Joined(f.Command("bob", "release plan "+f.id+" "+fmt.Sprintf(tt.plan, publicAt.Format(time.RFC3339)))), "planned the release")
			breaches := func(at time.Time) int {
				t.Helper()
				g, err := f.releases.Gauges(context.Background(), at, 100)
				if err != nil {
					t.Fatal(err)
				}
				return g.NoticeBreaches + g.PublishBreaches
			}
			if n := breaches(start.Add(tt.deadline - time.Second)); n != 0 {
				t.Errorf("a second before the deadline: %d in breach", n)
			}
			if n := breaches(start.Add(tt.deadline)); n != 1 {
				t.Errorf("at the deadline: %d in breach, want 1", n)
			}
			f.Command("bob", fmt.Sprintf(tt.then, f.id))
			if n := breaches(start.Add(tt.deadline)); n != 0 {
				t.Errorf("after %q: %d in breach", tt.then, n)
			}
		})
	}
}
