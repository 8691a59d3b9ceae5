package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// Confirmation of a button's action where the platform does not ask by
// itself (Matrix, the console): the press is kept as a pending
// confirmation and the presser's next message in that room decides: "yes"
// (or "y") runs the action, anything else cancels it. On Slack the button
// carries a confirm dialog and the press arrives with Event.Confirmed.

const (
	confirmCollection = "confirm.pending"
	// ConfirmWindow is how long a pending confirmation waits for "yes".
	ConfirmWindow = 5 * time.Minute
)

// pendingConfirm is a press waiting for its "yes".
type pendingConfirm struct {
	Action  string     `json:"action"`
	Value   string     `json:"value,omitempty"`
	Room    RoomRef    `json:"room"`
	Thread  ThreadRef  `json:"thread,omitzero"`
	Message MessageRef `json:"message,omitzero"`
	DM      bool       `json:"dm,omitempty"`
	Prefix  string     `json:"prefix,omitempty"`
	Expires time.Time  `json:"expires"`
}

// confirmKey: one pending confirmation per person per room.
func confirmKey(ev Event) string {
	return ev.User.Adapter + "|" + ev.User.ID + "|" + ev.Room.String()
}

// askConfirmation keeps the press and asks the presser to confirm it.
func (e *Engine) askConfirmation(ctx context.Context, req *Request, a *Action) error {
	ev := req.Event
	p := pendingConfirm{
		Action: ev.Action, Value: ev.Value, Room: ev.Room, Thread: ev.Thread, Message: ev.Message,
		DM: ev.DM, Prefix: ev.Prefix, Expires: e.clock.Now().Add(ConfirmWindow),
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("confirmation of %s: %w", ev.Action, err)
	}
	// A newer press replaces an older one still waiting: the question
	// answered is the last one asked.
	if _, err := e.store.Put(ctx, confirmCollection, confirmKey(ev), data, store.AnyVersion); err != nil {
		return fmt.Errorf("confirmation of %s: %w", ev.Action, err)
	}
	c := a.Confirm(ev.Value)
	question := strings.TrimSpace(c.Title)
	if c.Text != "" {
		if question != "" {
			question = "*" + question + "* "
		}
		question += c.Text
	}
	_, err = req.Reply(ctx, Text(fmt.Sprintf("%s\nReply `yes` within %d minutes to confirm; anything else cancels.", question, int(ConfirmWindow/time.Minute))))
	return err
}

// answerConfirmation takes a message as the answer to the speaker's
// pending confirmation in this room, if there is one. It reports whether
// the message was "yes" and so used up; any other message cancels the
// confirmation and goes on to forms and hooks as usual.
func (e *Engine) answerConfirmation(ctx context.Context, req *Request) (bool, error) {
	key := confirmKey(req.Event)
	p, version, err := store.GetJSON[pendingConfirm](ctx, e.store, confirmCollection, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pending confirmation: %w", err)
	}
	// Taken with compare-and-swap, so a "yes" sent twice runs the action
	// once.
	if err := e.store.Delete(ctx, confirmCollection, key, version); errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("pending confirmation: %w", err)
	}
	if !e.clock.Now().Before(p.Expires) {
		return false, nil
	}
	answer := strings.ToLower(strings.Trim(strings.TrimSpace(req.Event.Text), ".!"))
	if answer != "yes" && answer != "y" {
		return false, req.Replyf(ctx, "Cancelled; nothing was done.")
	}
	press := &Request{
		Event: Event{
			Kind: EventButton, Room: p.Room, Thread: p.Thread, User: req.Event.User, DM: p.DM,
			Message: p.Message, Action: p.Action, Value: p.Value, Prefix: p.Prefix, Confirmed: true,
		},
		Person: req.Person, Private: req.Private, engine: e, to: req.to,
	}
	// Roles and places are checked again: they may have changed in the
	// five minutes.
	return true, e.runAction(ctx, press)
}
