package bot_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/bot"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{``, nil},
		{`   `, nil},
		{`duty`, []string{"duty"}},
		{`incident start "DB breach at vendor"`, []string{"incident", "start", "DB breach at vendor"}},
		{`log 'it''s fine'`, []string{"log", "its fine"}},
		{`a "" b`, []string{"a", "", "b"}},
		{`say "a \"quoted\" word"`, []string{"say", `a "quoted" word`}},
		{`path C:\\x`, []string{"path", `C:\x`}},
		{`single 'no \escapes'`, []string{"single", `no \escapes`}},
		{`--reason=“smart quotes from Slack”`, []string{"--reason=smart quotes from Slack"}},
		{`‘curly single’ x`, []string{"curly single", "x"}},
		{"tabs\tand\nnewlines", []string{"tabs", "and", "newlines"}},
		{`trailing\`, []string{`trailing\`}},
		{`esc\ aped`, []string{"esc aped"}},
	}
	for _, tt := range tests {
		got, err := bot.SplitArgs(tt.in)
		if err != nil {
			t.Errorf("SplitArgs(%q) error: %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitArgsUnterminatedQuote(t *testing.T) {
	for _, in := range []string{`start "half`, `x 'y`, `“open`} {
		_, err := bot.SplitArgs(in)
		if !errors.Is(err, bot.ErrUnterminatedQuote) {
			t.Errorf("SplitArgs(%q) error = %v, want ErrUnterminatedQuote", in, err)
		}
	}
}

func TestQuoteArgRoundTrip(t *testing.T) {
	for _, w := range []string{"plain", "", "two words", `say "hi"`, `back\slash`, "it's", "“curly”", "tab\there"} {
		got, err := bot.SplitArgs(bot.QuoteArg(w))
		if err != nil || len(got) != 1 || got[0] != w {
			t.Errorf("SplitArgs(QuoteArg(%q)) = %q, %v", w, got, err)
		}
	}
}

func TestParseFlags(t *testing.T) {
	specs := []bot.FlagSpec{{Name: "from", Value: "TIME"}, {Name: "to"}, {Name: "expedite", Bool: true}}
	args, flags, err := bot.ParseFlags([]string{"@bob", "--from", "mon", "x", "--to=fri", "--expedite", "--", "--literal"}, specs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(args, []string{"@bob", "x", "--literal"}) {
		t.Errorf("args = %q", args)
	}
	if flags.Get("from") != "mon" || flags.Get("to") != "fri" || !flags.Has("expedite") || flags.Has("missing") {
		t.Errorf("flags = from %q to %q expedite %v", flags.Get("from"), flags.Get("to"), flags.Has("expedite"))
	}

	bad := []struct {
		in   []string
		want string
	}{
		{[]string{"--form", "x"}, "unknown flag --form (did you mean --from?)"},
		{[]string{"--from"}, "flag --from needs a value (TIME)"},
		{[]string{"--expedite=yes"}, "flag --expedite takes no value"},
		{[]string{"--to", "a", "--to", "b"}, "flag --to is given twice"},
		{[]string{"--zzz"}, "unknown flag --zzz"},
	}
	for _, tt := range bad {
		_, _, err := bot.ParseFlags(tt.in, specs)
		var ue *bot.UsageError
		if !errors.As(err, &ue) || bot.StripSentinels(err.Error()) != tt.want {
			t.Errorf("ParseFlags(%q) error = %v, want usage error %q", tt.in, err, tt.want)
		}
	}
}
