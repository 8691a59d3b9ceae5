// Package release runs security releases: the announced date, the embargo
// clock, the advance notice to distributors, the back-port checklist and
// the two hours between the merge of a fix and the publication of its
// advisories.
//
// A release belongs to one report (it has the report's id). Its public
// announcement carries no vulnerability details: the repositories, the date
// and the severity only, so it is posted as a message that is not
// Sensitive and may go to a public room. Everything about the release that
// touches the report goes to the report's private thread.
//
// Every deadline is a scheduled job with a fixed id (the public time, the
// one-hour ping, the two-hour breach, the distributor notice), so a restart
// or a second replica neither loses nor doubles one, and each is rehearsed
// on a fake clock. GitHub and mail are called in jobs only, never in a chat
// handler.
package release

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/internal/textutil"
	"github.com/vigil-sec/vigil/store"
)

// GitHub is what releases need from GitHub: publishing an advisory.
// cmd/vigil passes the GitHub adapter's client, which has this method.
type GitHub interface {
	SetAdvisoryState(ctx context.Context, repo, ghsa, state string) error
}

// OnDuty tells who is on duty; the duty feature provides it.
type OnDuty interface {
	OnDuty(ctx context.Context, rotation string, t time.Time) (*bot.Person, error)
}

// Branches are a repository's branches a fix goes into: the main branch
// and the supported release branches it is back-ported to.
type Branches struct {
	Repo      string
	Main      string // default "main"
	Supported []string
}

// Options configure the feature.
type Options struct {
	Reports *report.Reports
	// GitHub and Mailer may be nil (not configured); the commands that
	// need them say so. cmd/vigil sets them after construction.
	GitHub GitHub
	Mailer intake.Mailer
	Duty   OnDuty
	// Rotation is the duty rotation pinged at the public time ("" = the
	// default one).
	Rotation string
	// MinNotice is how far ahead a release must be announced (48h);
	// shorter needs --expedite with a reason.
	MinNotice time.Duration
	// PublishWindow is the time from merge to published advisories (2h);
	// PingAfter is when the team is reminded inside it (1h).
	PublishWindow time.Duration
	PingAfter     time.Duration
	// Zone is the room's time zone, shown next to UTC (default UTC).
	Zone *time.Location
	// AnnounceRooms are public rooms the announcement is posted in;
	// MailingList is an announcement list address. Either or both.
	AnnounceRooms []bot.RoomRef
	MailingList   string
	// Distributors is a private list told in advance, NoticeBefore the
	// public time (7 days); empty turns the notice off.
	Distributors string
	NoticeBefore time.Duration
	// PublicLists get the oss-security-style notice on publish
	// (publicnotice.go); empty sends none.
	PublicLists []string
	// SignedBy is the fingerprint of the key the Mailer signs with; when
	// set, every release mail asks to be signed (intake.Mail.Sign).
	SignedBy string
	// Branches per repository; a repository not listed has "main" only.
	Branches []Branches
	// Forum, when set, gets the announcement as a topic in the category
	// ForumCategory (resolved at start; ForumCategoryName for people).
	Forum             Forum
	ForumCategory     int
	ForumCategoryName string
}

// State is where a release stands.
type State string

const (
	StatePlanned   State = "planned"
	StateAnnounced State = "announced"
	StateMerged    State = "merged" // the publication clock runs
	StatePublished State = "published"
	// StateCancelled: called off before publication; no clock runs.
	StateCancelled State = "cancelled"
)

