package slack

import (
	"bytes"
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

// Files (bot.Message.Files) are uploaded natively, after the message's
// text, into the same conversation and thread: Slack's files.uploadV2
// flow, as slack-go's UploadFileContext runs it: files.getUploadURLExternal
// (the name, size and alt text), the bytes posted to the URL Slack answers
// (on files.slack.com; slack-go sends the token nowhere else), then
// files.completeUploadExternal, which shares the file into channel_id (and
// thread_ts). It needs the files:write scope.

// uploadFiles uploads files into channel (and thread, when not empty), in
// order, starting with files[skip]. It returns how many of files are in
// Slack when it stops, and the error that stopped it.
func (a *Adapter) uploadFiles(ctx context.Context, channel, thread string, files []bot.File, skip int) (int, error) {
	for i := skip; i < len(files); i++ {
		f := files[i]
		name := f.SafeName()
		params := slack.UploadFileParameters{
			Reader:          bytes.NewReader(f.Data),
			FileSize:        len(f.Data),
			Filename:        name,
			Title:           name,
			Channel:         channel,
			ThreadTimestamp: thread,
		}
		if f.IsImage() {
			params.AltTxt = f.SafeAlt()
		}
		if _, err := a.api.UploadFileContext(ctx, params); err != nil {
			return i, fmt.Errorf("upload %s: %w", name, classify("files.uploadV2", err))
		}
	}
	return len(files), nil
}
