// Package config holds Vigil's configuration: a YAML file plus VIGIL_*
// environment overrides, with secrets also readable from files.
//
// Loading is strict on purpose. A security bot that silently ignores a
// misspelled key ("resposnder", "redis_url") runs with a configuration the
// team did not write, so every unknown key, bad value and conflicting
// identity is reported, all at once, with the file line or environment
// variable it came from (see Error).
//
// Secrets are held in Secret values, which print as "<redacted>" however
// they are formatted or marshalled; only Secret.Value returns the real text.
// No error produced by this package contains a secret.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is Vigil's whole configuration. The zero value is not usable; start
// from Default or Load.
//
// Struct tags drive loading: `yaml` names the key, and `env` names the
// environment variable that overrides it. A Secret field with `yaml:"x"` also
// accepts `x_file` in the file, and with `env:"VIGIL_X"` also VIGIL_X_FILE.
// Adding a key with an override is therefore one field with two tags.
type Config struct {
	// Data is the directory of the embedded store, used when Redis is not
	// configured. Empty means the per-user data directory; see DataDir.
	Data string `yaml:"data" env:"VIGIL_DATA"`
	// Redis configures the production store. With no URL the embedded store
	// is used.
	Redis Redis `yaml:"redis"`
	// HTTP configures the listener for webhooks, the Slack Events API and
	// health checks. It is off when Listen is empty.
	HTTP HTTP `yaml:"http"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// Rooms lists the private security rooms per chat adapter. Sensitive
	// report details are only ever delivered there or in direct messages.
	Rooms Rooms `yaml:"rooms"`
	// People is the directory of people the bot knows, with their chat
	// identities and roles.
	People []Person `yaml:"people"`
	// Slack connects Vigil to a Slack workspace; it is on when BotToken is
	// set.
	Slack Slack `yaml:"slack"`
	// Duty configures the on-duty rotations.
	Duty Duty `yaml:"duty"`
	// Matrix connects Vigil to a Matrix homeserver (matrix.go).
	Matrix Matrix `yaml:"matrix"`
	// Reports configures report intake and triage.
	Reports Reports `yaml:"reports"`
	// Reminders configures remediation reminders to maintainers.
	Reminders Reminders `yaml:"reminders"`
	Email     Email     `yaml:"email"` // the security mailbox and outbound mail (email.go)
	GitHub    GitHub    `yaml:"github"`
	Incidents Incidents `yaml:"incidents"`
	Releases  Releases  `yaml:"releases"`  // security releases (release.go)
	Discourse Discourse `yaml:"discourse"` // the announcement forum (discourse.go)
	Stats     Stats     `yaml:"stats"`     // process figures and the monthly summary (stats.go)
	// Delivery tunes the outbox and the scheduler (delivery.go).
	Delivery Delivery `yaml:"delivery"`
	// Store configures encryption at rest (store.go).
	Store Store `yaml:"store"`

	// given holds the keys Load found in the file or the environment.
	given map[string]bool
}

// Given reports whether key (a dotted path such as "log.level") was set in
// the file or the environment, rather than left at its default. A default
// may be adjusted to the situation (the interactive console quiets the
// log); a value someone wrote down is taken as written.
func (c *Config) Given(key string) bool { return c.given[key] }

// Slack configures the Slack adapter.
type Slack struct {
	// Mode is how Slack reaches Vigil: socket (Socket Mode, the default: an
	// outbound WebSocket, no public URL) or http (the Events API posting to
	// http.listen, which must then be reachable from Slack).
	Mode SlackMode `yaml:"mode" env:"VIGIL_SLACK_MODE"`
	// BotToken is the bot user OAuth token (xoxb-...). Setting it turns the
	// adapter on.
	BotToken Secret `yaml:"bot_token" env:"VIGIL_SLACK_BOT_TOKEN"`
	// AppToken is the app-level token (xapp-...) with connections:write,
	// needed in socket mode.
	AppToken Secret `yaml:"app_token" env:"VIGIL_SLACK_APP_TOKEN"`
	// SigningSecret checks that HTTP requests come from Slack; needed in
	// http mode.
	SigningSecret Secret `yaml:"signing_secret" env:"VIGIL_SLACK_SIGNING_SECRET"`
	// Command is the slash command's name as set in the Slack app.
	Command string `yaml:"command"`
	// APIURL points the adapter at a fake Slack in tests; empty means
	// Slack's own API.
	APIURL string `yaml:"api_url"`
}

// Enabled reports whether the Slack adapter is configured.
func (s Slack) Enabled() bool { return !s.BotToken.IsZero() }

// SlackMode is how Slack delivers events: socket or http.
type SlackMode string

// The Slack connection modes.
const (
	SlackSocket SlackMode = "socket"
	SlackHTTP   SlackMode = "http"
)

// Redis configures the Redis store.
type Redis struct {
	// URL selects the server. It is a secret because it may carry a password.
	// Accepted forms:
	//
	//	redis://[user:password@]host[:port][/db]
	//	rediss://...                                  (TLS)
	//	unix://[user:password@]/path/to/redis.sock[?db=N]
	//	redis+sentinel://[user:password@]host:port[,host:port...]/master[/db]
	//	rediss+sentinel://...                         (TLS)
	//	redis+cluster://[user:password@]host:port[,host:port...]
	//	rediss+cluster://...                          (TLS)
	URL Secret `yaml:"url" env:"VIGIL_REDIS_URL"`
	// Prefix is put in front of every Redis key, so several deployments can
	// share a server.
	Prefix string `yaml:"prefix" env:"VIGIL_REDIS_PREFIX"`
	// Timeout bounds each Redis operation.
	Timeout Duration `yaml:"timeout"`
	// WaitReplicas is how many replicas must confirm each batch write (an
	// intake, a queued message, a hand-off) before Vigil counts it as done
	// (Redis WAIT; docs/SCALE.md): 0 means 1 with a sentinel or cluster URL
	// and none with one server, -1 never waits.
	WaitReplicas int `yaml:"wait_replicas"`
	// WaitTimeout bounds that wait; past it the write stands, unconfirmed,
	// with a warning. Zero means 250ms.
	WaitTimeout Duration `yaml:"wait_timeout"`
}

// Enabled reports whether Redis is configured; without it the embedded store
// is used.
func (r Redis) Enabled() bool { return !r.URL.IsZero() }

// HTTP configures the HTTP listener.
type HTTP struct {
	// Listen is the host:port to listen on, for example "127.0.0.1:8080".
	// Empty turns the listener off.
	Listen       string   `yaml:"listen" env:"VIGIL_HTTP_LISTEN"`
	ReadTimeout  Duration `yaml:"read_timeout"`
	WriteTimeout Duration `yaml:"write_timeout"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
	// MaxBodyBytes caps request bodies; webhooks are small and an unbounded
	// body is an easy way to exhaust memory.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RateLimit is each client's request bucket on every route but the
	// health probes and /metrics (5/s, burst 20).
	RateLimit RateLimit `yaml:"rate_limit"`
	// AuthFailureLimit is each client's bucket of failed authentications
	// (answers 401): once empty, the client gets 429 whatever it sends
	// until it refills (1/m, burst 10).
	AuthFailureLimit RateLimit `yaml:"auth_failure_limit"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; empty: the header is ignored and the peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Enabled reports whether the HTTP listener is on.
func (h HTTP) Enabled() bool { return h.Listen != "" }

// Log configures the process log.
type Log struct {
	Level  LogLevel  `yaml:"level" env:"VIGIL_LOG_LEVEL"`
	Format LogFormat `yaml:"format" env:"VIGIL_LOG_FORMAT"`
}

// LogLevel is the minimum level logged: debug, info, warn or error.
type LogLevel string

// The log levels.
const (
	LevelDebug LogLevel = "debug"
	LevelInfo  LogLevel = "info"
	LevelWarn  LogLevel = "warn"
	LevelError LogLevel = "error"
)

// Slog returns the slog level for l. An unknown level (which Validate
// rejects) maps to info.
func (l LogLevel) Slog() slog.Level {
	switch l {
	case LevelDebug:
		return slog.LevelDebug
	case LevelWarn:
		return slog.LevelWarn
	case LevelError:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// LogFormat is the log encoding: auto, text or json.
type LogFormat string

// The log formats. Auto is text on a terminal and JSON otherwise, so a person
// trying Vigil reads plain lines and a log collector gets structured ones.
const (
	FormatAuto LogFormat = "auto"
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

// Resolve turns auto into text or json depending on whether the log goes to
// a terminal; the other formats are returned unchanged. The caller decides
// what a terminal is, which keeps this package free of I/O.
func (f LogFormat) Resolve(terminal bool) LogFormat {
	if f != FormatAuto {
		return f
	}
	if terminal {
		return FormatText
	}
	return FormatJSON
}

// Rooms lists the private security rooms per adapter. The console adapter
// has no entry: its single room always counts as private.
type Rooms struct {
	// Slack lists channel ids such as "C0123456" (not channel names, which
	// can be renamed).
	Slack []string `yaml:"slack"`
	// Matrix lists room ids such as "!abc:example.org" (not aliases, which
	// events do not carry).
	Matrix []string `yaml:"matrix"`
}

// Role is what a person may do.
type Role string

// The roles.
const (
	// RoleResponder is a member of the security team.
	RoleResponder Role = "responder"
	// RoleMaintainer maintains the repositories listed in Person.Maintains.
	RoleMaintainer Role = "maintainer"
	// RoleAdmin may change the bot's settings and directory.
	RoleAdmin Role = "admin"
)

// known reports whether r is one of the defined roles.
func (r Role) known() bool {
	switch r {
	case RoleResponder, RoleMaintainer, RoleAdmin:
		return true
	}
	return false
}

// Person is one entry of the directory.
type Person struct {
	// Name is the unique handle used in commands as @name; [a-z0-9._-]+.
	Name string `yaml:"name"`
	// DisplayName is the human name; Display falls back to Name.
	DisplayName string `yaml:"display_name"`
	// Chat holds the person's id on each chat adapter; all are optional.
	Chat Chat `yaml:"chat"`
	// GitHub is the GitHub login, without "@".
	GitHub string `yaml:"github"`
	Email  string `yaml:"email"`
	Roles  []Role `yaml:"roles"`
	// Maintains lists "owner/name" repositories; it implies RoleMaintainer.
	Maintains []string `yaml:"maintains"`
	// Timezone is used for quiet hours and duty hand-offs; default UTC.
	Timezone Timezone `yaml:"timezone"`
}

// Display returns the display name, or the handle when there is none.
func (p Person) Display() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.Name
}

// HasRole reports whether p has role r. Listing repositories under maintains
// counts as the maintainer role, so the file need not say it twice.
func (p Person) HasRole(r Role) bool {
	if r == RoleMaintainer && len(p.Maintains) > 0 {
		return true
	}
	for _, have := range p.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// Chat holds a person's chat identities, one per adapter.
type Chat struct {
	Slack   string `yaml:"slack"`   // user id, e.g. U0123ABC
	Matrix  string `yaml:"matrix"`  // user id, e.g. @alice:example.org
	Console string `yaml:"console"` // the name typed at the console
}

// Default returns a usable configuration without a file: the embedded store
// in the default data directory, no Redis, no HTTP listener, logs at info
// (text on a terminal), no rooms and no people.
func Default() *Config {
	return &Config{
		Redis: Redis{
			Prefix:  "vigil",
			Timeout: Duration(2 * time.Second),
		},
		HTTP: HTTP{
			ReadTimeout:  Duration(10 * time.Second),
			WriteTimeout: Duration(10 * time.Second),
			IdleTimeout:  Duration(60 * time.Second),
			MaxBodyBytes: 1 << 20,

			RateLimit:        DefaultHTTPRateLimit,
			AuthFailureLimit: DefaultHTTPAuthFailureLimit,
		},
		Log: Log{
			Level:  LevelInfo,
			Format: FormatAuto,
		},
		Slack: Slack{
			Mode:    SlackSocket,
			Command: "/sec",
		},
	}
}

// DataDir returns the directory of the embedded store: Data if set, else
// $XDG_DATA_HOME/vigil, else ~/.local/share/vigil.
func (c *Config) DataDir() (string, error) {
	return dataDir(c.Data, os.Getenv, os.UserHomeDir)
}

// dataDir is DataDir with its environment injected, for tests.
func dataDir(data string, getenv func(string) string, home func() (string, error)) (string, error) {
	if data != "" {
		return data, nil
	}
	// The XDG spec says relative values are to be ignored.
	if x := getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "vigil"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("finding the data directory (set data in the config or VIGIL_DATA): %w", err)
	}
	return filepath.Join(h, ".local", "share", "vigil"), nil
}

// Summary describes c in one line for the start-up log. It names the store,
// listener, log settings and directory size, and never a secret: for Redis
// it shows only the scheme and host.
func (c *Config) Summary() string {
	var b strings.Builder
	if c.Redis.Enabled() {
		fmt.Fprintf(&b, "store=redis(%s prefix=%q)", redisEndpoint(c.Redis.URL.Value()), c.Redis.Prefix)
	} else {
		dir, err := c.DataDir()
		if err != nil {
			dir = "?"
		}
		fmt.Fprintf(&b, "store=embedded(%s)", dir)
	}
	if c.HTTP.Enabled() {
		fmt.Fprintf(&b, " http=%s", c.HTTP.Listen)
	} else {
		b.WriteString(" http=off")
	}
	fmt.Fprintf(&b, " log=%s/%s rooms=slack:%d,matrix:%d people=%d",
		c.Log.Level, c.Log.Format, len(c.Rooms.Slack), len(c.Rooms.Matrix), len(c.People))
	if c.Slack.Enabled() {
		fmt.Fprintf(&b, " slack=%s", c.Slack.Mode)
	}
	return b.String()
}

// redisEndpoint returns scheme://host of a Redis URL with user, password,
// path and query dropped, or "<unparsable url>".
func redisEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	if u.Scheme == "unix" {
		return "unix://" + u.Path
	}
	return u.Scheme + "://" + u.Host
}

// Redacted returns c as YAML with every secret replaced by "<redacted>"
// (an unset secret stays empty, so the reader can tell the two apart). It is
// meant for `vigil check-config --print`.
func (c *Config) Redacted() ([]byte, error) {
	out, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshalling config: %w", err)
	}
	return out, nil
}
