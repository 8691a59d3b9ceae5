package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack/slackevents"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/incident"
)

// namedChat records sends under an adapter's name, answering with
// Slack-like timestamps, so a feature's thread lives where the translated
// events point.
type namedChat struct {
	name string
	mu   sync.Mutex
	n    int
	sent []string
}

func (c *namedChat) Name() string { return c.name }

func (c *namedChat) Send(_ context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.sent = append(c.sent, msg.PlainText())
	return bot.MessageRef{Room: to.Room, ID: fmt.Sprintf("1767603600.%06d", c.n)}, nil
}

func (c *namedChat) joined() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.sent, "\n")
}

// translate runs an Events API payload through the adapter's translation.
func translate(t *testing.T, a *Adapter, inner map[string]any) bot.Event {
	t.Helper()
	payload, err := json.Marshal(eventsEnvelope("", "Ev1", inner)["payload"])
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := slackevents.ParseEvent(payload, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := a.innerEvent(parsed.InnerEvent.Data)
	if !ok {
		t.Fatalf("event %v ignored", inner)
	}
	return ev
}

// warRoom is the set-up of the war-room tests: an engine with the incident
// feature, alice a responder in the private channel, a chat that records
// what is sent, an adapter that only translates events, and incident
// INC-2026-1 started by alice, its thread rooted at root.
type warRoom struct {
	e    *bot.Engine
	inc  *incident.Incidents
	chat *namedChat
	a    *Adapter
	root bot.MessageRef
}

func openWarRoom(t *testing.T) *warRoom {
	t.Helper()
	room := bot.RoomRef{Adapter: bot.AdapterSlack, ID: chanSecurity}
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start), PrivateRooms: []bot.RoomRef{room}, People: []bot.Person{
		{Name: "alice", Chat: map[string]string{"slack": userAlice}, Roles: []bot.Role{bot.RoleResponder}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incident.Register(e, incident.Options{})
	if err != nil {
		t.Fatal(err)
	}
	chat := &namedChat{name: bot.AdapterSlack}
	e.AddAdapter(chat)
	a := &Adapter{command: "/sec", botUserID: botUser}
	ctx := context.Background()
	e.HandleEvent(ctx, translate(t, a, map[string]any{"type": "app_mention", "user": userAlice, "channel": chanSecurity,
		"text": "<@" + botUser + "> incident start \"Leak\"", "ts": "1767603599.000100"}))
	e.Step(ctx)
	root, ok, err := e.Outbox().PostedRef(ctx, "incident:INC-2026-1:root")
	if err != nil || !ok {
		t.Fatalf("no war room: %v\n%s", err, chat.joined())
	}
	return &warRoom{e: e, inc: inc, chat: chat, a: a, root: root}
}

// A message in the war-room thread and a 📌 reaction on it, as Slack
// delivers them, become a timeline entry.
func TestSlackReactionPutsThreadMessageOnTimeline(t *testing.T) {
	w := openWarRoom(t)
	e, inc, chat, a, root := w.e, w.inc, w.chat, w.a, w.root
	ctx := context.Background()

	msg := translate(t, a, map[string]any{"type": "message", "channel_type": "group", "user": userAlice, "channel": chanSecurity,
		"text": "Token revoked at the provider", "ts": "1767603700.000200", "thread_ts": root.ID})
	if msg.Kind != bot.EventMessage || msg.Thread.ID != root.ID || msg.Message.ID != "1767603700.000200" {
		t.Fatalf("message event %+v: want the thread and the message ts", msg)
	}
	e.HandleEvent(ctx, msg)
	react := translate(t, a, map[string]any{"type": "reaction_added", "user": userAlice, "reaction": "pushpin",
		"item": map[string]any{"type": "message", "channel": chanSecurity, "ts": "1767603700.000200"}, "event_ts": "1767603800.000300"})
	if react.Kind != bot.EventReaction || react.Reaction != "pushpin" || react.Message.ID != "1767603700.000200" {
		t.Fatalf("reaction event %+v", react)
	}
	e.HandleEvent(ctx, react)
	e.Step(ctx)
	in, err := inc.Get(ctx, "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].Text != "Token revoked at the provider" || in.Entries[0].Author != "alice" {
		t.Fatalf("entries %+v\nchat:\n%s", in.Entries, chat.joined())
	}
}
