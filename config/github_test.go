package config

import (
	"strings"
	"testing"
	"time"
)

const testPEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----"

func TestGitHubOffByDefault(t *testing.T) {
	c, _, err := loadYAML(t, "data: /x\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHub.Enabled() || c.GitHub.Interval() != 10*time.Minute {
		t.Errorf("github defaults = %+v (interval %s), want off and 10m", c.GitHub, c.GitHub.Interval())
	}
}

func TestGitHubToken(t *testing.T) {
	c, _, err := loadYAML(t, `
http: {listen: "127.0.0.1:0"}
github:
  api_url: http://127.0.0.1:9/
  token: github_pat_abc
  webhook_secret: hook-secret
  organizations: [acme]
  repositories: [acme/web, other/lib.js]
  poll_interval: 5m
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := c.GitHub
	if !g.Enabled() || g.Token.Value() != "github_pat_abc" || g.WebhookSecret.Value() != "hook-secret" ||
		g.APIURL != "http://127.0.0.1:9/" || len(g.Organizations) != 1 || len(g.Repositories) != 2 || g.Interval() != 5*time.Minute {
		t.Errorf("not loaded: %+v", g)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "github_pat_abc") || strings.Contains(string(out), "hook-secret") {
		t.Errorf("--print shows a GitHub secret:\n%s", out)
	}
}

func TestGitHubAppFromFiles(t *testing.T) {
	key := secretFile(t, testPEM+"\n")
	c, _, err := loadYAML(t, "github:\n  app_id: 12345\n  installation_id: 678\n  app_private_key_file: "+key+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.GitHub.Enabled() || c.GitHub.AppID != 12345 || c.GitHub.InstallationID != 678 || c.GitHub.AppPrivateKey.Value() != testPEM {
		t.Errorf("app not loaded: %+v", c.GitHub)
	}
}

func TestGitHubFromEnv(t *testing.T) {
	c, err := Load("", envMap(map[string]string{
		"VIGIL_GITHUB_TOKEN_FILE":     secretFile(t, "github_pat_from_file\n"),
		"VIGIL_GITHUB_WEBHOOK_SECRET": "from-env",
		"VIGIL_HTTP_LISTEN":           ":8080",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHub.Token.Value() != "github_pat_from_file" || c.GitHub.WebhookSecret.Value() != "from-env" {
		t.Errorf("env not applied: token %q secret %q", c.GitHub.Token.Value(), c.GitHub.WebhookSecret.Value())
	}
}

func TestGitHubValidation(t *testing.T) {
	const tok = "github_pat_SECRET"
	tests := []struct {
		name, src string
		key       string
		line      int
		msg       string
	}{
		{"token and app", "github:\n  token: " + tok + "\n  app_id: 1\n  installation_id: 2\n  app_private_key: |\n    " + strings.ReplaceAll(testPEM, "\n", "\n    ") + "\n", "github.token", 2, "not both"},
		{"app without installation", "github:\n  app_id: 1\n  app_private_key: |\n    " + strings.ReplaceAll(testPEM, "\n", "\n    ") + "\n", "github.installation_id", 1, "required for a GitHub App"},
		{"app key not PEM", "github:\n  app_id: 1\n  installation_id: 2\n  app_private_key: SECRET-NOT-PEM\n", "github.app_private_key", 4, "want a PEM private key"},
		{"app id without key", "github:\n  app_id: 1\n  installation_id: 2\n", "github.app_private_key", 1, "required for a GitHub App"},
		{"webhook needs listen", "github:\n  token: " + tok + "\n  webhook_secret: SECRET-HOOK\n", "github.webhook_secret", 3, "needs http.listen"},
		{"webhook secret alone", "http: {listen: ':1'}\ngithub:\n  webhook_secret: SECRET-HOOK\n", "github.token", 2, "turned on by a token or a GitHub App"},
		{"repositories without credentials", "github:\n  repositories: [acme/web]\n", "github.token", 1, "polled with a token"},
		{"repository not owner/name", "github:\n  token: " + tok + "\n  repositories:\n    - acme/web\n    - acme\n", "github.repositories[1]", 5, `owner/name, got "acme"`},
		{"repository twice", "github:\n  token: " + tok + "\n  repositories: [acme/web, ACME/web]\n", "github.repositories[1]", 3, "listed twice"},
		{"bad organisation", "github:\n  token: " + tok + "\n  organizations: [acme/web]\n", "github.organizations[0]", 3, "organisation name"},
		{"poll too often", "github:\n  token: " + tok + "\n  poll_interval: 10s\n", "github.poll_interval", 3, "at least 1m"},
		{"negative poll", "github:\n  token: " + tok + "\n  poll_interval: -1m\n", "github.poll_interval", 3, "negative"},
		{"api url", "github:\n  token: " + tok + "\n  api_url: api.github.com\n", "github.api_url", 3, "http(s) URL"},
		{"token with a line break", "github:\n  token: \"github_pat_SECRET\\nx\"\n", "github.token", 2, "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.src, nil)
			p := onlyProblem(t, err)
			if p.Key != tt.key || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got %s:%d %q\nwant %s:%d containing %q", p.Key, p.Line, p.Msg, tt.key, tt.line, tt.msg)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "MIIB") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}
