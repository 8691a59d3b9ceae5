package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Matrix configures the Matrix adapter. It is on when Homeserver is set.
//
// The adapter logs in as one device and keeps that device's end-to-end
// encryption state under the data directory (matrix/ inside it), so the bot
// stays the same, verifiable device across restarts.
type Matrix struct {
	// Homeserver is the client-server API's base URL,
	// e.g. https://matrix.example.org. Setting it turns the adapter on.
	Homeserver string `yaml:"homeserver" env:"VIGIL_MATRIX_HOMESERVER"`
	// UserID is the bot's account, e.g. @vigil:example.org.
	UserID string `yaml:"user_id" env:"VIGIL_MATRIX_USER_ID"`
	// Password logs the bot in (recommended: the device id is then kept
	// across restarts by the crypto store). AccessToken is the alternative.
	Password    Secret `yaml:"password" env:"VIGIL_MATRIX_PASSWORD"`
	AccessToken Secret `yaml:"access_token" env:"VIGIL_MATRIX_ACCESS_TOKEN"`
	// DeviceName is shown to people in their device lists ("Vigil" when
	// empty).
	DeviceName string `yaml:"device_name" env:"VIGIL_MATRIX_DEVICE_NAME"`
	// Prefix starts a command in a message ("!sec" when empty).
	Prefix string `yaml:"prefix" env:"VIGIL_MATRIX_PREFIX"`
	// InviteServers are homeservers whose users may invite the bot into a
	// room even when they are not in the people directory. Invites from
	// anyone else are declined.
	InviteServers []string `yaml:"invite_servers"`
	// PickleKey encrypts the crypto store at rest. Empty means a random key
	// kept in a file next to the store (mode 0600).
	PickleKey Secret `yaml:"pickle_key" env:"VIGIL_MATRIX_PICKLE_KEY"`
}

// Enabled reports whether the Matrix adapter is configured.
func (m Matrix) Enabled() bool { return m.Homeserver != "" }

// CommandPrefix is Prefix or the default "!sec".
func (m Matrix) CommandPrefix() string {
	if m.Prefix == "" {
		return "!sec"
	}
	return m.Prefix
}

// Device is DeviceName or the default "Vigil".
func (m Matrix) Device() string {
	if m.DeviceName == "" {
		return "Vigil"
	}
	return m.DeviceName
}

// validateMatrix checks the adapter's keys. Like validateSlack it names keys
// and never quotes a secret.
func validateMatrix(c *Config, report func(key, msg string)) {
	m := &c.Matrix
	if !m.Enabled() {
		if m.UserID != "" || !m.Password.IsZero() || !m.AccessToken.IsZero() {
			report("matrix.homeserver", "required: Matrix is turned on by the homeserver URL, and only user_id, password or access_token is set")
		}
		return
	}
	if u, err := url.Parse(m.Homeserver); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		report("matrix.homeserver", msgf("want the homeserver's URL such as https://matrix.example.org, got %q", m.Homeserver))
	}
	if !validMatrixID(m.UserID, '@') {
		report("matrix.user_id", msgf("want the bot's full user id such as @vigil:example.org, got %q", m.UserID))
	}
	switch {
	case m.Password.IsZero() && m.AccessToken.IsZero():
		report("matrix.password", "required: the bot's password (or matrix.access_token)")
	case !m.Password.IsZero() && !m.AccessToken.IsZero():
		report("matrix.access_token", "set password or access_token, not both")
	}
	if p := m.CommandPrefix(); hasSpace(p) {
		report("matrix.prefix", msgf("want one word such as !sec, got %q", p))
	}
	for i, s := range m.InviteServers {
		if s == "" || strings.ContainsAny(s, "@/ ") {
			report(fmt.Sprintf("matrix.invite_servers[%d]", i), msgf("want a server name such as example.org, got %q", s))
		}
	}
}
