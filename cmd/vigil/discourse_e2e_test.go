package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/adapters/discourse/discoursetest"
	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/config"
)

// forumRelease is a release wired as cmd/vigil wires it, with a fake
// GitHub and a fake Discourse (category "security", id 7), planned and
// ready to announce.
type forumRelease struct {
	*bottest.Harness
	gh    *githubtest.Fake
	forum *discoursetest.Fake
	feats *features
	id    string
}

func newForumRelease(t *testing.T) *forumRelease {
	t.Helper()
	gh := githubtest.New(t, githubtest.Options{Token: "ghp_test"})
	gh.SeedRepo("acme/web", githubtest.Repository{})
	df := discoursetest.New(t, discoursetest.Options{APIKey: "dk", APIUsername: "vigil"})
	df.AddCategory(7, "security", "Security announcements")
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	cfgText := fmt.Sprintf(`
github: {api_url: %q, token: ghp_test}
releases:
  branches: [{repo: acme/web, supported: [2.3.x]}]
discourse: {url: %q, api_key: dk, api_username: vigil, category: security}
`, gh.URL(), df.URL())
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h := bottest.New(t, bottest.Options{People: []bot.Person{
		{Name: "bob", Chat: map[string]string{"test": "bob"}, Roles: []bot.Role{bot.RoleResponder, bot.RoleAdmin}},
	}})
	client, err := githubadapter.New(githubadapter.Options{APIURL: gh.URL(), Token: "ghp_test", Clock: h.Clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fo, err := startForum(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if fo.category.ID != 7 {
		t.Fatalf("category resolved to %+v", fo.category)
	}
	feats, err := registerCommands(h.Engine, cfg, services{github: client, forum: fo})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := githubadapter.NewWebhook(githubadapter.WebhookOptions{
		Secret: "whsec", Sink: feats.reports, Seen: h.Store, Clock: h.Clock, PullRequests: releasePullRequests(feats.releases),
	})
	if err != nil {
		t.Fatal(err)
	}
	hook.Mount(h.Engine.HTTP())
	res, err := feats.reports.Receive(ctx, intake.Incoming{Source: intake.SourceAPI, SourceID: "k1", Title: "Stored XSS in comments",
		Description: "A comment body is rendered unescaped.", Repositories: []string{"acme/web"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.ReportID
	h.Command("bob", "report ack "+id)
	h.Command("bob", "report accept "+id)
	h.Command("bob", "report score "+id+" CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N")
	h.Command("bob", `advisory open `+id+` acme/web --ecosystem npm --package acme-web --vulnerable "< 2.4.1" --patched 2.4.1 --cwe CWE-79`)
	h.Advance(time.Minute)
	h.Command("bob", `release plan `+id+` --public-at "2026-01-08 14:00"`)
	return &forumRelease{Harness: h, gh: gh, forum: df, feats: feats, id: id}
}

// The whole release on the forum: the topic at the announcement (after
// Discourse's rate limit, once), the edit and reply at the postponement,
// the deadline from the merge time GitHub gives, and the reply with the
// advisory and the labelled pull requests at publication.
func TestReleaseOnDiscourse(t *testing.T) {
	f := newForumRelease(t)
	ctx := context.Background()
	f.forum.RateLimitOnce(discoursetest.OpCreatePost, 30)
	f.Command("bob", "release announce "+f.id)
	f.Advance(time.Second)
	if _, ok := f.forum.Topic(1); ok {
		t.Fatal("a topic was created despite the rate limit")
	}
	out := bottest.Joined(f.Advance(40 * time.Second))
	if n := len(f.forum.RequestsFor(discoursetest.OpCreatePost)); n != 2 {
		t.Fatalf("%d create requests, want the limited one and one after the wait", n)
	}
	rel, err := f.feats.releases.Get(ctx, f.id)
	if err != nil || rel.Forum.TopicID == 0 || rel.Forum.URL == "" {
		t.Fatalf("topic not recorded: %+v %v", rel, err)
	}
	if !strings.Contains(out, "Announced on the forum: "+rel.Forum.URL) {
		t.Fatalf("thread not told the topic:\n%s", out)
	}
	topic, ok := f.forum.Topic(rel.Forum.TopicID)
	if !ok || topic.CategoryID != 7 || len(topic.Posts) != 1 {
		t.Fatalf("topic: %+v", topic)
	}
	body := topic.Posts[0].Raw
	for _, want := range []string{"acme/web", `[date=2026-01-08 time=14:00:00 timezone="UTC"]`, "2026-01-08 14:00 UTC", "Medium"} {
		if !strings.Contains(body, want) {
			t.Errorf("announcement lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "XSS") || strings.Contains(body, "unescaped") {
		t.Errorf("announcement leaks the report:\n%s", body)
	}

	f.Command("bob", `release postpone `+f.id+` --public-at "2026-01-10 14:00" --reason "the back-port needs more time"`)
	f.Advance(time.Second)
	topic, _ = f.forum.Topic(rel.Forum.TopicID)
	if len(topic.Posts) != 2 || topic.Posts[0].Edits != 1 || !strings.Contains(topic.Posts[0].Raw, "2026-01-10") ||
		!strings.Contains(topic.Posts[1].Raw, "postponed") || !strings.Contains(topic.Posts[1].Raw, "the back-port needs more time") {
		t.Fatalf("postponement on the forum: %+v", topic.Posts)
	}

	publicAt := time.Date(2026, 1, 10, 14, 0, 0, 0, time.UTC)
	f.Advance(publicAt.Sub(f.Clock.Now()) + 30*time.Minute)
	f.Command("bob", "release link "+f.id+" https://github.com/acme/web/pull/42 https://github.com/acme/web/pull/43")
	mergedAt := publicAt.Add(10 * time.Minute) // earlier than now: the webhooks came late
	for _, pr := range []struct {
		n    int
		base string
	}{{42, "main"}, {43, "2.3.x"}} {
		if code := deliverPullRequest(f.Engine, pr.n, mergedEvent("acme/web", pr.n, pr.base, "carol", mergedAt)); code != http.StatusOK {
			t.Fatalf("pull_request webhook for #%d: HTTP %d", pr.n, code)
		}
	}
	f.Advance(time.Second)
	rel, _ = f.feats.releases.Get(ctx, f.id)
	if !rel.MergedAt.Equal(mergedAt) || !rel.PublishDue.Equal(mergedAt.Add(2*time.Hour)) {
		t.Fatalf("clock: merged %s, due %s", rel.MergedAt, rel.PublishDue)
	}

	f.Command("bob", "release publish "+f.id)
	f.Advance(time.Second)
	ghsa := f.gh.Advisories("acme/web")[0].GHSAID
	topic, _ = f.forum.Topic(rel.Forum.TopicID)
	if len(topic.Posts) != 3 {
		t.Fatalf("posts after publication: %+v", topic.Posts)
	}
	answer := topic.Posts[2].Raw
	for _, want := range []string{ghsa, "Fix on the main branch (acme/web): https://github.com/acme/web/pull/42", "Back-port to 2.3.x (acme/web): https://github.com/acme/web/pull/43"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	if v := f.forum.Violations(); len(v) != 0 {
		t.Errorf("requests Discourse would reject: %v", v)
	}
}

// A key without the scope: nothing is posted and the release's thread says
// why, with Discourse's reason.
func TestReleaseOnDiscourseForbidden(t *testing.T) {
	f := newForumRelease(t)
	f.forum.Forbid(discoursetest.OpCreatePost)
	sent := f.Command("bob", "release announce "+f.id)
	out := bottest.Joined(append(sent, f.Advance(time.Minute)...))
	if !strings.Contains(out, "The forum refused the announce post") || !strings.Contains(out, "topics: write") {
		t.Fatalf("thread not told why:\n%s", out)
	}
	if n := len(f.forum.RequestsFor(discoursetest.OpCreatePost)); n != 1 {
		t.Fatalf("%d create requests: a refusal must not be retried", n)
	}
}

// A cancelled release: the topic's first post says so, and a reply gives
// the reason.
func TestReleaseOnDiscourseCancelled(t *testing.T) {
	f := newForumRelease(t)
	f.Command("bob", "release announce "+f.id)
	f.Advance(time.Second)
	f.Command("bob", "release cancel "+f.id+` --reason "the fix broke the build"`)
	f.Advance(time.Second)
	rel, err := f.feats.releases.Get(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	topic, ok := f.forum.Topic(rel.Forum.TopicID)
	if !ok || len(topic.Posts) != 2 || topic.Posts[0].Edits != 1 || !strings.Contains(topic.Posts[0].Raw, "Cancelled") ||
		!strings.Contains(topic.Posts[1].Raw, "cancelled") || !strings.Contains(topic.Posts[1].Raw, "the fix broke the build") {
		t.Fatalf("cancellation on the forum: %+v", topic)
	}
}

// A category the key cannot find stops the start with a clear error.
func TestStartForumUnknownCategory(t *testing.T) {
	df := discoursetest.New(t, discoursetest.Options{APIKey: "dk-s3cret", APIUsername: "vigil"})
	df.AddCategory(7, "security", "Security announcements")
	cfg := &config.Config{Discourse: config.Discourse{URL: df.URL(), APIUsername: "vigil", Category: "no-such-category"}}
	cfg.Discourse.APIKey = config.NewSecret("dk-s3cret")
	_, err := startForum(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), `discourse.category "no-such-category"`) || strings.Contains(err.Error(), "dk-s3cret") {
		t.Fatalf("start with an unknown category: %v", err)
	}
}
