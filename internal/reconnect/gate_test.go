package reconnect

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// queue stands in for an adapter's per-conversation queues: work is queued
// and done later, and Wait returns once all of it is done.
type queue struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	done []string
}

func (q *queue) add(what string, release <-chan struct{}) {
	q.wg.Go(func() {
		<-release
		q.mu.Lock()
		q.done = append(q.done, what)
		q.mu.Unlock()
	})
}

func (q *queue) Wait() { q.wg.Wait() }

// The gate lets work in only between Open and Close, under Open's context,
// and Close returns only after the work let in and the background work are
// done.
func TestGateAdmitsWhileOpenAndCloseWaitsForTheWork(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	state := NewState(fake)
	var q queue
	g := NewGate(state, &q)
	if g.Admit(func(context.Context) { t.Error("queued before Open") }) {
		t.Error("Admit before Open reported true")
	}
	if g.Go(func(context.Context) { t.Error("background before Open") }) {
		t.Error("Go before Open reported true")
	}
	select {
	case <-g.Started():
		t.Fatal("started before Open")
	default:
	}

	type key struct{}
	base := context.WithValue(context.Background(), key{}, "run")
	state.Up()
	g.Open(base)
	<-g.Started()
	if !g.Connected() || g.Reason() != "" {
		t.Errorf("open and up: %v %q", g.Connected(), g.Reason())
	}
	release := make(chan struct{})
	if !g.Admit(func(ctx context.Context) {
		if ctx.Value(key{}) != "run" {
			t.Error("admitted work does not run under Open's context")
		}
		q.add("event", release)
	}) {
		t.Fatal("Admit while open reported false")
	}
	stopped := make(chan struct{})
	g.Go(func(ctx context.Context) {
		<-ctx.Done() // ends at Close
		close(stopped)
	})

	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	<-stopped
	for {
		if _, open := g.Base(); !open {
			break
		}
		time.Sleep(time.Millisecond) // Close runs in another goroutine
	}
	if g.Admit(func(context.Context) { t.Error("queued after Close") }) {
		t.Error("Admit after Close reported true")
	}
	select {
	case <-closed:
		t.Fatal("Close returned before the admitted work was done")
	default:
	}
	close(release)
	<-closed
	if len(q.done) != 1 {
		t.Errorf("done %v, want the admitted event", q.done)
	}
	if g.Connected() || g.Reason() != "stopped" {
		t.Errorf("closed: %v %q", g.Connected(), g.Reason())
	}
}
