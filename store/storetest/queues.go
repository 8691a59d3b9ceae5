package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

func ms(d int) time.Time { return t0.Add(time.Duration(d) * time.Millisecond) }

func keysOf(cs []store.Claim) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Key
	}
	return out
}

func testQueues(t *testing.T, fresh opener) {
	ctx := context.Background()
	hold := time.Minute
	t.Run("EmptyQueue", func(t *testing.T) {
		s := fresh(t)
		_, ok, err := s.NextDue(ctx, "q")
		must(t, "NextDue", err)
		if ok {
			t.Fatal("NextDue on empty queue: ok")
		}
		p, err := s.Pending(ctx, "q", 10)
		must(t, "Pending", err)
		if len(p) != 0 {
			t.Fatalf("Pending = %v", p)
		}
		c, err := s.ClaimDue(ctx, "q", t0, hold, 10)
		must(t, "ClaimDue", err)
		if len(c) != 0 {
			t.Fatalf("ClaimDue = %v", c)
		}
		must(t, "Unschedule missing", s.Unschedule(ctx, "q", "nope"))
		done, err := s.Complete(ctx, "q", store.Claim{Key: "nope", Due: t0, ClaimedUntil: t0.Add(hold)})
		must(t, "Complete missing", err)
		if done {
			t.Fatal("Complete of a missing item reported removal")
		}
	})
	t.Run("EarliestFirstAndLimit", func(t *testing.T) {
		s := fresh(t)
		due := map[string]time.Time{"c": ms(3000), "a": ms(1000), "b": ms(2000), "late": ms(60_000), "a2": ms(1000)}
		for k, d := range due {
			must(t, "Schedule "+k, s.Schedule(ctx, "q", k, d))
		}
		p, err := s.Pending(ctx, "q", 10)
		must(t, "Pending", err)
		wantP := []store.DueItem{di("a", ms(1000)), di("a2", ms(1000)), di("b", ms(2000)), di("c", ms(3000)), di("late", ms(60_000))}
		if !equalItems(p, wantP) {
			t.Fatalf("Pending = %v, want %v", p, wantP)
		}
		p, err = s.Pending(ctx, "q", 2)
		must(t, "Pending 2", err)
		if !equalItems(p, wantP[:2]) {
			t.Fatalf("Pending(2) = %v", p)
		}
		it, ok, err := s.NextDue(ctx, "q")
		must(t, "NextDue", err)
		if !ok || it.Key != "a" || !it.Due.Equal(ms(1000)) {
			t.Fatalf("NextDue = %v %v", it, ok)
		}
		// Nothing is due before the first due time.
		c, err := s.ClaimDue(ctx, "q", ms(999), hold, 10)
		must(t, "ClaimDue early", err)
		if len(c) != 0 {
			t.Fatalf("claimed before due: %v", c)
		}
		// "At or before now": the boundary is inclusive.
		now := ms(3000)
		c, err = s.ClaimDue(ctx, "q", now, hold, 2)
		must(t, "ClaimDue", err)
		if got := keysOf(c); !slices.Equal(got, []string{"a", "a2"}) {
			t.Fatalf("claimed %q, want a, a2", got)
		}
		for _, cl := range c {
			if !cl.Due.Equal(due[cl.Key]) || !cl.ClaimedUntil.Equal(now.Add(hold)) {
				t.Fatalf("claim %+v: want due %v until %v", cl, due[cl.Key], now.Add(hold))
			}
		}
		c, err = s.ClaimDue(ctx, "q", now, hold, 10)
		must(t, "ClaimDue rest", err)
		if got := keysOf(c); !slices.Equal(got, []string{"b", "c"}) {
			t.Fatalf("claimed %q, want b, c", got)
		}
		c, err = s.ClaimDue(ctx, "q", now, hold, 10)
		must(t, "ClaimDue again", err)
		if len(c) != 0 {
			t.Fatalf("claimed held items again: %v", c)
		}
		c, err = s.ClaimDue(ctx, "q", now, hold, 0)
		must(t, "ClaimDue limit 0", err)
		if len(c) != 0 {
			t.Fatalf("limit 0 claimed %v", c)
		}
	})
	t.Run("HoldExpires", func(t *testing.T) {
		s := fresh(t)
		must(t, "Schedule", s.Schedule(ctx, "q", "job", ms(0)))
		c1, err := s.ClaimDue(ctx, "q", ms(500), hold, 10)
		must(t, "ClaimDue", err)
		if len(c1) != 1 {
			t.Fatalf("claims = %v", c1)
		}
		until := ms(500).Add(hold)
		// A held item is still in the queue, and falls due again at
		// ClaimedUntil.
		it, ok, err := s.NextDue(ctx, "q")
		must(t, "NextDue held", err)
		if !ok || it.Key != "job" || !it.Due.Equal(until) {
			t.Fatalf("NextDue while held = %v %v, want job at %v", it, ok, until)
		}
		c, err := s.ClaimDue(ctx, "q", until.Add(-time.Millisecond), hold, 10)
		must(t, "ClaimDue just before hold ends", err)
		if len(c) != 0 {
			t.Fatalf("claimed while held: %v", c)
		}
		// The worker "crashed": at ClaimedUntil the item is claimable again,
		// still carrying its original due time.
		c2, err := s.ClaimDue(ctx, "q", until, hold, 10)
		must(t, "ClaimDue after hold", err)
		if len(c2) != 1 || c2[0].Key != "job" || !c2[0].Due.Equal(ms(0)) || !c2[0].ClaimedUntil.Equal(until.Add(hold)) {
			t.Fatalf("re-claim = %+v", c2)
		}
		// The first claim is stale: completing it must not remove the item
		// now held by the second.
		done, err := s.Complete(ctx, "q", c1[0])
		must(t, "Complete stale", err)
		if done {
			t.Fatal("stale claim completed the item")
		}
		done, err = s.Complete(ctx, "q", c2[0])
		must(t, "Complete", err)
		if !done {
			t.Fatal("current claim did not complete the item")
		}
		done, err = s.Complete(ctx, "q", c2[0])
		must(t, "Complete twice", err)
		if done {
			t.Fatal("second Complete reported removal")
		}
		_, ok, err = s.NextDue(ctx, "q")
		must(t, "NextDue", err)
		if ok {
			t.Fatal("queue not empty after Complete")
		}
	})
	t.Run("RescheduleDuringClaim", func(t *testing.T) {
		s := fresh(t)
		must(t, "Schedule", s.Schedule(ctx, "q", "job", ms(0)))
		c, err := s.ClaimDue(ctx, "q", ms(0), hold, 1)
		must(t, "ClaimDue", err)
		if len(c) != 1 {
			t.Fatalf("claims = %v", c)
		}
		// The handler (or someone else) moves the job while it is held.
		next := ms(0).Add(24 * time.Hour)
		must(t, "Schedule again", s.Schedule(ctx, "q", "job", next))
		done, err := s.Complete(ctx, "q", c[0])
		must(t, "Complete", err)
		if done {
			t.Fatal("Complete removed a rescheduled item")
		}
		it, ok, err := s.NextDue(ctx, "q")
		must(t, "NextDue", err)
		if !ok || it.Key != "job" || !it.Due.Equal(next) {
			t.Fatalf("NextDue = %v %v, want job at %v", it, ok, next)
		}
		// Rescheduling ends the hold: at the new time the item is
		// claimable even though the old hold would still run.
		must(t, "Schedule sooner", s.Schedule(ctx, "q", "job", ms(10)))
		c2, err := s.ClaimDue(ctx, "q", ms(10), hold, 1)
		must(t, "ClaimDue rescheduled", err)
		if len(c2) != 1 || !c2[0].Due.Equal(ms(10)) {
			t.Fatalf("claims after reschedule = %+v", c2)
		}
	})
	t.Run("Unschedule", func(t *testing.T) {
		s := fresh(t)
		must(t, "Schedule a", s.Schedule(ctx, "q", "a", ms(0)))
		must(t, "Schedule b", s.Schedule(ctx, "q", "b", ms(1)))
		must(t, "Schedule other queue", s.Schedule(ctx, "q2", "a", ms(0)))
		c, err := s.ClaimDue(ctx, "q", ms(5), hold, 1)
		must(t, "ClaimDue", err)
		must(t, "Unschedule a", s.Unschedule(ctx, "q", "a"))
		done, err := s.Complete(ctx, "q", c[0])
		must(t, "Complete unscheduled", err)
		if done {
			t.Fatal("Complete reported removing an unscheduled item")
		}
		p, err := s.Pending(ctx, "q", 10)
		must(t, "Pending", err)
		if !equalItems(p, []store.DueItem{di("b", ms(1))}) {
			t.Fatalf("Pending = %v", p)
		}
		p, err = s.Pending(ctx, "q2", 10)
		must(t, "Pending q2", err)
		if !equalItems(p, []store.DueItem{di("a", ms(0))}) {
			t.Fatalf("Pending q2 = %v", p)
		}
	})
	t.Run("MoveEarlierAndLater", func(t *testing.T) {
		s := fresh(t)
		must(t, "Schedule", s.Schedule(ctx, "q", "x", ms(5000)))
		must(t, "Schedule", s.Schedule(ctx, "q", "y", ms(3000)))
		must(t, "move x earlier", s.Schedule(ctx, "q", "x", ms(1000)))
		p, err := s.Pending(ctx, "q", 10)
		must(t, "Pending", err)
		if !equalItems(p, []store.DueItem{di("x", ms(1000)), di("y", ms(3000))}) {
			t.Fatalf("Pending = %v", p)
		}
		must(t, "move x later", s.Schedule(ctx, "q", "x", ms(9000)))
		c, err := s.ClaimDue(ctx, "q", ms(5000), hold, 10)
		must(t, "ClaimDue", err)
		if got := keysOf(c); !slices.Equal(got, []string{"y"}) {
			t.Fatalf("claimed %q, want y", got)
		}
	})
	t.Run("PastAndFarFuture", func(t *testing.T) {
		s := fresh(t)
		past := time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)
		future := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
		must(t, "Schedule future", s.Schedule(ctx, "q", "future", future))
		must(t, "Schedule past", s.Schedule(ctx, "q", "past", past))
		must(t, "Schedule now", s.Schedule(ctx, "q", "now", t0))
		p, err := s.Pending(ctx, "q", 10)
		must(t, "Pending", err)
		if !equalItems(p, []store.DueItem{di("past", past), di("now", t0), di("future", future)}) {
			t.Fatalf("Pending = %v", p)
		}
	})
	t.Run("ConcurrentClaims", func(t *testing.T) {
		s := fresh(t)
		const n, workers = 500, 8
		for i := range n {
			must(t, "Schedule", s.Schedule(ctx, "q", fmt.Sprintf("item-%03d", i), ms(i)))
		}
		var (
			mu     sync.Mutex
			counts = map[string]int{}
			wg     sync.WaitGroup
			errs   = make(chan error, workers)
		)
		now := ms(n)
		for range workers {
			wg.Go(func() {
				for {
					cs, err := s.ClaimDue(ctx, "q", now, hold, 7)
					if err != nil {
						errs <- err
						return
					}
					if len(cs) == 0 {
						return
					}
					mu.Lock()
					for _, c := range cs {
						counts[c.Key]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(counts) != n {
			t.Fatalf("%d distinct items claimed, want %d", len(counts), n)
		}
		for k, c := range counts {
			if c != 1 {
				t.Errorf("%s claimed %d times", k, c)
			}
		}
	})
	t.Run("ConcurrentCompleteAndClaim", func(t *testing.T) {
		// Workers claim, complete, and race a re-claim after the hold:
		// every item is completed exactly once.
		s := fresh(t)
		const n, workers = 200, 4
		for i := range n {
			must(t, "Schedule", s.Schedule(ctx, "q", fmt.Sprintf("k%03d", i), ms(0)))
		}
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			completed = map[string]int{}
			errs      = make(chan error, workers)
		)
		for w := range workers {
			wg.Go(func() {
				// Each worker looks at a later "now", so holds of earlier
				// workers run out and items get re-claimed.
				now := ms(0).Add(time.Duration(w) * hold)
				for {
					cs, err := s.ClaimDue(ctx, "q", now, hold, 5)
					if err != nil {
						errs <- err
						return
					}
					if len(cs) == 0 {
						return
					}
					for _, c := range cs {
						ok, err := s.Complete(ctx, "q", c)
						if err != nil {
							errs <- err
							return
						}
						if ok {
							mu.Lock()
							completed[c.Key]++
							mu.Unlock()
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for k, c := range completed {
			if c != 1 {
				t.Errorf("%s completed %d times", k, c)
			}
		}
		if len(completed) != n {
			p, _ := s.Pending(ctx, "q", n)
			t.Fatalf("%d items completed, want %d; left: %v", len(completed), n, p)
		}
	})
	t.Run("Arguments", func(t *testing.T) {
		s := fresh(t)
		_, err := s.ClaimDue(ctx, "q", t0, 0, 1)
		wantIs(t, "ClaimDue hold 0", err, store.ErrInvalid)
		_, err = s.ClaimDue(ctx, "q", t0, hold, -1)
		wantIs(t, "ClaimDue limit -1", err, store.ErrInvalid)
		_, err = s.Pending(ctx, "q", -1)
		wantIs(t, "Pending -1", err, store.ErrInvalid)
		p, err := s.Pending(ctx, "q", 0)
		must(t, "Pending 0", err)
		if len(p) != 0 {
			t.Fatalf("Pending(0) = %v", p)
		}
	})
}

func equalItems(a, b []store.DueItem) bool {
	return slices.EqualFunc(a, b, func(x, y store.DueItem) bool { return x.Key == y.Key && x.Due.Equal(y.Due) })
}

func di(key string, due time.Time) store.DueItem { return store.DueItem{Key: key, Due: due} }
