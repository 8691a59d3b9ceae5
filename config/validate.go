package config

import (
	"errors"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var (
	// nameRE is a person's handle, typed as @name in commands.
	nameRE = regexp.MustCompile(`^[a-z0-9._-]+$`)
	// githubLoginRE follows GitHub's rules: alphanumerics and single inner
	// hyphens, at most 39 characters (length checked separately).
	githubLoginRE = regexp.MustCompile(`^[A-Za-z0-9](?:-?[A-Za-z0-9])*$`)
	// repoRE is "owner/name" as GitHub allows them.
	repoRE = regexp.MustCompile(`^[A-Za-z0-9](?:-?[A-Za-z0-9])*/[A-Za-z0-9._-]+$`)
)

// validate checks c, reporting each problem by key through report. It does
// not stop at the first problem.
func validate(c *Config, report func(key, msg string)) {
	validateRedis(&c.Redis, report)
	validateStore(c, report)
	validateHTTP(&c.HTTP, report)

	switch c.Log.Level {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
	default:
		report("log.level", msgf("unknown log level %q (want debug, info, warn or error)", c.Log.Level))
	}
	switch c.Log.Format {
	case FormatAuto, FormatText, FormatJSON:
	default:
		report("log.format", msgf("unknown log format %q (want auto, text or json)", c.Log.Format))
	}

	validateRooms(&c.Rooms, report)
	validatePeople(c.People, report)
	validateSlack(c, report)
	validateMatrix(c, report)
	validateDuty(c, report)
	validateReports(c, report)
	validateReminders(c, report)
	validateStats(c, report)
	validateEmail(c, report)
	validateGitHub(c, report)
	validateIncidents(c, report)
	validateDelivery(c, report)
	validateReleases(c, report)
	validateDiscourse(c, report)
}

// validateSlack checks the secrets each mode needs. Messages name keys and
// token kinds but never quote a token: a token pasted into the wrong key
// must not end up in a log.
func validateSlack(c *Config, report func(key, msg string)) {
	s := &c.Slack
	if !s.Enabled() {
		if !s.AppToken.IsZero() || !s.SigningSecret.IsZero() {
			report("slack.bot_token", "required: Slack is turned on by the bot token (xoxb-...), and only app_token or signing_secret is set")
		}
		return
	}
	if !strings.HasPrefix(s.BotToken.Value(), "xoxb-") {
		report("slack.bot_token", "want a bot token starting with xoxb- (OAuth & Permissions > Bot User OAuth Token)")
	}
	switch s.Mode {
	case SlackSocket:
		switch {
		case s.AppToken.IsZero():
			report("slack.app_token", "required in socket mode: an app-level token (xapp-...) with connections:write")
		case !strings.HasPrefix(s.AppToken.Value(), "xapp-"):
			report("slack.app_token", "want an app-level token starting with xapp- (Basic Information > App-Level Tokens)")
		}
	case SlackHTTP:
		if s.SigningSecret.IsZero() {
			report("slack.signing_secret", "required in http mode: Slack's signing secret (Basic Information > App Credentials)")
		}
		if !c.HTTP.Enabled() {
			report("slack.mode", "http mode needs http.listen set: Slack posts events, commands and interactions to that listener")
		}
	default:
		report("slack.mode", msgf("unknown mode %q (want socket or http)", s.Mode))
	}
	if !strings.HasPrefix(s.Command, "/") || len(s.Command) < 2 || hasSpace(s.Command) {
		report("slack.command", msgf("want a slash command such as /sec, got %q", s.Command))
	}
	if s.APIURL != "" {
		if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			report("slack.api_url", msgf("want an http(s) URL such as http://127.0.0.1:8081/api/, got %q", s.APIURL))
		}
	}
}

// positive reports a duration that is zero or negative: a zero timeout
// would mean "no timeout" to some libraries and "fail at once" to others.
func positive(d Duration, key string, report func(key, msg string)) {
	if d <= 0 {
		report(key, msgf("must be positive, got %s", d))
	}
}

func validateRedis(r *Redis, report func(key, msg string)) {
	if r.Enabled() {
		if msg := checkRedisURL(r.URL.Value()); msg != "" {
			report("redis.url", msg)
		}
	}
	switch {
	case r.Prefix == "":
		report("redis.prefix", "must not be empty (every Redis key is put under it)")
	case strings.IndexFunc(r.Prefix, unicode.IsSpace) >= 0:
		report("redis.prefix", msgf("must not contain spaces, got %q", r.Prefix))
	}
	positive(r.Timeout, "redis.timeout", report)
	if r.WaitReplicas < -1 {
		report("redis.wait_replicas", msgf("must be -1 (never wait), 0 (the default for the URL) or a number of replicas, got %d", r.WaitReplicas))
	}
	if r.WaitTimeout < 0 {
		report("redis.wait_timeout", msgf("must not be negative, got %s", r.WaitTimeout))
	}
}

