package bot_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
)

// hookLog records which hook saw which event.
type hookLog struct{ got []string }

func (l *hookLog) hook(name string) func(context.Context, *bot.Request) error {
	return func(_ context.Context, req *bot.Request) error {
		ev := req.Event
		l.got = append(l.got, name+" "+ev.Kind.String()+" "+ev.Message.ID+" "+ev.Text)
		return nil
	}
}

func TestEditAndDeleteReachOnlyTheirHooks(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	var l hookLog
	h.Engine.OnMessage(l.hook("message"))
	h.Engine.OnReaction(l.hook("reaction"))
	h.Engine.OnEdit(l.hook("edit1"))
	h.Engine.OnEdit(l.hook("edit2"))
	h.Engine.OnDelete(l.hook("delete"))
	user := bot.UserRef{Adapter: "test", ID: "bob"}
	msg := bot.MessageRef{Room: bottest.Room, ID: "m1"}
	h.Event(bot.Event{Kind: bot.EventMessage, Room: bottest.Room, User: user, Message: msg, Text: "first"})
	h.Event(bot.Event{Kind: bot.EventReaction, Room: bottest.Room, User: user, Message: msg, Reaction: "pushpin"})
	h.Event(bot.Event{Kind: bot.EventEdit, ID: "e1", Room: bottest.Room, User: user, Message: msg, Text: "second"})
	h.Event(bot.Event{Kind: bot.EventEdit, ID: "e1", Room: bottest.Room, User: user, Message: msg, Text: "second"}) // redelivered
	h.Event(bot.Event{Kind: bot.EventDelete, Room: bottest.Room, User: user, Message: msg})
	want := []string{
		"message message m1 first",
		"reaction reaction m1 ",
		"edit1 edit m1 second",
		"edit2 edit m1 second",
		"delete delete m1 ",
	}
	if strings.Join(l.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hooks saw\n%s\nwant\n%s", strings.Join(l.got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEditWithoutHooksSaysNothing(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	user := bot.UserRef{Adapter: "test", ID: "bob"}
	msg := bot.MessageRef{Room: bottest.Room, ID: "m1"}
	for _, kind := range []bot.EventKind{bot.EventEdit, bot.EventDelete} {
		if out := h.Event(bot.Event{Kind: kind, Room: bottest.Room, User: user, Message: msg, Text: "x"}); len(out) != 0 {
			t.Errorf("%s with no hooks answered %q", kind, bottest.Texts(out))
		}
	}
}

func TestFailingEditHookIsAnswered(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	h.Engine.OnDelete(func(context.Context, *bot.Request) error { return errors.New("boom") })
	h.Engine.OnEdit(func(context.Context, *bot.Request) error { return bot.Noticef("Noted the edit.") })
	user := bot.UserRef{Adapter: "test", ID: "bob"}
	msg := bot.MessageRef{Room: bottest.Room, ID: "m1"}
	if out := bottest.Joined(h.Event(bot.Event{Kind: bot.EventDelete, Room: bottest.Room, User: user, Message: msg})); !strings.Contains(out, "Sorry, that failed") {
		t.Errorf("failed delete hook: %q", out)
	}
	if out := bottest.Joined(h.Event(bot.Event{Kind: bot.EventEdit, Room: bottest.Room, User: user, Message: msg, Text: "x"})); out != "Noted the edit." {
		t.Errorf("edit hook notice: %q", out)
	}
}

func TestEventKindNames(t *testing.T) {
	for kind, want := range map[bot.EventKind]string{bot.EventEdit: "edit", bot.EventDelete: "delete", bot.EventReaction: "reaction", 0: "unknown"} {
		if got := kind.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", kind, got, want)
		}
	}
}
