package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/store/embedded"
)

// failingChat is a chat adapter whose Run fails with err: at once, or
// only when it is stopped (a shutdown that goes wrong).
type failingChat struct {
	err    error
	onStop bool
}

func (c failingChat) Name() string { return "fake" }

func (c failingChat) Send(context.Context, bot.Destination, bot.Message) (bot.MessageRef, error) {
	return bot.MessageRef{}, nil
}

func (c failingChat) Run(ctx context.Context) error {
	if c.onStop {
		<-ctx.Done()
	}
	return c.err
}

// When several parts fail, serve reports each failure, not only the
// first: the one that stopped Vigil, one that failed at the same time and
// one that failed while stopping. Adapters are named in their errors.
func TestServeReportsEveryFailure(t *testing.T) {
	errListen := errors.New("http server: accept: too many open files")
	errToken := errors.New("token revoked")
	errShutdown := errors.New("poller: shutdown failed")
	p := &parts{
		sources: []func(context.Context) error{
			func(context.Context) error { return errListen },
			func(ctx context.Context) error { <-ctx.Done(); return errShutdown },
		},
		chats: []chatAdapter{failingChat{err: errToken}},
	}
	done := make(chan error, 1)
	go func() { done <- p.serve(context.Background(), io.Discard) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when its parts failed")
	}
	for _, want := range []error{errListen, errToken, errShutdown} {
		if !errors.Is(err, want) {
			t.Errorf("serve: %v\nwant it to include %q", err, want)
		}
	}
	if !strings.Contains(err.Error(), "fake: token revoked") {
		t.Errorf("serve: %v\nwant the adapter named", err)
	}
}

// A part that stops without an error when asked adds nothing.
func TestServeStopsCleanlyOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &parts{chats: []chatAdapter{failingChat{onStop: true}}}
	cancel()
	if err := p.serve(ctx, io.Discard); err != nil {
		t.Errorf("serve after a signal: %v, want nil", err)
	}
}

// A start that fails after the store was opened and the SMTP port bound
// (here: the HTTP port is taken) gives both back, so the next start, or
// another process, can have them.
func TestBuildClosesWhatItOpenedOnError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	smtpAddr := freeAddr(t)
	cfg := fmt.Sprintf(`
http: {listen: %q}
email:
  smtp_receiver: {listen: %q, recipients: [security@example.org]}
`, taken.Addr().String(), smtpAddr)
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	nothing := func(string) (string, bool) { return "", false }
	var errb strings.Builder
	err = run(context.Background(), runOptions{ConfigPath: path, Data: data}, streams{In: strings.NewReader(""), Out: io.Discard, Err: &errb}, nothing)
	if err == nil || !strings.HasPrefix(err.Error(), "http.listen "+taken.Addr().String()+":") {
		t.Fatalf("run with the HTTP port taken: %v, want http.listen's error", err)
	}
	ln, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		t.Errorf("the SMTP port is still held: %v", err)
	} else {
		ln.Close()
	}
	st, err := embedded.Open(filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Errorf("the store is still open: %v", err)
	} else {
		st.Close()
	}
}
