package clock

import (
	"context"
	"fmt"
	"time"
)

// ErrDeadline is the cause of a context ended by WithTimeout.
var ErrDeadline = fmt.Errorf("clock deadline: %w", context.DeadlineExceeded)

// WithTimeout is context.WithTimeout on c: the context ends when c's timer
// for d fires (a Fake fires it when the test moves time past it), so
// deadlines of sends and jobs can be rehearsed without waiting. Its cause
// (context.Cause) is ErrDeadline, and ctx.Err() is context.Canceled, as
// with any cancellation; callers that must tell the two apart use Cause.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	t := c.NewTimer(d)
	go func() {
		defer t.Stop()
		select {
		case <-t.C():
			cancel(ErrDeadline)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// Detached returns a context that outlives parent's cancellation by at
// most grace on c: while parent lives, so does it; once parent ends, it
// ends grace later (or when cancelled). Work that must finish once started
// (a send and its record, on SIGTERM) runs under it, so a shutdown is
// bounded but does not cut the work in half.
func Detached(parent context.Context, c Clock, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-parent.Done():
		}
		t := c.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C():
			cancel(fmt.Errorf("shutdown grace of %s over: %w", grace, context.Cause(parent)))
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
