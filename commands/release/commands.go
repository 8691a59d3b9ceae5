package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/textutil"
	"github.com/vigil-sec/vigil/store"
)

func (r *Releases) command() *bot.Command {
	team := bot.TeamRoles()
	return &bot.Command{
		Name:    "release",
		Summary: "Plan, announce and publish security releases, with their clocks",
		Help: "A release is planned for a report at a public time announced in advance (at least " +
			"the configured notice, 48h by default). When the fix is merged, the advisories must be " +
			"published and the announcement answered within two hours.",
		Roles: team,
		Sub: []*bot.Command{
			{
				Name: "plan", Summary: "Plan a release and draft its announcement",
				Usage: "ID --public-at TIME [--repos owner/repo,...] [--expedite --reason \"...\"] [--versions V] [--remedy R] [--patch URL]",
				Help: "TIME is RFC 3339 or \"2026-01-12 14:00\" in the room's zone. A time closer than the minimum notice is " +
					"refused unless --expedite is given with a --reason (audited). --versions, --remedy and --patch go to the " +
					"distributors' advance notice.",
				Examples: []string{`release plan VIG-2026-7 --public-at "2026-01-12 14:00"`, `release plan VIG-2026-7 --public-at 2026-01-06T14:00:00Z --expedite --reason "exploited in the wild"`},
				Roles:    team, MinArgs: 1, MaxArgs: 1, Run: r.runPlan,
				Flags: []bot.FlagSpec{
					{Name: "public-at", Value: "TIME", Help: "when the fix becomes public"},
					{Name: "repos", Value: "owner/repo,...", Help: "repositories released (default: the report's)"},
					{Name: "expedite", Bool: true, Help: "allow less than the minimum notice"},
					{Name: "reason", Value: "TEXT", Help: "why the release is expedited"},
					{Name: "versions", Value: "TEXT", Help: "affected versions, for distributors"},
					{Name: "remedy", Value: "TEXT", Help: "what users should do, for distributors"},
					{Name: "patch", Value: "URL", Help: "where distributors get the patch"},
				},
			},
			{Name: "show", Summary: "A release's draft announcement, checklist and clock", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.runShow},
			{Name: "announce", Summary: "Post the announcement to the configured destinations", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.runAnnounce},
			{
				Name: "link", Summary: "Link the pull requests carrying the fix (their merge starts the clock)",
				Usage: "ID PR-URL...", Roles: team, MinArgs: 2, MaxArgs: -1, Run: r.runLink,
				Examples: []string{"release link VIG-2026-7 https://github.com/acme/web/pull/42"},
			},
			{
				Name: "merged", Summary: "Say pull requests were merged; the first starts the two-hour clock",
				Usage: "ID PR-URL... [--branch BRANCH]", Roles: team, MinArgs: 2, MaxArgs: -1, Run: r.runMerged,
				Flags: []bot.FlagSpec{{Name: "branch", Value: "BRANCH", Help: "the branch merged into (default: the main branch)"}},
			},
			{Name: "publish", Summary: "Publish the advisories on GitHub and answer the announcement", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.runPublishCmd},
			{Name: "list", Summary: "Planned and running releases with their clocks", Roles: team, Run: r.runList},
			{
				Name: "postpone", Summary: "Move a release's public time; the announcement is edited and answered, distributors told",
				Usage: "ID --public-at TIME --reason \"...\" [--expedite]",
				Help: "Only before the fix is merged. The new time respects the minimum notice from now, as for plan, unless " +
					"--expedite is given (the reason is audited). The jobs of the old time move to the new one; where the release " +
					"was announced, the announcement is edited in place and answered in its thread and on the list, and distributors " +
					"who had the advance notice get a mail.",
				Examples: []string{`release postpone VIG-2026-7 --public-at "2026-01-19 14:00" --reason "the back-port to 2.2.x needs another week"`},
				Roles:    team, MinArgs: 1, MaxArgs: 1, Run: r.runPostpone,
				Flags: []bot.FlagSpec{
					{Name: "public-at", Value: "TIME", Help: "the new public time"},
					{Name: "reason", Value: "TEXT", Help: "why (told to everyone the release was announced to; audited)"},
					{Name: "expedite", Bool: true, Help: "allow less than the minimum notice"},
				},
			},
			{
				Name: "share", Summary: "Mail the reporter the draft announcement, the public time and the fix, for comment",
				Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.runShare,
				Help: "Needs the reporter's email address and outbound mail. The reporter's answer threads into the report; " +
					"once they agree, tick it with `release check ID reporter-agreed`.",
				Examples: []string{"release share VIG-2026-7"},
			},
			{
				Name: "check", Summary: "Tick a checklist item done by hand (reporter-agreed)",
				Usage: "ID ITEM", Roles: team, MinArgs: 2, MaxArgs: 2, Run: r.runCheck,
				Examples: []string{"release check VIG-2026-7 reporter-agreed"},
			},
			{
				Name: "cancel", Summary: "Call off a release; every clock stops and everyone told hears it",
				Usage: "ID --reason \"...\"", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.runCancel,
				Help: "Only before the fix is merged. The pending jobs are unscheduled, the announcement is edited and answered " +
					"in its thread and on the list, distributors who had the advance notice get a mail.",
				Examples: []string{`release cancel VIG-2026-7 --reason "the fix is reverted; a new date follows"`},
				Flags:    []bot.FlagSpec{{Name: "reason", Value: "TEXT", Help: "why (told to everyone the release was announced to; audited)"}},
			},
		},
	}
}

