package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/vigil-sec/vigil/bot"
)

// workingText is the note a person gets when a command is slow.
const workingText = "Working on it…"

func roomRef(channel string) bot.RoomRef {
	return bot.RoomRef{Adapter: bot.AdapterSlack, ID: channel}
}

func userRef(id string) bot.UserRef { return bot.UserRef{Adapter: bot.AdapterSlack, ID: id} }

// isDM: Slack's direct-message channel ids start with D.
func isDM(channel string) bool { return strings.HasPrefix(channel, "D") }

func threadRef(channel, ts string) bot.ThreadRef {
	if ts == "" {
		return bot.ThreadRef{}
	}
	return bot.ThreadRef{Room: roomRef(channel), ID: ts}
}

// accept queues an event for the engine behind earlier events of the same
// conversation (channel and thread). It reports false when the adapter is
// not running (not started yet, or shutting down), so the caller can tell
// Slack to try again later.
func (a *Adapter) accept(ev bot.Event) bool {
	return a.gate.Admit(func(ctx context.Context) { a.queue(ctx, ev) })
}

// queue hands ev to the engine behind its conversation's earlier events,
// under ctx (Run's). accept calls it through the gate, which keeps it in
// order against shutdown.
func (a *Adapter) queue(ctx context.Context, ev bot.Event) {
	// The timer starts now, when Slack is answered, and goes through the
	// engine's clock so tests can drive it.
	var done chan struct{}
	if ev.Kind == bot.EventCommand || ev.Kind == bot.EventButton {
		done = make(chan struct{})
		t := a.clock.NewTimer(a.workingAfter)
		go func() {
			select {
			case <-done:
				t.Stop()
			case <-t.C():
				a.postWorking(ctx, ev)
			case <-ctx.Done():
				t.Stop()
			}
		}()
	}
	key := ev.Room.ID + "|" + ev.Thread.ID
	a.serial.Do(key, func() {
		if done != nil {
			defer close(done)
		}
		a.engine.HandleEvent(ctx, ev)
	})
}

// postWorking tells the person (only them: an ephemeral message) that the
// command is still running: by the event's response_url when it has one,
// which also works in a channel the bot is not a member of, else by
// chat.postEphemeral.
func (a *Adapter) postWorking(ctx context.Context, ev bot.Event) {
	if ev.ResponseURL != "" {
		err := a.postResponses(ctx, ev.ResponseURL, ev.Thread.ID, []outgoing{{text: workingText}}, false)
		if err == nil {
			return
		}
		// Never log the URL: it lets anyone answer in the person's name.
		a.log.Debug("posting the working-on-it note by chat.postEphemeral: the response_url did not take it", "channel", ev.Room.ID, "err", err)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(workingText, false)}
	if !ev.Thread.IsZero() {
		opts = append(opts, slack.MsgOptionTS(ev.Thread.ID))
	}
	if _, err := a.api.PostEphemeralContext(ctx, ev.Room.ID, ev.User.ID, opts...); err != nil {
		a.log.Debug("could not post the working-on-it note", "channel", ev.Room.ID, "err", classify("chat.postEphemeral", err))
	}
}

// commandEvent turns a slash command into an event. The trigger id is the
// dedupe key: unique per invocation, and the same on a redelivery.
func (a *Adapter) commandEvent(cmd slack.SlashCommand) (bot.Event, bool) {
	if cmd.Command != a.command {
		a.log.Warn("ignoring an unknown slash command; check slack.command", "command", cmd.Command, "want", a.command)
		return bot.Event{}, false
	}
	ev := bot.Event{
		Kind:    bot.EventCommand,
		Room:    roomRef(cmd.ChannelID),
		User:    userRef(cmd.UserID),
		DM:      isDM(cmd.ChannelID),
		Text:    cmd.Text,
		Trigger: cmd.TriggerID,
		Prefix:  a.command,
		// Where private answers go, also in a channel the bot is not in;
		// a secret, never logged.
		ResponseURL: cmd.ResponseURL,
	}
	if cmd.TriggerID != "" {
		ev.ID = "trigger:" + cmd.TriggerID
	}
	return ev, true
}

// onCommand accepts a slash command.
func (a *Adapter) onCommand(cmd slack.SlashCommand) bool {
	ev, ok := a.commandEvent(cmd)
	if !ok {
		return true
	}
	return a.accept(ev)
}

