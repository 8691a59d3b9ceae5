package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWithTimeoutFollowsTheFakeClock(t *testing.T) {
	f := NewFake(start)
	ctx, cancel := WithTimeout(context.Background(), f, time.Minute)
	defer cancel()
	f.Advance(59 * time.Second)
	select {
	case <-ctx.Done():
		t.Fatal("ended before its deadline")
	default:
	}
	f.Advance(time.Second)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second): // the watcher goroutine; not a timing target
		t.Fatal("did not end at its deadline")
	}
	if !errors.Is(context.Cause(ctx), ErrDeadline) || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Errorf("cause = %v, want ErrDeadline", context.Cause(ctx))
	}
}

func TestDetachedOutlivesItsParentByTheGraceOnly(t *testing.T) {
	f := NewFake(start)
	parent, stop := context.WithCancel(context.Background())
	ctx, cancel := Detached(parent, f, 10*time.Second)
	defer cancel()
	stop()
	select {
	case <-ctx.Done():
		t.Fatal("ended with its parent, before the grace")
	default:
	}
	// The grace timer is set by a goroutine once it sees the parent end:
	// move time until it fires.
	deadline := time.Now().Add(5 * time.Second)
	for ctx.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatal("did not end after the grace")
		}
		f.Advance(time.Second)
		time.Sleep(time.Millisecond) // let the watcher goroutine run
	}
	if f.Now().Sub(start) < 10*time.Second {
		t.Errorf("ended %s after the parent, before the 10s grace", f.Now().Sub(start))
	}
}
