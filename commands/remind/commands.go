package remind

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

var team = bot.TeamRoles()

func (r *Reminders) command() *bot.Command {
	return &bot.Command{
		Name:    "remind",
		Summary: "Remediation reminders to maintainers: what is due when, snooze, send now",
		Help: "Reminders start when maintainers are told of a report: when a draft advisory is opened (`advisory open`, which DMs each repository's maintainers) " +
			"or when they are named without GitHub (`report notify ID @maintainer...`). Until then there is nothing to remind. " +
			"The first reminder comes one period after they were told, by the report's effective severity: Critical weekly, High monthly, Medium quarterly, Low twice a year; " +
			"each maintainer gets all of theirs in one DM, outside their quiet hours. A released, closed or rejected report stops its reminders.",
		Roles: []bot.Role{bot.RoleResponder, bot.RoleAdmin, bot.RoleMaintainer},
		Sub: []*bot.Command{
			{
				Name: "list", Summary: "What is due when (maintainers see their own)", Usage: "[@maintainer]",
				Examples: []string{"remind list", "remind list @carol"},
				Roles:    []bot.Role{bot.RoleResponder, bot.RoleAdmin, bot.RoleMaintainer}, Where: bot.Anywhere, MaxArgs: 1,
				Run: r.runList,
			},
			{
				Name: "snooze", Summary: "Snooze a maintainer's reminders of a report", Usage: `ID @maintainer --until TIME --reason "..."`,
				Roles: team, MinArgs: 2, MaxArgs: 2,
				Flags: []bot.FlagSpec{
					{Name: "until", Value: "TIME", Help: "a date (2026-03-01), an RFC 3339 time, or a duration (2w, 10d)"},
					{Name: "reason", Value: "TEXT", Help: "why"},
				},
				Run: r.runSnooze,
			},
			{Name: "now", Summary: "Send a report's reminders now (an extra nudge; the cadence stays)", Usage: "ID", Roles: team, MinArgs: 1, MaxArgs: 1, Run: r.runNow},
		},
	}
}

