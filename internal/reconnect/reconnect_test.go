package reconnect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 10 * time.Second}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, b.Wait(n))
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("waits %v, want %v seconds", got, want)
		}
	}
	if d := (Backoff{}).Wait(3); d != 4*time.Second {
		t.Errorf("zero backoff uses the default: %s", d)
	}
}

func TestReasonSaysWhatAndWhen(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	s := NewState(fake)
	if s.Connected() || s.Reason() != "starting" {
		t.Errorf("new: %v %q", s.Connected(), s.Reason())
	}
	s.Retrying("connecting", "auth.test: connection refused", fake.Now().Add(8*time.Second))
	if got := s.Reason(); got != "connecting (auth.test: connection refused), next try in 8s" {
		t.Errorf("Reason = %q", got)
	}
	fake.Advance(8 * time.Second)
	if got := s.Reason(); !strings.HasSuffix(got, "trying again now") {
		t.Errorf("Reason at the try = %q", got)
	}
	s.Up()
	if !s.Connected() || s.Reason() != "" {
		t.Errorf("up: %v %q", s.Connected(), s.Reason())
	}
}

// A raw network error holds the address; the cause shown on /readyz does
// not.
func TestCauseHasNoAddress(t *testing.T) {
	_, err := http.Get("http://127.0.0.1:1/secret-path?token=xoxb-1")
	if err == nil {
		t.Skip("something listens on port 1")
	}
	if got := Cause(err, "other"); got != "connection refused" {
		t.Errorf("Cause = %q (from %v)", got, err)
	}
	dns := fmt.Errorf("post: %w", &net.DNSError{Err: "no such host", Name: "slack.internal"})
	if got := Cause(dns, "other"); got != "DNS lookup failed" {
		t.Errorf("Cause(dns) = %q", got)
	}
	if got := Cause(context.DeadlineExceeded, "other"); got != "timeout" {
		t.Errorf("Cause(deadline) = %q", got)
	}
	if got := Cause(errors.New("slack said no"), "HTTP 503"); got != "HTTP 503" {
		t.Errorf("fallback: %q", got)
	}
}

func TestSleepArmsBeforeWaiting(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	armed := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Sleep(context.Background(), fake, time.Minute, func() { close(armed) }) }()
	<-armed
	fake.Advance(time.Minute) // the timer exists: this wakes it
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, fake, time.Hour, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
