package matrix

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

var _ bot.Editor = (*Adapter)(nil)

// Edit replaces a message Vigil sent with msg: an m.replace event whose
// m.new_content is the message as Send renders it (body, HTML, m.mentions)
// and whose own body is the "* "-prefixed fallback for clients without
// edits. It is encrypted like Send in an encrypted room. Its m.mentions
// lists only the people the new version mentions and the old one did not,
// so an edit pings nobody twice. The message's buttons follow: keycap
// reactions and numbered replies press the new buttons, none once they are
// gone.
//
// The transaction id is derived from the message, the number of edits
// Vigil made to it and the new content: an edit sent again after a crash
// (the outbox's in-doubt resend) shows once, while going back to an
// earlier version (a box ticked, then unticked) is a new event.
func (a *Adapter) Edit(ctx context.Context, ref bot.MessageRef, msg bot.Message) error {
	if err := a.notReady(); err != nil {
		return err
	}
	if ref.Room.ID == "" || ref.ID == "" {
		return fmt.Errorf("matrix: edit of %+v: no message named: %w", ref, bot.ErrRejected)
	}
	rid, target := id.RoomID(ref.Room.ID), id.EventID(ref.ID)
	if err := a.knowEncryption(ctx, rid); err != nil {
		return err
	}
	rec, known, err := a.loadRecord(ctx, target)
	if err != nil {
		return fmt.Errorf("matrix: edit: %v: %w", err, bot.ErrUnavailable)
	}
	if !known {
		rec.Room = ref.Room.ID
		if len(msg.Buttons) > 0 {
			// Buttons added to a message Vigil knew nothing of: a press
			// answers in the message's thread, so find it.
			rec.Thread = string(a.threadOf(ctx, rid, target))
		}
	}
	newContent := noticeContent(msg)
	content := editContent(target, newContent, rec.Mentions)
	key, err := json.Marshal(newContent)
	if err != nil {
		return fmt.Errorf("matrix: edit: %v: %w", err, bot.ErrRejected)
	}
	txn := txnID("edit|" + string(target) + "|" + strconv.Itoa(rec.Edits) + "|" + string(key))
	if _, err := a.client.SendMessageEvent(mautrix.WithMaxRetries(ctx, 0), rid, event.EventMessage, content, mautrix.ReqSendEvent{TransactionID: txn}); err != nil {
		return classify("edit", err)
	}
	rec.Buttons = msg.Buttons
	rec.Mentions = newContent.Mentions.UserIDs
	rec.Edits++
	a.rememberButtons(ctx, target, rec)
	return nil
}

// editFallbackMax bounds the fallback of an edit (body and HTML): the new
// content is in m.new_content already, and both must fit in one event
// (65,536 bytes); a longer fallback is cut to half as much plain text.
const editFallbackMax = 10000

// editContent is the m.replace event for target with newContent; before
// lists whom the message mentioned so far.
func editContent(target id.EventID, newContent *event.MessageEventContent, before []id.UserID) *event.MessageEventContent {
	had := map[id.UserID]bool{}
	for _, u := range before {
		had[u] = true
	}
	added := &event.Mentions{}
	for _, u := range newContent.Mentions.UserIDs {
		if !had[u] {
			added.UserIDs = append(added.UserIDs, u)
		}
	}
	content := &event.MessageEventContent{
		MsgType:       newContent.MsgType,
		Body:          "* " + newContent.Body,
		Format:        event.FormatHTML,
		FormattedBody: "* " + newContent.FormattedBody,
		Mentions:      added,
		NewContent:    newContent,
		RelatesTo:     (&event.RelatesTo{}).SetReplace(target),
	}
	if len(newContent.Body)+len(newContent.FormattedBody) > editFallbackMax {
		cut := content.Body[:min(len(content.Body), editFallbackMax/2)]
		for !utf8.ValidString(cut) {
			cut = cut[:len(cut)-1]
		}
		content.Body, content.Format, content.FormattedBody = cut+"…", "", ""
	}
	return content
}

// threadOf is the thread an event is in, read from the homeserver ("" if
// none, or if the event cannot be read: the relation is in the clear even
// in encrypted rooms).
func (a *Adapter) threadOf(ctx context.Context, room id.RoomID, evt id.EventID) id.EventID {
	got, err := a.client.GetEvent(ctx, room, evt)
	if err != nil {
		a.log.Warn("could not read a message's thread; its buttons answer in the room", "room", room, "event", evt, "err", classify("read an event", err))
		return ""
	}
	var c struct {
		RelatesTo *event.RelatesTo `json:"m.relates_to"`
	}
	if err := json.Unmarshal(got.Content.VeryRaw, &c); err != nil {
		return ""
	}
	return c.RelatesTo.GetThreadParent()
}
