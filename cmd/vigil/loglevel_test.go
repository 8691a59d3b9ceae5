package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/config"
)

// receiverStarted is the info line the SMTP receiver logs when it starts:
// a start-up line an operator reads in the journal.
const receiverStarted = `"level":"INFO","msg":"email: SMTP receiver listening for loopback clients only`

// runUntilLogged runs Vigil with the SMTP receiver configured (and extra
// configuration) until its log shows want, then stops it.
func runUntilLogged(t *testing.T, extra string, o runOptions, env map[string]string, want string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	cfg := fmt.Sprintf("email:\n  smtp_receiver: {listen: %q, recipients: [security@example.org]}\n%s", freeAddr(t), extra)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	o.ConfigPath, o.Data = path, t.TempDir()
	in, stdin := io.Pipe() // a script that stays open, as under a supervisor
	defer stdin.Close()
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	go func() { done <- run(ctx, o, streams{In: in, Out: &out, Err: &errb}, lookup) }()
	waitFor(t, fmt.Sprintf("%q in the log", want), func() bool { return strings.Contains(errb.String(), want) })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v\n%s", err, errb.String())
	}
	return errb.String()
}

// log.level: info (the default) means info wherever the console is not on
// a terminal: headless under a service manager, and a scripted --console
// (its conversation goes to stdout, apart from the log).
func TestInfoIsLoggedWithoutATerminal(t *testing.T) {
	t.Run("headless, default level", func(t *testing.T) {
		logs := runUntilLogged(t, "", runOptions{}, nil, receiverStarted)
		if !strings.Contains(logs, "running headless") {
			t.Errorf("not headless:\n%s", logs)
		}
	})
	t.Run("headless, log.level: info", func(t *testing.T) {
		runUntilLogged(t, "log: {level: info}\n", runOptions{}, nil, receiverStarted)
	})
	t.Run("scripted console, default level", func(t *testing.T) {
		runUntilLogged(t, "", runOptions{Console: true}, nil, receiverStarted)
	})
	t.Run("scripted console, log.level: info", func(t *testing.T) {
		runUntilLogged(t, "log: {level: info}\n", runOptions{Console: true}, nil, receiverStarted)
	})
}

// Only the console on a terminal, where the log shares the screen with
// the conversation, quiets the default to warnings; a level written in the
// file or the environment, or given with --log-level, is taken as written.
// (A terminal cannot be given to run() in a test, so this calls newLogger
// as run() does for one.)
func TestOnlyTheTerminalConsoleQuietsTheDefault(t *testing.T) {
	load := func(t *testing.T, file string, env map[string]string) *config.Config {
		t.Helper()
		path := ""
		if file != "" {
			path = filepath.Join(t.TempDir(), "vigil.yaml")
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cfg, err := config.Load(path, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name        string
		file        string
		env         map[string]string
		flag        string
		termConsole bool
		want        slog.Level
	}{
		{name: "terminal console, nothing given", termConsole: true, want: slog.LevelWarn},
		{name: "terminal console, log.level: info in the file", file: "log: {level: info}\n", termConsole: true, want: slog.LevelInfo},
		{name: "terminal console, VIGIL_LOG_LEVEL=info", env: map[string]string{"VIGIL_LOG_LEVEL": "info"}, termConsole: true, want: slog.LevelInfo},
		{name: "terminal console, --log-level debug", flag: "debug", termConsole: true, want: slog.LevelDebug},
		{name: "terminal console, log.level: error", file: "log: {level: error}\n", termConsole: true, want: slog.LevelError},
		{name: "no terminal console, nothing given", want: slog.LevelInfo},
		{name: "no terminal console, log.level: warn", file: "log: {level: warn}\n", want: slog.LevelWarn},
		{name: "no terminal console, --log-level error over the file", file: "log: {level: debug}\n", flag: "error", want: slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := load(t, tt.file, tt.env)
			l := newLogger(cfg, runOptions{LogLevel: tt.flag}, io.Discard, false, tt.termConsole)
			ctx := context.Background()
			if !l.Enabled(ctx, tt.want) || (tt.want > slog.LevelDebug && l.Enabled(ctx, tt.want-4)) {
				t.Errorf("the log is not at %s", tt.want)
			}
		})
	}
}
