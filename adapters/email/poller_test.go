package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// literal is an imap.LiteralReader over a string.
type literal struct {
	*strings.Reader
}

func (l literal) Size() int64 { return int64(l.Len()) }

var _ imap.LiteralReader = literal{}
var _ io.Reader = literal{}

// imapFixture is go-imap's in-memory server on a loopback port.
type imapFixture struct {
	addr string
	user *imapmemserver.User
}

func startIMAP(t *testing.T, caps imap.CapSet) *imapFixture {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("vigil", "pw")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true, // loopback, no TLS in tests
		Logger:       testLogger{t},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("IMAP server did not stop")
		}
	})
	return &imapFixture{addr: ln.Addr().String(), user: user}
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf("imapserver: "+format, args...) }

func (f *imapFixture) deliver(t *testing.T, id, subject string) {
	t.Helper()
	msg := fmt.Sprintf("From: r@example.net\r\nTo: security@example.org\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nreport %s\r\n", subject, id, id)
	if _, err := f.user.Append("INBOX", literal{strings.NewReader(msg)}, &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}

// count is how many messages a folder holds (-1 when it does not exist).
func (f *imapFixture) count(t *testing.T, mailbox string) int {
	t.Helper()
	st, err := f.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return -1
	}
	return int(*st.NumMessages)
}

func newTestPoller(t *testing.T, f *imapFixture, sink intake.Sink, clk clock.Clock) *Poller {
	t.Helper()
	p, err := NewPoller(PollerOptions{
		Addr: f.addr, TLS: TLSNone, Username: "vigil", Password: "pw",
		Sink: sink, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	capsMove   = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapMove: {}}
	capsNoMove = imap.CapSet{imap.CapIMAP4rev1: {}}
)

func TestPollerFilesOnceAndMoves(t *testing.T) {
	for name, caps := range map[string]imap.CapSet{"MOVE": capsMove, "COPY+EXPUNGE": capsNoMove} {
		t.Run(name, func(t *testing.T) {
			f := startIMAP(t, caps)
			f.deliver(t, "a@example.net", "first")
			f.deliver(t, "b@example.net", "second")
			sink := newSink()
			p := newTestPoller(t, f, sink, clock.NewFake(received))

			n, err := p.Poll(context.Background())
			if err != nil || n != 2 {
				t.Fatalf("Poll = %d, %v; want 2 filed", n, err)
			}
			got := sink.stored()
			if len(got) != 2 || got[0].SourceID != "a@example.net" || got[1].Title != "second" || !got[0].Received.Equal(received) {
				t.Fatalf("stored %+v", got)
			}
			if in, done := f.count(t, "INBOX"), f.count(t, DefaultProcessed); in != 0 || done != 2 {
				t.Fatalf("INBOX %d, Processed %d; want 0 and 2", in, done)
			}

			// A second poll finds nothing new and files nothing twice.
			n, err = p.Poll(context.Background())
			if err != nil || n != 0 || len(sink.calls) != 2 {
				t.Fatalf("second Poll = %d, %v, sink calls %d; want nothing new", n, err, len(sink.calls))
			}
		})
	}
}

func TestPollerSinkErrorLeavesMail(t *testing.T) {
	f := startIMAP(t, capsMove)
	f.deliver(t, "a@example.net", "first")
	sink := newSink(errors.New("store down"))
	p := newTestPoller(t, f, sink, clock.NewFake(received))

	n, err := p.Poll(context.Background())
	if err == nil || n != 0 || !strings.Contains(err.Error(), "left in INBOX") {
		t.Fatalf("Poll = %d, %v; want an error leaving the mail", n, err)
	}
	if in, done := f.count(t, "INBOX"), f.count(t, DefaultProcessed); in != 1 || done != 0 {
		t.Fatalf("INBOX %d, Processed %d; want the mail still in INBOX", in, done)
	}
	n, err = p.Poll(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("next Poll = %d, %v; want it filed", n, err)
	}
	if in, done := f.count(t, "INBOX"), f.count(t, DefaultProcessed); in != 0 || done != 1 {
		t.Fatalf("INBOX %d, Processed %d after the retry", in, done)
	}
}

func TestPollerInvalidFlaggedNotRetried(t *testing.T) {
	f := startIMAP(t, capsMove)
	f.deliver(t, "a@example.net", "first")
	sink := newSink(fmt.Errorf("%w: nope", intake.ErrInvalid))
	p := newTestPoller(t, f, sink, clock.NewFake(received))
	if n, err := p.Poll(context.Background()); err != nil || n != 0 {
		t.Fatalf("Poll = %d, %v", n, err)
	}
	if n, err := p.Poll(context.Background()); err != nil || n != 0 || len(sink.calls) != 1 {
		t.Fatalf("second Poll = %d, %v, calls %d: a refused mail must not be offered again", n, err, len(sink.calls))
	}
	if f.count(t, "INBOX") != 1 {
		t.Error("a refused mail must stay in the mailbox for a person to see")
	}
}

func TestPollerRunPollsOnTheClock(t *testing.T) {
	f := startIMAP(t, capsMove)
	sink := newSink()
	fake := clock.NewFake(received)
	p := newTestPoller(t, f, sink, fake)
	polled := make(chan int, 10)
	p.afterPoll = func(n int, err error) {
		if err != nil {
			t.Errorf("poll: %v", err)
		}
		polled <- n
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	next := func() int {
		t.Helper()
		select {
		case n := <-polled:
			return n
		case <-time.After(wait):
			t.Fatal("no poll happened")
			return 0
		}
	}
	if n := next(); n != 0 {
		t.Fatalf("first poll filed %d", n)
	}
	f.deliver(t, "late@example.net", "late")
	fake.Advance(DefaultInterval - time.Second)
	select {
	case <-polled:
		t.Fatal("polled before the interval passed")
	default:
	}
	fake.Advance(time.Second)
	if n := next(); n != 1 {
		t.Fatalf("poll after the interval filed %d, want 1", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not stop")
	}
}

func TestPollerBadLogin(t *testing.T) {
	f := startIMAP(t, capsMove)
	p, err := NewPoller(PollerOptions{Addr: f.addr, TLS: TLSNone, Username: "vigil", Password: "wrong-SECRET", Sink: newSink()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "login as vigil") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v, want a login error without the password", err)
	}
}
