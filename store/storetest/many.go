package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// testReadMany checks GetMany and PendingMany: the reads that gather many
// items at once (one round trip on Redis) must answer exactly what the
// single reads would.
func testReadMany(t *testing.T, fresh opener) {
	ctx := context.Background()
	t.Run("GetMany", func(t *testing.T) {
		s := fresh(t)
		_, err := s.Put(ctx, "items", "a", []byte("A"), store.NewDoc)
		must(t, "Put a", err)
		_, err = s.Put(ctx, "items", "b", []byte("B1"), store.NewDoc)
		must(t, "Put b", err)
		_, err = s.Put(ctx, "items", "b", []byte("B2"), 1)
		must(t, "Put b again", err)
		_, err = s.Put(ctx, "other", "c", []byte("C"), store.NewDoc)
		must(t, "Put other/c", err)
		// Order as asked, a missing one (also one of another collection)
		// as Version 0, a repeated id read twice.
		docs, err := s.GetMany(ctx, "items", []string{"b", "gone", "a", "c", "b"})
		must(t, "GetMany", err)
		want := []store.Doc{{ID: "b", Version: 2, Data: []byte("B2")}, {ID: "gone"}, {ID: "a", Version: 1, Data: []byte("A")}, {ID: "c"}, {ID: "b", Version: 2, Data: []byte("B2")}}
		if len(docs) != len(want) {
			t.Fatalf("GetMany = %+v, want %+v", docs, want)
		}
		for i := range want {
			if docs[i].ID != want[i].ID || docs[i].Version != want[i].Version || string(docs[i].Data) != string(want[i].Data) {
				t.Fatalf("GetMany[%d] = %+v, want %+v", i, docs[i], want[i])
			}
		}
		docs, err = s.GetMany(ctx, "never", []string{"x"})
		must(t, "GetMany of a collection never written", err)
		if len(docs) != 1 || docs[0].Version != 0 {
			t.Fatalf("GetMany never = %+v", docs)
		}
		docs, err = s.GetMany(ctx, "items", nil)
		must(t, "GetMany of nothing", err)
		if len(docs) != 0 {
			t.Fatalf("GetMany(nil) = %+v", docs)
		}
		_, err = s.GetMany(ctx, "items", []string{"a", ""})
		wantIs(t, "GetMany with an empty id", err, store.ErrInvalid)
		_, err = s.GetMany(ctx, "", []string{"a"})
		wantIs(t, "GetMany with an empty collection", err, store.ErrInvalid)
	})
	t.Run("PendingMany", func(t *testing.T) {
		s := fresh(t)
		for _, it := range []struct {
			q, k string
			at   int
		}{{"q1", "late", 5000}, {"q1", "b", 2000}, {"q1", "a", 1000}, {"q1", "edge", 3000}, {"q2", "z", 4000}, {"q3", "x", 500}} {
			must(t, "Schedule", s.Schedule(ctx, it.q, it.k, ms(it.at)))
		}
		// A claimed item becomes claimable at its hold's end: that is its
		// place in the order, as Pending shows it.
		_, err := s.ClaimDue(ctx, "q3", ms(500), 10*time.Second, 1)
		must(t, "ClaimDue", err)
		got, err := s.PendingMany(ctx, []string{"q1", "q2", "empty", "q3", "q1"}, ms(3000), 10)
		must(t, "PendingMany", err)
		want := [][]store.DueItem{
			{di("a", ms(1000)), di("b", ms(2000)), di("edge", ms(3000))}, // until is inclusive
			nil, nil, nil,
			{di("a", ms(1000)), di("b", ms(2000)), di("edge", ms(3000))},
		}
		if len(got) != len(want) {
			t.Fatalf("PendingMany = %v, want %v", got, want)
		}
		for i := range want {
			if !equalItems(got[i], want[i]) {
				t.Fatalf("PendingMany[%d] = %v, want %v", i, got[i], want[i])
			}
		}
		got, err = s.PendingMany(ctx, []string{"q1", "q3"}, ms(20_000), 2)
		must(t, "PendingMany limit 2", err)
		if !equalItems(got[0], []store.DueItem{di("a", ms(1000)), di("b", ms(2000))}) || !equalItems(got[1], []store.DueItem{di("x", ms(10_500))}) {
			t.Fatalf("PendingMany limit 2 = %v", got)
		}
		got, err = s.PendingMany(ctx, []string{"q1"}, ms(20_000), 0)
		must(t, "PendingMany limit 0", err)
		if len(got) != 1 || len(got[0]) != 0 {
			t.Fatalf("PendingMany limit 0 = %v", got)
		}
		_, err = s.PendingMany(ctx, []string{"q1"}, ms(0), -1)
		wantIs(t, "PendingMany limit -1", err, store.ErrInvalid)
		_, err = s.PendingMany(ctx, []string{"q1", ""}, ms(0), 1)
		wantIs(t, "PendingMany with an empty queue name", err, store.ErrInvalid)
	})
}
