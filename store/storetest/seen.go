package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

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
