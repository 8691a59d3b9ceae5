package incident

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
)

// TestPublishQuestionText compares the question before publishing (the
// scan's findings, or none, and what publishing does) with
// testdata/publish/*.txt, which hold the exact text strings.Builder made
// before the template.
func TestPublishQuestionText(t *testing.T) {
	h, _, _ := setup(t)
	question := func(line string) string {
		t.Helper()
		for _, s := range h.Command("alice", line) {
			if len(s.Msg.Buttons) == 1 {
				return s.Msg.Text
			}
		}
		t.Fatalf("%s: no question with a publish button", line)
		return ""
	}
	h.Command("alice", `incident start "Leaked deploy token"`)
	thread := warRoom(t, h, "INC-2026-1")
	h.Clock.Set(bottest.Start.Add(5 * time.Minute))
	say(h, "bob", thread, "m1", "Revoked the token; contact bob@example.org for the log")
	react(h, "alice", "m1", "📌")
	h.Advance(3 * time.Hour)
	h.Command("alice", "incident resolve")

	bottest.Golden(t, "testdata/publish/findings.txt", question("incident publish"))
	h.Command("alice", `incident writeup edit tldr "No user needs to act."`)
	bottest.Golden(t, "testdata/publish/changed.txt", question("incident publish --confirm"))
	h.Command("alice", `incident writeup edit summary "A deploy token was printed in a CI log."`)
	h.Command("alice", `incident writeup edit references "https://example.org/blog/incident"`)
	h.Command("alice", `incident entry 1 "Token revoked"`)
	bottest.Golden(t, "testdata/publish/clean.txt", question("incident publish"))
}
