package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/internal/textutil"
	"github.com/vigil-sec/vigil/store"
)

// The mails of a change are kinds "postpone-N" / "cancel-N" (to the
// announcement list) and the same with "-distributors", N the change's
// index in Release.Changes: each change has its own job, outbox and
// Message-ID, so a second postponement is told as well as the first.
const distributorsSuffix = "-distributors"

func changeKind(c Change, n int, distributors bool) string {
	k := c.Kind + "-" + strconv.Itoa(n)
	if distributors {
		k += distributorsSuffix
	}
	return k
}

// changeOf finds the change a mail kind tells, and to whom it goes.
func (r *Releases) changeOf(rel *Release, kind string) (Change, string, bool) {
	to := r.o.MailingList
	if k, ok := strings.CutSuffix(kind, distributorsSuffix); ok {
		kind, to = k, r.o.Distributors
	}
	for _, prefix := range []string{"postpone-", "cancel-"} {
		s, ok := strings.CutPrefix(kind, prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n >= len(rel.Changes) {
			return Change{}, "", false
		}
		return rel.Changes[n], to, true
	}
	return Change{}, "", false
}

// changeText says what changed, for the announcement's thread and both
// mails. It holds no vulnerability details: the reason is the team's own
// words, given to be public.
func (r *Releases) changeText(rel *Release, c Change) string {
	repos := strings.Join(rel.Repos, ", ")
	if c.Kind == "cancel" {
		return fmt.Sprintf("The security release of %s announced for %s is cancelled. Reason: %s", repos, r.when(c.From), c.Reason)
	}
	return fmt.Sprintf("The security release of %s is postponed from %s to %s. Reason: %s", repos, r.when(c.From), r.when(c.To), c.Reason)
}

// changeMail fills the reply to the announcement on the list, or to the
// advance notice for distributors (In-Reply-To the mail it changes).
func (r *Releases) changeMail(rel *Release, c Change, to string, m intake.Mail) (intake.Mail, error) {
	ref := messageID(rel.ID, "announce")
	if to == r.o.Distributors {
		ref = messageID(rel.ID, "notice")
	}
	what := "Postponed"
	if c.Kind == "cancel" {
		what = "Cancelled"
	}
	m.To, m.InReplyTo, m.References = to, ref, []string{ref}
	m.Subject = what + ": security release of " + strings.Join(rel.Repos, ", ")
	if to == r.o.Distributors && c.Kind == "postpone" {
		m.Subject = fmt.Sprintf("[EMBARGOED until %s] %s", c.To.UTC().Format("2 Jan 2006 15:04 MST"), m.Subject)
	}
	m.Body = r.changeText(rel, c) + "\n"
	return m, nil
}

// changedAnnouncement is the announcement as it now stands, for editing it
// in place in the rooms it was posted in.
func (r *Releases) changedAnnouncement(rel *Release, c Change) bot.Message {
	msg := r.Announcement(rel)
	if c.Kind == "cancel" {
		msg.Header = "Cancelled: " + msg.Header
		msg.Text = r.changeText(rel, c)
		return msg
	}
	msg.Header = "Postponed: " + msg.Header
	msg.Text = fmt.Sprintf("Postponed from %s. %s", r.when(c.From), msg.Text)
	return msg
}

func (r *Releases) runPostpone(ctx context.Context, req *bot.Request) error {
	rel, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if err := changeable(rel, "postponed"); err != nil {
		return err
	}
	publicAt, err := r.publicAtFlag(req)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Flags.Get("reason"))
	now, expedite := req.Now(), req.Flags.Has("expedite")
	switch {
	case reason == "":
		return bot.Usagef("--reason is required: it is told to everyone the release was announced to")
	case !publicAt.After(now):
		return bot.Usagef("the public time %s has passed", r.when(publicAt))
	case publicAt.Sub(now) < r.o.MinNotice && !expedite:
		return req.Replyf(ctx, "%s", r.tooSoon(publicAt, now))
	}
	expedited := publicAt.Sub(now) < r.o.MinNotice
	var c Change
	n := 0
	rel, err = r.changeAtomically(ctx, rel.ID, func(rel *Release) ([]bot.Job, error) {
		if err := changeable(rel, "postponed"); err != nil {
			return nil, err
		}
		c = Change{Kind: "postpone", By: req.Actor(), At: now, From: rel.PublicAt, To: publicAt, Reason: reason}
		rel.Changes, n = append(rel.Changes, c), len(rel.Changes)
		rel.PublicAt = publicAt
		if expedited {
			rel.Expedited, rel.Reason = true, reason
		}
		jobs := []bot.Job{r.job(rel.ID, "public", jobPublic, publicAt, jobPayload{ID: rel.ID})}
		if r.o.Distributors != "" && rel.NoticeSentAt.IsZero() {
			due := publicAt.Add(-r.o.NoticeBefore)
			if due.Before(now) {
				due = now
			}
			jobs = append(jobs, r.job(rel.ID, "mail:notice", jobMail, due, jobPayload{ID: rel.ID, Kind: "notice"}))
		}
		return append(jobs, r.changeJobs(rel, c, n, now)...), nil
	})
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("from %s to %s: %s", c.From.Format(time.RFC3339), c.To.Format(time.RFC3339), reason)
	if err := req.Record(ctx, "release.postpone", rel.ID, detail); err != nil {
		return err
	}
	if expedited {
		if err := req.Record(ctx, "release.expedite", rel.ID, fmt.Sprintf("%s ahead: %s", textutil.Duration(publicAt.Sub(now)), reason)); err != nil {
			return err
		}
	}
	told, err := r.tellRooms(ctx, rel, c, n)
	if err != nil {
		return err
	}
	if err := r.sayText(ctx, rel.ID, "postpone:"+strconv.Itoa(n), fmt.Sprintf("⏸ %s postponed the release of %s from %s to %s: %s.%s",
		req.ActorMention(), rel.ID, r.chatWhen(c.From), r.chatWhen(c.To), reason, told)); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s postponed the release of %s to %s.%s", req.ActorMention(), rel.ID, r.chatWhen(publicAt), told)
}

