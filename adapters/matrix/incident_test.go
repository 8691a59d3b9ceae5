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

// A threaded message in the war room and a 📌 annotation on it, as the
// sync delivers them, become a timeline entry.
func TestMatrixReactionPutsThreadMessageOnTimeline(t *testing.T) {
	const roomID, alice = "!sec:example.org", "@alice:example.org"
	room := bot.RoomRef{Adapter: bot.AdapterMatrix, ID: roomID}
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start), PrivateRooms: []bot.RoomRef{room},
		People: []bot.Person{{Name: "alice", Chat: map[string]string{"matrix": alice}, Roles: []bot.Role{bot.RoleResponder}}}})
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
		ready: true, base: context.Background(),
	}
	ctx := context.Background()
	timeline := func(evID string, typ event.Type, content any) *event.Event {
		evt := &event.Event{ID: id.EventID(evID), RoomID: id.RoomID(roomID), Sender: alice, Type: typ, Content: event.Content{Parsed: content}}
		evt.Mautrix.EventSource = event.SourceTimeline
		return evt
	}
	a.onMessage(ctx, timeline("$cmd", event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: `!sec incident start "Leak"`}))
	a.serial.Wait()
	e.Step(ctx)
	root, ok, err := e.Outbox().PostedRef(ctx, "incident:INC-2026-1:root")
	if err != nil || !ok {
		t.Fatalf("no war room: %v", err)
	}
	msg := &event.MessageEventContent{MsgType: event.MsgText, Body: "Token revoked at the provider"}
	msg.RelatesTo = (&event.RelatesTo{}).SetThread(id.EventID(root.ID), id.EventID(root.ID))
	a.onMessage(ctx, timeline("$said", event.EventMessage, msg))
	a.serial.Wait()
	react := &event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: "$said", Key: "📌\ufe0f"}}
	a.onReaction(ctx, timeline("$pin", event.EventReaction, react))
	a.serial.Wait()
	in, err := inc.Get(ctx, "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].Text != "Token revoked at the provider" || in.Entries[0].Author != "alice" {
		t.Fatalf("entries %+v", in.Entries)
	}
}
