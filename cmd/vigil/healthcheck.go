package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

const healthcheckUsage = `Usage: vigil healthcheck [--ready] [--addr HOST:PORT]

Asks a running Vigil on this machine whether it is alive (/healthz) or, with
--ready, ready (/readyz: store reachable, chat adapters connected). Exits 0
when it is, 1 when not. For container health checks in images without curl.

  --addr HOST:PORT   where Vigil listens (default: VIGIL_HTTP_LISTEN, with
                     an empty host meaning 127.0.0.1)
  --ready            check readiness instead of liveness
`

type healthcheckOptions struct {
	Addr  string
	Ready bool
}

func parseHealthcheck(args []string, lookup env) (healthcheckOptions, error) {
	var o healthcheckOptions
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Addr, "addr", "", "")
	fs.BoolVar(&o.Ready, "ready", false, "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.Addr == "" {
		o.Addr, _ = lookup("VIGIL_HTTP_LISTEN")
	}
	if o.Addr == "" {
		return o, errors.New("no address: give --addr or set VIGIL_HTTP_LISTEN")
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return o, fmt.Errorf("--addr %q: %v", o.Addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	o.Addr = net.JoinHostPort(host, port)
	return o, nil
}

func healthcheckMain(args []string, s streams, lookup env) int {
	o, err := parseHealthcheck(args, lookup)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(s.Out, healthcheckUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(s.Err, "vigil healthcheck: %v\n\n%s", err, healthcheckUsage)
		return 2
	}
	path := "/healthz"
	if o.Ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+o.Addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(s.Err, "vigil healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	fmt.Fprintln(s.Out, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
