// Package duty runs on-duty rotations: who triages this week, hand-offs
// announced in the private room and by DM, overrides, swaps, time away, and
// an iCal feed of the shifts.
//
// A rotation is one document in the store, changed with compare-and-swap.
// Two scheduler jobs per rotation (reusing their ids, so there is only ever
// one of each) drive it: the next hand-off, and the heads-up to the next
// incoming person. Every message they post has an id derived from the
// rotation and the instant, so a job that runs twice (a crash, a second
// replica) posts once.
package duty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

const (
	collection  = "duty.rotations"
	swapColl    = "duty.swaps"
	jobHandoff  = "duty.handoff"
	jobNotice   = "duty.notice"
	horizon     = 12 * 7 * 24 * time.Hour // how far ahead changes are announced
	pruneAfter  = 30 * 24 * time.Hour     // history kept in the document
	maxSchedule = 52
)

// RotationSpec is a rotation as written in the configuration file.
type RotationSpec struct {
	Name    string
	Members []string
	Shift   string
	Handoff string
	Default bool
}

// Options configure the feature.
type Options struct {
	// Rotations from the configuration file; applied by Sync at start.
	Rotations []RotationSpec
	// NoticeBefore is how long before a shift its person gets a heads-up
	// (default 24h).
	NoticeBefore time.Duration
	// ICalToken enables the iCal feed; requests must carry ?token=.
	ICalToken string
}

// Contributor adds to what an incoming person inherits at a hand-off
// (open reports with their clocks, reminders due, releases planned). Later
// features register one; each returns lines for the DM.
type Contributor func(ctx context.Context, rotation string, from, to time.Time) ([]string, error)

// Duty is the on-duty feature.
type Duty struct {
	e            Engine
	opts         Options
	contributors []Contributor
}

// Register validates the options and adds the duty commands, jobs, button
// actions and the iCal route to the engine. It does no I/O; call Sync once
// the store is reachable.
func Register(e Engine, o Options) (*Duty, error) {
	if errs := CheckSpecs(o.Rotations); len(errs) > 0 {
		return nil, fmt.Errorf("duty: %w", errors.Join(errs...))
	}
	if o.NoticeBefore <= 0 {
		o.NoticeBefore = 24 * time.Hour
	}
	d := &Duty{e: e, opts: o}
	if err := e.Register(d.command()); err != nil {
		return nil, fmt.Errorf("duty: %w", err)
	}
	e.HandleJob(jobHandoff, d.runHandoff)
	e.HandleJob(jobNotice, d.runNotice)
	e.HandleAction(&bot.Action{Name: actionSwapAccept, Where: bot.Anywhere, Run: d.answerSwap(true)})
	e.HandleAction(&bot.Action{Name: actionSwapDecline, Where: bot.Anywhere, Run: d.answerSwap(false), Confirm: confirmDecline})
	e.HTTP().HandleFunc("GET /duty/{file}", d.serveICal)
	e.SetTeamZone(d.teamZone)
	e.CacheDocs(collection, "")
	return d, nil
}

// teamZone is the zone of the default rotation's hand-offs (or the first
// rotation's): the team's zone, in which rooms read times.
func (d *Duty) teamZone(ctx context.Context) (*time.Location, bool) {
	all, err := d.list(ctx)
	if err != nil || len(all) == 0 {
		return nil, false
	}
	return all[0].Handoff.location(), true
}

// CheckSpecs validates rotations from the configuration, naming the key of
// each problem (duty.rotations[i].field).
func CheckSpecs(specs []RotationSpec) []error {
	var errs []error
	seen := map[string]bool{}
	defaults := 0
	for i, s := range specs {
		key := fmt.Sprintf("duty.rotations[%d]", i)
		if err := validRotationName(s.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s.name: %w", key, err))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s.name: rotation %q is defined twice", key, s.Name))
		}
		seen[s.Name] = true
		if len(s.Members) == 0 {
			errs = append(errs, fmt.Errorf("%s.members: a rotation needs at least one member", key))
		}
		days, err := ParseShift(s.Shift)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.shift: %w", key, err))
		} else if _, err := ParseHandoff(s.Handoff, days); err != nil {
			errs = append(errs, fmt.Errorf("%s.handoff: %w", key, err))
		}
		if s.Default {
			defaults++
		}
	}
	if defaults > 1 {
		errs = append(errs, errors.New("duty.rotations: only one rotation can be the default"))
	}
	return errs
}

