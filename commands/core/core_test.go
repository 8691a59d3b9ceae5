package core_test

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/commands/core"
)

func newHarness(t *testing.T) *bottest.Harness {
	t.Helper()
	h := bottest.New(t, bottest.Options{})
	if err := core.Register(h.Engine); err != nil {
		t.Fatal(err)
	}
	return h
}

func reply(t *testing.T, sent []bottest.Sent) string {
	t.Helper()
	if len(sent) != 1 {
		t.Fatalf("want one reply, got %d: %q", len(sent), bottest.Texts(sent))
	}
	if !sent[0].ForAsker() {
		t.Errorf("the answer %q went to the room, want the asker only", bottest.Read(sent[0].Msg))
	}
	return bottest.Read(sent[0].Msg)
}

// announced is the one message sent, which went to the room.
func announced(t *testing.T, sent []bottest.Sent) string {
	t.Helper()
	if len(sent) != 1 {
		t.Fatalf("want one announcement, got %d: %q", len(sent), bottest.Texts(sent))
	}
	if sent[0].ForAsker() {
		t.Errorf("the announcement %q went to the asker only, want the room", bottest.Read(sent[0].Msg))
	}
	return bottest.Read(sent[0].Msg)
}

func contains(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("reply lacks %q:\n%s", w, got)
		}
	}
}

func TestWhoami(t *testing.T) {
	h := newHarness(t)
	contains(t, reply(t, h.Command("alice", "whoami")),
		"@alice", "Roles: admin, responder", "Speaking from: test:security (the private security room)", "Time zone: Europe/Paris", "Chat accounts: test: @alice")
	contains(t, reply(t, h.Command("carol", "whoami")), "Roles: maintainer", "Maintains: acme/web")
	contains(t, reply(t, h.CommandIn(bottest.PublicRoom, "zed", "whoami")),
		"You are @zed, who is not in Vigil's people directory", "not a private room")
}

func TestPeopleAddChangeRemove(t *testing.T) {
	h := newHarness(t)
	contains(t, announced(t, h.Command("alice", `people add dave --roles responder --tz America/New_York --chat slack:U0DAVE --display "Dave Null" --email dave@example.org`)),
		"@alice added Dave Null (@dave)", "Roles: responder", "Time zone: America/New_York", "slack:U0DAVE", "console:dave")
	// dave can now act through his Slack account.
	if p, ok := h.Engine.Directory().ByChat(bot.UserRef{Adapter: "slack", ID: "U0DAVE"}); !ok || p.Name != "dave" {
		t.Fatalf("dave's slack account is not in the directory")
	}
	contains(t, announced(t, h.Command("alice", "people add dave --maintains acme/api")), "@alice updated Dave Null (@dave)", "Maintains: acme/api", "Roles: responder, maintainer")
	contains(t, reply(t, h.Command("bob", "people list")), "@dave", "@alice")

	bad := map[string]string{
		"people add eve --roles root":        "--roles: unknown role \"root\"",
		"people add eve --tz Mars/Olympus":   "unknown time zone",
		"people add eve --maintains acme":    `"acme" is not owner/repo`,
		"people add eve --email nope":        "not an email address",
		"people add Eve!":                    "use lower-case letters",
		"people add eve --chat slack:U0DAVE": "belongs to both @dave and @eve",
		"people add eve --chat nocolon":      "want adapter:id",
		"people remove @nobody":              "here is no @nobody in the directory",
		"people remove @alice":               "cannot remove yourself",
		"people show @nobody":                "here is no @nobody in the directory (known: alice, bob, carol, dave, mallory)",
	}
	for cmd, want := range bad {
		contains(t, reply(t, h.Command("alice", cmd)), want)
	}
	if _, ok := h.Engine.Directory().ByName("eve"); ok {
		t.Errorf("a rejected add still created @eve")
	}
	contains(t, reply(t, h.Command("bob", "people add eve")), "needs the admin role")
	contains(t, announced(t, h.Command("alice", "people remove @dave")), "@alice removed @dave")
	if _, ok := h.Engine.Directory().ByName("dave"); ok {
		t.Errorf("@dave still in the directory")
	}
}

func TestPeopleEditsPersistAcrossRestart(t *testing.T) {
	st := bottest.OpenStore(t)
	first := bottest.New(t, bottest.Options{Store: st})
	if err := core.Register(first.Engine); err != nil {
		t.Fatal(err)
	}
	first.Command("alice", "people add dave --roles responder")
	first.Command("alice", "people remove mallory")

	second := bottest.New(t, bottest.Options{Store: st})
	if err := second.Engine.LoadPeople(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p, ok := second.Engine.Directory().ByName("dave"); !ok || !p.Has(bot.RoleResponder) {
		t.Errorf("@dave lost on restart")
	}
	if _, ok := second.Engine.Directory().ByName("mallory"); ok {
		t.Errorf("@mallory came back after restart")
	}
}

func TestAuditLog(t *testing.T) {
	h := newHarness(t)
	h.Command("alice", "people add dave --roles responder")
	h.Command("alice", "people remove dave")
	got := reply(t, h.Command("alice", "audit"))
	contains(t, got, "Audit log: last 2", "alice  people.add @dave — responder  (test:security)", "alice  people.remove @dave")
	if strings.Index(got, "people.add") > strings.Index(got, "people.remove") {
		t.Errorf("audit entries are not oldest first:\n%s", got)
	}
	contains(t, reply(t, h.Command("alice", "audit 1")), "Audit log: last 1", "people.remove")
	contains(t, reply(t, h.Command("alice", "audit lots")), `N must be a number from 1 to 500, not "lots"`, "Usage: `/sec audit [N]`")
	contains(t, reply(t, h.Command("bob", "audit")), "needs the admin role")
	contains(t, reply(t, h.CommandIn(bottest.PublicRoom, "alice", "audit")), "only in the private security room")
}
