// Package storetest is the conformance suite for store.Store backends.
//
// Every backend runs Run against a fresh store; a behaviour the suite does not
// pin down is a behaviour the engine must not rely on. Besides the contract
// written in store.go, the suite fixes these details so both backends agree:
//
//   - Names (collections, ids, sets, members, queues, keys, leases, logs) are
//     checked with store.ValidName; a bad one gives an error wrapping
//     store.ErrInvalid.
//   - Times are kept at millisecond resolution (Redis sorted-set scores are
//     milliseconds); callers should not expect sub-millisecond precision back.
//   - A negative limit or count is ErrInvalid; zero returns nothing. A hold or
//     ttl that is not positive is ErrInvalid: a zero hold could hand the same
//     claim out twice at one instant, and a zero ttl records nothing.
//   - Put or Delete with an expected version on a missing document fails with
//     an error matching both store.ErrConflict and store.ErrNotFound. Delete
//     with store.NewDoc is ErrInvalid (there is nothing to compare).
//   - NextDue and Pending order items by the time they next become claimable:
//     for an item held by a claim that is ClaimedUntil, because that is when it
//     falls due again. Equal times are ordered by key.
//   - A lease or seen record is live while now is before its expiry; at the
//     expiry instant it has run out.
//   - Reading a log that was never appended to returns no entries, not an
//     error; an `after` id the store could not have made is ErrInvalid.
//   - Apply validates the whole batch before writing anything; a zero Op (not
//     made by a constructor) is ErrInvalid. Its ops see the writes of the
//     earlier ops of the same batch (versions, set members, queue entries).
//     A version conflict is a *store.ConflictError whose Op is the 1-based
//     position of the failing op, wrapped with the backend's context.
//   - Counter names follow store.ValidName; counters start at 0, so the
//     first Incr returns 1.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// t0 is an arbitrary, millisecond-aligned instant; the suite never reads the
// wall clock.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// Run runs the conformance suite. open must return a fresh, empty store for
// every call; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	t.Run("Ping", func(t *testing.T) {
		s := fresh(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if s.Describe() == "" {
			t.Error("Describe is empty")
		}
	})
	t.Run("Documents", func(t *testing.T) { testDocuments(t, fresh) })
	t.Run("Sets", func(t *testing.T) { testSets(t, fresh) })
	t.Run("Queues", func(t *testing.T) { testQueues(t, fresh) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, fresh) })
	t.Run("Seen", func(t *testing.T) { testSeen(t, fresh) })
	t.Run("Logs", func(t *testing.T) { testLogs(t, fresh) })
	t.Run("InvalidNames", func(t *testing.T) { testInvalid(t, fresh) })
	t.Run("Batches", func(t *testing.T) { testBatches(t, fresh) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, fresh) })
}

