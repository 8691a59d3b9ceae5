package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// File is the config file the value came from; "" when it came from the
	// environment or from code.
	File string
	// Line is the 1-based line in File, 0 when unknown.
	Line int
	// Env is the environment variable the value came from, if any.
	Env string
	// Key is the path of the key, such as "people[1].roles[0]"; "" for a
	// problem with the file as a whole.
	Key string
	// Msg says what is wrong. It never contains a secret.
	Msg string
}

// String formats p as "file:line: key: msg" or "env NAME: msg".
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Env != "":
		// The variable name says which key it sets.
		return "env " + p.Env + ": " + p.Msg
	case p.File != "" && p.Line > 0:
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line) + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in a configuration, reported together so one
// run of `vigil check-config` shows them all.
type Error struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems while loading or validating.
type problems []Problem

func (ps *problems) add(p Problem) { *ps = append(*ps, p) }

// err returns the collected problems as an *Error, or nil when there are
// none. Problems with a file line come first in line order, then the rest
// in the order found, so the output reads top to bottom like the file.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	out := append([]Problem(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		li, lj := out[i].Line, out[j].Line
		if (li == 0) != (lj == 0) {
			return li != 0
		}
		return li < lj
	})
	return &Error{Problems: out}
}

// msgf formats a Problem message; it is fmt.Sprintf, named so call sites
// read as building a message rather than an error.
func msgf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
