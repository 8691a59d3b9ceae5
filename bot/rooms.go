package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// RoomCreator is implemented by adapters that can open a new private room
// (a Slack private channel, an encrypted Matrix room) with people invited.
type RoomCreator interface {
	// CreatePrivateRoom creates the room, invites the accounts (the bot's
	// own is skipped) and sets the topic. name is a wish: the adapter
	// adapts it to the platform's rules and makes it unique. Errors wrap
	// ErrRateLimited, ErrUnavailable or ErrRejected.
	CreatePrivateRoom(ctx context.Context, name, topic string, invite []UserRef) (RoomRef, error)
}

// ErrNoRoomCreation: the adapter is not connected or cannot create rooms.
var ErrNoRoomCreation = errors.New("the chat adapter cannot create rooms")

// privateRoomsSet keeps the rooms Vigil created, so they stay private
// across restarts and on every replica.
const privateRoomsSet = "bot.rooms.private"

// CanCreateRooms reports whether the adapter is connected and can create
// rooms, so a feature can say so before it allocates anything.
func (e *Engine) CanCreateRooms(adapter string) bool {
	a, ok := e.adapter(adapter)
	if !ok {
		return false
	}
	_, ok = a.(RoomCreator)
	return ok
}

// CreatePrivateRoom asks the adapter to create a private room with the
// accounts invited and, once it exists, makes it a private room of the
// engine (recorded in the store, so sensitive content may go there after a
// restart and on other replicas too).
func (e *Engine) CreatePrivateRoom(ctx context.Context, adapter, name, topic string, invite []UserRef) (RoomRef, error) {
	a, ok := e.adapter(adapter)
	if !ok {
		return RoomRef{}, fmt.Errorf("create room on %s: %w", adapter, ErrNoRoomCreation)
	}
	rc, ok := a.(RoomCreator)
	if !ok {
		return RoomRef{}, fmt.Errorf("create room on %s: %w", adapter, ErrNoRoomCreation)
	}
	var accounts []UserRef
	for _, u := range invite {
		if u.Adapter == adapter {
			accounts = append(accounts, u)
		}
	}
	// Room names and topics are plain text everywhere: no markers.
	room, err := rc.CreatePrivateRoom(ctx, StripSentinels(name), StripSentinels(topic), accounts)
	if err != nil {
		return RoomRef{}, fmt.Errorf("create room on %s: %w", adapter, err)
	}
	if err := e.store.SetAdd(ctx, privateRoomsSet, room.String()); err != nil {
		// The room exists and is private; only a restart would forget it.
		e.log.Warn("could not record a created private room", "room", room.String(), "err", err)
	}
	e.AddPrivateRoom(room)
	e.log.Info("created a private room", "room", room.String(), "name", name, "invited", len(accounts))
	return room, nil
}

// AddPrivateRoom makes room a private room (as if configured): report and
// incident details may be shown there. It is for rooms whose privacy the
// caller established, such as one an adapter just created private.
func (e *Engine) AddPrivateRoom(room RoomRef) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.private[room] = true
}

// loadPrivateRooms adds the rooms created earlier (by this replica before
// a restart, or by another one) to the private rooms.
func (e *Engine) loadPrivateRooms(ctx context.Context) error {
	members, err := e.store.SetMembers(ctx, privateRoomsSet)
	if err != nil {
		return fmt.Errorf("load created rooms: %w", err)
	}
	for _, m := range members {
		adapter, id, ok := strings.Cut(m, ":")
		if ok && adapter != "" && id != "" {
			e.AddPrivateRoom(RoomRef{Adapter: adapter, ID: id})
		}
	}
	return nil
}

// learnPrivateRoom is asked before sensitive content is refused for a
// room: one that another replica created in the last moments is in the
// store before it is in this replica's memory.
func (e *Engine) learnPrivateRoom(ctx context.Context, to Destination, msg Message) {
	if !msg.Sensitive || to.IsDM() || to.Room.IsZero() || e.IsPrivate(to.Room) {
		return
	}
	if ok, err := e.store.SetContains(ctx, privateRoomsSet, to.Room.String()); err == nil && ok {
		e.AddPrivateRoom(to.Room)
	}
}

// RoomMention writes a reference to a room that the adapters render as a
// link: a channel mention on Slack, a matrix.to link on Matrix, the name
// elsewhere.
func RoomMention(room RoomRef, name string) string {
	switch room.Adapter {
	case AdapterSlack:
		return "<#" + room.ID + ">"
	case AdapterMatrix:
		label := name
		if label == "" {
			label = room.ID
		}
		return "<https://matrix.to/#/" + room.ID + "|" + label + ">"
	}
	if name != "" {
		return name
	}
	return room.String()
}
