package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

// RunBenchmarks measures one primitive per sub-benchmark. open must return a
// fresh, empty store for every call; RunBenchmarks closes it.
func RunBenchmarks(b *testing.B, open func(b *testing.B) store.Store) {
	ctx := context.Background()
	fresh := func(b *testing.B) store.Store {
		b.Helper()
		s := open(b)
		b.Cleanup(func() { s.Close() })
		return s
	}
	fatal := func(b *testing.B, what string, err error) {
		b.Helper()
		if err != nil {
			b.Fatalf("%s: %v", what, err)
		}
	}
	payload := []byte(`{"id":"GHSA-xxxx-yyyy-zzzz","severity":"high","reporter":"someone@example.org","state":"triage"}`)

	b.Run("Get", func(b *testing.B) {
		s := fresh(b)
		_, err := s.Put(ctx, "reports", "r1", payload, store.NewDoc)
		fatal(b, "Put", err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Get(ctx, "reports", "r1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutCAS", func(b *testing.B) {
		s := fresh(b)
		v, err := s.Put(ctx, "reports", "r1", payload, store.NewDoc)
		fatal(b, "Put", err)
		b.ReportAllocs()
		for b.Loop() {
			if v, err = s.Put(ctx, "reports", "r1", payload, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SetAdd", func(b *testing.B) {
		s := fresh(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.SetAdd(ctx, "index", member(i%1000)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Schedule", func(b *testing.B) {
		s := fresh(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.Schedule(ctx, "jobs", member(i%1000), t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("ClaimDueComplete", func(b *testing.B) {
		// One claim of one due item and its completion: the scheduler's
		// steady state. A pool of 1000 items keeps the queue realistic.
		s := fresh(b)
		for i := range 1000 {
			fatal(b, "Schedule", s.Schedule(ctx, "jobs", member(i), t0.Add(time.Duration(i)*time.Millisecond)))
		}
		now := t0.Add(time.Hour)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			cs, err := s.ClaimDue(ctx, "jobs", now, time.Minute, 1)
			if err != nil || len(cs) != 1 {
				b.Fatalf("ClaimDue: %v %v", cs, err)
			}
			if ok, err := s.Complete(ctx, "jobs", cs[0]); err != nil || !ok {
				b.Fatalf("Complete: %v %v", ok, err)
			}
			// Put the item back so the queue never runs dry.
			if err := s.Schedule(ctx, "jobs", cs[0].Key, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("AcquireLease", func(b *testing.B) {
		s := fresh(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ok, err := s.AcquireLease(ctx, "leader", "replica-1", t0.Add(time.Duration(i)*time.Second), 30*time.Second)
			if err != nil || !ok {
				b.Fatalf("AcquireLease: %v %v", ok, err)
			}
			i++
		}
	})
	b.Run("MarkSeen", func(b *testing.B) {
		s := fresh(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.MarkSeen(ctx, member(i), t0, time.Hour); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Append", func(b *testing.B) {
		s := fresh(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Append(ctx, "audit", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadLog", func(b *testing.B) {
		// A page of 50 from the middle of a 1000-entry log.
		s := fresh(b)
		var mid string
		for i := range 1000 {
			id, err := s.Append(ctx, "audit", payload)
			fatal(b, "Append", err)
			if i == 500 {
				mid = id
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			es, err := s.ReadLog(ctx, "audit", mid, 50)
			if err != nil || len(es) != 50 {
				b.Fatalf("ReadLog: %d entries, %v", len(es), err)
			}
		}
	})
	b.Run("Apply5", func(b *testing.B) {
		// The shape of a report update: the report by CAS, two index
		// moves, a reminder and a new document, all or nothing.
		s := fresh(b)
		v, err := s.Put(ctx, "reports", "r1", payload, store.NewDoc)
		fatal(b, "Put", err)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			vs, err := s.Apply(ctx,
				store.PutOp("reports", "r1", payload, v),
				store.SetRemoveOp("state:triage", "r1"),
				store.SetAddOp("state:accepted", "r1"),
				store.ScheduleOp("remind", "r1", t0.Add(time.Duration(i)*time.Millisecond)),
				store.PutOp("events", member(i), payload, store.NewDoc),
			)
			if err != nil {
				b.Fatal(err)
			}
			v = vs[0]
			i++
		}
	})
	b.Run("Incr", func(b *testing.B) {
		s := fresh(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Incr(ctx, "report-id"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func member(i int) string { return fmt.Sprintf("m-%06d", i) }
