package duty

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

var (
	team  = bot.TeamRoles()
	admin = []bot.Role{bot.RoleAdmin}
)

func (d *Duty) command() *bot.Command {
	rotationFlag := bot.FlagSpec{Name: "rotation", Value: "NAME", Help: "the rotation (default: the default rotation)"}
	return &bot.Command{
		Name:     "duty",
		Summary:  "Who is on duty now, since when, until when, and who is next",
		Usage:    "[ROTATION]",
		Help:     "Shows the person on duty in each rotation (or the one named), since when and until when, and who is next. Rotations, overrides, swaps and time away are managed with the sub-commands.",
		Examples: []string{"duty", "duty triage"},
		Where:    bot.Anywhere,
		MaxArgs:  1,
		Run:      d.runNow,
		Sub: []*bot.Command{
			{
				Name: "schedule", Summary: "The next shifts, with overrides, swaps and time away marked",
				Usage: "[ROTATION] [N] [--weeks N]", Where: bot.Anywhere, MaxArgs: 2,
				Flags:    []bot.FlagSpec{{Name: "weeks", Value: "N", Help: "show the shifts of the next N weeks"}},
				Examples: []string{"duty schedule", "duty schedule triage 8", "duty schedule --weeks 12"},
				Run:      d.runSchedule,
			},
			{
				Name: "override", Summary: "Someone covers a span of time",
				Usage: "@person --from TIME --to TIME [--rotation NAME]", Roles: team, MinArgs: 1, MaxArgs: 1,
				Help: "@person is on duty from --from to --to, whoever's shift it is. Times are RFC 3339, or 2026-01-12 / \"2026-01-12 09:00\" in the rotation's time zone, or now. Overrides may not overlap.",
				Flags: []bot.FlagSpec{
					{Name: "from", Value: "TIME", Help: "start (default now)"},
					{Name: "to", Value: "TIME", Help: "end"},
					rotationFlag,
				},
				Examples: []string{`duty override @bob --from "2026-01-14 09:00" --to "2026-01-15 09:00"`},
				Run:      d.runOverride,
			},
			{
				Name: "swap", Summary: "Trade one of your shifts with someone (they accept or decline)",
				Usage: "@person SHIFT [--rotation NAME]", Roles: team, MinArgs: 2, MaxArgs: 2,
				Help:     "SHIFT is a date in one of your shifts (2026-01-12). @person is asked by DM with Accept / Decline buttons; if they accept, they take that shift and you take their next one after it. Nothing changes until they accept, and both of you are told.",
				Flags:    []bot.FlagSpec{rotationFlag},
				Examples: []string{"duty swap @carol 2026-01-12"},
				Run:      d.runSwap,
			},
			{
				Name: "away", Summary: "Skip someone in the rotation while they are away",
				Usage: "@person --from TIME --to TIME [--rotation NAME]", Roles: team, MinArgs: 1, MaxArgs: 1,
				Help: "Shifts that overlap the span go to the next member who is not away. Without --rotation it applies to every rotation the person is in.",
				Flags: []bot.FlagSpec{
					{Name: "from", Value: "TIME", Help: "start"},
					{Name: "to", Value: "TIME", Help: "end"},
					rotationFlag,
				},
				Examples: []string{"duty away @alice --from 2026-02-02 --to 2026-02-16"},
				Run:      d.runAway,
			},
			{
				Name: "handoff", Summary: "Hand over now to the next person (the person on duty, or an admin)",
				Usage: "[ROTATION] [--to @person]", Roles: team, MaxArgs: 1,
				Flags:    []bot.FlagSpec{{Name: "to", Value: "@person", Help: "hand over to someone else than the next person"}},
				Examples: []string{"duty handoff", "duty handoff triage --to @carol"},
				Run:      d.runHandoffNow,
			},
			{
				Name: "rotation", Summary: "Create, edit, delete and list rotations",
				Sub: []*bot.Command{
					{
						Name: "create", Summary: "Create a rotation", Roles: admin, MinArgs: 1, MaxArgs: 1,
						Usage: "NAME --members @a,@b,@c --shift 1w --handoff \"Mon 09:00 Europe/Paris\" [--default] [--start DATE]",
						Help:  "Members take shifts in the order given. The shift is whole days or weeks (1w, 2w, 3d); the hand-off is a weekday (for weekly shifts), a time and an IANA time zone. The first member is on duty from the most recent hand-off (or from --start).",
						Flags: []bot.FlagSpec{
							{Name: "members", Value: "@a,@b", Help: "members in order"},
							{Name: "shift", Value: "LENGTH", Help: "1w, 2w, 3d ..."},
							{Name: "handoff", Value: "WHEN", Help: "\"Mon 09:00 Europe/Paris\""},
							{Name: "default", Bool: true, Help: "make it the default rotation"},
							{Name: "start", Value: "DATE", Help: "date the first shift starts"},
						},
						Examples: []string{`duty rotation create triage --members @alice,@bob,@carol --shift 1w --handoff "Mon 09:00 Europe/Paris"`},
						Run:      d.runCreate,
					},
					{
						Name: "edit", Summary: "Change members, shift or hand-off (whoever is on duty stays on)", Roles: admin, MinArgs: 1, MaxArgs: 1,
						Usage: "NAME [--members @a,@b] [--shift LENGTH] [--handoff WHEN] [--default]",
						Flags: []bot.FlagSpec{
							{Name: "members", Value: "@a,@b", Help: "members in order"},
							{Name: "shift", Value: "LENGTH", Help: "1w, 2w, 3d ..."},
							{Name: "handoff", Value: "WHEN", Help: "\"Mon 09:00 Europe/Paris\""},
							{Name: "default", Bool: true, Help: "make it the default rotation"},
						},
						Run: d.runEdit,
					},
					{Name: "delete", Summary: "Delete a rotation", Usage: "NAME", Roles: admin, MinArgs: 1, MaxArgs: 1, Run: d.runDelete},
					{Name: "list", Summary: "List rotations", Where: bot.Anywhere, Run: d.runList},
				},
			},
		},
	}
}

