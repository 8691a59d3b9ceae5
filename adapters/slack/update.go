package slack

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

var _ bot.Editor = (*Adapter)(nil)

// Edit replaces a message Vigil posted (chat.update) with msg, rendered
// and escaped as Send renders it. An edit is one Slack message: when msg
// would need several, its text is shortened (the header, fields, buttons
// and context stay) so the message keeps its place and its buttons. The
// same edit twice shows the same message.
func (a *Adapter) Edit(ctx context.Context, ref bot.MessageRef, msg bot.Message) error {
	if ref.Room.ID == "" || ref.ID == "" {
		return fmt.Errorf("slack: editing a message needs its channel and ts: %w", bot.ErrRejected)
	}
	part := renderOne(msg)
	opts := []slack.MsgOption{slack.MsgOptionText(part.text, false)}
	if len(part.blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(part.blocks...))
	}
	if _, _, _, err := a.api.UpdateMessageContext(ctx, ref.Room.ID, ref.ID, opts...); err != nil {
		return classify("chat.update", err)
	}
	return nil
}

// renderOne renders msg as a single Slack message, cutting its text as
// much as needed (a quarter at a time, a few rounds at most).
func renderOne(msg bot.Message) outgoing {
	for {
		parts := render(msg)
		if len(parts) == 1 || msg.Text == "" {
			return parts[0]
		}
		cut := len(msg.Text) * 3 / 4
		if cut < 1 {
			msg.Text = ""
			continue
		}
		msg.Text = truncate(msg.Text, cut)
	}
}
