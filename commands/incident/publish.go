package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// publishPayload is the publish job: publish the write-up whose digest was
// confirmed.
type publishPayload struct {
	Incident string `json:"incident"`
	Digest   string `json:"digest"`
	By       string `json:"by"`
}

type unpinPayload struct {
	Incident string `json:"incident"`
	By       string `json:"by,omitempty"`
}

func (inc *Incidents) canPublish(in *Incident) error {
	switch {
	case in.State != stateResolved:
		return bot.Noticef("%s is not resolved yet: a write-up is published once discussing it no longer increases risk (`incident resolve`).", in.ID)
	case in.Issue != nil:
		return bot.Noticef("The write-up of %s is published: %s", in.ID, in.Issue.URL)
	case in.Publishing:
		return bot.Noticef("The write-up of %s is being published.", in.ID)
	case inc.o.GitHub == nil || inc.o.Repository == "":
		return bot.Noticef("Publishing needs GitHub (the `github:` section) and `incidents.repository`.")
	}
	return nil
}

// runPublish shows the scan's findings and asks for a confirmation, or
// with --confirm publishes the write-up whose findings were shown (or that
// has none).
func (inc *Incidents) runPublish(ctx context.Context, req *bot.Request) error {
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	if err := inc.canPublish(in); err != nil {
		return err
	}
	body, err := inc.render(in)
	if err != nil {
		return err
	}
	d := digest(writeupTitle(in), body)
	findings := inc.scan(in, body)
	if req.Flags.Has("confirm") && (len(findings) == 0 || in.Reviewed == d) {
		return inc.queuePublish(ctx, req, in, d)
	}
	if _, err := inc.update(ctx, in.ID, func(in *Incident) error {
		in.Reviewed = d
		return nil
	}); err != nil {
		return err
	}
	text, err := incidentTexts.Render("publish-question.txt.tmpl", publishQuestion{
		Changed: req.Flags.Has("confirm"), Findings: findings,
		Label: inc.o.Label, PinnedUntil: stamp(in.Resolved.Add(MinPinned), true), Prefix: req.Prefix(),
	})
	if err != nil {
		return fmt.Errorf("publish %s: %w", in.ID, err)
	}
	return inc.reply(ctx, req, bot.Message{
		Header:  fmt.Sprintf("Publish the write-up of %s to %s?", in.ID, inc.o.Repository),
		Text:    text,
		Buttons: []bot.Button{{Label: "Publish to " + inc.o.Repository, Action: actionPublish, Value: in.ID + " " + d, Style: bot.ButtonDanger}},
		Context: fmt.Sprintf("Version %s. Or: %s incident publish --confirm --id %s", d, req.Prefix(), in.ID),
	})
}

// confirmPublish is asked before the publish button acts: the write-up
// becomes public, which cannot be taken back.
func (inc *Incidents) confirmPublish(value string) bot.Confirm {
	id, _, _ := strings.Cut(value, " ")
	return bot.Confirm{
		Title: "Publish " + id + "?",
		Text:  fmt.Sprintf("The write-up of %s becomes a public issue in %s.", id, inc.o.Repository),
		Yes:   "Publish",
	}
}

func (inc *Incidents) pressPublish(ctx context.Context, req *bot.Request, value string) error {
	id, d, ok := strings.Cut(value, " ")
	if !ok {
		return fmt.Errorf("incident publish button: bad value %q", value)
	}
	in, _, err := inc.load(ctx, id)
	if err != nil {
		return err
	}
	if err := inc.canPublish(in); err != nil {
		return err
	}
	body, err := inc.render(in)
	if err != nil {
		return err
	}
	if cur := digest(writeupTitle(in), body); cur != d || in.Reviewed != d {
		return bot.Noticef("The write-up of %s changed since this was shown; nothing was published. Run `%s incident publish` again.", in.ID, req.Prefix())
	}
	return inc.queuePublish(ctx, req, in, d)
}

