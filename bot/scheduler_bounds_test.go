package bot_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/bottest"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/store"
)

// Issue 14, item 8: one failing job (a store blip, a panic) does not make
// the rest of its claimed batch wait out the 5-minute hold.
func TestAFailingJobDoesNotHoldUpItsBatch(t *testing.T) {
	h := bottest.New(t, bottest.Options{})
	ctx := context.Background()
	var ran runLog
	h.Engine.HandleJob("work", func(_ context.Context, j bot.Job) error {
		ran.add(j.ID)
		switch j.ID {
		case "a-store-blip":
			if j.Attempt == 0 {
				return fmt.Errorf("load report: %w", store.ErrUnavailable)
			}
		case "b-panics":
			if j.Attempt == 0 {
				panic("nil map")
			}
		}
		return nil
	})
	for _, id := range []string{"a-store-blip", "b-panics", "c-fine"} {
		if err := h.Engine.Scheduler().Schedule(ctx, bot.Job{ID: id, Kind: "work", Due: bottest.Start}); err != nil {
			t.Fatal(err)
		}
	}
	h.Engine.Step(ctx)
	if got := fmt.Sprint(ran.all()); got != "[a-store-blip b-panics c-fine]" {
		t.Fatalf("first round ran %s; want all three, the failures not stopping the batch", got)
	}
	h.Advance(30 * time.Second) // backoff: 10 seconds
	if pending, _ := h.Engine.Scheduler().Pending(ctx, 10); len(pending) != 0 {
		t.Errorf("still pending after the retries: %+v", pending)
	}
	if n := len(ran.all()); n != 5 {
		t.Errorf("%d runs, want 5 (three, then the two retries): %v", n, ran.all())
	}
}

// Issue 14, item 8: a job runs under a deadline shorter than its claim,
// so it has ended before any other replica could claim it again.
func TestAJobIsBoundedByItsTimeout(t *testing.T) {
	st := bottest.OpenStore(t)
	clk := clock.NewFake(bottest.Start)
	// a long lease keeps a the leader: this test is about the job's own
	// bound, and b stands for a replica that has just become leader.
	a := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "replica-a", LeaseTTL: time.Hour})
	b := bottest.New(t, bottest.Options{Store: st, Clock: clk, Instance: "replica-b", LeaseTTL: time.Hour})
	ctx := context.Background()
	var active, maxActive, runs atomic.Int32
	entered := make(chan struct{}, 4)
	var causes []error
	var mu sync.Mutex
	handler := func(ctx context.Context, _ bot.Job) error {
		first := runs.Add(1) == 1
		n := active.Add(1)
		defer active.Add(-1)
		if n > maxActive.Load() {
			maxActive.Store(n)
		}
		if !first {
			return nil
		}
		entered <- struct{}{}
		<-ctx.Done() // a stuck call that honours its context
		mu.Lock()
		causes = append(causes, context.Cause(ctx))
		mu.Unlock()
		return ctx.Err()
	}
	a.Engine.HandleJob("slow", handler)
	b.Engine.HandleJob("slow", handler)
	if err := a.Engine.Scheduler().Schedule(ctx, bot.Job{ID: "sync-advisories", Kind: "slow", Due: bottest.Start}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); a.Engine.Step(ctx) }()
	waitFor(t, entered, "the job to start")
	// Three minutes in, a new leader (b) looking for due jobs must not
	// get it: the job's claim outlasts its deadline.
	clk.Advance(3 * time.Minute)
	if n, err := b.Engine.Scheduler().RunDue(ctx); n != 0 || err != nil {
		t.Fatalf("b ran %d jobs (%v) while a's run was under way", n, err)
	}
	if runs.Load() != 1 {
		t.Fatalf("the job ran %d times while the first run was under way", runs.Load())
	}
	clk.Advance(bot.DefaultJobTimeout - 3*time.Minute)
	waitFor(t, done, "the job to end at its timeout")
	mu.Lock()
	if len(causes) != 1 || !errors.Is(causes[0], clock.ErrDeadline) {
		t.Errorf("the job's context ended with %v, want its deadline", causes)
	}
	mu.Unlock()
	for range 6 {
		clk.Advance(10 * time.Second)
		a.Engine.Step(ctx)
		if _, err := b.Engine.Scheduler().RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if runs.Load() != 2 || maxActive.Load() != 1 {
		t.Errorf("runs %d (want the timed-out run and one retry), at most %d at once (want 1)", runs.Load(), maxActive.Load())
	}
}

// leaseWatch counts renewals of the scheduler lease by one holder.
type leaseWatch struct {
	store.Store
	holder   string
	renewals atomic.Int32
}

func (l *leaseWatch) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	ok, err := l.Store.AcquireLease(ctx, name, holder, now, ttl)
	if name == "scheduler" && holder == l.holder && ok {
		l.renewals.Add(1)
	}
	return ok, err
}

// Issue 14, item 8: the scheduler lease is renewed while a long job runs,
// so no second replica becomes leader (and runs other jobs) meanwhile.
func TestTheSchedulerLeaseIsRenewedWhileAJobRuns(t *testing.T) {
	base := bottest.OpenStore(t)
	watch := &leaseWatch{Store: base, holder: "replica-a"}
	clk := clock.NewFake(bottest.Start)
	ttl := 15 * time.Second
	a := bottest.New(t, bottest.Options{Store: watch, Clock: clk, Instance: "replica-a", LeaseTTL: ttl})
	b := bottest.New(t, bottest.Options{Store: base, Clock: clk, Instance: "replica-b", LeaseTTL: ttl})
	ctx := context.Background()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	var bRan atomic.Int32
	a.Engine.HandleJob("long", func(ctx context.Context, _ bot.Job) error {
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	b.Engine.HandleJob("long", func(context.Context, bot.Job) error { bRan.Add(1); return nil })
	b.Engine.HandleJob("quick", func(context.Context, bot.Job) error { bRan.Add(1); return nil })
	a.Engine.HandleJob("quick", func(context.Context, bot.Job) error { return nil })
	_ = a.Engine.Scheduler().Schedule(ctx, bot.Job{ID: "long-1", Kind: "long", Due: bottest.Start})
	_ = a.Engine.Scheduler().Schedule(ctx, bot.Job{ID: "quick-1", Kind: "quick", Due: bottest.Start.Add(30 * time.Second)})
	done := make(chan struct{})
	go func() { defer close(done); a.Engine.Step(ctx) }()
	waitFor(t, entered, "the long job to start")
	// A minute of job, in steps of a third of the TTL; after each step
	// wait for a's renewal (its own goroutine) before b tries.
	for range 12 {
		before := watch.renewals.Load()
		clk.Advance(ttl / 3)
		deadline := time.Now().Add(10 * time.Second) // bounds a hang only
		for watch.renewals.Load() == before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // waiting on a's renewer goroutine
		}
		b.Engine.Step(ctx)
		if holder, _ := base.LeaseHolder(ctx, "scheduler", clk.Now()); holder != "replica-a" {
			t.Fatalf("at %s the lease holder is %q; a is still running its job", clk.Now().Sub(bottest.Start), holder)
		}
	}
	if bRan.Load() != 0 {
		t.Errorf("b ran %d jobs while a held the lease", bRan.Load())
	}
	close(release)
	waitFor(t, done, "the long job to finish")
}