func (r *Releases) runPlan(ctx context.Context, req *bot.Request) error {
	rep, err := r.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if rep.State != report.StateAccepted && rep.State != report.StateFixing {
		return bot.Usagef("%s is %s: a release is planned for an accepted report", rep.ID, rep.State)
	}
	publicAt, err := r.publicAtFlag(req)
	if err != nil {
		return err
	}
	now := req.Now()
	expedite, reason := req.Flags.Has("expedite"), strings.TrimSpace(req.Flags.Get("reason"))
	switch {
	case !publicAt.After(now):
		return bot.Usagef("the public time %s has passed", r.when(publicAt))
	case expedite && reason == "":
		return bot.Usagef("--expedite needs a --reason, which is audited")
	case publicAt.Sub(now) < r.o.MinNotice && !expedite:
		return req.Replyf(ctx, "%s", r.tooSoon(publicAt, now))
	}
	repos := rep.Affected()
	if s := req.Flags.Get("repos"); s != "" {
		repos = nil
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				repos = append(repos, p)
			}
		}
	}
	if len(repos) == 0 {
		return bot.Usagef("%s names no repository: give --repos owner/repo,...", rep.ID)
	}
	for _, repo := range repos {
		if !repoRE.MatchString(repo) {
			return bot.Usagef("--repos: %q is not owner/repo", repo)
		}
	}
	rel := &Release{
		ID: rep.ID, Repos: repos, PublicAt: publicAt, State: StatePlanned, PlannedBy: req.Actor(), PlannedAt: now,
		Expedited: publicAt.Sub(now) < r.o.MinNotice, Severity: rep.EffectiveSeverity(),
		Versions: req.Flags.Get("versions"), Remedy: req.Flags.Get("remedy"), Patch: req.Flags.Get("patch"),
		Checklist: r.checklistFor(repos),
	}
	if rel.Expedited {
		rel.Reason = reason
	}
	old, version, err := r.load(ctx, rep.ID)
	var ue *bot.UsageError
	switch {
	case errors.As(err, &ue):
		version = store.NewDoc
	case err != nil:
		return err
	case old.State != StatePlanned:
		return bot.Noticef("The release of %s was already announced (%s); it can no longer be moved here. Announce a change by hand.", rep.ID, r.when(old.PublicAt))
	default:
		rel.PRs = old.PRs
	}
	if err := r.save(ctx, rel, version); err != nil {
		return err
	}
	if err := r.e.Store().SetAdd(ctx, activeSet, rel.ID); err != nil {
		return fmt.Errorf("plan release %s: %w", rel.ID, err)
	}
	if err := r.scheduleAt(ctx, rel.ID, "public", jobPublic, publicAt, jobPayload{ID: rel.ID}); err != nil {
		return err
	}
	if r.o.Distributors != "" {
		// An expedited release may already be inside the notice period:
		// the distributors then hear at once.
		due := publicAt.Add(-r.o.NoticeBefore)
		if due.Before(now) {
			due = now
		}
		if err := r.scheduleAt(ctx, rel.ID, "mail:notice", jobMail, due, jobPayload{ID: rel.ID, Kind: "notice"}); err != nil {
			return err
		}
	}
	detail := "public at " + publicAt.Format(time.RFC3339) + " for " + strings.Join(repos, ", ")
	if err := req.Record(ctx, "release.plan", rel.ID, detail); err != nil {
		return err
	}
	if rel.Expedited {
		if err := req.Record(ctx, "release.expedite", rel.ID, fmt.Sprintf("%s ahead: %s", textutil.Duration(publicAt.Sub(now)), reason)); err != nil {
			return err
		}
	}
	if err := r.say(ctx, rep, fmt.Sprintf("plan:%d", now.UnixNano()), r.showMessage(rel, now)); err != nil {
		return err
	}
	text := fmt.Sprintf("%s planned the release of %s: public at %s. The draft announcement is in the report's thread; `%s release announce %s` posts it%s.",
		req.ActorMention(), rel.ID, r.chatWhen(publicAt), req.Prefix(), rel.ID, r.destinationsText())
	if rel.Expedited {
		text += " Expedited (recorded in the audit log): " + reason
	}
	return req.Announcef(ctx, "%s", text)
}

