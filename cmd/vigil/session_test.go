package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// startRelay starts an outbound SMTP relay that keeps what it is given,
// until the test ends, and returns it with its address.
func startRelay(t *testing.T) (*relay, string) {
	t.Helper()
	out := &relay{}
	srv := gosmtp.NewServer(out)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return out, ln.Addr().String()
}

// session is Vigil run in-process with the console on a pipe.
type session struct {
	t       *testing.T
	stdin   *io.PipeWriter
	console *syncBuffer
	errb    *syncBuffer
	done    chan error
}

// startSession runs Vigil with o (Console is set) and lookup, and waits
// for its HTTP listener when httpAddr is not empty.
func startSession(t *testing.T, o runOptions, lookup env, httpAddr string) *session {
	t.Helper()
	in, stdin := io.Pipe()
	s := &session{t: t, stdin: stdin, console: &syncBuffer{}, errb: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { stdin.Close(); cancel() })
	o.Console = true
	go func() { s.done <- run(ctx, o, streams{In: in, Out: s.console, Err: s.errb}, lookup) }()
	if httpAddr != "" {
		waitFor(t, "the HTTP listener", func() bool {
			resp, err := http.Get("http://" + httpAddr + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})
	}
	return s
}

// say types lines at the console.
func (s *session) say(lines ...string) {
	s.t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(s.stdin, l+"\n"); err != nil {
			s.t.Fatal(err)
		}
	}
}

// end closes the console's input and waits for Vigil to stop, failing the
// test if it does not stop cleanly.
func (s *session) end() {
	s.t.Helper()
	s.stdin.Close()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("run: %v\n%s", err, s.errb.String())
		}
	case <-time.After(20 * time.Second):
		s.t.Fatal("Vigil did not stop at the end of input")
	}
}