func validRotationName(name string) error {
	if name == "" {
		return errors.New("a rotation needs a name")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("rotation name %q: use lower-case letters, digits, '-' and '_'", name)
		}
	}
	if len(name) > 64 {
		return fmt.Errorf("rotation name %q is longer than 64 characters", name)
	}
	return nil
}

// AddContributor registers a source of hand-over items.
func (d *Duty) AddContributor(c Contributor) { d.contributors = append(d.contributors, c) }

// OnDuty returns who is on duty in a rotation ("" for the default) at t.
func (d *Duty) OnDuty(ctx context.Context, rotation string, t time.Time) (*bot.Person, error) {
	r, _, err := d.resolve(ctx, rotation)
	if err != nil {
		return nil, err
	}
	name := r.OnDutyAt(t)
	p, ok := d.e.Directory().ByName(name)
	if !ok {
		return &bot.Person{Name: name}, nil
	}
	return p, nil
}

// Sync applies the configured rotations (the file wins over chat edits for
// the rotations it defines) and makes sure every rotation's jobs are
// planned. Call it at start, after the people directory is loaded.
func (d *Duty) Sync(ctx context.Context) error {
	now := d.e.Clock().Now()
	changed := map[string]bool{}
	for _, spec := range d.opts.Rotations {
		days, _ := ParseShift(spec.Shift)
		h, _ := ParseHandoff(spec.Handoff, days)
		for _, m := range spec.Members {
			if _, ok := d.e.Directory().ByName(m); !ok {
				return fmt.Errorf("duty: rotation %q: member %q is not in the people directory", spec.Name, m)
			}
		}
		members := trimAts(spec.Members)
		_, _, err := d.update(ctx, spec.Name, true, func(r *Rotation) error {
			if r.Name != "" && slicesEqual(r.Members, members) && r.ShiftDays == days && r.Handoff == h && r.Default == spec.Default {
				return errUnchanged
			}
			if r.Name == "" {
				*r = Rotation{Name: spec.Name, Members: members, ShiftDays: days, Handoff: h, Anchor: anchorFor(h, days, now)}
			} else {
				replan(r, members, days, h, now)
			}
			r.Default, r.FromConfig = spec.Default, true
			return nil
		})
		if err != nil && !errors.Is(err, errUnchanged) {
			return fmt.Errorf("duty: apply rotation %q from the configuration: %w", spec.Name, err)
		}
		changed[spec.Name] = err == nil
	}
	all, err := d.list(ctx)
	if err != nil {
		return err
	}
	for _, r := range all {
		if err := d.ensurePlanned(ctx, r, changed[r.Name]); err != nil {
			return err
		}
	}
	return nil
}

// ensurePlanned plans a rotation's jobs if they are missing (or the
// rotation was just changed). Jobs that exist are left alone: one that fell
// due while Vigil was down must still run and announce its hand-off.
func (d *Duty) ensurePlanned(ctx context.Context, r *Rotation, changed bool) error {
	if changed {
		return d.plan(ctx, r)
	}
	now := d.e.Clock().Now()
	if _, err := d.e.Scheduler().Get(ctx, handoffJobID(r.Name)); errors.Is(err, store.ErrNotFound) {
		if err := d.scheduleHandoff(ctx, r.Name, r.NextChange(now)); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, err := d.e.Scheduler().Get(ctx, noticeJobID(r.Name)); errors.Is(err, store.ErrNotFound) {
		return d.scheduleNotice(ctx, r, r.ShiftStart(r.ShiftAt(now)+1))
	} else if err != nil {
		return err
	}
	return nil
}

var errUnchanged = errors.New("unchanged")

func trimAts(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(n), "@"))
	}
	return out
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---- storage ----

func (d *Duty) load(ctx context.Context, name string) (*Rotation, int64, error) {
	return store.GetJSON[Rotation](ctx, d.e.Store(), collection, name)
}

