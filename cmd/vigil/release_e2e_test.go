package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	githubadapter "github.com/vigil-sec/vigil/adapters/github"
	"github.com/vigil-sec/vigil/adapters/github/githubtest"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/intake"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/config"
)

// mergedEvent is a pull_request delivery as GitHub sends it when a pull
// request is merged (action closed, merged true).
func mergedEvent(repo string, number int, base, by string, mergedAt time.Time) []byte {
	ev := map[string]any{
		"action": "closed", "number": number,
		"pull_request": map[string]any{
			"number": number, "html_url": fmt.Sprintf("https://github.com/%s/pull/%d", repo, number), "state": "closed",
			"merged": true, "merged_at": mergedAt.UTC().Format(time.RFC3339), "merged_by": githubtest.NewUser(by),
			"base": map[string]any{"ref": base}, "head": map[string]any{"ref": "fix"},
		},
		"repository": githubtest.WebhookRepository(repo),
		"sender":     githubtest.NewUser(by),
	}
	data, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return data
}

// A security release through the real wiring (registerCommands with
// GitHub, registerReleases, the webhook receiver with
// releasePullRequests) against the OpenAPI-checked fake GitHub: a draft
// advisory is opened, a plan inside 48 hours is refused, the release is
// planned and announced in a public room, a signed pull_request webhook
// starts the clock, and publishing sets the advisory to published on
// GitHub, moves the report to released and answers the announcement.
func TestReleaseOnGitHub(t *testing.T) {
	gh := githubtest.New(t, githubtest.Options{Token: "ghp_test"})
	gh.SeedRepo("acme/web", githubtest.Repository{})
	cfgText := fmt.Sprintf(`
http: {listen: "127.0.0.1:0"}
github:
  api_url: %q
  token: ghp_test
  webhook_secret: whsec
releases:
  timezone: Europe/Paris
  announce: {rooms: ["test:general"]}
  branches: [{repo: acme/web, supported: [2.3.x]}]
`, gh.URL())
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h := bottest.New(t, bottest.Options{People: []bot.Person{
		{Name: "bob", Chat: map[string]string{"test": "bob"}, Roles: []bot.Role{bot.RoleResponder, bot.RoleAdmin}},
		{Name: "carol", Chat: map[string]string{"test": "carol"}, Maintains: []string{"acme/web"}},
	}})
	client, err := githubadapter.New(githubadapter.Options{APIURL: gh.URL(), Token: "ghp_test", Clock: h.Clock})
	if err != nil {
		t.Fatal(err)
	}
	feats, err := registerCommands(h.Engine, cfg, services{github: client})
	if err != nil {
		t.Fatal(err)
	}
	rels := feats.releases
	hook, err := githubadapter.NewWebhook(githubadapter.WebhookOptions{
		Secret: "whsec", Sink: feats.reports, Seen: h.Store, Clock: h.Clock, PullRequests: releasePullRequests(rels),
	})
	if err != nil {
		t.Fatal(err)
	}
	hook.Mount(h.Engine.HTTP())
	ctx := context.Background()

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
	advs := gh.Advisories("acme/web")
	if len(advs) != 1 || advs[0].State != "draft" {
		t.Fatalf("advisories on GitHub: %+v", advs)
	}
	ghsa := advs[0].GHSAID

	out := bottest.Joined(h.Command("bob", "release plan "+id+" --public-at "+h.Clock.Now().Add(24*time.Hour).Format(time.RFC3339)))
	if !strings.Contains(out, "Refused") {
		t.Fatalf("plan inside 48h not refused:\n%s", out)
	}
	publicAt := time.Date(2026, 1, 8, 14, 0, 0, 0, time.UTC)
	out = bottest.Joined(h.Command("bob", `release plan `+id+` --public-at "2026-01-08 15:00"`))
	if !strings.Contains(out, "public at Thu 8 Jan 2026 14:00 UTC (15:00 CET Europe/Paris)") || !strings.Contains(out, "Back-port to 2.3.x of acme/web") {
		t.Fatalf("plan:\n%s", out)
	}
	var ann string
	for _, s := range h.Command("bob", "release announce "+id) {
		if s.To.Room == bottest.PublicRoom {
			ann = s.Msg.PlainText()
		}
	}
	if ann == "" || strings.Contains(ann, "XSS") || strings.Contains(ann, "unescaped") || !strings.Contains(ann, "Medium") {
		t.Fatalf("public announcement: %q", ann)
	}
	h.Advance(publicAt.Sub(h.Clock.Now()))
	h.Command("bob", "release link "+id+" https://github.com/acme/web/pull/42")
	// GitHub merged at 14:10 (merged_at in the delivery); the delivery
	// arrives at 14:40. The clock counts from the merge (issue 18).
	h.Advance(40 * time.Minute)

	deliver := func(n int, body []byte) int { return deliverPullRequest(h.Engine, n, body) }
	body := mergedEvent("acme/web", 42, "main", "carol", time.Date(2026, 1, 8, 14, 10, 0, 0, time.UTC))
	// A forged delivery is refused and starts nothing.
	bad := httptest.NewRequest(http.MethodPost, githubadapter.WebhookPath, bytes.NewReader(body))
	bad.Header.Set("X-GitHub-Event", "pull_request")
	bad.Header.Set("X-Hub-Signature-256", githubadapter.Sign("wrong", body))
	rec := httptest.NewRecorder()
	h.Engine.HTTP().ServeHTTP(rec, bad)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %d", rec.Code)
	}
	if code := deliver(1, body); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	out = bottest.Joined(h.Advance(time.Second))
	if !strings.Contains(out, "pull/42 merged (GitHub, by carol)") {
		t.Fatalf("merge not recorded:\n%s", out)
	}
	if out := bottest.Joined(h.Command("bob", "release list")); !strings.Contains(out, "1h 30m left to publish") {
		t.Fatalf("list, 30 minutes after GitHub's merge:\n%s", out)
	}
	if rel, err := feats.releases.Get(ctx, id); err != nil || !rel.PublishDue.Equal(time.Date(2026, 1, 8, 16, 10, 0, 0, time.UTC)) {
		t.Fatalf("publication deadline %v (%v); want merged_at 14:10 + 2h", rel.PublishDue, err)
	}

	h.Advance(20 * time.Minute)
	sent := h.Command("bob", "release publish "+id)
	sent = append(sent, h.Advance(time.Second)...)
	if a, ok := gh.Advisory("acme/web", ghsa); !ok || a.State != "published" {
		t.Fatalf("advisory on GitHub: %+v", a)
	}
	var answer *bottest.Sent
	for i, s := range sent {
		if s.To.Room == bottest.PublicRoom {
			answer = &sent[i]
		}
	}
	if answer == nil || answer.To.Thread.IsZero() || !strings.Contains(answer.Msg.PlainText(), ghsa) || !strings.Contains(answer.Msg.PlainText(), "https://github.com/acme/web/pull/42") {
		t.Fatalf("answer to the announcement: %+v\n%s", answer, bottest.Joined(sent))
	}
	rep, err := feats.reports.Get(ctx, id)
	if err != nil || rep.State != report.StateReleased {
		t.Fatalf("report: %+v %v", rep, err)
	}
	if v := gh.Violations(); len(v) != 0 {
		t.Errorf("requests GitHub would reject: %v", v)
	}
}

// deliverPullRequest posts a pull_request delivery to the engine's webhook
// route, signed with the test secret, and returns the HTTP status.
func deliverPullRequest(e *bot.Engine, n int, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, githubadapter.WebhookPath, bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("pr-delivery-%d", n))
	req.Header.Set("X-Hub-Signature-256", githubadapter.Sign("whsec", body))
	rec := httptest.NewRecorder()
	e.HTTP().ServeHTTP(rec, req)
	return rec.Code
}
