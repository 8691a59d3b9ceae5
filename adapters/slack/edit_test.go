package slack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack/slackevents"

	"github.com/vigil-sec/vigil/bot"
)

// changed is a message_changed event as Slack sends it: the message as it
// is now, and as it was.
func changed(user, editor, ts, thread, text, before string) map[string]any {
	msg := map[string]any{"type": "message", "user": user, "text": text, "ts": ts, "thread_ts": thread}
	if editor != "" {
		msg["edited"] = map[string]any{"user": editor, "ts": "1767604000.000000"}
	}
	return map[string]any{"type": "message", "subtype": "message_changed", "hidden": true, "channel": chanSecurity, "channel_type": "group",
		"ts": "1767604000.000900", "event_ts": "1767604000.000900", "message": msg,
		"previous_message": map[string]any{"type": "message", "user": user, "text": before, "ts": ts, "thread_ts": thread}}
}

// deleted is a message_deleted event.
func deleted(user, ts, thread string) map[string]any {
	return map[string]any{"type": "message", "subtype": "message_deleted", "hidden": true, "channel": chanSecurity, "channel_type": "group",
		"ts": "1767604100.000900", "deleted_ts": ts, "event_ts": "1767604100.000900",
		"previous_message": map[string]any{"type": "message", "user": user, "text": "gone", "ts": ts, "thread_ts": thread}}
}

// ignored reports whether the adapter drops an Events API event.
func ignored(t *testing.T, a *Adapter, inner map[string]any) bool {
	t.Helper()
	payload, err := json.Marshal(eventsEnvelope("", "Ev1", inner)["payload"])
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := slackevents.ParseEvent(payload, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	_, ok := a.innerEvent(parsed.InnerEvent.Data)
	return !ok
}

func TestSlackEditAndDeleteTranslated(t *testing.T) {
	a := &Adapter{command: "/sec", botUserID: botUser}
	ev := translate(t, a, changed(userAlice, userMallory, "1767603700.000200", "1767603600.000100", "new text", "old text"))
	want := bot.Event{Kind: bot.EventEdit, Room: roomRef(chanSecurity), Thread: threadRef(chanSecurity, "1767603600.000100"), User: userRef(userMallory),
		Message: bot.MessageRef{Room: roomRef(chanSecurity), ID: "1767603700.000200"}, Text: "new text", Prefix: "/sec"}
	if ev != want {
		t.Errorf("edit:\n got %+v\nwant %+v", ev, want)
	}
	if ev := translate(t, a, changed(userAlice, "", "1767603700.000200", "", "new text", "old text")); ev.User != userRef(userAlice) || !ev.Thread.IsZero() {
		t.Errorf("edit without an editor: %+v, want the author and no thread", ev)
	}
	ev = translate(t, a, deleted(userAlice, "1767603700.000200", "1767603600.000100"))
	want = bot.Event{Kind: bot.EventDelete, Room: roomRef(chanSecurity), Thread: threadRef(chanSecurity, "1767603600.000100"), User: userRef(userAlice),
		Message: bot.MessageRef{Room: roomRef(chanSecurity), ID: "1767603700.000200"}, Prefix: "/sec"}
	if ev != want {
		t.Errorf("delete:\n got %+v\nwant %+v", ev, want)
	}

	for name, inner := range map[string]map[string]any{
		"Vigil's own message edited":    changed(botUser, "", "1767603700.000200", "", "new", "old"),
		"edited by Vigil":               changed(userAlice, botUser, "1767603700.000200", "", "new", "old"),
		"an unfurl (same text)":         changed(userAlice, "", "1767603700.000200", "", "same", "same"),
		"Vigil's own message deleted":   deleted(botUser, "1767603700.000200", ""),
		"a deletion without deleted_ts": {"type": "message", "subtype": "message_deleted", "channel": chanSecurity},
	} {
		if !ignored(t, a, inner) {
			t.Errorf("%s: not ignored", name)
		}
	}
	other := changed(userAlice, "", "1767603700.000200", "", "new", "old")
	other["message"].(map[string]any)["bot_id"] = "B1"
	if !ignored(t, a, other) {
		t.Errorf("another bot's edit: not ignored")
	}
}

// A pinned war-room message edited and then deleted in Slack: the
// timeline follows.
func TestSlackEditAndDeleteFollowPinnedMessage(t *testing.T) {
	w := openWarRoom(t)
	e, inc, chat, a, root := w.e, w.inc, w.chat, w.a, w.root
	ctx := context.Background()
	const ts = "1767603700.000200"
	e.HandleEvent(ctx, translate(t, a, map[string]any{"type": "message", "channel_type": "group", "user": userAlice, "channel": chanSecurity,
		"text": "Token revkoed", "ts": ts, "thread_ts": root.ID}))
	e.HandleEvent(ctx, translate(t, a, map[string]any{"type": "reaction_added", "user": userAlice, "reaction": "pushpin",
		"item": map[string]any{"type": "message", "channel": chanSecurity, "ts": ts}, "event_ts": "1767603800.000300"}))
	e.HandleEvent(ctx, translate(t, a, changed(userAlice, userAlice, ts, root.ID, "Token revoked at the provider", "Token revkoed")))
	e.Step(ctx)
	in, err := inc.Get(ctx, "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].Text != "Token revoked at the provider" || !in.Entries[0].Edited {
		t.Fatalf("entries after the edit %+v\nchat:\n%s", in.Entries, chat.joined())
	}
	e.HandleEvent(ctx, translate(t, a, deleted(userAlice, ts, root.ID)))
	e.Step(ctx)
	if in, err = inc.Get(ctx, "INC-2026-1"); err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || !in.Entries[0].Removed {
		t.Fatalf("entries after the delete %+v", in.Entries)
	}
	if !strings.Contains(chat.joined(), "Timeline #1 (2026-01-05 09:00 UTC, @alice) removed: its message was deleted.") {
		t.Errorf("war room:\n%s", chat.joined())
	}
}

// Edits and deletions arrive through Socket Mode like any Events API event.
func TestSocketEditAndDelete(t *testing.T) {
	r := newRig(t, rigOptions{setup: func(e *bot.Engine) {
		e.OnEdit(func(ctx context.Context, req *bot.Request) error {
			return req.Replyf(ctx, "edit of %s by %s: %s", req.Event.Message.ID, req.Event.User.ID, req.Event.Text)
		})
		e.OnDelete(func(ctx context.Context, req *bot.Request) error {
			return req.Replyf(ctx, "delete of %s", req.Event.Message.ID)
		})
	}})
	conn := r.slack.nextConn(t)
	r.ready()
	conn.send(t, eventsEnvelope("env-1", "EvEdit", changed(userAlice, userAlice, "1767603700.000200", "1767603600.000100", "fixed", "fxied")))
	conn.ack(t, "env-1")
	if p := r.slack.nextPost(t); p.Thread != "1767603600.000100" || !strings.Contains(p.Text, "edit of 1767603700.000200 by "+userAlice+": fixed") {
		t.Errorf("edit answered %+v", p)
	}
	conn.send(t, eventsEnvelope("env-2", "EvDel", deleted(userAlice, "1767603700.000200", "1767603600.000100")))
	conn.ack(t, "env-2")
	if p := r.slack.nextPost(t); !strings.Contains(p.Text, "delete of 1767603700.000200") {
		t.Errorf("delete answered %+v", p)
	}
}
