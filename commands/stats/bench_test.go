package stats_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/commands/stats"
)

// syntheticYear is n reports spread over 2026 with releases for most, and
// the audit entries a year of work leaves (ack, score, accept, reminders).
func syntheticYear(n int) stats.History {
	var h stats.History
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 365 * 24 * time.Hour / time.Duration(n)
	sevs := []string{"Critical", "High", "Medium", "Low"}
	srcs := []intake.Source{intake.SourceEmail, intake.SourceGitHub, intake.SourceAPI}
	for i := range n {
		rec := start.Add(time.Duration(i) * step)
		id := fmt.Sprintf("VIG-2026-%d", i+1)
		ack := rec.Add(time.Duration(1+i%72) * time.Hour)
		rep := &report.Report{ID: id, Source: srcs[i%3], Received: rec, AckDue: rec.Add(48 * time.Hour), AckedAt: ack,
			Repos: []string{fmt.Sprintf("acme/repo%d", i%40)}, State: report.StateReleased,
			Score: &report.Score{Severity: sevs[i%4]}}
		switch i % 10 {
		case 0:
			rep.State, rep.RejectReason = report.StateRejected, "no"
		case 1:
			rep.State = report.StateFixing
		}
		h.Reports = append(h.Reports, rep)
		for _, a := range []string{"report.ack", "report.score", "report.accept", "remind.sent"} {
			h.Audit = append(h.Audit, bot.AuditEntry{At: ack, Actor: fmt.Sprintf("p%d", i%7), Action: a, Target: id})
		}
		if rep.State == report.StateReleased {
			pub := rec.Add(time.Duration(2+i%60) * 24 * time.Hour)
			h.Releases = append(h.Releases, &release.Release{ID: id, Repos: rep.Repos, State: release.StatePublished,
				AnnouncedAt: rec.Add(50 * time.Hour), PublicAt: pub.Add(-time.Hour), MergedAt: pub.Add(-time.Hour),
				PublishDue: pub.Add(time.Hour), PublishedAt: pub})
		}
	}
	return h
}

var year2026 = stats.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	Now: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)}

// A year's figures over 10,000 reports (docs/BENCHMARKS.md, "Stats").
func BenchmarkYearFigures10k(b *testing.B) {
	h := syntheticYear(10_000)
	b.ResetTimer()
	for b.Loop() {
		f := stats.Compute(h, year2026, stats.DefaultClocks())
		if f.Total.Received != 10_000 {
			b.Fatalf("received %d", f.Total.Received)
		}
	}
}

// The same with both charts drawn (what `vigil stats --year` does).
func BenchmarkYearFiguresAndCharts10k(b *testing.B) {
	h := syntheticYear(10_000)
	b.ResetTimer()
	for b.Loop() {
		f := stats.Compute(h, year2026, stats.DefaultClocks())
		if _, err := stats.ChartPNG(f); err != nil {
			b.Fatal(err)
		}
		if _, err := stats.ChartSVG(f); err != nil {
			b.Fatal(err)
		}
	}
}

// The synthetic year the benchmark runs on has the shape it claims, so
// the benchmark measures a real year's work. Its speed lives in the
// benchmark and docs/BENCHMARKS.md, not in a timed test.
func TestSyntheticYearShape(t *testing.T) {
	f := stats.Compute(syntheticYear(10_000), year2026, stats.DefaultClocks())
	if f.Total.Received != 10_000 || f.Total.Rejected != 1_000 || len(f.Open) != 1_000 {
		t.Errorf("received %d rejected %d open %d", f.Total.Received, f.Total.Rejected, len(f.Open))
	}
}
