package main

import (
	"context"
	"strings"
	"testing"
	"time"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/config"
)

// An incident from start to the unpinned write-up, through the shim and
// the real GitHub client against the OpenAPI-checked fake, on a fake
// clock: the label is created because it is missing, the issue carries
// it, the GraphQL pinIssue and unpinIssue calls name the issue's node id,
// and the unpin comes no sooner than three days after resolution.
func TestIncidentOnGitHub(t *testing.T) {
	gh := githubtest.New(t, githubtest.Options{Token: "ghp_test"})
	gh.SeedRepo("acme/security", githubtest.Repository{})
	h := bottest.New(t, bottest.Options{})
	cfg := config.Default()
	cfg.Incidents.Repository = "acme/security"
	client, err := githubadapter.New(githubadapter.Options{APIURL: gh.URL(), Token: "ghp_test", Clock: h.Clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registerIncidents(h.Engine, cfg, client); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	h.Command("alice", `incident start "Deploy token leaked in a CI log"`)
	root, ok, err := h.Engine.Outbox().PostedRef(ctx, "incident:INC-2026-1:root")
	if err != nil || !ok {
		t.Fatalf("no war room: %v", err)
	}
	thread := bot.ThreadRef{Room: bottest.Room, ID: root.ID}
	h.Clock.Set(bottest.Start.Add(7 * time.Minute))
	h.Event(bot.Event{Kind: bot.EventMessage, Room: bottest.Room, Thread: thread, User: bot.UserRef{Adapter: "test", ID: "bob"},
		Message: bot.MessageRef{Room: bottest.Room, ID: "c1"}, Text: "Token revoked at the provider"})
	h.Event(bot.Event{Kind: bot.EventReaction, Room: bottest.Room, User: bot.UserRef{Adapter: "test", ID: "alice"},
		Message: bot.MessageRef{Room: bottest.Room, ID: "c1"}, Reaction: "pushpin"})
	h.Advance(2 * time.Hour)
	h.Command("alice", "incident resolve")
	resolved := h.Clock.Now()
	for sec, text := range map[string]string{
		"tldr":       "No user needs to act: the token could only deploy the documentation site.",
		"summary":    "A deploy token was printed in a public CI log for two hours and revoked.",
		"references": "https://example.org/blog/ci-token",
	} {
		h.Command("alice", "incident writeup edit "+sec+` "`+text+`"`)
	}
	out := h.Command("alice", "incident publish")
	var btn bot.Button
	for _, s := range out {
		if len(s.Msg.Buttons) == 1 {
			btn = s.Msg.Buttons[0]
		}
	}
	if btn.Action == "" || !strings.Contains(bottest.Joined(out), "The scan found nothing") {
		t.Fatalf("publish should ask for a confirmation: %q", bottest.Texts(out))
	}
	if n := len(gh.Requests()); n != 0 {
		t.Fatalf("%d GitHub requests before the confirmation", n)
	}
	// The button asks first (issue 16); "yes" publishes.
	h.Press("alice", btn)
	out = append(h.Say("alice", "yes"), h.Advance(time.Minute)...)
	if !strings.Contains(bottest.Joined(out), "is published and pinned: <https://github.com/acme/security/issues/1|acme/security#1>") {
		t.Fatalf("publication: %q", bottest.Texts(out))
	}
	labels := gh.Labels("acme/security")
	if len(labels) != 1 || labels[0].Name != "security-incident" || labels[0].Color != "b60205" {
		t.Errorf("labels %+v: want security-incident created by Vigil", labels)
	}
	issues := gh.Issues("acme/security")
	if len(issues) != 1 || !issues[0].Pinned || issues[0].Title != "Security incident: Deploy token leaked in a CI log" ||
		len(issues[0].Labels) != 1 || issues[0].Body == nil || !strings.Contains(*issues[0].Body, "- **09:07** Token revoked at the provider") {
		t.Fatalf("issues %+v", issues)
	}
	// Three days after resolution less a minute: still pinned, by job or by hand.
	h.Advance(resolved.Add(72*time.Hour - time.Minute).Sub(h.Clock.Now()))
	if out := h.Command("bob", "incident unpin"); !strings.Contains(bottest.Joined(out), "Not yet") {
		t.Errorf("early unpin: %q", bottest.Texts(out))
	}
	if !gh.Issues("acme/security")[0].Pinned {
		t.Fatal("unpinned before three days")
	}
	h.Advance(7 * 24 * time.Hour) // the planned unpin, 7 days after resolution
	if gh.Issues("acme/security")[0].Pinned {
		t.Error("still pinned a week after resolution")
	}
	node := issues[0].NodeID
	if got := strings.Join(gh.GraphQLCalls(), "|"); got != "pinIssue "+node+"|unpinIssue "+node {
		t.Errorf("GraphQL calls %q", got)
	}
	if v := gh.Violations(); len(v) != 0 {
		t.Errorf("requests GitHub would reject: %v", v)
	}
}