func (inc *Incidents) queuePublish(ctx context.Context, req *bot.Request, in *Incident, d string) error {
	in, err := inc.update(ctx, in.ID, func(in *Incident) error {
		if err := inc.canPublish(in); err != nil {
			return err
		}
		in.Publishing = true
		return nil
	})
	if err != nil {
		return err
	}
	payload, _ := json.Marshal(publishPayload{Incident: in.ID, Digest: d, By: req.Actor()})
	if err := inc.e.Scheduler().Schedule(ctx, bot.Job{ID: "incident:publish:" + in.ID, Kind: jobPublish, Due: req.Now(), Payload: payload}); err != nil {
		return err
	}
	if err := req.Record(ctx, "incident.publish", in.ID, inc.o.Repository+" "+d); err != nil {
		return err
	}
	return inc.announcef(ctx, req, "%s is publishing the write-up of %s to %s; the link will appear in the war room.", req.ActorMention(), in.ID, inc.o.Repository)
}

// retryable: GitHub asked us to wait (rate limit) or could not be reached.
func retryable(err error) bool {
	var ra interface{ RetryAfter() time.Duration }
	var tmp interface{ Temporary() bool }
	return errors.As(err, &ra) || (errors.As(err, &tmp) && tmp.Temporary()) || errors.Is(err, bot.ErrUnavailable) || errors.Is(err, bot.ErrRateLimited)
}

// runPublish is the job: label, issue, pin, each step recorded before the
// next so a retry after a rate limit does not open a second issue.
func (inc *Incidents) runPublishJob(ctx context.Context, job bot.Job) error {
	var p publishPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("incident publish job %s: %w", job.ID, err)
	}
	in, _, err := inc.load(ctx, p.Incident)
	if err != nil {
		return err
	}
	fail := func(step string, err error) error {
		if retryable(err) {
			return err // the scheduler retries after GitHub's wait
		}
		if _, uerr := inc.update(ctx, in.ID, func(in *Incident) error { in.Publishing = false; return nil }); uerr != nil {
			return uerr
		}
		return inc.sayf(ctx, in, "publish:failed:"+p.Digest+":"+step, "Publishing the write-up of %s failed (%s): %v", in.ID, step, err)
	}
	if inc.o.GitHub == nil || inc.o.Repository == "" {
		return fail("configuration", errors.New("GitHub or incidents.repository is not configured"))
	}
	if in.Issue == nil {
		body, err := inc.render(in)
		if err != nil {
			return err
		}
		if digest(writeupTitle(in), body) != p.Digest {
			return fail("review", errors.New("the write-up changed after it was confirmed; run publish again"))
		}
		if err := inc.o.GitHub.EnsureLabel(ctx, inc.o.Repository, inc.o.Label); err != nil {
			return fail("label", err)
		}
		is, err := inc.o.GitHub.CreateIssue(ctx, inc.o.Repository, writeupTitle(in), body, []string{inc.o.Label})
		if err != nil {
			return fail("issue", err)
		}
		now := inc.e.Clock().Now()
		in, err = inc.update(ctx, in.ID, func(in *Incident) error {
			in.Issue = &Published{Repo: inc.o.Repository, Number: is.Number, URL: is.URL, NodeID: is.NodeID, At: now, By: p.By,
				UnpinAt: latest(in.Resolved.Add(inc.o.PinnedFor), now.Add(24*time.Hour))}
			in.Publishing = false
			return nil
		})
		if err != nil {
			return err
		}
		if err := inc.e.Audit().Record(ctx, bot.AuditEntry{Actor: p.By, Action: "incident.published", Target: in.ID, Detail: is.URL}); err != nil {
			return err
		}
	}
	if !in.Issue.Pinned {
		if err := inc.o.GitHub.Pin(ctx, in.Issue.NodeID); err != nil {
			if retryable(err) {
				return err
			}
			return inc.sayf(ctx, in, "publish:pinfailed", "The write-up of %s is published (<%s|issue #%d>) but GitHub refused to pin it: %v", in.ID, in.Issue.URL, in.Issue.Number, err)
		}
		in, err = inc.update(ctx, in.ID, func(in *Incident) error { in.Issue.Pinned = true; return nil })
		if err != nil {
			return err
		}
	}
	payload, _ := json.Marshal(unpinPayload{Incident: in.ID})
	if err := inc.e.Scheduler().Schedule(ctx, bot.Job{ID: "incident:unpin:" + in.ID, Kind: jobUnpin, Due: in.Issue.UnpinAt, Payload: payload}); err != nil {
		return err
	}
	return inc.sayf(ctx, in, "published", "📣 The write-up of %s is published and pinned: <%s|%s#%d>. Vigil unpins it on %s.",
		in.ID, in.Issue.URL, in.Issue.Repo, in.Issue.Number, stamp(in.Issue.UnpinAt, true))
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// runUnpinNow unpins earlier than planned, but never sooner than
// MinPinned after resolution.
func (inc *Incidents) runUnpinNow(ctx context.Context, req *bot.Request) error {
	in, err := inc.target(ctx, req)
	if err != nil {
		return err
	}
	switch {
	case in.Issue == nil:
		return bot.Noticef("The write-up of %s is not published.", in.ID)
	case !in.Issue.Unpinned.IsZero() || !in.Issue.Pinned:
		return bot.Noticef("The write-up of %s is not pinned.", in.ID)
	}
	if earliest := in.Resolved.Add(MinPinned); req.Now().Before(earliest) {
		return bot.Noticef("Not yet: a write-up stays pinned at least three days after resolution, so %s can be unpinned from %s (Vigil unpins it on %s).",
			in.ID, stamp(earliest, true), stamp(in.Issue.UnpinAt, true))
	}
	payload, _ := json.Marshal(unpinPayload{Incident: in.ID, By: req.Actor()})
	// The same job id as the planned unpin: this moves it to now.
	if err := inc.e.Scheduler().Schedule(ctx, bot.Job{ID: "incident:unpin:" + in.ID, Kind: jobUnpin, Due: req.Now(), Payload: payload}); err != nil {
		return err
	}
	if err := req.Record(ctx, "incident.unpin", in.ID, ""); err != nil {
		return err
	}
	return inc.announcef(ctx, req, "%s is unpinning the write-up of %s.", req.ActorMention(), in.ID)
}

