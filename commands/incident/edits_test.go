package incident

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/store"
)

func edit(h *bottest.Harness, who, msgID, text string) []bottest.Sent {
	return h.Event(bot.Event{Kind: bot.EventEdit, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: who},
		Message: bot.MessageRef{Room: bottest.Room, ID: msgID}, Text: text})
}

func del(h *bottest.Harness, who, msgID string) []bottest.Sent {
	return h.Event(bot.Event{Kind: bot.EventDelete, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: who},
		Message: bot.MessageRef{Room: bottest.Room, ID: msgID}})
}

// kept returns the stored text of a war-room message, or "" when it is gone.
func kept(t *testing.T, h *bottest.Harness, msgID string) string {
	t.Helper()
	doc, err := h.Store.Get(context.Background(), messageColl, messageKey(bot.MessageRef{Room: bottest.Room, ID: msgID}))
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Text string }
	if err := json.Unmarshal(doc.Data, &c); err != nil {
		t.Fatal(err)
	}
	return c.Text
}

func TestEditedPinnedMessageUpdatesItsEntry(t *testing.T) {
	h, inc, _ := setup(t)
	h.Command("alice", `incident start "Leak"`)
	thread := warRoom(t, h, "INC-2026-1")
	h.Clock.Set(bottest.Start.Add(10 * time.Minute))
	say(h, "bob", thread, "m1", "Found the tokn in a CI log")
	react(h, "alice", "m1", "📌")
	react(h, "alice", "m1", "📎") // evidence too
	h.Clock.Set(bottest.Start.Add(30 * time.Minute))

	// alice edits bob's message: the platform decides who may edit.
	out := edit(h, "alice", "m1", "Found the token in a public CI log")
	joined := bottest.Joined(out)
	for _, want := range []string{
		"Timeline #1 follows the edit of its message (2026-01-05 09:10 UTC, @bob): Found the token in a public CI log",
		"Evidence #2 follows the edit of its message",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("edit said %q, want %q", bottest.Texts(out), want)
		}
	}
	if len(out) == 0 || out[0].To.InThreadOf != rootID("INC-2026-1") || !out[0].Msg.Sensitive {
		t.Errorf("edit note went to %+v", out)
	}
	out = h.Command("alice", "incident timeline --id INC-2026-1")
	if s := bottest.Joined(out); !strings.Contains(s, "#1 09:10 @bob: Found the token in a public CI log (edited)") || strings.Contains(s, "tokn") {
		t.Errorf("timeline after the edit: %q", s)
	}
	if got := kept(t, h, "m1"); got != "Found the token in a public CI log" {
		t.Errorf("kept message %q", got)
	}
	in, err := inc.Get(context.Background(), "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	e := in.Entries[0]
	if !e.At.Equal(bottest.Start.Add(10*time.Minute)) || e.Author != "bob" || e.By != "alice" || !e.Edited {
		t.Errorf("entry %+v: want bob's time and name kept, marked edited", e)
	}
	if out := edit(h, "bob", "m1", "Found the token in a public CI log"); len(out) != 0 {
		t.Errorf("an edit that leaves the text as it was said %q", bottest.Texts(out))
	}

	// Deleted: the entries go, the war room is told without the text.
	out = del(h, "bob", "m1")
	joined = bottest.Joined(out)
	if !strings.Contains(joined, "Timeline #1 (2026-01-05 09:10 UTC, @bob) removed: its message was deleted.") ||
		!strings.Contains(joined, "Evidence #2") || strings.Contains(joined, "CI log") {
		t.Errorf("delete said %q", bottest.Texts(out))
	}
	out = h.Command("alice", "incident timeline --id INC-2026-1")
	if s := bottest.Joined(out); strings.Contains(s, "CI log") || !strings.Contains(s, "timeline of INC-2026-1 is empty") {
		t.Errorf("timeline after the delete: %q", s)
	}
	if got := kept(t, h, "m1"); got != "" {
		t.Errorf("the deleted message is still kept: %q", got)
	}
	if out := del(h, "bob", "m1"); len(out) != 0 {
		t.Errorf("a second delete said %q", bottest.Texts(out))
	}
	if out := react(h, "alice", "m1", "📌"); len(out) != 0 {
		t.Errorf("a deleted message was pinned again: %q", bottest.Texts(out))
	}
	entries, err := h.Engine.Audit().Last(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var audit []string
	for _, a := range entries {
		audit = append(audit, a.Actor+" "+a.Detail)
	}
	bottest.InOrder(t, strings.Join(audit, "\n"), "alice #1 follows an edit", "bob #1 removed: its message was deleted")
}

func TestEditedUnpinnedMessageOnlyUpdatesTheKeptText(t *testing.T) {
	h, inc, _ := setup(t)
	h.Command("alice", `incident start "Leak"`)
	thread := warRoom(t, h, "INC-2026-1")
	h.Clock.Set(bottest.Start.Add(10 * time.Minute))
	say(h, "bob", thread, "m1", "draft")
	say(h, "bob", bot.ThreadRef{}, "m2", "lunch?") // outside the war room
	if out := edit(h, "bob", "m1", "Rotated the deploy key"); len(out) != 0 {
		t.Errorf("an edit of an unpinned message said %q", bottest.Texts(out))
	}
	if out := edit(h, "bob", "m2", "dinner?"); len(out) != 0 {
		t.Errorf("an edit outside the war room said %q", bottest.Texts(out))
	}
	if got := kept(t, h, "m2"); got != "" {
		t.Errorf("a message outside the war room was kept: %q", got)
	}
	if out := del(h, "bob", "m2"); len(out) != 0 {
		t.Errorf("a delete outside the war room said %q", bottest.Texts(out))
	}
	// Pinned later, the entry has the edited text and is not marked.
	out := react(h, "alice", "m1", "📌")
	if !strings.Contains(bottest.Joined(out), "Timeline #1 (2026-01-05 09:10 UTC, @bob): Rotated the deploy key") {
		t.Errorf("pin after an edit: %q", bottest.Texts(out))
	}
	in, err := inc.Get(context.Background(), "INC-2026-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 1 || in.Entries[0].Edited {
		t.Errorf("entries %+v", in.Entries)
	}
	// A deleted unpinned message is only forgotten.
	say(h, "bob", thread, "m3", "oops, a password")
	if out := del(h, "bob", "m3"); len(out) != 0 {
		t.Errorf("delete of an unpinned message said %q", bottest.Texts(out))
	}
	if got := kept(t, h, "m3"); got != "" {
		t.Errorf("deleted message still kept: %q", got)
	}
}

func TestEditsOutsideThePrivateRoomAreIgnored(t *testing.T) {
	h, _, _ := setup(t)
	h.Command("alice", `incident start "Leak"`)
	thread := warRoom(t, h, "INC-2026-1")
	say(h, "bob", thread, "m1", "Found it")
	react(h, "alice", "m1", "📌")
	dm := bot.Event{Kind: bot.EventEdit, Room: bottest.Room, DM: true, User: bot.UserRef{Adapter: "test", ID: "bob"},
		Message: bot.MessageRef{Room: bottest.Room, ID: "m1"}, Text: "changed in a DM?"}
	if out := h.Event(dm); len(out) != 0 {
		t.Errorf("DM edit said %q", bottest.Texts(out))
	}
	if got := kept(t, h, "m1"); got != "Found it" {
		t.Errorf("kept %q after an edit event marked DM", got)
	}
}
