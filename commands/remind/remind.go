// Package remind reminds maintainers of unfixed vulnerabilities at a
// cadence set by severity (Critical weekly, High monthly, Medium quarterly,
// Low twice a year), each maintainer getting all of theirs in one message.
//
// It follows Alertmanager's grouping: every reminder item (a report, a
// repository, a maintainer) sits in its maintainer's due-queue; a second
// queue holds each maintainer at their earliest due item. When a
// maintainer falls due, all their items due now, and those due within the
// grouping window, leave together as one DM. Finding what is due reads only
// what is due (sorted sets), never everything open. The cadence is kept by
// advancing each item from its scheduled time, not from when it was sent,
// so quiet hours and batching never add or lose a reminder.
package remind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/store"
)

const (
	itemColl     = "remind.items"
	globalQueue  = "remind"
	jobDispatch  = "remind.dispatch"
	dispatchID   = "remind:dispatch"
	actionSnooze = "remind.snooze"
	actionFixed  = "remind.fixed"
	actionVerify = "remind.verify"
	formSnooze   = "remind.snooze"
	claimHold    = 10 * time.Minute
	batchLimit   = 1000
)

// DefaultCadence is the reminder period by effective severity.
var DefaultCadence = map[string]time.Duration{
	"critical": 7 * 24 * time.Hour,
	"high":     30 * 24 * time.Hour,
	"medium":   91 * 24 * time.Hour,
	"low":      182 * 24 * time.Hour,
}

// Options configure reminders.
type Options struct {
	Reports *report.Reports
	// Cadence by lower-case severity; missing entries use DefaultCadence.
	Cadence map[string]time.Duration
	// Window: items due this soon ride along with a batch (default 24h).
	Window time.Duration
	// Quiet hours in the maintainer's time zone: nothing is sent from
	// QuietFrom to QuietUntil (hours, default 20 to 8).
	QuietFrom, QuietUntil int
}

// Reminders is the feature.
type Reminders struct {
	e Engine
	o Options
}

// item is one thing a maintainer is reminded of.
type item struct {
	Key          string    `json:"key"`
	Report       string    `json:"report"`
	Repo         string    `json:"repo"`
	Maintainer   string    `json:"maintainer"`
	GHSA         string    `json:"ghsa,omitempty"`
	URL          string    `json:"url,omitempty"`
	Notified     time.Time `json:"notified"`
	Next         time.Time `json:"next"`
	Sent         int       `json:"sent"`
	LastSent     time.Time `json:"last_sent,omitzero"`
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	SnoozeReason string    `json:"snooze_reason,omitempty"`
	SnoozedBy    string    `json:"snoozed_by,omitempty"`
	FixClaimedBy string    `json:"fix_claimed_by,omitempty"`
}

// due is when the item may next go out: its cadence, or later if snoozed.
func (it *item) due() time.Time {
	if it.SnoozedUntil.After(it.Next) {
		return it.SnoozedUntil
	}
	return it.Next
}

func itemKey(reportID, repo, maintainer string) string {
	return reportID + "|" + strings.ToLower(repo) + "|" + maintainer
}

func maintainerQueue(name string) string { return "remind:m:" + name }
func reportSet(id string) string         { return "remind:report:" + id }

