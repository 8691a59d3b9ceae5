package console_test

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/adapters/console"
	"github.com/vigil-sec/vigil/bot"
)

func u(s string) string { return bot.Untrusted(s).String() }

// What a terminal and a pipe show of Vigil's markup, and that an
// outsider's markup is shown as typed on both.
func TestRenderMarkup(t *testing.T) {
	const (
		bold   = "\x1b[1m"
		italic = "\x1b[3m"
		code   = "\x1b[36m"
		reset  = "\x1b[0m"
	)
	hostile := "`x` *y* _z_ <https://evil.example/|docs> <@slack:U1|Alice> <!time:1|t> \x1b[2J"
	tests := []struct {
		name, in, plain, tty string
	}{
		{"bold, italic, code", "*bold* and _it_ and `code`", "bold and it and code",
			bold + "bold" + reset + " and " + italic + "it" + reset + " and " + code + "code" + reset},
		{"help line", "`/sec audit` — Show the log _(admin, private room)_", "/sec audit — Show the log (admin, private room)",
			code + "/sec audit" + reset + " — Show the log " + italic + "(admin, private room)" + reset},
		{"nested", "x *a `c` b*", "x a c b",
			"x " + bold + "a " + reset + bold + code + "c" + reset + bold + " b" + reset},
		{"link", "see <https://example.org|the *docs*>", "see the docs (https://example.org)",
			"see the " + bold + "docs" + reset + " (https://example.org)"},
		{"bare link", "<https://example.org/a>", "https://example.org/a", "https://example.org/a"},
		{"not markup", "snake_case_name, 2 * 3 * 4, a < b > c, _ x _, **", "snake_case_name, 2 * 3 * 4, a < b > c, _ x _, **",
			"snake_case_name, 2 * 3 * 4, a < b > c, _ x _, **"},
		{"person", "<@console:bob|Bob Builder> acknowledged VIG-1", "@Bob Builder acknowledged VIG-1",
			bold + "@Bob Builder" + reset + " acknowledged VIG-1"},
		{"person without a name", "to <@matrix:@bob:example.org>", "to @bob:example.org", "to " + bold + "@bob:example.org" + reset},
		{"time", "due <!time:1767603600|Mon 5 Jan 2026 10:00 CET>", "due Mon 5 Jan 2026 10:00 CET", "due Mon 5 Jan 2026 10:00 CET"},
		{"time without fallback", "at <!time:0>", "at Thu 1 Jan 1970 00:00 UTC", "at Thu 1 Jan 1970 00:00 UTC"},
		{"untrusted as typed", "title: " + u(hostile), "title: " + strings.ReplaceAll(hostile, "\x1b", "␛"),
			"title: " + strings.ReplaceAll(hostile, "\x1b", "␛")},
		{"markup around untrusted", "*" + u("a*b `c`") + "* by " + u("_eve_"), "a*b `c` by _eve_",
			bold + "a*b `c`" + reset + " by _eve_"},
		{"untrusted in a link label", "<https://example.org|" + u("*x*") + ">", "*x* (https://example.org)", "*x* (https://example.org)"},
		{"no link to an untrusted url", "<https://" + u("evil.example") + "|docs>", "<https://evil.example|docs>", "<https://evil.example|docs>"},
		{"untrusted placeholders stay text", "x " + u("\uE0020\uE003") + " y \uE0020\uE003", "x \uE0020\uE003 y 0", "x \uE0020\uE003 y 0"},
		{"controls in Vigil's text", "*\x1b[31mred*", "␛[31mred", bold + "␛[31mred" + reset},
	}
	room := bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{})
	for _, tt := range tests {
		msg := bot.Message{Text: tt.in}
		if got := console.Render(room, msg, false); got != tt.plain+"\n" {
			t.Errorf("%s, plain:\n got %q\nwant %q", tt.name, got, tt.plain+"\n")
		}
		if got := console.Render(room, msg, true); got != tt.tty+"\n" {
			t.Errorf("%s, terminal:\n got %q\nwant %q", tt.name, got, tt.tty+"\n")
		}
	}
}

// Every part of a message reads the markup, and the dim context line keeps
// its dimness around code.
func TestRenderMarkupInEveryPart(t *testing.T) {
	msg := bot.Message{
		Header:  "*VIG-1*: " + u("`t`"),
		Text:    "`x`",
		Fields:  []bot.Field{{Label: "_Due_", Value: "<!time:1|Mon 09:00 CET> by <@console:bob|Bob>"}},
		Buttons: []bot.Button{{Label: "*Ack*"}},
		Context: "by `vigil`",
	}
	room := bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{})
	want := "== VIG-1: `t` ==\nx\n  Due: Mon 09:00 CET by @Bob\n  [1 Ack]  (:press N)\n  by vigil\n"
	if got := console.Render(room, msg, false); got != want {
		t.Errorf("plain:\n got %q\nwant %q", got, want)
	}
	tty := console.Render(room, msg, true)
	if !strings.Contains(tty, "\x1b[2m  by \x1b[0m\x1b[2m\x1b[36mvigil\x1b[0m\n") {
		t.Errorf("context: %q", tty)
	}
	if !strings.HasPrefix(tty, "\x1b[1m== VIG-1: `t` ==\x1b[0m\n") {
		t.Errorf("header: %q", tty)
	}
}
