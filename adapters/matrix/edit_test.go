package matrix

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

// authors is a homeserver that knows who sent which event (what the
// adapter asks before it accepts an edit) and nothing else; "$removed" was
// redacted.
type authors struct {
	mu      sync.Mutex
	senders map[id.EventID]id.UserID
}

// withAuthors points the adapter at an authors homeserver.
func withAuthors(t *testing.T, a *Adapter) *authors {
	t.Helper()
	hs := &authors{senders: map[id.EventID]id.UserID{}}
	srv := httptest.NewServer(hs)
	t.Cleanup(srv.Close)
	cli, err := mautrix.NewClient(srv.URL, a.userID, "tok")
	if err != nil {
		t.Fatal(err)
	}
	a.client = cli
	return hs
}

func (h *authors) wrote(evID string, sender id.UserID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.senders[id.EventID(evID)] = sender
}

func (h *authors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	evID := id.EventID(path.Base(r.URL.Path))
	h.mu.Lock()
	sender, ok := h.senders[evID]
	h.mu.Unlock()
	if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/rooms/"+rigRoom+"/event/") || !ok {
		status(404, `{"errcode":"M_NOT_FOUND","error":"Event not found."}`)(w)
		return
	}
	evt := map[string]any{"event_id": evID, "room_id": rigRoom, "sender": sender, "type": "m.room.message", "content": map[string]any{"msgtype": "m.text", "body": "…"}}
	if evID == "$removed" {
		evt["content"] = map[string]any{}
		evt["unsigned"] = map[string]any{"redacted_because": map[string]any{"type": "m.room.redaction", "sender": sender}}
	}
	_ = json.NewEncoder(w).Encode(evt)
}

func replacement(target, text string) *event.MessageEventContent {
	return &event.MessageEventContent{MsgType: event.MsgText, Body: "* " + text,
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: text},
		RelatesTo:  &event.RelatesTo{Type: event.RelReplace, EventID: id.EventID(target)}}
}

// recordBatch collects what the adapter accepts in one sync batch.
func recordBatch(a *Adapter, run func()) []bot.Event {
	batch := []bot.Event{}
	a.mu.Lock()
	a.batch = &batch
	a.mu.Unlock()
	run()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.batch = nil
	return batch
}

func TestMatrixEditAndRedactionTranslated(t *testing.T) {
	_, a, _ := warRoomRig(t)
	hs := withAuthors(t, a)
	hs.wrote("$said", rigBob)
	ctx := context.Background()
	evs := recordBatch(a, func() {
		a.onMessage(ctx, timelineEvent("$edit", rigBob, event.EventMessage, replacement("$said", "new text")))
		old := timelineEvent("$edit2", rigBob, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "* fallback only",
			RelatesTo: &event.RelatesTo{Type: event.RelReplace, EventID: "$said"}})
		a.onMessage(ctx, old)
		a.onRedaction(ctx, timelineEvent("$red", rigAlice, event.EventRedaction, &event.RedactionEventContent{Redacts: "$said"}))
		top := timelineEvent("$red2", rigAlice, event.EventRedaction, &event.RedactionEventContent{})
		top.Redacts = "$older" // before room version 11
		a.onRedaction(ctx, top)
		// Ignored: Vigil's own changes, and a redaction naming nothing.
		a.onMessage(ctx, timelineEvent("$mine", "@vigil:example.org", event.EventMessage, replacement("$x", "y")))
		a.onRedaction(ctx, timelineEvent("$mine2", "@vigil:example.org", event.EventRedaction, &event.RedactionEventContent{Redacts: "$x"}))
		a.onRedaction(ctx, timelineEvent("$none", rigAlice, event.EventRedaction, &event.RedactionEventContent{}))
	})
	room := roomRef(rigRoom)
	want := []bot.Event{
		{Kind: bot.EventEdit, ID: "$edit", Room: room, User: userRef(rigBob), Message: bot.MessageRef{Room: room, ID: "$said"}, Text: "new text", Prefix: "!sec"},
		{Kind: bot.EventEdit, ID: "$edit2", Room: room, User: userRef(rigBob), Message: bot.MessageRef{Room: room, ID: "$said"}, Text: "fallback only", Prefix: "!sec"},
		{Kind: bot.EventDelete, ID: "$red", Room: room, User: userRef(rigAlice), Message: bot.MessageRef{Room: room, ID: "$said"}, Prefix: "!sec"},
		{Kind: bot.EventDelete, ID: "$red2", Room: room, User: userRef(rigAlice), Message: bot.MessageRef{Room: room, ID: "$older"}, Prefix: "!sec"},
	}
	if len(evs) != len(want) {
		t.Fatalf("accepted %+v\nwant %+v", evs, want)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, evs[i], want[i])
		}
	}
}