// tooSoon refuses a public time closer than the minimum notice, for plan
// and postpone alike. Refused, not failed: the community is owed the
// notice, and shortening it is a decision someone must own.
func (r *Releases) tooSoon(publicAt, now time.Time) string {
	return fmt.Sprintf("Refused: %s is only %s ahead; a release is announced at least %s before it becomes public. "+
		"If this cannot wait, give `--expedite --reason \"...\"` (it is audited).", r.when(publicAt), textutil.Duration(publicAt.Sub(now)), textutil.Duration(r.o.MinNotice))
}

func (r *Releases) destinationsText() string {
	var d []string
	for _, room := range r.o.AnnounceRooms {
		d = append(d, room.String())
	}
	if r.o.MailingList != "" {
		d = append(d, r.o.MailingList)
	}
	if len(d) == 0 {
		return " (no destination is configured yet: releases.announce)"
	}
	return " to " + strings.Join(d, " and ")
}

// Announcement is the public text: repositories, date and severity, never
// the vulnerability itself. It is not Sensitive, so it may be posted in a
// public room; nothing in it comes from the report but the severity.
func (r *Releases) Announcement(rel *Release) bot.Message {
	sev := rel.Severity
	if sev == "" {
		sev = "not yet rated"
	}
	repos := strings.Join(rel.Repos, ", ")
	return bot.Message{
		Header: "Upcoming security release: " + repos,
		Text: fmt.Sprintf("A security release of %s will be published on %s. It fixes a vulnerability of %s severity. "+
			"Details will be published with the fix; please plan to update then.", repos, r.when(rel.PublicAt), strings.ToLower(sev)),
		Fields: []bot.Field{
			{Label: "Repositories", Value: repos},
			{Label: "Date", Value: r.when(rel.PublicAt)},
			{Label: "Severity", Value: sev},
		},
	}
}

func (r *Releases) showMessage(rel *Release, now time.Time) bot.Message {
	draft := r.Announcement(rel)
	text := "*Draft announcement* (no vulnerability details):\n> " + draft.Header + "\n> " + draft.Text +
		"\n\n*Checklist*\n" + checklistText(rel.Checklist)
	if r.o.SignedBy != "" {
		text += "\n\nNotices signed with key " + r.o.SignedBy
	}
	fields := []bot.Field{{Label: "Clock", Value: r.clockText(rel, now)}, {Label: "State", Value: string(rel.State)}}
	if rel.Expedited {
		fields = append(fields, bot.Field{Label: "Expedited", Value: rel.Reason})
	}
	if len(rel.Announced) > 0 {
		var w []string
		for _, p := range rel.Announced {
			w = append(w, p.Kind+" "+p.Where)
		}
		fields = append(fields, bot.Field{Label: "Announced", Value: strings.Join(w, ", ")})
	}
	if len(rel.PRs) > 0 {
		var prs []string
		for _, p := range rel.PRs {
			s := p.URL()
			if p.Merged {
				s += " (merged)"
			}
			prs = append(prs, s)
		}
		fields = append(fields, bot.Field{Label: "Pull requests", Value: strings.Join(prs, "\n")})
	}
	if !rel.BreachedAt.IsZero() {
		fields = append(fields, bot.Field{Label: "Breach", Value: "publication deadline missed at " + r.when(rel.BreachedAt)})
	}
	return bot.Message{Header: "Release of " + rel.ID, Text: text, Fields: fields, Sensitive: true}
}

func (r *Releases) runShow(ctx context.Context, req *bot.Request) error {
	rel, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	_, err = req.Reply(ctx, r.showMessage(rel, req.Now()))
	return err
}

func (r *Releases) runList(ctx context.Context, req *bot.Request) error {
	rels, err := r.active(ctx)
	if err != nil {
		return err
	}
	if len(rels) == 0 {
		return req.Replyf(ctx, "No releases are planned or running.")
	}
	var b strings.Builder
	for _, rel := range rels {
		flag := ""
		if rel.Expedited {
			flag = " (expedited)"
		}
		fmt.Fprintf(&b, "*%s* %s [%s]%s — %s\n", rel.ID, strings.Join(rel.Repos, ", "), rel.State, flag, r.clockText(rel, req.Now()))
	}
	_, err = req.Reply(ctx, bot.Message{Header: fmt.Sprintf("Releases (%d)", len(rels)), Text: strings.TrimRight(b.String(), "\n"), Sensitive: true})
	return err
}

// announceID is the outbox id of the announcement in a room; the answer
// goes into its thread (bot.ToThreadOf).
func announceID(id string, room bot.RoomRef) string {
	return "release:" + id + ":announce:" + room.String()
}

