package reconnect

import (
	"context"
	"sync"
)

// Gate is a chat adapter's door for work from its platform: shut until Run
// has connected and checked the rooms (Open), open while Run serves, shut
// again when Run returns (Close). It also tells /readyz and the metrics
// whether the adapter takes events (Connected) and, when not, why (Reason,
// from the adapter's connection State).
//
// Work is let in by Admit, which holds the gate's lock while it queues the
// work; Close takes the same lock to shut the gate before it waits for the
// queue. So nothing is let in once Close has shut the gate, and whatever
// was let in before is in the queue by then and done before Close returns.
type Gate struct {
	state *State
	// work is where admitted work is queued; Close waits for it.
	work interface{ Wait() }

	started   chan struct{}
	startOnce sync.Once
	// background is what Go started; Close stops it and waits for it.
	background sync.WaitGroup

	mu   sync.Mutex
	open bool
	// base is Open's context, under which admitted work runs. It stays
	// after Close: work still queued then finishes under it.
	base context.Context
	// backgroundCtx ends at Close (or with base).
	backgroundCtx  context.Context
	stopBackground context.CancelFunc
}

// NewGate returns a shut gate reporting state, for work queued on work
// (an adapter's per-conversation queues).
func NewGate(state *State, work interface{ Wait() }) *Gate {
	return &Gate{state: state, work: work, started: make(chan struct{})}
}

// Open lets work in, to run under base (Run's context), and closes Started
// the first time.
func (g *Gate) Open(base context.Context) {
	g.mu.Lock()
	g.open, g.base = true, base
	g.backgroundCtx, g.stopBackground = context.WithCancel(base)
	g.mu.Unlock()
	g.startOnce.Do(func() { close(g.started) })
}

// Close shuts the gate and marks the connection stopped, then stops the
// work Go started and waits for it, and last waits for the admitted work.
func (g *Gate) Close() {
	g.mu.Lock()
	g.open = false
	stop := g.stopBackground
	g.mu.Unlock()
	g.state.Down("stopped", "")
	if stop != nil {
		stop()
	}
	g.background.Wait()
	g.work.Wait()
}

// Started is closed once the gate has opened.
func (g *Gate) Started() <-chan struct{} { return g.started }

// Go runs fn in the background while the gate is open: its context ends
// at Close (or with Open's context), and Close waits for fn to return. It
// reports false, and does not run fn, while the gate is shut.
func (g *Gate) Go(fn func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		return false
	}
	ctx := g.backgroundCtx
	g.background.Go(func() { fn(ctx) })
	return true
}

// Admit lets work in: while the gate is open it calls queue with the
// context the work runs under, holding the gate's lock so that Close waits
// for the work queue queues (see Gate). queue must only queue, not wait.
// It reports false, and does not call queue, while the gate is shut.
func (g *Gate) Admit(queue func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		return false
	}
	queue(g.base)
	return true
}

// Base is the context admitted work runs under and whether the gate is
// open now, for work that is not queued (a check, a send, a form
// submission with its own deadline).
func (g *Gate) Base() (ctx context.Context, open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.base, g.open
}

// Connected reports whether the adapter takes events: the gate is open and
// the connection works.
func (g *Gate) Connected() bool {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	return open && g.state.Connected()
}

// Reason says why the adapter is not connected, for /readyz; empty when
// the connection works.
func (g *Gate) Reason() string { return g.state.Reason() }
