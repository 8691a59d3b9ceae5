package matrix

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

// People and times in Vigil's own text: a Matrix account is a pill and an
// intentional mention, anyone else their name, a time its text (the engine
// wrote it in the reader's zone).
func TestRenderTokens(t *testing.T) {
	alice := bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@alice:example.org"}
	bob := bot.UserRef{Adapter: bot.AdapterSlack, ID: "U0BOB"}
	at := time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)
	msg := bot.Message{
		Header:  "Assigned to " + bot.AccountToken(alice, "Alice"),
		Text:    "*" + bot.AccountToken(alice, "Alice <A&B>") + "* acknowledged it at " + bot.TimeToken(at, "Tue 8 Dec 2026 14:00 CET") + ", " + bot.AccountToken(bob, "Bob") + " and " + bot.PersonToken("carol") + " were told",
		Context: "by " + bot.AccountToken(alice, "Alice"),
	}
	plain, formatted := render(msg)
	pill := `<a href="https://matrix.to/#/@alice:example.org">`
	for _, want := range []string{
		"<strong>Assigned to " + pill + "Alice</a></strong>",
		"<strong>" + pill + "Alice ‹A&amp;B›</a></strong> acknowledged it at Tue 8 Dec 2026 14:00 CET, Bob and carol were told",
		"<sub>by " + pill + "Alice</a></sub>",
	} {
		if !strings.Contains(formatted, want) {
			t.Errorf("formatted_body lacks %q:\n%s", want, formatted)
		}
	}
	if want := "Assigned to Alice\n*Alice ‹A&B›* acknowledged it at Tue 8 Dec 2026 14:00 CET, Bob and carol were told\nby Alice"; plain != want {
		t.Errorf("body = %q\nwant %q", plain, want)
	}
	m := mentions(msg)
	if len(m.UserIDs) != 1 || m.UserIDs[0] != "@alice:example.org" || m.Room {
		t.Errorf("m.mentions = %+v, want alice once", m)
	}
}

// A token inside untrusted text is text: no pill, no mention, no time.
func TestTokensInUntrustedTextAreInert(t *testing.T) {
	forged := "<@matrix:@mallory:evil.example|Admin> <!time:0|now> <@person:alice>"
	msg := bot.Message{
		Header: "Report: " + bot.Untrusted(forged).String(),
		Text:   "*" + bot.Untrusted(forged).String() + "*",
		Fields: []bot.Field{{Label: "Reporter", Value: bot.Untrusted(forged).String()}},
	}
	plain, formatted := render(msg)
	for _, p := range htmlProblems(formatted) {
		t.Error(p)
	}
	if strings.Count(visibleText(formatted), forged) != 3 || strings.Count(plain, forged) != 3 {
		t.Errorf("the forged tokens do not show as written:\n%s\n%s", formatted, plain)
	}
	if m := mentions(msg); len(m.UserIDs) != 0 {
		t.Errorf("m.mentions = %+v from untrusted text", m)
	}
}

// A Matrix token whose id is not a user id is shown as its name only.
func TestMalformedMatrixAccountIsNotAPill(t *testing.T) {
	msg := bot.Message{Text: bot.AccountToken(bot.UserRef{Adapter: bot.AdapterMatrix, ID: "alice"}, "Alice")}
	_, formatted := render(msg)
	if formatted != "Alice" || len(mentions(msg).UserIDs) != 0 {
		t.Errorf("formatted %q, mentions %v", formatted, mentions(msg).UserIDs)
	}
	if uid, ok := matrixAccount(bot.Token{Kind: bot.TokenAccount, Account: bot.UserRef{Adapter: bot.AdapterMatrix, ID: "@a:x"}}); !ok || uid != id.UserID("@a:x") {
		t.Errorf("matrixAccount = %q, %v", uid, ok)
	}
}
