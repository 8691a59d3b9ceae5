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

// A form started by a button press takes the next typed line as its
// answer: typed lines have no thread on the console, so the dialog is
// answered at the top, wherever its question was printed.
func TestFormStartedByAPressTakesTheTypedAnswer(t *testing.T) {
	people := []bot.Person{{Name: "admin", Chat: map[string]string{"console": "admin"}, Roles: []bot.Role{bot.RoleAdmin}}}
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.NewFake(bottest.Start), People: people})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	e.MustRegister(&bot.Command{Name: "offer", Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Announce(ctx, bot.Message{Text: "a thing", Buttons: []bot.Button{{Label: "Why", Action: "why"}}})
		return err
	}})
	if err := e.RegisterForm(&bot.Form{ID: "why", Title: "Why", Fields: []bot.FormField{{Name: "reason", Label: "Reason"}},
		Submit: func(ctx context.Context, req *bot.Request) error {
			got = req.Form.Values["reason"]
			return req.Replyf(ctx, "noted")
		}}); err != nil {
		t.Fatal(err)
	}
	e.HandleAction(&bot.Action{Name: "why", Run: func(ctx context.Context, req *bot.Request, _ string) error {
		return req.StartForm(ctx, "why", nil)
	}})
	var out bytes.Buffer
	c, err := console.New(console.Options{Engine: e, In: strings.NewReader("/sec offer\n:press 1\nbecause\n"), Out: &out, As: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != "because" || !strings.Contains(out.String(), "noted") {
		t.Errorf("the form got %q; output:\n%s", got, out.String())
	}
}