// onEventCallback handles an Events API payload (the same JSON in both
// modes): mentions, messages and reactions. event_id becomes Event.ID, so a
// redelivery runs nothing twice (the engine keeps a seen-once key).
func (a *Adapter) onEventCallback(payload []byte) bool {
	var outer struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(payload, &outer); err != nil {
		a.log.Warn("ignoring an unreadable Events API payload", "err", err)
		return true
	}
	if a.onRoomChange(payload) {
		return true
	}
	parsed, err := slackevents.ParseEvent(payload, slackevents.OptionNoVerifyToken())
	if err != nil {
		// Event types Vigil did not subscribe to parse as errors too.
		a.log.Debug("ignoring an Events API payload", "err", err)
		return true
	}
	ev, ok := a.innerEvent(parsed.InnerEvent.Data)
	if !ok {
		return true
	}
	ev.ID = outer.EventID
	return a.accept(ev)
}

// innerEvent turns an Events API event into a bot.Event, or reports false
// for events Vigil ignores (its own messages and their edits, other bots).
func (a *Adapter) innerEvent(data any) (bot.Event, bool) {
	me := a.botUser()
	switch e := data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" || (me != "" && e.User == me) {
			return bot.Event{}, false
		}
		return bot.Event{
			Kind:    bot.EventCommand,
			Room:    roomRef(e.Channel),
			Thread:  threadRef(e.Channel, e.ThreadTimeStamp),
			User:    userRef(e.User),
			DM:      isDM(e.Channel),
			Message: bot.MessageRef{Room: roomRef(e.Channel), ID: e.TimeStamp},
			Text:    a.commandText(e.Text, me),
			Prefix:  a.command,
		}, true
	case *slackevents.MessageEvent:
		switch e.SubType {
		case "message_changed":
			return a.editEvent(e, me)
		case "message_deleted":
			return a.deleteEvent(e, me)
		}
		if e.BotID != "" || e.SubType != "" || e.User == "" || (me != "" && e.User == me) {
			return bot.Event{}, false
		}
		dm := e.ChannelType == "im" || isDM(e.Channel)
		mentioned := me != "" && strings.Contains(e.Text, "<@"+me+">")
		if mentioned && !dm {
			// Slack sends an app_mention for this message too; that one
			// runs it.
			return bot.Event{}, false
		}
		ev := bot.Event{
			Kind:    bot.EventMessage,
			Room:    roomRef(e.Channel),
			Thread:  threadRef(e.Channel, e.ThreadTimeStamp),
			User:    userRef(e.User),
			DM:      dm,
			Message: bot.MessageRef{Room: roomRef(e.Channel), ID: e.TimeStamp},
			Text:    e.Text,
			Prefix:  a.command,
		}
		if mentioned {
			ev.Kind, ev.Text = bot.EventCommand, a.commandText(e.Text, me)
		}
		return ev, true
	case *slackevents.ReactionAddedEvent:
		if e.Item.Type != "message" || (me != "" && e.User == me) {
			return bot.Event{}, false
		}
		return bot.Event{
			Kind:     bot.EventReaction,
			Room:     roomRef(e.Item.Channel),
			User:     userRef(e.User),
			DM:       isDM(e.Item.Channel),
			Message:  bot.MessageRef{Room: roomRef(e.Item.Channel), ID: e.Item.Timestamp},
			Reaction: e.Reaction,
			Prefix:   a.command,
		}, true
	}
	return bot.Event{}, false
}

// editEvent turns a message_changed event into an EventEdit: the message
// (its ts, thread and new text) is in e.Message. Changes that leave the text
// as it was (an unfurl, a reply count) and changes to messages of Vigil's
// or other bots are ignored. An edited command does not run again.
func (a *Adapter) editEvent(e *slackevents.MessageEvent, me string) (bot.Event, bool) {
	m := e.Message
	if m == nil || m.Timestamp == "" || m.BotID != "" || m.User == "" || (me != "" && m.User == me) {
		return bot.Event{}, false
	}
	if e.PreviousMessage != nil && e.PreviousMessage.Text == m.Text {
		return bot.Event{}, false
	}
	editor := m.User
	if m.Edited != nil && m.Edited.User != "" {
		editor = m.Edited.User
	}
	if me != "" && editor == me {
		return bot.Event{}, false
	}
	return bot.Event{
		Kind:    bot.EventEdit,
		Room:    roomRef(e.Channel),
		Thread:  threadRef(e.Channel, m.ThreadTimestamp),
		User:    userRef(editor),
		DM:      e.ChannelType == "im" || isDM(e.Channel),
		Message: bot.MessageRef{Room: roomRef(e.Channel), ID: m.Timestamp},
		Text:    m.Text,
		Prefix:  a.command,
	}, true
}

