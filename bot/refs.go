package bot

import (
	"fmt"
	"strings"
)

// Adapter names as they appear in references and people's chat ids.
const (
	AdapterConsole = "console"
	AdapterSlack   = "slack"
	AdapterMatrix  = "matrix"
)

// RoomRef names a room (Slack channel, Matrix room, the console) on one
// adapter. Like mautrix's id types, a distinct type per kind of id keeps a
// user from being passed where a room belongs.
type RoomRef struct {
	Adapter string
	ID      string
}

// ThreadRef names a thread inside a room. A zero ThreadRef means "the room
// itself, not a thread".
type ThreadRef struct {
	Room RoomRef
	ID   string
}

// UserRef names a person's account on one adapter.
type UserRef struct {
	Adapter string
	ID      string
}

// MessageRef names a message that an adapter sent or received.
type MessageRef struct {
	Room RoomRef
	ID   string
}

// IsZero reports whether the reference is unset.
func (r RoomRef) IsZero() bool    { return r.Adapter == "" && r.ID == "" }
func (r UserRef) IsZero() bool    { return r.Adapter == "" && r.ID == "" }
func (t ThreadRef) IsZero() bool  { return t.ID == "" }
func (m MessageRef) IsZero() bool { return m.ID == "" }

func (r RoomRef) String() string   { return r.Adapter + ":" + r.ID }
func (r UserRef) String() string   { return r.Adapter + ":" + r.ID }
func (t ThreadRef) String() string { return t.Room.String() + "/" + t.ID }

// ParseUserRef parses "adapter:id", the form used in the people directory
// and in stored documents.
func ParseUserRef(s string) (UserRef, error) {
	adapter, id, ok := strings.Cut(s, ":")
	if !ok || adapter == "" || id == "" {
		return UserRef{}, fmt.Errorf("user reference %q: want adapter:id, e.g. slack:U0123", s)
	}
	return UserRef{Adapter: adapter, ID: id}, nil
}

// ParseRoomRef parses "adapter:id".
func ParseRoomRef(s string) (RoomRef, error) {
	adapter, id, ok := strings.Cut(s, ":")
	if !ok || adapter == "" || id == "" {
		return RoomRef{}, fmt.Errorf("room reference %q: want adapter:id, e.g. slack:C0123", s)
	}
	return RoomRef{Adapter: adapter, ID: id}, nil
}

// Destination is where a message goes: a room (optionally a thread in it),
// or a direct message to one user.
type Destination struct {
	Room   RoomRef   `json:"room,omitzero"`
	Thread ThreadRef `json:"thread,omitzero"`
	DM     UserRef   `json:"dm,omitzero"`
	// InThreadOf names a message posted with Engine.PostRoot (by its outbox
	// id): the message goes into that message's thread, which the outbox
	// resolves once the root has been posted. It lets a feature post a
	// report and its follow-ups before the chat service has answered.
	InThreadOf string `json:"in_thread_of,omitempty"`
	// Only, when set, is the one person who sees the message (an answer
	// to their command): PrivateReplier adapters show it to them alone,
	// the others in the command's thread. It never widens who may see
	// sensitive content.
	Only UserRef `json:"only,omitzero"`
}

// Adapter returns the adapter the destination belongs to.
func (d Destination) Adapter() string {
	if !d.DM.IsZero() {
		return d.DM.Adapter
	}
	return d.Room.Adapter
}

// IsDM reports whether the destination is a direct message.
func (d Destination) IsDM() bool { return !d.DM.IsZero() }

// key identifies the conversation, the unit within which order is kept.
func (d Destination) key() string {
	if d.IsDM() {
		return "dm|" + d.DM.String()
	}
	if d.InThreadOf != "" {
		return "room|" + d.Room.String() + "|of:" + d.InThreadOf
	}
	return "room|" + d.Room.String() + "|" + d.Thread.ID
}

func (d Destination) String() string {
	if d.IsDM() {
		return "DM to " + d.DM.String()
	}
	if !d.Thread.IsZero() {
		return d.Room.String() + " thread " + d.Thread.ID
	}
	return d.Room.String()
}

// ToRoom is a destination in a room, in a thread when thread is set.
func ToRoom(room RoomRef, thread ThreadRef) Destination {
	if !thread.IsZero() {
		thread.Room = room
	}
	return Destination{Room: room, Thread: thread}
}

// ToThreadOf is a destination in the thread of a message posted with
// Engine.PostRoot under rootID.
func ToThreadOf(room RoomRef, rootID string) Destination {
	return Destination{Room: room, InThreadOf: rootID}
}

// ToUser is a direct-message destination.
func ToUser(u UserRef) Destination { return Destination{DM: u} }
