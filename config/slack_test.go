package config

import (
	"strings"
	"testing"
)

func TestSlackOffByDefault(t *testing.T) {
	c, _, err := loadYAML(t, "rooms:\n  slack: [C1]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.Enabled() || c.Slack.Mode != SlackSocket || c.Slack.Command != "/sec" {
		t.Errorf("slack defaults = %+v, want off, socket, /sec", c.Slack)
	}
}

func TestSlackModes(t *testing.T) {
	c, _, err := loadYAML(t, `
slack:
  bot_token: xoxb-1-2-abc
  app_token: xapp-1-A1-abc
  command: /security
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Slack.Enabled() || c.Slack.Mode != SlackSocket || c.Slack.AppToken.Value() != "xapp-1-A1-abc" || c.Slack.Command != "/security" {
		t.Errorf("socket mode not loaded: %+v", c.Slack)
	}
	if !strings.Contains(c.Summary(), "slack=socket") {
		t.Errorf("Summary() = %q, want slack=socket", c.Summary())
	}

	c, _, err = loadYAML(t, `
http: {listen: "127.0.0.1:0"}
slack:
  mode: http
  bot_token: xoxb-1-2-abc
  signing_secret: s3cr3t
  api_url: http://127.0.0.1:9/api/
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.Mode != SlackHTTP || c.Slack.SigningSecret.Value() != "s3cr3t" || c.Slack.APIURL != "http://127.0.0.1:9/api/" {
		t.Errorf("http mode not loaded: %+v", c.Slack)
	}
}

func TestSlackFromEnvAndFiles(t *testing.T) {
	tok := secretFile(t, "xoxb-from-file\n")
	c, err := Load("", envMap(map[string]string{
		"VIGIL_SLACK_BOT_TOKEN_FILE": tok,
		"VIGIL_SLACK_APP_TOKEN":      "xapp-from-env",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.BotToken.Value() != "xoxb-from-file" || c.Slack.AppToken.Value() != "xapp-from-env" {
		t.Errorf("tokens not read from env/file: %q %q", c.Slack.BotToken.Value(), c.Slack.AppToken.Value())
	}
	c, _, err = loadYAML(t, "http: {listen: ':8080'}\nslack:\n  mode: http\n  bot_token: xoxb-a\n  signing_secret_file: "+secretFile(t, "sig\n")+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.SigningSecret.Value() != "sig" {
		t.Errorf("signing_secret_file not read: %q", c.Slack.SigningSecret.Value())
	}
}

func TestSlackValidation(t *testing.T) {
	const tok = "xoxb-SECRET-TOKEN"
	tests := []struct {
		name, src string
		key       string
		line      int
		msg       string
	}{
		{"socket needs app token", "slack:\n  bot_token: " + tok + "\n", "slack.app_token", 1, "required in socket mode"},
		{"app token kind", "slack:\n  bot_token: " + tok + "\n  app_token: xoxb-WRONG-KIND\n", "slack.app_token", 3, "starting with xapp-"},
		{"bot token kind", "slack:\n  bot_token: xapp-SECRET\n  app_token: xapp-1\n", "slack.bot_token", 2, "starting with xoxb-"},
		{"http needs signing secret", "http: {listen: ':1'}\nslack:\n  mode: http\n  bot_token: " + tok + "\n", "slack.signing_secret", 2, "required in http mode"},
		{"http needs listen", "slack:\n  mode: http\n  bot_token: " + tok + "\n  signing_secret: SECRET-SIG\n", "slack.mode", 2, "needs http.listen"},
		{"unknown mode", "slack:\n  mode: rtm\n  bot_token: " + tok + "\n", "slack.mode", 2, `unknown mode "rtm"`},
		{"command without slash", "slack:\n  bot_token: " + tok + "\n  app_token: xapp-1\n  command: sec\n", "slack.command", 4, "want a slash command"},
		{"api url", "slack:\n  bot_token: " + tok + "\n  app_token: xapp-1\n  api_url: slack.example\n", "slack.api_url", 4, "want an http(s) URL"},
		{"app token alone", "slack:\n  app_token: xapp-SECRET\n", "slack.bot_token", 1, "turned on by the bot token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.src, nil)
			p := onlyProblem(t, err)
			if p.Key != tt.key || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got %s:%d %q\nwant %s:%d containing %q", p.Key, p.Line, p.Msg, tt.key, tt.line, tt.msg)
			}
			for _, secret := range []string{"SECRET", "WRONG-KIND"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a token: %v", err)
				}
			}
		})
	}
}