func (inc *Incidents) runUnpin(ctx context.Context, job bot.Job) error {
	var p unpinPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("incident unpin job %s: %w", job.ID, err)
	}
	in, _, err := inc.load(ctx, p.Incident)
	if err != nil {
		return err
	}
	if in.Issue == nil || !in.Issue.Pinned {
		return nil
	}
	// A guard of its own: whatever scheduled this job, the rule holds.
	if earliest := in.Resolved.Add(MinPinned); inc.e.Clock().Now().Before(earliest) {
		return inc.e.Scheduler().Schedule(ctx, bot.Job{ID: job.ID, Kind: jobUnpin, Due: earliest, Payload: job.Payload})
	}
	if inc.o.GitHub == nil {
		return errors.New("incident unpin: GitHub is not configured")
	}
	if err := inc.o.GitHub.Unpin(ctx, in.Issue.NodeID); err != nil {
		if retryable(err) {
			return err
		}
		return inc.sayf(ctx, in, "unpin:failed", "GitHub refused to unpin the write-up of %s (<%s|issue #%d>): %v", in.ID, in.Issue.URL, in.Issue.Number, err)
	}
	now := inc.e.Clock().Now()
	in, err = inc.update(ctx, in.ID, func(in *Incident) error {
		in.Issue.Pinned, in.Issue.Unpinned = false, now
		return nil
	})
	if err != nil {
		return err
	}
	by := p.By
	if by == "" {
		by = "vigil"
	}
	if err := inc.e.Audit().Record(ctx, bot.AuditEntry{Actor: by, Action: "incident.unpinned", Target: in.ID, Detail: in.Issue.URL}); err != nil {
		return err
	}
	return inc.sayf(ctx, in, "unpinned", "📌 The write-up of %s (<%s|%s#%d>) is no longer pinned.", in.ID, in.Issue.URL, in.Issue.Repo, in.Issue.Number)
}
