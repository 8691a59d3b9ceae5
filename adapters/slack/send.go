package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

// Send renders msg as Block Kit and posts it: in the room (in the thread
// when the destination has one) or in a DM opened with conversations.open,
// then uploads its files there (see uploadFiles);
// a message for one person only (Destination.Only) is ephemeral. A message
// too large for one Slack message goes out as several (see layout): the
// first at the destination, the others in order in its thread (or in the
// destination's thread); the reference returned is the first one's (its
// ts is the thread id for replies). Each part carries the delivery id in
// its metadata (see WasDelivered). Errors are classified for the outbox,
// never retried here.
func (a *Adapter) Send(ctx context.Context, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	if !to.Only.IsZero() && !to.IsDM() {
		// Meant for one person: shown to them alone, as ReplyPrivately
		// does without an event's response_url.
		return a.ReplyPrivately(ctx, bot.Event{Room: to.Room, User: to.Only}, to, msg)
	}
	channel := to.Room.ID
	if to.IsDM() {
		var err error
		if channel, err = a.dmChannel(ctx, to.DM.ID); err != nil {
			return bot.MessageRef{}, err
		}
	}
	if channel == "" {
		return bot.MessageRef{}, fmt.Errorf("slack: %s has no channel: %w", to, bot.ErrRejected)
	}
	var first bot.MessageRef
	untrusted := msg.HasUntrusted()
	parts := render(msg)
	if len(msg.Files) > 0 && msg.Plain() == "" && len(msg.Buttons) == 0 {
		// Files alone: no empty message before them (Slack refuses one).
		parts = nil
		first = bot.MessageRef{Room: roomRef(channel)}
	}
	skip, skipFiles := 0, 0
	if p, ok := a.takePartial(msg.DeliveryID, channel, len(parts)); ok {
		// A resend of a message whose first parts reached Slack before
		// its sender stopped: post the rest only, in order.
		first, skip, skipFiles = p.first, p.have, p.files
	}
	for i, part := range parts {
		if i < skip {
			continue
		}
		opts := []slack.MsgOption{slack.MsgOptionText(part.text, false)}
		if msg.DeliveryID != "" {
			// What WasDelivered looks for if this send ends in doubt.
			opts = append(opts, slack.MsgOptionMetadata(deliveryMetadata(msg.DeliveryID, i+1, len(parts))))
		}
		if len(part.blocks) > 0 {
			opts = append(opts, slack.MsgOptionBlocks(part.blocks...))
		}
		if untrusted {
			// No previews of links an outsider wrote: an unfurl fetches
			// the URL (telling its owner who read the report, and when)
			// and shows whatever that page says about itself.
			opts = append(opts, slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
		}
		if !to.Thread.IsZero() {
			opts = append(opts, slack.MsgOptionTS(to.Thread.ID))
		} else if i > 0 {
			// The rest of a long text goes in the first message's
			// thread: the channel sees one message, the thread all of it.
			opts = append(opts, slack.MsgOptionTS(first.ID))
		}
		ch, ts, err := a.api.PostMessageContext(ctx, channel, opts...)
		if err != nil {
			// Parts already posted stay posted; a retry by the outbox
			// repeats them, which is better than losing the rest.
			return first, classify("chat.postMessage", err)
		}
		if i == 0 {
			if ch == "" {
				ch = channel
			}
			first = bot.MessageRef{Room: bot.RoomRef{Adapter: bot.AdapterSlack, ID: ch}, ID: ts}
		}
	}
	if len(msg.Files) > 0 {
		done, err := a.uploadFiles(ctx, channel, to.Thread.ID, msg.Files, skipFiles)
		if err != nil {
			// The text is in Slack: the outbox's retry, on this replica
			// within partialTTL, uploads the remaining files only.
			a.keepPartial(msg.DeliveryID, partialDelivery{channel: channel, parts: len(parts), have: len(parts), files: done, first: first})
			return first, err
		}
	}
	return first, nil
}

// dmChannel opens (or finds) the DM with a user. Slack answers the same
// channel every time, so it is cached.
func (a *Adapter) dmChannel(ctx context.Context, user string) (string, error) {
	a.mu.Lock()
	ch, ok := a.dms[user]
	a.mu.Unlock()
	if ok {
		return ch, nil
	}
	c, _, _, err := a.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", classify("conversations.open", err)
	}
	a.mu.Lock()
	a.dms[user] = c.ID
	a.mu.Unlock()
	return c.ID, nil
}

// UserInfo is what Slack says about a person.
type UserInfo struct {
	ID string
	// Name is the display name, else the real name, else the handle.
	Name string
	// TimeZone is an IANA zone such as "Europe/Paris" ("" if unknown).
	TimeZone string
}

type userEntry struct {
	info    UserInfo
	fetched time.Time
}

// userInfoTTL: people rarely rename themselves or move; an hour keeps
// users.info calls rare (it is rate-limited) yet picks changes up.
const userInfoTTL = time.Hour

// User returns a person's name and time zone from users.info, cached.
func (a *Adapter) User(ctx context.Context, id string) (UserInfo, error) {
	now := a.clock.Now()
	a.mu.Lock()
	e, ok := a.users[id]
	a.mu.Unlock()
	if ok && now.Sub(e.fetched) < userInfoTTL {
		return e.info, nil
	}
	u, err := a.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return UserInfo{}, classify("users.info", err)
	}
	info := UserInfo{ID: u.ID, Name: u.Profile.DisplayName, TimeZone: u.TZ}
	if info.Name == "" {
		info.Name = u.RealName
	}
	if info.Name == "" {
		info.Name = u.Name
	}
	a.mu.Lock()
	a.users[id] = userEntry{info: info, fetched: now}
	a.mu.Unlock()
	return info, nil
}

// LookupUser answers the engine's neutral question about a Slack account.
func (a *Adapter) LookupUser(ctx context.Context, u bot.UserRef) (bot.UserInfo, error) {
	info, err := a.User(ctx, u.ID)
	if err != nil {
		return bot.UserInfo{}, err
	}
	return bot.UserInfo{Name: info.Name, Timezone: info.TimeZone}, nil
}

// formMeta is kept in the modal's private_metadata: the session, and where
// the form was started, so the submission's request knows its room.
type formMeta struct {
	Session string `json:"s"`
	Channel string `json:"c,omitempty"`
	Thread  string `json:"t,omitempty"`
	DM      bool   `json:"d,omitempty"`
}

// PresentForm opens the form as a modal with the event's trigger_id.
func (a *Adapter) PresentForm(ctx context.Context, ev bot.Event, s bot.FormSession, f *bot.Form) error {
	meta, err := json.Marshal(formMeta{Session: s.ID, Channel: ev.Room.ID, Thread: ev.Thread.ID, DM: ev.DM})
	if err != nil {
		return fmt.Errorf("slack: form metadata: %w", err)
	}
	if _, err := a.api.OpenViewContext(ctx, ev.Trigger, modal(f, string(meta))); err != nil {
		return fmt.Errorf("slack: open form %s: %w", f.ID, classify("views.open", err))
	}
	return nil
}
