package stats_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/vigil-sec/vigil/commands/stats"
	"github.com/vigil-sec/vigil/internal/htmlcheck"
)

// checkSelfContained fails t for anything in page that would load from
// elsewhere, and returns the parsed page.
func checkSelfContained(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, ext, err := htmlcheck.External(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ext {
		t.Errorf("the report loads from elsewhere: %s", e)
	}
	return doc
}

func TestYearReportIsSelfContainedWithTheFigures(t *testing.T) {
	h := syntheticYear(500)
	// A hostile repository name on an open report.
	h.Reports[1].Repos = []string{`evil/"><img src=https://attacker.example/x.png>`}
	f := stats.Compute(h, year2026, stats.DefaultClocks())
	var buf bytes.Buffer
	if err := stats.WriteHTML(&buf, f, stats.ReportOptions{Title: "Security report 2026", Team: false}); err != nil {
		t.Fatal(err)
	}
	doc := checkSelfContained(t, buf.Bytes())
	for id, want := range map[string]int{
		"kpi-received": f.Total.Received, "kpi-accepted": f.Total.Accepted, "kpi-ack-breaches": f.Total.AckBreaches,
		"kpi-published": f.Releases.Published, "notice-met": f.Releases.NoticeMet, "publish-breached": f.Releases.PublishBreached,
		"reminders": f.RemindersSent, "incidents": f.Incidents.Started,
	} {
		if got := htmlcheck.TextByID(doc, id); got != strconv.Itoa(want) {
			t.Errorf("#%s = %q, want %d", id, got, want)
		}
	}
	if f.Total.Received != 500 || f.Releases.Published == 0 {
		t.Fatalf("the synthetic year is empty: %+v", f.Total)
	}
	page := buf.String()
	for _, want := range []string{"<svg", "@media print", "What changed", `id="advisory-list"`, "attacker.example"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(page, "<img src=https://attacker") {
		t.Error("a repository name was written as HTML")
	}
	if strings.Contains(page, `id="people-list"`) {
		t.Error("the work per person is in the report without --team")
	}
	buf.Reset()
	if err := stats.WriteHTML(&buf, f, stats.ReportOptions{Title: "t", Team: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `id="people-list"`) {
		t.Error("--team left out the work per person")
	}
}
