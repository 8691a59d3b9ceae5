package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/console"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/core"
)

// session runs a console script against a fresh engine on a fake clock and
// returns what was printed.
func session(t *testing.T, script string) string {
	t.Helper()
	fake := clock.NewFake(bottest.Start)
	people := []bot.Person{
		{Name: "admin", Chat: map[string]string{"console": "admin"}, Roles: []bot.Role{bot.RoleAdmin, bot.RoleResponder}},
		{Name: "bob", Chat: map[string]string{"console": "bob"}, Roles: []bot.Role{bot.RoleResponder}},
	}
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: fake, People: people})
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Register(e); err != nil {
		t.Fatal(err)
	}
	// "nudge @p TEXT in DUR" schedules a DM, to see :advance run jobs.
	e.HandleJob("nudge", func(ctx context.Context, j bot.Job) error {
		p, _ := e.Directory().ByName(j.ID[:strings.Index(j.ID, "/")])
		to, _ := e.DMFor(p, bot.AdapterConsole)
		return e.Post(ctx, j.ID, to, bot.Text(string(j.Payload[1:len(j.Payload)-1])+" at "+fake.Now().Format("Mon 15:04")))
	})
	e.MustRegister(&bot.Command{Name: "nudge", MinArgs: 3, MaxArgs: 3, Run: func(ctx context.Context, req *bot.Request) error {
		d, err := console.ParseDuration(req.Args[2])
		if err != nil {
			return bot.Usagef("%v", err)
		}
		name := strings.TrimPrefix(req.Args[0], "@")
		return e.Scheduler().Schedule(ctx, bot.Job{ID: name + "/" + req.Args[1], Kind: "nudge", Due: req.Now().Add(d), Payload: []byte(`"` + req.Args[1] + `"`)})
	}})
	e.MustRegister(&bot.Command{Name: "choose", Run: func(ctx context.Context, req *bot.Request) error {
		_, err := req.Reply(ctx, bot.Message{Text: "pick", Buttons: []bot.Button{{Label: "Yes", Action: "pick", Value: "yes"}, {Label: "No", Action: "pick", Value: "no"}}})
		return err
	}})
	e.HandleAction(&bot.Action{Name: "pick", Run: func(ctx context.Context, req *bot.Request, v string) error {
		return req.Replyf(ctx, "%s picked %s", req.Actor(), v)
	}})
	var out bytes.Buffer
	c, err := console.New(console.Options{Engine: e, In: strings.NewReader(script), Out: &out, As: "admin", Fake: fake})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("console run: %v", err)
	}
	return out.String()
}

func TestConsoleScript(t *testing.T) {
	out := session(t, strings.Join([]string{
		"/sec help",
		"/sec whoami",
		"!sec whoamii",
		"# a comment line is ignored",
		"/sec nudge @bob second 2d",
		"/sec nudge @bob first 30h",
		":advance 36h",
		":now",
		":advance 1d",
		"/sec choose",
		":as bob",
		":press 2",
		"/sec audit",
		":advance -1h",
		":bogus",
	}, "\n"))
	bottest.InOrder(t, out,
		"== Vigil commands ==", "/sec whoami — Show who you are",
		"== @admin ==", "Roles: admin, responder", "(the private security room)", // whoami
		`Unknown command "whoamii" (did you mean "whoami"?)`,
		"→ DM to bob:", "first at Tue 15:00",
		"⏱ Tue 2026-01-06 21:00 UTC",
		"2026-01-06T21:00:00Z",
		"→ DM to bob:", "second at Wed 09:00",
		"[1 Yes] [2 No]",
		"now speaking as bob",
		"bob picked no",
		"Sorry, this needs the admin role.",
		"usage: :advance DURATION|TIME",
		"unknown console command :bogus",
	)
}

func TestConsoleWithoutFakeClockRefusesAdvance(t *testing.T) {
	e, err := bot.New(bot.Options{Store: bottest.OpenStore(t), Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c, _ := console.New(console.Options{Engine: e, In: strings.NewReader(":advance 1h\n"), Out: &out, As: "x"})
	e.AddAdapter(c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "start with --clock TIME") {
		t.Errorf("got %q", out.String())
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"36h": 36 * time.Hour, "2d": 48 * time.Hour, "1w2d": 9 * 24 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "3d4h": 76 * time.Hour}
	for in, want := range good {
		if got, err := console.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1h", "2 days", "d", "1x", "1d-2h"} {
		if _, err := console.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestRenderColoursOnlyWhenAsked(t *testing.T) {
	msg := bot.Message{Header: "H", Text: "see <https://example.org|the docs>", Fields: []bot.Field{{Label: "Due", Value: "soon"}}, Context: "ctx"}
	plain := console.Render(bot.ToUser(bot.UserRef{Adapter: "console", ID: "bob"}), msg, false)
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("plain output has escape codes: %q", plain)
	}
	for _, w := range []string{"→ DM to bob:", "== H ==", "see the docs (https://example.org)", "Due: soon", "ctx"} {
		if !strings.Contains(plain, w) {
			t.Errorf("render lacks %q: %q", w, plain)
		}
	}
	if colour := console.Render(bot.ToUser(bot.UserRef{Adapter: "console", ID: "bob"}), msg, true); !strings.Contains(colour, "\x1b[1m") {
		t.Errorf("colour output has no escape codes: %q", colour)
	}
}