func (d *Duty) list(ctx context.Context) ([]*Rotation, error) {
	// One round trip (none while they are unchanged: the engine caches
	// them).
	out, err := store.DocsJSON[Rotation](ctx, d.e.Store(), collection, "")
	if err != nil {
		return nil, fmt.Errorf("list rotations: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Default != out[j].Default {
			return out[i].Default
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// resolve finds a rotation by name; "" means the default (or the only one).
func (d *Duty) resolve(ctx context.Context, name string) (*Rotation, int64, error) {
	if name != "" {
		r, v, err := d.load(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			all, lerr := d.list(ctx)
			if lerr != nil {
				return nil, 0, lerr
			}
			return nil, 0, bot.Usagef("there is no rotation %q (rotations: %s)", name, rotationNames(all))
		}
		return r, v, err
	}
	all, err := d.list(ctx)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case len(all) == 0:
		return nil, 0, bot.Noticef("There are no rotations yet. An admin can create one: `/sec duty rotation create triage --members @a,@b,@c --shift 1w --handoff \"Mon 09:00 Europe/Paris\"`.")
	case all[0].Default || len(all) == 1:
		return d.load(ctx, all[0].Name)
	}
	return nil, 0, bot.Usagef("there are several rotations and none is the default; name one (%s)", rotationNames(all))
}

func rotationNames(all []*Rotation) string {
	if len(all) == 0 {
		return "none yet"
	}
	names := make([]string, len(all))
	for i, r := range all {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// update reads, changes and writes a rotation with compare-and-swap,
// retrying when someone else changed it meanwhile. It returns the rotation
// before and after. With create set, a missing rotation starts empty.
func (d *Duty) update(ctx context.Context, name string, create bool, change func(r *Rotation) error) (before, after *Rotation, err error) {
	for range 5 {
		r, version, err := d.load(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound) && create:
			r, version = &Rotation{}, store.NewDoc
		case errors.Is(err, store.ErrNotFound):
			return nil, nil, bot.Usagef("there is no rotation %q", name)
		case err != nil:
			return nil, nil, err
		}
		old := cloneRotation(r)
		if err := change(r); err != nil {
			return nil, nil, err
		}
		r.prune(d.e.Clock().Now().Add(-pruneAfter))
		data, err := json.Marshal(r)
		if err != nil {
			return nil, nil, err
		}
		_, err = d.e.Store().Put(ctx, collection, name, data, version)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("save rotation %s: %w", name, err)
		}
		if version == store.NewDoc {
			old = nil
		}
		return old, r, nil
	}
	return nil, nil, fmt.Errorf("save rotation %s: %w", name, store.ErrConflict)
}

func cloneRotation(r *Rotation) *Rotation {
	c := *r
	c.Members = append([]string(nil), r.Members...)
	c.Overrides = append([]Override(nil), r.Overrides...)
	c.Away = append([]Away(nil), r.Away...)
	if r.Assigned != nil {
		c.Assigned = make(map[int64]string, len(r.Assigned))
		for k, v := range r.Assigned {
			c.Assigned[k] = v
		}
	}
	return &c
}

// replan changes members, shift length or hand-off, keeping whoever holds
// the current shift on duty: the new schedule starts at the most recent
// hand-off under the new rules, with the members rotated so the current
// holder keeps the current shift. Swaps are dropped when the shift
// boundaries move (they no longer name the same shifts).
func replan(r *Rotation, members []string, days int, h Handoff, now time.Time) {
	current, _ := r.Assignee(r.ShiftAt(now))
	if r.ShiftDays != days || r.Handoff != h {
		r.ShiftDays, r.Handoff = days, h
		r.Anchor = anchorFor(h, days, now)
		r.Assigned = nil
	}
	r.Members = members
	n := int64(len(members))
	if n == 0 {
		return
	}
	idx := int64(-1)
	for i, m := range members {
		if m == current {
			idx = int64(i)
		}
	}
	if idx < 0 {
		return
	}
	k := r.ShiftAt(now)
	shift := mod(idx-mod(k, n), n) // rotate so members[k mod n] == current
	rotated := make([]string, n)
	for i := range members {
		rotated[i] = members[mod(int64(i)+shift, n)]
	}
	r.Members = rotated
}