// redisSchemes lists the accepted URL schemes, for messages.
const redisSchemes = "redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster"

// checkRedisURL returns what is wrong with a Redis URL, or "". The URL may
// hold a password, so no message quotes the URL, its user info or its query,
// and url.Parse's own errors (which quote the URL) are not passed on.
func checkRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return urlParseMessage(raw)
	}
	switch u.Scheme {
	case "":
		return "missing scheme (want " + redisSchemes + ")"
	case "redis", "rediss":
		if msg := checkHosts(u.Host, false); msg != "" {
			return msg
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if _, err := strconv.ParseUint(db, 10, 32); err != nil {
				return msgf("database after the host must be a number, got %q", db)
			}
		}
	case "unix":
		if u.Host != "" || u.Path == "" {
			return "want unix:///absolute/path/to/redis.sock"
		}
	case "redis+sentinel", "rediss+sentinel":
		if msg := checkHosts(u.Host, true); msg != "" {
			return msg
		}
		master, db, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if master != "" && db == "" && u.Query().Get("master_name") != "" {
			// go-redis' own form: /db?master_name=NAME.
			master, db = u.Query().Get("master_name"), master
		}
		if master == "" {
			master = u.Query().Get("master_name")
		}
		if master == "" {
			return "sentinel URL needs the master name as its path, as in redis+sentinel://host:26379/mymaster"
		}
		if db != "" {
			if _, err := strconv.ParseUint(db, 10, 32); err != nil {
				return msgf("database after the master name must be a number, got %q", db)
			}
		}
	case "redis+cluster", "rediss+cluster":
		if msg := checkHosts(u.Host, true); msg != "" {
			return msg
		}
	default:
		// The scheme comes before "://" and so cannot hold the password.
		return msgf("unknown scheme %q (want %s)", u.Scheme, redisSchemes)
	}
	return ""
}

// urlParseMessage explains why raw does not parse. url.Parse's errors quote
// the URL, or its bad part, which may be the password; so everything up to
// the last "@" (the widest span a password can occupy) is cut and the rest
// parsed again for a precise message. With no "@" nothing is quoted: a
// password typed without its "@host" would be what url.Parse quotes.
func urlParseMessage(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "not a valid URL (want scheme://host...)"
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return "not a valid URL (check the host:port)"
	}
	_, err := url.Parse(scheme + "://" + rest[at+1:])
	var ue *url.Error
	if errors.As(err, &ue) {
		return "not a valid URL: " + ue.Err.Error()
	}
	return "not a valid URL: bad user or password (special characters in a password must be percent-encoded)"
}

// checkHosts checks a host[:port] or, when many is set, a comma-separated
// list of them. Hosts are not secret and may be quoted.
func checkHosts(hosts string, many bool) string {
	if hosts == "" {
		return "missing host"
	}
	list := []string{hosts}
	if many {
		list = strings.Split(hosts, ",")
	} else if strings.Contains(hosts, ",") {
		return "several hosts need the redis+sentinel or redis+cluster scheme"
	}
	for _, h := range list {
		if h == "" {
			return "empty host in the host list"
		}
		if !strings.Contains(h, ":") || strings.HasSuffix(h, "]") {
			continue // no port: the client's default applies
		}
		if _, port, err := net.SplitHostPort(h); err != nil || !validPort(port) {
			return msgf("invalid host:port %q", h)
		}
	}
	return ""
}

// validPort reports whether p is a port number 1-65535.
func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}

func validateHTTP(h *HTTP, report func(key, msg string)) {
	if h.Enabled() {
		// Port 0 (any free port) is allowed: tests use it.
		_, port, err := net.SplitHostPort(h.Listen)
		if err != nil {
			report("http.listen", msgf("want host:port such as 127.0.0.1:8080 or :8080, got %q", h.Listen))
		} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
			report("http.listen", msgf("invalid port %q", port))
		}
	}
	positive(h.ReadTimeout, "http.read_timeout", report)
	positive(h.WriteTimeout, "http.write_timeout", report)
	positive(h.IdleTimeout, "http.idle_timeout", report)
	if h.MaxBodyBytes <= 0 {
		report("http.max_body_bytes", msgf("must be positive, got %d", h.MaxBodyBytes))
	}
	validateRateLimit("http.rate_limit", h.RateLimit, report)
	validateRateLimit("http.auth_failure_limit", h.AuthFailureLimit, report)
	validatePrefixes("http.trusted_proxies", h.TrustedProxies, report)
}

