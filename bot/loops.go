package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/bot/clock"
)

// Run runs the background work until ctx ends, in two loops: one keeps
// the scheduler lease (only the holder runs jobs), runs due jobs and
// refreshes the directory; the other delivers the outbox, at once when a
// message is queued. When ctx ends, a send under way is finished and
// recorded (within Options.ShutdownTimeout) before Run returns, so a clean
// restart posts nothing twice. On return it releases the lease so another
// replica can take over at once.
func (e *Engine) Run(ctx context.Context) error {
	// A Run cancelled before it starts (a scripted console whose input
	// ended at once) fails these loads with context.Canceled: that is the
	// shutdown, not a store problem worth a warning.
	if err := e.LoadPeople(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("could not load people edits from the store; using the configured directory", "err", err)
	}
	if err := e.loadPrivateRooms(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("could not load the private rooms Vigil created", "err", err)
	}
	defer func() {
		// A fresh context: ours is done, but the release must still go out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := e.store.ReleaseLease(rctx, schedulerLease, e.instance); err != nil {
			e.log.Warn("could not release the scheduler lease", "err", err)
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() { e.outboxLoop(ctx) })
	lastPeople := e.clock.Now()
	for {
		e.jobsMu.Lock()
		e.runJobs(ctx)
		e.jobsMu.Unlock()
		if now := e.clock.Now(); now.Sub(lastPeople) >= 30*time.Second {
			lastPeople = now
			if err := e.LoadPeople(ctx); err != nil {
				e.log.Debug("directory refresh failed", "err", err)
			}
			if err := e.loadPrivateRooms(ctx); err != nil && ctx.Err() == nil {
				e.log.Debug("private rooms refresh failed", "err", err)
			}
		}
		if err := clock.Sleep(ctx, e.clock, e.tick); err != nil {
			wg.Wait()
			return nil
		}
	}
}

func (e *Engine) outboxLoop(ctx context.Context) {
	for {
		e.outboxMu.Lock()
		e.flushOutbox(ctx)
		e.outboxMu.Unlock()
		t := e.clock.NewTimer(e.tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-e.wake:
			t.Stop()
		case <-t.C():
		}
	}
}

// wakeUp asks the outbox loop for a round now. After a room is promoted it
// also releases the messages held for it (see rearmHeldIfRoomsChanged).
func (e *Engine) wakeUp() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

const schedulerLease = "scheduler"

// errLeaseLost ends the jobs of a replica that lost the scheduler lease.
var errLeaseLost = errors.New("the scheduler lease was lost")

// Step does one round of background work: renew or take the lease, run due
// jobs if leader, flush due outbox messages. Errors are logged: a store
// that is down now may be back on the next step.
func (e *Engine) Step(ctx context.Context) {
	e.jobsMu.Lock()
	defer e.jobsMu.Unlock()
	e.outboxMu.Lock()
	defer e.outboxMu.Unlock()
	e.step(ctx)
}

func (e *Engine) step(ctx context.Context) {
	e.runJobs(ctx)
	e.flushOutbox(ctx)
}

// runJobs runs due jobs if this replica holds the scheduler lease. The
// lease is renewed while the jobs run (every third of its TTL, on the
// engine clock); if it is lost, the running job's context ends and no
// further job of the batch starts, so a new leader never runs a job this
// replica is still running, as long as the job returns when its context
// ends and this process is not frozen past the job's claim (neither the
// lease nor the claim carries a fencing token).
func (e *Engine) runJobs(ctx context.Context) {
	leader, err := e.store.AcquireLease(ctx, schedulerLease, e.instance, e.clock.Now(), e.leaseTTL)
	if err != nil && ctx.Err() == nil { // errors from a shutdown are no news
		e.log.Warn("scheduler lease", "err", err)
	}
	if !leader {
		return
	}
	lctx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	done := make(chan struct{})
	var renewer sync.WaitGroup
	renewer.Go(func() { e.renewLease(lctx, lose, done) })
	if _, err := e.sched.RunDue(lctx); err != nil && ctx.Err() == nil {
		e.log.Warn("running due jobs", "err", err)
	}
	close(done)
	renewer.Wait()
}

// renewLease keeps the scheduler lease while jobs run, and ends lctx with
// errLeaseLost when another replica holds it or it could not be renewed
// before it ran out.
func (e *Engine) renewLease(lctx context.Context, lose context.CancelCauseFunc, done <-chan struct{}) {
	every := max(e.leaseTTL/3, time.Millisecond)
	heldUntil := e.clock.Now().Add(e.leaseTTL)
	for {
		t := e.clock.NewTimer(every)
		select {
		case <-done:
			t.Stop()
			return
		case <-lctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		now := e.clock.Now()
		ok, err := e.store.AcquireLease(lctx, schedulerLease, e.instance, now, e.leaseTTL)
		switch {
		case err == nil && ok:
			heldUntil = now.Add(e.leaseTTL)
		case err == nil:
			e.log.Warn("another replica took the scheduler lease; stopping the jobs under way")
			lose(errLeaseLost)
			return
		case !now.Before(heldUntil):
			e.log.Warn("could not renew the scheduler lease before it ran out; stopping the jobs under way", "err", err)
			lose(errLeaseLost)
			return
		}
	}
}

func (e *Engine) flushOutbox(ctx context.Context) {
	if _, err := e.outbox.Flush(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("flushing the outbox", "err", err)
	}
}

// AdvanceTo is for fake clocks (the console's --clock and tests): it walks
// the clock forward to target, stopping at each job's due time to run it, so
// jobs run in order and each sees the time it was due. Jobs scheduled by
// jobs inside the window run too.
func (e *Engine) AdvanceTo(ctx context.Context, fake *clock.Fake, target time.Time) error {
	e.jobsMu.Lock()
	defer e.jobsMu.Unlock()
	e.outboxMu.Lock()
	defer e.outboxMu.Unlock()
	const maxSteps = 1_000_000 // a job rescheduling itself at the same instant forever
	for range maxSteps {
		next, ok, err := e.nextWakeup(ctx)
		if err != nil {
			return err
		}
		if !ok || next.After(target) {
			break
		}
		if next.After(fake.Now()) {
			fake.Set(next)
		}
		before := fake.Now()
		e.step(ctx)
		if again, ok, err := e.nextWakeup(ctx); err == nil && ok && !again.After(before) {
			// Something is due but did not run (store trouble or a job that
			// keeps failing without backoff): nudge time forward.
			fake.Set(before.Add(time.Second))
		}
	}
	fake.Set(target)
	e.step(ctx)
	return nil
}

func (e *Engine) nextWakeup(ctx context.Context) (time.Time, bool, error) {
	var best time.Time
	found := false
	for _, q := range []string{jobQueue, outboxQueue} {
		item, ok, err := e.store.NextDue(ctx, q)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("next due in %s: %w", q, err)
		}
		if ok && (!found || item.Due.Before(best)) {
			best, found = item.Due, true
		}
	}
	return best, found, nil
}