// Register validates the options and adds the commands, buttons, the
// snooze form and the dispatch job. It also follows reports: a severity
// change re-plans, a released or closed report stops its reminders.
func Register(e Engine, o Options) (*Reminders, error) {
	if o.Reports == nil {
		return nil, errors.New("remind: the report feature is required")
	}
	cad := map[string]time.Duration{}
	for k, v := range DefaultCadence {
		cad[k] = v
	}
	for k, v := range o.Cadence {
		if v <= 0 {
			return nil, fmt.Errorf("remind: the cadence of %s must be positive", k)
		}
		cad[strings.ToLower(k)] = v
	}
	o.Cadence = cad
	if o.Window <= 0 {
		o.Window = 24 * time.Hour
	}
	if o.QuietFrom == 0 && o.QuietUntil == 0 {
		o.QuietFrom, o.QuietUntil = 20, 8
	}
	if o.QuietFrom < 0 || o.QuietFrom > 23 || o.QuietUntil < 0 || o.QuietUntil > 23 {
		return nil, errors.New("remind: quiet hours are hours of the day, 0 to 23")
	}
	r := &Reminders{e: e, o: o}
	if err := e.RegisterForm(r.snoozeForm()); err != nil {
		return nil, fmt.Errorf("remind: %w", err)
	}
	if err := e.Register(r.command()); err != nil {
		return nil, fmt.Errorf("remind: %w", err)
	}
	e.HandleJob(jobDispatch, r.runDispatch)
	e.HandleAction(&bot.Action{Name: actionSnooze, Where: bot.Anywhere, Run: r.pressSnooze})
	e.HandleAction(&bot.Action{Name: actionFixed, Where: bot.Anywhere, Run: r.pressFixed})
	e.HandleAction(&bot.Action{Name: actionVerify, Roles: bot.TeamRoles(), Run: r.pressVerify})
	o.Reports.Watch(r.follow)
	// Maintainers named with `report notify` (no GitHub advisory) are
	// reminded like those told by an advisory.
	o.Reports.OnMaintainersNotified(func(ctx context.Context, reportID, repo string, maintainers []string, at time.Time) error {
		return r.Track(ctx, reportID, repo, "", "", maintainers, at)
	})
	return r, nil
}

// period is the cadence for a severity; an unscored or "None" report is
// reminded like a Low one, so nothing is forgotten.
func (r *Reminders) period(severity string) time.Duration {
	if p, ok := r.o.Cadence[strings.ToLower(severity)]; ok {
		return p
	}
	return r.o.Cadence["low"]
}

// ---- storage ----

func (r *Reminders) load(ctx context.Context, key string) (*item, int64, error) {
	return store.GetJSON[item](ctx, r.e.Store(), itemColl, key)
}

func (r *Reminders) save(ctx context.Context, it *item, version int64) error {
	if _, err := store.PutJSON(ctx, r.e.Store(), itemColl, it.Key, it, version); err != nil {
		return fmt.Errorf("save reminder %s: %w", it.Key, err)
	}
	return r.e.Store().Schedule(ctx, maintainerQueue(it.Maintainer), it.Key, it.due())
}

func (r *Reminders) remove(ctx context.Context, it *item) error {
	st := r.e.Store()
	if err := st.Unschedule(ctx, maintainerQueue(it.Maintainer), it.Key); err != nil {
		return err
	}
	if err := st.SetRemove(ctx, reportSet(it.Report), it.Key); err != nil {
		return err
	}
	if err := st.Delete(ctx, itemColl, it.Key, store.AnyVersion); err != nil {
		return err
	}
	return r.refreshMaintainer(ctx, it.Maintainer)
}

// refreshMaintainer puts the maintainer in the global queue at their
// earliest item (or takes them out), then plans the dispatch job.
func (r *Reminders) refreshMaintainer(ctx context.Context, name string) error {
	st := r.e.Store()
	first, ok, err := st.NextDue(ctx, maintainerQueue(name))
	if err != nil {
		return err
	}
	if !ok {
		return st.Unschedule(ctx, globalQueue, name)
	}
	if err := st.Schedule(ctx, globalQueue, name, first.Due); err != nil {
		return err
	}
	return r.planDispatch(ctx)
}

// planDispatch moves the dispatch job to the earliest maintainer due.
func (r *Reminders) planDispatch(ctx context.Context) error {
	next, ok, err := r.e.Store().NextDue(ctx, globalQueue)
	if err != nil || !ok {
		return err
	}
	// A planned run that is early enough stands; one that is due already
	// is the run now going on (or overdue), and the next must be planned.
	if j, err := r.e.Scheduler().Get(ctx, dispatchID); err == nil && j.Due.After(r.e.Clock().Now()) && !j.Due.After(next.Due) {
		return nil
	}
	return r.e.Scheduler().Schedule(ctx, bot.Job{ID: dispatchID, Kind: jobDispatch, Due: next.Due})
}

