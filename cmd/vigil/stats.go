package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/stats"
	"github.com/vigil-sec/vigil/config"
)

const statsUsage = `Usage: vigil stats --year YEAR --out FILE [--format html] [--team] [--repo OWNER/NAME] [--config FILE] [--data DIR]

Writes the yearly security report: the process figures of the reports
received in YEAR (in the team's time zone), the chart of the monthly
medians (inline SVG), the published advisories with their timelines, the
open vulnerabilities and a "What changed" section for the team to fill.
The file is self-contained HTML (inline CSS, no script, nothing loaded from
elsewhere) that prints well on A4: print it to PDF from a browser.

It reads the same store as Vigil (--config, --data, VIGIL_REDIS_URL...). The
embedded store is one file that one process opens at a time: stop Vigil
first, or run it against Redis. The figures are those of "/sec stats".

  --year YEAR     the calendar year, e.g. 2026 (required)
  --out FILE      where to write the report (required; "-" for standard output)
  --format html   the only format: PDF has no well-kept pure-Go route that
                  renders HTML and SVG, so print the HTML from a browser
  --team          include the work per person (triaged, scored, shifts):
                  for the team's own copy, not a public report
  --repo R        only reports concerning repository R
`

type statsOptions struct {
	run  runOptions
	year int
	out  string
	team bool
	repo string
}

func parseStats(args []string, lookup env) (statsOptions, error) {
	var (
		o            statsOptions
		year, format string
		configFlag   string
	)
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.StringVar(&year, "year", "", "")
	fs.StringVar(&o.out, "out", "", "")
	fs.StringVar(&format, "format", "html", "")
	fs.BoolVar(&o.team, "team", false, "")
	fs.StringVar(&o.repo, "repo", "", "")
	fs.StringVar(&configFlag, "config", "", "")
	fs.StringVar(&o.run.Data, "data", "", "")
	if err := parseFlags(fs, args, "unexpected argument"); err != nil {
		return o, err
	}
	o.run.ConfigPath = configPath(configFlag, lookup)
	y, err := strconv.Atoi(year)
	switch {
	case year == "":
		return o, errors.New("--year is required, e.g. --year 2026")
	case err != nil || y < 2000 || y > 9999:
		return o, fmt.Errorf("--year %q: want a year like 2026", year)
	case o.out == "":
		return o, errors.New("--out is required, e.g. --out report.html")
	case format == "pdf":
		return o, errors.New("--format pdf is not supported: no well-kept pure-Go route renders HTML and SVG to PDF; write HTML and print it to PDF from a browser")
	case format != "html":
		return o, fmt.Errorf("--format %q: the only format is html", format)
	}
	o.year = y
	return o, nil
}

func statsMain(args []string, s streams, lookup env) int {
	o, err := parseStats(args, lookup)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(s.Out, statsUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(s.Err, "vigil stats: %v\n\n%s", err, statsUsage)
		return 2
	}
	if err := writeYearReport(context.Background(), o, s, lookup); err != nil {
		fmt.Fprintf(s.Err, "vigil stats: %v\n", err)
		return 1
	}
	return 0
}

func writeYearReport(ctx context.Context, o statsOptions, s streams, lookup env) error {
	cfg, err := loadConfig(o.run, lookup)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer st.Close()
	h, err := stats.Load(ctx, st)
	if err != nil {
		return err
	}
	zone := teamZone(cfg)
	p := stats.Period{
		From:  time.Date(o.year, time.January, 1, 0, 0, 0, 0, zone).UTC(),
		Until: time.Date(o.year+1, time.January, 1, 0, 0, 0, 0, zone).UTC(),
		Repo:  strings.TrimSpace(o.repo),
		Now:   clock.Real{}.Now(),
	}
	f := stats.Compute(h, p, statsOptionsFrom(cfg, zone).Clocks)
	var buf bytes.Buffer
	title := fmt.Sprintf("Security report %d", o.year)
	if err := stats.WriteHTML(&buf, f, stats.ReportOptions{Title: title, Zone: zone, Team: o.team}); err != nil {
		return err
	}
	if o.out == "-" {
		_, err := s.Out.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(o.out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	fmt.Fprintf(s.Err, "vigil stats: %d reports, %d advisories published; wrote %s\n", f.Total.Received, f.Releases.Published, o.out)
	return nil
}

// statsOptionsFrom are the stats feature's options: the clocks the other
// features are configured with, so the figures measure the same deadlines.
func statsOptionsFrom(cfg *config.Config, zone *time.Location) stats.Options {
	c := stats.Clocks{
		AckWindow:     time.Duration(cfg.Reports.AckWindow),
		MinNotice:     time.Duration(cfg.Releases.MinNotice),
		PublishWindow: time.Duration(cfg.Releases.PublishWindow),
		Cadence:       map[string]time.Duration{},
	}
	for sev, d := range cfg.Reminders.Cadence.Periods() {
		c.Cadence[sev] = time.Duration(d)
	}
	return stats.Options{Clocks: c, MonthlySummary: cfg.Stats.MonthlySummary, SummaryHour: cfg.Stats.SummaryHour, Zone: zone}
}