// Release is one planned security release, keyed by its report's id.
type Release struct {
	ID        string    `json:"id"`
	Repos     []string  `json:"repos"`
	PublicAt  time.Time `json:"public_at"`
	State     State     `json:"state"`
	PlannedBy string    `json:"planned_by"`
	PlannedAt time.Time `json:"planned_at"`
	// Expedited: planned with less than MinNotice, for Reason.
	Expedited bool   `json:"expedited,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// What distributors are told in advance.
	Versions string `json:"versions,omitempty"`
	Remedy   string `json:"remedy,omitempty"`
	Patch    string `json:"patch,omitempty"`
	// Severity as announced (the report's effective severity at planning).
	Severity     string    `json:"severity,omitempty"`
	Announced    []Posted  `json:"announced,omitempty"`
	AnnouncedAt  time.Time `json:"announced_at,omitzero"`
	NoticeSentAt time.Time `json:"notice_sent_at,omitzero"`
	PRs          []PR      `json:"prs,omitempty"`
	MergedAt     time.Time `json:"merged_at,omitzero"`
	PublishDue   time.Time `json:"publish_due,omitzero"`
	Pinged       bool      `json:"pinged,omitempty"`
	BreachedAt   time.Time `json:"breached_at,omitzero"`
	PublishedAt  time.Time `json:"published_at,omitzero"`
	PublishedBy  string    `json:"published_by,omitempty"`
	Checklist    []Item    `json:"checklist"`
	// Changes are the postponements and the cancellation, oldest first.
	Changes []Change `json:"changes,omitempty"`
	// Shares are the mails of the draft to the reporter (share.go).
	Shares []Share `json:"shares,omitempty"`
	// Forum is the announcement's topic on the forum (discourse.go).
	Forum ForumTopic `json:"forum,omitzero"`
}

// Change is a postponement or the cancellation of a release.
type Change struct {
	// Kind is "postpone" or "cancel".
	Kind   string    `json:"kind"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	From   time.Time `json:"from"`        // the public time before
	To     time.Time `json:"to,omitzero"` // the new one (postpone)
	Reason string    `json:"reason"`
}

// LateAt reports whether publishing at t misses the deadline. The deadline
// is the instant PublishDue (merge + publish_window) and is exclusive:
// advisories published before it are on time, at it or after it are late.
// The breach job fires at that instant, so the job, the breach record and
// the answer to "release publish" all use this one test and can never say
// "breach" and "within the deadline" of the same minute.
func (rel *Release) LateAt(t time.Time) bool {
	return !rel.PublishDue.IsZero() && !t.Before(rel.PublishDue)
}

// Posted records where the announcement went.
type Posted struct {
	// Kind is "chat" or "mail".
	Kind string `json:"kind"`
	// Room (adapter:id) for chat; the list address for mail.
	Where string `json:"where"`
	// MessageID of the mail, so the answer is a reply to it.
	MessageID string `json:"message_id,omitempty"`
}

// PR is a pull request carrying the fix, linked to a release.
type PR struct {
	Repo     string    `json:"repo"`
	Number   int       `json:"number"`
	Base     string    `json:"base,omitempty"`
	Merged   bool      `json:"merged,omitempty"`
	MergedAt time.Time `json:"merged_at,omitzero"`
	MergedBy string    `json:"merged_by,omitempty"`
}

// URL is the pull request's page on GitHub.
func (p PR) URL() string { return fmt.Sprintf("https://github.com/%s/pull/%d", p.Repo, p.Number) }

func (p PR) key() string { return strings.ToLower(p.Repo) + "#" + strconv.Itoa(p.Number) }

// Item is one step of the release checklist.
type Item struct {
	Key   string    `json:"key"`
	Label string    `json:"label"`
	Done  bool      `json:"done,omitempty"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at,omitzero"`
}

// Releases is the feature.
type Releases struct {
	e        Engine
	o        Options
	branches map[string]Branches // by lower-case repo
}

const (
	releaseColl = "releases"
	prColl      = "release.prs"
	activeSet   = "releases:active"

	jobPublic  = "release.public"
	jobPing    = "release.ping"
	jobBreach  = "release.breach"
	jobPublish = "release.publish"
	jobMail    = "release.mail"
)

var repoRE = regexp.MustCompile(`^[A-Za-z0-9](?:-?[A-Za-z0-9])*/[A-Za-z0-9._-]+$`)

