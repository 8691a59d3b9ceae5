package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testredis"
	"github.com/vigil-sec/vigil/store"
)

// A batch that would hit a damaged key (another Redis type, or a version
// that is not a number) is refused before any write: a Lua script is not
// rolled back, so a WRONGTYPE halfway would leave half a batch.
func TestApplyDamagedKeyWritesNothing(t *testing.T) {
	srv := testredis.Start(t)
	s := newStore(t, srv)
	defer s.Close()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	if err := s.b.c.Set(ctx, s.b.setKey("open"), "not a set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.b.c.HSet(ctx, s.b.docKeys("reports", "bad")[0], "v", "x", "data", "d").Err(); err != nil {
		t.Fatal(err)
	}
	batches := map[string][]store.Op{
		"set of another type": {
			store.PutOp("reports", "r1", []byte("x"), store.NewDoc),
			store.ScheduleOp("q", "r1", t0),
			store.SetAddOp("open", "r1"),
		},
		"unreadable version": {
			store.PutOp("reports", "r1", []byte("x"), store.NewDoc),
			store.SetAddOp("fine", "r1"),
			store.PutOp("reports", "bad", []byte("x"), store.AnyVersion),
		},
	}
	for name, ops := range batches {
		_, err := s.Apply(ctx, ops...)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s: Apply error %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := s.Get(ctx, "reports", "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("r1 was written by a refused batch: %v", err)
	}
	if m, _ := s.SetMembers(ctx, "fine"); len(m) != 0 {
		t.Errorf("set written by a refused batch: %q", m)
	}
	if _, ok, _ := s.NextDue(ctx, "q"); ok {
		t.Error("queue written by a refused batch")
	}
}

// While Redis is down, Apply and Incr fail with ErrUnavailable (safe to
// retry later), never with a conflict.
func TestBatchUnavailable(t *testing.T) {
	s, err := New(Options{URL: "redis://127.0.0.1:1", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Apply(ctx, store.SetAddOp("s", "m")); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Apply: %v, want ErrUnavailable", err)
	}
	if _, err := s.Incr(ctx, "n"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Incr: %v, want ErrUnavailable", err)
	}
}
