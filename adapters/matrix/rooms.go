package matrix

import (
	"context"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

var _ bot.RoomCreator = (*Adapter)(nil)

// CreatePrivateRoom creates an invite-only, end-to-end encrypted room
// (preset private_chat, join rule invite, m.room.encryption with megolm in
// the initial state) with the name and topic, inviting the people (the bot
// itself left out: it creates the room). mautrix records the encryption
// and the invitations in the state store as the room is created, so the
// first message is encrypted for the invitees' devices before a sync has
// seen the room.
func (a *Adapter) CreatePrivateRoom(ctx context.Context, name, topic string, invite []bot.UserRef) (bot.RoomRef, error) {
	if err := a.notReady(); err != nil {
		return bot.RoomRef{}, err
	}
	var users []id.UserID
	for _, u := range invite {
		if u.Adapter == bot.AdapterMatrix && u.ID != "" && id.UserID(u.ID) != a.userID {
			users = append(users, id.UserID(u.ID))
		}
	}
	resp, err := a.client.CreateRoom(mautrix.WithMaxRetries(ctx, 0), &mautrix.ReqCreateRoom{
		Visibility: "private",
		Preset:     "private_chat",
		Name:       name,
		Topic:      topic,
		Invite:     users,
		InitialState: []*event.Event{
			{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}},
			{Type: event.StateJoinRules, Content: event.Content{Parsed: &event.JoinRulesEventContent{JoinRule: event.JoinRuleInvite}}},
		},
	})
	if err != nil {
		return bot.RoomRef{}, classify("create a room", err)
	}
	a.log.Info("created a private encrypted room", "room", resp.RoomID, "name", name, "invited", len(users))
	return roomRef(string(resp.RoomID)), nil
}
