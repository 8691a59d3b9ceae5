package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // time zone tests must not depend on the host's zoneinfo
)

// writeFile writes content to name in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// envMap returns an env lookup over m.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// trim drops the leading newline of a raw-string YAML literal, so its first
// written line is line 1.
func trim(s string) string { return strings.TrimPrefix(s, "\n") }

// loadYAML loads src as a config file with the given environment.
func loadYAML(t *testing.T, src string, env map[string]string) (*Config, string, error) {
	t.Helper()
	path := writeFile(t, "config.yaml", trim(src))
	c, err := Load(path, envMap(env))
	return c, path, err
}

// problemsOf returns the problems of an *Error, failing the test otherwise.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		t.Fatal("Load succeeded, want problems")
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error is %T (%v), want *config.Error", err, err)
	}
	return ce.Problems
}

// onlyProblem asserts err holds exactly one problem and returns it.
func onlyProblem(t *testing.T, err error) Problem {
	t.Helper()
	ps := problemsOf(t, err)
	if len(ps) != 1 {
		t.Fatalf("got %d problems, want 1:\n%v", len(ps), err)
	}
	return ps[0]
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.Redis.Enabled() || c.HTTP.Enabled() || len(c.People) != 0 {
		t.Errorf("Default() should have no Redis, no HTTP and no people: %+v", c)
	}
	if c.Log.Level != LevelInfo {
		t.Errorf("Default log level = %q, want info", c.Log.Level)
	}
}

