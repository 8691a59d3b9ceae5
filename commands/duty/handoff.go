package duty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

type handoffPayload struct {
	Rotation string    `json:"rotation"`
	At       time.Time `json:"at"`
}

func handoffJobID(rotation string) string { return "duty:handoff:" + rotation }
func noticeJobID(rotation string) string  { return "duty:notice:" + rotation }

// plan (re)schedules a rotation's two jobs from now: the next moment the
// person on duty may change, and the heads-up before the next shift.
func (d *Duty) plan(ctx context.Context, r *Rotation) error {
	now := d.e.Clock().Now()
	if err := d.scheduleHandoff(ctx, r.Name, r.NextChange(now)); err != nil {
		return err
	}
	return d.scheduleNotice(ctx, r, r.ShiftStart(r.ShiftAt(now)+1))
}

func (d *Duty) scheduleHandoff(ctx context.Context, rotation string, at time.Time) error {
	payload, _ := json.Marshal(handoffPayload{Rotation: rotation, At: at})
	if err := d.e.Scheduler().Schedule(ctx, bot.Job{ID: handoffJobID(rotation), Kind: jobHandoff, Due: at, Payload: payload}); err != nil {
		return fmt.Errorf("plan the hand-off of %s: %w", rotation, err)
	}
	return nil
}

func (d *Duty) scheduleNotice(ctx context.Context, r *Rotation, shiftStart time.Time) error {
	due := shiftStart.Add(-d.opts.NoticeBefore)
	if now := d.e.Clock().Now(); due.Before(now) {
		due = now
	}
	payload, _ := json.Marshal(handoffPayload{Rotation: r.Name, At: shiftStart})
	if err := d.e.Scheduler().Schedule(ctx, bot.Job{ID: noticeJobID(r.Name), Kind: jobNotice, Due: due, Payload: payload}); err != nil {
		return fmt.Errorf("plan the heads-up of %s: %w", r.Name, err)
	}
	return nil
}

func (d *Duty) cancelJobs(ctx context.Context, rotation string) error {
	if err := d.e.Scheduler().Cancel(ctx, handoffJobID(rotation)); err != nil {
		return err
	}
	return d.e.Scheduler().Cancel(ctx, noticeJobID(rotation))
}

// runHandoff announces the change at payload.At (if the person changes
// there) and plans the next one.
func (d *Duty) runHandoff(ctx context.Context, job bot.Job) error {
	var p handoffPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("hand-off job %s: %w", job.ID, err)
	}
	r, _, err := d.load(ctx, p.Rotation)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	now := d.e.Clock().Now()
	next := r.NextChange(p.At)
	// After an outage several hand-offs may be overdue; only the latest
	// one is announced, the others are history by now.
	if next.After(now) {
		from, to := r.OnDutyAt(p.At.Add(-time.Nanosecond)), r.OnDutyAt(p.At)
		if from != to {
			if err := d.announce(ctx, r, p.At, from, to); err != nil {
				return err
			}
		}
	}
	return d.scheduleHandoff(ctx, r.Name, next)
}

// runNotice gives the person of the shift starting at payload.At a
// heads-up, then plans the next one.
func (d *Duty) runNotice(ctx context.Context, job bot.Job) error {
	var p handoffPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return fmt.Errorf("heads-up job %s: %w", job.ID, err)
	}
	r, _, err := d.load(ctx, p.Rotation)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := d.e.Clock().Now()
	incoming := r.OnDutyAt(p.At)
	// No heads-up for someone who is on duty already and simply carries
	// on, or for a shift that has begun.
	if now.Before(p.At) && incoming != r.OnDutyAt(now) {
		end := r.segmentEnd(p.At)
		msg := bot.Message{
			Header: "Heads-up: duty (" + r.Name + ")",
			Text: fmt.Sprintf("You are on duty for *%s* from %s until %s.",
				r.Name, d.when(incoming, r, p.At), d.when(incoming, r, end)),
			Context: "Can't make it? `/sec duty swap @someone " + p.At.In(r.Handoff.location()).Format("2006-01-02") + "` or ask for an override.",
		}
		if err := d.dm(ctx, incoming, fmt.Sprintf("duty:%s:%d:notice:%s", r.Name, p.At.Unix(), incoming), msg); err != nil {
			return err
		}
	}
	return d.scheduleNotice(ctx, r, r.ShiftStart(r.ShiftAt(p.At)+1))
}

