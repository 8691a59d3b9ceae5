package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const password = "hunter2-Sup3r"

// secretConfig loads a config whose Redis URL holds password.
func secretConfig(t *testing.T) *Config {
	t.Helper()
	c, _, err := loadYAML(t, "redis:\n  url: rediss://vigil:"+password+"@redis.example.org:6380/1?client_name=vigil\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Redis.URL.Value(), password) {
		t.Fatal("Value() must return the real secret")
	}
	return c
}

func TestSecretNeverFormatted(t *testing.T) {
	c := secretConfig(t)
	s := c.Redis.URL
	outs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		outs["config "+verb] = fmt.Sprintf(verb, c)
		outs["*config "+verb] = fmt.Sprintf(verb, *c)
		outs["redis "+verb] = fmt.Sprintf(verb, c.Redis)
		outs["secret "+verb] = fmt.Sprintf(verb, s)
		outs["&secret "+verb] = fmt.Sprintf(verb, &s)
	}
	outs["Sprint"] = fmt.Sprint(s)
	outs["String"] = s.String()
	outs["Summary"] = c.Summary()
	if b, err := json.Marshal(c); err != nil {
		t.Fatal(err)
	} else {
		outs["json"] = string(b)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "redis", c.Redis, "url", s, "cfg", c)
	outs["slog"] = logBuf.String()
	red, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	outs["Redacted"] = string(red)

	for name, out := range outs {
		if strings.Contains(out, password) || strings.Contains(out, "hunter2") {
			t.Errorf("%s shows the secret: %s", name, out)
		}
	}
	if !strings.Contains(outs["secret %v"], "<redacted>") || !strings.Contains(outs["Redacted"], "url: <redacted>") {
		t.Errorf("a set secret should print as <redacted>: %q / %q", outs["secret %v"], outs["Redacted"])
	}
	// The summary names the server but not the user or the query.
	if want := "store=redis(rediss://redis.example.org:6380"; !strings.Contains(outs["Summary"], want) ||
		strings.Contains(outs["Summary"], "vigil:") || strings.Contains(outs["Summary"], "client_name") {
		t.Errorf("Summary() = %q, want it to contain %q and no user info or query", outs["Summary"], want)
	}
}

func TestUnsetSecretPrintsEmpty(t *testing.T) {
	// Telling "unset" from "set" matters when checking a deployment.
	out, err := Default().Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "url: \"\"") {
		t.Errorf("unset url should dump as empty:\n%s", out)
	}
}

func TestRedactedRoundTrips(t *testing.T) {
	// Apart from secrets, the dump must load back to the same config.
	c, _, err := loadYAML(t, Example(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	c2, _, err := loadYAML(t, string(out), nil)
	if err != nil {
		t.Fatalf("dump does not load: %v\n%s", err, out)
	}
	out2, err := c2.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, out2) {
		t.Errorf("dump changed on reload:\n%s\n---\n%s", out, out2)
	}
}

// TestErrorsNeverShowSecrets feeds broken Redis URLs carrying a password
// through every path (file, _file, env) and checks no error echoes it.
func TestErrorsNeverShowSecrets(t *testing.T) {
	const pw = "s3cr3tPW"
	urls := []string{
		"http://u:" + pw + "@h:6379",            // wrong scheme
		"redis://u:" + pw + "@h:port",           // bad port
		"redis://u:" + pw + "%zz@h:6379",        // bad escape inside the password
		"redis://u:" + pw + "@",                 // no host
		"redis://u:" + pw + "@h/notadb",         // bad db
		"redis+sentinel://u:" + pw + "@h:26379", // no master
		"unix://u:" + pw + "@sock",              // host in a unix URL
		"redis://u:" + pw + "@a:1,b:2",          // many hosts
		pw + "://h",                             // a scheme can't hold it, but be sure
		"u:" + pw + "@h:6379",                   // no scheme at all
		"redis://u:" + pw + " @h:6379",          // space in the user info
		"redis://u:" + pw + "\x7f@h:6379",       // control character
		"redis://:" + pw,                        // "@host" forgotten
		"redis://:" + pw + "/x%zz@h",            // "/" and "%" in the password
	}
	for i, u := range urls {
		// Named by index: a name holding the URL would land in temp paths,
		// and so in the errors under test.
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var errs []error
			_, _, err := loadYAML(t, "redis:\n  url: \""+yamlEscape(u)+"\"\n", nil)
			errs = append(errs, err)
			_, _, err = loadYAML(t, "redis:\n  url_file: "+secretFile(t, u)+"\n", nil)
			errs = append(errs, err)
			_, err = Load("", envMap(map[string]string{"VIGIL_REDIS_URL": u}))
			errs = append(errs, err)
			for i, err := range errs {
				if err == nil && !strings.HasPrefix(u, pw) {
					t.Errorf("path %d: no error for a bad URL", i)
					continue
				}
				if err != nil && (strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "%zz")) {
					t.Errorf("path %d: error shows the secret: %v", i, err)
				}
			}
		})
	}
}

// yamlEscape escapes s for a double-quoted YAML string.
func yamlEscape(s string) string {
	b, _ := json.Marshal(s) // JSON strings are valid YAML double-quoted strings
	return strings.Trim(string(b), `"`)
}

func TestSecretYAMLDecoding(t *testing.T) {
	// A numeric-looking token stays text: 0123 is not a Redis URL, and the
	// URL check can only say so if it was read as the string "0123".
	_, _, err := loadYAML(t, "redis:\n  url: 0123\n", nil)
	p := onlyProblem(t, err)
	if p.Key != "redis.url" || !strings.Contains(p.Msg, "missing scheme") {
		t.Errorf("got %+v", p)
	}
	_, _, err = loadYAML(t, "redis:\n  url: [redis://:"+password+"@h]\n", nil)
	p = onlyProblem(t, err)
	if p.Key != "redis.url" || p.Msg != "want a single string value" || strings.Contains(err.Error(), password) {
		t.Errorf("got %+v", p)
	}
}
