package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// platform is a chat adapter that records what it sends; privately is set
// for an adapter that can show a message to one person (Slack-like).
type platform struct {
	name      string
	privately bool
	mu        sync.Mutex
	sent      []delivery
}

type delivery struct {
	To      bot.Destination
	Msg     bot.Message
	Private bool      // through ReplyPrivately
	Event   bot.Event // the event answered privately
}

func (p *platform) Name() string { return p.name }

func (p *platform) Send(_ context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, delivery{To: to, Msg: msg})
	return bot.MessageRef{Room: to.Room, ID: "sent"}, nil
}

func (p *platform) take() []delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.sent
	p.sent = nil
	return out
}

// privatePlatform adds PrivateReplier.
type privatePlatform struct{ *platform }

func (p privatePlatform) ReplyPrivately(_ context.Context, ev bot.Event, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, delivery{To: to, Msg: msg, Private: true, Event: ev})
	return bot.MessageRef{Room: to.Room, ID: "ephemeral"}, nil
}

var _ bot.PrivateReplier = privatePlatform{}

// audienceHarness has a Slack-like adapter (private answers) and a
// Matrix-like one (none), each with a room "general" (private on Matrix), and a
// "ping" command that replies and a "bump" command that announces.
func audienceHarness(t *testing.T) (*bottest.Harness, *platform, *platform) {
	t.Helper()
	people := []bot.Person{
		{Name: "alice", DisplayName: "Alice Martin", Chat: map[string]string{"slack": "U0ALICE", "matrix": "@alice:hs"}, Roles: []bot.Role{bot.RoleResponder}, Timezone: "Europe/Paris"},
		{Name: "bob", Chat: map[string]string{"matrix": "@bob:hs"}, Roles: []bot.Role{bot.RoleResponder}, Timezone: "America/New_York"},
		{Name: "carol", DisplayName: "Carol", Chat: map[string]string{"test": "carol"}},
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	h := bottest.New(t, bottest.Options{People: people, Tune: func(o *bot.Options) {
		o.TeamZone = paris
		o.PrivateRooms = append(o.PrivateRooms, bot.RoomRef{Adapter: "matrix", ID: "general"})
	}})
	slack := &platform{name: bot.AdapterSlack, privately: true}
	matrix := &platform{name: bot.AdapterMatrix}
	h.Engine.AddAdapter(privatePlatform{slack})
	h.Engine.AddAdapter(matrix)
	h.Engine.MustRegister(&bot.Command{Name: "ping", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request) error {
		return req.Replyf(ctx, "pong")
	}})
	h.Engine.MustRegister(&bot.Command{Name: "bump", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Announce(ctx, bot.Text(req.ActorMention()+" bumped it"))
		return err
	}})
	return h, slack, matrix
}

func command(adapter, user, text string) bot.Event {
	return bot.Event{
		Kind: bot.EventCommand, Room: bot.RoomRef{Adapter: adapter, ID: "general"}, User: bot.UserRef{Adapter: adapter, ID: user},
		Message: bot.MessageRef{Room: bot.RoomRef{Adapter: adapter, ID: "general"}, ID: "cmd1"}, Text: text, Prefix: "/sec",
	}
}

func one(t *testing.T, got []delivery) delivery {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("want one message, got %d: %+v", len(got), got)
	}
	return got[0]
}

func TestReplyGoesToTheAskerOnly(t *testing.T) {
	h, slack, matrix := audienceHarness(t)
	ctx := context.Background()

	// Slack-like: through ReplyPrivately, with the event answered.
	h.Engine.HandleEvent(ctx, command("slack", "U0ALICE", "ping"))
	d := one(t, slack.take())
	if !d.Private || d.To.Only != (bot.UserRef{Adapter: "slack", ID: "U0ALICE"}) || d.Event.Message.ID != "cmd1" || d.Msg.Text != "pong" {
		t.Errorf("slack reply = %+v, want a private answer to U0ALICE", d)
	}

	// Matrix-like: no private answers, so into a thread rooted at the
	// command, still marked for the asker.
	h.Engine.HandleEvent(ctx, command("matrix", "@bob:hs", "ping"))
	d = one(t, matrix.take())
	if d.Private || d.To.Thread.ID != "cmd1" || d.To.Only.ID != "@bob:hs" {
		t.Errorf("matrix reply = %+v, want it in the command's thread for @bob:hs", d)
	}

	// A command already in a thread is answered in that thread.
	ev := command("matrix", "@bob:hs", "ping")
	ev.Thread = bot.ThreadRef{ID: "root9"}
	h.Engine.HandleEvent(ctx, ev)
	if d = one(t, matrix.take()); d.To.Thread.ID != "root9" {
		t.Errorf("threaded matrix reply went to %s, want thread root9", d.To)
	}

	// A DM is private already: an ordinary answer.
	ev = command("matrix", "@bob:hs", "ping")
	ev.DM, ev.Room = true, bot.RoomRef{Adapter: "matrix", ID: "!dm"}
	h.Engine.HandleEvent(ctx, ev)
	if d = one(t, matrix.take()); !d.To.IsDM() || !d.To.Only.IsZero() || d.To.Thread.ID != "" {
		t.Errorf("DM reply = %+v, want a plain DM", d)
	}
}

