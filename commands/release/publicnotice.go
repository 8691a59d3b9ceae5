package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
)

// The oss-security-style public notice: on publish, one mail to each of
// Options.PublicLists saying what was fixed where, with the CVE ids and the
// links. It goes out after the advisories are published, so everything in
// it is public by then; it still takes nothing from the report's title or
// description (the reporter's words), only the release's facts, the
// advisories' ids and links, and the reporter's name when they asked to be
// credited.

const jobPublicNotice = "release.public-notice"

// publicNoticeJob is the payload of one public notice: the release (read
// by jobRelease, as jobPayload's id) and the list it goes to.
type publicNoticeJob struct {
	ID string `json:"id"`
	To string `json:"to"`
}

// publicNoticeMail fills templates/public-notice-mail.txt.tmpl. Empty
// Versions and Remedy are left out; Credit is empty unless the reporter
// asked to be credited.
type publicNoticeMail struct {
	Repos      string
	Severity   string
	Versions   string // affected versions (release plan --versions)
	Remedy     string // fixed versions or what to do (release plan --remedy)
	CVEs       []string
	Credit     string
	Advisories []answeredAdvisory
	Fixes      []string // URLs of the merged pull requests
}

// publicNoticeJobID is fixed per release and list: scheduling it again
// (a publish retried) replaces it rather than adding a second mail.
func publicNoticeJobID(id, list string) string {
	return jobID(id, "mail:public:"+strings.ToLower(list))
}

// schedulePublicNotices plans one notice per public list, due now.
func (r *Releases) schedulePublicNotices(ctx context.Context, rel *Release) error {
	for _, list := range r.o.PublicLists {
		payload, err := json.Marshal(publicNoticeJob{ID: rel.ID, To: list})
		if err != nil {
			return fmt.Errorf("release %s: %w", rel.ID, err)
		}
		job := bot.Job{ID: publicNoticeJobID(rel.ID, list), Kind: jobPublicNotice, Due: r.e.Clock().Now(), Payload: payload}
		if err := r.e.Scheduler().Schedule(ctx, job); err != nil {
			return fmt.Errorf("release %s: public notice to %s: %w", rel.ID, list, err)
		}
	}
	return nil
}

// publicNotice builds the mail to one public list.
func (r *Releases) publicNotice(rel *Release, rep *report.Report, to string) (intake.Mail, error) {
	data := publicNoticeMail{Repos: strings.Join(rel.Repos, ", "), Severity: strings.ToLower(r.Announcement(rel).Fields[2].Value), Versions: rel.Versions, Remedy: rel.Remedy}
	advs := releaseAdvisories(rep, rel)
	for _, a := range advs {
		if a.CVE != "" {
			data.CVEs = append(data.CVEs, a.CVE)
		}
	}
	answer := answerData(rel, advs)
	data.Advisories, data.Fixes = answer.Advisories, answer.Fixes
	if rep.Reporter.Credit {
		// The name only: the reporter's address is never public.
		data.Credit = strings.TrimSpace(string(rep.Reporter.Name))
	}
	body, err := releaseTexts.Render("public-notice-mail.txt.tmpl", data)
	if err != nil {
		return intake.Mail{}, fmt.Errorf("release %s: public notice: %w", rel.ID, err)
	}
	subject := "Security release of " + data.Repos
	if len(data.CVEs) > 0 {
		subject += " (" + strings.Join(data.CVEs, ", ") + ")"
	}
	return intake.Mail{
		To: to, Subject: subject, Body: body, Sign: r.o.SignedBy != "",
		// One Message-ID per list: each is its own mail.
		MessageID: messageID(rel.ID, "public."+strings.NewReplacer("@", ".", "<", "", ">", "").Replace(strings.ToLower(to))),
	}, nil
}

// releaseAdvisories are the report's advisories in the release's
// repositories.
func releaseAdvisories(rep *report.Report, rel *Release) []report.AdvisoryRef {
	var advs []report.AdvisoryRef
	for _, a := range rep.Advisories {
		if inRepos(a.Repo, rel.Repos) {
			advs = append(advs, a)
		}
	}
	return advs
}

// runPublicNotice sends one public notice, once: the scheduler retries it
// while the relay says "later", and a record of the sent mail keeps a
// redelivered or rescheduled job from mailing the list twice.
func (r *Releases) runPublicNotice(ctx context.Context, job bot.Job) error {
	rel, _, err := r.jobRelease(ctx, job)
	if rel == nil || err != nil || rel.State != StatePublished {
		return err // gone, or not public: a notice goes only after publication
	}
	var p publicNoticeJob // the same payload, with the list
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("public notice job %s: %w", job.ID, err)
	}
	if r.o.Mailer == nil {
		return r.sayText(ctx, rel.ID, "mail:public:manual:"+p.To, fmt.Sprintf("✉ No outbound mail is configured: send the public notice for %s to %s by hand.", rel.ID, p.To))
	}
	now := r.e.Clock().Now()
	sentKey := "release-mail-sent:" + job.ID
	already, err := r.e.Store().WasSeen(ctx, sentKey, now)
	if err != nil || already {
		return err
	}
	rep, err := r.o.Reports.Get(ctx, rel.ID)
	if err != nil {
		return err
	}
	m, err := r.publicNotice(rel, rep, p.To)
	if err != nil {
		return err
	}
	if err := r.o.Mailer.Send(ctx, m); err != nil {
		if errors.Is(err, intake.ErrTemporary) {
			return fmt.Errorf("release %s: public notice to %s: %w", rel.ID, p.To, err)
		}
		r.e.Logger().Error("release public notice refused", "release", rel.ID, "to", p.To, "err", err)
		return r.sayText(ctx, rel.ID, "mail:public:failed:"+p.To, fmt.Sprintf("✉ The public notice for %s was refused by the mail relay for %s: %v. Send it by hand.", rel.ID, p.To, err))
	}
	if _, err := r.e.Store().MarkSeen(ctx, sentKey, now, 90*24*time.Hour); err != nil {
		r.e.Logger().Warn("release public notice sent but not recorded", "release", rel.ID, "to", p.To, "err", err)
	}
	if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "release.mail.public", Target: rel.ID, Detail: "to " + p.To}); err != nil {
		return err
	}
	return r.sayText(ctx, rel.ID, "mail:public:sent:"+p.To, fmt.Sprintf("✉ Sent the public notice for %s to %s.", rel.ID, p.To))
}

// answerData lists the published advisories (with their CVE ids) and the
// merged pull requests, for the answer and the public notice.
func answerData(rel *Release, advs []report.AdvisoryRef) answerText {
	var data answerText
	for _, a := range advs {
		data.Advisories = append(data.Advisories, advisoryLink(a))
	}
	for _, p := range rel.PRs {
		if p.Merged {
			data.Fixes = append(data.Fixes, p.URL())
		}
	}
	return data
}
