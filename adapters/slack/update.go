package slack

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

var _ bot.Editor = (*Adapter)(nil)

// Edit replaces a message Vigil posted (chat.update) with msg, rendered
// and escaped as Send renders it. An edit is one Slack message: the first
// that Send would post (for a long text, its beginning with the header,
// fields, buttons and context; what Send put in the thread stays as it
// was). The same edit twice shows the same message.
func (a *Adapter) Edit(ctx context.Context, ref bot.MessageRef, msg bot.Message) error {
	if ref.Room.ID == "" || ref.ID == "" {
		return fmt.Errorf("slack: editing a message needs its channel and ts: %w", bot.ErrRejected)
	}
	part := render(msg)[0]
	opts := []slack.MsgOption{slack.MsgOptionText(part.text, false)}
	if len(part.blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(part.blocks...))
	}
	if _, _, _, err := a.api.UpdateMessageContext(ctx, ref.Room.ID, ref.ID, opts...); err != nil {
		return classify("chat.update", err)
	}
	return nil
}
