package main

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/config"
)

// allCommands registers every feature as run() does and returns the
// engine and each command of the tree, depth first.
func allCommands(t *testing.T) (*bot.Engine, []*bot.Command) {
	t.Helper()
	h := bottest.New(t, bottest.Options{})
	if _, err := registerCommands(h.Engine, config.Default(), services{}); err != nil {
		t.Fatal(err)
	}
	var all []*bot.Command
	var walk func(cs []*bot.Command)
	walk = func(cs []*bot.Command) {
		for _, c := range cs {
			all = append(all, c)
			walk(c.Sub)
		}
	}
	walk(h.Engine.Router().Commands())
	return h.Engine, all
}

// Every example that help shows, of every command of every feature, is a
// line the router accepts for that very command: it resolves to it and its
// flags and argument count are valid (a dry run; nothing is executed).
func TestEveryExampleRoutesToItsCommand(t *testing.T) {
	e, all := allCommands(t)
	examples := 0
	for _, c := range all {
		for _, ex := range c.Examples {
			examples++
			got, err := e.Router().DryRun(ex)
			switch {
			case err != nil:
				t.Errorf("%s: example %q does not parse: %v", c.Path(), ex, err)
			case got.Path() != c.Path():
				t.Errorf("%s: example %q routes to %q", c.Path(), ex, got.Path())
			}
		}
	}
	// A floor, so that a registration that lost its examples fails here.
	if examples < 25 {
		t.Errorf("only %d examples across all commands", examples)
	}
}

// What a person reads: "/sec help VERB" on the console shows each example
// once prefixed, ready to copy ("/sec incident start ...", never
// "/sec /sec incident start ...").
func TestHelpExamplesOnTheConsole(t *testing.T) {
	var script strings.Builder
	var want []string
	_, all := allCommands(t)
	for _, c := range all {
		if len(c.Examples) == 0 {
			continue
		}
		script.WriteString("/sec help " + c.Path() + "\n")
		for _, ex := range c.Examples {
			want = append(want, "/sec "+ex)
		}
	}
	code, out, errOut := vigil(t, script.String(), nil, "--console", "--data", t.TempDir(), "--clock", "2026-01-05T09:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if strings.Contains(out, "/sec /sec") {
		t.Errorf("help repeats the prefix:\n%s", out)
	}
	for _, w := range append(want, `/sec incident start "Leaked deploy token"`, "/sec release link VIG-2026-7 https://github.com/acme/web/pull/42") {
		if !strings.Contains(out, w) {
			t.Errorf("help lacks the example %q", w)
		}
	}
}