func (r *Reminders) runList(ctx context.Context, req *bot.Request) error {
	who := ""
	if len(req.Args) == 1 {
		who = strings.ToLower(strings.TrimPrefix(req.Args[0], "@"))
	}
	if !req.Person.OnTeam() {
		// Maintainers see only their own reminders, and only by name.
		if who != "" && who != req.Person.Name {
			return fmt.Errorf("%w: maintainers see only their own reminders", bot.ErrForbidden)
		}
		who = req.Person.Name
	}
	var names []string
	if who != "" {
		names = []string{who}
	} else {
		for _, p := range r.e.Directory().All() {
			if len(p.Maintains) > 0 {
				names = append(names, p.Name)
			}
		}
	}
	var b strings.Builder
	for _, name := range names {
		pending, err := r.e.Store().Pending(ctx, maintainerQueue(name), batchLimit)
		if err != nil {
			return err
		}
		for _, p := range pending {
			it, _, err := r.load(ctx, p.Key)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			rep, err := r.o.Reports.Get(ctx, it.Report)
			if err != nil {
				return err
			}
			sev := rep.EffectiveSeverity()
			if sev == "" {
				sev = "unscored"
			}
			fmt.Fprintf(&b, "%s — @%s — %s %s (%s): next %s, sent %d", p.Due.Format("2006-01-02 15:04 MST"), it.Maintainer, it.Report, repoLabel(it.Repo), sev, it.due().Format("Mon 2 Jan"), it.Sent)
			if !it.SnoozedUntil.IsZero() && it.SnoozedUntil.After(req.Now()) {
				fmt.Fprintf(&b, " — snoozed by @%s: %s", it.SnoozedBy, it.SnoozeReason)
			}
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return req.Replyf(ctx, "No reminders are planned.")
	}
	// Titles stay out: a maintainer may ask in a public place.
	_, err := req.Reply(ctx, bot.Message{Header: "Reminders", Text: strings.TrimRight(b.String(), "\n")})
	return err
}

// parseUntil reads a snooze end: a date, an RFC 3339 time, or a duration
// from now (2w, 10d, 36h).
func parseUntil(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	var n int
	var unit string
	if _, err := fmt.Sscanf(s, "%d%s", &n, &unit); err == nil && n > 0 {
		switch unit {
		case "w":
			return now.Add(time.Duration(n) * 7 * 24 * time.Hour), nil
		case "d":
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		case "h":
			return now.Add(time.Duration(n) * time.Hour), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use 2026-03-01, an RFC 3339 time, or a duration like 2w, 10d, 36h", s)
}

func (r *Reminders) runSnooze(ctx context.Context, req *bot.Request) error {
	rep, err := r.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	who := strings.ToLower(strings.TrimPrefix(req.Args[1], "@"))
	until, err := parseUntil(req.Flags.Get("until"), req.Now())
	if err != nil {
		return bot.Usagef("--until: %v", err)
	}
	reason := strings.TrimSpace(req.Flags.Get("reason"))
	if reason == "" {
		return bot.Usagef("--reason is required")
	}
	items, err := r.items(ctx, rep.ID)
	if err != nil {
		return err
	}
	n := 0
	for _, it := range items {
		if it.Maintainer != who {
			continue
		}
		if err := r.snooze(ctx, req, it.Key, until, reason); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return bot.Usagef("@%s has no reminders for %s", who, rep.ID)
	}
	return req.Announcef(ctx, "%s snoozed the reminders of %s to %s until %s: %s", req.ActorMention(), rep.ID, bot.PersonToken(who), until.Format("Mon 2 Jan 2006"), reason)
}

func (r *Reminders) snooze(ctx context.Context, req *bot.Request, key string, until time.Time, reason string) error {
	if !until.After(req.Now()) {
		return bot.Usagef("the snooze must end in the future")
	}
	it, version, err := r.load(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return bot.Noticef("That reminder is no longer planned.")
	}
	if err != nil {
		return err
	}
	it.SnoozedUntil, it.SnoozeReason, it.SnoozedBy = until, reason, req.Actor()
	if err := r.save(ctx, it, version); err != nil {
		return err
	}
	if err := req.Record(ctx, "remind.snooze", it.Report, fmt.Sprintf("@%s %s until %s: %s", it.Maintainer, repoLabel(it.Repo), until.Format(time.RFC3339), reason)); err != nil {
		return err
	}
	return r.refreshMaintainer(ctx, it.Maintainer)
}

// runNow sends a report's reminders now without moving their cadence.
func (r *Reminders) runNow(ctx context.Context, req *bot.Request) error {
	rep, err := r.o.Reports.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	items, err := r.items(ctx, rep.ID)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return bot.Usagef("%s has no reminders (they start when maintainers are notified of an advisory)", rep.ID)
	}
	var told []string
	now := req.Now()
	for _, it := range items {
		p, ok := r.e.Directory().ByName(it.Maintainer)
		if !ok {
			continue
		}
		to, ok := r.e.DMFor(p, "")
		if !ok {
			continue
		}
		text := fmt.Sprintf("A reminder from the security team: %s in %s (%s) is not fixed yet.", rep.ID, repoLabel(it.Repo), rep.Title)
		if it.URL != "" {
			text += fmt.Sprintf(" <%s|%s>", it.URL, it.GHSA)
		}
		msg := bot.Message{
			Text:      text,
			Buttons:   []bot.Button{{Label: "Snooze", Action: actionSnooze, Value: it.Key}, {Label: "Fixed", Action: actionFixed, Value: it.Key, Style: bot.ButtonPrimary}},
			Sensitive: true,
			Audience:  []string{it.Maintainer},
		}
		if err := r.e.Post(ctx, fmt.Sprintf("remind:now:%s:%d", it.Key, now.UnixNano()), to, msg); err != nil {
			return err
		}
		told = append(told, "@"+it.Maintainer)
	}
	sort.Strings(told)
	if err := req.Record(ctx, "remind.now", rep.ID, strings.Join(told, ", ")); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s reminded %s about %s now.", req.ActorMention(), strings.Join(told, ", "), rep.ID)
}

// ---- buttons ----

// owner checks that the person pressing is the item's maintainer (or on
// the team).
func (r *Reminders) owner(ctx context.Context, req *bot.Request, key string) (*item, error) {
	it, _, err := r.load(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bot.Noticef("That reminder is no longer planned (fixed, released or closed).")
	}
	if err != nil {
		return nil, err
	}
	if req.Person == nil || (req.Person.Name != it.Maintainer && !req.Person.OnTeam()) {
		return nil, fmt.Errorf("%w: this reminder is for @%s", bot.ErrForbidden, it.Maintainer)
	}
	return it, nil
}

func (r *Reminders) pressSnooze(ctx context.Context, req *bot.Request, key string) error {
	if _, err := r.owner(ctx, req, key); err != nil {
		return err
	}
	return req.StartForm(ctx, formSnooze, map[string]string{"key": key})
}

func (r *Reminders) snoozeForm() *bot.Form {
	return &bot.Form{
		ID:    formSnooze,
		Title: "Snooze a reminder",
		Fields: []bot.FormField{
			{Name: "until", Label: "Until", Help: "A date (2026-03-01) or a duration (2w, 10d)."},
			{Name: "reason", Label: "Reason", Help: "Why: the team sees it."},
		},
		Submit: func(ctx context.Context, req *bot.Request) error {
			until, err := parseUntil(req.Form.Values["until"], req.Now())
			if err != nil {
				return bot.Usagef("%v", err)
			}
			if _, err := r.owner(ctx, req, req.Form.Hidden["key"]); err != nil {
				return err
			}
			if err := r.snooze(ctx, req, req.Form.Hidden["key"], until, req.Form.Values["reason"]); err != nil {
				return err
			}
			return req.Replyf(ctx, "Snoozed until %s.", until.Format("Mon 2 Jan 2006"))
		},
	}
}

// pressFixed: a maintainer says it is fixed; the team is asked to confirm
// in the report's thread before the reminders stop.
func (r *Reminders) pressFixed(ctx context.Context, req *bot.Request, key string) error {
	it, err := r.owner(ctx, req, key)
	if err != nil {
		return err
	}
	rep, err := r.o.Reports.Get(ctx, it.Report)
	if err != nil {
		return err
	}
	msg := bot.Message{
		Text: fmt.Sprintf("%s says %s is fixed in %s. Confirm, and the reminders to them stop.", req.ActorMention(), rep.ID, repoLabel(it.Repo)),
		Buttons: []bot.Button{
			{Label: "Confirm fixed", Action: actionVerify, Value: "yes|" + key, Style: bot.ButtonPrimary},
			{Label: "Not yet", Action: actionVerify, Value: "no|" + key},
		},
		Sensitive: true,
	}
	if err := r.o.Reports.Post(ctx, rep, fmt.Sprintf("remind:fixed:%s:%d", key, req.Now().UnixNano()), msg); err != nil {
		return err
	}
	if err := req.Record(ctx, "remind.fixed.claimed", rep.ID, repoLabel(it.Repo)); err != nil {
		return err
	}
	return req.Replyf(ctx, "Thanks! The security team will confirm; the reminders stop once they do.")
}

func (r *Reminders) pressVerify(ctx context.Context, req *bot.Request, value string) error {
	answer, key, _ := strings.Cut(value, "|")
	it, _, err := r.load(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return bot.Noticef("That reminder is already stopped.")
	}
	if err != nil {
		return err
	}
	p, _ := r.e.Directory().ByName(it.Maintainer)
	tell := func(text string) error {
		if p == nil {
			return nil
		}
		if to, ok := r.e.DMFor(p, ""); ok {
			return r.e.Post(ctx, fmt.Sprintf("remind:verify:%s:%s", key, answer), to, bot.Message{Text: text, Sensitive: true, Audience: []string{it.Maintainer}})
		}
		return nil
	}
	if answer != "yes" {
		if err := req.Record(ctx, "remind.fixed.refused", it.Report, repoLabel(it.Repo)); err != nil {
			return err
		}
		if err := tell(fmt.Sprintf("The security team does not consider %s fixed in %s yet; the reminders go on.", it.Report, repoLabel(it.Repo))); err != nil {
			return err
		}
		return req.Announcef(ctx, "%s noted that %s is not fixed in %s yet; %s is told.", req.ActorMention(), it.Report, repoLabel(it.Repo), bot.PersonToken(it.Maintainer))
	}
	if err := r.remove(ctx, it); err != nil {
		return err
	}
	if err := req.Record(ctx, "remind.fixed.confirmed", it.Report, repoLabel(it.Repo)+" @"+it.Maintainer); err != nil {
		return err
	}
	if err := tell(fmt.Sprintf("Confirmed: %s is fixed in %s. No more reminders about it.", it.Report, repoLabel(it.Repo))); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s confirmed it fixed: no more reminders to %s about %s in %s.", req.ActorMention(), bot.PersonToken(it.Maintainer), it.Report, repoLabel(it.Repo))
}