// ---- reading ----

func (d *Duty) runNow(ctx context.Context, req *bot.Request) error {
	now := req.Now()
	var rotations []*Rotation
	if len(req.Args) == 1 {
		r, _, err := d.resolve(ctx, req.Args[0])
		if err != nil {
			return err
		}
		rotations = []*Rotation{r}
	} else {
		all, err := d.list(ctx)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			_, _, err := d.resolve(ctx, "")
			return err
		}
		rotations = all
	}
	var b strings.Builder
	for i, r := range rotations {
		if i > 0 {
			b.WriteString("\n")
		}
		who := r.OnDutyAt(now)
		since, until := r.segmentStart(now), r.segmentEnd(now)
		loc := r.Handoff.location()
		fmt.Fprintf(&b, "*%s*: %s is on duty since %s, until %s. Next: %s.", r.Name, bot.PersonToken(who),
			chatTime(since, loc), chatTime(until, loc), bot.PersonToken(r.OnDutyAt(until)))
		if o, ok := r.overrideAt(now); ok {
			base, _ := r.Assignee(r.ShiftAt(now))
			fmt.Fprintf(&b, " (override for @%s's shift, set by @%s)", base, o.By)
		}
	}
	_, err := req.Reply(ctx, bot.Message{Header: "On duty", Text: b.String()})
	return err
}

