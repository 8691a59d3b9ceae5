package incident

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// roomChat is the test chat with room creation (a bot.RoomCreator), as
// Slack and Matrix have it.
type roomChat struct {
	*bottest.Chat
	fail    error
	names   []string
	topics  []string
	invited [][]bot.UserRef
}

func (c *roomChat) CreatePrivateRoom(_ context.Context, name, topic string, invite []bot.UserRef) (bot.RoomRef, error) {
	if c.fail != nil {
		return bot.RoomRef{}, c.fail
	}
	c.names = append(c.names, name)
	c.topics = append(c.topics, topic)
	c.invited = append(c.invited, invite)
	return bot.RoomRef{Adapter: "test", ID: fmt.Sprintf("war-%d", len(c.names))}, nil
}

func roomSetup(t *testing.T) (*bottest.Harness, *Incidents, *fakeGitHub, *roomChat) {
	t.Helper()
	h, inc, gh := setup(t)
	chat := &roomChat{Chat: h.Chat}
	h.Engine.AddAdapter(chat)
	return h, inc, gh, chat
}

func sayIn(h *bottest.Harness, room bot.RoomRef, who, msgID, text string) []bottest.Sent {
	return h.Event(bot.Event{Kind: bot.EventMessage, Room: room, User: bot.UserRef{Adapter: "test", ID: who},
		Message: bot.MessageRef{Room: room, ID: msgID}, Text: text})
}

func reactIn(h *bottest.Harness, room bot.RoomRef, who, msgID, emoji string) []bottest.Sent {
	return h.Event(bot.Event{Kind: bot.EventReaction, Room: room, User: bot.UserRef{Adapter: "test", ID: who},
		Message: bot.MessageRef{Room: room, ID: msgID}, Reaction: emoji})
}

func TestStartRoomCreatesPrivateWarRoom(t *testing.T) {
	h, inc, _, chat := roomSetup(t)
	ctx := context.Background()
	out := h.Command("alice", `incident start --room "Leaked deploy token!"`)
	war := bot.RoomRef{Adapter: "test", ID: "war-1"}
	if len(chat.names) != 1 || chat.names[0] != "inc-2026-1-leaked-deploy-token" {
		t.Fatalf("rooms created %q", chat.names)
	}
	if !strings.Contains(chat.topics[0], "INC-2026-1: Leaked deploy token!") {
		t.Errorf("topic %q", chat.topics[0])
	}
	var invited []string
	for _, u := range chat.invited[0] {
		invited = append(invited, u.String())
	}
	if strings.Join(invited, ",") != "test:alice,test:bob" {
		t.Errorf("invited %v: want the team (responders and admins), nobody else", invited)
	}
	if !h.Engine.IsPrivate(war) {
		t.Fatal("the war room is not a private room of the engine")
	}
	if len(out) != 2 {
		t.Fatalf("sent %q: want the header in the new room and the pointer", bottest.Texts(out))
	}
	hdr, reply := out[0], out[1]
	if hdr.Msg.Header == "" {
		hdr, reply = reply, hdr
	}
	if hdr.To.Room != war || !hdr.To.Thread.IsZero() || hdr.To.InThreadOf != "" || !hdr.Msg.Sensitive {
		t.Errorf("header went to %+v: want the new room's top level", hdr.To)
	}
	bottest.InOrder(t, hdr.Msg.PlainText(), "INC-2026-1: Leaked deploy token!", "Lead: @alice")
	if reply.To.Room != bottest.Room || !strings.Contains(reply.Msg.Text, "its war room is the private room inc-2026-1-leaked-deploy-token") {
		t.Errorf("pointer %+v %q", reply.To, reply.Msg.Text)
	}
	in, err := inc.Get(ctx, "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if !in.OwnRoom || in.Room != war || in.RoomName != "inc-2026-1-leaked-deploy-token" {
		t.Errorf("stored %+v", in)
	}
	if a := auditText(t, h); !strings.Contains(a, "incident.room INC-2026-1 test:war-1 inc-2026-1-leaked-deploy-token") {
		t.Errorf("the room is not in the audit: %q", a)
	}
	if out := h.Command("alice", "incident list"); !strings.Contains(bottest.Joined(out), "in inc-2026-1-leaked-deploy-token") {
		t.Errorf("list: %q", bottest.Texts(out))
	}
}

