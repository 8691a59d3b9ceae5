package bot

import (
	"context"
	"errors"
	"fmt"
)

// Messages that update (issue 16): a message Vigil sent is replaced in
// place rather than posted again, through the adapter's Editor.

// Edit replaces the message ref (one Vigil sent in a room) with msg now,
// through the privacy rule. It is for a message whose reference is known;
// a message posted with PostRoot is edited with EditRoot, which waits for
// it to be posted and retries.
//
// An adapter without an Editor keeps the message as it was and Edit
// returns nil: what changed is told in the thread by the feature that
// changed it, and posting every new version there as well would bury the
// conversation under copies of one message.
func (e *Engine) Edit(ctx context.Context, ref MessageRef, msg Message) error {
	return e.edit(ctx, ToRoom(ref.Room, ThreadRef{}), ref, msg)
}

// edit is the one door for edits, as deliver is for sends: to is where the
// message is (for the privacy rule: a room, or the DM it was sent in).
func (e *Engine) edit(ctx context.Context, to Destination, ref MessageRef, msg Message) error {
	if ref.IsZero() {
		return errors.New("edit: no message to edit")
	}
	if err := e.checkPrivacy(to, msg); err != nil {
		return err
	}
	adapter := ref.Room.Adapter
	if adapter == "" {
		adapter = to.Adapter()
	}
	a, ok := e.adapter(adapter)
	if !ok {
		return fmt.Errorf("%w: no %q adapter is connected", ErrRejected, adapter)
	}
	ed, ok := a.(Editor)
	if !ok {
		e.log.Debug("the adapter cannot edit messages; the message stays as it was", "adapter", adapter, "message", ref.ID)
		return nil
	}
	if err := ed.Edit(ctx, ref, e.withConfirms(e.resolveTokens(ctx, to, msg))); err != nil {
		return fmt.Errorf("edit %s in %s: %w", ref.ID, to, err)
	}
	return nil
}

// EditRoot replaces a message posted with PostRoot under rootID, through
// the outbox: the edit is stored first, waits until the root is posted,
// and is retried like a send. A newer edit of the same root replaces one
// still waiting (the last version wins), and sending an edit again after a
// crash only shows the same version again. An edit the chat service
// refuses for good, or that fails past the outbox caps, is logged and
// dropped (the message keeps its previous version) rather than made a dead
// letter: the next change edits it again.
func (e *Engine) EditRoot(ctx context.Context, rootID string, msg Message) error {
	return e.outbox.enqueueEdit(ctx, rootID, msg)
}

// Update replaces the message the request's button sat on
// (Event.Message) with msg: the report a checklist tick changed, a swap
// request once answered. It does nothing for other requests.
func (r *Request) Update(ctx context.Context, msg Message) error {
	if r.Event.Kind != EventButton || r.Event.Message.IsZero() {
		return nil
	}
	ref := r.Event.Message
	if ref.Room.IsZero() {
		ref.Room = r.Event.Room
	}
	to := ToRoom(ref.Room, ThreadRef{})
	if r.Event.DM {
		to = ToUser(r.Event.User)
	}
	return r.engine.edit(ctx, to, ref, msg)
}

// withConfirms fills the Confirm of each button whose action is registered
// with one, so every adapter that draws confirm dialogs (Slack) asks
// before a destructive or public action, whoever rendered the button.
func (e *Engine) withConfirms(msg Message) Message {
	if len(msg.Buttons) == 0 {
		return msg
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	var buttons []Button
	for i, b := range msg.Buttons {
		a, ok := e.actions[b.Action]
		if !ok || a.Confirm == nil || b.Confirm != nil {
			continue
		}
		if buttons == nil {
			buttons = append([]Button(nil), msg.Buttons...)
		}
		c := a.Confirm(b.Value)
		buttons[i].Confirm = &c
	}
	if buttons != nil {
		msg.Buttons = buttons
	}
	return msg
}
