package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

// captured is a war-room message as Vigil saw it. A reaction event names
// only the message it is on (Slack and Matrix do not repeat its text or
// author), so every message said in a war room is kept, and a 📌 later
// finds it here.
type captured struct {
	Incident string    `json:"incident"`
	Author   string    `json:"author"`
	At       time.Time `json:"at"`
	Text     string    `json:"text"`
}

// messageKey names a chat message across adapters and rooms.
func messageKey(m bot.MessageRef) string {
	return m.Room.Adapter + ":" + m.Room.ID + ":" + m.ID
}

// warRoom finds the open incident whose war room the event is in: the
// thread under its status header, or anywhere in the incident's own room
// (start --room). The console has no threads for what a
// person types, so there a line outside any thread belongs to the one open
// incident of the console, if there is exactly one.
func (inc *Incidents) warRoom(ctx context.Context, room bot.RoomRef, thread bot.ThreadRef) (*Incident, error) {
	open, err := inc.openIncidents(ctx)
	if err != nil {
		return nil, err
	}
	var here []*Incident
	for _, in := range open {
		if in.Room != room {
			continue
		}
		if in.OwnRoom {
			return in, nil
		}
		here = append(here, in)
		if thread.IsZero() {
			continue
		}
		ref, ok, err := inc.e.Outbox().PostedRef(ctx, rootID(in.ID))
		if err != nil {
			return nil, err
		}
		if ok && ref.ID == thread.ID {
			return in, nil
		}
	}
	if thread.IsZero() && room == bot.ConsoleRoom && len(here) == 1 {
		return here[0], nil
	}
	return nil, nil
}

// onMessage keeps messages said in a war room, so a reaction can put them
// on the timeline.
func (inc *Incidents) onMessage(ctx context.Context, req *bot.Request) error {
	ev := req.Event
	if !req.Private || ev.DM || ev.Message.IsZero() || !req.Person.OnTeam() {
		return nil
	}
	in, err := inc.warRoom(ctx, ev.Room, ev.Thread)
	if err != nil || in == nil {
		return err
	}
	data, err := json.Marshal(captured{Incident: in.ID, Author: req.Actor(), At: req.Now(), Text: ev.Text})
	if err != nil {
		return fmt.Errorf("incident %s: keep message: %w", in.ID, err)
	}
	if _, err := inc.e.Store().Put(ctx, messageColl, messageKey(ev.Message), data, store.AnyVersion); err != nil {
		return fmt.Errorf("incident %s: keep message: %w", in.ID, err)
	}
	return nil
}

// reactionKey normalises a reaction: Slack names it ("pushpin"), Matrix
// and the console send the emoji, sometimes with a variation selector.
func reactionKey(s string) string {
	s = strings.Trim(strings.TrimSpace(s), ":")
	s = strings.ReplaceAll(s, "\ufe0f", "")
	if name, ok := emojiNames[s]; ok {
		return name
	}
	return strings.ToLower(s)
}

// emojiNames maps the emoji likely to be configured to Slack's names.
var emojiNames = map[string]string{
	"📌": "pushpin", "📍": "round_pushpin", "📎": "paperclip", "🖇": "linked_paperclips",
	"🔍": "mag", "🧾": "receipt", "🗒": "spiral_note_pad", "⭐": "star", "🔖": "bookmark",
}

// onReaction turns a 📌 (or the evidence reaction) on a war-room message
// into a timeline entry with the message's time, author and text.
func (inc *Incidents) onReaction(ctx context.Context, req *bot.Request) error {
	ev := req.Event
	key := reactionKey(ev.Reaction)
	var evidence bool
	switch key {
	case reactionKey(inc.o.PinReaction):
	case reactionKey(inc.o.EvidenceReaction):
		evidence = true
	default:
		return nil
	}
	if !req.Private || ev.DM || ev.Message.IsZero() || !req.Person.OnTeam() {
		return nil
	}
	msgKey := messageKey(ev.Message)
	var c captured
	doc, err := inc.e.Store().Get(ctx, messageColl, msgKey)
	switch {
	case err == nil:
		if err := json.Unmarshal(doc.Data, &c); err != nil {
			return fmt.Errorf("war-room message %s: %w: %v", msgKey, store.ErrCorrupt, err)
		}
	case errors.Is(err, store.ErrNotFound):
		// Not a message Vigil saw said: one of its own in the war room
		// (the console passes their text along), or one from before it
		// joined. Without the text there is nothing to put on the record.
		if ev.Text == "" {
			return nil
		}
		in, err := inc.warRoom(ctx, ev.Room, ev.Thread)
		if err != nil || in == nil {
			return err
		}
		c = captured{Incident: in.ID, Author: "vigil", At: req.Now(), Text: ev.Text}
	default:
		return fmt.Errorf("war-room message %s: %w", msgKey, err)
	}
	var added *Entry
	in, err := inc.update(ctx, c.Incident, func(in *Incident) error {
		added = nil
		for _, e := range in.Entries {
			if e.Message == msgKey && e.Evidence == evidence && !e.Removed {
				return nil // marked twice
			}
		}
		e := Entry{N: len(in.Entries) + 1, At: c.At, Author: c.Author, Text: bot.Untrusted(c.Text), Evidence: evidence, Message: msgKey, Logged: req.Now(), By: req.Actor()}
		in.Entries = append(in.Entries, e)
		added = &e
		return nil
	})
	if err != nil || added == nil {
		return err
	}
	what := "Timeline"
	if evidence {
		what = "Evidence"
	}
	return inc.sayf(ctx, in, fmt.Sprintf("entry:%d", added.N), "%s #%d (%s, @%s): %s", what, added.N, stamp(added.At, true), added.Author, added.Text)
}