// Register validates the options and adds the release command, its jobs
// and nothing else. It does no I/O.
func Register(e Engine, o Options) (*Releases, error) {
	if o.Reports == nil {
		return nil, errors.New("release: the report feature is required")
	}
	if o.MinNotice <= 0 {
		o.MinNotice = 48 * time.Hour
	}
	if o.PublishWindow <= 0 {
		o.PublishWindow = 2 * time.Hour
	}
	if o.PingAfter <= 0 {
		o.PingAfter = o.PublishWindow / 2
	}
	if o.PingAfter >= o.PublishWindow {
		return nil, fmt.Errorf("release: the ping (%s after the merge) must fall inside the publication window (%s)", o.PingAfter, o.PublishWindow)
	}
	if o.NoticeBefore <= 0 {
		o.NoticeBefore = 7 * 24 * time.Hour
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	for _, addr := range append([]string{o.MailingList, o.Distributors}, o.PublicLists...) {
		if addr == "" {
			continue
		}
		if _, err := mail.ParseAddress(addr); err != nil {
			return nil, fmt.Errorf("release: %q is not an email address", addr)
		}
	}
	r := &Releases{e: e, o: o, branches: map[string]Branches{}}
	for _, b := range o.Branches {
		if !repoRE.MatchString(b.Repo) {
			return nil, fmt.Errorf("release: branches: %q is not owner/repo", b.Repo)
		}
		if b.Main == "" {
			b.Main = "main"
		}
		r.branches[strings.ToLower(b.Repo)] = b
	}
	if err := e.Register(r.command()); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	e.HandleJob(jobPublic, r.runPublic)
	e.HandleJob(jobPing, r.runPing)
	e.HandleJob(jobBreach, r.runBreach)
	e.HandleJob(jobPublish, r.runPublish)
	e.HandleJob(jobMail, r.runMail)
	e.HandleJob(jobPublicNotice, r.runPublicNotice)
	e.HandleJob(jobForum, r.runForum)
	return r, nil
}

// ---- storage ----

func (r *Releases) load(ctx context.Context, id string) (*Release, int64, error) {
	rel, version, err := store.GetJSON[Release](ctx, r.e.Store(), releaseColl, strings.ToUpper(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, r.noRelease(id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("release %s: %w", id, err)
	}
	return rel, version, nil
}

func (r *Releases) noRelease(id string) error {
	return bot.Usagef("there is no release planned for %s (plan one with `/sec release plan %s --public-at TIME`)", strings.ToUpper(id), strings.ToUpper(id))
}

// Get returns the release of a report.
func (r *Releases) Get(ctx context.Context, id string) (*Release, error) {
	rel, _, err := r.load(ctx, id)
	return rel, err
}

// update changes a release with compare-and-swap, retrying on conflict
// (a webhook and a command may change one release at the same moment).
func (r *Releases) update(ctx context.Context, id string, change func(rel *Release) error) (*Release, error) {
	rel, err := store.UpdateJSON(ctx, r.e.Store(), releaseColl, strings.ToUpper(id), change)
	if errors.Is(err, store.ErrNotFound) {
		return nil, r.noRelease(id)
	}
	if err != nil {
		return nil, fmt.Errorf("save release %s: %w", id, err)
	}
	if err := r.afterSave(ctx, rel); err != nil {
		return nil, err
	}
	return rel, nil
}

func (r *Releases) save(ctx context.Context, rel *Release, version int64) error {
	if _, err := store.PutJSON(ctx, r.e.Store(), releaseColl, rel.ID, rel, version); err != nil {
		return fmt.Errorf("save release %s: %w", rel.ID, err)
	}
	return r.afterSave(ctx, rel)
}

// afterSave keeps the set of active releases: a published one leaves it.
func (r *Releases) afterSave(ctx context.Context, rel *Release) error {
	if rel.State == StatePublished {
		if err := r.e.Store().SetRemove(ctx, activeSet, rel.ID); err != nil {
			return fmt.Errorf("save release %s: %w", rel.ID, err)
		}
	}
	return nil
}

// active lists the releases not yet published, soonest first.
func (r *Releases) active(ctx context.Context) ([]*Release, error) {
	ids, err := r.e.Store().SetMembers(ctx, activeSet)
	if err != nil {
		return nil, fmt.Errorf("active releases: %w", err)
	}
	out := make([]*Release, 0, len(ids))
	for _, id := range ids {
		rel, _, err := r.load(ctx, id)
		var ue *bot.UsageError
		if errors.As(err, &ue) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rel.State != StatePublished {
			out = append(out, rel)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PublicAt.Before(out[j].PublicAt) })
	return out, nil
}

// ---- checklist ----

func (r *Releases) branchesOf(repo string) Branches {
	if b, ok := r.branches[strings.ToLower(repo)]; ok {
		return b
	}
	return Branches{Repo: repo, Main: "main"}
}

func mergeKey(repo, branch string) string { return "merge:" + strings.ToLower(repo) + ":" + branch }

// checklistFor is the release's steps: the announcement, the notice when
// distributors are configured, the fix into main and each supported branch
// of each repository, publication and the answer to the announcement.
func (r *Releases) checklistFor(repos []string) []Item {
	items := []Item{{Key: "announce", Label: "Announce the release date"}, reporterAgreed}
	if r.o.Distributors != "" {
		items = append(items, Item{Key: "notice", Label: "Advance notice to distributors"})
	}
	for _, repo := range repos {
		b := r.branchesOf(repo)
		items = append(items, Item{Key: mergeKey(repo, b.Main), Label: fmt.Sprintf("Merge the fix into %s of %s", b.Main, repo)})
		for _, s := range b.Supported {
			items = append(items, Item{Key: mergeKey(repo, s), Label: fmt.Sprintf("Back-port to %s of %s", s, repo)})
		}
	}
	return append(items,
		Item{Key: "publish", Label: "Publish the advisories"},
		Item{Key: "answer", Label: "Answer the announcement with the links"})
}

func (rel *Release) tick(key, by string, at time.Time) {
	for i := range rel.Checklist {
		if it := &rel.Checklist[i]; it.Key == key && !it.Done {
			it.Done, it.By, it.At = true, by, at
		}
	}
}

func checklistText(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		mark := "☐"
		if it.Done {
			mark = "☑"
		}
		fmt.Fprintf(&b, "%s %s\n", mark, it.Label)
	}
	return strings.TrimRight(b.String(), "\n")
}

// ---- times ----

// when shows t in UTC and in the room's zone, as the announcement must.
// chatWhen writes an instant for chat: Slack shows each reader their own
// zone, other adapters the reader's (the engine rewrites the token). Texts
// that also go out by mail keep when.
func (r *Releases) chatWhen(t time.Time) string { return bot.TimeToken(t, r.when(t)) }

func (r *Releases) when(t time.Time) string {
	s := t.UTC().Format("Mon 2 Jan 2006 15:04 MST")
	if r.o.Zone != time.UTC && r.o.Zone.String() != "UTC" {
		s += " (" + t.In(r.o.Zone).Format("15:04 MST") + " " + r.o.Zone.String() + ")"
	}
	return s
}

// parseTime reads --public-at: RFC 3339, or "2026-01-12 14:00" (also with a
// T) in the room's zone.
func (r *Releases) parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, r.o.Zone); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--public-at %q: want an RFC 3339 time or \"2026-01-12 14:00\" (in %s)", s, r.o.Zone)
}

