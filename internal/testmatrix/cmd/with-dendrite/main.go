// Command with-dendrite starts a throwaway Dendrite (from the binaries
// scripts/build-dendrite.sh cached, on a throwaway PostgreSQL cluster), runs a command with
// MATRIX_HOMESERVER_URL, MATRIX_SHARED_SECRET and MATRIX_SERVER_NAME set,
// stops Dendrite and exits with the command's status. `make test` runs the
// tests through it, so every package shares one homeserver.
//
// Usage: with-dendrite [-bin DIR] COMMAND [ARGS...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/vigil-sec/vigil/internal/testmatrix"
)

func main() {
	os.Exit(run())
}

func run() int {
	bin := flag.String("bin", "", "directory with the Dendrite binaries (default: the cache)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: with-dendrite [-bin DIR] COMMAND [ARGS...]")
		return 2
	}
	if os.Getenv("MATRIX_HOMESERVER_URL") != "" {
		return exitCode(runCmd(flag.Args(), nil))
	}
	dir := *bin
	if dir == "" {
		var err error
		if dir, err = testmatrix.BinDir(); err != nil {
			fmt.Fprintln(os.Stderr, "with-dendrite:", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := testmatrix.StartDendrite(ctx, dir, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "with-dendrite:", err)
		return 1
	}
	defer d.Stop()
	fmt.Fprintf(os.Stderr, "with-dendrite: Dendrite %s on %s, storage: %s\n", testmatrix.DendriteVersion, d.URL, d.Storage)
	err = runCmd(flag.Args(), []string{
		"MATRIX_HOMESERVER_URL=" + d.URL,
		"MATRIX_SHARED_SECRET=" + d.SharedSecret,
		"MATRIX_SERVER_NAME=" + testmatrix.ServerName,
	})
	if err != nil && exitCode(err) != 0 {
		if logs := d.Logs(); logs != "" {
			fmt.Fprintf(os.Stderr, "with-dendrite: Dendrite's log (tail):\n%s\n", tailOf(logs, 4000))
		}
	}
	return exitCode(err)
}

func runCmd(args []string, env []string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	return cmd.Run()
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "with-dendrite:", err)
	return 1
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
