package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// gaugeReadLimit bounds each read behind the process gauges (open reports,
// active releases, maintainers with reminders, one maintainer's reminders):
// a scrape never reads an unbounded amount, and past the limit the gauges
// are lower bounds (vigil_process_gauges_truncated 1).
const gaugeReadLimit = 2000

// The kinds of vigil_clocks_in_breach.
const (
	clockAcknowledge   = "acknowledge"
	clockReleaseNotice = "release_notice"
	clockPublish       = "publish"
)

// watchProcess adds the process gauges (open reports, the oldest one not
// acknowledged, clocks in breach, reminders due) to /metrics, read from the
// features' stored state at scrape time.
func watchProcess(m *metrics.Metrics, e *bot.Engine, f *features, logger *slog.Logger) {
	states := make([]string, 0, len(report.OpenStates)+1)
	for _, s := range report.OpenStates {
		states = append(states, string(s))
	}
	states = append(states, string(report.StateOther))
	m.WatchProcess(metrics.ProcessOptions{
		Source: func(ctx context.Context, now time.Time) (metrics.Process, error) {
			return processFigures(ctx, f, now)
		},
		Labels: metrics.ProcessLabels{
			States:     states,
			Severities: report.GaugeSeverities,
			Clocks:     []string{clockAcknowledge, clockReleaseNotice, clockPublish},
		},
		Clock:  e.Clock(),
		Logger: logger,
	})
}

func processFigures(ctx context.Context, f *features, now time.Time) (metrics.Process, error) {
	reps, err := f.reports.Gauges(ctx, now, gaugeReadLimit)
	if err != nil {
		return metrics.Process{}, err
	}
	rels, err := f.releases.Gauges(ctx, now, gaugeReadLimit)
	if err != nil {
		return metrics.Process{}, err
	}
	due, dueTruncated, err := f.reminders.Due(ctx, now, gaugeReadLimit)
	if err != nil {
		return metrics.Process{}, err
	}
	p := metrics.Process{
		Open:          map[string]map[string]int{},
		OldestUnacked: reps.OldestUnacked,
		Breaches: map[string]int{
			clockAcknowledge:   reps.AckBreaches,
			clockReleaseNotice: rels.NoticeBreaches,
			clockPublish:       rels.PublishBreaches,
		},
		RemindersDue: due,
		Truncated:    reps.Truncated || rels.Truncated || dueTruncated,
	}
	for state, bySev := range reps.Open {
		p.Open[string(state)] = bySev
	}
	return p, nil
}
