package matrix

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/internal/reconnect"
	"github.com/vigil-sec/vigil/internal/serial"
)

// eventChat records sends under the "matrix" name and answers with event
// ids, so the incident's war room lives where translated events point.
type eventChat struct {
	mu sync.Mutex
	n  int
}

func (c *eventChat) Name() string { return bot.AdapterMatrix }

func (c *eventChat) Send(_ context.Context, to bot.Destination, _ bot.Message) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return bot.MessageRef{Room: to.Room, ID: fmt.Sprintf("$sent%d", c.n)}, nil
}

const rigRoom, rigAlice, rigBob = "!sec:example.org", "@alice:example.org", "@bob:example.org"

// warRoomRig is the war-room set-up of the incident, edit and redaction
// tests: an engine with the incident feature, alice and bob responders in
// a private room, and a running adapter (no homeserver: tests call the
// sync handlers).
func warRoomRig(t *testing.T) (*bot.Engine, *Adapter, *incident.Incidents) {
	t.Helper()
	room := bot.RoomRef{Adapter: bot.AdapterMatrix, ID: rigRoom}
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start), PrivateRooms: []bot.RoomRef{room},
		People: []bot.Person{
			{Name: "alice", Chat: map[string]string{"matrix": rigAlice}, Roles: []bot.Role{bot.RoleResponder}},
			{Name: "bob", Chat: map[string]string{"matrix": rigBob}, Roles: []bot.Role{bot.RoleResponder}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incident.Register(e, incident.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(&eventChat{})
	a := &Adapter{
		engine: e, userID: "@vigil:example.org", prefix: "!sec", log: slogDiscard(), serial: serial.New(),
		dms: map[id.UserID]string{}, dmRooms: map[string]id.UserID{}, buttons: map[id.EventID]buttonRecord{},
	}
	a.gate = reconnect.NewGate(reconnect.NewState(e.Clock()), a.serial)
	a.gate.Open(context.Background())
	return e, a, inc
}

func timelineEvent(evID string, sender id.UserID, typ event.Type, content any) *event.Event {
	evt := &event.Event{ID: id.EventID(evID), RoomID: rigRoom, Sender: sender, Type: typ, Content: event.Content{Parsed: content}}
	evt.Mautrix.EventSource = event.SourceTimeline
	return evt
}

// openWarRoom has alice start incident INC-2026-1 and returns the root of
// its war-room thread.
func openWarRoom(t *testing.T, e *bot.Engine, a *Adapter) bot.MessageRef {
	t.Helper()
	ctx := context.Background()
	a.onMessage(ctx, timelineEvent("$cmd", rigAlice, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: `!sec incident start "Leak"`}))
	a.serial.Wait()
	e.Step(ctx)
	root, ok, err := e.Outbox().PostedRef(ctx, "incident:INC-2026-1:root")
	if err != nil || !ok {
		t.Fatalf("no war room: %v", err)
	}
	return root
}

// A threaded message in the war room and a 📌 annotation on it, as the
// sync delivers them, become a timeline entry.
func TestMatrixReactionPutsThreadMessageOnTimeline(t *testing.T) {
	e, a, inc := warRoomRig(t)
	ctx := context.Background()
	root := openWarRoom(t, e, a)
	msg := &event.MessageEventContent{MsgType: event.MsgText, Body: "Token revoked at the provider"}
	msg.RelatesTo = (&event.RelatesTo{}).SetThread(id.EventID(root.ID), id.EventID(root.ID))
	a.onMessage(ctx, timelineEvent("$said", rigAlice, event.EventMessage, msg))
	a.serial.Wait()
	react := &event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: "$said", Key: "📌\ufe0f"}}
	a.onReaction(ctx, timelineEvent("$pin", rigAlice, event.EventReaction, react))
	a.serial.Wait()
	in, err := inc.Get(ctx, "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].Text != "Token revoked at the provider" || in.Entries[0].Author != "alice" {
		t.Fatalf("entries %+v", in.Entries)
	}
}
