// Package bottest runs an engine in tests: a fake clock, an embedded store in
// a temporary directory, and a chat adapter that records what it is sent.
// Command packages use it to drive their verbs as a person would.
package bottest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
	"github.com/vigil-sec/vigil/store/embedded"
)

// Start is the fake clock's default start: a Monday morning.
var Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Room is the recording adapter's private security room.
var Room = bot.RoomRef{Adapter: "test", ID: "security"}

// PublicRoom is a room that is not private.
var PublicRoom = bot.RoomRef{Adapter: "test", ID: "general"}

// Sent is one message the adapter was given.
type Sent struct {
	To  bot.Destination
	Msg bot.Message
	At  time.Time
}

// Chat is a bot.Adapter (and bot.Editor) that records messages and
// edits. Fail, when set, decides an
// error for each send (to simulate outages and rate limits).
type Chat struct {
	clock clock.Clock
	mu    sync.Mutex
	sent  []Sent
	edits []Edited
	n     int
	Fail  func(to bot.Destination, msg bot.Message) error
}

// NewChat returns a recording adapter named "test".
func NewChat(c clock.Clock) *Chat { return &Chat{clock: c} }

// Name is "test".
func (c *Chat) Name() string { return "test" }

// Send records the message unless Fail says otherwise.
func (c *Chat) Send(_ context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		if err := c.Fail(to, msg); err != nil {
			return bot.MessageRef{}, err
		}
	}
	c.n++
	c.sent = append(c.sent, Sent{To: to, Msg: msg, At: c.clock.Now()})
	return bot.MessageRef{Room: to.Room, ID: fmt.Sprintf("t%d", c.n)}, nil
}

// Edited is one edit the adapter was given.
type Edited struct {
	Ref bot.MessageRef
	Msg bot.Message
	At  time.Time
}

// Edit records the new version of a message (the adapter is a bot.Editor).
// Fail applies to edits too.
func (c *Chat) Edit(_ context.Context, ref bot.MessageRef, msg bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		if err := c.Fail(bot.ToRoom(ref.Room, bot.ThreadRef{}), msg); err != nil {
			return err
		}
	}
	c.edits = append(c.edits, Edited{Ref: ref, Msg: msg, At: c.clock.Now()})
	return nil
}

// TakeEdits returns the edits made since the last TakeEdits and forgets
// them.
func (c *Chat) TakeEdits() []Edited {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.edits
	c.edits = nil
	return out
}

// Sent returns everything sent so far.
func (c *Chat) Sent() []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Sent(nil), c.sent...)
}

// Take returns what was sent since the last Take and forgets it.
func (c *Chat) Take() []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sent
	c.sent = nil
	return out
}

// Texts renders messages as plain text, one string each, as a person reads
// them: without the untrusted markers (bot.Untrusted), which only tell
// renderers what to make inert, and with mentions as "@Name" (as the
// console shows them). Tests of the marking read Msg itself.
func Texts(sent []Sent) []string {
	out := make([]string, len(sent))
	for i, s := range sent {
		out[i] = Read(s.Msg)
	}
	return out
}

// Read is the message's plain text as a person reads it (see Texts).
func Read(m bot.Message) string {
	var b strings.Builder
	for _, seg := range bot.Segments(m.Plain()) {
		if seg.Untrusted {
			b.WriteString(seg.Text)
			continue
		}
		b.WriteString(bot.ReplaceTokens(seg.Text, func(t bot.Token) string {
			switch t.Kind {
			case bot.TokenAccount:
				return "@" + t.Label
			case bot.TokenPerson:
				return "@" + t.Person
			}
			return t.Fallback
		}))
	}
	return b.String()
}

// ForAsker reports whether a message was an answer for its asker alone
// (Request.Reply), not for the room (Request.Announce).
func (s Sent) ForAsker() bool { return !s.To.Only.IsZero() }

// Harness is an engine wired for tests.
type Harness struct {
	T      testing.TB
	Engine *bot.Engine
	Clock  *clock.Fake
	Chat   *Chat
	Store  store.Store
}

// Options adjust a harness.
type Options struct {
	// People default to alice (admin, responder), bob (responder) and
	// mallory (no roles), each with a "test" chat id equal to the name.
	People []bot.Person
	// Store defaults to an embedded store in a temporary directory.
	Store store.Store
	// Clock defaults to a fake clock at Start.
	Clock *clock.Fake
	// Instance names the replica (for lease tests).
	Instance string
	// LeaseTTL for the scheduler lease.
	LeaseTTL time.Duration
	// Observer receives the engine's measurements.
	Observer bot.Observer
	// Tune, when set, adjusts the engine's options (delivery bounds,
	// timeouts) before the engine is built.
	Tune func(*bot.Options)
}

