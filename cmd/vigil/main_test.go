package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/internal/testredis"
)

// vigil runs the command line with a script on standard input and the
// given environment, and returns the exit code, stdout and stderr.
func vigil(t *testing.T, stdin string, envs map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := envs[k]; return v, ok }
	code := Main(args, streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, lookup)
	return code, out.String(), errb.String()
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := vigil(t, "", nil, "version")
	if code != 0 || !strings.HasPrefix(out, "vigil ") {
		t.Errorf("version: %d %q", code, out)
	}
	for _, arg := range []string{"help", "--help", "-h"} {
		code, out, _ = vigil(t, "", nil, arg)
		if code != 0 || !strings.Contains(out, "vigil check-config --config FILE") || !strings.Contains(out, "--clock TIME") {
			t.Errorf("%s: %d %q", arg, code, out)
		}
	}
	code, out, _ = vigil(t, "", nil, "check-config", "--help")
	if code != 0 || !strings.Contains(out, "Usage: vigil check-config") {
		t.Errorf("check-config --help: %d %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--clock", "tomorrow"}, `--clock "tomorrow": want RFC 3339`},
		{[]string{"--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"check-config"}, "--config FILE is required"},
	}
	for _, tt := range tests {
		code, _, errOut := vigil(t, "", nil, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "Usage:") {
			t.Errorf("vigil %q: exit %d, stderr %q; want 2 with %q and the usage", tt.args, code, errOut, tt.want)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("people:\n  - name: alice\n    roles: [admin]\nrooms:\n  slack: [C0123456]\n"), 0o600)
	code, out, errOut := vigil(t, "", nil, "check-config", "--config", good)
	if code != 0 || !strings.Contains(out, "good.yaml: OK") {
		t.Errorf("valid config: %d %q %q", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("people:\n  - name: alice\n    roles: [admn]\nhttp:\n  listn: x\n"), 0o600)
	code, _, errOut = vigil(t, "", nil, "check-config", "--config", bad)
	if code != 1 {
		t.Errorf("invalid config exit %d", code)
	}
	for _, w := range []string{"bad.yaml:3: people[0].roles[0]", `"admn"`, "bad.yaml:5: http.listn"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("check-config output lacks %q:\n%s", w, errOut)
		}
	}
	// Rotation syntax is judged by the duty feature, still reported by key.
	badDuty := filepath.Join(dir, "duty.yaml")
	os.WriteFile(badDuty, []byte("people:\n  - name: alice\nduty:\n  rotations:\n    - name: triage\n      members: [alice]\n      shift: 1 fortnight\n      handoff: \"Mon 09:00\"\n"), 0o600)
	code, _, errOut = vigil(t, "", nil, "check-config", "--config", badDuty)
	if code != 1 || !strings.Contains(errOut, `duty.rotations[0].shift: shift "1 fortnight"`) {
		t.Errorf("bad rotation: exit %d, %q", code, errOut)
	}
	// Secrets are redacted by --print and never echoed in errors.
	withSecret := filepath.Join(dir, "secret.yaml")
	os.WriteFile(withSecret, []byte("redis:\n  url: redis://:hunter2@db:6379/0\n"), 0o600)
	code, out, _ = vigil(t, "", nil, "check-config", "--config", withSecret, "--print")
	if code != 0 || strings.Contains(out, "hunter2") || !strings.Contains(out, "<redacted>") {
		t.Errorf("--print: %d %q", code, out)
	}
}

func TestRunScriptedConsole(t *testing.T) {
	data := t.TempDir()
	script := "/sec help\n/sec whoami\n/sec people add bob --roles responder\n:advance 2d\n"
	code, out, errOut := vigil(t, script, nil, "--console", "--data", data, "--clock", "2026-01-05T09:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, w := range []string{"== Vigil commands ==", "Local admin (@admin)", "added @bob.", "⏱ Wed 2026-01-07 09:00 UTC"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(errOut, filepath.Join(data, "vigil.db")) {
		t.Errorf("the store path is not printed: %q", errOut)
	}
	// A scripted run that went well says nothing else on stderr (no
	// warnings from shutting down) but the one warning that the store is
	// not encrypted.
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !strings.HasPrefix(line, "vigil: ") && !strings.Contains(line, unencryptedWarning) {
			t.Errorf("unexpected stderr line: %q", line)
		}
	}
	// State persists: a second run sees bob.
	code, out, errOut = vigil(t, "/sec whoami\n", nil, "--console", "--data", data, "--as", "bob")
	if code != 0 || !strings.Contains(out, "@bob") || !strings.Contains(out, "Roles: responder") {
		t.Errorf("second run as bob: %d\n%s", code, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !strings.HasPrefix(line, "vigil: ") && !strings.Contains(line, unencryptedWarning) {
			t.Errorf("unexpected stderr line on the wall clock: %q", line)
		}
	}
}

func TestCorruptEmbeddedStoreIsLeftUntouched(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "vigil.db")
	garbage := bytes.Repeat([]byte("not a bbolt file "), 1000)
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := vigil(t, "/sec whoami\n", nil, "--console", "--data", data)
	if code != 1 || !strings.Contains(errOut, "cannot open the embedded store") || !strings.Contains(errOut, path) {
		t.Errorf("corrupt store: exit %d, stderr %q", code, errOut)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, garbage) {
		t.Errorf("the corrupt file was modified")
	}
}

