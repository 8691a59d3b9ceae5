package bot

import (
	"testing"
	"time"
)

func TestReplaceTokens(t *testing.T) {
	at := time.Date(2026, 12, 8, 14, 0, 0, 0, time.UTC)
	show := func(tok Token) string {
		switch tok.Kind {
		case TokenPerson:
			return "P(" + tok.Person + ")"
		case TokenAccount:
			return "A(" + tok.Account.String() + "=" + tok.Label + ")"
		case TokenTime:
			return "T(" + tok.Time.Format(time.RFC3339) + "," + tok.Fallback + ")"
		}
		return "?"
	}
	for in, want := range map[string]string{
		"ack by " + PersonToken("alice") + " at " + TimeToken(at, "8 Dec 14:00 UTC"): "ack by P(alice) at T(2026-12-08T14:00:00Z,8 Dec 14:00 UTC)",
		AccountToken(UserRef{Adapter: "slack", ID: "U1"}, "Bob <b|x>"):               "A(slack:U1=Bob ‹b¦x›)",
		"a < b and <https://x|link> and <@ nope> <!time:x|y> <@person:>":             "a < b and <https://x|link> and <@ nope> <!time:x|y> <@person:>",
		"no tokens":         "no tokens",
		"<<@person:carol>>": "<P(carol)>",
	} {
		if got := ReplaceTokens(in, show); got != want {
			t.Errorf("ReplaceTokens(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
