package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/vigil-sec/vigil/bot"
)

var _ bot.PrivateReplier = (*Adapter)(nil)

// ReplyPrivately shows msg to the asker only. A slash command or a button
// press carries a response_url: the answer is posted there as an
// ephemeral message, which works in channels the bot is not a member of
// (a /sec help typed anywhere). Without one, or when it has expired or
// been used up (Slack allows five answers in 30 minutes), the answer is a
// chat.postEphemeral in the channel (and thread) of the event. A DM is
// private already and gets an ordinary message. Ephemeral messages cannot
// be edited or threaded on later, so the reference returned names the
// channel and no message.
func (a *Adapter) ReplyPrivately(ctx context.Context, ev bot.Event, to bot.Destination, msg bot.Message) (bot.MessageRef, error) {
	if to.IsDM() || ev.DM {
		if !to.IsDM() {
			to = bot.ToUser(ev.User)
		}
		return a.Send(ctx, bot.Destination{DM: to.DM}, msg)
	}
	user := to.Only
	if user.IsZero() {
		user = ev.User
	}
	channel := to.Room.ID
	if channel == "" {
		channel = ev.Room.ID
	}
	if channel == "" || user.ID == "" {
		return bot.MessageRef{}, fmt.Errorf("slack: a private answer needs a channel and a person (%s): %w", to, bot.ErrRejected)
	}
	thread := to.Thread.ID
	ref := bot.MessageRef{Room: roomRef(channel)}
	parts := render(msg)
	untrusted := msg.HasUntrusted()
	if ev.ResponseURL != "" {
		err := a.postResponses(ctx, ev.ResponseURL, thread, parts, untrusted)
		if err == nil {
			return ref, nil
		}
		// Never log the URL: it lets anyone answer in the person's name.
		a.log.Info("answering by chat.postEphemeral: the response_url did not take the answer", "channel", channel, "err", err)
	}
	for _, part := range parts {
		opts := []slack.MsgOption{slack.MsgOptionText(part.text, false)}
		if len(part.blocks) > 0 {
			opts = append(opts, slack.MsgOptionBlocks(part.blocks...))
		}
		if untrusted {
			opts = append(opts, slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
		}
		if thread != "" {
			opts = append(opts, slack.MsgOptionTS(thread))
		}
		if _, err := a.api.PostEphemeralContext(ctx, channel, user.ID, opts...); err != nil {
			return ref, classify("chat.postEphemeral", err)
		}
	}
	return ref, nil
}

// responsePayload is what a response_url takes: an ephemeral message that
// never replaces the one a button sat on.
type responsePayload struct {
	ResponseType    string        `json:"response_type"`
	ReplaceOriginal bool          `json:"replace_original"`
	Text            string        `json:"text"`
	Blocks          []slack.Block `json:"blocks,omitempty"`
	ThreadTS        string        `json:"thread_ts,omitempty"`
	UnfurlLinks     *bool         `json:"unfurl_links,omitempty"`
	UnfurlMedia     *bool         `json:"unfurl_media,omitempty"`
}

// maxResponses is how many answers Slack takes at one response_url.
const maxResponses = 5

// postResponses posts each part to the response_url, in order. It is
// written here rather than through slack-go, whose response_url sender
// drops unfurl_links and unfurl_media: untrusted text must not unfurl.
func (a *Adapter) postResponses(ctx context.Context, responseURL, thread string, parts []outgoing, untrusted bool) error {
	if len(parts) > maxResponses {
		return fmt.Errorf("slack response_url: %d parts, more than the %d answers Slack takes: %w", len(parts), maxResponses, bot.ErrRejected)
	}
	no := false
	for _, part := range parts {
		p := responsePayload{ResponseType: slack.ResponseTypeEphemeral, Text: part.text, Blocks: part.blocks, ThreadTS: thread}
		if untrusted {
			p.UnfurlLinks, p.UnfurlMedia = &no, &no
		}
		body, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("slack response_url: encoding the answer: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
		if err != nil {
			// The error would quote the URL; say what kind it is.
			return fmt.Errorf("slack response_url: not a usable URL: %w", bot.ErrRejected)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := a.httpClient.Do(req)
		if err != nil {
			return fmt.Errorf("slack response_url: %s: %w", cause(err), bot.ErrUnavailable)
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		_ = resp.Body.Close()
		if err := responseError(resp.StatusCode, answer); err != nil {
			return err
		}
	}
	return nil
}

// responseError reads Slack's answer to a response_url post: "ok" (or
// {"ok":true}) on success; 404 with expired_url or used_url, or another
// error, otherwise.
func responseError(status int, body []byte) error {
	text := strings.TrimSpace(string(body))
	var js struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &js) == nil {
		if js.OK {
			return nil
		}
		text = js.Error
	} else if status == http.StatusOK && (text == "" || text == "ok") {
		return nil
	}
	if len(text) > 64 {
		text = text[:64]
	}
	switch {
	case status == http.StatusTooManyRequests:
		return fmt.Errorf("slack response_url: HTTP %d: %w", status, bot.ErrRateLimited)
	case status >= 500:
		return fmt.Errorf("slack response_url: HTTP %d: %w", status, bot.ErrUnavailable)
	}
	return fmt.Errorf("slack response_url: HTTP %d %q: %w", status, text, bot.ErrRejected)
}