func TestUnreachableRedisIsAOneLineError(t *testing.T) {
	start := time.Now()
	code, _, errOut := vigil(t, "", map[string]string{"VIGIL_REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"})
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	if lines := strings.Count(strings.TrimSpace(errOut), "\n") + 1; lines != 1 || !strings.Contains(errOut, "cannot reach") {
		t.Errorf("want one line saying Redis cannot be reached, got:\n%s", errOut)
	}
	if strings.Contains(errOut, "hunter2") {
		t.Errorf("the password leaked: %s", errOut)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("took %s to give up: it should not hang", took)
	}
}

func TestRunOnRedis(t *testing.T) {
	srv := testredis.Start(t)
	env := map[string]string{"VIGIL_REDIS_URL": srv.URL(), "VIGIL_REDIS_PREFIX": srv.Prefix(t)}
	code, out, errOut := vigil(t, "/sec people add bob --roles responder\n", env, "--console")
	if code != 0 || !strings.Contains(out, "added @bob.") {
		t.Fatalf("first run: %d %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "redis") {
		t.Errorf("start line does not say the state is in Redis: %q", errOut)
	}
	// A second process on the same Redis (another replica) sees the change.
	code, out, _ = vigil(t, "/sec people list\n", env, "--console")
	if code != 0 || !strings.Contains(out, "@bob") {
		t.Errorf("second run: %d %q", code, out)
	}
}

// A stop signal ends Vigil even while the console waits on open input
// (a pipe that is never closed, as under a service manager).
func TestStopsWhenCancelledWithInputOpen(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	reading := &signalingReader{r: r, first: make(chan struct{})}
	go func() {
		done <- run(ctx, runOptions{Data: t.TempDir(), Console: true}, streams{In: reading, Out: &out, Err: &errb}, func(string) (string, bool) { return "", false })
	}()
	select {
	case <-reading.first: // the console is blocked reading its input
	case err := <-done:
		t.Fatalf("run ended before reading input: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after its context was cancelled")
	}
}

// signalingReader closes first when the first Read begins.
type signalingReader struct {
	r     io.Reader
	once  sync.Once
	first chan struct{}
}

func (s *signalingReader) Read(p []byte) (int, error) {
	s.once.Do(func() { close(s.first) })
	return s.r.Read(p)
}

// The duty acceptance path through the console: a rotation of three,
// "who is on duty", then the clock moved past two hand-offs, with the
// messages and DMs in order.
func TestConsoleDutyRehearsal(t *testing.T) {
	script := strings.Join([]string{
		"/sec people add alice --roles responder --tz Europe/Paris",
		"/sec people add bob --roles responder",
		"/sec people add carol --roles responder",
		`/sec duty rotation create triage --members @alice,@bob,@carol --shift 1w --handoff "Mon 09:00 Europe/Paris"`,
		"/sec duty",
		":advance 7d",
		":advance 7d",
		"/sec duty",
	}, "\n")
	code, out, errOut := vigil(t, script, nil, "--console", "--data", t.TempDir(), "--clock", "2026-01-05T10:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	bottest.InOrder(t, out,
		// People are mentions, drawn by the console's renderer: the text
		// around each name is matched.
		"created rotation triage (the default): ", "alice", " is on duty until Mon 12 Jan 2026 09:00 CET, then ", "bob",
		"triage: ", "alice", " is on duty since Mon 5 Jan 2026 09:00 CET, until Mon 12 Jan 2026 09:00 CET. Next: ", "bob",
		"→ DM to bob:", "Heads-up: duty (triage)",
		"== Duty hand-off: triage ==", "Duty passes from ", "alice", " to ", "bob", "Until: Mon 19 Jan 2026 09:00 CET",
		"→ DM to bob:", "alice", " handed duty for triage to you",
		"→ DM to alice:", "Your duty shift for triage has ended; ", "bob", " has it now.",
		"⏱ Mon 2026-01-12 10:00 UTC",
		"→ DM to carol:", "Heads-up",
		"Duty passes from ", "bob", " to ", "carol",
		"⏱ Mon 2026-01-19 10:00 UTC",
		"triage: ", "carol", " is on duty since Mon 19 Jan 2026 09:00 CET",
	)
}

// The report acceptance path through the console: a report arrives (by
// the form), its clock pings the person on duty, it is acknowledged, and
// the clock stops.
func TestConsoleReportRehearsal(t *testing.T) {
	script := strings.Join([]string{
		"/sec people add bob --roles responder",
		`/sec duty rotation create triage --members @bob --shift 1w --handoff "Mon 09:00 UTC"`,
		"/sec report new",
		"SQL injection in search",
		"The q parameter is concatenated into SQL.",
		"Eve",
		"-",
		"yes",
		"acme/web",
		":advance 25h",
		":as bob",
		"/sec report ack VIG-2026-1",
		":advance 3d",
		"/sec report list --all",
	}, "\n")
	code, out, errOut := vigil(t, script, nil, "--console", "--data", t.TempDir(), "--clock", "2026-01-05T10:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	bottest.InOrder(t, out,
		"Filed VIG-2026-1",
		"== VIG-2026-1: SQL injection in search ==", "Acknowledge by: Wed 7 Jan 2026 10:00 UTC", "Assignee: ", "bob",
		"→ DM to bob:", "New report assigned to you: VIG-2026-1",
		"Half of the acknowledgement window of VIG-2026-1 has passed: 24h left",
		"→ DM to bob:", "must be acknowledged within 24h",
		"⏱ Tue 2026-01-06 11:00 UTC",
		"✅ ", "bob", " acknowledged VIG-2026-1 with 23h to spare; the clock has stopped.",
		"⏱ Fri 2026-01-09 11:00 UTC",
		"VIG-2026-1 [acknowledged] SQL injection in search — @bob",
	)
	after := out[strings.Index(out, "the clock has stopped"):]
	if strings.Contains(after, "⏰") || strings.Contains(after, "was not acknowledged") {
		t.Errorf("the clock kept pinging after the acknowledgement:\n%s", after)
	}
}

// Scoring a report through the dialog in the console: the CVSS form runs
// step by step, and the score lands on the report.
func TestConsoleScoresAReport(t *testing.T) {
	script := strings.Join([]string{
		"/sec report new", "RCE in the importer", "Crafted archive runs code.", "-", "-", "no", "acme/web",
		"/sec report ack VIG-2026-1",
		"/sec report accept VIG-2026-1",
		"/sec report score VIG-2026-1",
		"N", "L", "N", "N", "U", "H", "H", "H",
		"/sec report show VIG-2026-1",
	}, "\n")
	code, out, errOut := vigil(t, script, nil, "--console", "--data", t.TempDir(), "--clock", "2026-01-05T10:00:00Z")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	bottest.InOrder(t, out,
		"CVSS:3.1/AV:N",
		"scored VIG-2026-1: 9.8 Critical (CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H)",
		"Severity: Critical — team: 9.8 Critical (CVSS 3.1, by @admin)",
		"☑ Score severity",
	)
}
