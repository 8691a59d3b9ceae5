package bot

import (
	"context"
	"testing"
	"unicode/utf8"
)

// FuzzSplitArgs: the command-line splitter never panics, and what it
// returns quotes back to the same words.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{`help`, `duty override @bob --from "mon 09:00" --to=fri`, `a "b c" 'd e' f\ g`, `“x”`, `"unterminated`, `\`, `--`, "\x00\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := SplitArgs(line)
		if err != nil {
			return
		}
		if !utf8.ValidString(line) {
			return
		}
		var joined string
		for i, w := range words {
			if i > 0 {
				joined += " "
			}
			joined += QuoteArg(w)
		}
		again, err := SplitArgs(joined)
		if err != nil {
			t.Fatalf("re-splitting %q (from %q): %v", joined, line, err)
		}
		if len(again) != len(words) {
			t.Fatalf("round trip of %q: %q became %q", line, words, again)
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("round trip of %q: %q became %q", line, words, again)
			}
		}
	})
}

// FuzzParseCommand: routing arbitrary text never panics and always yields
// either a runnable command or an error.
func FuzzParseCommand(f *testing.F) {
	r := newRouter()
	noop := func(context.Context, *Request) error { return nil }
	_ = r.Register(&Command{Name: "duty", Run: noop, MaxArgs: -1, Flags: []FlagSpec{{Name: "from"}, {Name: "weeks"}, {Name: "now", Bool: true}},
		Sub: []*Command{{Name: "override", Run: noop, MinArgs: 1, MaxArgs: 1, Flags: []FlagSpec{{Name: "from"}, {Name: "to"}}}}})
	_ = r.Register(&Command{Name: "help", Run: noop, MaxArgs: -1})
	_ = r.Register(&Command{Name: "incident", Sub: []*Command{{Name: "start", Run: noop, MinArgs: 1, MaxArgs: 1}}})
	for _, s := range []string{"help", "duty override @bob --from x --to y", "incident", "incident strat x", "dutty", "duty --weeks", `duty "`, "duty --now=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, args, _, err := r.parseCommand(text)
		if err == nil && (c == nil || c.Run == nil) {
			t.Fatalf("parseCommand(%q) returned no runnable command and no error", text)
		}
		if err == nil && c.MaxArgs >= 0 && len(args) > c.MaxArgs {
			t.Fatalf("parseCommand(%q) let %d args through to %q (max %d)", text, len(args), c.Path(), c.MaxArgs)
		}
	})
}
