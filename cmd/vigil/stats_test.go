package main

import (
	"bufio"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/htmlcheck"
	"github.com/vigil-sec/vigil/store/embedded"
)

// seedStats files three reports in 2026 into the embedded store of data
// dir (acknowledged after 2h, 5h and 60h), then closes it, as Vigil would
// leave it.
func seedStats(t *testing.T, dir string) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	hs := bottest.New(t, bottest.Options{Store: st})
	reps, err := report.Register(hs.Engine, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ack := range []time.Duration{2 * time.Hour, 5 * time.Hour, 60 * time.Hour} {
		res, err := reps.Receive(context.Background(), intake.Incoming{Source: intake.SourceEmail, SourceID: strconv.Itoa(i),
			Title: "t", Description: "d", Reporter: intake.Reporter{Email: "eve@example.org"}, Repositories: []string{"acme/web"}})
		if err != nil {
			t.Fatal(err)
		}
		hs.Advance(ack)
		hs.Command("alice", "report ack "+res.ReportID)
		hs.Command("alice", "report accept "+res.ReportID)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// `/sec stats` in the console through the real Main answers the figures;
// the chart is the message's file, which the console writes and names
// (📎 PATH); the PNG is decoded and its size checked.
func TestConsoleStatsWritesTheChart(t *testing.T) {
	dir := t.TempDir()
	seedStats(t, dir)
	code, out, errOut := vigil(t, "/sec stats\n/sec stats --since 2026-99-01\n", nil, "--console", "--data", dir, "--clock", "2026-06-01T09:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Security process figures", "Reports received: 3 (email 3) · accepted 3 · rejected 0",
		"median 5h, p90 2d 12h, max 2d 12h · breaches of the 48h window: 1", `--since "2026-99-01" is not a date`} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q in:\n%s", want, out)
		}
	}
	var pngPath string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if _, p, ok := strings.Cut(sc.Text(), "📎 "); ok && strings.Contains(p, ".png") {
			pngPath = strings.TrimSpace(p[:strings.Index(p, ".png")+4])
		}
	}
	if pngPath == "" {
		t.Fatalf("the console named no chart file (📎 PATH.png) in:\n%s", out)
	}
	fh, err := os.Open(pngPath)
	if err != nil {
		t.Fatalf("the chart the console named: %v", err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", pngPath, err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("chart %dx%d, want at least 400x300", b.Dx(), b.Dy())
	}
}

// yearReportFile runs `vigil stats --year 2026` on a seeded store and
// returns the report's path.
func yearReportFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	seedStats(t, dir)
	out := filepath.Join(dir, "report.html")
	code, _, errOut := vigil(t, "", nil, "stats", "--year", "2026", "--out", out, "--data", dir)
	if code != 0 || !strings.Contains(errOut, "3 reports") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	return out
}

func TestStatsYearReport(t *testing.T) {
	page, err := os.ReadFile(yearReportFile(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, ext, err := htmlcheck.External(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(ext) > 0 {
		t.Errorf("the report loads from elsewhere: %v", ext)
	}
	if !strings.Contains(string(page), "acknowledgements later than 48h") || !strings.Contains(string(page), "within 2h of the merge") {
		t.Error("the report does not name the configured clocks (48h, 2h)")
	}
	for id, want := range map[string]string{"kpi-received": "3", "kpi-accepted": "3", "kpi-ack-median": "5h", "kpi-ack-breaches": "1", "kpi-published": "0"} {
		if got := htmlcheck.TextByID(doc, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
}

func TestStatsUsage(t *testing.T) {
	code, out, _ := vigil(t, "", nil, "stats", "--help")
	if code != 0 || !strings.Contains(out, "Usage: vigil stats --year YEAR --out FILE") || !strings.Contains(out, "PDF") {
		t.Errorf("--help: %d %q", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stats", "--out", "x.html"}, "--year is required"},
		{[]string{"stats", "--year", "twenty", "--out", "x.html"}, `--year "twenty": want a year like 2026`},
		{[]string{"stats", "--year", "2026"}, "--out is required"},
		{[]string{"stats", "--year", "2026", "--out", "x.pdf", "--format", "pdf"}, "--format pdf is not supported"},
		{[]string{"stats", "--year", "2026", "--out", "x", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errOut := vigil(t, "", nil, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Usage: vigil stats") {
			t.Errorf("%v: exit %d, %q", tc.args, code, errOut)
		}
	}
}
