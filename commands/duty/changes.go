package duty

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
)

// The verbs that change rotations: create, edit, delete, override, away
// and hand-off now.

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
