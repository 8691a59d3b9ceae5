// Package incident runs security incidents from chat: a war-room thread in
// the private room with a status header Vigil keeps current, roles, a
// timeline built from messages marked with a reaction (or logged by
// command), evidence kept apart, and the public write-up: rendered as
// Markdown, edited section by section, scanned for what must not go public,
// and published as a pinned GitHub issue that Vigil unpins once it is no
// longer news.
//
// Everything about an incident is sensitive: it is posted only in the
// private room's war-room thread or in replies the privacy rule lets
// through. GitHub calls run as scheduled jobs, so a slow or rate-limited
// GitHub never holds up chat and a refused call is told in the thread.
package incident

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/textutil"
	"github.com/vigil-sec/vigil/store"
)

// GitHub is what the feature needs of GitHub; cmd/vigil adapts the GitHub
// adapter's client to it.
type GitHub interface {
	// EnsureLabel creates the label in repo unless it exists.
	EnsureLabel(ctx context.Context, repo, label string) error
	CreateIssue(ctx context.Context, repo, title, body string, labels []string) (Issue, error)
	// Pin and Unpin take the issue's GraphQL node id.
	Pin(ctx context.Context, nodeID string) error
	Unpin(ctx context.Context, nodeID string) error
}

// Issue is an issue GitHub opened.
type Issue struct {
	Number int
	URL    string
	NodeID string
}

// MinPinned is how long after resolution a published write-up stays
// pinned at least: the community needs time to see it.
const MinPinned = 72 * time.Hour

// Options configure the feature.
type Options struct {
	// GitHub may be nil (not configured): publishing then says so.
	GitHub GitHub
	// Repository (owner/name) receives the write-ups.
	Repository string
	// Label marks write-up issues; default "security-incident".
	Label string
	// PinReaction marks a war-room message for the timeline (default 📌);
	// EvidenceReaction marks it as evidence (default 📎). Emoji or the
	// names Slack uses ("pushpin") are both accepted.
	PinReaction      string
	EvidenceReaction string
	// PinnedFor is how long after resolution the issue stays pinned
	// (default 7 days, at least MinPinned).
	PinnedFor time.Duration
}

// Incidents is the feature.
type Incidents struct {
	e Engine
	o Options
}

const (
	coll        = "incident"
	messageColl = "incident.messages"
	counterColl = "incident.counters" // ids before store.Incr: read, never written
	openSet     = "incident.open"

	jobPublish = "incident.publish"
	jobUnpin   = "incident.unpin"

	actionPublish = "incident.publish"

	stateOpen     = "open"
	stateResolved = "resolved"
)

// Register adds the incident command, its hooks, button and jobs. It does
// no I/O.
func Register(e Engine, o Options) (*Incidents, error) {
	if o.Label == "" {
		o.Label = "security-incident"
	}
	if o.PinReaction == "" {
		o.PinReaction = "📌"
	}
	if o.EvidenceReaction == "" {
		o.EvidenceReaction = "📎"
	}
	if o.PinnedFor == 0 {
		o.PinnedFor = 7 * 24 * time.Hour
	}
	if o.PinnedFor < MinPinned {
		return nil, fmt.Errorf("incident: a write-up stays pinned at least %s after resolution, not %s", MinPinned, o.PinnedFor)
	}
	if reactionKey(o.PinReaction) == reactionKey(o.EvidenceReaction) {
		return nil, errors.New("incident: the timeline and evidence reactions must differ")
	}
	inc := &Incidents{e: e, o: o}
	if err := e.Register(inc.command()); err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	e.OnMessage(inc.onMessage)
	e.OnReaction(inc.onReaction)
	e.OnEdit(inc.onEdit)
	e.OnDelete(inc.onDelete)
	e.HandleAction(&bot.Action{Name: actionPublish, Roles: teamRoles, Run: inc.pressPublish, Confirm: inc.confirmPublish})
	e.HandleJob(jobPublish, inc.runPublishJob)
	e.HandleJob(jobUnpin, inc.runUnpin)
	return inc, nil
}

var teamRoles = bot.TeamRoles()

