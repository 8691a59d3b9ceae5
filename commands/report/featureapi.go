package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/cvss"
	"github.com/vigil-sec/vigil/store"
)

// The methods here are what other features (advisories, reminders,
// releases, duty hand-offs) use to read and change reports, so that the
// report document stays owned by this package.

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
	text := fmt.Sprintf("%s scored %s: *%.1f %s* (`%s`).", req.ActorMention(), rep.ID, res.Score, res.Severity, res.Vector)
	if n := len(rep.Adjudications); n > 0 {
		a := rep.Adjudications[n-1]
		text += fmt.Sprintf(" The effective severity stays %s, as adjudicated by @%s.", a.Severity, a.By)
	}
	return r.replyAndThread(ctx, req, rep, fmt.Sprintf("score:%d", now.UnixNano()), text)
}

// Inheritance lists the open reports for a duty hand-off: each with its
// state, assignee and the time left on its clock.
func (r *Reports) Inheritance(ctx context.Context, _ string, from, _ time.Time) ([]string, error) {
	reps, err := r.openReports(ctx)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, rep := range reps {
		lines = append(lines, fmt.Sprintf("%s [%s] %s — %s%s", rep.ID, rep.State, rep.Title.Truncate(60), orNone(rep.Assignee), clockText(rep, from)))
	}
	return lines, nil
}

// ThreadReplies records a mail another feature sends to the reporter (a
// release's draft shared for comment) under its Message-ID, so that the
// reporter's answer threads back into the report as an answer to the
// report's own mails does. Call it before the mail is sent.
func (r *Reports) ThreadReplies(ctx context.Context, id, messageID string) error {
	if _, err := r.e.Store().Put(ctx, mailIDColl, normalizeMsgID(messageID), []byte(strings.ToUpper(id)), store.AnyVersion); err != nil {
		return fmt.Errorf("record the Message-ID of a mail about %s: %w", id, err)
	}
	return nil
}

// Greeting is the name a mail greets the reporter by: raw text, for mail
// only; "there" when the report has no name.
func (rep *Report) Greeting() string {
	if rep.Reporter.Name == "" {
		return "there"
	}
	return string(rep.Reporter.Name)
}

// OriginalMail is the Message-ID of the mail that opened the report, which
// a mail to the reporter answers, or "" when the report came another way.
func (rep *Report) OriginalMail() string {
	if rep.Source != intake.SourceEmail {
		return ""
	}
	return "<" + strings.Trim(rep.SourceID, "<>") + ">"
}