// deleteEvent turns a message_deleted event into an EventDelete for the
// message deleted_ts names. Slack does not say who deleted it; User is the
// message's author. Deletions of Vigil's own messages are ignored.
func (a *Adapter) deleteEvent(e *slackevents.MessageEvent, me string) (bot.Event, bool) {
	if e.DeletedTimeStamp == "" {
		return bot.Event{}, false
	}
	ev := bot.Event{
		Kind:    bot.EventDelete,
		Room:    roomRef(e.Channel),
		DM:      e.ChannelType == "im" || isDM(e.Channel),
		Message: bot.MessageRef{Room: roomRef(e.Channel), ID: e.DeletedTimeStamp},
		Prefix:  a.command,
	}
	if prev := e.PreviousMessage; prev != nil {
		if prev.BotID != "" || (me != "" && prev.User == me) {
			return bot.Event{}, false
		}
		ev.User = userRef(prev.User)
		ev.Thread = threadRef(e.Channel, prev.ThreadTimestamp)
	}
	return ev, true
}

// commandInDM runs a message in a DM with the bot (the app's Messages
// tab) as a command: "help", "report list" or "/sec whoami" typed there
// work as they would after /sec. It is a message hook, so it sees only
// what a running step-by-step form did not take as its answer; the event
// was already marked seen, so the command runs without an id.
func (a *Adapter) commandInDM(ctx context.Context, req *bot.Request) error {
	ev := req.Event
	if ev.Kind != bot.EventMessage || !ev.DM || ev.Room.Adapter != bot.AdapterSlack {
		return nil
	}
	ev.Kind, ev.ID = bot.EventCommand, ""
	ev.Text = a.commandText(ev.Text, a.botUser())
	a.engine.HandleEvent(ctx, ev)
	return nil
}

