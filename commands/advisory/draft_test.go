package advisory

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
)

// TestDraftSummaryKeepsCharactersWhole: a long title of multi-byte
// characters becomes a summary GitHub accepts (valid UTF-8, at most 1000
// characters), not one cut in the middle of a character.
func TestDraftSummaryKeepsCharactersWhole(t *testing.T) {
	title := "XSS " + strings.Repeat("é", 1200)
	rep := &report.Report{ID: "R1", Title: bot.Untrusted(title), Score: &report.Score{Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
	d, err := draftFor(rep, AffectedPackage{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(d.Summary) || utf8.RuneCountInString(d.Summary) != 1000 || !strings.HasSuffix(d.Summary, "é…") {
		t.Errorf("summary is %d bytes, %d characters, valid UTF-8 %v, ends %q", len(d.Summary), utf8.RuneCountInString(d.Summary), utf8.ValidString(d.Summary), d.Summary[len(d.Summary)-8:])
	}
}
