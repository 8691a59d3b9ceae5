package duty

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

var (
	team  = []bot.Role{bot.RoleResponder, bot.RoleAdmin}
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

// ---- changing ----

func (d *Duty) runCreate(ctx context.Context, req *bot.Request) error {
	name := strings.ToLower(req.Args[0])
	if err := validRotationName(name); err != nil {
		return bot.Usagef("%v", err)
	}
	f := req.Flags
	for _, need := range []string{"members", "shift", "handoff"} {
		if !f.Has(need) {
			return bot.Usagef("--%s is required", need)
		}
	}
	members, err := d.members(f.Get("members"))
	if err != nil {
		return err
	}
	days, err := ParseShift(f.Get("shift"))
	if err != nil {
		return bot.Usagef("--shift: %v", err)
	}
	h, err := ParseHandoff(f.Get("handoff"), days)
	if err != nil {
		return bot.Usagef("--handoff: %v", err)
	}
	now := req.Now()
	anchor := anchorFor(h, days, now)
	if v, ok := f.Lookup("start"); ok {
		t, err := parseTime(v, now, h)
		if err != nil {
			return bot.Usagef("--start: %v", err)
		}
		if lt := t.In(h.location()); lt.Hour() != h.Hour || lt.Minute() != h.Minute || (h.HasWeekday && lt.Weekday() != h.Weekday) {
			return bot.Usagef("--start %s is not a hand-off time (%s)", fmtTime(t, h.location()), h)
		}
		anchor = t
	}
	all, err := d.list(ctx)
	if err != nil {
		return err
	}
	isDefault := f.Has("default") || len(all) == 0
	_, after, err := d.update(ctx, name, true, func(r *Rotation) error {
		if r.Name != "" {
			return bot.Usagef("rotation %q already exists; change it with `%s duty rotation edit %s`", name, req.Prefix(), name)
		}
		*r = Rotation{Name: name, Members: members, ShiftDays: days, Handoff: h, Anchor: anchor, Default: isDefault}
		return nil
	})
	if err != nil {
		return err
	}
	if isDefault {
		if err := d.clearOtherDefaults(ctx, name); err != nil {
			return err
		}
	}
	if err := req.Record(ctx, "duty.rotation.create", name, fmt.Sprintf("members %s, shift %s, hand-off %s", strings.Join(members, ","), shiftText(days), h)); err != nil {
		return err
	}
	if err := d.afterChange(ctx, nil, after, "the rotation was created by @"+req.Actor(), req.Actor()); err != nil {
		return err
	}
	now = req.Now()
	loc := h.location()
	_, err = req.Announce(ctx, bot.Message{
		Text: fmt.Sprintf("%s created rotation *%s*%s: %s is on duty until %s, then %s.", req.ActorMention(), name, defaultText(isDefault),
			bot.PersonToken(after.OnDutyAt(now)), chatTime(after.segmentEnd(now), loc), bot.PersonToken(after.OnDutyAt(after.segmentEnd(now)))),
		Context: fmt.Sprintf("Shifts of %s, hand-off %s. Members: %s.", shiftText(days), h, "@"+strings.Join(members, ", @")),
	})
	return err
}

func defaultText(isDefault bool) string {
	if isDefault {
		return " (the default)"
	}
	return ""
}

func (d *Duty) clearOtherDefaults(ctx context.Context, keep string) error {
	all, err := d.list(ctx)
	if err != nil {
		return err
	}
	for _, r := range all {
		if r.Name == keep || !r.Default {
			continue
		}
		if _, _, err := d.update(ctx, r.Name, false, func(r *Rotation) error { r.Default = false; return nil }); err != nil {
			return err
		}
	}
	return nil
}

func (d *Duty) runEdit(ctx context.Context, req *bot.Request) error {
	name := strings.ToLower(req.Args[0])
	f := req.Flags
	if !f.Has("members") && !f.Has("shift") && !f.Has("handoff") && !f.Has("default") {
		return bot.Usagef("nothing to change: give --members, --shift, --handoff or --default")
	}
	var members []string
	if f.Has("members") {
		var err error
		if members, err = d.members(f.Get("members")); err != nil {
			return err
		}
	}
	now := req.Now()
	before, after, err := d.update(ctx, name, false, func(r *Rotation) error {
		days, h, m := r.ShiftDays, r.Handoff, r.Members
		var err error
		if v, ok := f.Lookup("shift"); ok {
			if days, err = ParseShift(v); err != nil {
				return bot.Usagef("--shift: %v", err)
			}
		}
		if v, ok := f.Lookup("handoff"); ok {
			if h, err = ParseHandoff(v, days); err != nil {
				return bot.Usagef("--handoff: %v", err)
			}
		} else if f.Has("shift") {
			// The old hand-off may not fit the new length (weekday or not).
			if _, err := ParseHandoff(h.String(), days); err != nil {
				return bot.Usagef("--shift %s needs a matching --handoff: %v", shiftText(days), err)
			}
		}
		if members != nil {
			m = members
		}
		replan(r, m, days, h, now)
		if f.Has("default") {
			r.Default = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if f.Has("default") {
		if err := d.clearOtherDefaults(ctx, name); err != nil {
			return err
		}
	}
	if err := req.Record(ctx, "duty.rotation.edit", name, fmt.Sprintf("members %s, shift %s, hand-off %s", strings.Join(after.Members, ","), shiftText(after.ShiftDays), after.Handoff)); err != nil {
		return err
	}
	if err := d.afterChange(ctx, before, after, "the rotation was edited by @"+req.Actor(), req.Actor()); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s updated rotation *%s*: %s is on duty now; shifts of %s, hand-off %s.", req.ActorMention(), name, bot.PersonToken(after.OnDutyAt(now)), shiftText(after.ShiftDays), after.Handoff)
}

func (d *Duty) runDelete(ctx context.Context, req *bot.Request) error {
	name := strings.ToLower(req.Args[0])
	r, version, err := d.resolve(ctx, name)
	if err != nil {
		return err
	}
	if r.FromConfig {
		return bot.Usagef("rotation %q comes from the configuration file; remove it there", name)
	}
	if err := d.e.Store().Delete(ctx, collection, name, version); err != nil {
		return fmt.Errorf("delete rotation %s: %w", name, err)
	}
	if err := d.cancelJobs(ctx, name); err != nil {
		return err
	}
	if err := req.Record(ctx, "duty.rotation.delete", name, ""); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s deleted rotation *%s*.", req.ActorMention(), name)
}

func (d *Duty) runOverride(ctx context.Context, req *bot.Request) error {
	who, err := d.person(req.Args[0])
	if err != nil {
		return err
	}
	r, _, err := d.resolve(ctx, req.Flags.Get("rotation"))
	if err != nil {
		return err
	}
	from, to, err := d.span(req, r, false)
	if err != nil {
		return err
	}
	loc := r.Handoff.location()
	o := Override{ID: newID(), Person: who, From: from, To: to, By: req.Actor()}
	before, after, err := d.update(ctx, r.Name, false, func(r *Rotation) error {
		for _, x := range r.Overrides {
			if x.From.Before(to) && from.Before(x.To) {
				return bot.Usagef("that overlaps the override of @%s from %s to %s", x.Person, fmtTime(x.From, loc), fmtTime(x.To, loc))
			}
		}
		r.Overrides = append(r.Overrides, o)
		return nil
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "duty.override", r.Name, fmt.Sprintf("@%s from %s to %s", who, from.Format(time.RFC3339), to.Format(time.RFC3339))); err != nil {
		return err
	}
	if err := d.afterChange(ctx, before, after, "override by @"+req.Actor(), req.Actor()); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s set an override: %s covers *%s* from %s to %s.", req.ActorMention(), bot.PersonToken(who), r.Name, chatTime(from, loc), chatTime(to, loc))
}

func (d *Duty) runAway(ctx context.Context, req *bot.Request) error {
	who, err := d.person(req.Args[0])
	if err != nil {
		return err
	}
	var targets []*Rotation
	if name := req.Flags.Get("rotation"); name != "" {
		r, _, err := d.resolve(ctx, name)
		if err != nil {
			return err
		}
		targets = []*Rotation{r}
	} else {
		all, err := d.list(ctx)
		if err != nil {
			return err
		}
		for _, r := range all {
			if contains(r.Members, who) {
				targets = append(targets, r)
			}
		}
		if len(targets) == 0 {
			return bot.Usagef("@%s is not a member of any rotation", who)
		}
	}
	var names []string
	for _, r := range targets {
		if !contains(r.Members, who) {
			return bot.Usagef("@%s is not a member of rotation %q", who, r.Name)
		}
		from, to, err := d.span(req, r, true)
		if err != nil {
			return err
		}
		a := Away{ID: newID(), Person: who, From: from, To: to, By: req.Actor()}
		before, after, err := d.update(ctx, r.Name, false, func(r *Rotation) error {
			r.Away = append(r.Away, a)
			return nil
		})
		if err != nil {
			return err
		}
		if err := req.Record(ctx, "duty.away", r.Name, fmt.Sprintf("@%s from %s to %s", who, from.Format(time.RFC3339), to.Format(time.RFC3339))); err != nil {
			return err
		}
		if err := d.afterChange(ctx, before, after, fmt.Sprintf("@%s is away, set by @%s", who, req.Actor()), req.Actor()); err != nil {
			return err
		}
		names = append(names, r.Name)
	}
	return req.Announcef(ctx, "%s marked %s away in %s; their shifts in that span go to the next member.", req.ActorMention(), bot.PersonToken(who), strings.Join(names, ", "))
}

func (d *Duty) runHandoffNow(ctx context.Context, req *bot.Request) error {
	name := ""
	if len(req.Args) == 1 {
		name = req.Args[0]
	}
	r, _, err := d.resolve(ctx, name)
	if err != nil {
		return err
	}
	now := req.Now()
	current := r.OnDutyAt(now)
	if req.Actor() != current && !req.Person.Has(bot.RoleAdmin) {
		return fmt.Errorf("%w: only @%s (on duty) or an admin can hand over %s now", bot.ErrForbidden, current, r.Name)
	}
	k := r.ShiftAt(now)
	end := r.ShiftStart(k + 1)
	next, _ := r.Assignee(k + 1)
	if v, ok := req.Flags.Lookup("to"); ok {
		if next, err = d.person(v); err != nil {
			return err
		}
	}
	if next == current {
		return bot.Noticef("@%s is next as well, so there is no one to hand over to. Use `--to @person`.", current)
	}
	before, after, err := d.update(ctx, r.Name, false, func(r *Rotation) error {
		// Cut an override running now short, so the new one does not overlap.
		for i, o := range r.Overrides {
			if !now.Before(o.From) && now.Before(o.To) {
				r.Overrides[i].To = now
			}
			if o.From.After(now) && o.From.Before(end) {
				return bot.Usagef("an override of @%s starts %s, before this shift ends; remove or move it first", o.Person, fmtTime(o.From, r.Handoff.location()))
			}
		}
		r.Overrides = append(r.Overrides, Override{ID: newID(), Person: next, From: now, To: end, By: req.Actor(), Early: true})
		return nil
	})
	if err != nil {
		return err
	}
	if err := req.Record(ctx, "duty.handoff", r.Name, fmt.Sprintf("@%s to @%s", current, next)); err != nil {
		return err
	}
	if err := d.afterChange(ctx, before, after, "hand-off by @"+req.Actor(), req.Actor()); err != nil {
		return err
	}
	return req.Announcef(ctx, "%s handed *%s* over from %s to %s.", req.ActorMention(), r.Name, bot.PersonToken(current), bot.PersonToken(next))
}

// newID names an override, a time away or a swap.
func newID() string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
