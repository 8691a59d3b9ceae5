package main

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/browsertest"
)

// The yearly report opens in headless Chromium without a console error
// (no failed request, no CSP violation: it loads nothing), with its title,
// and the screenshot is kept as a test artifact (test-artifacts/).
func TestStatsYearReportInChromium(t *testing.T) {
	path := yearReportFile(t)
	page := browsertest.Visit(t, "file://"+path, "stats-year-report")
	if page.Title != "Security report 2026" {
		t.Errorf("title %q", page.Title)
	}
	if len(page.ConsoleErrors) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(page.ConsoleErrors, "\n"))
	}
	if page.ScreenshotPath == "" {
		t.Error("no screenshot kept")
	}
}
