package bot_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// roomChat is the test adapter with room creation, like Slack's.
type roomChat struct {
	*bottest.Chat
	fail    error
	created []string
	invited [][]bot.UserRef
}

func (c *roomChat) CreatePrivateRoom(_ context.Context, name, topic string, invite []bot.UserRef) (bot.RoomRef, error) {
	if c.fail != nil {
		return bot.RoomRef{}, c.fail
	}
	c.created = append(c.created, name+"|"+topic)
	c.invited = append(c.invited, invite)
	return bot.RoomRef{Adapter: "test", ID: fmt.Sprintf("room-%d", len(c.created))}, nil
}

func TestCreatePrivateRoom(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	if h.Engine.CanCreateRooms("test") {
		t.Error("the plain test adapter cannot create rooms")
	}
	if _, err := h.Engine.CreatePrivateRoom(ctx, "test", "inc", "", nil); !errors.Is(err, bot.ErrNoRoomCreation) {
		t.Errorf("adapter without rooms: err = %v, want ErrNoRoomCreation", err)
	}
	if _, err := h.Engine.CreatePrivateRoom(ctx, "nope", "inc", "", nil); !errors.Is(err, bot.ErrNoRoomCreation) {
		t.Errorf("unknown adapter: err = %v, want ErrNoRoomCreation", err)
	}
	chat := &roomChat{Chat: h.Chat}
	h.Engine.AddAdapter(chat)
	if !h.Engine.CanCreateRooms("test") {
		t.Fatal("CanCreateRooms = false for a RoomCreator")
	}
	chat.fail = fmt.Errorf("name_taken: %w", bot.ErrRejected)
	if _, err := h.Engine.CreatePrivateRoom(ctx, "test", "inc", "", nil); !errors.Is(err, bot.ErrRejected) {
		t.Errorf("refused creation: err = %v", err)
	}
	chat.fail = nil

	alice, bobOther := bot.UserRef{Adapter: "test", ID: "alice"}, bot.UserRef{Adapter: "slack", ID: "U1"}
	room, err := h.Engine.CreatePrivateRoom(ctx, "test", "inc-1", "War room", []bot.UserRef{alice, bobOther})
	if err != nil {
		t.Fatal(err)
	}
	if room != (bot.RoomRef{Adapter: "test", ID: "room-1"}) || chat.created[0] != "inc-1|War room" {
		t.Errorf("room %v, created %q", room, chat.created)
	}
	if len(chat.invited[0]) != 1 || chat.invited[0][0] != alice {
		t.Errorf("invited %v: want only the accounts on the adapter", chat.invited[0])
	}
	if !h.Engine.IsPrivate(room) {
		t.Fatal("the created room is not private")
	}
	// Sensitive content may go there now.
	if err := h.Engine.Post(ctx, "m1", bot.ToRoom(room, bot.ThreadRef{}), bot.Message{Text: "details", Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	h.Engine.Step(ctx)
	if sent := h.Chat.Take(); len(sent) != 1 || sent[0].To.Room != room {
		t.Errorf("sent %+v", sent)
	}

	// Another replica (or this one after a restart) sharing the store
	// learns the room when it delivers there.
	other := bottest.New(t, bottest.Options{Store: h.Store, Instance: "other"})
	if other.Engine.IsPrivate(room) {
		t.Fatal("a fresh engine knows the room before reading the store")
	}
	if err := other.Engine.Post(ctx, "m2", bot.ToRoom(room, bot.ThreadRef{}), bot.Message{Text: "more", Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	other.Engine.Step(ctx)
	if sent := other.Chat.Take(); len(sent) != 1 || sent[0].Msg.Text != "more" {
		t.Errorf("other replica sent %+v", sent)
	}
	if !other.Engine.IsPrivate(room) {
		t.Error("the other replica did not learn the room")
	}
	// A room nobody created stays refused.
	if err := other.Engine.Post(ctx, "m3", bot.ToRoom(bottest.PublicRoom, bot.ThreadRef{}), bot.Message{Text: "x", Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	other.Engine.Step(ctx)
	for _, s := range other.Chat.Take() {
		if s.To.Room != bottest.Room || s.Msg.Sensitive {
			t.Errorf("sent %+v; want only the team's notice in the security room", s)
		}
	}
}

func TestRoomMention(t *testing.T) {
	for _, tc := range []struct {
		room bot.RoomRef
		want string
	}{
		{bot.RoomRef{Adapter: bot.AdapterSlack, ID: "C1"}, "<#C1>"},
		{bot.RoomRef{Adapter: bot.AdapterMatrix, ID: "!r:example.org"}, "<https://matrix.to/#/!r:example.org|inc-1>"},
		{bot.RoomRef{Adapter: "test", ID: "r"}, "inc-1"},
	} {
		if got := bot.RoomMention(tc.room, "inc-1"); got != tc.want {
			t.Errorf("RoomMention(%v) = %q, want %q", tc.room, got, tc.want)
		}
	}
}