// An edit counts only from the message's author: the homeserver accepts
// an m.replace from anyone. Others are ignored and logged without their
// text, and so are edits of Vigil's messages, of a message the homeserver
// does not show, and of a removed message.
func TestMatrixEditOnlyByTheAuthor(t *testing.T) {
	_, a, _ := warRoomRig(t)
	var logged strings.Builder
	var logMu sync.Mutex
	a.log = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))
	hs := withAuthors(t, a)
	hs.wrote("$alices", rigAlice)
	hs.wrote("$removed", rigAlice)
	a.rememberButtons(context.Background(), "$vigils", buttonRecord{Room: rigRoom})
	ctx := context.Background()
	evs := recordBatch(a, func() {
		a.onMessage(ctx, timelineEvent("$e1", rigBob, event.EventMessage, replacement("$alices", "SECRET bob's words")))
		a.onMessage(ctx, timelineEvent("$e2", rigBob, event.EventMessage, replacement("$vigils", "SECRET new summary")))
		a.onMessage(ctx, timelineEvent("$e3", rigBob, event.EventMessage, replacement("$elsewhere", "SECRET")))
		a.onMessage(ctx, timelineEvent("$e4", rigAlice, event.EventMessage, replacement("$alices", "alice's words")))
		a.onMessage(ctx, timelineEvent("$e5", rigAlice, event.EventMessage, replacement("$removed", "SECRET")))
	})
	if len(evs) != 1 || evs[0].ID != "$e4" || evs[0].Text != "alice's words" {
		t.Errorf("accepted %+v, want alice's own edit only", evs)
	}
	logMu.Lock()
	defer logMu.Unlock()
	out := logged.String()
	for _, want := range []string{"not made by the message's author", "the message is Vigil's own", "could not be read", "the message was removed"} {
		if !strings.Contains(out, want) || !strings.Contains(out, "level=INFO") {
			t.Errorf("log lacks %q at Info:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("the log quotes an edit's text:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A pinned threaded message edited by someone else (ignored), by its
// author, then redacted: the timeline follows its author only; a pin
// after the redaction is ignored.
func TestMatrixEditAndRedactionFollowPinnedMessage(t *testing.T) {
	e, a, inc := warRoomRig(t)
	withAuthors(t, a).wrote("$said", rigAlice)
	ctx := context.Background()
	root := openWarRoom(t, e, a)
	msg := &event.MessageEventContent{MsgType: event.MsgText, Body: "Token revkoed"}
	msg.RelatesTo = (&event.RelatesTo{}).SetThread(id.EventID(root.ID), id.EventID(root.ID))
	a.onMessage(ctx, timelineEvent("$said", rigAlice, event.EventMessage, msg))
	a.serial.Wait() // the thread and the room are separate conversations
	a.onReaction(ctx, timelineEvent("$pin", rigAlice, event.EventReaction,
		&event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: "$said", Key: "📌"}}))
	a.onMessage(ctx, timelineEvent("$forged", rigBob, event.EventMessage, replacement("$said", "Nothing happened")))
	a.serial.Wait()
	in, err := inc.Get(ctx, "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].Text != "Token revkoed" || in.Entries[0].Edited {
		t.Fatalf("entries after bob's edit of alice's message %+v", in.Entries)
	}
	a.onMessage(ctx, timelineEvent("$edit", rigAlice, event.EventMessage, replacement("$said", "Token revoked at the provider")))
	a.serial.Wait()
	in, err = inc.Get(ctx, "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].Text != "Token revoked at the provider" || in.Entries[0].Author != "alice" || !in.Entries[0].Edited {
		t.Fatalf("entries after the edit %+v", in.Entries)
	}
	a.onRedaction(ctx, timelineEvent("$red", rigAlice, event.EventRedaction, &event.RedactionEventContent{Redacts: "$said"}))
	a.serial.Wait()
	if in, err = inc.Get(ctx, "INC-2026-1"); err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || !in.Entries[0].Removed {
		t.Fatalf("entries after the redaction %+v", in.Entries)
	}
	// Pinned again once removed (the homeserver allows reactions on a
	// redacted event): nothing comes back.
	a.onReaction(ctx, timelineEvent("$pin2", rigAlice, event.EventReaction,
		&event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: "$said", Key: "📌"}}))
	a.serial.Wait()
	if in, err = inc.Get(ctx, "INC-2026-1"); err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || !in.Entries[0].Removed {
		t.Fatalf("entries after a pin of the removed message %+v", in.Entries)
	}
}

