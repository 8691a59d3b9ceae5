package duty_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/duty"
)

// TestChangeDMText compares the DM telling someone their shifts moved, in
// two of its shapes, with testdata/texts/*.txt, which hold the exact text
// strings.Builder made before the template.
func TestChangeDMText(t *testing.T) {
	// Monday 5 January 2026, 10:00 UTC (11:00 in Paris).
	f := newFixture(t, bottest.Options{Clock: clock.NewFake(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))}, duty.Options{})
	dm := func(sent []bottest.Sent, who string) string {
		t.Helper()
		var changed []string
		for _, s := range bottest.DMsTo(sent, who) {
			if strings.HasPrefix(s.Msg.Text, "Your duty on ") {
				changed = append(changed, s.Msg.Text)
			}
		}
		if len(changed) != 1 {
			t.Fatalf("%d change DMs to %s, want 1: %q", len(changed), who, bottest.Texts(sent))
		}
		return changed[0]
	}
	// More than six shifts: the list is cut.
	sent := f.Command("alice", `duty rotation create daily --members @alice,@bob --shift 1d --handoff "09:00 Europe/Paris"`)
	bottest.Golden(t, "testdata/texts/changed-many.txt", dm(sent, "bob"))
	// A stretch that has begun starts "now".
	sent = f.Command("bob", `duty override @dave --from "2026-01-07 12:00" --to "2026-01-07 18:00" --rotation daily`)
	bottest.Golden(t, "testdata/texts/changed-now.txt", dm(sent, "alice"))
}
