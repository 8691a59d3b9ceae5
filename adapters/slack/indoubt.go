package slack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

// Slack's chat.postMessage has no idempotency key, so a message the outbox
// sends again after a crash (it was marked "sending" but never recorded as
// sent) would show twice. Instead every message Vigil posts with a
// delivery id carries it in Slack message metadata, and WasDelivered looks
// for it in the conversation before the outbox sends again.

// metadataEventType names Vigil's message metadata. Slack shows metadata
// to apps that ask for it (include_all_metadata), never to people.
const metadataEventType = "vigil_message"

// Bounds of the look-up. A message in doubt is checked a send lease (60 s
// by default) after its sender stopped, or later after an outage, so it is
// near the newest end of its conversation: conversations.history (newest
// first) reads at most historyPages pages; conversations.replies (oldest
// first, a whole thread) reads a few more. lookback keeps out messages
// older than the outbox's 30-day sent record: an id may be posted anew
// once that record has expired, and must not match its predecessor.
const (
	lookupPageSize = 200
	historyPages   = 3
	repliesPages   = 5
	lookback       = 30 * 24 * time.Hour
	// partialTTL bounds how long a partial finding waits for the Send
	// that follows it in the same outbox step.
	partialTTL = 2 * time.Minute
)

var _ bot.DeliveryChecker = (*Adapter)(nil)

// metadataID is what a message's metadata carries for a delivery id: a
// hash, so the metadata has a fixed size and reveals nothing of the
// outbox id (ids may name reports), whatever characters the id holds.
func metadataID(deliveryID string) string {
	sum := sha256.Sum256([]byte(deliveryID))
	return hex.EncodeToString(sum[:16])
}

// deliveryMetadata is the metadata of part n (1-based) of a message sent
// in parts pieces.
func deliveryMetadata(deliveryID string, n, parts int) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: metadataEventType, EventPayload: map[string]any{
		"id": metadataID(deliveryID), "part": n, "parts": parts,
	}}
}

// partOf reads Vigil's metadata from a message: the part number and the
// number of parts, ok only if it carries the given metadata id.
func partOf(m slack.Message, id string) (part, parts int, ok bool) {
	md := m.Metadata
	if md.EventType != metadataEventType || md.EventPayload == nil {
		return 0, 0, false
	}
	if got, _ := md.EventPayload["id"].(string); got != id {
		return 0, 0, false
	}
	part, okPart := payloadInt(md.EventPayload["part"])
	parts, okParts := payloadInt(md.EventPayload["parts"])
	if !okPart || !okParts || part < 1 || part > parts {
		return 0, 0, false
	}
	return part, parts, true
}

