package main

import (
	"context"
	"errors"
	"sync"
)

// runGroup runs parts of Vigil side by side. The first part to fail
// cancels the context of the others, so Vigil stops as a whole, and every
// part's error is kept: when several fail (a port lost while an adapter's
// token is refused, or a shutdown that fails after the failure that caused
// it), the operator sees each cause, not only whichever came first.
type runGroup struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

func newRunGroup(ctx context.Context) *runGroup {
	ctx, cancel := context.WithCancel(ctx)
	return &runGroup{ctx: ctx, cancel: cancel}
}

// Context is the parts' context: it ends when a part fails, when the
// parent ends or on Stop.
func (g *runGroup) Context() context.Context { return g.ctx }

// Go runs part until it returns; an error cancels the other parts.
func (g *runGroup) Go(part func(context.Context) error) {
	g.wg.Go(func() {
		if err := part(g.ctx); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
			g.cancel()
		}
	})
}

// Wait waits for every part to return and returns their errors joined,
// in the order they failed.
func (g *runGroup) Wait() error {
	g.wg.Wait()
	g.cancel()
	return errors.Join(g.errs...)
}

// Stop cancels the parts, then waits as Wait does.
func (g *runGroup) Stop() error {
	g.cancel()
	return g.Wait()
}
