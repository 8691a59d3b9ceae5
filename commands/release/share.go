package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
)

// The reporter in the loop (issue 18, after Apache's process): the team
// mails the reporter the draft announcement, the public time and the fix
// for comment, the reporter's answer threads into the report, and the team
// ticks "Reporter agreed" on the checklist by hand.

// reporterAgreedKey is the checklist item the team ticks once the reporter
// agrees with the draft and the schedule; nothing ticks it automatically.
const reporterAgreedKey = "reporter-agreed"

var reporterAgreed = Item{Key: reporterAgreedKey, Label: "Reporter agreed with the draft and the date"}

// manualItems are the checklist items "release check" may tick: the ones
// no job or webhook can observe.
var manualItems = map[string]Item{reporterAgreedKey: reporterAgreed}

// Share is one mail of the draft to the reporter.
type Share struct {
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"` // the mail job's kind, "share-N"
	MessageID string    `json:"message_id"`
}

// shareMailKind names the Nth share, so each mail has its own job and its
// own Message-ID (a second share after a postponement is a new mail).
func shareMailKind(n int) string { return fmt.Sprintf("share-%d", n) }

func isShareKind(kind string) bool { return strings.HasPrefix(kind, "share-") }

func (r *Releases) runShare(ctx context.Context, req *bot.Request) error {
	rel, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if rel.State == StatePublished || rel.State == StateCancelled {
		return bot.Noticef("The release of %s is %s: there is no draft left to share.", rel.ID, rel.State)
	}
	rep, err := r.o.Reports.Get(ctx, rel.ID)
	if err != nil {
		return err
	}
	if rep.Reporter.Email == "" {
		return bot.Noticef("%s has no reporter email address: share the draft with the reporter by hand, then `%s release check %s %s`.", rel.ID, req.Prefix(), rel.ID, reporterAgreedKey)
	}
	if r.o.Mailer == nil {
		return bot.Noticef("No outbound mail is configured (email.outbound): share the draft of %s with the reporter by hand.", rel.ID)
	}
	now := req.Now()
	var share Share
	rel, err = r.update(ctx, rel.ID, func(rel *Release) error {
		kind := shareMailKind(len(rel.Shares) + 1)
		share = Share{By: req.Actor(), At: now, Kind: kind, MessageID: messageID(rel.ID, kind)}
		rel.Shares = append(rel.Shares, share)
		return nil
	})
	if err != nil {
		return err
	}
	// Recorded before the mail is queued, so that even a very fast answer
	// threads into the report.
	if err := r.o.Reports.ThreadReplies(ctx, rel.ID, share.MessageID); err != nil {
		return err
	}
	if err := r.scheduleAt(ctx, rel.ID, "mail:"+share.Kind, jobMail, now, jobPayload{ID: rel.ID, Kind: share.Kind}); err != nil {
		return err
	}
	if err := req.Record(ctx, "release.share", rel.ID, "draft, date and fix mailed to the reporter ("+share.Kind+")"); err != nil {
		return err
	}
	if err := r.sayText(ctx, rel.ID, share.Kind, fmt.Sprintf("✉ %s shared the draft announcement, the public time (%s) and the fix of %s with the reporter for comment; their answer will appear in this thread. Once they agree: `%s release check %s %s`.",
		req.ActorMention(), r.chatWhen(rel.PublicAt), rel.ID, req.Prefix(), rel.ID, reporterAgreedKey)); err != nil {
		return err
	}
	return req.Replyf(ctx, "The draft of %s goes to the reporter; their answer threads into the report.", rel.ID)
}

// shareMail is the mail to the reporter: the draft announcement, the public
// time and the linked pull requests, nothing of any other report. It is
// not signed: signatures are for lists (see docs/RELEASES.md).
func (r *Releases) shareMail(ctx context.Context, rel *Release, m intake.Mail) (intake.Mail, error) {
	rep, err := r.o.Reports.Get(ctx, rel.ID)
	if err != nil {
		return m, err
	}
	if rep.Reporter.Email == "" {
		return m, fmt.Errorf("release %s: the report has no reporter email address", rel.ID)
	}
	m.Sign = false
	m.To = rep.Reporter.Email
	m.Subject = fmt.Sprintf("Re: %s [%s]: the security release, for your comments", string(rep.Title), rep.ID)
	if orig := rep.OriginalMail(); orig != "" {
		m.InReplyTo, m.References = orig, []string{orig}
	}
	ann := r.Announcement(rel)
	var fixes []string
	for _, p := range rel.PRs {
		fixes = append(fixes, p.URL())
	}
	body, err := releaseTexts.Render("share-mail.txt.tmpl", shareMailText{
		Name: rep.Greeting(), ID: rel.ID, Header: ann.Header, Announcement: ann.Text, PublicAt: r.when(rel.PublicAt), Fixes: fixes,
	})
	if err != nil {
		return m, fmt.Errorf("release %s: %w", rel.ID, err)
	}
	m.Body = body
	return m, nil
}

// shareMailText fills the mail to the reporter.
type shareMailText struct {
	Name         string
	ID           string
	Header       string
	Announcement string
	PublicAt     string
	Fixes        []string // URLs of the linked pull requests
}

func (r *Releases) runCheck(ctx context.Context, req *bot.Request) error {
	key := strings.ToLower(req.Args[1])
	item, ok := manualItems[key]
	if !ok {
		return bot.Usagef("%q is not an item ticked by hand; the others tick themselves. Try %s.", req.Args[1], reporterAgreedKey)
	}
	now := req.Now()
	var already bool
	rel, err := r.update(ctx, req.Args[0], func(rel *Release) error {
		already = false
		if !rel.hasItem(key) {
			// A release planned before the item existed.
			rel.Checklist = append(rel.Checklist, item)
		}
		for _, it := range rel.Checklist {
			if it.Key == key && it.Done {
				already = true
			}
		}
		rel.tick(key, req.Actor(), now)
		return nil
	})
	if err != nil {
		return err
	}
	if already {
		return req.Replyf(ctx, "%q was already ticked on the release of %s.", item.Label, rel.ID)
	}
	if err := req.Record(ctx, "release.check", rel.ID, key); err != nil {
		return err
	}
	if err := r.sayText(ctx, rel.ID, fmt.Sprintf("check:%s:%d", key, now.UnixNano()), fmt.Sprintf("☑ %s ticked %q.", req.ActorMention(), item.Label)); err != nil {
		return err
	}
	return req.Replyf(ctx, "☑ %s on the release of %s.", item.Label, rel.ID)
}

func (rel *Release) hasItem(key string) bool {
	for _, it := range rel.Checklist {
		if it.Key == key {
			return true
		}
	}
	return false
}
