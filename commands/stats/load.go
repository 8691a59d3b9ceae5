package stats

import (
	"context"
	"fmt"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/store"
)

// Source is the part of the store the history is read from.
type Source interface {
	store.Documents
	store.Logs
}

// Load reads the whole history from the store. It reads every report,
// release, incident and rotation and the audit log: one pass, then the
// figures of any period are computed in memory (a year of 10,000 reports
// in well under a second, docs/BENCHMARKS.md).
func Load(ctx context.Context, st Source) (History, error) {
	var h History
	var err error
	if h.Reports, err = report.All(ctx, st); err != nil {
		return h, fmt.Errorf("stats: reports: %w", err)
	}
	if h.Releases, err = release.All(ctx, st); err != nil {
		return h, fmt.Errorf("stats: releases: %w", err)
	}
	if h.Incidents, err = incident.All(ctx, st); err != nil {
		return h, fmt.Errorf("stats: incidents: %w", err)
	}
	if h.Rotations, err = duty.AllRotations(ctx, st); err != nil {
		return h, fmt.Errorf("stats: rotations: %w", err)
	}
	err = bot.ReadAudit(ctx, st, func(e bot.AuditEntry) error {
		h.Audit = append(h.Audit, e)
		return nil
	})
	if err != nil {
		return h, fmt.Errorf("stats: %w", err)
	}
	return h, nil
}