// publicAtFlag reads the required --public-at of plan and postpone.
func (r *Releases) publicAtFlag(req *bot.Request) (time.Time, error) {
	at, ok := req.Flags.Lookup("public-at")
	if !ok {
		return time.Time{}, bot.Usagef("--public-at is required")
	}
	t, err := r.parseTime(at)
	if err != nil {
		return time.Time{}, bot.Usagef("%v", err)
	}
	return t, nil
}

// clockText tells how a release stands, for the list and the hand-off.
func (r *Releases) clockText(rel *Release, now time.Time) string {
	switch {
	case rel.State == StateCancelled && len(rel.Changes) > 0:
		c := rel.Changes[len(rel.Changes)-1]
		return fmt.Sprintf("cancelled %s by %s: %s", r.when(c.At), c.By, c.Reason)
	case rel.State == StatePublished:
		s := "published " + r.when(rel.PublishedAt)
		if !rel.BreachedAt.IsZero() {
			s += fmt.Sprintf(" — ❗ %s after the two-hour deadline", textutil.Duration(rel.PublishedAt.Sub(rel.PublishDue)))
		}
		return s
	case !rel.MergedAt.IsZero() && (!rel.BreachedAt.IsZero() || rel.LateAt(now)):
		return fmt.Sprintf("merged %s — ❗ BREACH: publication overdue by %s", r.when(rel.MergedAt), textutil.Duration(now.Sub(rel.PublishDue)))
	case !rel.MergedAt.IsZero():
		return fmt.Sprintf("merged — %s left to publish (before %s)", textutil.Duration(rel.PublishDue.Sub(now)), r.when(rel.PublishDue))
	case now.Before(rel.PublicAt):
		return fmt.Sprintf("public at %s — in %s", r.when(rel.PublicAt), textutil.Duration(rel.PublicAt.Sub(now)))
	}
	return fmt.Sprintf("public since %s (%s ago) — waiting for the merge", r.when(rel.PublicAt), textutil.Duration(now.Sub(rel.PublicAt)))
}

// Inheritance lists, for a duty hand-off, the releases whose public time
// falls before the end of the incoming shift or whose clock runs, so
// whoever takes over knows what to merge and publish.
func (r *Releases) Inheritance(ctx context.Context, _ string, from, to time.Time) ([]string, error) {
	rels, err := r.active(ctx)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, rel := range rels {
		if rel.State != StateCancelled && (rel.PublicAt.Before(to) || !rel.MergedAt.IsZero()) {
			lines = append(lines, fmt.Sprintf("Release %s (%s) [%s]: %s", rel.ID, strings.Join(rel.Repos, ", "), rel.State, r.clockText(rel, from)))
		}
	}
	return lines, nil
}
