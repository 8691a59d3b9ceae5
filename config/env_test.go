package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestEnvOverridesFile(t *testing.T) {
	const file = `
data: /from/file
redis:
  url: redis://file:6379
  prefix: file
http:
  listen: 127.0.0.1:1
log:
  level: debug
  format: text
`
	tests := []struct {
		env  string
		val  string
		get  func(*Config) string
		file string // the value the file alone gives
	}{
		{"VIGIL_DATA", "/from/env", func(c *Config) string { return c.Data }, "/from/file"},
		{"VIGIL_REDIS_URL", "redis://env:6379", func(c *Config) string { return c.Redis.URL.Value() }, "redis://file:6379"},
		{"VIGIL_REDIS_PREFIX", "env", func(c *Config) string { return c.Redis.Prefix }, "file"},
		{"VIGIL_HTTP_LISTEN", "127.0.0.1:2", func(c *Config) string { return c.HTTP.Listen }, "127.0.0.1:1"},
		{"VIGIL_LOG_LEVEL", "error", func(c *Config) string { return string(c.Log.Level) }, "debug"},
		{"VIGIL_LOG_FORMAT", "json", func(c *Config) string { return string(c.Log.Format) }, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			c, _, err := loadYAML(t, file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(c); got != tt.file {
				t.Fatalf("without env: %q, want %q", got, tt.file)
			}
			c, _, err = loadYAML(t, file, map[string]string{tt.env: tt.val})
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(c); got != tt.val {
				t.Errorf("with %s=%q: %q, want the env value", tt.env, tt.val, got)
			}
			// The same override applies with no file at all.
			c, err = Load("", envMap(map[string]string{tt.env: tt.val}))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(c); got != tt.val {
				t.Errorf("no file, %s=%q: %q, want the env value", tt.env, tt.val, got)
			}
		})
	}
}

func TestEnvSetButEmptyOverrides(t *testing.T) {
	// An empty variable is a deliberate override: here it turns HTTP off.
	c, _, err := loadYAML(t, "http: {listen: ':8080'}\n", map[string]string{"VIGIL_HTTP_LISTEN": ""})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Enabled() {
		t.Errorf("listen = %q, want empty", c.HTTP.Listen)
	}
}

