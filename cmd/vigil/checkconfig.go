package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/config"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// checkConfigOptions are the parsed flags of "vigil check-config".
type checkConfigOptions struct {
	ConfigPath string
	Print      bool
}

const checkConfigUsage = `Usage: vigil check-config --config FILE [--print]

Checks a configuration file (with VIGIL_* environment overrides applied) and
reports every problem with its key and line. Exits 0 when it is valid, 1 when
it is not, 2 on a usage error.

  --config FILE   the file to check (env VIGIL_CONFIG)
  --print         print the effective configuration, secrets redacted
`

func parseCheckConfig(args []string, stderr io.Writer, lookup env) (checkConfigOptions, error) {
	var o checkConfigOptions
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.StringVar(&o.ConfigPath, "config", "", "")
	fs.BoolVar(&o.Print, "print", false, "")
	if err := parseFlags(fs, args, "unexpected argument"); err != nil {
		return o, err
	}
	o.ConfigPath = configPath(o.ConfigPath, lookup)
	if o.ConfigPath == "" {
		return o, errors.New("--config FILE is required")
	}
	return o, nil
}

func checkConfigMain(args []string, s streams, lookup env) int {
	o, err := parseCheckConfig(args, s.Err, lookup)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(s.Out, checkConfigUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(s.Err, "vigil check-config: %v\n\n%s", err, checkConfigUsage)
		return 2
	}
	cfg, err := config.Load(o.ConfigPath, lookup)
	if err != nil {
		fmt.Fprintf(s.Err, "%s: invalid configuration:\n%v\n", o.ConfigPath, err)
		return 1
	}
	if err := checkFeatures(cfg); err != nil {
		fmt.Fprintf(s.Err, "%s: invalid configuration:\n%v\n", o.ConfigPath, err)
		return 1
	}
	if cfg.Redis.Enabled() {
		// The store's own parser has the last word on the URL forms.
		if _, err := redisstore.New(redisstore.Options{URL: cfg.Redis.URL.Value(), Prefix: cfg.Redis.Prefix}); err != nil {
			fmt.Fprintf(s.Err, "%s: invalid configuration:\nredis.url: %v\n", o.ConfigPath, err)
			return 1
		}
	}
	fmt.Fprintf(s.Out, "%s: OK (%s)\n", o.ConfigPath, cfg.Summary())
	if o.Print {
		out, err := cfg.Redacted()
		if err != nil {
			fmt.Fprintf(s.Err, "vigil check-config: %v\n", err)
			return 1
		}
		_, _ = s.Out.Write(out)
	}
	return 0
}
