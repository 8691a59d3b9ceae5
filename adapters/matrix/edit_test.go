package matrix

import (
	"context"
	"strings"
	"sync"
	"testing"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/vigil-sec/vigil/bot"
)

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

// A pinned threaded message edited (by someone else than its author) and
// then redacted: the timeline follows.
func TestMatrixEditAndRedactionFollowPinnedMessage(t *testing.T) {
	e, a, inc := warRoomRig(t)
	ctx := context.Background()
	root := openWarRoom(t, e, a)
	msg := &event.MessageEventContent{MsgType: event.MsgText, Body: "Token revkoed"}
	msg.RelatesTo = (&event.RelatesTo{}).SetThread(id.EventID(root.ID), id.EventID(root.ID))
	a.onMessage(ctx, timelineEvent("$said", rigAlice, event.EventMessage, msg))
	a.serial.Wait() // the thread and the room are separate conversations
	a.onReaction(ctx, timelineEvent("$pin", rigAlice, event.EventReaction,
		&event.ReactionEventContent{RelatesTo: event.RelatesTo{Type: event.RelAnnotation, EventID: "$said", Key: "📌"}}))
	a.onMessage(ctx, timelineEvent("$edit", rigBob, event.EventMessage, replacement("$said", "Token revoked at the provider")))
	a.serial.Wait()
	in, err := inc.Get(ctx, "INC-2026-1")
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