func (r *Releases) runAnnounce(ctx context.Context, req *bot.Request) error {
	rel, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if rel.State != StatePlanned {
		return bot.Noticef("The release of %s was already announced at %s.", rel.ID, r.when(rel.AnnouncedAt))
	}
	if len(r.o.AnnounceRooms) == 0 && r.o.MailingList == "" && r.o.Forum == nil {
		return bot.Noticef("No announcement destination is configured (releases.announce.rooms or releases.announce.mailing_list): announce %s by hand.", rel.ID)
	}
	msg := r.Announcement(rel)
	var posted []Posted
	for _, room := range r.o.AnnounceRooms {
		if err := r.e.PostRoot(ctx, announceID(rel.ID, room), bot.ToRoom(room, bot.ThreadRef{}), msg); err != nil {
			return err
		}
		posted = append(posted, Posted{Kind: "chat", Where: room.String()})
	}
	if r.o.MailingList != "" {
		if err := r.scheduleAt(ctx, rel.ID, "mail:announce", jobMail, req.Now(), jobPayload{ID: rel.ID, Kind: "announce"}); err != nil {
			return err
		}
		posted = append(posted, Posted{Kind: "mail", Where: r.o.MailingList, MessageID: messageID(rel.ID, "announce")})
	}
	if r.o.Forum != nil {
		if err := r.scheduleForum(ctx, rel.ID, "announce"); err != nil {
			return err
		}
		posted = append(posted, r.forumPosted())
	}
	now := req.Now()
	rel, err = r.update(ctx, rel.ID, func(rel *Release) error {
		if rel.State != StatePlanned {
			return bot.Noticef("The release of %s was announced meanwhile.", rel.ID)
		}
		rel.State, rel.Announced, rel.AnnouncedAt = StateAnnounced, posted, now
		rel.tick("announce", req.Actor(), now)
		return nil
	})
	if err != nil {
		return err
	}
	var where []string
	for _, p := range posted {
		where = append(where, p.Kind+" "+p.Where)
	}
	if err := req.Record(ctx, "release.announce", rel.ID, strings.Join(where, ", ")); err != nil {
		return err
	}
	if err := r.sayText(ctx, rel.ID, "announce", fmt.Sprintf("📣 %s announced the release of %s (%s) in: %s.", req.ActorMention(), rel.ID, r.chatWhen(rel.PublicAt), strings.Join(where, ", "))); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s announced the release of %s in: %s.", req.ActorMention(), rel.ID, strings.Join(where, ", "))
}

var prURLRE = regexp.MustCompile(`^https://github\.com/([A-Za-z0-9-]+/[A-Za-z0-9._-]+)/pull/([0-9]+)(?:[/?#].*)?$`)

func (r *Releases) runPublishCmd(ctx context.Context, req *bot.Request) error {
	rel, _, err := r.load(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if rel.State == StatePublished {
		return bot.Noticef("The advisories of %s were published at %s.", rel.ID, r.when(rel.PublishedAt))
	}
	if rel.State == StateCancelled {
		return bot.Noticef("The release of %s is cancelled.", rel.ID)
	}
	if r.o.GitHub == nil {
		return bot.Noticef("GitHub is not configured (the `github:` section), so Vigil cannot publish the advisories.")
	}
	if err := r.scheduleAt(ctx, rel.ID, "publish", jobPublish, req.Now(), jobPayload{ID: rel.ID, By: req.Actor()}); err != nil {
		return err
	}
	if err := req.Record(ctx, "release.publish.request", rel.ID, ""); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s is publishing the advisories of %s on GitHub; the result and the answer to the announcement follow in the report's thread.", req.ActorMention(), rel.ID)
}

// ---- helpers ----

type jobPayload struct {
	ID   string `json:"id"`
	Kind string `json:"kind,omitempty"`
	By   string `json:"by,omitempty"`
}

// scheduleAt plans a job with a fixed id per release and step, so planning
// again moves the job instead of adding one.
func (r *Releases) scheduleAt(ctx context.Context, id, step, kind string, due time.Time, p jobPayload) error {
	payload, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("release %s: %w", id, err)
	}
	return r.e.Scheduler().Schedule(ctx, bot.Job{ID: jobID(id, step), Kind: kind, Due: due, Payload: payload})
}

func jobID(id, step string) string { return "release:" + id + ":" + step }

// say posts in the report's private thread.
func (r *Releases) say(ctx context.Context, rep *report.Report, what string, msg bot.Message) error {
	return r.o.Reports.Post(ctx, rep, "release:"+what, msg)
}

func (r *Releases) sayText(ctx context.Context, id, what, text string) error {
	rep, err := r.o.Reports.Get(ctx, id)
	if err != nil {
		return err
	}
	return r.say(ctx, rep, what, bot.Message{Text: text, Sensitive: true})
}
