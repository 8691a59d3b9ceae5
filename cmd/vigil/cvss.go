package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-sec/vigil/commands/cvss"
)

const cvssUsage = `Usage: vigil cvss [--json] [VECTOR...]

Scores CVSS 3.1 and 4.0 base vectors, one line each:

  SCORE SEVERITY VECTOR        e.g. 9.8 Critical CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H

With no VECTOR it reads vectors from standard input, one per line; blank
lines and lines starting with # are skipped. The CVSS:3.1/ or CVSS:4.0/
prefix may be left out (a vector with 4.0-only metrics such as AT or VC is
read as 4.0). The vector printed is canonical: prefix, base metrics in the
specification's order.

A bad vector gets one line on standard error naming the bad metric or value;
the others are still scored. Exits 0 when every vector scored, 1 when any
did not, 2 on a usage error.

  --json   one JSON object per vector and line (JSON Lines): version, vector,
           score, severity, metrics (key, name, value, value_name, help) and
           calculator_url
`

// cvssOptions are the parsed flags of "vigil cvss".
type cvssOptions struct {
	JSON    bool
	Vectors []string
}

// parseCVSS lets flags come anywhere among the vectors: a vector never
// starts with "-", and "vigil cvss V --json" is how people type it.
func parseCVSS(args []string) (cvssOptions, error) {
	var o cvssOptions
	fs := flag.NewFlagSet("cvss", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.JSON, "json", false, "")
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return o, err
			}
			return o, fmt.Errorf("%v", err)
		}
		if fs.NArg() == 0 {
			return o, nil
		}
		o.Vectors = append(o.Vectors, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func cvssMain(args []string, s streams) int {
	o, err := parseCVSS(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(s.Out, cvssUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(s.Err, "vigil cvss: %v\n\n%s", err, cvssUsage)
		return 2
	}
	failed := false
	out := bufio.NewWriter(s.Out)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // keep "&" and "<" readable in help texts
	score := func(where, vector string) {
		r, err := cvss.Score(vector)
		if err != nil {
			failed = true
			// Flush first so stdout and stderr interleave in input order
			// when both go to a terminal.
			_ = out.Flush()
			fmt.Fprintf(s.Err, "vigil cvss: %s: %q: %v\n", where, strings.TrimSpace(vector), err)
			return
		}
		if o.JSON {
			// Encoding a Result of strings and a float cannot fail; a write
			// error shows at the flush.
			_ = enc.Encode(r)
			return
		}
		fmt.Fprintf(out, "%.1f %s %s\n", r.Score, r.Severity, r.Vector)
	}
	if len(o.Vectors) > 0 {
		for i, v := range o.Vectors {
			score(fmt.Sprintf("argument %d", i+1), v)
		}
	} else {
		sc := bufio.NewScanner(s.In)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			score(fmt.Sprintf("line %d", n), line)
			// Answer each line as it comes, for someone typing at a
			// terminal or a pipe that waits for the reply.
			_ = out.Flush()
		}
		if err := sc.Err(); err != nil {
			_ = out.Flush()
			fmt.Fprintf(s.Err, "vigil cvss: reading standard input: %v\n", err)
			return 1
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(s.Err, "vigil cvss: writing the scores: %v\n", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}