// A keycap reaction or a numbered reply to a removed message with buttons
// presses nothing.
func TestMatrixRemovedMessagePressesNothing(t *testing.T) {
	_, a, _ := warRoomRig(t)
	ctx := context.Background()
	a.rememberButtons(ctx, "$ask", buttonRecord{Room: rigRoom, Buttons: []bot.Button{{Label: "Accept", Action: "swap.accept"}}})
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "1", RelatesTo: (&event.RelatesTo{}).SetReplyTo("$ask")}
	keycap := &event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: "$ask", Key: "1️⃣"}}
	before := recordBatch(a, func() {
		a.onMessage(ctx, timelineEvent("$r1", rigAlice, event.EventMessage, reply))
		a.onReaction(ctx, timelineEvent("$k1", rigAlice, event.EventReaction, keycap))
	})
	if len(before) != 2 || before[0].Kind != bot.EventButton || before[1].Kind != bot.EventButton {
		t.Fatalf("before the redaction: %+v", before)
	}
	after := recordBatch(a, func() {
		a.onRedaction(ctx, timelineEvent("$red", "@vigil:example.org", event.EventRedaction, &event.RedactionEventContent{Redacts: "$ask"}))
		a.onMessage(ctx, timelineEvent("$r2", rigAlice, event.EventMessage, reply))
		a.onReaction(ctx, timelineEvent("$k2", rigAlice, event.EventReaction, keycap))
	})
	if len(after) != 1 || after[0].Kind != bot.EventMessage || after[0].Text != "1" {
		t.Errorf("after the redaction: %+v, want only the reply as a message", after)
	}
}

// In a sync batch, edits and redactions run after the messages: they do
// not name the thread, so they are in another conversation than the
// message they change.
func TestMatrixBatchSetsChangesApart(t *testing.T) {
	room := roomRef(rigRoom)
	thread := bot.ThreadRef{Room: room, ID: "$root"}
	ev := func(kind bot.EventKind, evID string, thread bot.ThreadRef) bot.Event {
		return bot.Event{Kind: kind, ID: evID, Room: room, Thread: thread}
	}
	conversations, changes := splitBatch([]bot.Event{
		ev(bot.EventEdit, "$e1", bot.ThreadRef{}),
		ev(bot.EventMessage, "$m1", thread),
		ev(bot.EventReaction, "$r1", bot.ThreadRef{}),
		ev(bot.EventDelete, "$d1", bot.ThreadRef{}),
		ev(bot.EventMessage, "$m2", thread),
		ev(bot.EventEdit, "$e2", bot.ThreadRef{}),
	})
	ids := func(evs []bot.Event) string {
		var s []string
		for _, e := range evs {
			s = append(s, e.ID)
		}
		return strings.Join(s, ",")
	}
	var got []string
	for _, c := range conversations {
		got = append(got, ids(c))
	}
	if strings.Join(got, " | ") != "$m1,$m2 | $r1" || ids(changes) != "$e1,$d1,$e2" {
		t.Errorf("conversations %q, changes %q", got, ids(changes))
	}
}

func TestMatrixBatchRunsChangesLast(t *testing.T) {
	e, a, _ := warRoomRig(t)
	var mu sync.Mutex
	var order []string
	note := func(what string) func(context.Context, *bot.Request) error {
		return func(context.Context, *bot.Request) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, what)
			return nil
		}
	}
	e.OnMessage(note("message"))
	e.OnEdit(note("edit"))
	e.OnDelete(note("delete"))
	room := roomRef(rigRoom)
	thread := bot.ThreadRef{Room: room, ID: "$root"}
	a.runBatch([]bot.Event{
		{Kind: bot.EventEdit, ID: "$e", Room: room, User: userRef(rigBob), Message: bot.MessageRef{Room: room, ID: "$m"}, Text: "x"},
		{Kind: bot.EventDelete, ID: "$d", Room: room, User: userRef(rigBob), Message: bot.MessageRef{Room: room, ID: "$m"}},
		{Kind: bot.EventMessage, ID: "$m", Room: room, Thread: thread, User: userRef(rigBob), Message: bot.MessageRef{Room: room, ID: "$m"}, Text: "said"},
	})
	if got := strings.Join(order, ","); got != "message,edit,delete" {
		t.Errorf("order %s, want message,edit,delete", got)
	}
}
