package release

import (
	"testing"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/commands/report"
)

// TestAnswerMessageEdges covers what the whole-path test does not: no
// advisory and no merged fix, and an advisory with a CVE and no URL.
func TestAnswerMessageEdges(t *testing.T) {
	rel := &Release{Repos: []string{"acme/web", "acme/api"}, PRs: []PR{{Repo: "acme/web", Number: 7}}}
	bottest.Golden(t, "testdata/texts/answer-empty.txt", answerMessage(rel, nil).Text)

	rel.PRs = append(rel.PRs, PR{Repo: "acme/api", Number: 9, Merged: true}, PR{Repo: "acme/web", Number: 8, Merged: true})
	advs := []report.AdvisoryRef{
		{Repo: "acme/web", GHSA: "GHSA-aaaa-bbbb-cccc", CVE: "CVE-2026-0001"},
		{Repo: "acme/api", GHSA: "GHSA-dddd-eeee-ffff", URL: "https://example.org/advisory"},
	}
	bottest.Golden(t, "testdata/texts/answer-two.txt", answerMessage(rel, advs).Text)
}
