//go:build goolm

package matrix

import (
	"context"
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/internal/hostile"
)

// Acceptance, on a real Dendrite: a report made of the hostile corpus
// (filed through the mail parser, the real intake path) reaches alice's
// client, decrypted, with no pill, no link, no HTML from the input, and
// m.mentions naming only the assignee (alice here) and not the room.
func TestHostileReportReachesAliceInert(t *testing.T) {
	var cases []hostile.Case
	for _, c := range hostile.Load(t) {
		switch c.Name {
		case "matrix-pill", "matrix-room", "matrix-mx-reply", "html-script", "html-img", "markdown-link", "slack-channel", "everything-at-once":
			cases = append(cases, c)
		}
	}
	var summaries []bot.Message
	for _, f := range hostile.Reports(t, cases) {
		if f.Source == intake.SourceEmail && strings.HasPrefix(bot.StripSentinels(f.Msg.Header), "VIG-") {
			summaries = append(summaries, f.Msg)
		}
	}
	if len(summaries) != len(cases) {
		t.Fatalf("%d report summaries for %d cases", len(summaries), len(cases))
	}

	w, alice, room := setup(t)
	r := w.start()
	botID := id.UserID(w.botAcct.UserID)
	warmUp(t, r, alice, room, botID) // the reports follow once alice reads the bot
	for i, msg := range summaries {
		msg.Mentions = []bot.UserRef{{Adapter: bot.AdapterMatrix, ID: string(alice.id())}}
		msg.Header = strings.Replace(msg.Header, "VIG-", "HOSTILE-"+string(rune('A'+i))+" VIG-", 1)
		if _, err := r.adapter.Send(context.Background(), bot.ToRoom(roomRef(string(room)), bot.ThreadRef{}), msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := range summaries {
		ev := alice.waitBot(botID, "HOSTILE-"+string(rune('A'+i))+" ")
		content := ev.Content.AsMessage()
		for _, p := range htmlProblems(content.FormattedBody) {
			t.Errorf("%s: formatted_body: %s", cases[i].Name, p)
		}
		if strings.Contains(content.FormattedBody, "matrix.to") && strings.Contains(content.FormattedBody, "<a") {
			t.Errorf("%s: a pill reached alice: %s", cases[i].Name, content.FormattedBody)
		}
		if strings.ContainsAny(content.Body, "\uE000\uE001") {
			t.Errorf("%s: markers in the body", cases[i].Name)
		}
		m := content.Mentions
		if m == nil || m.Room || len(m.UserIDs) != 1 || m.UserIDs[0] != alice.id() {
			t.Errorf("%s: m.mentions %+v, want exactly alice and not the room", cases[i].Name, m)
		}
	}
}
