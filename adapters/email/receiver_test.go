package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/bot/intake"
)

// startReceiver runs a receiver on a free loopback port until the test
// ends and returns its address.
func startReceiver(t *testing.T, sink intake.Sink, mod func(*ReceiverOptions)) string {
	t.Helper()
	o := ReceiverOptions{
		Listen:          "127.0.0.1:0",
		Recipients:      []string{"Security@Example.org"},
		MaxMessageBytes: 64 << 10,
		Sink:            sink,
		Clock:           clock.NewFake(received),
	}
	if mod != nil {
		mod(&o)
	}
	r, err := NewReceiver(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(wait):
			t.Error("Serve did not stop")
		}
	})
	return r.Addr().String()
}

// send runs one SMTP session with the standard library's client, as a
// relay forwarding mail would.
func send(addr, rcpt, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("relay.example.org"); err != nil {
		return err
	}
	if err := c.Mail("reporter@example.net"); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

const report = "From: Ana <ana@example.net>\r\nTo: security@example.org\r\nSubject: XSS\r\nMessage-ID: <r1@example.net>\r\n\r\nreflected in q\r\n"

func TestReceiverStoresThen250(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, nil)
	if err := send(addr, "security@example.org", report); err != nil {
		t.Fatalf("send: %v", err)
	}
	// send returned after 250, so the sink must already hold it.
	got := sink.stored()
	if len(got) != 1 || got[0].SourceID != "r1@example.net" || got[0].Title != "XSS" || got[0].Description != "reflected in q" {
		t.Fatalf("stored %+v", got)
	}
	if !got[0].Received.Equal(received) {
		t.Errorf("received %v, want the injected clock's %v", got[0].Received, received)
	}
}

func TestReceiverSinkFailure451ThenRetry(t *testing.T) {
	sink := newSink(errors.New("store unavailable"))
	addr := startReceiver(t, sink, nil)
	err := send(addr, "security@example.org", report)
	if smtpCode(err) != 451 {
		t.Fatalf("first attempt: %v, want 451", err)
	}
	if len(sink.stored()) != 0 {
		t.Fatal("nothing may be stored on a failed Receive")
	}
	// The sending server retries later; the mail must arrive.
	if err := send(addr, "security@example.org", report); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := sink.stored(); len(got) != 1 || got[0].SourceID != "r1@example.net" {
		t.Fatalf("after retry stored %+v", got)
	}
	if n := len(sink.calls); n != 2 {
		t.Errorf("sink saw the mail %d times, want 2 (fail, retry)", n)
	}
}

func TestReceiverInvalid554(t *testing.T) {
	sink := newSink(fmt.Errorf("%w: no title", intake.ErrInvalid))
	addr := startReceiver(t, sink, nil)
	if err := send(addr, "security@example.org", report); smtpCode(err) != 554 {
		t.Fatalf("got %v, want 554", err)
	}
}

func TestReceiverOversized552(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, func(o *ReceiverOptions) { o.MaxMessageBytes = 1000 })
	err := send(addr, "security@example.org", report+strings.Repeat(strings.Repeat("x", 70)+"\r\n", 30))
	if smtpCode(err) != 552 || !strings.Contains(err.Error(), "limit is 1000 bytes") {
		t.Fatalf("got %v, want 552 naming the limit", err)
	}
	if len(sink.calls) != 0 {
		t.Error("an oversized mail reached the sink")
	}
}

func TestReceiverUnknownRecipient550(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, nil)
	if err := send(addr, "postmaster@example.org", report); smtpCode(err) != 550 {
		t.Fatalf("got %v, want 550", err)
	}
}

func TestReceiverMalformedStoredWithNote(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, nil)
	msg := "Subject: broken\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\nContent-Type: text/plain\r\n\r\nthe report text, never closed\r\n"
	if err := send(addr, "security@example.org", msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := sink.stored()
	if len(got) != 1 || !strings.Contains(string(got[0].Description), "the report text") || len(got[0].Notes) == 0 {
		t.Fatalf("stored %+v", got)
	}
}

func TestReceiverAllowedClients(t *testing.T) {
	sink := newSink()
	addr := startReceiver(t, sink, func(o *ReceiverOptions) { o.AllowedClients = []string{"10.0.0.0/8"} })
	if err := send(addr, "security@example.org", report); smtpCode(err) != 554 {
		t.Fatalf("loopback outside allowed_clients: %v, want 554", err)
	}
	addr = startReceiver(t, sink, func(o *ReceiverOptions) { o.AllowedClients = []string{"127.0.0.1"} })
	if err := send(addr, "security@example.org", report); err != nil {
		t.Fatalf("allowed client: %v", err)
	}
}

func TestNewReceiverValidates(t *testing.T) {
	for name, o := range map[string]ReceiverOptions{
		"no recipients": {Listen: ":25", Sink: newSink()},
		"bad listen":    {Listen: "25", Recipients: []string{"a@b.c"}, Sink: newSink()},
		"bad cidr":      {Listen: ":25", Recipients: []string{"a@b.c"}, AllowedClients: []string{"10.0.0/8"}, Sink: newSink()},
		"no sink":       {Listen: ":25", Recipients: []string{"a@b.c"}},
	} {
		if _, err := NewReceiver(o); err == nil {
			t.Errorf("%s: NewReceiver accepted %+v", name, o)
		}
	}
}

func TestReceiverStopsWhenCancelledAtOnce(t *testing.T) {
	r, err := NewReceiver(ReceiverOptions{Listen: "127.0.0.1:0", Recipients: []string{"a@example.org"}, Sink: newSink()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return for a context that had already ended")
	}
}

// A receiver bound but never served (Vigil's start-up failed after
// Listen) gives its port back on Close.
func TestReceiverCloseReleasesThePort(t *testing.T) {
	r, err := NewReceiver(ReceiverOptions{Listen: "127.0.0.1:0", Recipients: []string{"a@example.org"}, Sink: newSink()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	addr := r.Addr().String()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port still held after Close: %v", err)
	}
	_ = ln.Close()
}