// Incident is one incident as stored.
type Incident struct {
	ID         string            `json:"id"`
	Title      bot.Untrusted     `json:"title"`
	State      string            `json:"state"`
	Room       bot.RoomRef       `json:"room"`
	Started    time.Time         `json:"started"`
	StartedBy  string            `json:"started_by"`
	Resolved   time.Time         `json:"resolved,omitzero"`
	ResolvedBy string            `json:"resolved_by,omitempty"`
	Roles      map[string]string `json:"roles"`
	Status     string            `json:"status,omitempty"`
	// Headers counts the versions of the status header: the first is
	// posted, each change edits it in place.
	Headers int     `json:"headers"`
	Entries []Entry `json:"entries,omitempty"`
	// Sections are the write-up's edited sections, by key (tldr...).
	Sections map[string]string `json:"sections,omitempty"`
	// Authors are named in the write-up; the scan does not flag them.
	Authors []string `json:"authors,omitempty"`
	// Reviewed is the digest of the write-up whose scan findings were
	// last shown; confirming publishes only that text.
	Reviewed   string     `json:"reviewed,omitempty"`
	Publishing bool       `json:"publishing,omitempty"`
	Issue      *Published `json:"issue,omitempty"`
	// OwnRoom: the war room is all of Room, a private room created for
	// the incident (start --room), not the thread under its header.
	// RoomName is that room's name, for pointers to it.
	OwnRoom  bool   `json:"own_room,omitempty"`
	RoomName string `json:"room_name,omitempty"`
}