func (r *Releases) runCancel(ctx context.Context, req *bot.Request) error {
	rel, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if err := changeable(rel, "cancelled"); err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Flags.Get("reason"))
	if reason == "" {
		return bot.Usagef("--reason is required: it is told to everyone the release was announced to")
	}
	now := req.Now()
	var c Change
	n := 0
	rel, err = r.changeAtomically(ctx, rel.ID, func(rel *Release) ([]bot.Job, error) {
		if err := changeable(rel, "cancelled"); err != nil {
			return nil, err
		}
		c = Change{Kind: "cancel", By: req.Actor(), At: now, From: rel.PublicAt, Reason: reason}
		rel.Changes, n = append(rel.Changes, c), len(rel.Changes)
		rel.State = StateCancelled
		return r.changeJobs(rel, c, n, now), nil
	})
	if err != nil {
		return err
	}
	// Every clock of the release stops: nothing is due for a release
	// that will not happen (the mails just scheduled have their own ids).
	for _, step := range []string{"public", "mail:notice", "mail:announce", "ping", "breach", "publish"} {
		if err := r.e.Scheduler().Cancel(ctx, jobID(rel.ID, step)); err != nil {
			return err
		}
	}
	if err := req.Record(ctx, "release.cancel", rel.ID, reason); err != nil {
		return err
	}
	told, err := r.tellRooms(ctx, rel, c, n)
	if err != nil {
		return err
	}
	if err := r.sayText(ctx, rel.ID, "cancel", fmt.Sprintf("⏹ %s cancelled the release of %s: %s.%s", req.ActorMention(), rel.ID, reason, told)); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s cancelled the release of %s.%s", req.ActorMention(), rel.ID, told)
}

// changeable: a release moves or is called off only before publication;
// once the advisories are out, or the clock from the merge runs, the
// date is no longer the team's to change.
func changeable(rel *Release, what string) error {
	switch rel.State {
	case StatePublished:
		return bot.Noticef("The release of %s was published at %s; it can no longer be %s.", rel.ID, rel.PublishedAt.UTC().Format(time.RFC3339), what)
	case StateMerged:
		return bot.Noticef("The fix of %s was merged at %s and the publication clock runs; the release can no longer be %s.", rel.ID, rel.MergedAt.UTC().Format(time.RFC3339), what)
	case StateCancelled:
		return bot.Noticef("The release of %s is cancelled.", rel.ID)
	}
	return nil
}