func TestLoadNoFile(t *testing.T) {
	c, err := Load("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Summary(), Default().Summary(); got != want {
		t.Errorf("Load(\"\") differs from Default():\n got %s\nwant %s", got, want)
	}
	if _, err := Load("", nil); err != nil {
		t.Errorf("Load with nil env: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestLoadFullFile(t *testing.T) {
	c, _, err := loadYAML(t, `
data: /var/lib/vigil
redis:
  url: rediss://:pw@redis.example.org:6380/2
  prefix: sec
  timeout: 500ms
http:
  listen: 127.0.0.1:8080
  read_timeout: 5s
  write_timeout: 6s
  idle_timeout: 2m
  max_body_bytes: 4096
log: {level: debug, format: json}
rooms:
  slack: [C1, C2]
  matrix: ["!a:example.org"]
people:
  - name: alice
    display_name: Alice
    chat: {slack: U1, matrix: "@alice:example.org", console: alice}
    github: Alice-L
    email: alice@example.org
    roles: [responder, admin]
    timezone: Europe/Paris
  - name: bob
    maintains: [example/widget]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "/var/lib/vigil" || c.Redis.URL.Value() != "rediss://:pw@redis.example.org:6380/2" ||
		c.Redis.Prefix != "sec" || c.Redis.Timeout.Std().Milliseconds() != 500 {
		t.Errorf("data/redis not loaded: %+v", c)
	}
	if c.HTTP.Listen != "127.0.0.1:8080" || c.HTTP.ReadTimeout.Std().Seconds() != 5 ||
		c.HTTP.WriteTimeout.Std().Seconds() != 6 || c.HTTP.IdleTimeout.Std().Minutes() != 2 || c.HTTP.MaxBodyBytes != 4096 {
		t.Errorf("http not loaded: %+v", c.HTTP)
	}
	if c.Log.Level != LevelDebug || c.Log.Format != FormatJSON {
		t.Errorf("log not loaded: %+v", c.Log)
	}
	if len(c.Rooms.Slack) != 2 || c.Rooms.Matrix[0] != "!a:example.org" {
		t.Errorf("rooms not loaded: %+v", c.Rooms)
	}
	if len(c.People) != 2 {
		t.Fatalf("people = %d, want 2", len(c.People))
	}
	a, b := c.People[0], c.People[1]
	if a.Chat.Matrix != "@alice:example.org" || a.GitHub != "Alice-L" || a.Timezone.String() != "Europe/Paris" ||
		!a.HasRole(RoleAdmin) || a.HasRole(RoleMaintainer) {
		t.Errorf("alice not loaded: %+v", a)
	}
	if !b.HasRole(RoleMaintainer) || b.HasRole(RoleResponder) || b.Timezone.Location().String() != "UTC" || b.Display() != "bob" {
		t.Errorf("bob: maintains should imply maintainer, zone default UTC: %+v", b)
	}
}

func TestEmptyAndNullKeepDefaults(t *testing.T) {
	for name, src := range map[string]string{
		"empty file":    "",
		"comments only": "# nothing here\n",
		"null section":  "redis:\nhttp: ~\n",
		"null leaf":     "redis:\n  prefix:\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := loadYAML(t, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Redis.Prefix != "vigil" || c.HTTP.MaxBodyBytes != 1<<20 {
				t.Errorf("defaults lost: %+v", c)
			}
		})
	}
}

// TestValidation runs every validation rule against a small file and checks
// the key, line and message of the single problem it must produce.
func TestValidation(t *testing.T) {
	tests := []struct {
		name, src string
		key       string
		line      int
		msg       string
	}{
		// durations and sizes
		{"redis timeout zero", "redis:\n  timeout: 0s\n", "redis.timeout", 2, "must be positive"},
		{"redis timeout negative", "redis:\n  timeout: -1s\n", "redis.timeout", 2, "must be positive"},
		{"duration without unit", "redis:\n  timeout: 10\n", "redis.timeout", 2, `invalid duration "10"`},
		{"duration as list", "redis:\n  timeout: [1s]\n", "redis.timeout", 2, "want a duration"},
		{"read timeout", "http:\n  read_timeout: 0s\n", "http.read_timeout", 2, "must be positive"},
		{"write timeout", "http:\n\n  write_timeout: 0s\n", "http.write_timeout", 3, "must be positive"},
		{"idle timeout", "http:\n  idle_timeout: -5m\n", "http.idle_timeout", 2, "must be positive"},
		{"max body zero", "http:\n  max_body_bytes: 0\n", "http.max_body_bytes", 2, "must be positive"},
		{"max body unit", "http:\n  max_body_bytes: 1MB\n", "http.max_body_bytes", 2, `want a whole number, got "1MB"`},
		// http listen
		{"listen no port", "http:\n  listen: localhost\n", "http.listen", 2, "want host:port"},
		{"listen bad port", "http:\n  listen: ':99999'\n", "http.listen", 2, `invalid port "99999"`},
		// log enums
		{"log level", "log:\n  level: verbose\n", "log.level", 2, `unknown log level "verbose" (want debug, info, warn or error)`},
		{"log format", "log:\n  format: xml\n", "log.format", 2, `unknown log format "xml"`},
		// redis
		{"prefix empty", "redis:\n  prefix: ''\n", "redis.prefix", 2, "must not be empty"},
		{"prefix space", "redis:\n  prefix: 'a b'\n", "redis.prefix", 2, "must not contain spaces"},
		{"redis scheme", "redis:\n  url: http://h:6379\n", "redis.url", 2, `unknown scheme "http"`},
		{"redis no scheme", "redis:\n  url: //h:6379\n", "redis.url", 2, "missing scheme"},
		{"redis no host", "redis:\n  url: redis://\n", "redis.url", 2, "missing host"},
		{"redis bad port", "redis:\n  url: redis+cluster://a:1,b:0\n", "redis.url", 2, `invalid host:port "b:0"`},
		{"redis bad db", "redis:\n  url: redis://h/x\n", "redis.url", 2, "database after the host must be a number"},
		{"redis many hosts", "redis:\n  url: redis://a:1,b:2\n", "redis.url", 2, "several hosts"},
		{"sentinel no master", "redis:\n  url: redis+sentinel://a:26379,b:26379\n", "redis.url", 2, "master name"},
		{"unix relative", "redis:\n  url: unix://redis.sock\n", "redis.url", 2, "unix:///absolute"},
		// rooms
		{"slack room empty", "rooms:\n  slack:\n    - C1\n    - ''\n", "rooms.slack[1]", 4, "empty room id"},
		{"slack room name", "rooms:\n  slack: ['#security']\n", "rooms.slack[0]", 2, "want a channel id"},
		{"slack room twice", "rooms:\n  slack:\n    - C1\n    - C1\n", "rooms.slack[1]", 4, `room "C1" is listed twice (also rooms.slack[0])`},
		{"matrix alias", "rooms:\n  matrix:\n    - '#sec:example.org'\n", "rooms.matrix[0]", 3, "not an alias"},
		{"matrix room twice", "rooms:\n  matrix: ['!a:x', '!a:x']\n", "rooms.matrix[1]", 2, "listed twice"},
		// people
		{"name uppercase", "people:\n  - name: Alice\n", "people[0].name", 2, `want a handle`},
		{"name missing", "people:\n  - name: a\n  - email: b@example.org\n", "people[1].name", 3, `got ""`},
		{"name twice", "people:\n  - name: a\n  - name: b\n  - name: a\n", "people[2].name", 4, `name "a" is already used by people[0]`},
		{"slack id twice", trim(`
people:
  - name: a
    chat: {slack: U1}
  - name: b
    chat:
      slack: U1
`), "people[1].chat.slack", 6, `slack id "U1" is already used by a (people[0])`},
		{"matrix id twice", "people:\n  - {name: a, chat: {matrix: '@a:x'}}\n  - {name: b, chat: {matrix: '@a:x'}}\n", "people[1].chat.matrix", 3, "already used by a"},
		{"console id twice", "people:\n  - {name: a, chat: {console: a}}\n  - {name: b, chat: {console: a}}\n", "people[1].chat.console", 3, "already used by a"},
		{"matrix id malformed", "people:\n  - name: a\n    chat: {matrix: 'alice'}\n", "people[0].chat.matrix", 3, "want a user id"},
		{"chat id space", "people:\n  - name: a\n    chat: {slack: 'U 1'}\n", "people[0].chat.slack", 3, "must not contain spaces"},
		{"github at", "people:\n  - name: a\n    github: '@alice'\n", "people[0].github", 3, `without "@"`},
		{"github invalid", "people:\n  - name: a\n    github: 'al_ice'\n", "people[0].github", 3, "not a GitHub login"},
		{"github twice", "people:\n  - {name: a, github: Alice}\n  - {name: b, github: alice}\n", "people[1].github", 3, "already used by a"},
		{"email no at", "people:\n  - name: a\n    email: alice.example.org\n", "people[0].email", 3, "want an address"},
		{"email two ats", "people:\n  - name: a\n    email: a@b@c\n", "people[0].email", 3, "want an address"},
		{"role unknown", "people:\n  - name: a\n    roles:\n      - responder\n      - admn\n", "people[0].roles[1]", 5, `unknown role "admn" (want responder, maintainer or admin)`},
		{"maintains not repo", "people:\n  - name: a\n    maintains: [widget]\n", "people[0].maintains[0]", 3, "owner/name"},
		{"maintains url", "people:\n  - name: a\n    maintains: ['https://github.com/a/b']\n", "people[0].maintains[0]", 3, "owner/name"},
		{"timezone unknown", "people:\n  - name: a\n    timezone: Mars/Olympus\n", "people[0].timezone", 3, `unknown time zone "Mars/Olympus"`},
		{"timezone local", "people:\n  - name: a\n    timezone: Local\n", "people[0].timezone", 3, "server's zone"},
		// shapes
		{"people not list", "people: alice\n", "people", 1, "want a list"},
		{"roles not list", "people:\n  - name: a\n    roles: admin\n", "people[0].roles", 3, "want a list"},
		{"section not mapping", "redis: [a]\n", "redis", 1, "want a mapping"},
		{"string given a mapping", "data: {a: b}\n", "data", 1, "want a single value, got a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadYAML(t, tt.src, nil)
			p := onlyProblem(t, err)
			if p.Key != tt.key || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got %s:%d %q\nwant %s:%d containing %q", p.Key, p.Line, p.Msg, tt.key, tt.line, tt.msg)
			}
			if p.File != path {
				t.Errorf("problem file = %q, want %q", p.File, path)
			}
		})
	}
}

func TestValidRedisURLs(t *testing.T) {
	for _, u := range []string{
		"redis://localhost",
		"redis://:pw@localhost:6379/0",
		"rediss://user:pw@redis.example.org:6380",
		"unix:///run/redis/redis.sock",
		"redis+sentinel://:pw@a:26379,b:26379/mymaster/1",
		"rediss+sentinel://a:26379/mymaster",
		"redis+cluster://a:6379,b:6379",
		"redis://[::1]:6379",
	} {
		if msg := checkRedisURL(u); msg != "" {
			t.Errorf("checkRedisURL(%q) = %q, want ok", u, msg)
		}
	}
}

func TestValidEdgeValues(t *testing.T) {
	// Values at the edge of each rule that must be accepted.
	_, _, err := loadYAML(t, `
http: {listen: ":0"}
people:
  - name: a.b_c-9
    github: a-b
    email: a@b
    maintains: [o/repo.go]
    chat: {matrix: "@a:example.org:8448"}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, path, err := loadYAML(t, `
log:
  level: loud
people:
  - name: a
    roles: [admn]
    colour: blue
`, map[string]string{"VIGIL_LOG_FORMAT": "xml"})
	ps := problemsOf(t, err)
	want := []string{
		path + ":2: log.level: unknown log level \"loud\" (want debug, info, warn or error)",
		path + ":5: people[0].roles[0]: unknown role \"admn\" (want responder, maintainer or admin)",
		path + `:6: people[0].colour: unknown key "colour" (want name, display_name, chat, github, email, roles, maintains, timezone)`,
		`env VIGIL_LOG_FORMAT: unknown log format "xml" (want auto, text or json)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("Error() =\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d", len(ps), len(want))
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, src, key string
		line           int
		msg            string
	}{
		{"top level", "data: x\nredis_url: y\n", "redis_url", 2, `unknown key "redis_url" (want data, redis, http, log, rooms, people, slack, duty`},
		{"nested", "redis:\n  prefix: x\n  uri: y\n", "redis.uri", 3, `(want url, url_file, prefix, timeout, wait_replicas, wait_timeout)`},
		{"in a list item", "people:\n  - name: a\n  - name: b\n    role: admin\n", "people[1].role", 4, `unknown key "role"`},
		{"chat adapter", "people:\n  - name: a\n    chat: {irc: a}\n", "people[0].chat.irc", 3, "(want slack, matrix, console)"},
		{"console room", "rooms:\n  console: [x]\n", "rooms.console", 2, "(want slack, matrix)"},
		{"repeated key", "log:\n  level: info\n  level: debug\n", "log.level", 3, "repeated key (first set on line 2)"},
		{"merge key", "base: &b {level: info}\nlog:\n  <<: *b\n", "base", 1, "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadYAML(t, tt.src, nil)
			p := problemsOf(t, err)[0]
			if p.Key != tt.key || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("got %s:%d %q\nwant %s:%d containing %q", p.Key, p.Line, p.Msg, tt.key, tt.line, tt.msg)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		// yaml.v3 reports this one at the line before the "[" (its
		// 0-based context mark); the point is that its number is kept.
		{"unclosed list", "data: x\nrooms:\n  slack: [C1\n", 2, "did not find expected"},
		{"bad indent", "redis:\n  url: x\n    prefix: y\n", 3, "mapping values are not allowed"},
		{"tab", "redis:\n\turl: x\n", 2, "cannot start any token"},
		{"two documents", "data: x\n---\ndata: y\n", 2, "only one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadYAML(t, tt.src, nil)
			p := onlyProblem(t, err)
			if p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) || p.File != path {
				t.Errorf("got %s:%d %q, want line %d containing %q", p.File, p.Line, p.Msg, tt.line, tt.msg)
			}
		})
	}
}

func TestValidateWithoutLoad(t *testing.T) {
	c := Default()
	c.People = []Person{{Name: "a", Roles: []Role{"root"}}}
	p := onlyProblem(t, c.Validate())
	if p.Key != "people[0].roles[0]" || p.Line != 0 || p.File != "" {
		t.Errorf("got %+v, want key people[0].roles[0] with no file or line", p)
	}
	if got, want := p.String(), `people[0].roles[0]: unknown role "root" (want responder, maintainer or admin)`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDataDir(t *testing.T) {
	home := func() (string, error) { return "/home/al", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name, data string
		env        map[string]string
		home       func() (string, error)
		want       string
		wantErr    bool
	}{
		{"explicit", "/srv/vigil", nil, noHome, "/srv/vigil", false},
		{"xdg", "", map[string]string{"XDG_DATA_HOME": "/x/data"}, home, "/x/data/vigil", false},
		{"relative xdg ignored", "", map[string]string{"XDG_DATA_HOME": "rel"}, home, "/home/al/.local/share/vigil", false},
		{"home", "", nil, home, "/home/al/.local/share/vigil", false},
		{"nothing", "", nil, noHome, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dataDir(tt.data, env(tt.env), tt.home)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("dataDir = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRolesAndLogHelpers(t *testing.T) {
	p := Person{Roles: []Role{RoleResponder}}
	if !p.HasRole(RoleResponder) || p.HasRole(RoleMaintainer) || p.HasRole(RoleAdmin) {
		t.Errorf("HasRole wrong for %+v", p)
	}
	p.Maintains = []string{"o/r"}
	if !p.HasRole(RoleMaintainer) {
		t.Error("maintains should imply the maintainer role")
	}
	if FormatAuto.Resolve(true) != FormatText || FormatAuto.Resolve(false) != FormatJSON || FormatText.Resolve(false) != FormatText {
		t.Error("LogFormat.Resolve wrong")
	}
	if LevelWarn.Slog().String() != "WARN" || LevelDebug.Slog().String() != "DEBUG" {
		t.Error("LogLevel.Slog wrong")
	}
}

// Given tells a value someone wrote (in the file or the environment) from
// a default, even when both say the same: "log.level: info" is given.
func TestGivenTellsWrittenValuesFromDefaults(t *testing.T) {
	c, _, err := loadYAML(t, "log: {format: json}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Given("log.level") || !c.Given("log.format") {
		t.Errorf("defaults only: Given(log.level)=%v Given(log.format)=%v", c.Given("log.level"), c.Given("log.format"))
	}
	if c, _, err = loadYAML(t, "log: {level: info}\n", nil); err != nil || !c.Given("log.level") {
		t.Errorf("log.level: info in the file is not given (%v)", err)
	}
	if c, _, err = loadYAML(t, "data: /tmp/x\n", map[string]string{"VIGIL_LOG_LEVEL": "info"}); err != nil || !c.Given("log.level") {
		t.Errorf("VIGIL_LOG_LEVEL=info is not given (%v)", err)
	}
	if Default().Given("log.level") {
		t.Error("Default() has given keys")
	}
}
