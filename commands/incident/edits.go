package incident

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store"
)

// keptMessage loads a war-room message Vigil kept, or reports false when
// it never saw it (said elsewhere, or before Vigil was there).
func (inc *Incidents) keptMessage(ctx context.Context, req *bot.Request) (captured, string, bool, error) {
	ev := req.Event
	if !req.Private || ev.DM || ev.Message.IsZero() {
		return captured{}, "", false, nil
	}
	key := messageKey(ev.Message)
	doc, err := inc.e.Store().Get(ctx, messageColl, key)
	if errors.Is(err, store.ErrNotFound) {
		return captured{}, key, false, nil
	}
	if err != nil {
		return captured{}, key, false, fmt.Errorf("war-room message %s: %w", key, err)
	}
	var c captured
	if err := json.Unmarshal(doc.Data, &c); err != nil {
		return captured{}, key, false, fmt.Errorf("war-room message %s: %w: %v", key, store.ErrCorrupt, err)
	}
	return c, key, true, nil
}

// onEdit follows an edited war-room message: the kept copy takes the new
// text, and so do the timeline and evidence entries made from it (marked
// edited; their time and author stay the message's). Whoever the platform
// says edited it counts: Slack lets only the author edit, and the message
// is in the private room.
func (inc *Incidents) onEdit(ctx context.Context, req *bot.Request) error {
	c, key, ok, err := inc.keptMessage(ctx, req)
	if err != nil || !ok {
		return err
	}
	text := req.Event.Text
	if strings.TrimSpace(text) == "" || text == c.Text {
		return nil // an unfurl or a change of something else than the text
	}
	c.Text = text
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("incident %s: keep the edited message: %w", c.Incident, err)
	}
	if _, err := inc.e.Store().Put(ctx, messageColl, key, data, store.AnyVersion); err != nil {
		return fmt.Errorf("incident %s: keep the edited message: %w", c.Incident, err)
	}
	var changed []Entry
	in, err := inc.update(ctx, c.Incident, func(in *Incident) error {
		changed = nil
		for i := range in.Entries {
			e := &in.Entries[i]
			if e.Message == key && !e.Removed && e.Text != bot.Untrusted(text) {
				e.Text, e.Edited = bot.Untrusted(text), true
				changed = append(changed, *e)
			}
		}
		return nil
	})
	if err != nil || len(changed) == 0 {
		return err
	}
	suffix := req.Event.ID
	if suffix == "" {
		sum := sha256.Sum256([]byte(req.Now().Format(time.RFC3339Nano) + "\x00" + text))
		suffix = hex.EncodeToString(sum[:6])
	}
	var errs []error
	for _, e := range changed {
		if err := req.Record(ctx, "incident.entry", in.ID, fmt.Sprintf("#%d follows an edit of its message", e.N)); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, inc.sayf(ctx, in, "entry:"+strconv.Itoa(e.N)+":edit:"+suffix,
			"%s #%d follows the edit of its message (%s, @%s): %s", entryKind(e), e.N, stamp(e.At, true), e.Author, e.Text))
	}
	return errors.Join(errs...)
}

// onDelete follows a deleted war-room message: the entries made from it
// are removed, and the kept copy is dropped. The war room is told, without
// the text: a message is often deleted because it should not have been
// said.
func (inc *Incidents) onDelete(ctx context.Context, req *bot.Request) error {
	c, key, ok, err := inc.keptMessage(ctx, req)
	if err != nil || !ok {
		return err
	}
	var removed []Entry
	in, err := inc.update(ctx, c.Incident, func(in *Incident) error {
		removed = nil
		for i := range in.Entries {
			e := &in.Entries[i]
			if e.Message == key && !e.Removed {
				e.Removed = true
				removed = append(removed, *e)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := inc.e.Store().Delete(ctx, messageColl, key, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("incident %s: forget the deleted message: %w", c.Incident, err)
	}
	var errs []error
	for _, e := range removed {
		if err := req.Record(ctx, "incident.entry", in.ID, fmt.Sprintf("#%d removed: its message was deleted", e.N)); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, inc.sayf(ctx, in, "entry:"+strconv.Itoa(e.N)+":deleted",
			"%s #%d (%s, @%s) removed: its message was deleted.", entryKind(e), e.N, stamp(e.At, true), e.Author))
	}
	return errors.Join(errs...)
}

func entryKind(e Entry) string {
	if e.Evidence {
		return "Evidence"
	}
	return "Timeline"
}