// changeJobs are the mails telling a change: a reply to the announcement
// on the list when it was mailed there, and a mail to the distributors
// when they already had the advance notice.
func (r *Releases) changeJobs(rel *Release, c Change, n int, now time.Time) []bot.Job {
	var jobs []bot.Job
	for _, p := range rel.Announced {
		if p.Kind == "mail" {
			k := changeKind(c, n, false)
			jobs = append(jobs, r.job(rel.ID, "mail:"+k, jobMail, now, jobPayload{ID: rel.ID, Kind: k}))
		}
	}
	if r.o.Distributors != "" && !rel.NoticeSentAt.IsZero() {
		k := changeKind(c, n, true)
		jobs = append(jobs, r.job(rel.ID, "mail:"+k, jobMail, now, jobPayload{ID: rel.ID, Kind: k}))
	}
	return jobs
}

// tellRooms edits the announcement in place in each room it was posted
// in and replies in its thread; it returns a sentence saying where.
func (r *Releases) tellRooms(ctx context.Context, rel *Release, c Change, n int) (string, error) {
	var where []string
	for _, p := range rel.Announced {
		switch p.Kind {
		case "chat":
			room, err := bot.ParseRoomRef(p.Where)
			if err != nil {
				return "", fmt.Errorf("release %s: %w", rel.ID, err)
			}
			root := announceID(rel.ID, room)
			if err := r.e.EditRoot(ctx, root, r.changedAnnouncement(rel, c)); err != nil {
				return "", err
			}
			reply := bot.Message{Text: r.changeText(rel, c)}
			if err := r.e.Post(ctx, fmt.Sprintf("release:%s:%s:%s", rel.ID, changeKind(c, n, false), p.Where), bot.ToThreadOf(room, root), reply); err != nil {
				return "", err
			}
			where = append(where, p.Where)
		case "mail":
			where = append(where, p.Where)
		case "forum":
			if err := r.scheduleForum(ctx, rel.ID, changeKind(c, n, false)); err != nil {
				return "", err
			}
			where = append(where, "forum "+p.Where)
		}
	}
	if r.o.Distributors != "" && !rel.NoticeSentAt.IsZero() {
		where = append(where, r.o.Distributors)
	}
	if len(where) == 0 {
		return "", nil
	}
	return " Told: " + strings.Join(where, ", ") + ".", nil
}

func (r *Releases) job(id, step, kind string, due time.Time, p jobPayload) bot.Job {
	payload, _ := json.Marshal(p) // a struct of strings always marshals
	return bot.Job{ID: jobID(id, step), Kind: kind, Due: due, Payload: payload}
}

// changeAtomically changes a release and (re)schedules its jobs in one
// store write: the new public time and the jobs that follow from it are
// stored together or not at all, and a job with the id of an old one
// replaces it (the old time's job is gone in the same write). A
// concurrent change to the release is retried.
func (r *Releases) changeAtomically(ctx context.Context, id string, change func(rel *Release) ([]bot.Job, error)) (*Release, error) {
	for range 5 {
		rel, version, err := r.load(ctx, id)
		if err != nil {
			return nil, err
		}
		jobs, err := change(rel)
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(rel)
		if err != nil {
			return nil, fmt.Errorf("release %s: %w", id, err)
		}
		ops := []store.Op{store.PutOp(releaseColl, rel.ID, data, version)}
		for _, j := range jobs {
			jops, err := r.e.Scheduler().ScheduleOps(j)
			if err != nil {
				return nil, fmt.Errorf("release %s: %w", id, err)
			}
			ops = append(ops, jops...)
		}
		_, err = r.e.Store().Apply(ctx, ops...)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("save release %s: %w", id, err)
		}
		return rel, r.afterSave(ctx, rel)
	}
	return nil, fmt.Errorf("save release %s: changed concurrently too often, try again", id)
}