// The whole life of an incident works in its own room: messages there
// (not in a thread) are the war room, commands there are about it even
// with another incident open, and everything is said there.
func TestOwnRoomTimelineToPublish(t *testing.T) {
	h, inc, gh, _ := roomSetup(t)
	ctx := context.Background()
	h.Command("alice", `incident start "Other incident"`) // INC-2026-1, a thread
	h.Command("alice", `incident start --room "Leaked deploy token"`)
	war := bot.RoomRef{Adapter: "test", ID: "war-1"}
	inWar := func(who, text string) []bottest.Sent { return h.CommandIn(war, who, text) }
	allInWar := func(t *testing.T, what string, out []bottest.Sent) {
		t.Helper()
		if len(out) == 0 {
			t.Fatalf("%s: nothing said", what)
		}
		for _, s := range out {
			if s.To.Room != war || !s.To.Thread.IsZero() || s.To.InThreadOf != "" || !s.Msg.Sensitive {
				t.Errorf("%s: %q went to %+v, want the war room's top level", what, s.Msg.PlainText(), s.To)
			}
		}
	}

	h.Clock.Set(bottest.Start.Add(5 * time.Minute))
	sayIn(h, war, "bob", "m1", "Revoked the token at the provider")
	out := reactIn(h, war, "alice", "m1", "📌")
	allInWar(t, "pin", out)
	if !strings.Contains(bottest.Joined(out), "Timeline #1 (2026-01-05 09:05 UTC, @bob): Revoked the token at the provider") {
		t.Fatalf("pin: %q", bottest.Texts(out))
	}
	h.Chat.TakeEdits()
	out = inWar("alice", `incident status "Auditing logs"`)
	allInWar(t, "status", out)
	if edits := h.Chat.TakeEdits(); len(edits) != 1 || edits[0].Ref.Room != war || !strings.Contains(edits[0].Msg.PlainText(), "Status: Auditing logs") {
		t.Errorf("status: %q; edits %+v, want the header in the war room edited", bottest.Texts(out), edits)
	}
	allInWar(t, "log", inWar("bob", `incident log "Rotated the other deploy keys"`))
	out = inWar("alice", "incident timeline")
	allInWar(t, "timeline", out)
	bottest.InOrder(t, bottest.Joined(out), "Timeline of INC-2026-2", "@bob: Revoked the token", "@bob: Rotated the other deploy keys")

	// An edit of the pinned message follows into the entry.
	h.Event(bot.Event{Kind: bot.EventEdit, Room: war, User: bot.UserRef{Adapter: "test", ID: "bob"},
		Message: bot.MessageRef{Room: war, ID: "m1"}, Text: "Revoked the deploy token at the provider"})

	h.Advance(3 * time.Hour)
	out = inWar("alice", "incident resolve")
	allInWar(t, "resolve", out)
	other, err := inc.Get(ctx, "INC-2026-1")
	if err != nil || other.State != stateOpen {
		t.Fatalf("the other incident was touched: %+v %v", other, err)
	}
	inWar("alice", `incident writeup edit tldr "No user needs to act."`)
	inWar("alice", `incident writeup edit summary "A deploy token was printed in a CI log and revoked."`)
	inWar("alice", `incident writeup edit references "https://example.org/blog/incident"`)
	h.Clock.Set(h.Clock.Now().Add(time.Minute)) // a preview per command and minute
	out = inWar("alice", "incident writeup")
	allInWar(t, "writeup", out)
	bottest.InOrder(t, bottest.Joined(out), "## Timeline", "Revoked the deploy token at the provider", "Rotated the other deploy keys")
	out = append(inWar("alice", "incident publish --confirm"), h.Advance(time.Minute)...)
	allInWar(t, "publish", out)
	if !strings.Contains(bottest.Joined(out), "is published and pinned") || len(gh.issues) != 1 {
		t.Fatalf("publish: %q (calls %v)", bottest.Texts(out), gh.Calls())
	}
}

func TestStartRoomRefusedOrFailed(t *testing.T) {
	h, inc, _, chat := roomSetup(t)
	chat.fail = fmt.Errorf("slack conversations.create: restricted_action: %w", bot.ErrRejected)
	out := h.Command("alice", `incident start --room "Leak"`)
	if !strings.Contains(bottest.Joined(out), "Could not create the war room for INC-2026-1 (the chat service refused); no incident was opened") {
		t.Fatalf("failed creation: %q", bottest.Texts(out))
	}
	if _, err := inc.Get(context.Background(), "INC-2026-1"); err == nil {
		t.Error("an incident was stored without its room")
	}
	if !strings.Contains(auditText(t, h), "incident.room.failed INC-2026-1") {
		t.Error("the failure is not in the audit")
	}
	chat.fail = nil
	// From a DM: the room is created, the private room told.
	out = h.Event(bot.Event{Kind: bot.EventCommand, DM: true, Room: bot.RoomRef{Adapter: "test", ID: "dm-bob"},
		User: bot.UserRef{Adapter: "test", ID: "bob"}, Text: `incident start --room "Leak"`, Prefix: "/sec"})
	var told, replied bool
	for _, s := range out {
		if strings.Contains(s.Msg.Text, "its war room is the private room inc-2026-2-leak") {
			told = told || s.To.Room == bottest.Room
			replied = replied || s.To.IsDM()
		}
	}
	if !told || !replied {
		t.Errorf("pointer to the private room %v, to bob %v: %q", told, replied, bottest.Texts(out))
	}
}

func auditText(t *testing.T, h *bottest.Harness) string {
	t.Helper()
	entries, err := h.Engine.Audit().Last(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s %s %s\n", e.Action, e.Target, e.Detail)
	}
	return b.String()
}

func TestRoomName(t *testing.T) {
	for title, want := range map[string]string{
		"Leaked deploy token":         "inc-2026-1-leaked-deploy-token",
		"  Über-Leak: CVE 2026/1234 ": "inc-2026-1-ber-leak-cve-2026-1234",
		"!!!":                         "inc-2026-1",
		strings.Repeat("abc ", 40):    "inc-2026-1-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc-abc",
	} {
		if got := roomName("INC-2026-1", title); got != want {
			t.Errorf("roomName(%q) = %q, want %q", title, got, want)
		}
	}
}