// Published is the write-up on GitHub.
type Published struct {
	Repo     string    `json:"repo"`
	Number   int       `json:"number"`
	URL      string    `json:"url"`
	NodeID   string    `json:"node_id"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Pinned   bool      `json:"pinned"`
	UnpinAt  time.Time `json:"unpin_at,omitzero"`
	Unpinned time.Time `json:"unpinned,omitzero"`
}

// Entry is one line of the timeline, or a piece of evidence.
type Entry struct {
	N        int           `json:"n"`
	At       time.Time     `json:"at"`
	Author   string        `json:"author"`
	Text     bot.Untrusted `json:"text"`
	Evidence bool          `json:"evidence,omitempty"`
	// Message is the chat message it came from (a reaction), as
	// adapter:room:id; empty for logged entries.
	Message string    `json:"message,omitempty"`
	Logged  time.Time `json:"logged"`
	By      string    `json:"by"`
	Edited  bool      `json:"edited,omitempty"`
	Removed bool      `json:"removed,omitempty"`
}

// Roles an incident has.
var roleNames = []string{"lead", "scribe", "comms"}

func rootID(id string) string { return "incident:" + id + ":root" }

func (inc *Incidents) load(ctx context.Context, id string) (*Incident, int64, error) {
	in, version, err := store.GetJSON[Incident](ctx, inc.e.Store(), coll, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, bot.Noticef("There is no incident %s.", id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load incident %s: %w", id, err)
	}
	return in, version, nil
}

// Get returns an incident.
func (inc *Incidents) Get(ctx context.Context, id string) (*Incident, error) {
	in, _, err := inc.load(ctx, id)
	return in, err
}

// update applies change with compare-and-swap, retrying on conflicts (two
// reactions at the same moment both land).
func (inc *Incidents) update(ctx context.Context, id string, change func(in *Incident) error) (*Incident, error) {
	in, err := store.UpdateJSON(ctx, inc.e.Store(), coll, id, change)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bot.Noticef("There is no incident %s.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("save incident %s: %w", id, err)
	}
	return in, nil
}

// nextID allocates INC-<year>-<n> from the store's atomic counter for the
// year, as report ids are, so two replicas starting incidents at once never
// collide or retry. Incidents were once numbered by a counter document in
// counterColl; the counter skips the numbers that document had reached,
// and any id still taken, so an id is never handed out twice.
func (inc *Incidents) nextID(ctx context.Context, year int) (string, error) {
	key := strconv.Itoa(year)
	last, err := inc.lastDocumentID(ctx, key)
	if err != nil {
		return "", err
	}
	for range last + 10_000 {
		n, err := inc.e.Store().Incr(ctx, "incident:"+key)
		if err != nil {
			return "", fmt.Errorf("incident counter: %w", err)
		}
		if n <= last {
			continue
		}
		id := fmt.Sprintf("INC-%d-%d", year, n)
		_, err = inc.e.Store().Get(ctx, coll, id)
		if errors.Is(err, store.ErrNotFound) {
			return id, nil
		}
		if err != nil {
			return "", fmt.Errorf("incident counter: is %s free: %w", id, err)
		}
	}
	return "", fmt.Errorf("incident counter: no free incident id: %w", store.ErrConflict)
}

// lastDocumentID is the last number the old counter document handed out
// for the year (0 when there is none). Nothing writes the document any
// more.
func (inc *Incidents) lastDocumentID(ctx context.Context, key string) (int64, error) {
	doc, err := inc.e.Store().Get(ctx, counterColl, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("incident counter: %w", err)
	}
	last, err := strconv.ParseInt(string(doc.Data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("incident counter %s: %w: %v", key, store.ErrCorrupt, err)
	}
	return last, nil
}

// openIncidents lists the incidents not yet resolved.
func (inc *Incidents) openIncidents(ctx context.Context) ([]*Incident, error) {
	ids, err := inc.e.Store().SetMembers(ctx, openSet)
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	var out []*Incident
	for _, id := range ids {
		in, _, err := inc.load(ctx, id)
		var notice *bot.NoticeError
		if errors.As(err, &notice) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if in.State == stateOpen {
			out = append(out, in)
		}
	}
	return out, nil
}

// say posts in the incident's war room (its thread, or its own room). id
// makes the post idempotent (a job that runs twice posts once).
func (inc *Incidents) say(ctx context.Context, in *Incident, id string, msg bot.Message) error {
	msg.Sensitive = true
	return inc.e.Post(ctx, "incident:"+in.ID+":"+id, warRoomDest(in), msg)
}

// warRoomDest is where war-room messages go: the thread under the status
// header, or the incident's own room.
func warRoomDest(in *Incident) bot.Destination {
	if in.OwnRoom {
		return bot.ToRoom(in.Room, bot.ThreadRef{})
	}
	return bot.ToThreadOf(in.Room, rootID(in.ID))
}

func (inc *Incidents) sayf(ctx context.Context, in *Incident, id, format string, args ...any) error {
	return inc.say(ctx, in, id, bot.Message{Text: fmt.Sprintf(format, args...)})
}

// header is the status header: the war room's first message, and posted
// again (as the newest message) whenever something in it changes.
func (inc *Incidents) header(in *Incident) bot.Message {
	state := "🔴 Open"
	if in.State == stateResolved {
		state = "✅ Resolved " + stamp(in.Resolved, true) + " (after " + textutil.Duration(in.Resolved.Sub(in.Started)) + ")"
	}
	role := func(r string) string {
		if p := in.Roles[r]; p != "" {
			return "@" + p
		}
		return "—"
	}
	status := in.Status
	if status == "" {
		status = "—"
	}
	hdr := "🚨 " + in.ID + ": " + in.Title.String()
	return bot.Message{
		Header: hdr,
		Fields: []bot.Field{
			{Label: "State", Value: state}, {Label: "Status", Value: status},
			{Label: "Lead", Value: role("lead")}, {Label: "Scribe", Value: role("scribe")}, {Label: "Comms", Value: role("comms")},
			{Label: "Started", Value: bot.TimeToken(in.Started, stamp(in.Started, true)) + " by " + bot.PersonToken(in.StartedBy)},
		},
		Context: fmt.Sprintf("War room of %s. React %s to put a message on the timeline, %s to keep it as evidence.",
			in.ID, inc.o.PinReaction, inc.o.EvidenceReaction),
		Sensitive: true,
	}
}

// postHeader posts version in.Headers of the war room's one header: the
// thread's root (in an own room, its first message) for the first, and an
// edit of it in place for each change (the last version wins when several
// wait).
func (inc *Incidents) postHeader(ctx context.Context, in *Incident) error {
	msg := inc.header(in)
	if in.Headers <= 1 {
		return inc.e.PostRoot(ctx, rootID(in.ID), bot.ToRoom(in.Room, bot.ThreadRef{}), msg)
	}
	return inc.e.EditRoot(ctx, rootID(in.ID), msg)
}

// changeHeader applies a change that shows in the header and edits the
// header.
func (inc *Incidents) changeHeader(ctx context.Context, id string, change func(in *Incident) error) (*Incident, error) {
	in, err := inc.update(ctx, id, func(in *Incident) error {
		if err := change(in); err != nil {
			return err
		}
		in.Headers++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return in, inc.postHeader(ctx, in)
}

// stamp writes a time in UTC, with its date when withDate.
func stamp(t time.Time, withDate bool) string {
	if withDate {
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return t.UTC().Format("15:04")
}
