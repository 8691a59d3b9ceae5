package config

import (
	"strings"
	"testing"
)

func TestMatrixOffByDefault(t *testing.T) {
	c, _, err := loadYAML(t, "rooms:\n  matrix: [\"!r:example.org\"]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Matrix.Enabled() || c.Matrix.CommandPrefix() != "!sec" || c.Matrix.Device() != "Vigil" {
		t.Errorf("matrix defaults = %+v, want off, !sec, Vigil", c.Matrix)
	}
}

func TestMatrixLoads(t *testing.T) {
	pw := secretFile(t, "SECRET-PW\n")
	c, err := Load("", envMap(map[string]string{
		"VIGIL_MATRIX_HOMESERVER":    "https://matrix.example.org",
		"VIGIL_MATRIX_USER_ID":       "@vigil:example.org",
		"VIGIL_MATRIX_PASSWORD_FILE": pw,
		"VIGIL_MATRIX_PREFIX":        "!security",
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Matrix
	if !m.Enabled() || m.UserID != "@vigil:example.org" || m.Password.Value() != "SECRET-PW" || m.CommandPrefix() != "!security" {
		t.Errorf("matrix not loaded from env: %+v", m)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "SECRET") {
		t.Errorf("--print shows the password:\n%s", out)
	}
}

func TestMatrixValidation(t *testing.T) {
	tests := []struct {
		name, src, key, msg string
	}{
		{"user without homeserver", "matrix:\n  user_id: \"@v:x.org\"\n", "matrix.homeserver", "turned on by the homeserver"},
		{"bad url", "matrix:\n  homeserver: matrix.example.org\n  user_id: \"@v:x.org\"\n  password: SECRET-PW\n", "matrix.homeserver", "want the homeserver's URL"},
		{"bad user", "matrix:\n  homeserver: https://x.org\n  user_id: vigil\n  password: SECRET-PW\n", "matrix.user_id", "full user id"},
		{"no credentials", "matrix:\n  homeserver: https://x.org\n  user_id: \"@v:x.org\"\n", "matrix.password", "required"},
		{"both credentials", "matrix:\n  homeserver: https://x.org\n  user_id: \"@v:x.org\"\n  password: SECRET-PW\n  access_token: SECRET-TOK\n", "matrix.access_token", "not both"},
		{"prefix with space", "matrix:\n  homeserver: https://x.org\n  user_id: \"@v:x.org\"\n  password: SECRET-PW\n  prefix: \"! sec\"\n", "matrix.prefix", "one word"},
		{"bad invite server", "matrix:\n  homeserver: https://x.org\n  user_id: \"@v:x.org\"\n  password: SECRET-PW\n  invite_servers: [\"@x.org\"]\n", "matrix.invite_servers[0]", "server name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.src, nil)
			if err == nil {
				t.Fatal("no problem reported")
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Key != tt.key || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Errorf("problems = %v, want one at %s containing %q", ps, tt.key, tt.msg)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}