func (d *Duty) runSchedule(ctx context.Context, req *bot.Request) error {
	name, count := "", 4
	for _, a := range req.Args {
		if n, err := strconv.Atoi(a); err == nil {
			if n < 1 || n > maxSchedule {
				return bot.Usagef("N must be from 1 to %d", maxSchedule)
			}
			count = n
		} else {
			name = a
		}
	}
	r, _, err := d.resolve(ctx, name)
	if err != nil {
		return err
	}
	if w, ok := req.Flags.Lookup("weeks"); ok {
		weeks, err := strconv.Atoi(w)
		if err != nil || weeks < 1 || weeks > 52 {
			return bot.Usagef("--weeks must be a number of weeks from 1 to 52, not %q", w)
		}
		count = min(maxSchedule*7, (weeks*7+r.ShiftDays-1)/r.ShiftDays)
	}
	loc := r.Handoff.location()
	now := req.Now()
	k0 := r.ShiftAt(now)
	var b strings.Builder
	for k := k0; k < k0+int64(count); k++ {
		start, end := r.ShiftStart(k), r.ShiftStart(k+1)
		who, skipped := r.Assignee(k)
		fmt.Fprintf(&b, "%s → %s  @%s", fmtTime(start, loc), fmtTime(end, loc), who)
		var marks []string
		if _, ok := r.Assigned[k]; ok {
			marks = append(marks, "swapped")
		}
		for _, s := range skipped {
			marks = append(marks, "@"+s+" away")
		}
		if k == k0 {
			marks = append(marks, "now")
		}
		if len(marks) > 0 {
			fmt.Fprintf(&b, " _(%s)_", strings.Join(marks, ", "))
		}
		b.WriteString("\n")
		for _, o := range r.Overrides {
			if o.From.Before(end) && start.Before(o.To) {
				fmt.Fprintf(&b, "    ↳ override: @%s %s → %s _(by @%s)_\n", o.Person, fmtTime(maxTime(o.From, start), loc), fmtTime(minTime(o.To, end), loc), o.By)
			}
		}
	}
	_, err = req.Reply(ctx, bot.Message{
		Header:  fmt.Sprintf("Schedule: %s", r.Name),
		Text:    strings.TrimRight(b.String(), "\n"),
		Context: fmt.Sprintf("Shifts of %s, hand-off %s.", shiftText(r.ShiftDays), r.Handoff),
	})
	return err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func shiftText(days int) string {
	switch {
	case days == 7:
		return "1 week"
	case days%7 == 0:
		return fmt.Sprintf("%d weeks", days/7)
	case days == 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

func (d *Duty) runList(ctx context.Context, req *bot.Request) error {
	all, err := d.list(ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return req.Replyf(ctx, "There are no rotations yet.")
	}
	var b strings.Builder
	now := req.Now()
	for _, r := range all {
		def := ""
		if r.Default {
			def = " _(default)_"
		}
		members := make([]string, len(r.Members))
		for i, m := range r.Members {
			members[i] = "@" + m
		}
		fmt.Fprintf(&b, "*%s*%s: %s; shifts of %s, hand-off %s; on duty now: @%s\n", r.Name, def,
			strings.Join(members, ", "), shiftText(r.ShiftDays), r.Handoff, r.OnDutyAt(now))
	}
	_, err = req.Reply(ctx, bot.Message{Header: "Rotations", Text: strings.TrimRight(b.String(), "\n")})
	return err
}

// ---- people and times ----

// person resolves @name against the directory.
func (d *Duty) person(arg string) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(arg), "@"))
	if _, ok := d.e.Directory().ByName(name); !ok {
		return "", bot.Usagef("there is no @%s in the people directory (known: %s)", name, strings.Join(d.e.Directory().Names(), ", "))
	}
	return name, nil
}

func (d *Duty) members(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(list, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, err := d.person(part)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, bot.Usagef("@%s is listed twice in --members", name)
		}
		seen[name] = true
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, bot.Usagef("a rotation needs at least one member (--members @a,@b,@c)")
	}
	return out, nil
}

// span reads --from and --to: --to is required and must be after --from
// and in the future; a --from in the past starts now.
func (d *Duty) span(req *bot.Request, r *Rotation, fromRequired bool) (time.Time, time.Time, error) {
	now := req.Now()
	from := now
	if v, ok := req.Flags.Lookup("from"); ok {
		t, err := parseTime(v, now, r.Handoff)
		if err != nil {
			return time.Time{}, time.Time{}, bot.Usagef("--from: %v", err)
		}
		from = t
	} else if fromRequired {
		return time.Time{}, time.Time{}, bot.Usagef("--from TIME is required")
	}
	v, ok := req.Flags.Lookup("to")
	if !ok {
		return time.Time{}, time.Time{}, bot.Usagef("--to TIME is required")
	}
	to, err := parseTime(v, now, r.Handoff)
	if err != nil {
		return time.Time{}, time.Time{}, bot.Usagef("--to: %v", err)
	}
	loc := r.Handoff.location()
	switch {
	case !to.After(from):
		return time.Time{}, time.Time{}, bot.Usagef("--from (%s) must be before --to (%s)", fmtTime(from, loc), fmtTime(to, loc))
	case !to.After(now):
		return time.Time{}, time.Time{}, bot.Usagef("that span is in the past (it ended %s)", fmtTime(to, loc))
	}
	if from.Before(now) {
		from = now
	}
	return from, to, nil
}