func TestAnnounceAndPublicGoToTheRoom(t *testing.T) {
	h, slack, matrix := audienceHarness(t)
	ctx := context.Background()

	h.Engine.HandleEvent(ctx, command("slack", "U0ALICE", "bump"))
	d := one(t, slack.take())
	if d.Private || !d.To.Only.IsZero() || d.To.Thread.ID != "" {
		t.Errorf("announcement = %+v, want the room", d)
	}
	if want := "<@slack:U0ALICE|Alice Martin> bumped it"; d.Msg.Text != want {
		t.Errorf("announcement text = %q, want %q", d.Msg.Text, want)
	}

	h.Engine.HandleEvent(ctx, command("matrix", "@bob:hs", "ping --public"))
	d = one(t, matrix.take())
	if !d.To.Only.IsZero() || d.To.Thread.ID != "" || d.Msg.Text != "pong" {
		t.Errorf("--public reply = %+v, want the room", d)
	}
	if want := "Shared by <@matrix:@bob:hs|bob> · `/sec ping`"; d.Msg.Context != want {
		t.Errorf("--public context = %q, want %q", d.Msg.Context, want)
	}
}

func TestEngineAnswersAreForTheAsker(t *testing.T) {
	h, slack, _ := audienceHarness(t)
	ctx := context.Background()
	for _, text := range []string{"pnig", "ping extra", "ping --public extra", "nope --public"} {
		h.Engine.HandleEvent(ctx, command("slack", "U0ALICE", text))
		if d := one(t, slack.take()); !d.Private {
			t.Errorf("%q: the engine's answer %q went to %s, want the asker only", text, d.Msg.Text, d.To)
		}
	}
	// A stranger's "Sorry…" too.
	h.Engine.MustRegister(&bot.Command{Name: "secret", Roles: []bot.Role{bot.RoleResponder}, Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request) error { return nil }})
	h.Engine.HandleEvent(ctx, command("slack", "U0STRANGER", "secret"))
	if d := one(t, slack.take()); !d.Private || !strings.HasPrefix(d.Msg.Text, "Sorry") {
		t.Errorf("stranger's answer = %+v, want a private Sorry", d)
	}
}

func TestPublicFlagIsTheRouters(t *testing.T) {
	h, _, _ := audienceHarness(t)
	err := h.Engine.Register(&bot.Command{Name: "own", Flags: []bot.FlagSpec{{Name: "public", Bool: true}}, Run: func(context.Context, *bot.Request) error { return nil }})
	if err == nil {
		t.Error("a command declaring --public was registered")
	}
	out := bottest.Joined(h.Command("alice", "help ping"))
	if !strings.Contains(out, "--public") {
		t.Errorf("help ping does not list --public:\n%s", out)
	}
	if out := bottest.Joined(h.Command("alice", "help")); !strings.Contains(out, "--public") {
		t.Errorf("help does not mention --public:\n%s", out)
	}
}

