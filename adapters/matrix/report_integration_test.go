//go:build goolm

package matrix

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
)

// Acceptance (issue 16), on a real Dendrite: a report's summary is edited
// in place (m.replace, encrypted) when its checklist or its state changes
// (keycap presses on the summary), and alice's client shows one summary,
// with the tick, the new state and who acknowledged it, not several.
func TestReportSummaryEditedInPlace(t *testing.T) {
	w, alice, room := setup(t)
	var reports *report.Reports
	w.features = func(t *testing.T, e *bot.Engine) {
		var err error
		if reports, err = report.Register(e, report.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	r := w.start()
	botID := id.UserID(w.botAcct.UserID)
	warmUp(t, r, alice, room, botID)
	ctx := context.Background()
	if _, err := reports.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: "edit-1", Title: "XSS in the search page", Description: "The q parameter is reflected."}); err != nil {
		t.Fatal(err)
	}
	// The engine's loops do not run here: step them while waiting.
	until := func(what string, cond func() bool) {
		t.Helper()
		waitFor(t, what, func() bool {
			r.engine.Step(ctx)
			return cond()
		})
	}
	var summary *event.Event
	until("the summary", func() bool {
		for _, e := range alice.fromBot(botID) {
			if strings.HasPrefix(e.Content.AsMessage().Body, "VIG-2026-1: XSS") {
				summary = e
				return true
			}
		}
		return false
	})
	shownSummary := func() string {
		t.Helper()
		var bodies []string
		for evID, body := range alice.shown(room) {
			if strings.Contains(body, "VIG-2026-1: XSS") {
				if evID != summary.ID {
					t.Errorf("a second summary %s: %q", evID, body)
				}
				bodies = append(bodies, body)
			}
		}
		if len(bodies) != 1 {
			t.Fatalf("alice shows %d summaries, want 1", len(bodies))
		}
		return bodies[0]
	}
	press := func(key string) {
		t.Helper()
		if _, err := alice.cli.SendReaction(ctx, room, summary.ID, key); err != nil {
			t.Fatal(err)
		}
	}
	// 2: the "verify" tick (1 is Acknowledge).
	press("2️⃣")
	until("the summary to show the tick", func() bool { return strings.Contains(alice.shown(room)[summary.ID], "☑ Verify the report") })
	if body := shownSummary(); !strings.Contains(body, "State: new") {
		t.Errorf("after the tick: %q", body)
	}
	press("1️⃣")
	until("the summary to show the acknowledgement", func() bool {
		return strings.Contains(alice.shown(room)[summary.ID], "State: acknowledged")
	})
	body := shownSummary()
	if !strings.Contains(body, "☑ Verify the report") || strings.Contains(body, "Acknowledge\n") || !strings.Contains(body, " UTC by alice") {
		t.Errorf("after the acknowledgement: %q", body)
	}
	// Who acknowledged is a pill, in the reader's (here the team's) zone.
	edits := alice.edits(summary.ID)
	last := edits[len(edits)-1].Content.AsMessage().NewContent
	if pill := `<a href="https://matrix.to/#/` + string(alice.id()) + `">alice</a>`; !strings.Contains(last.FormattedBody, pill) {
		t.Errorf("the acknowledgement names alice without a pill: %s", last.FormattedBody)
	}
	for _, e := range edits {
		if !e.Mautrix.WasEncrypted || e.Content.AsMessage().NewContent == nil {
			t.Errorf("edit %s: encrypted %v, new content %v", e.ID, e.Mautrix.WasEncrypted, e.Content.AsMessage().NewContent)
		}
	}
}