// items returns a report's reminder items.
func (r *Reminders) items(ctx context.Context, reportID string) ([]*item, error) {
	keys, err := r.e.Store().SetMembers(ctx, reportSet(reportID))
	if err != nil {
		return nil, err
	}
	var out []*item
	for _, k := range keys {
		it, _, err := r.load(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// ---- starting and following ----

// Track starts reminding maintainers of a report's advisory in a
// repository: the first reminder one period after they were notified.
// Tracking an item again does nothing. It is the advisory feature's
// OnNotified hook, and (without an advisory: repo may be empty) what
// `report notify` calls.
func (r *Reminders) Track(ctx context.Context, reportID, repo, ghsa, url string, maintainers []string, at time.Time) error {
	rep, err := r.o.Reports.Get(ctx, reportID)
	if err != nil {
		return err
	}
	p := r.period(rep.EffectiveSeverity())
	for _, m := range maintainers {
		it := &item{Key: itemKey(rep.ID, repo, m), Report: rep.ID, Repo: repo, Maintainer: m, GHSA: ghsa, URL: url, Notified: at, Next: at.Add(p)}
		if err := r.save(ctx, it, store.NewDoc); errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return err
		}
		if err := r.e.Store().SetAdd(ctx, reportSet(rep.ID), it.Key); err != nil {
			return err
		}
		if err := r.refreshMaintainer(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// follow re-plans a report's reminders when its severity changes and
// stops them when it is released or closed.
func (r *Reminders) follow(ctx context.Context, before, after *report.Report) error {
	items, err := r.items(ctx, after.ID)
	if err != nil || len(items) == 0 {
		return err
	}
	switch after.State {
	case report.StateReleased, report.StateClosed, report.StateRejected:
		for _, it := range items {
			if err := r.remove(ctx, it); err != nil {
				return err
			}
		}
		return nil
	}
	if before.EffectiveSeverity() == after.EffectiveSeverity() {
		return nil
	}
	p := r.period(after.EffectiveSeverity())
	now := r.e.Clock().Now()
	for _, it := range items {
		cur, version, err := r.load(ctx, it.Key)
		if err != nil {
			return err
		}
		from := cur.Notified
		if !cur.LastSent.IsZero() {
			from = cur.LastSent
		}
		cur.Next = from.Add(p)
		if cur.Next.Before(now) {
			cur.Next = now
		}
		if err := r.save(ctx, cur, version); err != nil {
			return err
		}
		if err := r.refreshMaintainer(ctx, cur.Maintainer); err != nil {
			return err
		}
	}
	return nil
}

// ---- dispatch ----

// batch is one maintainer's reminder: the items due now and those riding
// along.
type batch struct {
	Maintainer string
	Items      []*item
}

// collect finds the batches due at now without changing anything: the
// maintainers due (from the global queue, in due order, stopping at the
// first not yet due) and, for each, their items due within the window.
// Its cost follows what is due, not what is open, and its round trips do
// not grow with it: one for the global queue, then batches' two.
func (r *Reminders) collect(ctx context.Context, now time.Time) ([]batch, error) {
	due, err := r.e.Store().Pending(ctx, globalQueue, batchLimit)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range due {
		if m.Due.After(now) {
			break
		}
		names = append(names, m.Key)
	}
	all, err := r.batches(ctx, names, now)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, b := range all {
		if len(b.Items) > 0 {
			out = append(out, b)
		}
	}
	return out, nil
}

// batches gathers each maintainer's items due within the window at now,
// in due order, one batch per name (in the order of names, possibly
// empty). It reads all the maintainers' queues in one store read and all
// their items in a second (PendingMany and GetMany: two Redis round trips
// however many maintainers and items are due). An item whose queue entry
// outlived its document (removed meanwhile) is skipped.
func (r *Reminders) batches(ctx context.Context, names []string, now time.Time) ([]batch, error) {
	if len(names) == 0 {
		return nil, nil
	}
	st := r.e.Store()
	queues := make([]string, len(names))
	for i, n := range names {
		queues[i] = maintainerQueue(n)
	}
	pending, err := st.PendingMany(ctx, queues, now.Add(r.o.Window), batchLimit)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, p := range pending {
		for _, it := range p {
			keys = append(keys, it.Key)
		}
	}
	var docs []store.Doc
	if len(keys) > 0 {
		if docs, err = st.GetMany(ctx, itemColl, keys); err != nil {
			return nil, err
		}
	}
	out := make([]batch, len(names))
	for i, p := range pending {
		out[i].Maintainer = names[i]
		for _, d := range docs[:len(p)] {
			if d.Version == 0 {
				continue
			}
			var it item
			if err := json.Unmarshal(d.Data, &it); err != nil {
				return nil, fmt.Errorf("%s/%s: %w: %v", itemColl, d.ID, store.ErrCorrupt, err)
			}
			out[i].Items = append(out[i].Items, &it)
		}
		docs = docs[len(p):]
	}
	return out, nil
}

// quietUntil returns when sending to the person is allowed again, or the
// zero time when it is allowed now.
func (r *Reminders) quietUntil(p *bot.Person, now time.Time) time.Time {
	loc := time.UTC
	if p != nil && p.Timezone != "" {
		if l, err := time.LoadLocation(p.Timezone); err == nil {
			loc = l
		}
	}
	l := now.In(loc)
	from, until := r.o.QuietFrom, r.o.QuietUntil
	h := l.Hour()
	quiet := false
	if from > until {
		quiet = h >= from || h < until
	} else {
		quiet = h >= from && h < until
	}
	if !quiet {
		return time.Time{}
	}
	day := l.Day()
	if h >= from && from > until {
		day++
	}
	return time.Date(l.Year(), l.Month(), day, until, 0, 0, 0, loc).UTC()
}

// runDispatch sends the due batches, one DM per maintainer, then one
// summary to the room, and plans the next run.
func (r *Reminders) runDispatch(ctx context.Context, job bot.Job) error {
	now := r.e.Clock().Now()
	st := r.e.Store()
	claims, err := st.ClaimDue(ctx, globalQueue, now, claimHold, batchLimit)
	if err != nil {
		return err
	}
	// Maintainers in their quiet hours wait; the others' batches are read
	// together (two round trips, not one per maintainer or item).
	var names []string
	for _, c := range claims {
		p, _ := r.e.Directory().ByName(c.Key)
		if later := r.quietUntil(p, now); !later.IsZero() {
			if err := st.Schedule(ctx, globalQueue, c.Key, later); err != nil {
				return err
			}
			continue
		}
		names = append(names, c.Key)
	}
	batches, err := r.batches(ctx, names, now)
	if err != nil {
		return err
	}
	var summary []string
	for _, b := range batches {
		if len(b.Items) > 0 {
			line, err := r.send(ctx, b, job.Due, now)
			if err != nil {
				return err
			}
			summary = append(summary, line)
		}
		if err := r.refreshMaintainer(ctx, b.Maintainer); err != nil {
			return err
		}
	}
	if len(summary) > 0 {
		if room, ok := r.e.SecurityRoom(""); ok {
			msg := bot.Message{Header: "Reminders sent", Text: strings.Join(summary, "\n"), Sensitive: true}
			if err := r.e.Post(ctx, fmt.Sprintf("remind:summary:%d", job.Due.UnixNano()), room, msg); err != nil {
				return err
			}
		}
	}
	return r.planDispatch(ctx)
}

// repoLabel names an item's repository; a maintainer named with `report
// notify` on a report that names none has an empty one.
func repoLabel(repo string) string {
	if repo == "" {
		return "(no repository named)"
	}
	return repo
}

var severityRank = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}

func rank(sev string) int {
	if v, ok := severityRank[strings.ToLower(sev)]; ok {
		return v
	}
	return 4
}

// send posts one maintainer's batch and advances each item's cadence.
func (r *Reminders) send(ctx context.Context, b batch, slot, now time.Time) (string, error) {
	type line struct {
		it  *item
		rep *report.Report
	}
	var lines []line
	for _, it := range b.Items {
		rep, err := r.o.Reports.Get(ctx, it.Report)
		if err != nil {
			return "", err
		}
		lines = append(lines, line{it, rep})
	}
	sort.SliceStable(lines, func(i, j int) bool {
		if !strings.EqualFold(lines[i].it.Repo, lines[j].it.Repo) {
			return strings.ToLower(lines[i].it.Repo) < strings.ToLower(lines[j].it.Repo)
		}
		return rank(lines[i].rep.EffectiveSeverity()) < rank(lines[j].rep.EffectiveSeverity())
	})
	var text strings.Builder
	var buttons []bot.Button
	var ids []string
	repo := ""
	for _, l := range lines {
		if !strings.EqualFold(l.it.Repo, repo) || len(ids) == 0 {
			repo = l.it.Repo
			fmt.Fprintf(&text, "*%s*\n", repoLabel(repo))
		}
		age := int(now.Sub(l.it.Notified).Hours() / 24)
		sev := l.rep.EffectiveSeverity()
		if sev == "" {
			sev = "unscored"
		}
		fmt.Fprintf(&text, "• %s (%s, open %d days): %s", l.rep.ID, sev, age, l.rep.Title)
		if l.it.URL != "" {
			fmt.Fprintf(&text, " — <%s|%s>", l.it.URL, l.it.GHSA)
		}
		text.WriteByte('\n')
		buttons = append(buttons,
			bot.Button{Label: "Snooze " + l.rep.ID, Action: actionSnooze, Value: l.it.Key},
			bot.Button{Label: "Fixed " + l.rep.ID, Action: actionFixed, Value: l.it.Key, Style: bot.ButtonPrimary})
		ids = append(ids, fmt.Sprintf("%s (%s)", l.rep.ID, sev))
	}
	p, ok := r.e.Directory().ByName(b.Maintainer)
	if ok {
		if to, ok := r.e.DMFor(p, ""); ok {
			msg := bot.Message{
				Header:    fmt.Sprintf("Unfixed vulnerabilities (%d)", len(lines)),
				Text:      strings.TrimRight(text.String(), "\n"),
				Buttons:   buttons,
				Context:   "Snooze one with a reason and an end, or mark it fixed (the security team confirms).",
				Sensitive: true,
				Audience:  []string{b.Maintainer},
			}
			if err := r.e.Post(ctx, fmt.Sprintf("remind:%s:%d", b.Maintainer, slot.UnixNano()), to, msg); err != nil {
				return "", err
			}
		}
	}
	for _, l := range lines {
		it, version, err := r.load(ctx, l.it.Key)
		if err != nil {
			return "", err
		}
		p := r.period(l.rep.EffectiveSeverity())
		// From the schedule, not from now: the cadence stays exact however
		// late (quiet hours) or early (riding along) this one went.
		for !it.Next.After(now.Add(r.o.Window)) {
			it.Next = it.Next.Add(p)
		}
		it.Sent++
		it.LastSent = now
		if err := r.save(ctx, it, version); err != nil {
			return "", err
		}
		// The stats count reminders sent from the audit log: the items
		// themselves are deleted once the fix is released.
		if err := r.e.Audit().Record(ctx, bot.AuditEntry{Actor: "vigil", Action: "remind.sent", Target: l.rep.ID, Detail: "@" + b.Maintainer + " " + repoLabel(l.it.Repo)}); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("@%s: %s", b.Maintainer, strings.Join(ids, ", ")), nil
}
