package github

import (
	"testing"
	"time"
)

// An advisory's text is a stranger's: it reaches the sink cleaned like
// every other source's.
func TestIncomingCleansAdvisoryText(t *testing.T) {
	a := &Advisory{
		GHSAID:      "GHSA-xxxx-yyyy-zzzz",
		Summary:     "Overflow\x1b[8m hidden\x1b[0m in \u202eparse\ue000r\x00",
		Description: "Steps:\r\n1. \x1b]8;;https://evil.example\x07run\x1b]8;;\x07",
		Author:      &User{Login: "eve\u200b"},
	}
	in := Incoming(a, Repo{Owner: "acme", Name: "web"}, "", time.Unix(0, 0))
	if in.Title != "Overflow hidden in ⟨U+202E⟩parser" {
		t.Errorf("title %q", in.Title)
	}
	if in.Description != "Steps:\n1. run" {
		t.Errorf("description %q", in.Description)
	}
	if in.Reporter.Name != "eve⟨U+200B⟩" {
		t.Errorf("reporter %q", in.Reporter.Name)
	}
}
