package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func TestFakeAdvanceFiresDueTimersInOrder(t *testing.T) {
	f := NewFake(start)
	late := f.NewTimer(3 * time.Hour)
	early := f.NewTimer(1 * time.Hour)
	never := f.NewTimer(48 * time.Hour)

	f.Advance(36 * time.Hour)

	if got := <-early.C(); !got.Equal(start.Add(time.Hour)) {
		t.Errorf("early timer saw %v, want %v", got, start.Add(time.Hour))
	}
	if got := <-late.C(); !got.Equal(start.Add(3 * time.Hour)) {
		t.Errorf("late timer saw %v, want %v", got, start.Add(3*time.Hour))
	}
	select {
	case <-never.C():
		t.Fatal("timer due at +48h fired at +36h")
	default:
	}
	if !f.Now().Equal(start.Add(36 * time.Hour)) {
		t.Errorf("Now() = %v after Advance(36h)", f.Now())
	}
}

func TestFakeStopPreventsFiring(t *testing.T) {
	f := NewFake(start)
	tm := f.NewTimer(time.Minute)
	if !tm.Stop() {
		t.Fatal("Stop on a pending timer returned false")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if tm.Stop() {
		t.Error("second Stop returned true")
	}
}

func TestFakeNeverRunsBackwards(t *testing.T) {
	f := NewFake(start)
	f.Set(start.Add(-time.Hour))
	if !f.Now().Equal(start) {
		t.Errorf("Set into the past moved the clock to %v", f.Now())
	}
}

func TestSleepReturnsWhenContextEnds(t *testing.T) {
	f := NewFake(start)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, f, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestSleepWakesOnAdvance(t *testing.T) {
	f := NewFake(start)
	done := make(chan error)
	go func() { done <- Sleep(context.Background(), f, time.Hour) }()
	// The sleeper registers its timer asynchronously; advance until it wakes.
	for i := 0; ; i++ {
		f.Advance(time.Hour)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(time.Millisecond):
			if i > 5000 {
				t.Fatal("Sleep never woke up")
			}
		}
	}
}
