package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/internal/reconnect"
)

// The security channels are checked at start, again when Slack says
// something changed (the bot added or removed, a channel converted,
// archived or shared), and every RecheckEvery for what no event told. Each
// check promotes or demotes the channel in the engine: report details go
// only to a channel that is private, not shared outside the workspace, not
// archived, and that the bot is in; messages held for it meanwhile go out
// once it is.

// checkRooms checks every security channel and reports whether a check
// failed for a reason that may pass (so the next one comes sooner).
func (a *Adapter) checkRooms(ctx context.Context) (transient bool) {
	for _, id := range a.rooms {
		if a.checkRoom(ctx, id) {
			transient = true
		}
	}
	return transient
}

// checkRoom checks one channel, promotes or demotes it, and reports
// whether the check itself failed for a reason that may pass.
func (a *Adapter) checkRoom(ctx context.Context, id string) (transient bool) {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	reason, transient := a.roomProblem(ctx, id)
	if ctx.Err() != nil {
		return false
	}
	a.mu.Lock()
	prev, seen := a.verdicts[id]
	a.verdicts[id] = reason
	a.mu.Unlock()
	room := roomRef(id)
	if reason == "" {
		if !seen || prev != "" {
			a.log.Info("security channel is private and the bot is a member", "channel", id)
		}
		a.engine.PromoteRoom(room)
		return false
	}
	if !seen || prev != reason {
		a.log.Error("security channel refused: report details wait until it is fixed", "channel", id, "reason", reason)
	}
	a.engine.DemoteRoom(room, reason)
	return transient
}

// roomProblem says what keeps a channel from being a security channel, or
// "" when nothing does. Failing closed: a channel that cannot be looked up
// is refused too, with transient set when the lookup may work later.
func (a *Adapter) roomProblem(ctx context.Context, id string) (reason string, transient bool) {
	ch, err := a.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	if err != nil {
		cerr := classify("conversations.info", err)
		if !errors.Is(cerr, bot.ErrRejected) {
			return fmt.Sprintf("Vigil could not check the channel (%s); it tries again shortly", cause(err)), true
		}
		if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok && se.Err == "channel_not_found" {
			return "Vigil cannot see the channel: check the id in rooms.slack and invite the bot with /invite @Vigil in the channel", false
		}
		return fmt.Sprintf("Vigil could not look the channel up (%s); check the id in rooms.slack and invite the bot", cause(err)), false
	}
	switch {
	case !ch.IsPrivate:
		return "it is a public channel; make a private channel the security channel", false
	case !ch.IsMember:
		return "the bot is not a member; invite it with /invite @Vigil in the channel", false
	case ch.IsArchived:
		return "the channel is archived", false
	case ch.IsExtShared || ch.IsPendingExtShared:
		return "the channel is shared with another organisation (Slack Connect); report details stay in the workspace", false
	}
	return "", false
}

// recheckRooms checks the security channels every RecheckEvery until ctx
// ends, sooner (with backoff) while a check fails for a reason that may
// pass.
func (a *Adapter) recheckRooms(ctx context.Context, transient bool) {
	failures := 0
	if transient {
		failures = 1
	}
	for {
		wait := a.recheckEvery
		if failures > 0 {
			wait = min(a.retry.Wait(failures), a.recheckEvery)
		}
		armed := func() {
			a.mu.Lock()
			a.nextRecheck = a.clock.Now().Add(wait)
			a.mu.Unlock()
		}
		if reconnect.Sleep(ctx, a.clock, wait, armed) != nil {
			return
		}
		if a.checkRooms(ctx) {
			failures++
		} else {
			failures = 0
		}
	}
}

// roomChangeTypes are the Events API events after which a security channel
// is checked again. Private channels' own events are group_*; channel_*
// ones cover sharing and channels the bot leaves.
var roomChangeTypes = []string{
	"member_joined_channel", "member_left_channel",
	"channel_shared", "channel_unshared", "channel_left", "channel_archive", "channel_unarchive", "channel_deleted",
	"channel_id_changed",
	"group_left", "group_archive", "group_unarchive", "group_deleted",
}

// roomChangeSubtypes are message subtypes that change a channel's privacy
// (Slack posts "made this channel private" as a message).
var roomChangeSubtypes = []string{"channel_convert_to_private"}

// onRoomChange reads an Events API payload for a change to a security
// channel and, when it is one, checks that channel again (in the
// background, after the event is acknowledged). It reports whether the
// payload was such a change.
func (a *Adapter) onRoomChange(payload []byte) bool {
	var outer struct {
		Event struct {
			Type    string          `json:"type"`
			Subtype string          `json:"subtype"`
			User    string          `json:"user"`
			Channel json.RawMessage `json:"channel"`
			// channel_id_changed names the old and the new id.
			OldChannelID string `json:"old_channel_id"`
		} `json:"event"`
	}
	if json.Unmarshal(payload, &outer) != nil {
		return false
	}
	ev := outer.Event
	change := slices.Contains(roomChangeTypes, ev.Type) ||
		(ev.Type == "message" && slices.Contains(roomChangeSubtypes, ev.Subtype))
	if !change {
		return false
	}
	if (ev.Type == "member_joined_channel" || ev.Type == "member_left_channel") && ev.User != a.botUser() {
		// Someone else came or went: the channel's privacy is the same.
		return true
	}
	// "channel" is an id, or an object with one (renames, some shares).
	var channel string
	if json.Unmarshal(ev.Channel, &channel) != nil {
		var obj struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(ev.Channel, &obj)
		channel = obj.ID
	}
	for _, id := range []string{channel, ev.OldChannelID} {
		if id != "" && slices.Contains(a.rooms, id) {
			a.recheckSoon(id, ev.Type)
		}
	}
	return true
}

// recheckSoon checks a channel again after an event, behind earlier
// checks of it. Before Run has started the start-up check covers it.
func (a *Adapter) recheckSoon(id, why string) {
	ctx, ready := a.gate.Base()
	if !ready {
		return
	}
	a.log.Debug("checking a security channel again", "channel", id, "event", why)
	a.serial.Do("rooms|"+id, func() {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		a.checkRoom(cctx, id)
	})
}
