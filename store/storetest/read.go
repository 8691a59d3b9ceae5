package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// reader is the store as a store.Reader; every backend must be one.
func reader(t *testing.T, s store.Store) store.Reader {
	t.Helper()
	r, ok := s.(store.Reader)
	if !ok {
		t.Fatalf("%T does not implement store.Reader", s)
	}
	return r
}

func read(t *testing.T, r store.Reader, qs ...store.Query) []store.Answer {
	t.Helper()
	a, err := r.Read(context.Background(), qs...)
	must(t, "Read", err)
	if len(a) != len(qs) {
		t.Fatalf("Read returned %d answers for %d queries", len(a), len(qs))
	}
	return a
}

func docIDs(docs []store.Doc) []string {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID + "@" + string(d.Data)
	}
	return ids
}

func testRead(t *testing.T, fresh opener) {
	ctx := context.Background()
	t.Run("MarkSeenWithReads", func(t *testing.T) {
		s := fresh(t)
		r := reader(t, s)
		_, err := s.Put(ctx, "rotations", "triage", []byte("v1"), store.NewDoc)
		must(t, "Put", err)
		qs := []store.Query{
			store.MarkSeenQuery("event:e1", t0, time.Hour),
			store.GetQuery("rotations", "triage"),
			store.GetQuery("rotations", "missing"),
			store.DocsQuery("rotations", ""),
		}
		a := read(t, r, qs...)
		if !a[0].First {
			t.Error("the first mark of e1 was not First")
		}
		if a[1].Err != nil || string(a[1].Doc.Data) != "v1" || a[1].Doc.Version != 1 || a[1].Doc.ID != "triage" {
			t.Errorf("get triage = %+v", a[1])
		}
		if !errors.Is(a[2].Err, store.ErrNotFound) {
			t.Errorf("get missing: Err = %v, want ErrNotFound", a[2].Err)
		}
		if got := docIDs(a[3].Docs); len(got) != 1 || got[0] != "triage@v1" {
			t.Errorf("docs = %v", got)
		}
		// A repeat of the event is not First, and the reads still answer
		// (the engine discards them).
		a = read(t, r, qs...)
		if a[0].First {
			t.Error("a repeated event was First again")
		}
		if string(a[1].Doc.Data) != "v1" {
			t.Errorf("get on a repeat = %+v", a[1])
		}
		// The mark is the same record MarkSeen and WasSeen use.
		first, err := s.MarkSeen(ctx, "event:e1", t0.Add(time.Minute), time.Hour)
		must(t, "MarkSeen", err)
		if first {
			t.Error("MarkSeen after Read's mark was first")
		}
		a = read(t, r, store.MarkSeenQuery("event:e1", t0.Add(time.Hour), time.Hour))
		if !a[0].First {
			t.Error("a run-out mark was not First again")
		}
	})

	t.Run("DocsOfASet", func(t *testing.T) {
		s := fresh(t)
		r := reader(t, s)
		for _, id := range []string{"r1", "r2", "r3"} {
			_, err := s.Put(ctx, "reports", id, []byte(id), store.NewDoc)
			must(t, "Put", err)
		}
		must(t, "SetAdd", s.SetAdd(ctx, "open", "r3", "r1", "gone"))
		a := read(t, r, store.DocsQuery("reports", "open"), store.DocsQuery("reports", "never"), store.DocsQuery("empty", ""))
		if got := docIDs(a[0].Docs); len(got) != 2 || got[0] != "r1@r1" || got[1] != "r3@r3" {
			t.Errorf("docs of open = %v, want r1, r3 (a member without a document is left out)", got)
		}
		if len(a[1].Docs) != 0 || len(a[2].Docs) != 0 {
			t.Errorf("docs of an empty set or collection = %v, %v", a[1].Docs, a[2].Docs)
		}
	})

	t.Run("StampsMoveWithEveryWrite", func(t *testing.T) {
		s := fresh(t)
		r := reader(t, s)
		stamps := func() (coll, set, other int64) {
			t.Helper()
			a := read(t, r, store.StampQuery("rotations", ""), store.StampQuery("", "open"), store.StampQuery("other", ""),
				store.DocsQuery("rotations", "open"))
			if a[3].Stamp != a[0].Stamp || a[3].SetStamp != a[1].Stamp {
				t.Fatalf("DocsQuery stamps %d/%d differ from StampQuery's %d/%d with no write between", a[3].Stamp, a[3].SetStamp, a[0].Stamp, a[1].Stamp)
			}
			return a[0].Stamp, a[1].Stamp, a[2].Stamp
		}
		c0, s0, o0 := stamps()
		step := func(what string, write func() error, collMoves, setMoves bool) {
			t.Helper()
			must(t, what, write())
			c1, s1, o1 := stamps()
			if (c1 != c0) != collMoves || (s1 != s0) != setMoves {
				t.Errorf("%s: collection stamp %d -> %d, set stamp %d -> %d; want moved %v, %v", what, c0, c1, s0, s1, collMoves, setMoves)
			}
			if o1 != o0 {
				t.Errorf("%s moved the stamp of an unrelated collection", what)
			}
			c0, s0 = c1, s1
		}
		put := func(id string, expect int64) func() error {
			return func() error { _, err := s.Put(ctx, "rotations", id, []byte("x"), expect); return err }
		}
		step("Put new", put("a", store.NewDoc), true, false)
		step("Put again", put("a", 1), true, false)
		step("Delete", func() error { return s.Delete(ctx, "rotations", "a", store.AnyVersion) }, true, false)
		step("SetAdd", func() error { return s.SetAdd(ctx, "open", "a") }, false, true)
		step("SetRemove", func() error { return s.SetRemove(ctx, "open", "a") }, false, true)
		step("Apply", func() error {
			_, err := s.Apply(ctx, store.PutOp("rotations", "b", []byte("x"), store.NewDoc), store.SetAddOp("open", "b"))
			return err
		}, true, true)
		step("Apply of a queue", func() error {
			_, err := s.Apply(ctx, store.ScheduleOp("q", "k", t0))
			return err
		}, false, false)
		// A write that is refused writes nothing, its stamp included.
		step("Put conflict", func() error {
			if _, err := s.Put(ctx, "rotations", "b", nil, 7); !errors.Is(err, store.ErrConflict) {
				return errors.New("no conflict")
			}
			return nil
		}, false, false)
		step("Apply conflict", func() error {
			_, err := s.Apply(ctx, store.SetAddOp("open", "c"), store.PutOp("rotations", "c", nil, 3))
			if !errors.Is(err, store.ErrConflict) {
				return errors.New("no conflict")
			}
			return nil
		}, false, false)
	})

	t.Run("Invalid", func(t *testing.T) {
		r := reader(t, fresh(t))
		for name, q := range map[string]store.Query{
			"zero query":            {},
			"empty collection":      store.GetQuery("", "x"),
			"NUL id":                store.GetQuery("c", "a\x00b"),
			"ttl 0":                 store.MarkSeenQuery("k", t0, 0),
			"stamp of both":         store.StampQuery("c", "s"),
			"stamp of nothing":      store.StampQuery("", ""),
			"docs of a bad set":     store.DocsQuery("c", "a\x00"),
			"docs of no collection": store.DocsQuery("", "s"),
		} {
			_, err := r.Read(ctx, store.MarkSeenQuery("fine", t0, time.Hour), q)
			wantIs(t, name, err, store.ErrInvalid)
		}
		// Nothing was written by a refused Read: its mark is still free.
		a := read(t, r, store.MarkSeenQuery("fine", t0, time.Hour))
		if !a[0].First {
			t.Error("a Read refused as invalid still marked its key")
		}
		if a, err := r.Read(ctx); err != nil || len(a) != 0 {
			t.Errorf("empty Read = %v, %v", a, err)
		}
	})
}