// payloadInt reads a JSON number (decoded as float64) that is a whole
// number; anything else is not Vigil's metadata.
func payloadInt(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

// partialDelivery is what WasDelivered found of a split message whose
// last part is missing: parts 1..have are in channel, the first at first.
// Send, called next by the outbox for the same message, posts the rest
// only. It is a hand-off between two calls of one outbox step on this
// replica, not a record: the history read is the truth, and a replica
// that crashes in between simply reads it again.
type partialDelivery struct {
	channel string
	parts   int
	have    int
	// files counts the message's files already uploaded (a send that
	// failed between uploads; see Send).
	files int
	first bot.MessageRef
	found time.Time
}

// WasDelivered looks in the destination (conversations.history, and the
// first part's thread for the later parts of a split message; or
// conversations.replies for a thread) for a message the bot posted with
// the delivery id in its metadata. A message sent in parts counts as
// delivered when its last part is there (parts are posted in order); the
// reference returned is the first part's, as Send returns. If only the
// first parts are there, it answers false and the Send that follows posts
// the others only. Rate limits and outages are returned as errors (the
// outbox checks again later); a look-up Slack refuses (a missing scope, a
// channel the bot left) answers false, so the message is sent again, as it
// would be without a check.
func (a *Adapter) WasDelivered(ctx context.Context, to bot.Destination, deliveryID string) (bot.MessageRef, bool, error) {
	if deliveryID == "" {
		return bot.MessageRef{}, false, nil
	}
	self := a.botUser()
	if self == "" {
		return bot.MessageRef{}, false, fmt.Errorf("slack: checking delivery: not connected to Slack yet: %w", bot.ErrUnavailable)
	}
	channel := to.Room.ID
	if to.IsDM() {
		var err error
		if channel, err = a.dmChannel(ctx, to.DM.ID); err != nil {
			return a.lookupFailed(to, err) // already classified
		}
	}
	if channel == "" {
		return bot.MessageRef{}, false, nil
	}
	id := metadataID(deliveryID)
	if a.hasPartial(id) {
		// This replica's own send got part of the way (the text, not all
		// files): the Send that follows completes it.
		return bot.MessageRef{}, false, nil
	}
	found := map[int]string{} // part -> ts
	parts := 0
	visit := func(msgs []slack.Message) {
		for _, m := range msgs {
			// Only the bot's own messages: another app could set the
			// same metadata, and must not make Vigil skip a message.
			if m.User != self {
				continue
			}
			if p, n, ok := partOf(m, id); ok {
				if parts == 0 || n == parts {
					parts = n
					found[p] = m.Timestamp
				}
			}
		}
	}
	oldest := unixTS(a.clock.Now().Add(-lookback))
	var err error
	if to.Thread.IsZero() {
		err = a.scanHistory(ctx, channel, oldest, visit, func() bool { return found[1] != "" })
		if err == nil && parts > 1 && found[1] != "" && found[parts] == "" {
			// Send posts the later parts in the first one's thread.
			err = a.scanReplies(ctx, channel, found[1], oldest, visit)
		}
	} else {
		err = a.scanReplies(ctx, channel, to.Thread.ID, oldest, visit)
	}
	if err != nil {
		return a.lookupFailed(to, classify("conversations.history/replies", err))
	}
	if parts == 0 {
		return bot.MessageRef{}, false, nil
	}
	have := 0
	for found[have+1] != "" {
		have++
	}
	if have == 0 {
		// Later parts without the first: not something Send produces
		// (it stops at the first failure); send it all again.
		return bot.MessageRef{}, false, nil
	}
	first := bot.MessageRef{Room: roomRef(channel), ID: found[1]}
	if found[parts] != "" {
		return first, true, nil
	}
	a.mu.Lock()
	a.partials[id] = partialDelivery{channel: channel, parts: parts, have: have, first: first, found: a.clock.Now()}
	a.mu.Unlock()
	a.log.Info("a message in doubt was partly delivered; the rest will follow", "parts", parts, "delivered", have)
	return bot.MessageRef{}, false, nil
}

// lookupFailed sorts a failed look-up (err already classified): what may
// pass is returned for the outbox to retry; a refusal answers "not
// delivered" (and says why in the log), because a check that can never
// succeed must not keep the message from being sent.
func (a *Adapter) lookupFailed(to bot.Destination, err error) (bot.MessageRef, bool, error) {
	if errors.Is(err, bot.ErrRejected) {
		a.log.Warn("cannot check whether a message in doubt was delivered; sending it again (it may show twice). "+
			"The app needs channels:history, groups:history and im:history", "to", to.String(), "err", err)
		return bot.MessageRef{}, false, nil
	}
	return bot.MessageRef{}, false, fmt.Errorf("slack: checking delivery to %s: %w", to, err)
}

// scanHistory reads the channel newest first, at most historyPages pages,
// until done says the message was found.
func (a *Adapter) scanHistory(ctx context.Context, channel, oldest string, visit func([]slack.Message), done func() bool) error {
	cursor := ""
	for range historyPages {
		resp, err := a.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channel, Cursor: cursor, Limit: lookupPageSize, Oldest: oldest, IncludeAllMetadata: true,
		})
		if err != nil {
			return err
		}
		visit(resp.Messages)
		cursor = resp.ResponseMetaData.NextCursor
		if done() || !resp.HasMore || cursor == "" {
			return nil
		}
	}
	return nil
}

// scanReplies reads a thread (its root first, then the replies oldest
// first), at most repliesPages pages.
func (a *Adapter) scanReplies(ctx context.Context, channel, thread, oldest string, visit func([]slack.Message)) error {
	cursor := ""
	for range repliesPages {
		msgs, more, next, err := a.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: thread, Cursor: cursor, Limit: lookupPageSize, Oldest: oldest, IncludeAllMetadata: true,
		})
		if err != nil {
			return err
		}
		visit(msgs)
		if !more || next == "" {
			return nil
		}
		cursor = next
	}
	return nil
}

// keepPartial records that a send got part of the way (its text, some
// files) before failing, so the outbox's retry completes it instead of
// posting the text again. A message without a delivery id (a direct
// reply) is not retried and keeps nothing.
func (a *Adapter) keepPartial(deliveryID string, p partialDelivery) {
	if deliveryID == "" {
		return
	}
	p.found = a.clock.Now()
	a.mu.Lock()
	a.partials[metadataID(deliveryID)] = p
	a.mu.Unlock()
}

// hasPartial reports whether a fresh partial delivery is recorded under
// the metadata id.
func (a *Adapter) hasPartial(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.partials[id]
	return ok && a.clock.Now().Sub(p.found) <= partialTTL
}

// takePartial returns (and forgets) what WasDelivered found of a split
// message, if it matches the message about to be sent.
func (a *Adapter) takePartial(deliveryID, channel string, parts int) (partialDelivery, bool) {
	if deliveryID == "" {
		return partialDelivery{}, false
	}
	id := metadataID(deliveryID)
	now := a.clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, p := range a.partials {
		if now.Sub(p.found) > partialTTL {
			delete(a.partials, k)
		}
	}
	p, ok := a.partials[id]
	delete(a.partials, id)
	// A message that renders differently now (another Vigil version)
	// cannot be completed part by part: it is sent whole.
	if !ok || p.channel != channel || p.parts != parts {
		return partialDelivery{}, false
	}
	return p, true
}

// unixTS formats a time as a Slack timestamp bound ("seconds.micros").
func unixTS(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + ".000000"
}
