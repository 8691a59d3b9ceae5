package console_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/adapters/console"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/commands/incident"
)

// incidentSession runs a script with the incident feature and records the
// events of the given kinds (reactions, edits, deletions) as the hooks see
// them.
func incidentSession(t *testing.T, script string, kinds ...bot.EventKind) (string, []bot.Event) {
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
	if _, err := incident.Register(e, incident.Options{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var evs []bot.Event
	record := func(_ context.Context, req *bot.Request) error {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, req.Event)
		return nil
	}
	for _, k := range kinds {
		switch k {
		case bot.EventReaction:
			e.OnReaction(record)
		case bot.EventEdit:
			e.OnEdit(record)
		case bot.EventDelete:
			e.OnDelete(record)
		}
	}
	var out bytes.Buffer
	c, err := console.New(console.Options{Engine: e, In: strings.NewReader(script), Out: &out, As: "admin", Fake: fake})
	if err != nil {
		t.Fatal(err)
	}
	e.AddAdapter(c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.String(), evs
}

func TestReactPutsATypedLineOnTheTimeline(t *testing.T) {
	out, evs := incidentSession(t, strings.Join([]string{
		`/sec incident start "Leaked token"`,
		":as bob",
		"revoked the token at the provider",
		":as admin",
		"unrelated chatter",
		":react 2 📌",
		"/sec incident timeline",
	}, "\n"), bot.EventReaction)
	bottest.InOrder(t, out, "Timeline #1", "@bob): revoked the token at the provider", "Timeline of INC-2026-1", "#1 09:00 @bob: revoked the token at the provider")
	if len(evs) != 1 || evs[0].Reaction != "📌" || evs[0].User.ID != "admin" || evs[0].Text != "revoked the token at the provider" || evs[0].Message.ID == "" {
		t.Errorf("reaction events %+v", evs)
	}
}

func TestReactToAPrintedThreadMessageCarriesItsThread(t *testing.T) {
	_, evs := incidentSession(t, strings.Join([]string{
		`/sec incident start "Leaked token"`,
		"revoked the token",
		":react 1 📌", // the timeline entry is printed in the war room
		":react 1 👀",
		":react 99 📌",
		":react 1",
	}, "\n"), bot.EventReaction)
	if len(evs) != 2 {
		t.Fatalf("reaction events %+v, want two (the bad lines are refused)", evs)
	}
	if evs[1].Thread.IsZero() || !strings.Contains(evs[1].Text, "Timeline #1") {
		t.Errorf("event %+v: want the timeline entry's thread and text", evs[1])
	}
}

func TestReactUsage(t *testing.T) {
	out, _ := incidentSession(t, ":react 1 📌\n", bot.EventReaction)
	if !strings.Contains(out, "usage: :react N EMOJI, with N from 1 (the last message) to 0") {
		t.Errorf("output %q", out)
	}
}
