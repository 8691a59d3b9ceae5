package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/config"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// The process gauges of issue 20, through the real features, the real
// wiring (watchProcess, newHTTP) and GET /metrics on the real handler, on a
// fake clock: reports filed, acknowledged (one never), scored, accepted,
// rejected; one release left unannounced past its notice, one merged and
// not published; a maintainer's reminder come due.
func TestProcessGaugesOnMetrics(t *testing.T) {
	mets := metrics.New()
	h := bottest.New(t, bottest.Options{Observer: mets})
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	feats, err := registerCommands(h.Engine, cfg, services{})
	if err != nil {
		t.Fatal(err)
	}
	watchProcess(mets, h.Engine, feats, slog.New(slog.DiscardHandler))
	srv, err := newHTTP(cfg, h.Engine, mets, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Fatalf("GET /metrics: %d", rec.Code)
		}
		body, _ := io.ReadAll(rec.Body)
		return string(body)
	}
	ctx := context.Background()
	t0 := h.Clock.Now()
	// Every string a reporter writes is hostile: this title tries to forge
	// a series of its own.
	const forged = "critical\"} 99\nvigil_reports_open{state=\"pwned"
	receive := func(id, title string) string {
		t.Helper()
		res, err := feats.reports.Receive(ctx, intake.Incoming{
			Source: intake.SourceEmail, SourceID: id, Title: bot.Untrusted(title), Description: "details",
			Reporter: intake.Reporter{Name: "Eve", Email: "eve@example.org"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res.ReportID
	}
	run := func(line string) {
		t.Helper()
		out := bottest.Joined(h.Command("alice", line))
		if strings.Contains(out, "Usage:") || strings.Contains(out, "cannot") || strings.Contains(out, "Refused") {
			t.Fatalf("%s:\n%s", line, out)
		}
	}
	critical := receive("m1", "RCE in the upload handler")
	high := receive("m2", "Stored XSS")
	neverAcked := receive("m3", forged)
	rejected := receive("m4", "Not a bug")
	for _, id := range []string{critical, high, rejected} {
		run("report ack " + id)
	}
	run("report score " + critical + " CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
	run("report score " + high + " CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:N")
	for _, id := range []string{critical, high} {
		run("report accept " + id)
	}
	run("report reject " + rejected + ` --reason "works as intended"`)
	// carol maintains acme/web: her first reminder of a critical report
	// falls due a week after she was told.
	run("report notify " + critical + " @carol")
	publicAt := t0.Add(72 * time.Hour).Format(time.RFC3339)
	// Planned, never announced: its 48 h notice runs out at t0+24h.
	run("release plan " + high + " --repos acme/web --public-at " + publicAt)
	// Planned, linked and merged at t0+72h, never published: the
	// publication window (2h) runs out at t0+74h.
	run("release plan " + critical + " --repos acme/web --public-at " + publicAt)
	run("release link " + critical + " https://github.com/acme/web/pull/42")
	h.Clock.Set(t0.Add(72 * time.Hour))
	if err := feats.releases.PullRequestMerged(ctx, "acme/web", 42, "main", "carol", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The clock jumps without running jobs (no reminder goes out): a
	// week and a day after t0, one more report has just come in.
	now := t0.Add(8 * 24 * time.Hour)
	h.Clock.Set(now.Add(-time.Hour))
	fresh := receive("m5", "Open redirect")
	h.Clock.Set(now)

	out := scrape()
	want := []string{
		`vigil_reports_open{severity="critical",state="accepted"} 1`,
		`vigil_reports_open{severity="high",state="accepted"} 1`,
		`vigil_reports_open{severity="unscored",state="new"} 2`,
		`vigil_reports_open{severity="low",state="fixing"} 0`, // zeros are exported
		`vigil_report_oldest_unacknowledged_seconds 691200`,   // 8 days: the never-acknowledged one
		`vigil_clocks_in_breach{clock="acknowledge"} 1`,
		`vigil_clocks_in_breach{clock="release_notice"} 1`,
		`vigil_clocks_in_breach{clock="publish"} 1`,
		`vigil_reminders_due 1`,
		`vigil_process_gauges_truncated 0`,
		`vigil_process_gauge_errors_total 0`,
	}
	has(t, out, want...)
	if strings.Contains(out, "pwned") || strings.Contains(out, "RCE") || strings.Contains(out, " 99\n") {
		t.Errorf("report text reached /metrics:\n%s", out)
	}
	if strings.Contains(out, `state="rejected"`) || strings.Contains(out, `state="closed"`) {
		t.Error("closed states are open-report labels")
	}

	// The figures are kept 10 s on the engine clock: acknowledging the
	// late report shows on the first scrape after that, not before.
	run("report ack " + neverAcked)
	has(t, scrape(), `vigil_clocks_in_breach{clock="acknowledge"} 1`)
	h.Clock.Set(now.Add(metrics.DefaultProcessTTL))
	out = scrape()
	has(t, out,
		`vigil_clocks_in_breach{clock="acknowledge"} 0`,
		`vigil_reports_open{severity="unscored",state="acknowledged"} 1`,
		`vigil_reports_open{severity="unscored",state="new"} 1`,
		// Now the fresh report is the oldest waiting: 1 h and 10 s.
		`vigil_report_oldest_unacknowledged_seconds 3610`,
	)
	_ = fresh
}

func has(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("lacks %q", w)
		}
	}
}
