package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/cvss"
)

// The methods here are what other features (advisories, reminders,
// releases) use to read and change reports, so that the report document
// stays owned by this package.

// Get returns a report by id (VIG-2026-7, any case).
func (r *Reports) Get(ctx context.Context, id string) (*Report, error) {
	rep, _, err := r.load(ctx, id)
	return rep, err
}

// Update changes a report with compare-and-swap (retried on conflict).
func (r *Reports) Update(ctx context.Context, id string, change func(rep *Report) error) (*Report, error) {
	return r.update(ctx, id, change)
}

// Open lists the reports still needing work, oldest first.
func (r *Reports) Open(ctx context.Context) ([]*Report, error) { return r.openReports(ctx) }

// Tick ticks a checklist item if it is not ticked yet.
func (r *Reports) Tick(ctx context.Context, id, key, by string) error {
	now := r.e.Clock().Now()
	_, err := r.update(ctx, id, func(rep *Report) error {
		if it := rep.item(key); it != nil && !it.Done {
			it.Done, it.By, it.At = true, by, now
		}
		return nil
	})
	return err
}

// Post posts a durable message in the report's thread; msgID makes it
// idempotent (a job that runs twice posts once).
func (r *Reports) Post(ctx context.Context, rep *Report, msgID string, msg bot.Message) error {
	return r.postInThread(ctx, rep, msgID, msg)
}

// StoreScore records a CVSS score on a report: the hook the CVSS dialog
// calls when it was started for a report (cvss.Options.OnScored), and what
// "/sec report score ID VECTOR" does directly.
func (r *Reports) StoreScore(ctx context.Context, req *bot.Request, id string, res cvss.Result) error {
	now := req.Now()
	s := &Score{Version: res.Version, Vector: res.Vector, Value: res.Score, Severity: res.Severity, By: req.Actor(), At: now}
	rep, err := r.update(ctx, id, func(rep *Report) error {
		rep.Score = s
		if it := rep.item("score"); it != nil && !it.Done {
			it.Done, it.By, it.At = true, req.Actor(), now
		}
		return nil
	})
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%.1f %s %s", res.Score, res.Severity, res.Vector)
	if err := req.Record(ctx, "report.score", rep.ID, detail); err != nil {
		return err
	}
	text := fmt.Sprintf("@%s scored %s: *%.1f %s* (`%s`).", req.Actor(), rep.ID, res.Score, res.Severity, res.Vector)
	if n := len(rep.Adjudications); n > 0 {
		a := rep.Adjudications[n-1]
		text += fmt.Sprintf(" The effective severity stays %s, as adjudicated by @%s.", a.Severity, a.By)
	}
	return r.replyAndThread(ctx, req, rep, fmt.Sprintf("score:%d", now.UnixNano()), text)
}

// severityText is how a report's severity is shown: the effective one and
// where it comes from.
func severityText(rep *Report) string {
	var parts []string
	if rep.Score != nil {
		parts = append(parts, fmt.Sprintf("team: %.1f %s (CVSS %s, by @%s)", rep.Score.Value, rep.Score.Severity, rep.Score.Version, rep.Score.By))
	}
	for _, a := range rep.Adjudications {
		parts = append(parts, fmt.Sprintf("adjudicated %s by @%s: %s", a.Severity, a.By, a.Reason))
	}
	if len(parts) == 0 {
		return "not scored yet"
	}
	return rep.EffectiveSeverity() + " — " + strings.Join(parts, "; ")
}

func (r *Reports) runScore(ctx context.Context, req *bot.Request) error {
	rep, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if len(req.Args) > 1 {
		res, err := cvss.Score(strings.Join(req.Args[1:], ""))
		if err != nil {
			return bot.Usagef("%v", err)
		}
		return r.StoreScore(ctx, req, rep.ID, res)
	}
	form := cvss.Form31
	if req.Flags.Has("v4") {
		form = cvss.Form40
	}
	return req.StartForm(ctx, form, map[string]string{"report": rep.ID})
}
