package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// GitHub connects Vigil to GitHub: private vulnerability reports arrive by
// webhook and by polling, and accepting a report moves its advisory to
// draft. It is on when a token or a GitHub App is configured.
type GitHub struct {
	// APIURL is the REST API; empty means https://api.github.com/. Tests
	// point it at a fake.
	APIURL string `yaml:"api_url"`
	// Token is a fine-grained personal access token with the "Repository
	// security advisories" permission (read and write).
	Token Secret `yaml:"token" env:"VIGIL_GITHUB_TOKEN"`
	// AppID, InstallationID and AppPrivateKey (PEM) authenticate as a
	// GitHub App installation instead of a token.
	AppID          int64  `yaml:"app_id"`
	InstallationID int64  `yaml:"installation_id"`
	AppPrivateKey  Secret `yaml:"app_private_key" env:"VIGIL_GITHUB_APP_PRIVATE_KEY"`
	// WebhookSecret turns on POST /hooks/github on http.listen; every
	// delivery must be signed with it.
	WebhookSecret Secret `yaml:"webhook_secret" env:"VIGIL_GITHUB_WEBHOOK_SECRET"`
	// Organizations and Repositories (owner/name) are polled for
	// advisories in triage, so a missed webhook still brings the report.
	Organizations []string `yaml:"organizations"`
	Repositories  []string `yaml:"repositories"`
	// PollInterval is the time between polls; 0 means the default.
	PollInterval Duration `yaml:"poll_interval"`
}

// DefaultGitHubPollInterval is used when github.poll_interval is unset.
const DefaultGitHubPollInterval = 10 * time.Minute

// minGitHubPollInterval keeps polling inside GitHub's rate limits (5,000
// requests an hour for a token, shared with everything else Vigil does).
const minGitHubPollInterval = time.Minute

// Enabled reports whether GitHub is configured: a token or any app field.
func (g GitHub) Enabled() bool { return !g.Token.IsZero() || g.usesApp() }

func (g GitHub) usesApp() bool {
	return g.AppID != 0 || g.InstallationID != 0 || !g.AppPrivateKey.IsZero()
}

// Interval is PollInterval or its default.
func (g GitHub) Interval() time.Duration {
	if g.PollInterval == 0 {
		return DefaultGitHubPollInterval
	}
	return g.PollInterval.Std()
}

// validateGitHub checks the credentials, the webhook's needs and the
// polled sources. Messages never quote a token, key or secret.
func validateGitHub(c *Config, report func(key, msg string)) {
	g := &c.GitHub
	if !g.Enabled() {
		switch {
		case !g.WebhookSecret.IsZero():
			report("github.token", "required: GitHub is turned on by a token or a GitHub App (app_id, installation_id, app_private_key), and only webhook_secret is set")
		case len(g.Organizations) > 0 || len(g.Repositories) > 0:
			report("github.token", "required: organizations and repositories are polled with a token or a GitHub App (app_id, installation_id, app_private_key)")
		}
		return
	}
	if !g.Token.IsZero() && g.usesApp() {
		report("github.token", "set either a token or a GitHub App (app_id, installation_id, app_private_key), not both")
	}
	if hasSpace(g.Token.Value()) {
		report("github.token", "the token contains white space (check for a pasted line break)")
	}
	if g.usesApp() {
		if g.AppID <= 0 {
			report("github.app_id", "required for a GitHub App: the App ID from the app's settings page")
		}
		if g.InstallationID <= 0 {
			report("github.installation_id", "required for a GitHub App: the number at the end of the installation's settings URL")
		}
		switch key := g.AppPrivateKey.Value(); {
		case key == "":
			report("github.app_private_key", "required for a GitHub App: the private key (.pem) generated in the app's settings")
		case !strings.Contains(key, "-----BEGIN") || !strings.Contains(key, "PRIVATE KEY-----"):
			report("github.app_private_key", "want a PEM private key (-----BEGIN RSA PRIVATE KEY-----); app_private_key_file can name the .pem file")
		}
	}
	if !g.WebhookSecret.IsZero() && !c.HTTP.Enabled() {
		report("github.webhook_secret", "the webhook needs http.listen set: GitHub posts to /hooks/github on that listener")
	}
	if g.APIURL != "" {
		if u, err := url.Parse(g.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			report("github.api_url", msgf("want an http(s) URL such as https://api.github.com/, got %q", g.APIURL))
		}
	}
	orgs := map[string]int{}
	for i, org := range g.Organizations {
		key := "github.organizations[" + strconv.Itoa(i) + "]"
		switch lower := strings.ToLower(org); {
		case len(org) > 39 || !githubLoginRE.MatchString(org):
			report(key, msgf("want an organisation name such as acme, got %q", org))
		default:
			if j, dup := orgs[lower]; dup {
				report(key, msgf("organisation %q is listed twice (also github.organizations[%d])", org, j))
			} else {
				orgs[lower] = i
			}
		}
	}
	repos := map[string]int{}
	for i, repo := range g.Repositories {
		key := "github.repositories[" + strconv.Itoa(i) + "]"
		switch lower := strings.ToLower(repo); {
		case !repoRE.MatchString(repo):
			report(key, msgf("want a repository as owner/name, got %q", repo))
		default:
			if j, dup := repos[lower]; dup {
				report(key, msgf("repository %q is listed twice (also github.repositories[%d])", repo, j))
			} else {
				repos[lower] = i
			}
		}
	}
	switch d := g.PollInterval.Std(); {
	case d < 0:
		report("github.poll_interval", msgf("must not be negative, got %s", g.PollInterval))
	case d > 0 && d < minGitHubPollInterval:
		report("github.poll_interval", msgf("at least 1m, to stay inside GitHub's rate limits; got %s", g.PollInterval))
	}
}
