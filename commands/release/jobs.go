package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/textutil"
)

func (r *Releases) jobRelease(ctx context.Context, job bot.Job) (*Release, jobPayload, error) {
	var p jobPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return nil, p, fmt.Errorf("release job %s: %w", job.ID, err)
	}
	rel, _, err := r.load(ctx, p.ID)
	var ue *bot.UsageError
	if errors.As(err, &ue) {
		return nil, p, nil // the release is gone: nothing to do
	}
	return rel, p, err
}

// people to ping: the maintainers of the release's repositories and whoever
// is on duty now, each once, by name.
func (r *Releases) pingees(ctx context.Context, rel *Release) []bot.Person {
	seen := map[string]bool{}
	var out []bot.Person
	add := func(p bot.Person) {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	for _, p := range r.e.Directory().All() {
		for _, m := range p.Maintains {
			for _, repo := range rel.Repos {
				if strings.EqualFold(m, repo) {
					add(p)
				}
			}
		}
	}
	if r.o.Duty != nil {
		if p, err := r.o.Duty.OnDuty(ctx, r.o.Rotation, r.e.Clock().Now()); err == nil && p != nil {
			add(*p)
		} else if err != nil {
			r.e.Logger().Debug("release: nobody on duty to ping", "release", rel.ID, "err", err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ping DMs each person; the message is about an embargoed fix, so it is
// Sensitive and addressed by name (maintainers are not on the team).
func (r *Releases) ping(ctx context.Context, rel *Release, step string, msg bot.Message) ([]string, error) {
	var told []string
	for _, p := range r.pingees(ctx, rel) {
		to, ok := r.e.DMFor(&p, "")
		if !ok {
			continue
		}
		m := msg
		m.Sensitive, m.Audience = true, []string{p.Name}
		if err := r.e.Post(ctx, "release:"+rel.ID+":"+step+":"+p.Name, to, m); err != nil {
			return told, err
		}
		told = append(told, "@"+p.Name)
	}
	return told, nil
}

// runPublic: the public time has come; the fix is to be merged now.
func (r *Releases) runPublic(ctx context.Context, job bot.Job) error {
	rel, _, err := r.jobRelease(ctx, job)
	if rel == nil || err != nil {
		return err
	}
	if rel.State == StatePublished || !rel.MergedAt.IsZero() {
		return nil
	}
	dm := publicDM{Repos: strings.Join(rel.Repos, ", "), PublicAt: r.when(rel.PublicAt), Window: textutil.Duration(r.o.PublishWindow)}
	for _, it := range rel.Checklist {
		if strings.HasPrefix(it.Key, "merge:") && !it.Done {
			dm.ToMerge = append(dm.ToMerge, it.Label)
		}
	}
	dmText, err := releaseTexts.Render("public-dm.txt.tmpl", dm)
	if err != nil {
		return fmt.Errorf("release %s: %w", rel.ID, err)
	}
	told, err := r.ping(ctx, rel, "public", bot.Message{Header: "Time to merge: release of " + rel.ID, Text: dmText})
	if err != nil {
		return err
	}
	text := fmt.Sprintf("🕑 Public time for %s: merge the fix and back-ports now. Pinged: %s.", rel.ID, orNobody(told))
	if rel.State == StatePlanned {
		text += " ⚠ The release was never announced."
	}
	return r.sayText(ctx, rel.ID, "public", text)
}

// runPing: half-way through the publication window.
func (r *Releases) runPing(ctx context.Context, job bot.Job) error {
	rel, _, err := r.jobRelease(ctx, job)
	if rel == nil || err != nil || rel.State == StatePublished {
		return err
	}
	remaining := rel.PublishDue.Sub(r.e.Clock().Now())
	told, err := r.ping(ctx, rel, "ping", bot.Message{
		Header: "Publish the advisories: release of " + rel.ID,
		Text: fmt.Sprintf("The fix was merged at %s; %s left to publish the advisories and answer the announcement (before %s): `/sec release publish %s`.",
			r.chatWhen(rel.MergedAt), textutil.Duration(remaining), r.chatWhen(rel.PublishDue), rel.ID),
	})
	if err != nil {
		return err
	}
	if _, err := r.update(ctx, rel.ID, func(rel *Release) error { rel.Pinged = true; return nil }); err != nil {
		return err
	}
	return r.sayText(ctx, rel.ID, "ping", fmt.Sprintf("⏳ %s left to publish the advisories of %s (before %s): `/sec release publish %s`. Pinged: %s.",
		textutil.Duration(remaining), rel.ID, r.chatWhen(rel.PublishDue), rel.ID, orNobody(told)))
}

// runBreach: the deadline passed unpublished. The breach is recorded on
// the release and in the audit log, and shown in the thread and the list.
func (r *Releases) runBreach(ctx context.Context, job bot.Job) error {
	rel, _, err := r.jobRelease(ctx, job)
	if rel == nil || err != nil || rel.State == StatePublished {
		return err
	}
	now := r.e.Clock().Now()
	if !rel.LateAt(now) {
		// Not due yet (a job run early): the deadline has one definition.
		return nil
	}
	rel, err = r.update(ctx, rel.ID, func(rel *Release) error {
		if rel.BreachedAt.IsZero() {
			rel.BreachedAt = now
		}
		return nil
	})
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("merged %s, not published before %s", rel.MergedAt.Format(time.RFC3339), rel.PublishDue.Format(time.RFC3339))
	if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "release.breach", Target: rel.ID, Detail: detail}); err != nil {
		return err
	}
	if _, err := r.ping(ctx, rel, "breach", bot.Message{
		Header: "Deadline missed: release of " + rel.ID,
		Text:   fmt.Sprintf("The advisories of %s were due at %s and are not published. Publish now: `/sec release publish %s`.", rel.ID, r.chatWhen(rel.PublishDue), rel.ID),
	}); err != nil {
		return err
	}
	return r.sayText(ctx, rel.ID, "breach", fmt.Sprintf("❗ BREACH: the advisories of %s were not published within %s of the merge (due %s). Recorded. Publish now: `/sec release publish %s`.",
		rel.ID, textutil.Duration(r.o.PublishWindow), r.chatWhen(rel.PublishDue), rel.ID))
}

// retryable: GitHub asked us to wait or could not be reached.
func retryable(err error) bool {
	var ra interface{ RetryAfter() time.Duration }
	var tmp interface{ Temporary() bool }
	return errors.As(err, &ra) || (errors.As(err, &tmp) && tmp.Temporary()) || errors.Is(err, bot.ErrUnavailable) || errors.Is(err, bot.ErrRateLimited)
}

func inRepos(repo string, repos []string) bool {
	for _, r := range repos {
		if strings.EqualFold(r, repo) {
			return true
		}
	}
	return false
}

// runPublish sets the release's advisories to published on GitHub, one by
// one (each recorded as it succeeds, so a retry after a rate limit does
// not publish one twice), then closes the clock, moves the report to
// released and answers the announcement.
func (r *Releases) runPublish(ctx context.Context, job bot.Job) error {
	rel, p, err := r.jobRelease(ctx, job)
	if rel == nil || err != nil || rel.State == StatePublished {
		return err
	}
	rep, err := r.o.Reports.Get(ctx, rel.ID)
	if err != nil {
		return err
	}
	advs := releaseAdvisories(rep, rel)
	if len(advs) == 0 {
		return r.sayText(ctx, rel.ID, "publish:none", fmt.Sprintf("%s has no advisory in %s to publish: open them first (`/sec advisory open %s ...`).", rel.ID, strings.Join(rel.Repos, ", "), rel.ID))
	}
	if r.o.GitHub == nil {
		return r.sayText(ctx, rel.ID, "publish:nogithub", "GitHub is not configured, so Vigil cannot publish the advisories.")
	}
	for _, a := range advs {
		if a.State == "published" {
			continue
		}
		if err := r.o.GitHub.SetAdvisoryState(ctx, a.Repo, a.GHSA, "published"); err != nil {
			if retryable(err) {
				return fmt.Errorf("publish %s: %w", a.GHSA, err) // retried after GitHub's wait
			}
			return r.sayText(ctx, rel.ID, fmt.Sprintf("publish:%s:failed:%d", a.GHSA, job.Attempt), fmt.Sprintf("GitHub refused to publish %s in %s: %v", a.GHSA, a.Repo, err))
		}
		if _, err := r.o.Reports.Update(ctx, rel.ID, func(rep *report.Report) error {
			for i := range rep.Advisories {
				if rep.Advisories[i].GHSA == a.GHSA {
					rep.Advisories[i].State = "published"
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return r.finish(ctx, rel.ID, p.By, advs)
}

func (r *Releases) finish(ctx context.Context, id, by string, advs []report.AdvisoryRef) error {
	now := r.e.Clock().Now()
	// Publishing at or after the deadline is a breach even when it beats
	// the breach job to it (both due at the same instant): the job is
	// cancelled below, so the breach is recorded here.
	breachedNow := false
	rel, err := r.update(ctx, id, func(rel *Release) error {
		breachedNow = false
		if rel.LateAt(now) && rel.BreachedAt.IsZero() {
			rel.BreachedAt, breachedNow = now, true
		}
		rel.State, rel.PublishedAt, rel.PublishedBy = StatePublished, now, by
		rel.tick("publish", by, now)
		for _, p := range rel.Announced {
			if p.Kind == "chat" {
				rel.tick("answer", "vigil", now)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, step := range []string{"ping", "breach", "public"} {
		if err := r.e.Scheduler().Cancel(ctx, jobID(id, step)); err != nil {
			return err
		}
	}
	if breachedNow {
		detail := fmt.Sprintf("merged %s, published %s, due before %s", rel.MergedAt.Format(time.RFC3339), now.Format(time.RFC3339), rel.PublishDue.Format(time.RFC3339))
		if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "release.breach", Target: id, Detail: detail}); err != nil {
			return err
		}
	}
	moved := false
	if _, err := r.o.Reports.Update(ctx, id, func(rep *report.Report) error {
		moved = false
		if rep.State == report.StateAccepted || rep.State == report.StateFixing {
			rep.State, moved = report.StateReleased, true
		}
		return nil
	}); err != nil {
		return err
	}
	var ghsas []string
	for _, a := range advs {
		ghsas = append(ghsas, a.Repo+" "+a.GHSA)
	}
	if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: by, Action: "release.publish", Target: id, Detail: strings.Join(ghsas, ", ")}); err != nil {
		return err
	}
	if moved {
		if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "report.released", Target: id, Detail: "advisories published"}); err != nil {
			return err
		}
	}
	if err := r.answer(ctx, rel, advs); err != nil {
		return err
	}
	if err := r.schedulePublicNotices(ctx, rel); err != nil {
		return err
	}
	timing := ""
	switch {
	case rel.MergedAt.IsZero():
		timing = " (no merge was recorded)"
	case rel.LateAt(rel.PublishedAt) || !rel.BreachedAt.IsZero():
		timing = fmt.Sprintf(" — %s after the merge, %s after the deadline (breach recorded)", textutil.Duration(rel.PublishedAt.Sub(rel.MergedAt)), textutil.Duration(rel.PublishedAt.Sub(rel.PublishDue)))
	default:
		timing = fmt.Sprintf(" — %s after the merge, within the deadline", textutil.Duration(rel.PublishedAt.Sub(rel.MergedAt)))
	}
	return r.sayText(ctx, id, "published", fmt.Sprintf("✅ Published %s%s. %s is now released; the announcement is answered with the links.", strings.Join(ghsas, ", "), timing, id))
}

// answerMessage lists the published advisories and the merged pull
// requests: public information once published.
func answerMessage(rel *Release, advs []report.AdvisoryRef) (bot.Message, error) {
	data := answerData(rel, advs)
	text, err := releaseTexts.Render("answer.txt.tmpl", data)
	if err != nil {
		return bot.Message{}, fmt.Errorf("answer of release %s: %w", rel.ID, err)
	}
	return bot.Message{Header: "Security release of " + strings.Join(rel.Repos, ", ") + " published", Text: text}, nil
}

// answer replies to the announcement where it was made: in the
// announcement's thread in chat, and by a reply mail on the list.
func (r *Releases) answer(ctx context.Context, rel *Release, advs []report.AdvisoryRef) error {
	msg, err := answerMessage(rel, advs)
	if err != nil {
		return err
	}
	for _, p := range rel.Announced {
		switch p.Kind {
		case "chat":
			room, err := bot.ParseRoomRef(p.Where)
			if err != nil {
				return fmt.Errorf("release %s: %w", rel.ID, err)
			}
			if err := r.e.Post(ctx, "release:"+rel.ID+":answer:"+p.Where, bot.ToThreadOf(room, announceID(rel.ID, room)), msg); err != nil {
				return err
			}
		case "mail":
			if err := r.scheduleAt(ctx, rel.ID, "mail:answer", jobMail, r.e.Clock().Now(), jobPayload{ID: rel.ID, Kind: "answer"}); err != nil {
				return err
			}
		case "forum":
			if err := r.scheduleForum(ctx, rel.ID, "publish"); err != nil {
				return err
			}
		}
	}
	if len(rel.Announced) == 0 {
		return r.sayText(ctx, rel.ID, "answer:none", "The release was never announced, so there is no announcement to answer.")
	}
	return nil
}

func messageID(id, kind string) string {
	return fmt.Sprintf("<release.%s.%s@vigil>", strings.ToLower(id), kind)
}

// buildMail fills the three mails: the announcement to the list, the
// advance notice to distributors (the only one with details: it goes to a
// private list under embargo), and the answer to the announcement.
func (r *Releases) buildMail(ctx context.Context, rel *Release, kind string) (intake.Mail, error) {
	ann := r.Announcement(rel)
	annSubject := "Upcoming security release of " + strings.Join(rel.Repos, ", ") + " on " + rel.PublicAt.UTC().Format("2 Jan 2006 15:04 MST")
	// All three go to lists (the announcement list, the distributors),
	// where a signature lets readers trust them.
	m := intake.Mail{MessageID: messageID(rel.ID, kind), Sign: r.o.SignedBy != ""}
	if c, to, ok := r.changeOf(rel, kind); ok {
		return r.changeMail(rel, c, to, m)
	}
	if isShareKind(kind) {
		return r.shareMail(ctx, rel, m)
	}
	switch kind {
	case "announce":
		m.To, m.Subject = r.o.MailingList, annSubject
		body, err := releaseTexts.Render("announce-mail.txt.tmpl", announceMail{
			Announcement: ann.Text, Repos: strings.Join(rel.Repos, ", "), Date: r.when(rel.PublicAt), Severity: ann.Fields[2].Value,
		})
		if err != nil {
			return m, fmt.Errorf("release %s: %w", rel.ID, err)
		}
		m.Body = body
	case "answer":
		ref := messageID(rel.ID, "announce")
		m.To, m.Subject, m.InReplyTo, m.References = r.o.MailingList, "Re: "+annSubject, ref, []string{ref}
		rep, err := r.o.Reports.Get(ctx, rel.ID)
		if err != nil {
			return m, err
		}
		advs := releaseAdvisories(rep, rel)
		answer, err := answerMessage(rel, advs)
		if err != nil {
			return m, err
		}
		m.Body = answer.Text + "\n"
	case "notice":
		rep, err := r.o.Reports.Get(ctx, rel.ID)
		if err != nil {
			return m, err
		}
		m.To = r.o.Distributors
		m.Subject = fmt.Sprintf("[EMBARGOED until %s] Security release of %s", rel.PublicAt.UTC().Format("2 Jan 2006 15:04 MST"), strings.Join(rel.Repos, ", "))
		// Mail is not chat: the report's text goes in raw (string(...)).
		body, err := releaseTexts.Render("notice-mail.txt.tmpl", noticeMail{
			ID: rel.ID, Title: string(rep.Title), Description: string(rep.Description),
			Repos: strings.Join(rel.Repos, ", "), Severity: ann.Fields[2].Value,
			Versions: rel.Versions, Remedy: rel.Remedy, Patch: rel.Patch, PublicAt: r.when(rel.PublicAt),
		})
		if err != nil {
			return m, fmt.Errorf("release %s: %w", rel.ID, err)
		}
		m.Body = body
	default:
		return m, fmt.Errorf("unknown release mail %q", kind)
	}
	return m, nil
}

func orNobody(names []string) string {
	if len(names) == 0 {
		return "nobody (no maintainer or person on duty reachable by DM)"
	}
	return strings.Join(names, ", ")
}

// runMail sends one release mail; the scheduler retries it while the
// relay says "later".
func (r *Releases) runMail(ctx context.Context, job bot.Job) error {
	rel, p, err := r.jobRelease(ctx, job)
	if rel == nil || err != nil {
		return err
	}
	if p.Kind == "notice" && rel.State == StatePublished {
		return nil // public already: a notice would say nothing new
	}
	if r.o.Mailer == nil {
		return r.sayText(ctx, rel.ID, "mail:"+p.Kind+":manual", fmt.Sprintf("✉ No outbound mail is configured: send the %s mail for %s by hand.", p.Kind, rel.ID))
	}
	m, err := r.buildMail(ctx, rel, p.Kind)
	if err != nil {
		return err
	}
	// A retry after a later step failed must not mail the list twice.
	sentKey := "release-mail-sent:" + job.ID
	already, err := r.e.Store().WasSeen(ctx, sentKey, r.e.Clock().Now())
	if err != nil {
		return err
	}
	if !already {
		if err := r.o.Mailer.Send(ctx, m); err != nil {
			if errors.Is(err, intake.ErrTemporary) {
				return fmt.Errorf("release mail %s: %w", p.Kind, err)
			}
			r.e.Logger().Error("release mail refused", "release", rel.ID, "kind", p.Kind, "err", err)
			return r.sayText(ctx, rel.ID, "mail:"+p.Kind+":failed", fmt.Sprintf("✉ The %s mail for %s was refused by the mail relay: %v. Send it by hand.", p.Kind, rel.ID, err))
		}
		if _, err := r.e.Store().MarkSeen(ctx, sentKey, r.e.Clock().Now(), 90*24*time.Hour); err != nil {
			r.e.Logger().Warn("release mail sent but not recorded", "release", rel.ID, "err", err)
		}
	}
	now := r.e.Clock().Now()
	if _, err := r.update(ctx, rel.ID, func(rel *Release) error {
		switch p.Kind {
		case "notice":
			rel.NoticeSentAt = now
			rel.tick("notice", "vigil", now)
		case "answer":
			rel.tick("answer", "vigil", now)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "release.mail." + p.Kind, Target: rel.ID, Detail: "to " + m.To}); err != nil {
		return err
	}
	return r.sayText(ctx, rel.ID, "mail:"+p.Kind+":sent", fmt.Sprintf("✉ Sent the %s mail for %s to %s.", p.Kind, rel.ID, m.To))
}