func TestTokensResolvedForEachAdapterAndReader(t *testing.T) {
	h, slack, matrix := audienceHarness(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 8, 13, 0, 0, 0, time.UTC)
	text := bot.PersonToken("alice") + " and " + bot.PersonToken("bob") + " and " + bot.PersonToken("carol") + " and " + bot.PersonToken("zed") +
		" at " + bot.TimeToken(at, "8 Dec 13:00 UTC") + " " + bot.Untrusted(bot.PersonToken("alice")).String()
	post := func(to bot.Destination) {
		t.Helper()
		if err := h.Engine.Post(ctx, "", to, bot.Message{Text: text}); err != nil {
			t.Fatal(err)
		}
		h.Engine.Step(ctx)
	}
	quoted := bot.Untrusted(bot.PersonToken("alice")).String()

	post(bot.ToRoom(bot.RoomRef{Adapter: "slack", ID: "C1"}, bot.ThreadRef{}))
	d := one(t, slack.take())
	if want := "<@slack:U0ALICE|Alice Martin> and @bob and Carol and @zed at " + bot.TimeToken(at, "8 Dec 13:00 UTC") + " " + quoted; d.Msg.Text != want {
		t.Errorf("slack text\n got %q\nwant %q", d.Msg.Text, want)
	}
	if len(d.Msg.Mentions) != 1 || d.Msg.Mentions[0].ID != "U0ALICE" {
		t.Errorf("slack mentions = %v, want alice's account", d.Msg.Mentions)
	}

	// A Matrix room reads the team's zone.
	post(bot.ToRoom(bot.RoomRef{Adapter: "matrix", ID: "!r"}, bot.ThreadRef{}))
	d = one(t, matrix.take())
	if want := "<@matrix:@alice:hs|Alice Martin> and <@matrix:@bob:hs|bob> and Carol and @zed at Tue 8 Dec 2026 14:00 CET " + quoted; d.Msg.Text != want {
		t.Errorf("matrix room text\n got %q\nwant %q", d.Msg.Text, want)
	}
	if len(d.Msg.Mentions) != 2 {
		t.Errorf("matrix mentions = %v, want alice and bob", d.Msg.Mentions)
	}

	// A DM reads the person's own zone.
	post(bot.ToUser(bot.UserRef{Adapter: "matrix", ID: "@bob:hs"}))
	if d = one(t, matrix.take()); !strings.Contains(d.Msg.Text, "at Tue 8 Dec 2026 08:00 EST") {
		t.Errorf("bob's DM = %q, want the time in New York", d.Msg.Text)
	}

	// An account of another adapter is shown by its label.
	post(bot.ToRoom(bot.RoomRef{Adapter: "matrix", ID: "!r"}, bot.ThreadRef{}))
	matrix.take()
	if err := h.Engine.Post(ctx, "", bot.ToRoom(bot.RoomRef{Adapter: "matrix", ID: "!r"}, bot.ThreadRef{}),
		bot.Message{Fields: []bot.Field{{Label: "Slack", Value: bot.AccountToken(bot.UserRef{Adapter: "slack", ID: "U0ALICE"}, "Alice Martin")}}}); err != nil {
		t.Fatal(err)
	}
	h.Engine.Step(ctx)
	if d = one(t, matrix.take()); d.Msg.Fields[0].Value != "Alice Martin" {
		t.Errorf("a Slack account on Matrix = %q, want its label", d.Msg.Fields[0].Value)
	}
}

func TestFormAnsweredInTheAskersThread(t *testing.T) {
	h, _, matrix := audienceHarness(t)
	ctx := context.Background()
	var submitted []string
	formHarness(t, h, &submitted)

	h.Engine.HandleEvent(ctx, command("matrix", "@bob:hs", "triage VIG-2026-7"))
	if d := one(t, matrix.take()); d.To.Thread.ID != "cmd1" {
		t.Fatalf("first question went to %s, want the command's thread", d.To)
	}
	for _, answer := range []string{"1", "acme/web", "-"} {
		h.Engine.HandleEvent(ctx, bot.Event{Kind: bot.EventMessage, Room: bot.RoomRef{Adapter: "matrix", ID: "general"},
			Thread: bot.ThreadRef{ID: "cmd1"}, User: bot.UserRef{Adapter: "matrix", ID: "@bob:hs"}, Text: answer})
		if d := one(t, matrix.take()); d.To.Thread.ID != "cmd1" {
			t.Fatalf("answer %q: the next message went to %s", answer, d.To)
		}
	}
	if len(submitted) != 1 {
		t.Fatalf("submitted = %v, want the form once", submitted)
	}
}

func TestAskerOnlyDoesNotWidenPrivacy(t *testing.T) {
	h, slack, _ := audienceHarness(t)
	ctx := context.Background()
	h.Engine.MustRegister(&bot.Command{Name: "details", Where: bot.Anywhere, Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Reply(ctx, bot.Message{Text: "report details", Sensitive: true})
		return err
	}})
	// An answer only alice sees is still in a room that is not private.
	h.Engine.HandleEvent(ctx, command("slack", "U0ALICE", "details"))
	if d := one(t, slack.take()); !d.Private || d.Msg.Sensitive || strings.Contains(d.Msg.Text, "report details") {
		t.Errorf("a sensitive answer in a public room = %+v, want the private pointer only", d)
	}
}
