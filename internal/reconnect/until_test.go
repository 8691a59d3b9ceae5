package reconnect

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// Until waits out failures that may pass, honours a longer wait the
// service asked for, says why on the state, and stops at a final error.
func TestUntilRetriesTransientAndStopsAtFinal(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	s := NewState(fake)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tries := 0
	done := make(chan error, 1)
	go func() {
		done <- Until(context.Background(), fake, s, Backoff{Min: time.Second, Max: time.Minute}, log, "Chat", "connecting", func(context.Context) error {
			tries++
			switch tries {
			case 1:
				return &Transient{Cause: "login: connection refused"}
			case 2:
				return &Transient{Cause: "login: HTTP 429", After: 30 * time.Second}
			case 3:
				return nil
			}
			return errors.New("tried again after success")
		})
	}()
	waitReason := func(want string) {
		t.Helper()
		for i := 0; !strings.Contains(s.Reason(), want); i++ {
			if i > 1000 {
				t.Fatalf("reason %q, want %q", s.Reason(), want)
			}
			time.Sleep(time.Millisecond) // another goroutine arms the timer
		}
	}
	waitReason("connecting (login: connection refused), next try in 1s")
	fake.Advance(time.Second)
	waitReason("connecting (login: HTTP 429), next try in 30s") // not the backoff's 2s
	fake.Advance(30 * time.Second)
	if err := <-done; err != nil || tries != 3 {
		t.Fatalf("Until = %v after %d tries, want nil after 3", err, tries)
	}

	final := errors.New("token refused")
	err := Until(context.Background(), fake, s, Backoff{}, log, "Chat", "connecting", func(context.Context) error { return final })
	if !errors.Is(err, final) {
		t.Errorf("a final error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Until(ctx, fake, s, Backoff{}, log, "Chat", "connecting", func(context.Context) error { return &Transient{Cause: "x"} })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