// hasSpace reports whether s contains white space, which no chat id has.
func hasSpace(s string) bool { return strings.IndexFunc(s, unicode.IsSpace) >= 0 }

// validMatrixID reports whether s looks like a Matrix identifier with the
// given sigil: sigil, a non-empty local part, ":", a server name.
func validMatrixID(s string, sigil byte) bool {
	if len(s) < 4 || s[0] != sigil || hasSpace(s) {
		return false
	}
	local, server, ok := strings.Cut(s[1:], ":")
	return ok && local != "" && server != ""
}

func validateRooms(r *Rooms, report func(key, msg string)) {
	check := func(adapter string, ids []string, wellFormed func(string) string) {
		first := map[string]int{}
		for i, id := range ids {
			key := "rooms." + adapter + "[" + strconv.Itoa(i) + "]"
			if id == "" {
				report(key, "empty room id")
				continue
			}
			if msg := wellFormed(id); msg != "" {
				report(key, msg)
				continue
			}
			if j, dup := first[id]; dup {
				report(key, msgf("room %q is listed twice (also rooms.%s[%d])", id, adapter, j))
				continue
			}
			first[id] = i
		}
	}
	check("slack", r.Slack, func(id string) string {
		if hasSpace(id) || strings.HasPrefix(id, "#") {
			return msgf("want a channel id such as C0123456, not a name, got %q", id)
		}
		return ""
	})
	check("matrix", r.Matrix, func(id string) string {
		// Aliases (#room:server) are refused because events carry room
		// ids, so an alias would never match and the room would silently
		// not count as private.
		if !validMatrixID(id, '!') {
			return msgf("want a room id such as !abc:example.org (not an alias), got %q", id)
		}
		return ""
	})
}

func validatePeople(people []Person, report func(key, msg string)) {
	// Each identity maps to one person; a repeat would let the wrong
	// person act with another's roles.
	names := map[string]int{}
	logins := map[string]int{}
	chatIDs := map[string]map[string]int{"slack": {}, "matrix": {}, "console": {}}
	for i, p := range people {
		at := "people[" + strconv.Itoa(i) + "]"
		switch {
		case !nameRE.MatchString(p.Name):
			report(at+".name", msgf("want a handle of a-z, 0-9, '.', '_' or '-', got %q", p.Name))
		default:
			if j, dup := names[p.Name]; dup {
				report(at+".name", msgf("name %q is already used by people[%d]", p.Name, j))
			} else {
				names[p.Name] = i
			}
		}

		for _, c := range []struct{ adapter, id string }{
			{"slack", p.Chat.Slack}, {"matrix", p.Chat.Matrix}, {"console", p.Chat.Console},
		} {
			if c.id == "" {
				continue
			}
			key := at + ".chat." + c.adapter
			if hasSpace(c.id) {
				report(key, msgf("chat id must not contain spaces, got %q", c.id))
				continue
			}
			if c.adapter == "matrix" && !validMatrixID(c.id, '@') {
				report(key, msgf("want a user id such as @alice:example.org, got %q", c.id))
				continue
			}
			if j, dup := chatIDs[c.adapter][c.id]; dup {
				report(key, msgf("%s id %q is already used by %s (people[%d])", c.adapter, c.id, people[j].Name, j))
				continue
			}
			chatIDs[c.adapter][c.id] = i
		}

		if p.GitHub != "" {
			login := strings.ToLower(p.GitHub)
			switch {
			case strings.HasPrefix(p.GitHub, "@"):
				report(at+".github", msgf("write the login without \"@\": %q", strings.TrimPrefix(p.GitHub, "@")))
			case len(p.GitHub) > 39 || !githubLoginRE.MatchString(p.GitHub):
				report(at+".github", msgf("not a GitHub login: %q", p.GitHub))
			default:
				// GitHub logins are case-insensitive.
				if j, dup := logins[login]; dup {
					report(at+".github", msgf("GitHub login %q is already used by %s (people[%d])", p.GitHub, people[j].Name, j))
				} else {
					logins[login] = i
				}
			}
		}

		if p.Email != "" {
			local, domain, ok := strings.Cut(p.Email, "@")
			if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || hasSpace(p.Email) {
				report(at+".email", msgf("want an address such as alice@example.org, got %q", p.Email))
			}
		}

		for j, r := range p.Roles {
			if !r.known() {
				report(at+".roles["+strconv.Itoa(j)+"]", msgf("unknown role %q (want responder, maintainer or admin)", r))
			}
		}

		for j, repo := range p.Maintains {
			if !repoRE.MatchString(repo) {
				report(at+".maintains["+strconv.Itoa(j)+"]", msgf("want a repository as owner/name, got %q", repo))
			}
		}
	}
}