func TestEnvStringsAreVerbatim(t *testing.T) {
	// "~" would be null in YAML; a path from the environment is taken as is.
	c, err := Load("", envMap(map[string]string{"VIGIL_DATA": "~"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "~" {
		t.Errorf("data = %q, want ~", c.Data)
	}
}

func TestUnknownEnvIgnored(t *testing.T) {
	if _, err := Load("", envMap(map[string]string{"VIGIL_NO_SUCH_KEY": "x", "VIGIL_LOG_LEVEL": "warn"})); err != nil {
		t.Fatalf("unknown VIGIL_ variable should be ignored: %v", err)
	}
}

func TestEnvProblemsNameTheVariable(t *testing.T) {
	// The file's value is fine; the environment's replaces it and is wrong,
	// so the problem must point at the variable, not the file line.
	_, _, err := loadYAML(t, "log:\n  level: info\n", map[string]string{"VIGIL_LOG_LEVEL": "loud"})
	p := onlyProblem(t, err)
	if p.Env != "VIGIL_LOG_LEVEL" || p.Line != 0 || p.Key != "log.level" {
		t.Errorf("got %+v, want env VIGIL_LOG_LEVEL, key log.level, no line", p)
	}
	if got, want := p.String(), `env VIGIL_LOG_LEVEL: unknown log level "loud" (want debug, info, warn or error)`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestEnvTags guards the tag-driven table: names are unique, carry the
// VIGIL_ prefix, and each is documented in example.yaml (with its _FILE
// twin for secrets).
func TestEnvTags(t *testing.T) {
	seen := map[string]string{}
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for _, f := range fieldsOf(typ) {
			ft := typ.Field(f.index).Type
			key := joinKey(path, f.name)
			if f.env != "" {
				if !strings.HasPrefix(f.env, "VIGIL_") {
					t.Errorf("%s: env %q lacks the VIGIL_ prefix", key, f.env)
				}
				if other, dup := seen[f.env]; dup {
					t.Errorf("env %s used by %s and %s", f.env, other, key)
				}
				seen[f.env] = key
				names := []string{f.env}
				if f.secret {
					names = append(names, f.env+"_FILE")
				}
				for _, n := range names {
					if !strings.Contains(Example(), n) {
						t.Errorf("example.yaml does not mention %s", n)
					}
				}
			}
			if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType) {
				walk(ft, key)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	// Every feature adds its own overrides; the loop above already checks
	// each is documented, so the table needs no fixed size here.
	if len(seen) == 0 {
		t.Error("no env overrides found: the tag walk is broken")
	}
}

// secretFile writes content to a temp file and returns its path.
func secretFile(t *testing.T, content string) string {
	t.Helper()
	return writeFile(t, "secret", content)
}

func TestSecretFromFile(t *testing.T) {
	for name, content := range map[string]string{
		"plain":      "redis://:pw@h:6379",
		"newline":    "redis://:pw@h:6379\n",
		"crlf":       "redis://:pw@h:6379\r\n",
		"many lines": "redis://:pw@h:6379\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := secretFile(t, content)
			c, _, err := loadYAML(t, "redis:\n  url_file: "+p+"\n", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Redis.URL.Value(); got != "redis://:pw@h:6379" {
				t.Errorf("url = %q, want the file's contents without the newline", got)
			}
		})
	}
}

func TestSecretFileProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	empty := secretFile(t, "\n")
	badURL := secretFile(t, "http://user:hunter2@h\n")
	tests := []struct {
		name, src, key string
		line           int
		msg            string
	}{
		{"missing file", "redis:\n  url_file: " + missing + "\n", "redis.url_file", 2, "reading secret file: open " + missing},
		{"empty file", "redis:\n\n  url_file: " + empty + "\n", "redis.url_file", 3, "secret file " + empty + " is empty"},
		{"no path", "redis:\n  url_file:\n", "redis.url_file", 2, "want the path of a file"},
		{"both", "redis:\n  url: redis://h\n  url_file: " + empty + "\n", "redis.url_file", 3, "set either url or url_file, not both (other on line 2)"},
		// A bad value read from a file is reported at the _file line.
		{"bad contents", "redis:\n  prefix: p\n  url_file: " + badURL + "\n", "redis.url", 3, `unknown scheme "http"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.src, nil)
			p := onlyProblem(t, err)
			if p.Key != tt.key || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got %s:%d %q\nwant %s:%d containing %q", p.Key, p.Line, p.Msg, tt.key, tt.line, tt.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestSecretFromEnvFile(t *testing.T) {
	p := secretFile(t, "redis://:pw@env-file:6379\n")
	c, _, err := loadYAML(t, "redis:\n  url: redis://file:6379\n", map[string]string{"VIGIL_REDIS_URL_FILE": p})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Redis.URL.Value(); got != "redis://:pw@env-file:6379" {
		t.Errorf("url = %q, want the env file's value over the config file's", got)
	}
}

func TestSecretEnvFileProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both", map[string]string{"VIGIL_REDIS_URL": "redis://h", "VIGIL_REDIS_URL_FILE": missing},
			"env VIGIL_REDIS_URL: set either VIGIL_REDIS_URL or VIGIL_REDIS_URL_FILE, not both"},
		{"missing", map[string]string{"VIGIL_REDIS_URL_FILE": missing},
			"env VIGIL_REDIS_URL_FILE: reading secret file: open " + missing + ": no such file or directory"},
		{"empty path", map[string]string{"VIGIL_REDIS_URL_FILE": ""},
			"env VIGIL_REDIS_URL_FILE: want the path of a file holding the secret"},
		{"bad url", map[string]string{"VIGIL_REDIS_URL_FILE": secretFile(t, "redis://:hunter2@h:x\n")},
			`env VIGIL_REDIS_URL_FILE: not a valid URL: invalid port ":x" after host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", envMap(tt.env))
			p := onlyProblem(t, err)
			if got := p.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSecretFileUnreadableDoesNotLeak(t *testing.T) {
	// A directory can't be read as a file, even by root; the error must
	// name the path and nothing else.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inner"), []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load("", envMap(map[string]string{"VIGIL_REDIS_URL_FILE": dir}))
	p := onlyProblem(t, err)
	if !strings.Contains(p.Msg, dir) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("got %q, want the path and not the contents", p.Msg)
	}
}

// TestEnvTagOnNewFields shows that a future key needs only its tags: a
// struct like the ones later features will add gets overrides for a
// duration, a number and a secret (with its _FILE twin) with no other code.
func TestEnvTagOnNewFields(t *testing.T) {
	type slack struct {
		BotToken Secret   `yaml:"bot_token" env:"VIGIL_SLACK_BOT_TOKEN"`
		AppToken Secret   `yaml:"app_token" env:"VIGIL_SLACK_APP_TOKEN"`
		Timeout  Duration `yaml:"timeout" env:"VIGIL_SLACK_TIMEOUT"`
		Retries  int      `yaml:"retries" env:"VIGIL_SLACK_RETRIES"`
	}
	type future struct {
		Slack slack `yaml:"slack"`
	}
	var f future
	l := &loader{origins: map[string]origin{}, env: envMap(map[string]string{
		"VIGIL_SLACK_BOT_TOKEN":      "xoxb-1",
		"VIGIL_SLACK_APP_TOKEN_FILE": secretFile(t, "xapp-2\n"),
		"VIGIL_SLACK_TIMEOUT":        "3s",
		"VIGIL_SLACK_RETRIES":        "4",
	})}
	l.applyEnv(reflect.ValueOf(&f).Elem(), "")
	if err := l.probs.err(); err != nil {
		t.Fatal(err)
	}
	if f.Slack.BotToken.Value() != "xoxb-1" || f.Slack.AppToken.Value() != "xapp-2" ||
		f.Slack.Timeout.Std().Seconds() != 3 || f.Slack.Retries != 4 {
		t.Errorf("overrides not applied: bot=%q app=%q timeout=%s retries=%d",
			f.Slack.BotToken.Value(), f.Slack.AppToken.Value(), f.Slack.Timeout, f.Slack.Retries)
	}

	l = &loader{origins: map[string]origin{}, env: envMap(map[string]string{
		"VIGIL_SLACK_TIMEOUT": "soon",
		"VIGIL_SLACK_RETRIES": "many",
	})}
	l.applyEnv(reflect.ValueOf(&f).Elem(), "")
	err := l.probs.err()
	want := "env VIGIL_SLACK_TIMEOUT: invalid duration \"soon\" (want a number with a unit, such as 500ms, 10s or 2m)\n" +
		"env VIGIL_SLACK_RETRIES: want a whole number, got \"many\""
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
