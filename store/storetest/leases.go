package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/store"
)

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
