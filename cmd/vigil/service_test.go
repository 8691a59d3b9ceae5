package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Under a service manager (systemd, a container) standard input is
// /dev/null and there is no terminal. With no chat adapter configured,
// Vigil must not run the console, read the end of input and exit 0 (which
// Restart=on-failure would never undo): it runs headless, serves HTTP,
// says so in one line, and stops cleanly on SIGTERM.
func TestServiceModeRunsHeadlessUntilSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process; skipped with -short")
	}
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "VIGIL_TEST_AS_VIGIL=1", "VIGIL_HTTP_LISTEN="+addr, "VIGIL_LOG_LEVEL=info")
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	out, errOut := &syncBuffer{}, &syncBuffer{}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, out, errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	healthy := func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && string(b) == "ok\n"
	}
	waitFor(t, "/healthz", healthy)
	// A process that read the end of its input would be gone by now.
	select {
	case err := <-exited:
		t.Fatalf("Vigil exited (%v) with stdin at /dev/null; stderr:\n%s", err, errOut.String())
	case <-time.After(2 * time.Second):
	}
	if !healthy() {
		t.Fatal("/healthz stopped answering")
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	logs := errOut.String()
	if n := strings.Count(logs, "running headless (intake, scheduler, HTTP)"); n != 1 {
		t.Errorf("the headless line appears %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, "--console") {
		t.Errorf("the headless line does not say how to get the console:\n%s", logs)
	}
	if out.String() != "" {
		t.Errorf("a headless Vigil wrote to stdout (a console?): %q", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Errorf("after SIGTERM: %v, want exit 0; stderr:\n%s", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Vigil did not stop on SIGTERM")
	}
}

// --console keeps the scripted console: commands from a pipe, exit 0 at
// the end of input; without it, and without a terminal, input is not read.
func TestConsoleFlagForScripts(t *testing.T) {
	code, out, _ := vigil(t, "/sec whoami\n", nil, "--console", "--data", t.TempDir())
	if code != 0 || !strings.Contains(out, "Local admin") {
		t.Errorf("--console with a script: exit %d\n%s", code, out)
	}
	if _, help, _ := vigil(t, "", nil, "--help"); !strings.Contains(help, "--console") || !strings.Contains(help, "headless") {
		t.Errorf("--help does not document --console and headless mode:\n%s", help)
	}
}
