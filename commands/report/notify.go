package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// NotifiedHook is told which maintainers were told of a report, for which
// repository (repo may be empty) and when they were first told, after the
// report records them. The
// reminder feature plans their reminders from it. It must be idempotent:
// naming a maintainer again calls it again, which is how a crash between
// the report's write and the hook is repaired.
type NotifiedHook func(ctx context.Context, reportID, repo string, maintainers []string, at time.Time) error

// OnMaintainersNotified registers a hook. Register hooks at start, before
// events flow.
func (r *Reports) OnMaintainersNotified(h NotifiedHook) { r.notified = append(r.notified, h) }

func (r *Reports) notifyCommand(team []bot.Role) *bot.Command {
	return &bot.Command{
		Name:    "notify",
		Summary: "Tell a report's maintainers by DM and start their reminders (without GitHub)",
		Usage:   "ID @maintainer [@maintainer...]",
		Help: "The OEP-60 step \"notify maintainers\" for a team that does not open a GitHub advisory (`advisory open` does this by itself). " +
			"Each person named (from the people directory) gets a private DM with the report's title, severity and id; the report records them and ticks \"Notify maintainers\"; " +
			"and remediation reminders start, the first one period after, by the report's effective severity (see `help remind`). The report must be accepted. Naming someone again does not DM them twice.",
		Examples: []string{"report notify VIG-2026-3 @carol", "report notify VIG-2026-3 @carol @dave"},
		Roles:    team, MinArgs: 2, MaxArgs: -1,
		Run: r.runNotify,
	}
}

func (r *Reports) runNotify(ctx context.Context, req *bot.Request) error {
	// Every name is checked before anything is written or sent.
	dir := r.e.Directory()
	var people []bot.Person
	seen := map[string]bool{}
	for _, arg := range req.Args[1:] {
		name := strings.ToLower(strings.TrimPrefix(arg, "@"))
		if name == "" {
			return bot.Usagef("%q is not a person: name them as @name", arg)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		p, ok := dir.ByName(name)
		if !ok {
			return bot.Usagef("there is no @%s in the people directory%s", bot.Untrusted(name), r.didYouMean(name))
		}
		if _, ok := r.e.DMFor(p, ""); !ok {
			return bot.Usagef("@%s has no chat account Vigil can write to (add one in the people directory)", p.Name)
		}
		people = append(people, *p)
	}
	rep, err := r.Get(ctx, req.Args[0])
	if err != nil {
		return err
	}
	if rep.State != StateAccepted && rep.State != StateFixing {
		return bot.Usagef("%s is %s: maintainers are told once it is accepted (`%s report accept %s`)", rep.ID, rep.State, req.Prefix(), rep.ID)
	}
	now := req.Now()
	affected := rep.Affected()
	rep, err = r.update(ctx, rep.ID, func(rep *Report) error {
		for _, p := range people {
			if rep.maintainer(p.Name) == nil {
				rep.Maintainers = append(rep.Maintainers, NotifiedMaintainer{Name: p.Name, Repo: repoFor(&p, affected), By: req.Actor(), At: now})
			}
		}
		if it := rep.item("notify"); it != nil && !it.Done {
			it.Done, it.By, it.At = true, req.Actor(), now
		}
		return nil
	})
	if err != nil {
		return err
	}
	sev := rep.EffectiveSeverity()
	if sev == "" {
		sev = "not scored yet"
	}
	var told []string
	for _, p := range people {
		m := rep.maintainer(p.Name)
		to, _ := r.e.DMFor(&p, "")
		where := "a project you maintain"
		if m.Repo != "" {
			where = m.Repo
		}
		msg := bot.Message{
			Header: fmt.Sprintf("Security report for %s (%s)", where, rep.ID),
			Text: fmt.Sprintf("A vulnerability in %s was reported to the security team and confirmed: *%s*.\n"+
				"Please work on a fix, keep it confidential until the release, and tell the team when a fix is ready. "+
				"Vigil will remind you at the cadence of its severity until it is released.", where, rep.Title),
			Fields:    []bot.Field{{Label: "Severity", Value: sev}, {Label: "Report", Value: rep.ID}},
			Sensitive: true,
			Audience:  []string{p.Name},
		}
		// One DM per person and report, however often they are named.
		if err := r.e.Post(ctx, "report:notify:"+rep.ID+":"+p.Name, to, msg); err != nil {
			return err
		}
		told = append(told, "@"+p.Name)
	}
	// Each maintainer's reminders run from when they were first told, so
	// naming them again keeps the cadence (and repairs a crash before the
	// hook ran).
	for _, p := range people {
		m := rep.maintainer(p.Name)
		for _, h := range r.notified {
			if err := h(ctx, rep.ID, m.Repo, []string{p.Name}, m.At); err != nil {
				return fmt.Errorf("maintainers of %s recorded, but planning their reminders failed: %w", rep.ID, err)
			}
		}
	}
	if err := req.Record(ctx, "report.notify", rep.ID, strings.Join(told, " ")); err != nil {
		return err
	}
	mentions := make([]string, len(told))
	for i, name := range told {
		mentions[i] = bot.PersonToken(strings.TrimPrefix(name, "@"))
	}
	return r.replyAndThread(ctx, req, rep, "notify", fmt.Sprintf("%s told the maintainers of %s by DM: %s (severity %s). Their reminders follow at its cadence: `%s remind list`.",
		req.ActorMention(), rep.ID, strings.Join(mentions, ", "), sev, req.Prefix()))
}

// didYouMean suggests the nearest name in the directory.
func (r *Reports) didYouMean(name string) string {
	var names []string
	for _, p := range r.e.Directory().All() {
		names = append(names, p.Name)
	}
	if s := bot.Closest(name, names); s != "" {
		return fmt.Sprintf(" (did you mean @%s?)", s)
	}
	return ""
}

// repoFor is the affected repository p maintains, else the report's first
// affected repository, else none.
func repoFor(p *bot.Person, affected []string) string {
	for _, repo := range affected {
		for _, m := range p.Maintains {
			if strings.EqualFold(m, repo) {
				return repo
			}
		}
	}
	if len(affected) > 0 {
		return affected[0]
	}
	return ""
}

func (r *Report) maintainer(name string) *NotifiedMaintainer {
	for i := range r.Maintainers {
		if r.Maintainers[i].Name == name {
			return &r.Maintainers[i]
		}
	}
	return nil
}
