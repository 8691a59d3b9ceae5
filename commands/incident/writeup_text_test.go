package incident

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
)

// TestWriteupText renders write-ups in their three shapes and compares
// them with testdata/writeup/*.md, which hold the exact Markdown of the
// strings.Builder that built them before the template.
func TestWriteupText(t *testing.T) {
	_, inc, _ := setup(t)
	start := time.Date(2026, 3, 2, 22, 15, 0, 0, time.UTC)

	open := &Incident{ID: "INC-1", Title: "Leaked *token* <in> logs", State: "open", Started: start}
	golden(t, "testdata/writeup/open-empty.md", inc, open)

	sameDay := &Incident{ID: "INC-2", Title: "CI secrets exposed", State: stateResolved, Started: start, Resolved: start.Add(95 * time.Minute),
		Authors: []string{"alice", "zed"},
		Entries: []Entry{
			{N: 2, At: start.Add(40 * time.Minute), Text: "Rotated   the\ntoken"},
			{N: 1, At: start.Add(5 * time.Minute), Text: "Noticed the leak"},
			{N: 3, At: start.Add(50 * time.Minute), Text: "gone", Removed: true},
		},
		Sections: map[string]string{"tldr": "  Nobody needs to act.\n\n"},
	}
	golden(t, "testdata/writeup/resolved-same-day.md", inc, sameDay)

	days := &Incident{ID: "INC-3", Title: "Outage", State: stateResolved, Started: start, Resolved: start.Add(50 * time.Hour),
		Authors: []string{"bob"},
		Entries: []Entry{
			{N: 1, At: start.Add(3 * time.Hour), Text: "Next day"},
			{N: 2, At: start.Add(4 * time.Hour), Text: "log line\nwith ```fence```", Evidence: true},
			{N: 3, At: start.Add(5 * time.Hour), Text: "second piece", Evidence: true},
		},
		Sections: map[string]string{"summary": "It broke.", "references": "- https://example.org/"},
	}
	golden(t, "testdata/writeup/resolved-several-days.md", inc, days)
}

func golden(t *testing.T, file string, inc *Incidents, in *Incident) {
	t.Helper()
	md, err := inc.render(in)
	if err != nil {
		t.Fatal(err)
	}
	bottest.Golden(t, file, md)
}
