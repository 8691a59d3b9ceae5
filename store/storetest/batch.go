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

func testBatches(t *testing.T, fresh opener) {
	ctx := context.Background()
	const hold = time.Minute

	// seed writes the state the all-or-nothing cases start from.
	seed := func(t *testing.T, s store.Store) {
		t.Helper()
		_, err := s.Put(ctx, "reports", "r1", []byte("orig"), store.NewDoc)
		must(t, "Put r1", err)
		_, err = s.Put(ctx, "reports", "r2", []byte("two"), store.NewDoc)
		must(t, "Put r2", err)
		_, err = s.Put(ctx, "reports", "r2", []byte("two again"), 1)
		must(t, "Put r2 v2", err)
		must(t, "SetAdd", s.SetAdd(ctx, "open", "r1", "r2"))
		must(t, "Schedule r1", s.Schedule(ctx, "remind", "r1", ms(100)))
		must(t, "Schedule r2", s.Schedule(ctx, "remind", "r2", ms(200)))
	}
	colls, sets, queues := []string{"reports", "other"}, []string{"open", "closed"}, []string{"remind", "later"}

	t.Run("AllOrNothing", func(t *testing.T) {
		cases := []struct {
			name string
			ops  []store.Op
			want store.ConflictError
		}{{
			name: "third op stale",
			ops: []store.Op{
				store.PutOp("reports", "r3", []byte("new"), store.NewDoc),
				store.SetAddOp("open", "r3"),
				store.PutOp("reports", "r1", []byte("lost"), 2),
				store.ScheduleOp("remind", "r3", ms(50)),
			},
			want: store.ConflictError{Collection: "reports", ID: "r1", Expected: 2, Have: 1, Op: 3},
		}, {
			name: "third op creates an existing doc",
			ops: []store.Op{
				store.ScheduleOp("remind", "r1", ms(5)),
				store.UnscheduleOp("remind", "r2"),
				store.PutOp("reports", "r2", nil, store.NewDoc),
			},
			want: store.ConflictError{Collection: "reports", ID: "r2", Expected: store.NewDoc, Have: 2, Op: 3},
		}, {
			name: "third op deletes a stale version",
			ops: []store.Op{
				store.SetRemoveOp("open", "r1", "r2"),
				store.SetAddOp("closed", "r1"),
				store.DeleteOp("reports", "r2", 1),
				store.DeleteOp("reports", "r1", store.AnyVersion),
			},
			want: store.ConflictError{Collection: "reports", ID: "r2", Expected: 1, Have: 2, Op: 3},
		}, {
			name: "last op expects a missing doc",
			ops: []store.Op{
				store.DeleteOp("reports", "r1", 1),
				store.PutOp("other", "x", []byte("x"), store.AnyVersion),
				store.ScheduleOp("later", "x", ms(1)),
				store.SetAddOp("closed", "r1"),
				store.UnscheduleOp("remind", "r1"),
				store.PutOp("other", "y", []byte("y"), 4),
			},
			want: store.ConflictError{Collection: "other", ID: "y", Expected: 4, Have: 0, Op: 6},
		}, {
			name: "a doc the batch itself deleted",
			ops: []store.Op{
				store.DeleteOp("reports", "r1", store.AnyVersion),
				store.SetRemoveOp("open", "r1"),
				store.PutOp("reports", "r1", []byte("back"), 1),
			},
			want: store.ConflictError{Collection: "reports", ID: "r1", Expected: 1, Have: 0, Op: 3},
		}}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := fresh(t)
				seed(t, s)
				before := takeSnapshot(t, s, colls, sets, queues)
				vs, err := s.Apply(ctx, tc.ops...)
				wantConflict(t, err, tc.want)
				if vs != nil {
					t.Errorf("versions on conflict = %v, want nil", vs)
				}
				if after := takeSnapshot(t, s, colls, sets, queues); after.diff(before) != "[]" {
					t.Fatalf("a failed batch changed the store: %s", before.diff(after))
				}
			})
		}
	})
	t.Run("AppliesEverything", func(t *testing.T) {
		s := fresh(t)
		seed(t, s)
		vs, err := s.Apply(ctx,
			store.PutOp("reports", "r3", []byte("three"), store.NewDoc),
			store.SetAddOp("open", "r3"),
			store.PutOp("reports", "r2", []byte("closed"), 2),
			store.SetRemoveOp("open", "r2"),
			store.SetAddOp("closed", "r2"),
			store.UnscheduleOp("remind", "r2"),
			store.ScheduleOp("remind", "r3", ms(300)),
			store.DeleteOp("reports", "r1", 1),
			store.SetRemoveOp("open", "r1"),
			store.PutOp("other", "any", []byte("a"), store.AnyVersion),
		)
		must(t, "Apply", err)
		if want := []int64{1, 0, 3, 0, 0, 0, 0, 0, 0, 1}; !slices.Equal(vs, want) {
			t.Fatalf("versions = %v, want %v", vs, want)
		}
		got := takeSnapshot(t, s, colls, sets, queues)
		want := snapshot{
			docs: map[string]string{"reports/r2": "v3:closed", "reports/r3": "v1:three", "other/any": "v1:a"},
			ids:  map[string][]string{"reports": {"r2", "r3"}, "other": {"any"}},
			sets: map[string][]string{"open": {"r3"}, "closed": {"r2"}},
			pending: map[string][]store.DueItem{
				"remind": {di("r1", ms(100)), di("r3", ms(300))},
				"later":  {},
			},
		}
		if d := want.diff(got); d != "[]" {
			t.Fatalf("after Apply: %s", d)
		}
	})
	t.Run("AppendsWithTheBatch", func(t *testing.T) {
		s := fresh(t)
		seed(t, s)
		_, err := s.Append(ctx, "audit", []byte("before"))
		must(t, "Append", err)
		// A batch that fails appends nothing; one that succeeds appends its
		// entries in order, after what was there, with the other writes.
		_, err = s.Apply(ctx, store.AppendOp("audit", []byte("lost")), store.PutOp("reports", "r1", []byte("x"), 7))
		wantConflict(t, err, store.ConflictError{Collection: "reports", ID: "r1", Expected: 7, Have: 1, Op: 2})
		vs, err := s.Apply(ctx,
			store.PutOp("reports", "r3", []byte("three"), store.NewDoc),
			store.AppendOp("audit", []byte("one")),
			store.AppendOp("audit", []byte("two")),
			store.AppendOp("other-log", []byte("elsewhere")),
		)
		must(t, "Apply", err)
		if want := []int64{1, 0, 0, 0}; !slices.Equal(vs, want) {
			t.Fatalf("versions = %v, want %v", vs, want)
		}
		got, err := s.ReadLog(ctx, "audit", "", 10)
		must(t, "ReadLog", err)
		if d := logData(got); !slices.Equal(d, []string{"before", "one", "two"}) {
			t.Fatalf("audit log = %q, want before, one, two", d)
		}
		// Entries appended by a batch and by Append share one order.
		id, err := s.Append(ctx, "audit", []byte("after"))
		must(t, "Append", err)
		if after, err := s.ReadLog(ctx, "audit", got[2].ID, 10); err != nil || len(after) != 1 || after[0].ID != id {
			t.Fatalf("ReadLog after the batch's last entry = %v, %v; want only %s", after, err, id)
		}
		other, err := s.LastEntries(ctx, "other-log", 5)
		must(t, "LastEntries", err)
		if d := logData(other); !slices.Equal(d, []string{"elsewhere"}) {
			t.Fatalf("other log = %q", d)
		}
	})
	t.Run("VersionsWithinBatch", func(t *testing.T) {
		s := fresh(t)
		vs, err := s.Apply(ctx,
			store.PutOp("c", "x", []byte("1"), store.NewDoc),
			store.PutOp("c", "x", []byte("2"), 1),
			store.PutOp("c", "x", []byte("3"), 2),
			store.PutOp("c", "x", []byte("4"), store.AnyVersion),
		)
		must(t, "Apply", err)
		if want := []int64{1, 2, 3, 4}; !slices.Equal(vs, want) {
			t.Fatalf("versions = %v, want %v", vs, want)
		}
		d, err := s.Get(ctx, "c", "x")
		must(t, "Get", err)
		if d.Version != 4 || string(d.Data) != "4" {
			t.Fatalf("Get = v%d %q, want v4 \"4\"", d.Version, d.Data)
		}
		// Delete and re-create in one batch starts over at version 1.
		vs, err = s.Apply(ctx, store.DeleteOp("c", "x", 4), store.PutOp("c", "x", []byte("new"), store.NewDoc))
		must(t, "Apply delete+create", err)
		if want := []int64{0, 1}; !slices.Equal(vs, want) {
			t.Fatalf("versions = %v, want %v", vs, want)
		}
		// Two creations of one document in a batch: the second conflicts
		// with the first, and neither is written.
		_, err = s.Apply(ctx, store.PutOp("c", "y", nil, store.NewDoc), store.PutOp("c", "y", nil, store.NewDoc))
		wantConflict(t, err, store.ConflictError{Collection: "c", ID: "y", Expected: 0, Have: 1, Op: 2})
		_, err = s.Get(ctx, "c", "y")
		wantIs(t, "Get y", err, store.ErrNotFound)
		// Set ops in order: add then remove leaves the member out, remove
		// then add leaves it in.
		_, err = s.Apply(ctx, store.SetAddOp("s", "a", "b"), store.SetRemoveOp("s", "a"), store.SetRemoveOp("s", "b"), store.SetAddOp("s", "b"))
		must(t, "Apply set ops", err)
		m, err := s.SetMembers(ctx, "s")
		must(t, "SetMembers", err)
		if !slices.Equal(m, []string{"b"}) {
			t.Fatalf("members = %q, want [b]", m)
		}
		// Queue ops in order: the last schedule wins.
		_, err = s.Apply(ctx, store.ScheduleOp("q", "k", ms(1)), store.ScheduleOp("q", "k", ms(9)), store.ScheduleOp("q", "gone", ms(0)), store.UnscheduleOp("q", "gone"))
		must(t, "Apply queue ops", err)
		p, err := s.Pending(ctx, "q", 10)
		must(t, "Pending", err)
		if want := []store.DueItem{di("k", ms(9))}; !equalItems(p, want) {
			t.Fatalf("Pending = %v, want %v", p, want)
		}
	})
	t.Run("SingleOpConflictError", func(t *testing.T) {
		// A single Put or Delete reports a conflict the same way, with
		// Op 0.
		s := fresh(t)
		_, err := s.Put(ctx, "c", "x", nil, store.NewDoc)
		must(t, "Put", err)
		_, err = s.Put(ctx, "c", "x", nil, store.NewDoc)
		wantConflict(t, err, store.ConflictError{Collection: "c", ID: "x", Expected: 0, Have: 1})
		err = s.Delete(ctx, "c", "gone", 2)
		wantConflict(t, err, store.ConflictError{Collection: "c", ID: "gone", Expected: 2, Have: 0})
	})
	t.Run("EmptyAndNoops", func(t *testing.T) {
		s := fresh(t)
		vs, err := s.Apply(ctx)
		must(t, "Apply()", err)
		if len(vs) != 0 {
			t.Fatalf("empty batch versions = %v", vs)
		}
		vs, err = s.Apply(ctx,
			store.DeleteOp("c", "missing", store.AnyVersion),
			store.UnscheduleOp("q", "missing"),
			store.SetRemoveOp("s", "missing"),
			store.SetAddOp("s"),
		)
		must(t, "Apply no-ops", err)
		if !slices.Equal(vs, []int64{0, 0, 0, 0}) {
			t.Fatalf("no-op versions = %v", vs)
		}
		ids, err := s.List(ctx, "c")
		must(t, "List", err)
		m, err := s.SetMembers(ctx, "s")
		must(t, "SetMembers", err)
		if len(ids) != 0 || len(m) != 0 {
			t.Fatalf("no-ops wrote something: ids %q, members %q", ids, m)
		}
	})
	t.Run("ScheduleEndsClaim", func(t *testing.T) {
		s := fresh(t)
		must(t, "Schedule", s.Schedule(ctx, "q", "job", ms(0)))
		c, err := s.ClaimDue(ctx, "q", ms(0), hold, 1)
		must(t, "ClaimDue", err)
		if len(c) != 1 {
			t.Fatalf("claims = %v", c)
		}
		_, err = s.Apply(ctx, store.PutOp("jobs", "job", []byte("retry"), store.AnyVersion), store.ScheduleOp("q", "job", ms(10)))
		must(t, "Apply", err)
		done, err := s.Complete(ctx, "q", c[0])
		must(t, "Complete", err)
		if done {
			t.Fatal("Complete removed an item a batch had rescheduled")
		}
		// The hold ended: at the new time the item is claimable although
		// the old hold would still run.
		c2, err := s.ClaimDue(ctx, "q", ms(10), hold, 1)
		must(t, "ClaimDue rescheduled", err)
		if len(c2) != 1 || c2[0].Key != "job" || !c2[0].Due.Equal(ms(10)) {
			t.Fatalf("claims after batch reschedule = %+v", c2)
		}
		// An UnscheduleOp removes a held item too.
		_, err = s.Apply(ctx, store.UnscheduleOp("q", "job"))
		must(t, "Apply unschedule", err)
		if _, ok, err := s.NextDue(ctx, "q"); ok || err != nil {
			t.Fatalf("NextDue after unschedule: %v %v", ok, err)
		}
	})
	t.Run("DataIsCopied", func(t *testing.T) {
		s := fresh(t)
		in := []byte("hello")
		members := []string{"a"}
		op, add := store.PutOp("c", "x", in, store.NewDoc), store.SetAddOp("s", members...)
		in[0], members[0] = 'J', "changed"
		_, err := s.Apply(ctx, op, add)
		must(t, "Apply", err)
		d, err := s.Get(ctx, "c", "x")
		must(t, "Get", err)
		m, err := s.SetMembers(ctx, "s")
		must(t, "SetMembers", err)
		if string(d.Data) != "hello" || !slices.Equal(m, []string{"a"}) {
			t.Fatalf("the batch took the caller's later changes: %q, %q", d.Data, m)
		}
		bin := []byte{0, 1, 0xff, 0, '\n'}
		_, err = s.Apply(ctx, store.PutOp("c", "bin", bin, store.NewDoc), store.PutOp("c", "empty", nil, store.NewDoc))
		must(t, "Apply binary", err)
		d, err = s.Get(ctx, "c", "bin")
		must(t, "Get bin", err)
		e, err := s.Get(ctx, "c", "empty")
		must(t, "Get empty", err)
		if !bytes.Equal(d.Data, bin) || len(e.Data) != 0 {
			t.Fatalf("binary %v, empty %q", d.Data, e.Data)
		}
	})
	t.Run("ManyMembers", func(t *testing.T) {
		// More members than one Lua unpack can take.
		s := fresh(t)
		var members []string
		for i := range 9000 {
			members = append(members, member(i))
		}
		_, err := s.Apply(ctx, store.SetAddOp("big", members...), store.SetRemoveOp("big", members[:8999]...))
		must(t, "Apply", err)
		m, err := s.SetMembers(ctx, "big")
		must(t, "SetMembers", err)
		if !slices.Equal(m, members[8999:]) {
			t.Fatalf("members = %d, want only %q", len(m), members[8999])
		}
	})
	t.Run("NamesWithSeparators", func(t *testing.T) {
		// One batch across collections, sets and queues whose names hold
		// the backends' separators; nothing may collide.
		s := fresh(t)
		names := []string{"a", "a:b", "a:d:b", "a%3Ab", "{a}", "a}", "ids", "z"}
		var ops []store.Op
		for i, n := range names {
			ops = append(ops,
				store.PutOp(n, "b:d:"+n, []byte{byte(i)}, store.NewDoc),
				store.SetAddOp(n, n),
				store.ScheduleOp(n, n, ms(i)),
			)
		}
		_, err := s.Apply(ctx, ops...)
		must(t, "Apply", err)
		for i, n := range names {
			ids, err := s.List(ctx, n)
			must(t, "List", err)
			m, err := s.SetMembers(ctx, n)
			must(t, "SetMembers", err)
			p, err := s.Pending(ctx, n, 10)
			must(t, "Pending", err)
			if !slices.Equal(ids, []string{"b:d:" + n}) || !slices.Equal(m, []string{n}) || !equalItems(p, []store.DueItem{di(n, ms(i))}) {
				t.Errorf("name %q: ids %q, members %q, pending %v", n, ids, m, p)
			}
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		s := fresh(t)
		long := string(make([]byte, 513))
		good := store.PutOp("c", "first", []byte("x"), store.NewDoc)
		bad := map[string]store.Op{
			"zero Op":             {},
			"put empty coll":      store.PutOp("", "id", nil, store.NewDoc),
			"put NUL id":          store.PutOp("c", "a\x00b", nil, store.NewDoc),
			"put version -2":      store.PutOp("c", "id", nil, -2),
			"delete NewDoc":       store.DeleteOp("c", "id", store.NewDoc),
			"delete long id":      store.DeleteOp("c", long, store.AnyVersion),
			"set add empty set":   store.SetAddOp("", "m"),
			"set add empty":       store.SetAddOp("s", "ok", ""),
			"set remove NUL":      store.SetRemoveOp("s", "\x00"),
			"schedule empty key":  store.ScheduleOp("q", "", ms(0)),
			"unschedule no queue": store.UnscheduleOp("", "k"),
			"append empty log":    store.AppendOp("", []byte("x")),
			"append NUL log":      store.AppendOp("a\x00b", []byte("x")),
		}
		for name, op := range bad {
			_, err := s.Apply(ctx, good, store.SetAddOp("s", "m"), op)
			wantIs(t, name, err, store.ErrInvalid)
			if errors.Is(err, store.ErrConflict) {
				t.Errorf("%s: invalid batch reported as a conflict: %v", name, err)
			}
		}
		_, err := s.Get(ctx, "c", "first")
		wantIs(t, "Get after invalid batches", err, store.ErrNotFound)
		m, err := s.SetMembers(ctx, "s")
		must(t, "SetMembers", err)
		if len(m) != 0 {
			t.Fatalf("invalid batches wrote set members %q", m)
		}
	})
	t.Run("ConcurrentCreate", func(t *testing.T) {
		// Every writer tries to create the same document and index itself
		// in one batch: exactly one wins, and the index holds only it.
		s := fresh(t)
		const writers = 32
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			wins   []int
			others []error
		)
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				_, err := s.Apply(ctx,
					store.PutOp("c", "x", fmt.Appendf(nil, "%d", i), store.NewDoc),
					store.SetAddOp("owners", member(i)),
					store.ScheduleOp("q", member(i), ms(i)),
				)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins = append(wins, i)
				case !errors.Is(err, store.ErrConflict):
					others = append(others, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(others) > 0 {
			t.Fatalf("errors other than a conflict: %v", others)
		}
		if len(wins) != 1 {
			t.Fatalf("%d writers created the document, want exactly 1", len(wins))
		}
		w := wins[0]
		d, err := s.Get(ctx, "c", "x")
		must(t, "Get", err)
		m, err := s.SetMembers(ctx, "owners")
		must(t, "SetMembers", err)
		p, err := s.Pending(ctx, "q", writers)
		must(t, "Pending", err)
		if string(d.Data) != fmt.Sprint(w) || d.Version != 1 || !slices.Equal(m, []string{member(w)}) || !equalItems(p, []store.DueItem{di(member(w), ms(w))}) {
			t.Fatalf("winner %d but doc %q v%d, owners %q, queue %v", w, d.Data, d.Version, m, p)
		}
	})
	t.Run("ConcurrentTransfers", func(t *testing.T) {
		// Writers move units between two documents with read, then a
		// batch of two CAS puts; a lost or doubled update would change
		// the total.
		s := fresh(t)
		_, err := s.Apply(ctx, store.PutOp("acct", "a", []byte("100"), store.NewDoc), store.PutOp("acct", "b", []byte("0"), store.NewDoc))
		must(t, "Apply seed", err)
		const workers, each = 4, 10
		untilDone(t, workers, each, func() error {
			a, err := s.Get(ctx, "acct", "a")
			if err != nil {
				return err
			}
			b, err := s.Get(ctx, "acct", "b")
			if err != nil {
				return err
			}
			var na, nb int
			fmt.Sscan(string(a.Data), &na)
			fmt.Sscan(string(b.Data), &nb)
			_, err = s.Apply(ctx,
				store.PutOp("acct", "a", fmt.Appendf(nil, "%d", na-1), a.Version),
				store.PutOp("acct", "b", fmt.Appendf(nil, "%d", nb+1), b.Version),
			)
			return err
		})
		a, err := s.Get(ctx, "acct", "a")
		must(t, "Get a", err)
		b, err := s.Get(ctx, "acct", "b")
		must(t, "Get b", err)
		if want := 100 - workers*each; string(a.Data) != fmt.Sprint(want) || string(b.Data) != fmt.Sprint(workers*each) {
			t.Fatalf("a = %s, b = %s, want %d and %d", a.Data, b.Data, want, workers*each)
		}
	})
}

