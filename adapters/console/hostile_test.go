package console

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/hostile"
)

// ownEscapes are the only escape sequences the console writes: its colours.
var ownEscapes = strings.NewReplacer(ansiBold, "", ansiDim, "", ansiItalic, "", ansiCyan, "", ansiReset, "")

// terminalProblems checks console output: with Vigil's own colour codes
// taken out, no C0 control but newline and tab, no DEL, no C1 control, no
// invisible reordering character, valid UTF-8 and no marker.
func terminalProblems(out string) []string {
	var problems []string
	if !utf8.ValidString(out) {
		problems = append(problems, "invalid UTF-8 printed")
	}
	for i, r := range ownEscapes.Replace(out) {
		if r != '\n' && r != '\t' && needsPicture(r) {
			problems = append(problems, fmt.Sprintf("raw U+%04X at byte %d", r, i))
			break
		}
	}
	return problems
}

// Every corpus string, as a report's title, description and reporter name
// from every source, prints with no raw control or escape character, in
// colour and without.
func TestHostileCorpusRendersInert(t *testing.T) {
	filed := hostile.Reports(t, hostile.Load(t))
	for _, f := range filed {
		for _, color := range []bool{false, true} {
			out := Render(bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{}), f.Msg, color)
			for _, p := range terminalProblems(out) {
				t.Errorf("%s/%s (colour %v): %s", f.Case.Name, f.Source, color, p)
			}
		}
	}
}

// Escapes show as text a person can read, and nothing is lost.
func TestInertShowsControlsVisibly(t *testing.T) {
	for _, c := range hostile.Load(t) {
		msg := bot.Message{Header: bot.Untrusted(c.Text).String(), Text: bot.Untrusted(c.Text).String()}
		for _, p := range terminalProblems(Render(bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{}), msg, true)) {
			t.Errorf("raw %s: %s", c.Name, p)
		}
		// Its markup, links and tokens are not read: it prints as typed.
		typed := Inert(strings.ToValidUTF8(bot.StripSentinels(c.Text), "\uFFFD"))
		if got := text("*" + bot.Untrusted(c.Text).String() + "*"); typed != "" && got != typed {
			t.Errorf("%s printed as %q, want %q", c.Name, got, typed)
		}
	}
	tests := []struct{ in, want string }{
		{"\x1b[31mred\x1b[0m", "␛[31mred␛[0m"},
		{"\x1b]8;;https://evil.example/\x07docs", "␛]8;;https://evil.example/␇docs"},
		{"a\x00b\rc\x7f", "a␀b␍c␡"},
		{"\u009b31m", "⟨U+009B⟩31m"},
		{"user\u202egnp.exe", "user⟨U+202E⟩gnp.exe"},
		{"bad \xff", "bad \uFFFD"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
	}
	for _, tt := range tests {
		if got := Inert(tt.in); got != tt.want {
			t.Errorf("Inert(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Vigil's links are rewritten; an outsider's are shown as written.
	got := text("see <https://example.org|docs> " + bot.Untrusted("<https://evil.example/|docs.example.org>").String())
	if got != "see docs (https://example.org) <https://evil.example/|docs.example.org>" {
		t.Errorf("text = %q", got)
	}
}

// Acceptance: the scripted console (standard input, not a terminal), with
// the real engine and report feature: reports typed with the corpus's
// escape sequences and controls are filed and printed (summary, DMs,
// "report show") with none of them raw. (The renderer's own handling of raw
// input is tested on the corpus directly below and by the fuzz target.)
func TestConsolePrintsNoRawEscapes(t *testing.T) {
	fake := clock.NewFake(bottest.Start)
	people := []bot.Person{{Name: "admin", Chat: map[string]string{"console": "admin"}, Roles: []bot.Role{bot.RoleAdmin, bot.RoleResponder}}}
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: fake, People: people})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := report.Register(e, report.Options{}); err != nil {
		t.Fatal(err)
	}
	var script []string
	n := 0
	for _, c := range hostile.Load(t) {
		line := strings.ReplaceAll(c.Text, "\n", " ")
		// Lines the console or the form read as instructions (":help",
		// "!sec", "cancel") would not be report text.
		trimmed := strings.TrimSpace(bot.StripSentinels(line))
		if trimmed == "" || len(line) > 4000 || strings.ContainsAny(trimmed[:1], ":/!") || strings.EqualFold(trimmed, "cancel") {
			continue
		}
		n++
		// (The form's source id is the actor and the clock's instant: two
		// forms in the same instant would be one report.)
		script = append(script, ":advance 1m", "/sec report new", line, line, line, "-", "2", "-", fmt.Sprintf("/sec report show VIG-2026-%d", n))
	}
	var out bytes.Buffer
	a, err := New(Options{Engine: e, In: strings.NewReader(strings.Join(script, "\n") + "\n"), Out: &out, As: "admin", Fake: fake, Color: true})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(a)
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	printed := out.String()
	for _, p := range terminalProblems(printed) {
		t.Error(p)
	}
	// Intake removes escape sequences whole and shows bidi controls; the
	// console would show either as text (TestInertShowsControlsVisibly).
	for _, want := range []string{"== VIG-2026-1: <!channel> urgent: read this ==", "user⟨U+202E⟩gnp.exe", "red via C1", fmt.Sprintf("VIG-2026-%d", n)} {
		if !strings.Contains(printed, want) {
			t.Errorf("output lacks %q: the reports were not printed", want)
		}
	}
}

func FuzzRenderUntrusted(f *testing.F) {
	for _, c := range []string{"\x1b[31mred", "\x1b]8;;u\x07x", "\u009b2J", "\ue001\x1b[2J", "\xff\x1b"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, outside string) {
		msg := bot.Message{
			Header:  bot.Untrusted(outside).String(),
			Text:    "*" + bot.Untrusted(outside).String() + "* <https://example.org|x>",
			Fields:  []bot.Field{{Label: "Reporter", Value: bot.Untrusted(outside).String()}},
			Buttons: []bot.Button{{Label: bot.Untrusted(outside).String()}},
			Context: bot.Untrusted(outside).String(),
		}
		for _, color := range []bool{false, true} {
			for _, p := range terminalProblems(Render(bot.ToRoom(bot.ConsoleRoom, bot.ThreadRef{}), msg, color)) {
				t.Fatalf("%q: %s", outside, p)
			}
		}
		// No markup is read in it: it prints exactly as typed (inert).
		// (An empty run is no run at all to bot.Segments, so "*" around
		// one would print "**".)
		typed := Inert(strings.ToValidUTF8(bot.StripSentinels(outside), "\uFFFD"))
		if got := text("*" + bot.Untrusted(outside).String() + "*"); typed != "" && got != typed {
			t.Fatalf("%q printed as %q, want %q", outside, got, typed)
		}
	})
}