// commandText strips the bot's mention (and a "/sec" or "sec" people type
// out of habit) from "@vigil /sec help".
func (a *Adapter) commandText(text, me string) string {
	text = strings.TrimSpace(text)
	if me != "" {
		text = strings.Replace(text, "<@"+me+">", "", 1)
	} else if strings.HasPrefix(text, "<@") {
		if i := strings.Index(text, ">"); i > 0 {
			text = text[i+1:]
		}
	}
	text = strings.TrimSpace(text)
	for _, p := range []string{a.command, strings.TrimPrefix(a.command, "/")} {
		if text == p {
			return ""
		}
		if rest, ok := strings.CutPrefix(text, p+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return text
}

// onInteraction handles a button press or a modal submission. It returns
// the payload to acknowledge with (inline errors for a modal), or nil.
func (a *Adapter) onInteraction(cb slack.InteractionCallback) (any, bool) {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, act := range cb.ActionCallback.BlockActions {
			action, confirmed, ok := parseActionID(act.ActionID)
			if !ok {
				continue
			}
			channel := cb.Channel.ID
			if channel == "" {
				channel = cb.Container.ChannelID
			}
			thread := cb.Container.ThreadTs
			if thread == "" {
				thread = cb.Message.ThreadTimestamp
			}
			msgTS := cb.Container.MessageTs
			if msgTS == "" {
				msgTS = cb.Message.Timestamp
			}
			ev := bot.Event{
				Kind:    bot.EventButton,
				Room:    roomRef(channel),
				Thread:  threadRef(channel, thread),
				User:    userRef(cb.User.ID),
				DM:      isDM(channel),
				Message: bot.MessageRef{Room: roomRef(channel), ID: msgTS},
				Action:  action,
				Value:   act.Value,
				Trigger: cb.TriggerID,
				Prefix:  a.command,
				// Private answers to the presser; a secret, never logged.
				ResponseURL: cb.ResponseURL,
				Confirmed:   confirmed,
			}
			if cb.TriggerID != "" {
				ev.ID = "trigger:" + cb.TriggerID + ":" + act.ActionID
			}
			if !a.accept(ev) {
				return nil, false
			}
		}
		return nil, true
	case slack.InteractionTypeViewSubmission:
		if resp := a.onSubmission(cb); resp != nil {
			return resp, true
		}
		return nil, true
	}
	return nil, true
}

type submitResult struct {
	problems map[string]string
	err      error
}

// onSubmission hands a modal's values to the engine and turns its verdict
// into Slack's answer: inline errors per field, or nil (close the modal).
// Validation is quick, but the form's Submit may not be: if the engine has
// not answered within SubmitWait, the modal is closed and any late problem
// is sent to the person as an ephemeral message.
func (a *Adapter) onSubmission(cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	var meta formMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Session == "" {
		a.log.Warn("ignoring a modal submission that Vigil did not open", "callback", cb.View.CallbackID)
		return nil
	}
	values := bot.FormValues{}
	var first string
	if cb.View.State != nil {
		for blockID, actions := range cb.View.State.Values {
			for _, act := range actions {
				v := act.Value
				if act.SelectedOption.Value != "" {
					v = act.SelectedOption.Value
				}
				values[blockID] = v
			}
		}
	}
	for _, b := range cb.View.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok {
			first = in.BlockID
			break
		}
	}
	ev := bot.Event{
		Kind:    bot.EventCommand,
		Room:    roomRef(meta.Channel),
		Thread:  threadRef(meta.Channel, meta.Thread),
		User:    userRef(cb.User.ID),
		DM:      meta.DM,
		Trigger: cb.TriggerID,
		Prefix:  a.command,
	}
	ctx, ready := a.gate.Base()
	if !ready {
		return errorsResponse(first, "Vigil is restarting; please submit again in a moment.")
	}
	done := make(chan submitResult, 1)
	t := a.clock.NewTimer(a.submitWait)
	defer t.Stop()
	go func() {
		p, err := a.engine.SubmitForm(ctx, ev, meta.Session, values)
		done <- submitResult{p, err}
	}()
	select {
	case r := <-done:
		return a.submissionAnswer(r, first)
	case <-t.C():
		go func() {
			r := <-done
			if resp := a.submissionAnswer(r, first); resp != nil {
				var msgs []string
				for _, m := range resp.Errors {
					msgs = append(msgs, m)
				}
				ev.Kind = bot.EventButton // no "working on it" for this note
				a.notify(ctx, ev, "Your form was not saved: "+strings.Join(msgs, " "))
			}
		}()
		return nil
	case <-ctx.Done():
		return errorsResponse(first, "Vigil is restarting; please submit again in a moment.")
	}
}

// submissionAnswer maps the engine's verdict to Slack's view response.
func (a *Adapter) submissionAnswer(r submitResult, first string) *slack.ViewSubmissionResponse {
	if r.err != nil {
		var notice *bot.NoticeError
		switch {
		case errors.As(r.err, &notice):
			return errorsResponse(first, notice.Msg)
		case errors.Is(r.err, bot.ErrForbidden):
			return errorsResponse(first, "Sorry, "+strings.TrimPrefix(r.err.Error(), bot.ErrForbidden.Error()+": ")+".")
		default:
			a.log.Error("form submission failed", "err", r.err)
			return errorsResponse(first, "Vigil could not save this form; the error is in its log.")
		}
	}
	if len(r.problems) == 0 {
		return nil
	}
	return slack.NewErrorsViewSubmissionResponse(r.problems)
}

func errorsResponse(block, msg string) *slack.ViewSubmissionResponse {
	if block == "" {
		return nil
	}
	// Inline errors are plain text: shown as written, without markers.
	return slack.NewErrorsViewSubmissionResponse(map[string]string{block: bot.StripSentinels(msg)})
}

// notify posts an ephemeral note to the person where the event happened.
func (a *Adapter) notify(ctx context.Context, ev bot.Event, text string) {
	if ev.Room.ID == "" {
		return
	}
	// The note may echo what the person typed: rendered like any text.
	opts := []slack.MsgOption{slack.MsgOptionText(mrkdwnText(text), false), slack.MsgOptionDisableLinkUnfurl()}
	if !ev.Thread.IsZero() {
		opts = append(opts, slack.MsgOptionTS(ev.Thread.ID))
	}
	if _, err := a.api.PostEphemeralContext(ctx, ev.Room.ID, ev.User.ID, opts...); err != nil {
		a.log.Warn("could not tell the person about their form", "err", classify("chat.postEphemeral", err))
	}
}
