// Command vigil runs Vigil, the chat-ops bot for open-source security
// teams. With no configuration it starts the console adapter on an embedded
// store, so `go run ./cmd/vigil` is a working try-out.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	// Time zones must load in minimal container images too.
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// env is how the process reads its environment; tests pass a map.
type env func(string) (string, bool)

// streams are the process's standard streams; tests pass buffers.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// InFile, when set, is standard input as a file, so a terminal can be
	// detected and used interactively.
	InFile *os.File
	// OutFile likewise for standard output.
	OutFile *os.File
}

func main() {
	s := streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, InFile: os.Stdin, OutFile: os.Stdout}
	os.Exit(Main(os.Args[1:], s, os.LookupEnv))
}

const mainUsage = `Vigil: chat-ops for open-source security teams.

Usage:
  vigil [flags]                      run Vigil (see "Without a chat adapter" below)
  vigil version                      print the version
  vigil check-config --config FILE   check a configuration file and exit
  vigil healthcheck [--ready]        ask a running Vigil whether it is alive (or ready)
  vigil cvss [--json] [VECTOR...]    score CVSS 3.1/4.0 vectors (from stdin when none given)
  vigil stats --year Y --out FILE    write the yearly security report (HTML; see vigil stats --help)
  vigil store gen-key [--id ID]      print a new store encryption key (docs/ENCRYPTION.md)
  vigil store rotate-key             re-encrypt the store under the first configured key
  vigil help                         this text

Run flags:
  --config FILE    configuration file (env VIGIL_CONFIG); none needed to try Vigil
  --data DIR       directory of the embedded store (default: the user's data directory)
  --files DIR      where the console writes the files of messages, e.g. the /sec stats
                   chart (default: files/ in the data directory)
  --as NAME        the person the console speaks as (default: a local admin)
  --clock TIME     run on a fake clock starting at TIME (RFC 3339, e.g. 2026-01-05T09:00:00Z);
                   the console's ":advance 36h" then moves it and runs what falls due
  --log-level L    debug, info, warn or error
  --console        read commands from standard input (the console), also when it is not
                   a terminal (scripts: printf '/sec help\n' | vigil --console) or when
                   Slack or Matrix is configured

Without a chat adapter: on a terminal Vigil runs the console; otherwise (a service
manager, a container, stdin from /dev/null) it runs headless (intake, scheduler,
HTTP) until SIGTERM or Ctrl-C, and says so in one line.

Environment: VIGIL_CONFIG, VIGIL_DATA, VIGIL_REDIS_URL (or VIGIL_REDIS_URL_FILE),
VIGIL_REDIS_PREFIX, VIGIL_STORE_ENCRYPTION_KEYS (or _FILE), VIGIL_HTTP_LISTEN, VIGIL_LOG_LEVEL, VIGIL_LOG_FORMAT,
VIGIL_INSTANCE (this replica's name in the scheduler lease; default host-pid),
and the secrets of each section (see config/example.yaml).
Docs: README.md and docs/ in the source tree.
`

// Main runs the command line and returns the exit code: 0 ok, 1 failure,
// 2 usage error.
func Main(args []string, s streams, lookup env) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version":
			fmt.Fprintln(s.Out, versionString())
			return 0
		case "check-config":
			return checkConfigMain(args[1:], s, lookup)
		case "healthcheck":
			return healthcheckMain(args[1:], s, lookup)
		case "cvss":
			return cvssMain(args[1:], s)
		case "stats":
			return statsMain(args[1:], s, lookup)
		case "store":
			return storeMain(args[1:], s, lookup)
		case "help", "--help", "-h", "-help":
			fmt.Fprint(s.Out, mainUsage)
			return 0
		}
	}
	return runMain(args, s, lookup)
}

// parseFlags parses args with fs for a command that takes flags only;
// unexpected names the first word left over in the error ("unknown
// command"). fs prints nothing: the caller answers with its usage, and
// flag.ErrHelp comes back as is for --help.
func parseFlags(fs *flag.FlagSet, args []string, unexpected string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%v", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s %q", unexpected, fs.Arg(0))
	}
	return nil
}

// configPath is the --config flag's value, else VIGIL_CONFIG.
func configPath(flagValue string, lookup env) string {
	if flagValue != "" {
		return flagValue
	}
	path, _ := lookup("VIGIL_CONFIG")
	return path
}

func versionString() string {
	v := "vigil " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		v += " (" + bi.GoVersion
		for _, set := range bi.Settings {
			if set.Key == "vcs.revision" && len(set.Value) >= 12 {
				v += ", " + set.Value[:12]
			}
		}
		v += ")"
	}
	return v
}
