package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/adapters/console"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
)

// The signature bot.Editor will have (issue 16).
var _ interface {
	Edit(ctx context.Context, ref bot.MessageRef, msg bot.Message) error
} = (*console.Adapter)(nil)

// editSession runs a script in which "/sec choose" posts a message with
// buttons, and each press edits that message (the press event names it):
// "pick" to a new text with an Undo button, "undo" to one without buttons.
// It returns the output and the message refs the presses carried.
func editSession(t *testing.T, script string) (string, []bot.Event) {
	t.Helper()
	fake := clock.NewFake(bottest.Start)
	people := []bot.Person{{Name: "admin", Chat: map[string]string{"console": "admin"}, Roles: []bot.Role{bot.RoleAdmin}}}
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: fake, People: people})
	if err != nil {
		t.Fatal(err)
	}
	var c *console.Adapter
	var presses []bot.Event
	e.MustRegister(&bot.Command{Name: "choose", Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Reply(ctx, bot.Message{Text: "*pick* one", Buttons: []bot.Button{{Label: "Yes", Action: "pick", Value: "yes"}, {Label: "No", Action: "pick", Value: "no"}}})
		return err
	}})
	e.HandleAction(&bot.Action{Name: "pick", Run: func(ctx context.Context, req *bot.Request, v string) error {
		presses = append(presses, req.Event)
		return c.Edit(ctx, req.Event.Message, bot.Message{Text: "picked `" + v + "` by <@console:admin|Admin>", Buttons: []bot.Button{{Label: "Undo", Action: "undo"}}})
	}})
	e.HandleAction(&bot.Action{Name: "undo", Run: func(ctx context.Context, req *bot.Request, _ string) error {
		presses = append(presses, req.Event)
		return c.Edit(ctx, req.Event.Message, bot.Message{Text: "undone"})
	}})
	var out bytes.Buffer
	c, err = console.New(console.Options{Engine: e, In: strings.NewReader(script), Out: &out, As: "admin", Fake: fake})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.String(), presses
}

func TestEditPrintsTheNewVersionAndItsButtons(t *testing.T) {
	out, presses := editSession(t, strings.Join([]string{
		"/sec choose",
		":press 2",
		":press 1", // Undo, the edited message's button
		":press 1", // the edit took the buttons off: nothing to press
	}, "\n"))
	bottest.InOrder(t, out,
		"pick one\n  [1 Yes] [2 No]  (:press N)\n",
		"(edited) picked no by @Admin\n  [1 Undo]  (:press N)\n",
		"(edited) undone\n",
		"there is no message with buttons now")
	if len(presses) != 2 || presses[0].Message.IsZero() || presses[1].Message != presses[0].Message || presses[1].Action != "undo" {
		t.Errorf("presses %+v: want both on the message with the buttons", presses)
	}
}

func TestEditOfAnUnknownMessageFails(t *testing.T) {
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start)})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c, err := console.New(console.Options{Engine: e, In: strings.NewReader("a line typed here\n"), Out: &out, As: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil { // the typed line is m1
		t.Fatal(err)
	}
	ctx := context.Background()
	bob := bot.ToUser(console.UserRef("bob"))
	ref, err := c.Send(ctx, bob, bot.Text("hello"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []bot.MessageRef{
		{Room: bot.ConsoleRoom, ID: "m99"},
		{Room: bot.ConsoleRoom, ID: "m1"},
		{Room: bot.RoomRef{Adapter: bot.AdapterSlack, ID: "C1"}, ID: ref.ID},
	} {
		err := c.Edit(ctx, bad, bot.Text("changed"))
		if err == nil || !strings.Contains(err.Error(), bad.ID) {
			t.Errorf("Edit(%v) = %v, want an error naming it", bad, err)
		}
	}
	if err := c.Edit(ctx, ref, bot.Text("hello *again*")); err != nil {
		t.Fatal(err)
	}
	if want := "→ DM to bob:\nhello\n(edited) → DM to bob:\nhello again\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// A press names the message its button sat on and that message's thread,
// as on Slack, so an answer goes in the thread.
func TestPressNamesTheMessageAndItsThread(t *testing.T) {
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start)})
	if err != nil {
		t.Fatal(err)
	}
	var pressed []bot.Event
	e.HandleAction(&bot.Action{Name: "go", Run: func(_ context.Context, req *bot.Request, _ string) error {
		pressed = append(pressed, req.Event)
		return nil
	}})
	var out bytes.Buffer
	c, err := console.New(console.Options{Engine: e, In: strings.NewReader(":press 1\n"), Out: &out, As: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(c)
	thread := bot.ThreadRef{Room: bot.ConsoleRoom, ID: "root"}
	ref, err := c.Send(context.Background(), bot.ToRoom(bot.ConsoleRoom, thread), bot.Message{Text: "go?", Buttons: []bot.Button{{Label: "Go", Action: "go"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(pressed) != 1 || pressed[0].Message != ref || pressed[0].Thread != thread {
		t.Errorf("pressed %+v, want message %v in thread %v", pressed, ref, thread)
	}
}
