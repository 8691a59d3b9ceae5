package slack

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command string `yaml:"command"`
			URL     string `yaml:"url"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

func readManifest(t *testing.T, name string) manifest {
	t.Helper()
	data, err := os.ReadFile("../../deploy/slack/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// TestManifests keeps the app manifests in step with what the adapter
// handles: the events it turns into bot.Events, and exactly the scopes its
// Web API calls and those events need.
func TestManifests(t *testing.T) {
	wantScopes := []string{"app_mentions:read", "channels:history", "chat:write", "commands", "files:write", "groups:history", "groups:read", "groups:write", "im:history", "im:write", "reactions:read", "users:read"}
	wantEvents := []string{"app_mention", "channel_shared", "channel_unshared", "group_archive", "group_deleted", "group_left",
		"group_unarchive", "member_joined_channel", "member_left_channel", "message.groups", "message.im", "reaction_added"}
	for _, name := range []string{"manifest.yaml", "manifest-http.yaml"} {
		m := readManifest(t, name)
		scopes := slices.Sorted(slices.Values(m.OAuth.Scopes.Bot))
		events := slices.Sorted(slices.Values(m.Settings.Events.BotEvents))
		if !slices.Equal(scopes, wantScopes) {
			t.Errorf("%s scopes = %v, want %v", name, scopes, wantScopes)
		}
		if !slices.Equal(events, wantEvents) {
			t.Errorf("%s events = %v, want %v", name, events, wantEvents)
		}
		// Every channel event subscribed makes the adapter check the
		// security channel again.
		for _, e := range events {
			if strings.HasPrefix(e, "channel_") || strings.HasPrefix(e, "group_") || strings.HasPrefix(e, "member_") {
				if !slices.Contains(roomChangeTypes, e) {
					t.Errorf("%s subscribes to %s, which the adapter ignores", name, e)
				}
			}
		}
		if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/sec" || !m.Settings.Interactivity.Enabled {
			t.Errorf("%s: want one /sec command and interactivity", name)
		}
		http := name == "manifest-http.yaml"
		if m.Settings.SocketMode == http {
			t.Errorf("%s: socket_mode_enabled = %v", name, m.Settings.SocketMode)
		}
		if http {
			for url, path := range map[string]string{
				m.Settings.Events.RequestURL:        PathEvents,
				m.Settings.Interactivity.RequestURL: PathInteractions,
				m.Features.SlashCommands[0].URL:     PathCommands,
			} {
				if !strings.HasPrefix(url, "https://") || !strings.HasSuffix(url, path) {
					t.Errorf("%s: URL %q should be https://.../%s", name, url, path)
				}
			}
		}
	}
}
