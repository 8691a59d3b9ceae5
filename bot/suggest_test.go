package bot_test

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// `--help` after any verb answers with that verb's help (usage line,
// flags, examples) and runs nothing, even when the rest of the line would
// be a usage error.
func TestHelpFlagShowsHelpAndRunsNothing(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	echo(t, h)
	for _, line := range []string{"duty override --help", "duty override @bob --help --from mon", "duty override --help extra words"} {
		out := only(t, h.Command("bob", line))
		for _, want := range []string{"Usage: `/sec duty override @person --from TIME`", "--from TIME", "/sec duty override @bob --from mon"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: lacks %q in:\n%s", line, want, out)
			}
		}
		if strings.Contains(out, "ran ") {
			t.Errorf("%q ran the command:\n%s", line, out)
		}
	}
	// An unknown verb with --help is still an unknown verb.
	if out := only(t, h.Command("bob", "dutty --help")); !strings.Contains(out, `did you mean "duty"`) {
		t.Errorf("unknown verb with --help: %s", out)
	}
}

func TestClosest(t *testing.T) {
	for word, want := range map[string]string{"carl": "carol", "alice": "alice", "zzzzzz": "", "bo": "bob"} {
		if got := bot.Closest(word, []string{"alice", "bob", "carol"}); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
}
