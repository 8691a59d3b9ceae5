package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/textutil"
)

const dateLayout = "2006-01-02"

func (s *Stats) command() *bot.Command {
	return &bot.Command{
		Name:    "stats",
		Summary: "Process figures and a chart: reports, time to acknowledge and to fix, clocks, open vulnerabilities",
		Usage:   "[--since DATE] [--until DATE] [--repo OWNER/NAME]",
		Help: "Shows the team's figures for reports received from --since to --until (dates as YYYY-MM-DD in the team's " +
			"time zone, both days included; default: the last twelve months up to today): reports by source and severity, " +
			"accepted and rejected, time to acknowledge and to fix released (median, p90, max by nearest rank), breaches " +
			"of the acknowledgement window and the release clocks, reminders sent, incidents, the open vulnerabilities " +
			"oldest first, and who did the work. A chart of the monthly medians by severity comes as an image. " +
			"--repo keeps only reports concerning that repository (incidents and duty shifts are then left out). " +
			"Private room only: the figures name reports and people. How each figure is counted: docs/STATS.md.",
		Examples: []string{"stats", "stats --since 2026-01-01 --until 2026-06-30", "stats --repo acme/web"},
		Roles:    bot.TeamRoles(),
		Where:    bot.PrivateOnly,
		Flags: []bot.FlagSpec{
			{Name: "since", Value: "DATE", Help: "first day counted (YYYY-MM-DD)"},
			{Name: "until", Value: "DATE", Help: "last day counted (YYYY-MM-DD)"},
			{Name: "repo", Value: "OWNER/NAME", Help: "only reports concerning this repository"},
		},
		Run: s.runStats,
	}
}

func (s *Stats) runStats(ctx context.Context, req *bot.Request) error {
	p, err := s.periodFromFlags(req.Flags, req.Now())
	if err != nil {
		return err
	}
	f, err := s.Figures(ctx, p)
	if err != nil {
		return err
	}
	msg, err := s.message(f, "Security process figures")
	if err != nil {
		return err
	}
	// The figures are for the whole team in the private room (the command
	// runs nowhere else), so they are posted there, chart included: an
	// asker-only answer could not carry the chart on Slack.
	_, err = req.Announce(ctx, msg)
	return err
}

// periodFromFlags reads --since, --until and --repo. A bad value is a
// usage error, answered with the usage line.
func (s *Stats) periodFromFlags(fl bot.Flags, now time.Time) (Period, error) {
	z := s.o.Zone
	today := now.In(z)
	until := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, z)
	if v, ok := fl.Lookup("until"); ok {
		d, err := parseDate("until", v, z)
		if err != nil {
			return Period{}, err
		}
		until = d.AddDate(0, 0, 1)
	}
	// Twelve calendar months: this one and the eleven before.
	last := until.Add(-time.Nanosecond).In(z)
	since := time.Date(last.Year(), last.Month()-11, 1, 0, 0, 0, 0, z)
	if v, ok := fl.Lookup("since"); ok {
		d, err := parseDate("since", v, z)
		if err != nil {
			return Period{}, err
		}
		since = d
	}
	if !since.Before(until) {
		return Period{}, bot.Usagef("--since %s is after --until %s", since.Format(dateLayout), last.Format(dateLayout))
	}
	repo := strings.TrimSpace(fl.Get("repo"))
	if fl.Has("repo") && (repo == "" || !strings.Contains(repo, "/") || len(repo) > 200) {
		return Period{}, bot.Usagef("--repo wants OWNER/NAME, e.g. acme/web")
	}
	return Period{From: since.UTC(), Until: until.UTC(), Repo: repo, Now: now}, nil
}

// parseDate reads a YYYY-MM-DD day in zone; the error quotes the value
// (cut short) so a typo is easy to see.
func parseDate(flag, v string, zone *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(dateLayout, strings.TrimSpace(v), zone)
	if err != nil {
		return time.Time{}, bot.Usagef("--%s %q is not a date: write it as YYYY-MM-DD, e.g. 2026-01-31", flag, bot.Untrusted(textutil.Truncate(v, 40)))
	}
	return d, nil
}

// String names a period for logs and file names.
func (p Period) String() string {
	s := fmt.Sprintf("%s..%s", p.From.Format(dateLayout), p.Until.Format(dateLayout))
	if p.Repo != "" {
		s += " " + p.Repo
	}
	return s
}
