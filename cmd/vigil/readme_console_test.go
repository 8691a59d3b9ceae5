package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeConsoleSession returns the lines typed in README's "Trying it"
// session (its "vigil> " lines).
func readmeConsoleSession(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Trying it\n")
	if !ok {
		t.Fatal(`README has no "## Trying it" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var lines []string
	for _, l := range strings.Split(section, "\n") {
		if typed, ok := strings.CutPrefix(l, "vigil> "); ok {
			lines = append(lines, typed)
		}
	}
	if len(lines) == 0 {
		t.Fatal(`README's "Trying it" has no "vigil> " lines`)
	}
	return lines
}

// Vigil's markup as it would show if the console printed it raw.
var rawMarkup = []*regexp.Regexp{
	regexp.MustCompile("`"),
	regexp.MustCompile(`(^|[\s(])_[^_\s]|[^_\s]_($|[\s).,:;])`),
	regexp.MustCompile(`\*[^*\s]([^*\n]*[^*\s])?\*`),
	regexp.MustCompile(`<(https?://|@|!)`),
}

// README's console session, run as the console runs it from a script,
// prints no raw markup (issue 16).
func TestReadmeConsoleSessionShowsNoRawMarkup(t *testing.T) {
	script := strings.Join(readmeConsoleSession(t), "\n") + "\n"
	code, out, errOut := vigil(t, script, nil, "--console", "--data", t.TempDir(), "--clock", "2026-01-05T09:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "== Vigil commands ==") || !strings.Contains(out, "now speaking as bob") {
		t.Fatalf("the session did not run:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		for _, re := range rawMarkup {
			if m := re.FindString(line); m != "" {
				t.Errorf("raw markup %q in %q", m, line)
			}
		}
	}
}