func testCounters(t *testing.T, fresh opener) {
	ctx := context.Background()
	t.Run("Sequence", func(t *testing.T) {
		s := fresh(t)
		for want := int64(1); want <= 3; want++ {
			n, err := s.Incr(ctx, "reports")
			must(t, "Incr", err)
			if n != want {
				t.Fatalf("Incr = %d, want %d", n, want)
			}
		}
		// Counters are separate, and separate from documents, sets and
		// queues of the same name.
		_, err := s.Put(ctx, "other", "other", []byte("x"), store.NewDoc)
		must(t, "Put", err)
		must(t, "SetAdd", s.SetAdd(ctx, "other", "x"))
		for _, name := range []string{"other", "reports:1", "{reports}"} {
			n, err := s.Incr(ctx, name)
			must(t, "Incr "+name, err)
			if n != 1 {
				t.Fatalf("first Incr of %q = %d, want 1", name, n)
			}
		}
		n, err := s.Incr(ctx, "reports")
		must(t, "Incr", err)
		if n != 4 {
			t.Fatalf("Incr after others = %d, want 4", n)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		s := fresh(t)
		for _, bad := range []string{"", "a\x00b", string(make([]byte, 513))} {
			_, err := s.Incr(ctx, bad)
			wantIs(t, fmt.Sprintf("Incr(%.10q)", bad), err, store.ErrInvalid)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := fresh(t)
		const workers, each = 32, 50
		got := make([][]int64, workers)
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for range each {
					n, err := s.Incr(ctx, "ids")
					if err != nil {
						errs <- err
						return
					}
					got[w] = append(got[w], n)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		all := slices.Concat(got...)
		slices.Sort(all)
		for i, n := range all {
			if n != int64(i+1) {
				t.Fatalf("values sorted: position %d holds %d; want exactly 1..%d, each once", i, n, workers*each)
			}
		}
		if len(all) != workers*each {
			t.Fatalf("%d values, want %d", len(all), workers*each)
		}
		// Each caller saw its own values increase.
		for w, vs := range got {
			if !slices.IsSorted(vs) {
				t.Fatalf("worker %d saw values out of order: %v", w, vs)
			}
		}
	})
}

func logData(entries []store.LogEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = string(e.Data)
	}
	return out
}