// segmentEnd is when the stretch of the person on duty at t ends.
func (r *Rotation) segmentEnd(t time.Time) time.Time {
	who := r.OnDutyAt(t)
	end := r.NextChange(t)
	for i := 0; i < 1000 && r.OnDutyAt(end) == who; i++ {
		end = r.NextChange(end)
	}
	return end
}

// segmentStart is when the stretch of the person on duty at t began.
func (r *Rotation) segmentStart(t time.Time) time.Time {
	who := r.OnDutyAt(t)
	k := r.ShiftAt(t)
	start := t
	// Walk back over shifts, then settle on the first segment of who's
	// unbroken stretch.
	for i := 0; i < 1000; i++ {
		segs := r.Segments(r.ShiftStart(k), start)
		moved := false
		for j := len(segs) - 1; j >= 0; j-- {
			if segs[j].Person != who {
				return start
			}
			start, moved = segs[j].From, true
		}
		if !moved {
			return start
		}
		k--
	}
	return start
}

// announce posts a hand-off: one message in the private room, a DM to the
// incoming person with what they inherit, and a DM to the outgoing one.
func (d *Duty) announce(ctx context.Context, r *Rotation, at time.Time, from, to string) error {
	// The id names the instant and the people, so a job that runs twice
	// posts once, while two real changes at one instant stay distinct.
	id := fmt.Sprintf("duty:%s:%d:%s>%s", r.Name, at.UnixNano(), from, to)
	until := r.segmentEnd(at)
	next := r.OnDutyAt(until)
	room, ok := d.e.SecurityRoom("")
	if !ok {
		d.e.Logger().Warn("no private security room to announce the hand-off in", "rotation", r.Name)
	} else {
		msg := bot.Message{
			Header: "Duty hand-off: " + r.Name,
			Text:   fmt.Sprintf("Duty passes from %s to %s.", bot.PersonToken(from), bot.PersonToken(to)),
			Fields: []bot.Field{
				{Label: "On duty", Value: bot.PersonToken(to)},
				{Label: "Until", Value: chatTime(until, r.Handoff.location())},
				{Label: "Next", Value: bot.PersonToken(next)},
			},
		}
		if err := d.e.Post(ctx, id+":room", room, msg); err != nil {
			return err
		}
	}
	inherited, err := d.inheritance(ctx, r.Name, at, until)
	if err != nil {
		return err
	}
	in := bot.Message{
		Header: "You are on duty: " + r.Name,
		Text: fmt.Sprintf("%s handed duty for *%s* to you. You are on duty until %s; %s is next.",
			bot.PersonToken(from), r.Name, d.when(to, r, until), bot.PersonToken(next)),
		// What is handed over can be report details: only for the team.
		Sensitive: len(inherited) > 0,
	}
	if len(inherited) > 0 {
		in.Fields = append(in.Fields, bot.Field{Label: "Handed over", Value: strings.Join(inherited, "\n")})
	} else {
		in.Context = "Nothing open is handed over."
	}
	if err := d.dm(ctx, to, id+":in", in); err != nil {
		return err
	}
	out := bot.Message{Text: fmt.Sprintf("Your duty shift for *%s* has ended; %s has it now. Thank you!", r.Name, bot.PersonToken(to))}
	return d.dm(ctx, from, id+":out", out)
}

func (d *Duty) inheritance(ctx context.Context, rotation string, from, to time.Time) ([]string, error) {
	var lines []string
	for _, c := range d.contributors {
		more, err := c(ctx, rotation, from, to)
		if err != nil {
			return nil, fmt.Errorf("hand-over items: %w", err)
		}
		lines = append(lines, more...)
	}
	return lines, nil
}