// DefaultPeople are the harness's people.
func DefaultPeople() []bot.Person {
	return []bot.Person{
		{Name: "alice", Chat: map[string]string{"test": "alice"}, Roles: []bot.Role{bot.RoleAdmin, bot.RoleResponder}, Timezone: "Europe/Paris"},
		{Name: "bob", Chat: map[string]string{"test": "bob"}, Roles: []bot.Role{bot.RoleResponder}},
		{Name: "carol", Chat: map[string]string{"test": "carol"}, Maintains: []string{"acme/web"}},
		{Name: "mallory", Chat: map[string]string{"test": "mallory"}},
	}
}

// OpenStore opens an embedded store in a temporary directory, closed at
// the end of the test.
func OpenStore(t testing.TB) store.Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// New builds a harness; register commands on h.Engine before use.
func New(t testing.TB, o Options) *Harness {
	t.Helper()
	if o.People == nil {
		o.People = DefaultPeople()
	}
	if o.Store == nil {
		o.Store = OpenStore(t)
	}
	if o.Clock == nil {
		o.Clock = clock.NewFake(Start)
	}
	opts := bot.Options{
		Store: o.Store, Clock: o.Clock, People: o.People,
		PrivateRooms: []bot.RoomRef{Room}, Instance: o.Instance, LeaseTTL: o.LeaseTTL, Observer: o.Observer,
	}
	if o.Tune != nil {
		o.Tune(&opts)
	}
	e, err := bot.New(opts)
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	chat := NewChat(o.Clock)
	e.AddAdapter(chat)
	return &Harness{T: t, Engine: e, Clock: o.Clock, Chat: chat, Store: o.Store}
}

// Event sends an event as person (a name in the directory, or any id for a
// stranger), then runs due work, and returns what was sent meanwhile.
func (h *Harness) Event(ev bot.Event) []Sent {
	h.T.Helper()
	ctx := context.Background()
	h.Chat.Take()
	h.Engine.HandleEvent(ctx, ev)
	h.Engine.Step(ctx)
	return h.Chat.Take()
}

// Command runs "/sec text" as person in the private room and returns the
// messages sent meanwhile.
func (h *Harness) Command(person, text string) []Sent {
	h.T.Helper()
	return h.CommandIn(Room, person, text)
}

// CommandIn runs a command in a given room.
func (h *Harness) CommandIn(room bot.RoomRef, person, text string) []Sent {
	h.T.Helper()
	return h.Event(bot.Event{Kind: bot.EventCommand, Room: room, User: bot.UserRef{Adapter: "test", ID: person}, Text: text, Prefix: "/sec"})
}

// Say sends an ordinary message (a form answer) as person in the room.
func (h *Harness) Say(person, text string) []Sent {
	h.T.Helper()
	return h.Event(bot.Event{Kind: bot.EventMessage, Room: Room, User: bot.UserRef{Adapter: "test", ID: person}, Text: text, Prefix: "/sec"})
}

// Press presses a button as person.
func (h *Harness) Press(person string, b bot.Button) []Sent {
	h.T.Helper()
	return h.Event(bot.Event{Kind: bot.EventButton, Room: Room, User: bot.UserRef{Adapter: "test", ID: person}, Action: b.Action, Value: b.Value, Prefix: "/sec"})
}

// PressOn presses a button as person on the message it sat on (in the
// private room), as a platform reports it.
func (h *Harness) PressOn(person string, on bot.MessageRef, b bot.Button) []Sent {
	h.T.Helper()
	return h.Event(bot.Event{Kind: bot.EventButton, Room: Room, User: bot.UserRef{Adapter: "test", ID: person}, Message: on, Action: b.Action, Value: b.Value, Prefix: "/sec"})
}

// Advance moves the clock by d, running jobs in order, and returns what
// was sent meanwhile.
func (h *Harness) Advance(d time.Duration) []Sent {
	h.T.Helper()
	h.Chat.Take()
	if err := h.Engine.AdvanceTo(context.Background(), h.Clock, h.Clock.Now().Add(d)); err != nil {
		h.T.Fatalf("advance %s: %v", d, err)
	}
	return h.Chat.Take()
}

// Joined is every sent message's plain text joined by newlines, for
// substring assertions.
func Joined(sent []Sent) string { return strings.Join(Texts(sent), "\n") }

// DMsTo returns the direct messages sent to the account id who.
func DMsTo(sent []Sent, who string) []Sent {
	var out []Sent
	for _, s := range sent {
		if s.To.IsDM() && s.To.DM.ID == who {
			out = append(out, s)
		}
	}
	return out
}

// InOrder checks that each of wants appears in out after the one before,
// as a person reading a transcript would see them.
func InOrder(t testing.TB, out string, wants ...string) {
	t.Helper()
	rest := out
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (in order) after the earlier lines; full output:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}
