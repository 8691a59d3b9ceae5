package release

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/commands/report"
)

// TestAnswerMessageEdges covers what the whole-path test does not: no
// advisory and no merged fix, and an advisory with a CVE and no URL.
func TestAnswerMessageEdges(t *testing.T) {
	rel := &Release{Repos: []string{"acme/web", "acme/api"}, PRs: []PR{{Repo: "acme/web", Number: 7}}}
	msg, err := answerMessage(rel, nil)
	if err != nil {
		t.Fatal(err)
	}
	bottest.Golden(t, "testdata/texts/answer-empty.txt", msg.Text)

	rel.PRs = append(rel.PRs, PR{Repo: "acme/api", Number: 9, Merged: true}, PR{Repo: "acme/web", Number: 8, Merged: true})
	advs := []report.AdvisoryRef{
		{Repo: "acme/web", GHSA: "GHSA-aaaa-bbbb-cccc", CVE: "CVE-2026-0001"},
		{Repo: "acme/api", GHSA: "GHSA-dddd-eeee-ffff", URL: "https://example.org/advisory"},
	}
	if msg, err = answerMessage(rel, advs); err != nil {
		t.Fatal(err)
	}
	bottest.Golden(t, "testdata/texts/answer-two.txt", msg.Text)
}

// TestPublicDMNothingLeftToMerge: with every merge step ticked the DM
// keeps the empty line it always had; want is the fmt.Sprintf the
// template replaced.
func TestPublicDMNothingLeftToMerge(t *testing.T) {
	for _, todo := range [][]string{nil, {"Merge the fix into main of acme/web"}} {
		got, err := releaseTexts.Render("public-dm.txt.tmpl", publicDM{Repos: "acme/web, acme/api", PublicAt: "Thu 15 Jan 2026 09:00 UTC", ToMerge: todo, Window: "2h"})
		if err != nil {
			t.Fatal(err)
		}
		var bullets []string
		for _, l := range todo {
			bullets = append(bullets, "• "+l)
		}
		want := fmt.Sprintf("The public time of the security release of %s has come (%s). Please merge the fix now:\n%s\n"+
			"Once merged, the advisories must be published within %s.", "acme/web, acme/api", "Thu 15 Jan 2026 09:00 UTC", strings.Join(bullets, "\n"), "2h")
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