// dm posts a durable direct message to a person by directory name.
func (d *Duty) dm(ctx context.Context, name, id string, msg bot.Message) error {
	p, ok := d.e.Directory().ByName(name)
	if !ok {
		d.e.Logger().Warn("duty: cannot DM someone not in the directory", "person", name)
		return nil
	}
	to, ok := d.e.DMFor(p, "")
	if !ok {
		d.e.Logger().Warn("duty: no chat account to DM", "person", name)
		return nil
	}
	return d.e.Post(ctx, id, to, msg)
}

// when formats t for a person: in their time zone when the directory has
// one, else in the rotation's.
func (d *Duty) when(person string, r *Rotation, t time.Time) string {
	loc := r.Handoff.location()
	if p, ok := d.e.Directory().ByName(person); ok && p.Timezone != "" {
		if l, err := time.LoadLocation(p.Timezone); err == nil {
			loc = l
		}
	}
	return chatTime(t, loc)
}

func fmtTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 15:04 MST")
}

// chatTime writes an instant for chat: Slack shows it in each reader's
// zone, other adapters in the reader's zone from the directory (the engine
// rewrites the token); the text in loc is the fallback.
func chatTime(t time.Time, loc *time.Location) string {
	return bot.TimeToken(t, fmtTime(t, loc))
}

// notifyMoved tells each person whose stretches on duty in the coming
// weeks differ between before and after what changed, except those in
// skip (the person who made the change, people already told).
func (d *Duty) notifyMoved(ctx context.Context, before, after *Rotation, why string, skip ...string) error {
	now := d.e.Clock().Now()
	// Up to a shift boundary, so the last stretch listed is a whole one.
	end := after.ShiftStart(after.ShiftAt(now.Add(horizon)))
	old := map[string][][2]time.Time{}
	if before != nil {
		old = before.personSpans(now, end)
	}
	cur := after.personSpans(now, end)
	people := map[string]bool{}
	for p := range old {
		people[p] = true
	}
	for p := range cur {
		people[p] = true
	}
	for p := range people {
		if contains(skip, p) || spansEqual(old[p], cur[p]) {
			continue
		}
		dm := changedDM{Rotation: after.Name, Why: why}
		for i, s := range cur[p] {
			if i == 6 {
				dm.More = len(cur[p]) - 6
				break
			}
			from := d.when(p, after, s[0])
			if !s[0].After(now) {
				from = "now"
			}
			dm.Shifts = append(dm.Shifts, shiftSpan{From: from, To: d.when(p, after, s[1])})
		}
		text, err := dutyTexts.Render("changed-dm.txt.tmpl", dm)
		if err != nil {
			return fmt.Errorf("rotation %s: %w", after.Name, err)
		}
		id := fmt.Sprintf("duty:%s:change:%d:%s", after.Name, now.UnixNano(), p)
		if err := d.dm(ctx, p, id, bot.Message{Text: text, Context: "See `/sec duty schedule " + after.Name + "`."}); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func spansEqual(a, b [][2]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i][0].Equal(b[i][0]) || !a[i][1].Equal(b[i][1]) {
			return false
		}
	}
	return true
}

// afterChange finishes every change to a rotation: announce a hand-off if
// the person on duty changed right now, tell people whose shifts moved,
// and re-plan the jobs.
func (d *Duty) afterChange(ctx context.Context, before, after *Rotation, why string, skip ...string) error {
	now := d.e.Clock().Now()
	if before != nil {
		if from, to := before.OnDutyAt(now), after.OnDutyAt(now); from != to {
			if err := d.announce(ctx, after, now, from, to); err != nil {
				return err
			}
			skip = append(skip, from, to)
		}
	}
	if err := d.notifyMoved(ctx, before, after, why, skip...); err != nil {
		return err
	}
	return d.plan(ctx, after)
}