type opener func(t *testing.T) store.Store

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %q", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testDocuments(t *testing.T, fresh opener) {
	ctx := context.Background()
	t.Run("CreateGet", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Get(ctx, "reports", "r1")
		wantIs(t, "Get missing", err, store.ErrNotFound)
		v, err := s.Put(ctx, "reports", "r1", []byte(`{"a":1}`), store.NewDoc)
		must(t, "Put new", err)
		if v != 1 {
			t.Fatalf("first version = %d, want 1", v)
		}
		d, err := s.Get(ctx, "reports", "r1")
		must(t, "Get", err)
		if d.ID != "r1" || d.Version != 1 || string(d.Data) != `{"a":1}` {
			t.Fatalf("Get = %+v", d)
		}
		// Collections are separate namespaces.
		_, err = s.Get(ctx, "other", "r1")
		wantIs(t, "Get in other collection", err, store.ErrNotFound)
	})
	t.Run("BinaryAndEmptyData", func(t *testing.T) {
		s := fresh(t)
		bin := []byte{0, 1, 2, 0xff, 0, '\n'}
		_, err := s.Put(ctx, "c", "bin", bin, store.NewDoc)
		must(t, "Put binary", err)
		_, err = s.Put(ctx, "c", "empty", nil, store.NewDoc)
		must(t, "Put empty", err)
		d, err := s.Get(ctx, "c", "bin")
		must(t, "Get binary", err)
		if !bytes.Equal(d.Data, bin) {
			t.Fatalf("binary data = %v, want %v", d.Data, bin)
		}
		d, err = s.Get(ctx, "c", "empty")
		must(t, "Get empty", err)
		if len(d.Data) != 0 || d.Version != 1 {
			t.Fatalf("empty doc = %+v", d)
		}
	})
	t.Run("DataIsCopied", func(t *testing.T) {
		s := fresh(t)
		in := []byte("hello")
		_, err := s.Put(ctx, "c", "x", in, store.NewDoc)
		must(t, "Put", err)
		in[0] = 'J'
		d, err := s.Get(ctx, "c", "x")
		must(t, "Get", err)
		if string(d.Data) != "hello" {
			t.Fatalf("stored data changed with the caller's slice: %q", d.Data)
		}
		d.Data[0] = 'Y'
		d2, err := s.Get(ctx, "c", "x")
		must(t, "Get again", err)
		if string(d2.Data) != "hello" {
			t.Fatalf("stored data changed with a returned slice: %q", d2.Data)
		}
	})
	t.Run("CompareAndSwap", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Put(ctx, "c", "x", []byte("v1"), store.NewDoc)
		must(t, "Put new", err)
		_, err = s.Put(ctx, "c", "x", []byte("again"), store.NewDoc)
		wantIs(t, "Put NewDoc on existing", err, store.ErrConflict)
		v, err := s.Put(ctx, "c", "x", []byte("v2"), 1)
		must(t, "Put v1->v2", err)
		if v != 2 {
			t.Fatalf("version = %d, want 2", v)
		}
		_, err = s.Put(ctx, "c", "x", []byte("stale"), 1)
		wantIs(t, "Put stale", err, store.ErrConflict)
		_, err = s.Put(ctx, "c", "x", []byte("future"), 7)
		wantIs(t, "Put future version", err, store.ErrConflict)
		d, err := s.Get(ctx, "c", "x")
		must(t, "Get", err)
		if d.Version != 2 || string(d.Data) != "v2" {
			t.Fatalf("after failed CAS: %+v", d)
		}
		v, err = s.Put(ctx, "c", "x", []byte("any"), store.AnyVersion)
		must(t, "Put AnyVersion", err)
		if v != 3 {
			t.Fatalf("AnyVersion put version = %d, want 3", v)
		}
		v, err = s.Put(ctx, "c", "fresh", []byte("any"), store.AnyVersion)
		must(t, "Put AnyVersion new", err)
		if v != 1 {
			t.Fatalf("AnyVersion create version = %d, want 1", v)
		}
		_, err = s.Put(ctx, "c", "missing", []byte("x"), 4)
		wantIs(t, "Put expected version on missing", err, store.ErrConflict)
		wantIs(t, "Put expected version on missing", err, store.ErrNotFound)
		_, err = s.Put(ctx, "c", "x", []byte("x"), -2)
		wantIs(t, "Put version -2", err, store.ErrInvalid)
	})
	t.Run("Delete", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Put(ctx, "c", "x", []byte("v1"), store.NewDoc)
		must(t, "Put", err)
		_, err = s.Put(ctx, "c", "x", []byte("v2"), 1)
		must(t, "Put", err)
		err = s.Delete(ctx, "c", "x", 1)
		wantIs(t, "Delete stale", err, store.ErrConflict)
		err = s.Delete(ctx, "c", "x", store.NewDoc)
		wantIs(t, "Delete NewDoc", err, store.ErrInvalid)
		must(t, "Delete current", s.Delete(ctx, "c", "x", 2))
		_, err = s.Get(ctx, "c", "x")
		wantIs(t, "Get deleted", err, store.ErrNotFound)
		must(t, "Delete missing AnyVersion", s.Delete(ctx, "c", "x", store.AnyVersion))
		err = s.Delete(ctx, "c", "x", 2)
		wantIs(t, "Delete missing with version", err, store.ErrNotFound)
		wantIs(t, "Delete missing with version", err, store.ErrConflict)
		// Re-creating after delete starts over at version 1.
		v, err := s.Put(ctx, "c", "x", []byte("again"), store.NewDoc)
		must(t, "re-create", err)
		if v != 1 {
			t.Fatalf("re-created version = %d, want 1", v)
		}
		_, err = s.Put(ctx, "c", "y", nil, store.NewDoc)
		must(t, "Put y", err)
		must(t, "Delete AnyVersion", s.Delete(ctx, "c", "y", store.AnyVersion))
		ids, err := s.List(ctx, "c")
		must(t, "List", err)
		if !slices.Equal(ids, []string{"x"}) {
			t.Fatalf("List after deletes = %q", ids)
		}
	})
	t.Run("List", func(t *testing.T) {
		s := fresh(t)
		ids, err := s.List(ctx, "empty")
		must(t, "List empty", err)
		if len(ids) != 0 {
			t.Fatalf("List of empty collection = %q", ids)
		}
		for _, id := range []string{"m", "a", "z", "b:1", "B", "a/b"} {
			_, err := s.Put(ctx, "c", id, []byte(id), store.NewDoc)
			must(t, "Put "+id, err)
		}
		_, err = s.Put(ctx, "c2", "other", nil, store.NewDoc)
		must(t, "Put other", err)
		ids, err = s.List(ctx, "c")
		must(t, "List", err)
		want := []string{"B", "a", "a/b", "b:1", "m", "z"}
		if !slices.Equal(ids, want) {
			t.Fatalf("List = %q, want %q", ids, want)
		}
	})
	t.Run("NamesWithSeparators", func(t *testing.T) {
		// Backends build keys from names; names containing the
		// backends' separators must not collide.
		s := fresh(t)
		pairs := [][2]string{{"a", "b:c"}, {"a:b", "c"}, {"a}", "b"}, {"a", "}b"}, {"{a}", "b"}, {"a", "ids"},
			{"a:d:b", "c"}, {"a", "b:d:c"}, {"a%3Ad%3Ab", "c"}}
		for i, p := range pairs {
			_, err := s.Put(ctx, p[0], p[1], []byte{byte(i)}, store.NewDoc)
			must(t, fmt.Sprintf("Put %q/%q", p[0], p[1]), err)
		}
		for i, p := range pairs {
			d, err := s.Get(ctx, p[0], p[1])
			must(t, "Get", err)
			if !bytes.Equal(d.Data, []byte{byte(i)}) {
				t.Errorf("%q/%q holds %v, want %v", p[0], p[1], d.Data, []byte{byte(i)})
			}
		}
		ids, err := s.List(ctx, "a")
		must(t, "List", err)
		if want := []string{"b:c", "b:d:c", "ids", "}b"}; !slices.Equal(ids, want) {
			t.Errorf("List a = %q, want %q", ids, want)
		}
	})
	t.Run("ConcurrentCAS", func(t *testing.T) {
		// Many writers incrementing one counter by CAS must lose no update.
		s := fresh(t)
		_, err := s.Put(ctx, "c", "n", []byte("0"), store.NewDoc)
		must(t, "Put", err)
		const workers, each = 4, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for done := 0; done < each; {
					d, err := s.Get(ctx, "c", "n")
					if err != nil {
						errs <- err
						return
					}
					var n int
					fmt.Sscan(string(d.Data), &n)
					_, err = s.Put(ctx, "c", "n", fmt.Appendf(nil, "%d", n+1), d.Version)
					switch {
					case err == nil:
						done++
					case !errors.Is(err, store.ErrConflict):
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		d, err := s.Get(ctx, "c", "n")
		must(t, "Get", err)
		if string(d.Data) != fmt.Sprint(workers*each) || d.Version != workers*each+1 {
			t.Fatalf("counter = %s version %d, want %d version %d", d.Data, d.Version, workers*each, workers*each+1)
		}
	})
}

func testSets(t *testing.T, fresh opener) {
	ctx := context.Background()
	s := fresh(t)
	m, err := s.SetMembers(ctx, "s")
	must(t, "SetMembers empty", err)
	if len(m) != 0 {
		t.Fatalf("members of empty set = %q", m)
	}
	ok, err := s.SetContains(ctx, "s", "a")
	must(t, "SetContains empty", err)
	if ok {
		t.Fatal("empty set contains a")
	}
	must(t, "SetAdd", s.SetAdd(ctx, "s", "c", "a", "b"))
	must(t, "SetAdd again", s.SetAdd(ctx, "s", "a", "d"))
	must(t, "SetAdd nothing", s.SetAdd(ctx, "s"))
	must(t, "SetAdd other set", s.SetAdd(ctx, "t", "zz"))
	m, err = s.SetMembers(ctx, "s")
	must(t, "SetMembers", err)
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(m, want) {
		t.Fatalf("members = %q, want %q", m, want)
	}
	ok, err = s.SetContains(ctx, "s", "b")
	must(t, "SetContains", err)
	if !ok {
		t.Fatal("set does not contain b")
	}
	must(t, "SetRemove", s.SetRemove(ctx, "s", "b", "missing"))
	must(t, "SetRemove from missing set", s.SetRemove(ctx, "nope", "x"))
	ok, err = s.SetContains(ctx, "s", "b")
	must(t, "SetContains removed", err)
	if ok {
		t.Fatal("set still contains b")
	}
	must(t, "SetRemove all", s.SetRemove(ctx, "s", "a", "c", "d"))
	m, err = s.SetMembers(ctx, "s")
	must(t, "SetMembers emptied", err)
	if len(m) != 0 {
		t.Fatalf("members after removing all = %q", m)
	}
	m, err = s.SetMembers(ctx, "t")
	must(t, "SetMembers t", err)
	if !slices.Equal(m, []string{"zz"}) {
		t.Fatalf("members of t = %q", m)
	}
	wantIs(t, "SetAdd empty member", s.SetAdd(ctx, "s", "ok", ""), store.ErrInvalid)
	wantIs(t, "SetRemove empty member", s.SetRemove(ctx, "s", ""), store.ErrInvalid)
	_, err = s.SetContains(ctx, "s", "")
	wantIs(t, "SetContains empty member", err, store.ErrInvalid)
}

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

func testLeases(t *testing.T, fresh opener) {
	ctx := context.Background()
	ttl := 30 * time.Second
	s := fresh(t)
	h, err := s.LeaseHolder(ctx, "leader", t0)
	must(t, "LeaseHolder free", err)
	if h != "" {
		t.Fatalf("holder of a never-taken lease = %q", h)
	}
	acquire := func(holder string, now time.Time, want bool) {
		t.Helper()
		ok, err := s.AcquireLease(ctx, "leader", holder, now, ttl)
		must(t, "AcquireLease "+holder, err)
		if ok != want {
			t.Fatalf("AcquireLease(%s at %v) = %v, want %v", holder, now.Sub(t0), ok, want)
		}
	}
	holder := func(now time.Time, want string) {
		t.Helper()
		h, err := s.LeaseHolder(ctx, "leader", now)
		must(t, "LeaseHolder", err)
		if h != want {
			t.Fatalf("LeaseHolder at %v = %q, want %q", now.Sub(t0), h, want)
		}
	}
	acquire("a", t0, true)
	holder(t0, "a")
	acquire("b", t0.Add(time.Second), false)
	// Renewal by the holder extends from the renewal time.
	acquire("a", t0.Add(20*time.Second), true)
	acquire("b", t0.Add(ttl), false) // a's original expiry; renewed since
	holder(t0.Add(49*time.Second), "a")
	// At the renewed expiry the lease has run out.
	holder(t0.Add(50*time.Second), "")
	acquire("b", t0.Add(50*time.Second), true)
	holder(t0.Add(51*time.Second), "b")
	// Releasing by a non-holder does nothing.
	must(t, "ReleaseLease by a", s.ReleaseLease(ctx, "leader", "a"))
	holder(t0.Add(52*time.Second), "b")
	acquire("a", t0.Add(52*time.Second), false)
	must(t, "ReleaseLease by b", s.ReleaseLease(ctx, "leader", "b"))
	holder(t0.Add(53*time.Second), "")
	acquire("a", t0.Add(53*time.Second), true)
	must(t, "ReleaseLease of a free lease", s.ReleaseLease(ctx, "other", "a"))
	// Leases are independent by name.
	ok, err := s.AcquireLease(ctx, "other", "b", t0.Add(53*time.Second), ttl)
	must(t, "AcquireLease other", err)
	if !ok {
		t.Fatal("lease 'other' refused")
	}
	_, err = s.AcquireLease(ctx, "leader", "a", t0, 0)
	wantIs(t, "AcquireLease ttl 0", err, store.ErrInvalid)
	_, err = s.AcquireLease(ctx, "leader", "", t0, ttl)
	wantIs(t, "AcquireLease empty holder", err, store.ErrInvalid)
	wantIs(t, "ReleaseLease empty holder", s.ReleaseLease(ctx, "leader", ""), store.ErrInvalid)
}

func testSeen(t *testing.T, fresh opener) {
	ctx := context.Background()
	ttl := time.Hour
	s := fresh(t)
	mark := func(key string, now time.Time, want bool) {
		t.Helper()
		ok, err := s.MarkSeen(ctx, key, now, ttl)
		must(t, "MarkSeen", err)
		if ok != want {
			t.Fatalf("MarkSeen(%s at %v) = %v, want %v", key, now.Sub(t0), ok, want)
		}
	}
	seen := func(key string, now time.Time, want bool) {
		t.Helper()
		ok, err := s.WasSeen(ctx, key, now)
		must(t, "WasSeen", err)
		if ok != want {
			t.Fatalf("WasSeen(%s at %v) = %v, want %v", key, now.Sub(t0), ok, want)
		}
	}
	seen("d1", t0, false)
	mark("d1", t0, true)
	mark("d1", t0.Add(time.Minute), false)
	seen("d1", t0.Add(ttl-time.Millisecond), true)
	// A second mark does not extend the record.
	seen("d1", t0.Add(ttl), false)
	mark("d1", t0.Add(ttl), true)
	seen("d1", t0.Add(ttl+time.Minute), true)
	mark("d2", t0, true)
	must(t, "Forget", s.Forget(ctx, "d2"))
	seen("d2", t0, false)
	mark("d2", t0, true)
	must(t, "Forget missing", s.Forget(ctx, "never"))
	_, err := s.MarkSeen(ctx, "d3", t0, 0)
	wantIs(t, "MarkSeen ttl 0", err, store.ErrInvalid)

	// Many expired records do not get in the way of new ones (backends
	// may purge them as they go).
	for i := range 50 {
		mark(fmt.Sprintf("old-%d", i), t0, true)
	}
	later := t0.Add(2 * ttl)
	for i := range 50 {
		mark(fmt.Sprintf("new-%d", i), later, true)
		seen(fmt.Sprintf("old-%d", i), later, false)
	}
	mark("old-7", later, true)
}

func testLogs(t *testing.T, fresh opener) {
	ctx := context.Background()
	s := fresh(t)
	es, err := s.ReadLog(ctx, "audit", "", 10)
	must(t, "ReadLog empty", err)
	if len(es) != 0 {
		t.Fatalf("ReadLog of a new log = %v", es)
	}
	es, err = s.LastEntries(ctx, "audit", 3)
	must(t, "LastEntries empty", err)
	if len(es) != 0 {
		t.Fatalf("LastEntries of a new log = %v", es)
	}
	const n = 25
	ids := make([]string, n)
	seenID := map[string]bool{}
	for i := range n {
		id, err := s.Append(ctx, "audit", fmt.Appendf(nil, "entry %d", i))
		must(t, "Append", err)
		if id == "" || seenID[id] {
			t.Fatalf("Append returned id %q (seen before: %v)", id, seenID[id])
		}
		seenID[id] = true
		ids[i] = id
	}
	_, err = s.Append(ctx, "other", []byte{0, 1, 0})
	must(t, "Append other", err)
	data := func(i int) string { return fmt.Sprintf("entry %d", i) }
	check := func(what string, got []store.LogEntry, from, to int) {
		t.Helper()
		if len(got) != to-from {
			t.Fatalf("%s: %d entries, want %d", what, len(got), to-from)
		}
		for j, e := range got {
			if e.ID != ids[from+j] || string(e.Data) != data(from+j) {
				t.Fatalf("%s: entry %d = %q %q, want %q %q", what, j, e.ID, e.Data, ids[from+j], data(from+j))
			}
		}
	}
	all, err := s.ReadLog(ctx, "audit", "", 100)
	must(t, "ReadLog all", err)
	check("ReadLog all", all, 0, n)
	// Paging with after walks the log in order, with no gaps or repeats.
	var paged []store.LogEntry
	after := ""
	for {
		page, err := s.ReadLog(ctx, "audit", after, 4)
		must(t, "ReadLog page", err)
		if len(page) == 0 {
			break
		}
		if len(page) > 4 {
			t.Fatalf("page of %d entries, limit 4", len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	check("paged", paged, 0, n)
	page, err := s.ReadLog(ctx, "audit", ids[n-1], 10)
	must(t, "ReadLog after last", err)
	if len(page) != 0 {
		t.Fatalf("entries after the last one: %v", page)
	}
	page, err = s.ReadLog(ctx, "audit", ids[9], 3)
	must(t, "ReadLog after 9", err)
	check("after 9", page, 10, 13)
	last, err := s.LastEntries(ctx, "audit", 3)
	must(t, "LastEntries", err)
	check("LastEntries(3)", last, n-3, n)
	last, err = s.LastEntries(ctx, "audit", 1000)
	must(t, "LastEntries(1000)", err)
	check("LastEntries(1000)", last, 0, n)
	last, err = s.LastEntries(ctx, "audit", 0)
	must(t, "LastEntries(0)", err)
	if len(last) != 0 {
		t.Fatalf("LastEntries(0) = %v", last)
	}
	// An id is increasing: a later append comes after every earlier id.
	id, err := s.Append(ctx, "audit", []byte("late"))
	must(t, "Append late", err)
	page, err = s.ReadLog(ctx, "audit", ids[n-1], 10)
	must(t, "ReadLog after last", err)
	if len(page) != 1 || page[0].ID != id || string(page[0].Data) != "late" {
		t.Fatalf("entries after the last one = %v", page)
	}
	other, err := s.ReadLog(ctx, "other", "", 10)
	must(t, "ReadLog other", err)
	if len(other) != 1 || !bytes.Equal(other[0].Data, []byte{0, 1, 0}) {
		t.Fatalf("other log = %v", other)
	}
	_, err = s.ReadLog(ctx, "audit", "not an id", 10)
	wantIs(t, "ReadLog bad after", err, store.ErrInvalid)
	_, err = s.ReadLog(ctx, "audit", "", -1)
	wantIs(t, "ReadLog limit -1", err, store.ErrInvalid)
	_, err = s.LastEntries(ctx, "audit", -1)
	wantIs(t, "LastEntries -1", err, store.ErrInvalid)
}

func testInvalid(t *testing.T, fresh opener) {
	ctx := context.Background()
	s := fresh(t)
	long := string(make([]byte, 513))
	for _, bad := range []string{"", "a\x00b", long} {
		calls := map[string]error{}
		_, calls["Get coll"] = s.Get(ctx, bad, "id")
		_, calls["Get id"] = s.Get(ctx, "c", bad)
		_, calls["Put"] = s.Put(ctx, "c", bad, nil, store.AnyVersion)
		calls["Delete"] = s.Delete(ctx, bad, "id", store.AnyVersion)
		_, calls["List"] = s.List(ctx, bad)
		calls["SetAdd"] = s.SetAdd(ctx, bad, "m")
		calls["SetRemove"] = s.SetRemove(ctx, bad, "m")
		_, calls["SetMembers"] = s.SetMembers(ctx, bad)
		_, calls["SetContains"] = s.SetContains(ctx, bad, "m")
		calls["Schedule queue"] = s.Schedule(ctx, bad, "k", t0)
		calls["Schedule key"] = s.Schedule(ctx, "q", bad, t0)
		calls["Unschedule"] = s.Unschedule(ctx, "q", bad)
		_, calls["ClaimDue"] = s.ClaimDue(ctx, bad, t0, time.Second, 1)
		_, calls["Complete"] = s.Complete(ctx, "q", store.Claim{Key: bad})
		_, _, calls["NextDue"] = s.NextDue(ctx, bad)
		_, calls["Pending"] = s.Pending(ctx, bad, 1)
		_, calls["AcquireLease"] = s.AcquireLease(ctx, bad, "h", t0, time.Second)
		calls["ReleaseLease"] = s.ReleaseLease(ctx, bad, "h")
		_, calls["LeaseHolder"] = s.LeaseHolder(ctx, bad, t0)
		_, calls["MarkSeen"] = s.MarkSeen(ctx, bad, t0, time.Second)
		_, calls["WasSeen"] = s.WasSeen(ctx, bad, t0)
		calls["Forget"] = s.Forget(ctx, bad)
		_, calls["Append"] = s.Append(ctx, bad, nil)
		_, calls["ReadLog"] = s.ReadLog(ctx, bad, "", 1)
		_, calls["LastEntries"] = s.LastEntries(ctx, bad, 1)
		for name, err := range calls {
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s(%.10q): error %v, want ErrInvalid", name, bad, err)
			}
		}
	}
	// 512 bytes is still fine.
	okName := string(bytes.Repeat([]byte("n"), 512))
	_, err := s.Put(ctx, okName, okName, []byte("x"), store.NewDoc)
	must(t, "Put 512-byte names", err)
}

func di(key string, due time.Time) store.DueItem { return store.DueItem{Key: key, Due: due} }
